#pragma once

// Where to reach a Kubernetes API server and how to authenticate to it, loaded the way kubectl
// (client-go's clientcmd) loads it: from kubeconfig files (--kubeconfig, KUBECONFIG, or
// ~/.kube/config, merged with clientcmd's rules) or from inside a pod (service-account mount).
//
// Nothing here makes a network request. Credentials that change over time (token files, exec
// plugins) are turned into a CredentialProvider (credentials.h) by the HTTP layer.
//
// Thread safety: the functions are thread-safe; the value types are plain values.

#include <boost/json.hpp>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "lifeboat/common/status.h"

namespace lifeboat::kube {

// ---------------------------------------------------------------------------------------------
// The resolved configuration.

// An exec credential plugin (kubeconfig `users[].user.exec`), with its command already resolved
// against the kubeconfig's directory when it contains a slash (as client-go does).
struct ExecConfig {
  std::string command;
  std::vector<std::string> args;
  std::vector<std::pair<std::string, std::string>> env;
  std::string api_version;  // client.authentication.k8s.io/v1 or /v1beta1
  std::string install_hint;
  bool provide_cluster_info = false;
  std::string interactive_mode;  // Never, IfAvailable, Always
  // The cluster's `extensions` entry named "client.authentication.k8s.io/exec", passed to the
  // plugin as spec.cluster.config when provide_cluster_info is set.
  std::optional<boost::json::value> cluster_config;
};

struct TlsConfig {
  std::string ca_pem;  // empty: the system trust store
  bool insecure_skip_verify = false;
  std::string server_name;  // overrides SNI and the name verified in the certificate
  // A static client certificate and key from the kubeconfig (files or -data). Exec plugins may
  // supply their own at run time (CredentialProvider).
  std::string client_cert_pem;
  std::string client_key_pem;
};

// Everything the HTTP client needs. A value type: copy freely.
struct RestConfig {
  std::string server;  // https://host:port (no trailing path needed)
  TlsConfig tls;
  std::string proxy_url;
  bool disable_compression = false;

  // Authentication; at most one of token / token file / basic / exec is normally set (a static
  // client certificate may accompany any of them). As in client-go, a token beats an exec
  // plugin's token, and when bearer_token_file is set it is the source of truth (bearer_token
  // then holds its content at load time).
  std::string bearer_token;
  std::filesystem::path bearer_token_file;  // re-read periodically (see TokenFileProvider)
  std::string username;
  std::string password;
  std::optional<ExecConfig> exec;

  // Impersonation (kubeconfig user `as`, `as-uid`, `as-groups`, `as-user-extra`; kubectl --as,
  // --as-uid, --as-group): sent as Impersonate-User / -Uid / -Group / -Extra-<key> headers.
  struct Impersonation {
    std::string user;
    std::string uid;
    std::vector<std::string> groups;
    std::map<std::string, std::vector<std::string>> extra;
    bool empty() const { return user.empty() && uid.empty() && groups.empty() && extra.empty(); }
  };
  Impersonation impersonate;

  std::string namespace_name = "default";  // the context's namespace, an override, or "default"
  // For messages: which context, cluster and user this came from ("" for in-cluster).
  std::string context_name;
  std::string cluster_name;
  std::string user_name;
  bool in_cluster = false;

  // A one-line description for logs and --v output: every secret (token, password, key, data)
  // is replaced by a redacted marker.
  std::string Redacted() const;
};

// ---------------------------------------------------------------------------------------------
// Loading.

struct KubeconfigOptions {
  // --kubeconfig: when set, the only file read; it must exist (NotFound otherwise).
  std::filesystem::path explicit_path;
  // KUBECONFIG; std::nullopt means "read the process environment". Entries are separated by
  // ':'; missing files in the list are skipped; empty entries ignored.
  std::optional<std::string> kubeconfig_env;
  // The default file when neither of the above is given; std::nullopt means $HOME/.kube/config.
  std::optional<std::filesystem::path> default_path;
  std::string context;         // --context: overrides current-context
  std::string namespace_name;  // --namespace: overrides the context's namespace

