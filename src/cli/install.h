#pragma once

// `lifeboat install` and `lifeboat uninstall` without the command-line parsing: Velero's install
// flags checked and resolved into options (ResolveInstallFlags), the objects an install creates
// built from them (BuildInstallObjects, pure), printed (--dry-run -o yaml|json), applied to a
// cluster idempotently (ApplyInstallObjects) and removed again (Uninstall). docs/install.md is
// the user-facing description.
//
// Objects, in Velero's order: the velero.io CRDs (api::VeleroCustomResourceDefinitions), the
// Namespace, the RBAC (ClusterRoleBinding to cluster-admin, or a ClusterRole + binding with
// --rbac least-privilege), the ServiceAccount `velero`, the Secret `cloud-credentials`, the
// BackupStorageLocation `default`, the VolumeSnapshotLocation `default` and the Deployment
// `velero`. Every object carries the label `component: velero`.
//
// Thread safety: the functions are thread-safe; ApplyInstallObjects and Uninstall make requests
// through the client they are given and write to `out` (not synchronised).

#include <boost/json.hpp>
#include <chrono>
#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "lifeboat/common/cancellation.h"
#include "lifeboat/common/clock.h"
#include "lifeboat/common/status.h"
#include "lifeboat/kube/dynamic_client.h"

namespace lifeboat::cli {

// The field manager of install's server-side applies.
inline constexpr char kInstallFieldManager[] = "lifeboat-install";

// "ghcr.io/lifeboat/lifeboat:v<version of this build>".
std::string DefaultImage();

enum class RbacMode {
  kClusterAdmin,    // ClusterRoleBinding to cluster-admin (Velero's only choice)
  kLeastPrivilege,  // ClusterRole with the verbs the server uses (docs/install.md)
};

// The command line as typed (Velero's names and defaults). Maps are `key=value,key=value`,
// possibly given several times.
struct InstallFlags {
  std::string ns = "velero";
  std::string image = DefaultImage();
  std::string provider, bucket, prefix;
  std::string secret_file, cacert_file;
  bool no_secret = false;
  bool no_default_backup_location = false;
  std::vector<std::string> backup_location_config, snapshot_location_config;
  bool use_volume_snapshots = true;
  bool use_node_agent = false;
  bool default_volumes_to_fs_backup = false;
  std::vector<std::string> plugins;
  std::string cpu_request = "500m", mem_request = "128Mi";
  std::string cpu_limit = "1000m", mem_limit = "512Mi";
  std::vector<std::string> pod_labels, pod_annotations, sa_annotations;
  std::string garbage_collection_frequency;  // "" leaves the server's default
  std::string rbac = "cluster-admin";
  bool crds_only = false;
  bool dry_run = false;
  std::string output;  // "", "yaml" or "json"
};

// What the objects are built from: validated values, files already read.
struct InstallOptions {
  std::string ns = "velero";
  std::string image = DefaultImage();
  std::string provider, bucket, prefix;
  std::optional<std::string> secret_data;  // the Secret's `cloud` key; nullopt: no Secret
  std::optional<std::string> cacert_data;  // the BSL's objectStorage.caCert (PEM bytes)
  bool default_backup_location = true;
  std::map<std::string, std::string> bsl_config, vsl_config;
  bool use_volume_snapshots = true;
  // Resource quantities; "" or "0" leaves the value out (unbounded), as Velero does.
  std::string cpu_request = "500m", mem_request = "128Mi";
  std::string cpu_limit = "1000m", mem_limit = "512Mi";
  std::map<std::string, std::string> pod_labels, pod_annotations, sa_annotations;
  std::string garbage_collection_frequency;
  RbacMode rbac = RbacMode::kClusterAdmin;
  bool crds_only = false;
};

// Velero's rules, with messages that say what to change: --provider and --bucket unless
// --crds-only or --no-default-backup-location; exactly one of --secret-file / --no-secret;
// --snapshot-location-config only with --use-volume-snapshots; --default-volumes-to-fs-backup
// only with --use-node-agent; key=value syntax (naming the flag and the bad part); resource
// quantities (request <= limit); -o yaml|json; --rbac cluster-admin|least-privilege. Unlike
// Velero, --plugins is not required (the providers are built in); it and --use-node-agent are
// accepted and a line is added to *notes saying they have no effect. Reads --secret-file and
// --cacert (NotFound / PermissionDenied naming the file). InvalidArgument otherwise.
StatusOr<InstallOptions> ResolveInstallFlags(const InstallFlags& flags,
                                             std::vector<std::string>* notes);

// Parses `key1=value1,key2=value2` (several occurrences merge; a later key wins). `flag` names
// the flag in errors. InvalidArgument for an element without `=` or with an empty key.
StatusOr<std::map<std::string, std::string>> ParseKeyValueList(
    const std::string& flag, const std::vector<std::string>& values);

// The objects, in apply order (only the CRDs with crds_only). Never fails for options that
// ResolveInstallFlags produced.
std::vector<boost::json::value> BuildInstallObjects(const InstallOptions& options);

// The name of the cluster-scoped RBAC objects: "velero", or "velero-<ns>" for another namespace
// (so that installs in several namespaces do not overwrite each other's, as in Velero).
std::string ClusterRbacName(const std::string& ns);

// --dry-run output: a `---`-separated YAML stream, or a v1 List as indented JSON.
std::string ObjectsAsYaml(const std::vector<boost::json::value>& objects);
std::string ObjectsAsJsonList(const std::vector<boost::json::value>& objects);

struct ApplyOptions {
  Clock* clock = nullptr;  // nullptr: RealClock()
  std::chrono::milliseconds crd_timeout{60'000};
  std::chrono::milliseconds poll_interval{250};
  CancellationToken cancel;
};

// Creates or updates every object with server-side apply (field manager kInstallFieldManager,
// force), CRDs first; waits until they are Established before the rest. Writes one line per
// object: "<Kind>/<name>: created|configured|unchanged". Returns the first error, annotated
// with the object ("applying Deployment/velero: ..."); DeadlineExceeded when the CRDs do not
// become Established in time.
Status ApplyInstallObjects(kube::DynamicClient& client,
                           const std::vector<boost::json::value>& objects, std::ostream& out,
                           const ApplyOptions& options = {});

// Waits until Deployment `name` in `ns` has rolled out: observedGeneration caught up, every
// replica updated and available, condition Available=True. DeadlineExceeded after `timeout`
// (the message gives the replica counts seen last).
Status WaitForDeploymentAvailable(kube::DynamicClient& client, const std::string& ns,
                                  const std::string& name, std::chrono::milliseconds timeout,
                                  std::ostream& out, const ApplyOptions& options = {});

struct UninstallOptions {
  Clock* clock = nullptr;
  std::chrono::milliseconds namespace_timeout{120'000};
  std::chrono::milliseconds poll_interval{250};
  CancellationToken cancel;
};

// What Velero's uninstall removes: the namespace (waiting until it is gone), the cluster-scoped
// RBAC named ClusterRbacName(ns) (the ClusterRole only if it carries component=velero), and
// every CRD labelled component=velero. Absent objects are reported and skipped, so it is
// idempotent. Writes one line per object. Errors of the namespace stop it (the CRDs must
// outlive their instances' namespace); other errors are collected and the first is returned.
Status Uninstall(kube::DynamicClient& client, const std::string& ns, std::ostream& out,
                 const UninstallOptions& options = {});

}  // namespace lifeboat::cli
