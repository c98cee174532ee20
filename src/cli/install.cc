#include "src/cli/install.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <iterator>
#include <sstream>

#include "absl/strings/escaping.h"
#include "lifeboat/api/crds.h"
#include "lifeboat/api/duration.h"
#include "lifeboat/common/json.h"
#include "lifeboat/common/yaml.h"
#include "lifeboat/storage/registry.h"

#ifndef LIFEBOAT_VERSION
#define LIFEBOAT_VERSION "0.0.0"
#endif

namespace lifeboat::cli {
namespace {

namespace json = boost::json;

constexpr char kServerName[] = "velero";  // Deployment, ServiceAccount, container
constexpr char kSecretName[] = "cloud-credentials";
constexpr char kCredentialsDir[] = "/credentials";
constexpr char kScratchDir[] = "/scratch";
constexpr int kMetricsPort = 8085;
constexpr int64_t kNonRootId = 65532;  // the image's `lifeboat` user (Dockerfile)

Status Invalid(const std::string& message) { return absl::InvalidArgumentError(message); }

// ---------------------------------------------------------------------------------------------
// Flag values.

bool IsDnsLabel(const std::string& s) {
  if (s.empty() || s.size() > 63) return false;
  for (char c : s) {
    if (!(std::islower(static_cast<unsigned char>(c)) ||
          std::isdigit(static_cast<unsigned char>(c)) || c == '-')) {
      return false;
    }
  }
  return s.front() != '-' && s.back() != '-';
}

// A Kubernetes resource quantity ("500m", "128Mi", "1.5", "2e3") as a number; nullopt if it
// is not one.
std::optional<double> ParseQuantity(const std::string& s) {
  size_t i = 0;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
  bool digits = false;
  while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i, digits = true;
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i, digits = true;
  }
  if (!digits) return std::nullopt;
  double value = 0;
  try {
    value = std::stod(s.substr(0, i));
  } catch (const std::exception&) {
    return std::nullopt;
  }
  std::string suffix = s.substr(i);
  static const std::pair<const char*, double> kSuffixes[] = {{"", 1},
                                                             {"n", 1e-9},
                                                             {"u", 1e-6},
                                                             {"m", 1e-3},
                                                             {"k", 1e3},
                                                             {"M", 1e6},
                                                             {"G", 1e9},
                                                             {"T", 1e12},
                                                             {"P", 1e15},
                                                             {"E", 1e18},
                                                             {"Ki", 1024.},
                                                             {"Mi", 1048576.},
                                                             {"Gi", 1073741824.},
                                                             {"Ti", 1099511627776.},
                                                             {"Pi", 1125899906842624.},
                                                             {"Ei", 1152921504606846976.}};
  for (const auto& [name, factor] : kSuffixes) {
    if (suffix == name) return value * factor;
  }
  if ((suffix[0] == 'e' || suffix[0] == 'E') && suffix.size() > 1) {
    size_t j = 1;
    if (suffix[j] == '+' || suffix[j] == '-') ++j;
    if (j == suffix.size()) return std::nullopt;
    for (size_t k = j; k < suffix.size(); ++k) {
      if (!std::isdigit(static_cast<unsigned char>(suffix[k]))) return std::nullopt;
    }
    if (suffix.size() - j > 3) return std::nullopt;
    return value * std::pow(10.0, std::stoi(suffix.substr(1)));
  }
  return std::nullopt;
}

bool Unbounded(const std::string& q) { return q.empty() || q == "0"; }

Status CheckResources(const InstallFlags& f) {
  struct Pair {
    const char* kind;
    const std::string* request;
    const std::string* limit;
  } pairs[] = {{"cpu", &f.cpu_request, &f.cpu_limit}, {"mem", &f.mem_request, &f.mem_limit}};
  for (const Pair& p : pairs) {
    std::optional<double> values[2];
    const std::string* texts[2] = {p.request, p.limit};
    for (int i = 0; i < 2; ++i) {
      if (Unbounded(*texts[i])) continue;
      values[i] = ParseQuantity(*texts[i]);
      if (!values[i] || *values[i] < 0) {
        return Invalid(std::string("--velero-pod-") + p.kind + (i == 0 ? "-request" : "-limit") +
                       ": \"" + *texts[i] +
                       "\" is not a resource quantity (examples: 500m, 1, 128Mi, 1Gi; \"0\" for "
                       "unbounded)");
      }
    }
    if (values[0] && values[1] && *values[0] > *values[1]) {
      return Invalid(std::string("--velero-pod-") + p.kind + "-request (" + *p.request +
                     ") must not be greater than --velero-pod-" + p.kind + "-limit (" + *p.limit +
                     ")");
    }
  }
  return absl::OkStatus();
}

StatusOr<std::string> ReadFile(const std::string& flag, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    int err = errno;
    std::string what = flag + ": cannot read \"" + path + "\": " + std::strerror(err);
    if (err == EACCES) return absl::PermissionDeniedError(what);
    return absl::NotFoundError(what);
  }
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::string KnownProvidersText() {
  std::string out;
  for (const auto& p : storage::KnownProviders()) out += (out.empty() ? "" : ", ") + p;
  return out;
}

Status CheckProvider(const std::string& provider) {
  std::string name = provider;
  if (name.rfind("velero.io/", 0) == 0) name = name.substr(10);
  auto known = storage::KnownProviders();
  if (std::find(known.begin(), known.end(), name) != known.end()) return absl::OkStatus();
  return Invalid("--provider \"" + provider + "\" is not built in; choose one of " +
                 KnownProvidersText() + " (Lifeboat does not load provider plugins)");
}

// Velero's checks, in Velero's order.
Status CheckLocations(const InstallFlags& f) {
  if (!f.bucket.empty() && f.bucket[0] == '-') {
    return Invalid("--bucket \"" + f.bucket +
                   "\" begins with a dash: bucket names cannot (was an environment variable left "
                   "empty?)");
  }
  if (f.no_default_backup_location) {
    if (!f.bucket.empty())
      return Invalid("--bucket cannot be used with --no-default-backup-location");
    if (!f.prefix.empty())
      return Invalid("--prefix cannot be used with --no-default-backup-location");
    if (!f.backup_location_config.empty()) {
      return Invalid("--backup-location-config cannot be used with --no-default-backup-location");
    }
  } else {
    if (f.provider.empty()) {
      return Invalid("--provider is required (one of " + KnownProvidersText() +
                     "), or --crds-only to install only the CRDs");
    }
    if (f.bucket.empty()) {
      return Invalid("--bucket is required: the bucket (Azure: blob container) backups go to");
    }
  }
  if (f.use_volume_snapshots) {
    if (f.provider.empty()) {
      return Invalid(
          "--provider is required when --use-volume-snapshots is true (set "
          "--use-volume-snapshots=false to create no VolumeSnapshotLocation)");
    }
  } else if (!f.snapshot_location_config.empty()) {
    return Invalid("--snapshot-location-config must be empty when --use-volume-snapshots=false");
  }
  if (f.no_default_backup_location && !f.use_volume_snapshots && !f.provider.empty()) {
    return Invalid(
        "--provider must be empty with --no-default-backup-location and "
        "--use-volume-snapshots=false (nothing would use it)");
  }
  if (!f.provider.empty()) LIFEBOAT_RETURN_IF_ERROR(CheckProvider(f.provider));
  if (f.default_volumes_to_fs_backup && !f.use_node_agent) {
    return Invalid("--use-node-agent is required when using --default-volumes-to-fs-backup");
  }
  if (f.secret_file.empty() && !f.no_secret) {
    return Invalid(
        "one of --secret-file or --no-secret is required (--no-secret when the server gets its "
        "credentials another way, e.g. workload identity)");
  }
  if (!f.secret_file.empty() && f.no_secret) {
    return Invalid("--secret-file and --no-secret cannot be used together");
  }
  return absl::OkStatus();
}

}  // namespace