  // kubectl's connection flags, applied over the chosen context's entries as clientcmd does.
  // With `server` set, no kubeconfig file is needed at all.
  struct Overrides {
    std::string cluster;  // --cluster: another cluster entry than the context's
    std::string user;     // --user: another user entry than the context's
    std::string server;   // --server / -s
    std::string certificate_authority;  // --certificate-authority (a file)
    std::optional<bool> insecure_skip_tls_verify;  // --insecure-skip-tls-verify
    std::string tls_server_name;                    // --tls-server-name
    std::string token;                              // --token (replaces any token file)
    std::string client_certificate, client_key;     // --client-certificate / --client-key (files)
    std::string username, password;                 // --username / --password
    std::string as, as_uid;                         // --as, --as-uid
    std::vector<std::string> as_groups;             // --as-group (repeatable)
  };
  Overrides overrides;
};

// The merged content of the kubeconfig files, entries kept as the JSON objects found in the
// files (paths not yet resolved), with the file each came from. clientcmd's merge rules: for
// every map (clusters, users, contexts) the first file that defines a name wins, whole entry;
// current-context comes from the first file that sets it.
struct Kubeconfig {
  struct Entry {
    boost::json::object value;     // the `cluster` / `user` / `context` object
    std::filesystem::path origin;  // the file it came from
  };
  std::map<std::string, Entry> clusters;
  std::map<std::string, Entry> users;
  std::map<std::string, Entry> contexts;
  std::string current_context;
  std::vector<std::filesystem::path> files;  // the files read, in precedence order

  bool empty() const {
    return clusters.empty() && users.empty() && contexts.empty() && current_context.empty();
  }
};

// Reads and merges the kubeconfig files selected by `options` (context/namespace overrides are
// not applied here). InvalidArgument naming the file and line for malformed YAML or a field of
// the wrong type; NotFound when an explicit path does not exist. An absent default file or an
// all-missing KUBECONFIG list yields an empty Kubeconfig (not an error).
StatusOr<Kubeconfig> LoadMergedKubeconfig(const KubeconfigOptions& options);

// What `kubectl config view --flatten --raw -o json` prints for the same files: files referenced
// by certificate-authority / client-certificate / client-key are inlined as -data (relative to
// the file that named them), other paths left as written, entries sorted by name. Contains
// secrets: for tests and explicit export only. Errors as for BuildRestConfig's file reads.
StatusOr<boost::json::value> FlattenKubeconfig(const Kubeconfig& config);

// The RestConfig of one context of a merged kubeconfig (options.context or current-context).
// Errors: FailedPrecondition "no configuration has been provided..." for an empty config;
// InvalidArgument `context "x" does not exist`, missing cluster/user, no server, both token and
// basic auth, a legacy auth-provider (naming the exec plugin to use instead), bad base64, an
// unknown exec apiVersion; NotFound / PermissionDenied for an unreadable referenced file.
StatusOr<RestConfig> BuildRestConfig(const Kubeconfig& config, const KubeconfigOptions& options);

// LoadMergedKubeconfig + BuildRestConfig.
StatusOr<RestConfig> LoadKubeconfig(const KubeconfigOptions& options);

// ---------------------------------------------------------------------------------------------
// In-cluster configuration.

struct InClusterOptions {
  // The service-account mount; tests point it at a fake directory.
  std::filesystem::path mount_dir = "/var/run/secrets/kubernetes.io/serviceaccount";
  // Overrides for KUBERNETES_SERVICE_HOST / KUBERNETES_SERVICE_PORT / POD_NAMESPACE; nullopt
  // reads the process environment.
  std::optional<std::string> service_host;
  std::optional<std::string> service_port;
  std::optional<std::string> pod_namespace;
};

// True when the service host/port are set and the token file exists.
bool InClusterAvailable(const InClusterOptions& options = {});

// https://host:port (IPv6 hosts in brackets), the token file (re-read on rotation by
// TokenFileProvider), ca.crt, and the namespace from POD_NAMESPACE, the mounted `namespace`
// file, or "default". FailedPrecondition when the environment is not set; NotFound when the
// token cannot be read. A missing ca.crt is logged and the system trust store is used.
StatusOr<RestConfig> LoadInClusterConfig(const InClusterOptions& options = {});

// What client-go's deferred loading does: the kubeconfig; if it is empty (no file provides any
// configuration), no --kubeconfig was given and the process runs in a pod, the in-cluster
// configuration (with options.namespace_name still applied).
StatusOr<RestConfig> LoadRestConfig(const KubeconfigOptions& options,
                                    const InClusterOptions& in_cluster = {});

}  // namespace lifeboat::kube
