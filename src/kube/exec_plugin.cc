// Exec credential plugins (client.authentication.k8s.io/v1, v1beta1), following client-go's
// plugin/pkg/client/auth/exec: same environment, same checks on the output, same messages.
// Nothing the plugin prints on stdout ever reaches a log or an error message.

#include <mutex>

#include "absl/strings/escaping.h"
#include "lifeboat/common/json.h"
#include "lifeboat/common/log.h"
#include "lifeboat/kube/credentials.h"
#include "src/kube/subprocess.h"

extern char** environ;

namespace lifeboat::kube {
namespace {

namespace json = boost::json;

constexpr std::string_view kInstallHelp =
    "\n\nIt looks like you are trying to use a client-go credential plugin that is not installed."
    "\n\nTo learn more about this feature, consult the documentation available at:\n"
    "      https://kubernetes.io/docs/reference/access-authn-authz/authentication/"
    "#client-go-credential-plugins";

std::string ExecInfo(const ExecConfig& config, const ExecPluginOptions& options) {
  json::object spec;
  spec["interactive"] = false;
  if (config.provide_cluster_info) {
    json::object cluster;
    cluster["server"] = json::string(options.server);
    if (!options.tls_server_name.empty())
      cluster["tls-server-name"] = json::string(options.tls_server_name);
    if (options.insecure_skip_tls_verify) cluster["insecure-skip-tls-verify"] = true;
    if (!options.ca_pem.empty()) {
      cluster["certificate-authority-data"] = json::string(absl::Base64Escape(options.ca_pem));
    }
    if (!options.proxy_url.empty()) cluster["proxy-url"] = json::string(options.proxy_url);
    if (options.disable_compression) cluster["disable-compression"] = true;
    if (config.cluster_config.has_value()) cluster["config"] = *config.cluster_config;
    spec["cluster"] = std::move(cluster);
  }
  json::object cred;
  cred["kind"] = "ExecCredential";
  cred["apiVersion"] = json::string(config.api_version);
  cred["spec"] = std::move(spec);
  return json::serialize(cred);
}

// The process environment, then the configured env, then KUBERNETES_EXEC_INFO; a later
// definition of a name replaces an earlier one (as Go's os/exec does).
std::vector<std::string> BuildEnv(const ExecConfig& config, const std::string& exec_info) {
  std::vector<std::pair<std::string, std::string>> vars;
  auto set = [&](std::string name, std::string value) {
    for (auto& [n, v] : vars) {
      if (n == name) {
        v = std::move(value);
        return;
      }
    }
    vars.emplace_back(std::move(name), std::move(value));
  };
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string_view kv(*e);
    size_t eq = kv.find('=');
    if (eq == std::string_view::npos) continue;
    set(std::string(kv.substr(0, eq)), std::string(kv.substr(eq + 1)));
  }
  for (const auto& [name, value] : config.env) set(name, value);
  set("KUBERNETES_EXEC_INFO", exec_info);
  std::vector<std::string> out;
  out.reserve(vars.size());
  for (auto& [n, v] : vars) out.push_back(n + "=" + v);
  return out;
}

// client-go's checks on the plugin's stdout, in its order and with its messages; the output
// itself never appears in a message.
StatusOr<Credential> ParseExecCredential(const std::string& out, const ExecConfig& config,
                                         const Credential& base) {
  auto fail = [&](const std::string& why) {
    return absl::UnauthenticatedError("exec plugin " + config.command + ": " + why);
  };
  StatusOr<json::value> doc = ParseJson(out);
  if (!doc.ok()) return fail("decoding stdout: " + std::string(doc.status().message()));
  if (!doc->is_object()) return fail("decoding stdout: not a JSON object");
  std::optional<std::string> api_version = JsonString(*doc, {"apiVersion"});
  std::optional<std::string> kind = JsonString(*doc, {"kind"});
  if (!api_version.has_value() || api_version->empty()) {
    return fail("decoding stdout: Object 'apiVersion' is missing");
  }
  if (kind != "ExecCredential") return fail("decoding stdout: Object 'Kind' is not ExecCredential");
  if (*api_version != config.api_version) {
    // The version is not a secret, but cap it: it is the plugin's output.
    return fail("exec plugin is configured to use API version " + config.api_version +
                ", plugin returned version " + api_version->substr(0, 100));
  }
  const json::value* status = JsonFind(*doc, {"status"});
  if (status == nullptr || status->is_null())
    return fail("exec plugin didn't return a status field");
  if (!status->is_object()) return fail("decoding stdout: status is not an object");
  Credential c = base;
  const json::object& st = status->as_object();
  auto field = [&](std::string_view key, std::string* dst) -> bool {
    const json::value* v = st.if_contains(key);
    if (v == nullptr || v->is_null()) return true;
    if (!v->is_string()) return false;
    *dst = std::string(v->as_string());
    return true;
  };
  std::string token, cert, key, expiry;
  if (!field("token", &token) || !field("clientCertificateData", &cert) ||
      !field("clientKeyData", &key) || !field("expirationTimestamp", &expiry)) {
    return fail("decoding stdout: a status field has the wrong type");
  }
  if (token.empty() && cert.empty() && key.empty()) {
    return fail("exec plugin didn't return a token or cert/key pair");
  }
  if (cert.empty() != key.empty())
    return fail("exec plugin returned only certificate or key, not both");
  if (!expiry.empty()) {
    StatusOr<Clock::TimePoint> t = ParseRfc3339(expiry);
    if (!t.ok())
      return fail("decoding stdout: expirationTimestamp: " + std::string(t.status().message()));
    c.expiry = *t;
  }
  c.bearer_token = token;
  if (!cert.empty()) {
    c.client_cert_pem = cert;
    c.client_key_pem = key;
  }
  LB_LOG_DEBUG("exec plugin {} returned {}", config.command, c.Redacted());
  return c;
}

}  // namespace

