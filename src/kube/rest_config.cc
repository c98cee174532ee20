// From a merged kubeconfig (or a pod's service-account mount) to a RestConfig, with the checks
// client-go's DirectClientConfig and validation.go make.

#include <cstdlib>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_join.h"
#include "lifeboat/common/byte_stream.h"
#include "lifeboat/common/json.h"
#include "lifeboat/common/log.h"
#include "lifeboat/kube/config.h"
#include "src/kube/kubeconfig_internal.h"

namespace lifeboat::kube {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

constexpr std::string_view kExecV1 = "client.authentication.k8s.io/v1";
constexpr std::string_view kExecV1Beta1 = "client.authentication.k8s.io/v1beta1";
constexpr std::string_view kExecExtensionName = "client.authentication.k8s.io/exec";

// Typed field access over an entry's JSON with messages naming the entry.
class Fields {
 public:
  Fields(const json::object& obj, std::string kind, std::string name)
      : obj_(obj), kind_(std::move(kind)), name_(std::move(name)) {}

  StatusOr<std::string> String(std::string_view key) const {
    const json::value* v = obj_.if_contains(key);
    if (v == nullptr || v->is_null()) return std::string();
    if (!v->is_string()) return TypeError(key, "a string");
    return std::string(v->as_string());
  }
  StatusOr<bool> Bool(std::string_view key) const {
    const json::value* v = obj_.if_contains(key);
    if (v == nullptr || v->is_null()) return false;
    if (!v->is_bool()) return TypeError(key, "a boolean");
    return v->as_bool();
  }
  // A base64 `-data` field, decoded.
  StatusOr<std::string> Data(std::string_view key) const {
    LIFEBOAT_ASSIGN_OR_RETURN(std::string b64, String(key));
    std::string out;
    if (!b64.empty() && !absl::Base64Unescape(b64, &out)) {
      return absl::InvalidArgumentError(kind_ + " \"" + name_ + "\": " + std::string(key) +
                                        " is not valid base64");
    }
    return out;
  }
  // A list of strings (absent or null: empty).
  StatusOr<std::vector<std::string>> Strings(std::string_view key) const {
    std::vector<std::string> out;
    const json::value* v = obj_.if_contains(key);
    if (v == nullptr || v->is_null()) return out;
    if (!v->is_array()) return TypeError(key, "a list of strings");
    for (const json::value& e : v->as_array()) {
      if (!e.is_string()) return TypeError(key, "a list of strings");
      out.emplace_back(e.as_string());
    }
    return out;
  }
  const json::value* Find(std::string_view key) const { return obj_.if_contains(key); }
  Status TypeError(std::string_view key, std::string_view want) const {
    return absl::InvalidArgumentError(kind_ + " \"" + name_ + "\": " + std::string(key) +
                                      " must be " + std::string(want));
  }

