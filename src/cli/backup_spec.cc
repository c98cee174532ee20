// Flags -> Backup objects (backup_commands.h).

#include <ctime>

#include "lifeboat/api/duration.h"
#include "src/cli/backup_commands.h"
#include "src/cli/output.h"

namespace lifeboat::cli {
namespace {

std::optional<bool> OptionalBool(const std::string& v) {
  if (v.empty()) return std::nullopt;
  return v == "true";
}

Status ParseDurationFlag(const std::string& text, const char* flag, api::Duration* out) {
  if (text.empty()) return absl::OkStatus();
  auto d = api::ParseGoDuration(text);
  if (!d.ok()) {
    return absl::InvalidArgumentError("invalid argument \"" + text + "\" for \"" + flag +
                                      "\" flag: " + std::string(d.status().message()) +
                                      " (use a duration such as 30m, 24h0m0s or 720h)");
  }
  *out = *d;
  return absl::OkStatus();
}

StatusOr<std::map<std::string, std::string>> ParseOrderedResources(const std::string& text) {
  std::map<std::string, std::string> out;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find(';', start);
    if (end == std::string::npos) end = text.size();
    const std::string part = text.substr(start, end - start);
    start = end + 1;
    if (part.empty()) continue;
    const size_t eq = part.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == part.size()) {
      return absl::InvalidArgumentError("invalid argument \"" + text +
                                        "\" for \"--ordered-resources\" flag: \"" + part +
                                        "\" is not of the form resource=name1,name2 (example: "
                                        "'pods=ns1/pod1,ns1/pod2;persistentvolumes=pv4,pv8')");
    }
    out[part.substr(0, eq)] = part.substr(eq + 1);
  }
  return out;
}

}  // namespace

void BindBackupTemplateFlags(CLI::App* cmd, BackupTemplateFlags* f) {
  const auto kBool = CLI::IsMember({"true", "false"});
  cmd->add_option("--include-namespaces", f->include_namespaces,
                  "namespaces to include (comma-separated; '*' for all)")
      ->delimiter(',')
      ->capture_default_str();
  cmd->add_option("--exclude-namespaces", f->exclude_namespaces, "namespaces to exclude")
      ->delimiter(',');
  cmd->add_option("--include-resources", f->include_resources,
                  "resources to include, e.g. 'deployments,configmaps' ('*' for all)")
      ->delimiter(',');
  cmd->add_option("--exclude-resources", f->exclude_resources, "resources to exclude")
      ->delimiter(',');
  cmd->add_flag("--include-cluster-resources", f->include_cluster_resources,
                "include cluster-scoped resources (true/false; default: when needed)")
      ->check(kBool);
  cmd->add_option("--include-cluster-scoped-resources", f->include_cluster_scoped,
                  "cluster-scoped resources to include ('*' for all)")
      ->delimiter(',');
  cmd->add_option("--exclude-cluster-scoped-resources", f->exclude_cluster_scoped,
                  "cluster-scoped resources to exclude")
      ->delimiter(',');
  cmd->add_option("--include-namespace-scoped-resources", f->include_namespace_scoped,
                  "namespaced resources to include ('*' for all)")
      ->delimiter(',');
  cmd->add_option("--exclude-namespace-scoped-resources", f->exclude_namespace_scoped,
                  "namespaced resources to exclude")
      ->delimiter(',');
  cmd->add_option("-l,--selector", f->selector,
                  "only back up objects matching this label selector");
  cmd->add_option("--or-selector", f->or_selector,
                  "objects matching any of these selectors, separated by ' or '");
  cmd->add_option("--ttl", f->ttl,
                  "how long before the backup can be garbage-collected (e.g. 720h)");
  cmd->add_flag("--snapshot-volumes", f->snapshot_volumes, "take snapshots of PersistentVolumes")
      ->check(kBool);
  cmd->add_flag("--default-volumes-to-fs-backup", f->default_volumes_to_fs_backup,
                "back up all pod volumes with the file-system backup by default")
      ->check(kBool);
  cmd->add_flag("--snapshot-move-data", f->snapshot_move_data,
                "move snapshot data to the backup storage")
      ->check(kBool);
  cmd->add_option("--storage-location", f->storage_location,
                  "the BackupStorageLocation to store the backup in (default: the default one)");
  cmd->add_option("--volume-snapshot-locations", f->volume_snapshot_locations,
                  "VolumeSnapshotLocations to use")
      ->delimiter(',');
  cmd->add_option(
      "--ordered-resources", f->ordered_resources,
      "order of specific objects by resource, e.g. 'pods=ns1/pod1,ns1/pod2;persistentvolumes=pv4'");
  cmd->add_option("--csi-snapshot-timeout", f->csi_snapshot_timeout,
                  "how long to wait for CSI snapshots (e.g. 10m)");
  cmd->add_option("--item-operation-timeout", f->item_operation_timeout,
                  "how long to wait for asynchronous item operations (e.g. 4h)");
  cmd->add_option("--resource-policies-configmap", f->resource_policies_configmap,
                  "a ConfigMap holding resource policies");
  cmd->add_option("--data-mover", f->data_mover, "the data mover for --snapshot-move-data");
  cmd->add_option("--parallel-files-upload", f->parallel_files_upload,
                  "files uploaded in parallel by the file-system backup")
      ->check(CLI::NonNegativeNumber);
}