struct ExecPluginProvider::State {
  std::mutex mu;
  std::optional<Credential> cached;
};

ExecPluginProvider::ExecPluginProvider(ExecConfig config, ExecPluginOptions options,
                                       Credential base, Clock& clock)
    : config_(std::move(config)),
      options_(std::move(options)),
      base_(std::move(base)),
      clock_(clock),
      state_(std::make_unique<State>()) {}

ExecPluginProvider::~ExecPluginProvider() = default;

std::string ExecPluginProvider::Describe() const { return "exec plugin " + config_.command; }

void ExecPluginProvider::Invalidate() {
  std::lock_guard<std::mutex> lock(state_->mu);
  state_->cached.reset();
}

void ExecPluginProvider::InvalidateRejected(const Credential& rejected) {
  std::lock_guard<std::mutex> lock(state_->mu);
  if (state_->cached.has_value() && state_->cached->bearer_token == rejected.bearer_token &&
      state_->cached->client_cert_pem == rejected.client_cert_pem) {
    state_->cached.reset();
  }
}

StatusOr<Credential> ExecPluginProvider::Get() {
  std::lock_guard<std::mutex> lock(state_->mu);
  // client-go: a credential is good until Now() is after its expiry; none means until a 401.
  if (state_->cached.has_value() &&
      (!state_->cached->expiry.has_value() || !(clock_.Now() > *state_->cached->expiry))) {
    return *state_->cached;
  }
  state_->cached.reset();
  LIFEBOAT_ASSIGN_OR_RETURN(Credential c, Run());
  state_->cached = c;
  return c;
}

StatusOr<Credential> ExecPluginProvider::Run() {
  const char* path_env = std::getenv("PATH");
  std::optional<std::string> path = LookPath(config_.command, path_env ? path_env : "");
  std::string not_found = "exec: executable " + config_.command + " not found" +
                          std::string(kInstallHelp) +
                          (config_.install_hint.empty() ? "" : "\n\n" + config_.install_hint);
  if (!path.has_value()) return absl::FailedPreconditionError(not_found);

  SubprocessRequest req;
  req.path = *path;
  req.argv.push_back(config_.command);
  req.argv.insert(req.argv.end(), config_.args.begin(), config_.args.end());
  req.env = BuildEnv(config_, ExecInfo(config_, options_));
  req.timeout = options_.timeout;
  req.max_stdout = options_.max_stdout_bytes;
  req.max_stderr = options_.max_stderr_bytes;
  LB_LOG_DEBUG("running exec credential plugin {} ({})", config_.command, config_.api_version);
  StatusOr<SubprocessResult> run = RunSubprocess(req);
  if (!run.ok()) {
    if (absl::IsNotFound(run.status())) return absl::FailedPreconditionError(not_found);
    return Status(run.status().code(), "exec: " + std::string(run.status().message()));
  }
  if (!run->stderr_data.empty()) {
    LB_LOG_DEBUG("exec plugin {} stderr: {}", config_.command, run->stderr_data);
  }
  if (run->timed_out) {
    return absl::DeadlineExceededError("exec: executable " + config_.command +
                                       " did not finish within " +
                                       std::to_string(options_.timeout.count()) + "ms");
  }
  if (run->stdout_truncated) {
    return absl::UnauthenticatedError("exec: executable " + config_.command + " wrote more than " +
                                      std::to_string(options_.max_stdout_bytes) +
                                      " bytes to stdout");
  }
  if (run->signal != 0) {
    return absl::UnauthenticatedError("exec: executable " + config_.command +
                                      " was killed by signal " + std::to_string(run->signal));
  }
  if (run->exit_code != 0) {
    return absl::UnauthenticatedError("exec: executable " + config_.command +
                                      " failed with exit code " + std::to_string(run->exit_code));
  }
  return ParseExecCredential(run->stdout_data, config_, base_);
}

}  // namespace lifeboat::kube