 private:
  const json::object& obj_;
  std::string kind_;
  std::string name_;
};

Status AuthProviderError(const Fields& user, const std::string& user_name) {
  std::string provider;
  if (const json::value* ap = user.Find("auth-provider"); ap->is_object()) {
    if (const json::value* n = ap->as_object().if_contains("name"); n && n->is_string()) {
      provider = std::string(n->as_string());
    }
  }
  std::string advice;
  if (provider == "gcp") {
    advice =
        "use the gke-gcloud-auth-plugin exec plugin instead (install it with `gcloud components "
        "install gke-gcloud-auth-plugin`, then run `gcloud container clusters get-credentials`)";
  } else if (provider == "azure") {
    advice =
        "use the kubelogin exec plugin instead (https://azure.github.io/kubelogin; "
        "`kubelogin convert-kubeconfig -l azurecli` rewrites the kubeconfig)";
  } else if (provider == "oidc") {
    advice = "use an exec plugin instead: kubelogin (int128/kubelogin, `kubectl oidc-login`)";
  } else {
    advice = "configure an exec credential plugin (users[].user.exec) instead";
  }
  return absl::InvalidArgumentError("user \"" + user_name + "\" uses the legacy auth-provider \"" +
                                    provider +
                                    "\", which is no longer supported (removed from "
                                    "kubectl in 1.26): " +
                                    advice);
}

StatusOr<ExecConfig> ParseExec(const json::value& value, const std::string& user_name,
                               const fs::path& origin) {
  if (!value.is_object())
    return absl::InvalidArgumentError("user \"" + user_name + "\": exec must be a mapping");
  Fields f(value.as_object(), "user", user_name);
  ExecConfig exec;
  LIFEBOAT_ASSIGN_OR_RETURN(exec.command, f.String("command"));
  LIFEBOAT_ASSIGN_OR_RETURN(exec.api_version, f.String("apiVersion"));
  LIFEBOAT_ASSIGN_OR_RETURN(exec.install_hint, f.String("installHint"));
  LIFEBOAT_ASSIGN_OR_RETURN(exec.provide_cluster_info, f.Bool("provideClusterInfo"));
  LIFEBOAT_ASSIGN_OR_RETURN(exec.interactive_mode, f.String("interactiveMode"));
  if (exec.command.empty()) {
    return absl::InvalidArgumentError("command must be specified for " + user_name +
                                      " to use exec authentication plugin");
  }
  if (exec.api_version.empty()) {
    return absl::InvalidArgumentError("apiVersion must be specified for " + user_name +
                                      " to use exec authentication plugin");
  }
  if (exec.api_version != kExecV1 && exec.api_version != kExecV1Beta1) {
    return absl::InvalidArgumentError(
        "exec plugin: invalid apiVersion \"" + exec.api_version + "\" for user \"" + user_name +
        "\" (want " + std::string(kExecV1) + " or " + std::string(kExecV1Beta1) + ")");
  }
  if (exec.interactive_mode.empty()) {
    if (exec.api_version == kExecV1) {
      return absl::InvalidArgumentError("interactiveMode must be specified for " + user_name +
                                        " to use exec authentication plugin");
    }
    exec.interactive_mode = "IfAvailable";
  }
  if (exec.interactive_mode != "Never" && exec.interactive_mode != "IfAvailable" &&
      exec.interactive_mode != "Always") {
    return absl::InvalidArgumentError("invalid interactiveMode for " + user_name + ": \"" +
                                      exec.interactive_mode +
                                      "\" (want Never, IfAvailable or Always)");
  }
  if (const json::value* args = f.Find("args"); args != nullptr && !args->is_null()) {
    if (!args->is_array()) return f.TypeError("exec.args", "a list of strings");
    for (const json::value& a : args->as_array()) {
      if (!a.is_string()) return f.TypeError("exec.args", "a list of strings");
      exec.args.emplace_back(a.as_string());
    }
  }
  if (const json::value* env = f.Find("env"); env != nullptr && !env->is_null()) {
    if (!env->is_array()) return f.TypeError("exec.env", "a list of {name, value}");
    for (const json::value& e : env->as_array()) {
      auto name = e.is_object() ? JsonString(e, {"name"}) : std::nullopt;
      if (!name.has_value() || name->empty()) {
        return absl::InvalidArgumentError("env variable name must be specified for " + user_name +
                                          " to use exec authentication plugin");
      }
      exec.env.emplace_back(*name, JsonString(e, {"value"}).value_or(""));
    }
  }
  // As client-go: a command with a slash is a path relative to the kubeconfig; a bare name is
  // looked up in PATH when run.
  if (exec.command.find('/') != std::string::npos) {
    exec.command = ResolveAgainstOrigin(exec.command, origin).string();
  }
  return exec;
}

Status ApplyCluster(const Kubeconfig::Entry& entry, const std::string& name, RestConfig* rc) {
  Fields f(entry.value, "cluster", name);
  LIFEBOAT_ASSIGN_OR_RETURN(rc->server, f.String("server"));
  if (rc->server.empty())
    return absl::InvalidArgumentError("no server found for cluster \"" + name + "\"");
  LIFEBOAT_ASSIGN_OR_RETURN(rc->tls.insecure_skip_verify, f.Bool("insecure-skip-tls-verify"));
  LIFEBOAT_ASSIGN_OR_RETURN(rc->tls.server_name, f.String("tls-server-name"));
  LIFEBOAT_ASSIGN_OR_RETURN(rc->proxy_url, f.String("proxy-url"));
  LIFEBOAT_ASSIGN_OR_RETURN(rc->disable_compression, f.Bool("disable-compression"));
  if (!rc->proxy_url.empty() && rc->proxy_url.rfind("http://", 0) != 0 &&
      rc->proxy_url.rfind("https://", 0) != 0 && rc->proxy_url.rfind("socks5://", 0) != 0) {
    return absl::InvalidArgumentError("invalid 'proxy-url' \"" + rc->proxy_url +
                                      "\" for cluster \"" + name +
                                      "\": unsupported scheme (want http, https or socks5)");
  }
  LIFEBOAT_ASSIGN_OR_RETURN(rc->tls.ca_pem, f.Data("certificate-authority-data"));
  LIFEBOAT_ASSIGN_OR_RETURN(std::string ca_file, f.String("certificate-authority"));
  if (rc->tls.ca_pem.empty() && !ca_file.empty()) {  // -data overrides the file
    LIFEBOAT_ASSIGN_OR_RETURN(rc->tls.ca_pem,
                              ReadReferencedFile(ResolveAgainstOrigin(ca_file, entry.origin),
                                                 "certificate-authority", name));
  }
  if (rc->tls.insecure_skip_verify && !rc->tls.ca_pem.empty()) {
    return absl::InvalidArgumentError("cluster \"" + name +
                                      "\": specifying a root certificates "
                                      "file with the insecure flag is not allowed");
  }
  return absl::OkStatus();
}

Status ApplyUser(const Kubeconfig::Entry& entry, const std::string& name, RestConfig* rc) {
  Fields f(entry.value, "user", name);
  const json::value* ap = f.Find("auth-provider");
  if (ap != nullptr && !ap->is_null()) return AuthProviderError(f, name);
  LIFEBOAT_ASSIGN_OR_RETURN(rc->impersonate.user, f.String("as"));
  LIFEBOAT_ASSIGN_OR_RETURN(rc->impersonate.uid, f.String("as-uid"));
  LIFEBOAT_ASSIGN_OR_RETURN(rc->impersonate.groups, f.Strings("as-groups"));
  if (const json::value* extra = f.Find("as-user-extra"); extra != nullptr && !extra->is_null()) {
    if (!extra->is_object()) return f.TypeError("as-user-extra", "a map of string lists");
    Fields extras(extra->as_object(), "user", name);
    for (const auto& kv : extra->as_object()) {
      LIFEBOAT_ASSIGN_OR_RETURN(rc->impersonate.extra[std::string(kv.key())],
                                extras.Strings(kv.key()));
    }
  }
  LIFEBOAT_ASSIGN_OR_RETURN(rc->bearer_token, f.String("token"));
  LIFEBOAT_ASSIGN_OR_RETURN(std::string token_file, f.String("tokenFile"));
  LIFEBOAT_ASSIGN_OR_RETURN(rc->username, f.String("username"));
  LIFEBOAT_ASSIGN_OR_RETURN(rc->password, f.String("password"));
  if (!rc->bearer_token.empty() && (!rc->username.empty() || !rc->password.empty())) {
    return absl::InvalidArgumentError("more than one authentication method found for " + name +
                                      "; found [token basicAuth], only one is allowed");
  }
  if (rc->bearer_token.empty() && !token_file.empty()) {  // an inline token wins
    rc->bearer_token_file = ResolveAgainstOrigin(token_file, entry.origin);
    LIFEBOAT_ASSIGN_OR_RETURN(std::string token,
                              ReadReferencedFile(rc->bearer_token_file, "tokenFile", name));
    rc->bearer_token = std::string(absl::StripAsciiWhitespace(token));
  }
  LIFEBOAT_ASSIGN_OR_RETURN(rc->tls.client_cert_pem, f.Data("client-certificate-data"));
  LIFEBOAT_ASSIGN_OR_RETURN(rc->tls.client_key_pem, f.Data("client-key-data"));
  LIFEBOAT_ASSIGN_OR_RETURN(std::string cert_file, f.String("client-certificate"));
  LIFEBOAT_ASSIGN_OR_RETURN(std::string key_file, f.String("client-key"));
  if (rc->tls.client_cert_pem.empty() && !cert_file.empty()) {
    LIFEBOAT_ASSIGN_OR_RETURN(
        rc->tls.client_cert_pem,
        ReadReferencedFile(ResolveAgainstOrigin(cert_file, entry.origin), "client-cert", name));
  }
  if (rc->tls.client_key_pem.empty() && !key_file.empty()) {
    LIFEBOAT_ASSIGN_OR_RETURN(
        rc->tls.client_key_pem,
        ReadReferencedFile(ResolveAgainstOrigin(key_file, entry.origin), "client-key", name));
  }
  if (!rc->tls.client_cert_pem.empty() && rc->tls.client_key_pem.empty()) {
    return absl::InvalidArgumentError("client-key-data or client-key must be specified for " +
                                      name + " to use the clientCert authentication method.");
  }
  if (rc->tls.client_cert_pem.empty() && !rc->tls.client_key_pem.empty()) {
    return absl::InvalidArgumentError("user \"" + name +
                                      "\" has a client key but no client certificate");
  }
  if (const json::value* exec = f.Find("exec"); exec != nullptr && !exec->is_null()) {
    LIFEBOAT_ASSIGN_OR_RETURN(rc->exec, ParseExec(*exec, name, entry.origin));
  }
  return absl::OkStatus();
}

// kubectl's flags over the kubeconfig's entries (clientcmd's precedence: a flag beats the file).
Status ApplyOverrides(const KubeconfigOptions::Overrides& o, RestConfig* rc) {
  const std::string flags = "command-line flags";
  if (!o.server.empty()) {
    if (o.server != rc->server && o.tls_server_name.empty()) rc->tls.server_name.clear();
    rc->server = o.server;
  }
  if (!o.tls_server_name.empty()) rc->tls.server_name = o.tls_server_name;
  if (o.insecure_skip_tls_verify.has_value()) {
    rc->tls.insecure_skip_verify = *o.insecure_skip_tls_verify;
    // An insecure flag drops the file's CA (else the two would conflict), as clientcmd does.
    if (*o.insecure_skip_tls_verify && o.certificate_authority.empty()) rc->tls.ca_pem.clear();
  }
  if (!o.certificate_authority.empty()) {
    LIFEBOAT_ASSIGN_OR_RETURN(rc->tls.ca_pem, ReadReferencedFile(o.certificate_authority,
                                                                 "certificate-authority", flags));
  }
  if (rc->tls.insecure_skip_verify && !rc->tls.ca_pem.empty()) {
    return absl::InvalidArgumentError(
        "specifying a root certificates file with the insecure flag is not allowed");
  }
  if (!o.token.empty()) {
    rc->bearer_token = o.token;
    rc->bearer_token_file.clear();
  }
  if (!o.client_certificate.empty()) {
    LIFEBOAT_ASSIGN_OR_RETURN(rc->tls.client_cert_pem,
                              ReadReferencedFile(o.client_certificate, "client-cert", flags));
  }
  if (!o.client_key.empty()) {
    LIFEBOAT_ASSIGN_OR_RETURN(rc->tls.client_key_pem,
                              ReadReferencedFile(o.client_key, "client-key", flags));
  }
  if (!o.username.empty()) rc->username = o.username;
  if (!o.password.empty()) rc->password = o.password;
  if (!rc->bearer_token.empty() && (!rc->username.empty() || !rc->password.empty())) {
    return absl::InvalidArgumentError(
        "more than one authentication method found; found [token basicAuth], only one is allowed");
  }
  if (!o.as.empty()) rc->impersonate.user = o.as;
  if (!o.as_uid.empty()) rc->impersonate.uid = o.as_uid;
  if (!o.as_groups.empty()) rc->impersonate.groups = o.as_groups;
  if (!rc->impersonate.empty() && rc->impersonate.user.empty()) {
    return absl::InvalidArgumentError(
        "impersonating groups, a uid or extra fields needs a user to impersonate (--as)");
  }
  return absl::OkStatus();
}

// The cluster extension "client.authentication.k8s.io/exec", handed to exec plugins.
std::optional<json::value> ExecExtension(const json::object& cluster) {
  const json::value* exts = cluster.if_contains("extensions");
  if (exts == nullptr || !exts->is_array()) return std::nullopt;
  for (const json::value& e : exts->as_array()) {
    if (JsonString(e, {"name"}) == std::string(kExecExtensionName)) {
      if (const json::value* v = JsonFind(e, {"extension"})) return *v;
    }
  }
  return std::nullopt;
}

std::string Redact(const std::string& secret) {
  return secret.empty() ? std::string("<none>")
                        : "<redacted " + std::to_string(secret.size()) + " bytes>";
}

std::string Getenv(const char* name) {
  const char* v = std::getenv(name);
  return v == nullptr ? std::string() : std::string(v);
}

}  // namespace