StatusOr<api::BackupSpec> BuildBackupSpec(const BackupTemplateFlags& f) {
  api::BackupSpec s;
  const bool old_filters = !f.include_resources.empty() || !f.exclude_resources.empty() ||
                           !f.include_cluster_resources.empty();
  const bool new_filters = !f.include_cluster_scoped.empty() || !f.exclude_cluster_scoped.empty() ||
                           !f.include_namespace_scoped.empty() ||
                           !f.exclude_namespace_scoped.empty();
  if (old_filters && new_filters) {
    return absl::InvalidArgumentError(
        "--include-resources, --exclude-resources and --include-cluster-resources are the old "
        "resource filters; --include/exclude-cluster-scoped-resources and "
        "--include/exclude-namespace-scoped-resources are the new ones: they cannot be used "
        "together");
  }
  if (!f.selector.empty() && !f.or_selector.empty()) {
    return absl::InvalidArgumentError(
        "either a 'selector' or an 'or-selector' can be specified, but not both");
  }
  s.included_namespaces = f.include_namespaces;
  s.excluded_namespaces = f.exclude_namespaces;
  s.included_resources = f.include_resources;
  s.excluded_resources = f.exclude_resources;
  s.include_cluster_resources = OptionalBool(f.include_cluster_resources);
  s.included_cluster_scoped_resources = f.include_cluster_scoped;
  s.excluded_cluster_scoped_resources = f.exclude_cluster_scoped;
  s.included_namespace_scoped_resources = f.include_namespace_scoped;
  s.excluded_namespace_scoped_resources = f.exclude_namespace_scoped;
  if (!f.selector.empty()) {
    auto sel = api::LabelSelector::Parse(f.selector);
    if (!sel.ok()) {
      return absl::InvalidArgumentError(
          "invalid argument \"" + f.selector +
          "\" for \"--selector\" flag: " + std::string(sel.status().message()));
    }
    s.label_selector = *sel;
  }
  if (!f.or_selector.empty()) {
    std::string rest = f.or_selector;
    while (true) {
      const size_t at = rest.find(" or ");
      const std::string part = rest.substr(0, at);
      auto sel = api::LabelSelector::Parse(part);
      if (!sel.ok()) {
        return absl::InvalidArgumentError(
            "invalid argument \"" + f.or_selector +
            "\" for \"--or-selector\" flag: " + std::string(sel.status().message()));
      }
      s.or_label_selectors.push_back(*sel);
      if (at == std::string::npos) break;
      rest = rest.substr(at + 4);
    }
  }
  LIFEBOAT_RETURN_IF_ERROR(ParseDurationFlag(f.ttl, "--ttl", &s.ttl));
  LIFEBOAT_RETURN_IF_ERROR(
      ParseDurationFlag(f.csi_snapshot_timeout, "--csi-snapshot-timeout", &s.csi_snapshot_timeout));
  LIFEBOAT_RETURN_IF_ERROR(ParseDurationFlag(f.item_operation_timeout, "--item-operation-timeout",
                                             &s.item_operation_timeout));
  s.snapshot_volumes = OptionalBool(f.snapshot_volumes);
  s.default_volumes_to_fs_backup = OptionalBool(f.default_volumes_to_fs_backup);
  s.snapshot_move_data = OptionalBool(f.snapshot_move_data);
  s.storage_location = f.storage_location;
  s.volume_snapshot_locations = f.volume_snapshot_locations;
  LIFEBOAT_ASSIGN_OR_RETURN(s.ordered_resources, ParseOrderedResources(f.ordered_resources));
  if (!f.resource_policies_configmap.empty()) {
    s.resource_policy =
        api::TypedLocalObjectReference{std::nullopt, "configmap", f.resource_policies_configmap};
  }
  s.datamover = f.data_mover;
  if (f.parallel_files_upload > 0) {
    s.uploader_config = api::UploaderConfigForBackup{f.parallel_files_upload};
  }
  return s;
}

std::string TimestampedName(const std::string& prefix, api::TimePoint t) {
  std::time_t tt = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y%m%d%H%M%S", &tm);
  return prefix + "-" + buf;
}

StatusOr<api::Backup> BuildBackup(const BackupCreateFlags& f, const std::string& ns,
                                  api::TimePoint now, const api::Schedule* schedule) {
  api::Backup b;
  b.metadata.namespace_ = ns;
  if (schedule) {
    b.spec = schedule->spec.template_;
    b.metadata.labels = schedule->spec.template_.metadata.labels;
    b.metadata.labels["velero.io/schedule-name"] = schedule->metadata.name;
    b.metadata.name = f.name.empty() ? TimestampedName(schedule->metadata.name, now) : f.name;
  } else {
    if (f.name.empty()) {
      return absl::InvalidArgumentError("a backup name is required, unless --from-schedule is set");
    }
    b.metadata.name = f.name;
    LIFEBOAT_ASSIGN_OR_RETURN(b.spec, BuildBackupSpec(f.spec));
  }
  LIFEBOAT_ASSIGN_OR_RETURN(auto labels, ParseKeyValues(f.labels, "--labels"));
  for (auto& [k, v] : labels) b.metadata.labels[k] = v;
  LIFEBOAT_ASSIGN_OR_RETURN(b.metadata.annotations, ParseKeyValues(f.annotations, "--annotations"));
  return b;
}

}  // namespace lifeboat::cli
