#pragma once

// What every client command of the lifeboat binary shares (`backup create|get|...`, `restore
// ...`, `schedule ...`, `version`; docs/cli.md): the connection to the Kubernetes API server
// (kubeconfig, context, the server's namespace), and errors turned into messages a person can
// act on.
//
// The client commands talk to the server only through the API: they create velero.io objects
// and read their status; `lifeboat server` does the work.
//
// Thread safety: an ApiClient may be used from any thread (the kube client is thread-safe).

#include <CLI/CLI.hpp>
#include <memory>
#include <string>
#include <string_view>

#include "lifeboat/common/status.h"
#include "lifeboat/kube/discovery.h"
#include "lifeboat/kube/dynamic_client.h"
#include "lifeboat/kube/rest_client.h"

namespace lifeboat::cli {

// The client version (the project version), as `lifeboat version` prints it.
std::string ClientVersion();

struct ClientFlags {
  std::string kubeconfig;  // --kubeconfig (default: KUBECONFIG, ~/.kube/config, in-cluster)
  std::string context;     // --kubecontext / --context
  std::string namespace_name = "velero";  // -n / --namespace: where the server runs
};

// Adds --kubeconfig, --kubecontext (alias --context) and -n/--namespace to `cmd`. When `cmd`
// runs without -n, the namespace is the client config's (client_config.h: config file, then
// $VELERO_NAMESPACE, then "velero"), as Velero's CLI picks it. Sets cmd's preparse callback.
void BindClientFlags(CLI::App* cmd, ClientFlags* flags);

struct ApiClient {
  std::unique_ptr<kube::RestClient> rest;
  std::unique_ptr<kube::Discovery> discovery;
  std::unique_ptr<kube::DynamicClient> client;
  std::string ns;      // the server's namespace
  std::string server;  // the API server's URL (for messages)

  kube::DynamicClient& dyn() { return *client; }
};

// Loads the kubeconfig (or the in-cluster configuration). Requests time out after 30 s and are
// retried only twice, so a dead API server is reported within a minute, not after minutes of
// backoff. Errors: the kubeconfig loader's (NotFound, InvalidArgument, FailedPrecondition).
StatusOr<std::unique_ptr<ApiClient>> Connect(const ClientFlags& flags);

// The message for an error of an API call `verb` on `resource` ("create", "backups"):
// the error itself plus what to do about it — for a forbidden call, which verb on which resource
// in which namespace is missing; for an unreachable API server, how to check the kubeconfig;
// for a resource the server does not serve, that the CRDs are not installed.
std::string Explain(const Status& status, std::string_view verb, std::string_view resource,
                    std::string_view ns);

// Get ns/name of `gvr` (plural `resource`, e.g. "backups"). NotFound reads
// `<kind> "<name>" not found` (kind: "backup"); other errors are explained (Explain).
StatusOr<boost::json::value> GetObject(ApiClient& c, const kube::GroupVersionResource& gvr,
                                       std::string_view kind, const std::string& name);

// Every object of `gvr` in the server's namespace matching `selector` (may be empty), in pages.
// Errors explained; a bad selector is InvalidArgument.
StatusOr<std::vector<boost::json::value>> ListObjects(ApiClient& c,
                                                      const kube::GroupVersionResource& gvr,
                                                      const std::string& selector);

// Asks "Are you sure you want to continue (Y/N)? " on stdout and reads stdin until a y/n
// answer; end of input is "no".
bool Confirm(const std::string& question);

// What to check when the lifeboat server does not answer within a timeout.
std::string NoServerHint(std::string_view ns);

// Prints "An error occurred: <message>" to stderr (Velero's wording) and returns 1.
int PrintError(const std::string& message);

}  // namespace lifeboat::cli