std::string RestConfig::Redacted() const {
  std::string out = "server=" + server;
  if (in_cluster) {
    out += " in-cluster";
  } else {
    out += " context=\"" + context_name + "\" cluster=\"" + cluster_name + "\" user=\"" +
           user_name + "\"";
  }
  out += " namespace=" + namespace_name;
  if (!tls.ca_pem.empty()) out += " ca=" + std::to_string(tls.ca_pem.size()) + "B";
  if (tls.insecure_skip_verify) out += " insecure-skip-tls-verify";
  if (!tls.server_name.empty()) out += " tls-server-name=" + tls.server_name;
  if (!proxy_url.empty()) out += " proxy-url=<set>";  // may carry credentials in its userinfo
  if (!bearer_token_file.empty()) {
    out += " auth=token-file(" + bearer_token_file.string() + ")";
  } else if (!bearer_token.empty()) {
    out += " auth=token" + Redact(bearer_token);
  }
  if (!username.empty() || !password.empty())
    out += " auth=basic(user=" + username + ", password=" + Redact(password) + ")";
  if (!tls.client_cert_pem.empty())
    out += " auth=client-cert(key=" + Redact(tls.client_key_pem) + ")";
  if (exec.has_value()) out += " auth=exec(" + exec->command + ", " + exec->api_version + ")";
  if (!impersonate.user.empty()) out += " as=" + impersonate.user;
  if (!impersonate.groups.empty()) out += " as-groups=" + absl::StrJoin(impersonate.groups, ",");
  return out;
}