std::string DefaultImage() { return std::string("ghcr.io/lifeboat/lifeboat:v") + LIFEBOAT_VERSION; }

std::string ClusterRbacName(const std::string& ns) {
  return ns == "velero" ? std::string("velero") : "velero-" + ns;
}

StatusOr<std::map<std::string, std::string>> ParseKeyValueList(
    const std::string& flag, const std::vector<std::string>& values) {
  std::map<std::string, std::string> out;
  for (const std::string& value : values) {
    size_t start = 0;
    while (true) {
      size_t comma = value.find(',', start);
      std::string part =
          value.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
      size_t eq = part.find('=');
      if (eq == std::string::npos || eq == 0) {
        return Invalid(flag + ": \"" + part + "\" in \"" + value + "\" is not key=value " +
                       "(expected key1=value1,key2=value2)");
      }
      out[part.substr(0, eq)] = part.substr(eq + 1);
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
  }
  return out;
}

StatusOr<InstallOptions> ResolveInstallFlags(const InstallFlags& f,
                                             std::vector<std::string>* notes) {
  if (!f.output.empty() && f.output != "yaml" && f.output != "json") {
    return Invalid("invalid -o/--output \"" + f.output + "\": choose yaml or json");
  }
  InstallOptions o;
  if (f.rbac == "cluster-admin") {
    o.rbac = RbacMode::kClusterAdmin;
  } else if (f.rbac == "least-privilege") {
    o.rbac = RbacMode::kLeastPrivilege;
  } else {
    return Invalid("invalid --rbac \"" + f.rbac + "\": choose cluster-admin or least-privilege");
  }
  if (!IsDnsLabel(f.ns)) {
    return Invalid("--namespace \"" + f.ns +
                   "\" is not a valid namespace name (lowercase letters, digits and '-', at most "
                   "63 characters)");
  }
  o.ns = f.ns;
  if (!f.plugins.empty()) {
    notes->push_back("--plugins is ignored: the providers (" + KnownProvidersText() +
                     ") are built into the Lifeboat image");
  }
  if (f.use_node_agent) {
    notes->push_back(
        "--use-node-agent: the node-agent (file-system backup of pod volumes) is not available "
        "yet; "
        "no node-agent DaemonSet is created");
  }
  o.crds_only = f.crds_only;
  if (f.crds_only) return o;  // as in Velero, nothing else is checked

  LIFEBOAT_RETURN_IF_ERROR(CheckLocations(f));
  if (f.default_volumes_to_fs_backup) {
    notes->push_back(
        "--default-volumes-to-fs-backup has no effect until the node-agent is available; the "
        "server is started without it");
  }
  if (f.image.empty()) return Invalid("--image must not be empty");
  LIFEBOAT_RETURN_IF_ERROR(CheckResources(f));
  if (!f.garbage_collection_frequency.empty()) {
    auto d = api::ParseGoDuration(f.garbage_collection_frequency);
    if (!d.ok() || d->count() < 0) {
      return Invalid("--garbage-collection-frequency \"" + f.garbage_collection_frequency +
                     "\" is not a non-negative duration (examples: 30m, 1h)");
    }
  }
  o.image = f.image;
  o.provider = f.provider;
  o.bucket = f.bucket;
  o.prefix = f.prefix;
  o.default_backup_location = !f.no_default_backup_location;
  o.use_volume_snapshots = f.use_volume_snapshots;
  o.cpu_request = f.cpu_request;
  o.mem_request = f.mem_request;
  o.cpu_limit = f.cpu_limit;
  o.mem_limit = f.mem_limit;
  o.garbage_collection_frequency = f.garbage_collection_frequency;
  LIFEBOAT_ASSIGN_OR_RETURN(
      o.bsl_config, ParseKeyValueList("--backup-location-config", f.backup_location_config));
  LIFEBOAT_ASSIGN_OR_RETURN(
      o.vsl_config, ParseKeyValueList("--snapshot-location-config", f.snapshot_location_config));
  LIFEBOAT_ASSIGN_OR_RETURN(o.pod_labels, ParseKeyValueList("--pod-labels", f.pod_labels));
  LIFEBOAT_ASSIGN_OR_RETURN(o.pod_annotations,
                            ParseKeyValueList("--pod-annotations", f.pod_annotations));
  LIFEBOAT_ASSIGN_OR_RETURN(o.sa_annotations,
                            ParseKeyValueList("--sa-annotations", f.sa_annotations));
  if (!f.secret_file.empty()) {
    LIFEBOAT_ASSIGN_OR_RETURN(o.secret_data, ReadFile("--secret-file", f.secret_file));
  }
  if (!f.cacert_file.empty()) {
    LIFEBOAT_ASSIGN_OR_RETURN(o.cacert_data, ReadFile("--cacert", f.cacert_file));
  }
  return o;
}

// ---------------------------------------------------------------------------------------------
// The objects.

namespace {

json::object Labels() { return json::object{{"component", "velero"}}; }

json::object StringMap(const std::map<std::string, std::string>& m) {
  json::object o;
  for (const auto& [k, v] : m) o[k] = v;
  return o;
}

json::object Meta(const std::string& name, const std::string& ns) {
  json::object meta{{"name", name}};
  if (!ns.empty()) meta["namespace"] = ns;
  meta["labels"] = Labels();
  return meta;
}

json::value Object(const char* api_version, const char* kind, json::object meta) {
  return json::object{{"apiVersion", api_version}, {"kind", kind}, {"metadata", std::move(meta)}};
}

json::value Namespace(const InstallOptions& o) { return Object("v1", "Namespace", Meta(o.ns, "")); }

json::value ServiceAccount(const InstallOptions& o) {
  json::object meta = Meta(kServerName, o.ns);
  if (!o.sa_annotations.empty()) meta["annotations"] = StringMap(o.sa_annotations);
  return Object("v1", "ServiceAccount", std::move(meta));
}

json::object Rule(json::array groups, json::array resources, json::array verbs) {
  return json::object{{"apiGroups", std::move(groups)},
                      {"resources", std::move(resources)},
                      {"verbs", std::move(verbs)}};
}

// The verbs the server uses (docs/install.md, "Least privilege"): it reads every kind (backups),
// creates, updates and patches every kind (restores, exec hooks through pods/exec, events,
// leases, status), and deletes only its own velero.io objects. No delete on anything else, no
// escalate / bind / impersonate.
json::value LeastPrivilegeClusterRole(const InstallOptions& o) {
  json::value role =
      Object("rbac.authorization.k8s.io/v1", "ClusterRole", Meta(ClusterRbacName(o.ns), ""));
  role.as_object()["rules"] = json::array{
      Rule({"*"}, {"*"}, {"get", "list", "watch"}),
      Rule({"*"}, {"*"}, {"create", "update", "patch"}),
      Rule({"velero.io"}, {"*"}, {"*"}),
  };
  return role;
}

json::value ClusterRoleBinding(const InstallOptions& o) {
  json::value crb =
      Object("rbac.authorization.k8s.io/v1", "ClusterRoleBinding", Meta(ClusterRbacName(o.ns), ""));
  std::string role =
      o.rbac == RbacMode::kClusterAdmin ? std::string("cluster-admin") : ClusterRbacName(o.ns);
  crb.as_object()["subjects"] = json::array{
      json::object{{"kind", "ServiceAccount"}, {"name", kServerName}, {"namespace", o.ns}}};
  crb.as_object()["roleRef"] = json::object{
      {"apiGroup", "rbac.authorization.k8s.io"}, {"kind", "ClusterRole"}, {"name", role}};
  return crb;
}

json::value Secret(const InstallOptions& o) {
  json::value s = Object("v1", "Secret", Meta(kSecretName, o.ns));
  std::string encoded;
  absl::Base64Escape(*o.secret_data, &encoded);
  s.as_object()["type"] = "Opaque";
  s.as_object()["data"] = json::object{{"cloud", encoded}};
  return s;
}

json::value BackupStorageLocation(const InstallOptions& o) {
  json::value bsl = Object("velero.io/v1", "BackupStorageLocation", Meta("default", o.ns));
  json::object storage{{"bucket", o.bucket}};
  if (!o.prefix.empty()) storage["prefix"] = o.prefix;
  if (o.cacert_data) {
    std::string encoded;
    absl::Base64Escape(*o.cacert_data, &encoded);
    storage["caCert"] = encoded;
  }
  json::object spec{{"provider", o.provider}, {"objectStorage", std::move(storage)}};
  if (!o.bsl_config.empty()) spec["config"] = StringMap(o.bsl_config);
  spec["default"] = true;
  bsl.as_object()["spec"] = std::move(spec);
  return bsl;
}

json::value VolumeSnapshotLocation(const InstallOptions& o) {
  json::value vsl = Object("velero.io/v1", "VolumeSnapshotLocation", Meta("default", o.ns));
  json::object spec{{"provider", o.provider}};
  if (!o.vsl_config.empty()) spec["config"] = StringMap(o.vsl_config);
  vsl.as_object()["spec"] = std::move(spec);
  return vsl;
}

json::object Resources(const InstallOptions& o) {
  json::object requests, limits, out;
  if (!Unbounded(o.cpu_request)) requests["cpu"] = o.cpu_request;
  if (!Unbounded(o.mem_request)) requests["memory"] = o.mem_request;
  if (!Unbounded(o.cpu_limit)) limits["cpu"] = o.cpu_limit;
  if (!Unbounded(o.mem_limit)) limits["memory"] = o.mem_limit;
  if (!requests.empty()) out["requests"] = std::move(requests);
  if (!limits.empty()) out["limits"] = std::move(limits);
  return out;
}

json::object Probe(const char* path, int period, int failures) {
  return json::object{{"httpGet", json::object{{"path", path}, {"port", "metrics"}}},
                      {"initialDelaySeconds", 5},
                      {"periodSeconds", period},
                      {"timeoutSeconds", 5},
                      {"failureThreshold", failures}};
}

json::object Container(const InstallOptions& o) {
  json::array args{"server", "--namespace=" + o.ns,
                   "--metrics-address=:" + std::to_string(kMetricsPort),
                   std::string("--temp-dir=") + kScratchDir};
  if (!o.garbage_collection_frequency.empty()) {
    args.push_back(
        json::string("--garbage-collection-frequency=" + o.garbage_collection_frequency));
  }
  json::array env{
      json::object{{"name", "VELERO_SCRATCH_DIR"}, {"value", kScratchDir}},
      // The root filesystem is read-only: temporary files (e.g. credentials handed to drivers)
      // go to the scratch volume.
      json::object{{"name", "TMPDIR"}, {"value", kScratchDir}},
      json::object{{"name", "VELERO_NAMESPACE"},
                   {"valueFrom",
                    json::object{{"fieldRef", json::object{{"fieldPath", "metadata.namespace"}}}}}},
  };
  json::array mounts{json::object{{"name", "scratch"}, {"mountPath", kScratchDir}}};
  if (o.secret_data) {
    // Every driver reads its provider's usual variable; Velero sets all of them.
    std::string file = std::string(kCredentialsDir) + "/cloud";
    for (const char* var : {"GOOGLE_APPLICATION_CREDENTIALS", "AWS_SHARED_CREDENTIALS_FILE",
                            "AZURE_CREDENTIALS_FILE", "ALIBABA_CLOUD_CREDENTIALS_FILE"}) {
      env.push_back(json::object{{"name", var}, {"value", file}});
    }
    mounts.push_back(json::object{{"name", kSecretName}, {"mountPath", kCredentialsDir}});
  }
  // Velero: Always for an untagged or :latest image, IfNotPresent for a pinned tag.
  size_t colon = o.image.rfind(':');
  bool pinned = colon != std::string::npos && o.image.find('/', colon) == std::string::npos &&
                o.image.substr(colon + 1) != "latest";
  if (o.image.find('@') != std::string::npos) pinned = true;
  json::object c{
      {"name", kServerName},
      {"image", o.image},
      {"imagePullPolicy", pinned ? "IfNotPresent" : "Always"},
      {"command", json::array{"/lifeboat"}},
      {"args", std::move(args)},
      {"ports", json::array{json::object{
                    {"name", "metrics"}, {"containerPort", kMetricsPort}, {"protocol", "TCP"}}}},
      {"env", std::move(env)},
      {"volumeMounts", std::move(mounts)}};
  json::object resources = Resources(o);
  if (!resources.empty()) c["resources"] = std::move(resources);
  c["livenessProbe"] = Probe("/healthz", 30, 3);
  c["readinessProbe"] = Probe("/readyz", 10, 3);
  c["securityContext"] = json::object{{"allowPrivilegeEscalation", false},
                                      {"readOnlyRootFilesystem", true},
                                      {"capabilities", json::object{{"drop", json::array{"ALL"}}}}};
  return c;
}

json::value Deployment(const InstallOptions& o) {
  json::value d = Object("apps/v1", "Deployment", Meta(kServerName, o.ns));
  json::object labels = Labels();
  for (const auto& [k, v] : o.pod_labels) labels[k] = v;
  labels["deploy"] = kServerName;  // the selector: user labels cannot break it
  json::object annotations{{"prometheus.io/scrape", "true"},
                           {"prometheus.io/port", std::to_string(kMetricsPort)},
                           {"prometheus.io/path", "/metrics"}};
  for (const auto& [k, v] : o.pod_annotations) annotations[k] = v;
  json::array volumes{json::object{{"name", "scratch"}, {"emptyDir", json::object{}}}};
  if (o.secret_data) {
    volumes.push_back(
        json::object{{"name", kSecretName}, {"secret", json::object{{"secretName", kSecretName}}}});
  }
  json::object pod_spec{
      {"restartPolicy", "Always"},
      {"serviceAccountName", kServerName},
      {"securityContext",
       json::object{{"runAsNonRoot", true},
                    {"runAsUser", kNonRootId},
                    {"runAsGroup", kNonRootId},
                    {"fsGroup", kNonRootId},
                    {"seccompProfile", json::object{{"type", "RuntimeDefault"}}}}},
      {"containers", json::array{Container(o)}},
      {"volumes", std::move(volumes)}};
  d.as_object()["spec"] = json::object{
      {"replicas", 1},
      {"selector", json::object{{"matchLabels", json::object{{"deploy", kServerName}}}}},
      {"template", json::object{{"metadata", json::object{{"labels", std::move(labels)},
                                                          {"annotations", std::move(annotations)}}},
                                {"spec", std::move(pod_spec)}}}};
  return d;
}

}  // namespace

std::vector<json::value> BuildInstallObjects(const InstallOptions& o) {
  std::vector<json::value> out = api::VeleroCustomResourceDefinitions();
  if (o.crds_only) return out;
  out.push_back(Namespace(o));
  if (o.rbac == RbacMode::kLeastPrivilege) out.push_back(LeastPrivilegeClusterRole(o));
  out.push_back(ClusterRoleBinding(o));
  out.push_back(ServiceAccount(o));
  if (o.secret_data) out.push_back(Secret(o));
  if (o.default_backup_location) out.push_back(BackupStorageLocation(o));
  if (o.use_volume_snapshots) out.push_back(VolumeSnapshotLocation(o));
  out.push_back(Deployment(o));
  return out;
}

std::string ObjectsAsYaml(const std::vector<json::value>& objects) {
  std::string out;
  for (const auto& obj : objects) {
    out += "---\n";
    out += JsonToYaml(obj);
    if (!out.empty() && out.back() != '\n') out += '\n';
  }
  return out;
}

std::string ObjectsAsJsonList(const std::vector<json::value>& objects) {
  json::array items(objects.begin(), objects.end());
  json::value list =
      json::object{{"apiVersion", "v1"}, {"kind", "List"}, {"items", std::move(items)}};
  return GoJsonIndent(list) + "\n";
}

}  // namespace lifeboat::cli
