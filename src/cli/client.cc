#include "src/cli/client.h"

#include <cstdio>
#include <iostream>

#include "lifeboat/kube/config.h"
#include "src/cli/client_config.h"

#ifndef LIFEBOAT_VERSION
#define LIFEBOAT_VERSION "0.0.0"
#endif

namespace lifeboat::cli {

std::string ClientVersion() { return std::string("v") + LIFEBOAT_VERSION; }

void BindClientFlags(CLI::App* cmd, ClientFlags* flags) {
  cmd->add_option("--kubeconfig", flags->kubeconfig,
                  "kubeconfig file (default: KUBECONFIG, ~/.kube/config, in-cluster)");
  cmd->add_option("--kubecontext,--context", flags->context, "kubeconfig context to use");
  cmd->add_option("-n,--namespace", flags->namespace_name,
                  "the namespace where the lifeboat server runs (default: `namespace` of the "
                  "client config, else $VELERO_NAMESPACE, else velero)");
  // The default is looked up only when this command runs (not for every command registered),
  // and before the flag's value is stored, so the flag wins: flag > config > env > "velero".
  cmd->preparse_callback(
      [flags](std::size_t) { flags->namespace_name = DefaultClientNamespace(); });
}

StatusOr<std::unique_ptr<ApiClient>> Connect(const ClientFlags& flags) {
  kube::KubeconfigOptions options;
  options.explicit_path = flags.kubeconfig;
  options.context = flags.context;
  LIFEBOAT_ASSIGN_OR_RETURN(auto config, kube::LoadRestConfig(options));
  auto c = std::make_unique<ApiClient>();
  kube::RestClientOptions rest_options;
  rest_options.max_retries = 2;
  rest_options.max_backoff = std::chrono::milliseconds(2000);
  rest_options.timeout = std::chrono::milliseconds(30'000);
  rest_options.user_agent = "lifeboat-cli/" + ClientVersion();
  LIFEBOAT_ASSIGN_OR_RETURN(c->rest, kube::RestClient::Create(config, rest_options));
  c->discovery = std::make_unique<kube::Discovery>(c->rest.get());
  c->client = std::make_unique<kube::DynamicClient>(c->rest.get(), c->discovery.get());
  c->ns = flags.namespace_name;
  c->server = config.server;
  return c;
}

std::string Explain(const Status& status, std::string_view verb, std::string_view resource,
                    std::string_view ns) {
  std::string msg(status.message());
  const std::string where = ns.empty() ? "" : " in namespace \"" + std::string(ns) + "\"";
  switch (status.code()) {
    case absl::StatusCode::kPermissionDenied:
      return msg + "\n  You are not allowed to " + std::string(verb) + " " + std::string(resource) +
             ".velero.io" + where +
             ". Ask a cluster administrator for that permission; check with: " +
             "kubectl auth can-i " + std::string(verb) + " " + std::string(resource) +
             ".velero.io" + (ns.empty() ? "" : " -n " + std::string(ns));
    case absl::StatusCode::kUnauthenticated:
      return msg +
             "\n  The API server did not accept your credentials: check the user of your "
             "kubeconfig context (kubectl config view --minify).";
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded:
      return msg +
             "\n  The Kubernetes API server does not answer. Check that the cluster is up "
             "and that your kubeconfig points at it (kubectl cluster-info; --kubeconfig, "
             "--kubecontext).";
    case absl::StatusCode::kFailedPrecondition:
      if (msg.find("no configuration") != std::string::npos) {
        return msg + "\n  Point lifeboat at a cluster with --kubeconfig or KUBECONFIG.";
      }
      return msg;
    case absl::StatusCode::kNotFound:
      if (msg.find("does not serve") != std::string::npos ||
          msg.find("the server could not find the requested resource") != std::string::npos ||
          msg.find("no resource") != std::string::npos) {
        return msg +
               "\n  The velero.io resources are not installed in this cluster: run "
               "`lifeboat install` first.";
      }
      return msg;
    default:
      return msg;
  }
}

StatusOr<boost::json::value> GetObject(ApiClient& c, const kube::GroupVersionResource& gvr,
                                       std::string_view kind, const std::string& name) {
  auto got = c.dyn().Get(gvr, c.ns, name);
  if (got.ok()) return std::move(*got);
  if (absl::IsNotFound(got.status()) && kube::ApiErrorOf(got.status()).has_value()) {
    return absl::NotFoundError(std::string(kind) + " \"" + name + "\" not found in namespace \"" +
                               c.ns + "\"");
  }
  return Status(got.status().code(), Explain(got.status(), "get", gvr.resource, c.ns));
}

StatusOr<std::vector<boost::json::value>> ListObjects(ApiClient& c,
                                                      const kube::GroupVersionResource& gvr,
                                                      const std::string& selector) {
  std::vector<boost::json::value> out;
  kube::ListAllOptions options;
  options.list.label_selector = selector;
  auto done = kube::ListAll(c.dyn(), gvr, c.ns, options, [&](boost::json::value&& item) {
    out.emplace_back(item, boost::json::storage_ptr());
    return absl::OkStatus();
  });
  if (!done.ok())
    return Status(done.status().code(), Explain(done.status(), "list", gvr.resource, c.ns));
  return out;
}

bool Confirm(const std::string& question) {
  std::printf("%s\n", question.c_str());
  while (true) {
    std::printf("Are you sure you want to continue (Y/N)? ");
    std::fflush(stdout);
    std::string answer;
    if (!std::getline(std::cin, answer)) {
      std::printf("\n");
      return false;
    }
    if (answer == "y" || answer == "Y") return true;
    if (answer == "n" || answer == "N") return false;
  }
}

std::string NoServerHint(std::string_view ns) {
  const std::string n(ns);
  return "Is the lifeboat server running? Check it with `kubectl -n " + n +
         " get pods` (and `kubectl -n " + n +
         " logs deployment/velero`), or start it with `lifeboat server --namespace " + n + "`.";
}

int PrintError(const std::string& message) {
  std::fprintf(stderr, "An error occurred: %s\n", message.c_str());
  return 1;
}

}  // namespace lifeboat::cli