StatusOr<RestConfig> BuildRestConfig(const Kubeconfig& config, const KubeconfigOptions& options) {
  if (config.empty() && !options.overrides.server.empty()) {
    // kubectl -s URL with no kubeconfig: everything comes from the flags.
    RestConfig rc;
    rc.server = options.overrides.server;
    rc.namespace_name = options.namespace_name.empty() ? "default" : options.namespace_name;
    LIFEBOAT_RETURN_IF_ERROR(ApplyOverrides(options.overrides, &rc));
    return rc;
  }
  if (config.empty()) {
    std::vector<std::string> looked;
    for (const fs::path& p : KubeconfigPrecedence(options)) looked.push_back(p.string());
    return absl::FailedPreconditionError(
        "no configuration has been provided: set KUBECONFIG, pass --kubeconfig, or create "
        "~/.kube/config (looked in: " +
        (looked.empty() ? std::string("nothing") : absl::StrJoin(looked, ", ")) + ")");
  }
  RestConfig rc;
  rc.context_name = options.context.empty() ? config.current_context : options.context;
  if (rc.context_name.empty()) {
    return absl::InvalidArgumentError(
        "no context chosen: the kubeconfig sets no current-context; "
        "pass --context");
  }
  auto ctx_it = config.contexts.find(rc.context_name);
  if (ctx_it == config.contexts.end()) {
    return absl::InvalidArgumentError("context \"" + rc.context_name + "\" does not exist");
  }
  Fields ctx(ctx_it->second.value, "context", rc.context_name);
  LIFEBOAT_ASSIGN_OR_RETURN(rc.cluster_name, ctx.String("cluster"));
  LIFEBOAT_ASSIGN_OR_RETURN(rc.user_name, ctx.String("user"));
  if (!options.overrides.cluster.empty()) rc.cluster_name = options.overrides.cluster;
  if (!options.overrides.user.empty()) rc.user_name = options.overrides.user;
  LIFEBOAT_ASSIGN_OR_RETURN(std::string ns, ctx.String("namespace"));
  auto cluster_it = config.clusters.find(rc.cluster_name);
  if (cluster_it == config.clusters.end()) {
    if (rc.cluster_name.empty()) {
      return absl::InvalidArgumentError("cluster was not specified for context \"" +
                                        rc.context_name + "\"");
    }
    return absl::InvalidArgumentError("cluster \"" + rc.cluster_name +
                                      "\" was not found for context \"" + rc.context_name + "\"");
  }
  LIFEBOAT_RETURN_IF_ERROR(ApplyCluster(cluster_it->second, rc.cluster_name, &rc));
  auto user_it = config.users.find(rc.user_name);
  if (user_it != config.users.end()) {
    LIFEBOAT_RETURN_IF_ERROR(ApplyUser(user_it->second, rc.user_name, &rc));
  } else if (!rc.user_name.empty()) {
    // client-go falls back to anonymous here; say so, since it is rarely what was meant.
    LB_LOG_WARN("user \"{}\" of context \"{}\" does not exist; connecting anonymously",
                rc.user_name, rc.context_name);
  }
  if (rc.exec.has_value()) rc.exec->cluster_config = ExecExtension(cluster_it->second.value);
  LIFEBOAT_RETURN_IF_ERROR(ApplyOverrides(options.overrides, &rc));
  rc.namespace_name = !options.namespace_name.empty() ? options.namespace_name
                      : !ns.empty()                   ? ns
                                                      : "default";
  return rc;
}

StatusOr<RestConfig> LoadKubeconfig(const KubeconfigOptions& options) {
  LIFEBOAT_ASSIGN_OR_RETURN(Kubeconfig config, LoadMergedKubeconfig(options));
  return BuildRestConfig(config, options);
}

namespace {

std::string EnvOr(const std::optional<std::string>& v, const char* name) {
  return v.has_value() ? *v : Getenv(name);
}

}  // namespace

bool InClusterAvailable(const InClusterOptions& options) {
  std::error_code ec;
  return !EnvOr(options.service_host, "KUBERNETES_SERVICE_HOST").empty() &&
         !EnvOr(options.service_port, "KUBERNETES_SERVICE_PORT").empty() &&
         fs::exists(options.mount_dir / "token", ec);
}

StatusOr<RestConfig> LoadInClusterConfig(const InClusterOptions& options) {
  std::string host = EnvOr(options.service_host, "KUBERNETES_SERVICE_HOST");
  std::string port = EnvOr(options.service_port, "KUBERNETES_SERVICE_PORT");
  if (host.empty() || port.empty()) {
    return absl::FailedPreconditionError(
        "unable to load in-cluster configuration, "
        "KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be defined");
  }
  RestConfig rc;
  rc.in_cluster = true;
  // net.JoinHostPort: an IPv6 literal goes in brackets.
  bool v6 = host.find(':') != std::string::npos && host.front() != '[';
  rc.server = "https://" + (v6 ? "[" + host + "]" : host) + ":" + port;
  rc.bearer_token_file = options.mount_dir / "token";
  StatusOr<std::string> token = ReadFile(rc.bearer_token_file, 1 << 20);
  if (!token.ok()) {
    return Status(token.status().code(),
                  "in-cluster configuration: reading the service-account token " +
                      rc.bearer_token_file.string() + ": " + std::string(token.status().message()));
  }
  rc.bearer_token = std::string(absl::StripAsciiWhitespace(*token));
  StatusOr<std::string> ca = ReadFile(options.mount_dir / "ca.crt", 1 << 20);
  if (ca.ok()) {
    rc.tls.ca_pem = *std::move(ca);
  } else {
    LB_LOG_ERROR("expected to load root CA config from {}, but got err: {}",
                 (options.mount_dir / "ca.crt").string(), std::string(ca.status().message()));
  }
  std::string ns = EnvOr(options.pod_namespace, "POD_NAMESPACE");
  if (ns.empty()) {
    StatusOr<std::string> file = ReadFile(options.mount_dir / "namespace", 4096);
    if (file.ok()) ns = std::string(absl::StripAsciiWhitespace(*file));
  }
  rc.namespace_name = ns.empty() ? "default" : ns;
  return rc;
}

StatusOr<RestConfig> LoadRestConfig(const KubeconfigOptions& options,
                                    const InClusterOptions& in_cluster) {
  LIFEBOAT_ASSIGN_OR_RETURN(Kubeconfig config, LoadMergedKubeconfig(options));
  if (config.empty() && options.explicit_path.empty() && InClusterAvailable(in_cluster)) {
    LIFEBOAT_ASSIGN_OR_RETURN(RestConfig rc, LoadInClusterConfig(in_cluster));
    if (!options.namespace_name.empty()) rc.namespace_name = options.namespace_name;
    return rc;
  }
  return BuildRestConfig(config, options);
}

}  // namespace lifeboat::kube
