// Tables and describe text of backups (backup_commands.h).

#include "src/cli/backup_commands.h"

#include <algorithm>

#include "lifeboat/api/duration.h"
#include "src/cli/output.h"

namespace lifeboat::cli {
namespace {

bool BeingDeleted(const boost::json::object& raw) {
  auto* md = raw.if_contains("metadata");
  return md && md->is_object() && md->as_object().if_contains("deletionTimestamp") &&
         !md->as_object().at("deletionTimestamp").is_null();
}

// The name without a trailing "-yyyyMMddHHmmss" (Velero groups scheduled backups this way).
std::string NamePrefix(const std::string& name) {
  if (name.size() > 15 && name[name.size() - 15] == '-' &&
      std::all_of(name.end() - 14, name.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return name.substr(0, name.size() - 15);
  }
  return name;
}

std::string OptBool(const std::optional<bool>& b, const char* unset) {
  return b ? (*b ? "true" : "false") : unset;
}

}  // namespace

std::string BackupStatusText(const api::Backup& b) {
  if (BeingDeleted(b.raw)) return "Deleting";
  if (b.status.phase == api::BackupPhase::kUnset) return "New";
  return std::string(api::ToString(b.status.phase));
}

int ExitCodeForPhase(const std::string& phase) {
  if (phase == "Completed") return 0;
  if (phase == "PartiallyFailed") return 3;
  return 1;
}

std::string BackupTable(std::vector<api::Backup> backups, api::TimePoint now) {
  std::sort(backups.begin(), backups.end(), [](const api::Backup& a, const api::Backup& b) {
    const std::string pa = NamePrefix(a.metadata.name), pb = NamePrefix(b.metadata.name);
    if (pa != pb) return pa < pb;
    const std::string ta = a.metadata.creation_timestamp.value_or("");
    const std::string tb = b.metadata.creation_timestamp.value_or("");
    if (ta != tb) return ta > tb;
    return a.metadata.name < b.metadata.name;
  });
  std::vector<Row> rows;
  for (const auto& b : backups) {
    rows.push_back({b.metadata.name, BackupStatusText(b), std::to_string(b.status.errors),
                    std::to_string(b.status.warnings), FormatTime(b.metadata.creation_timestamp),
                    HumanTimeFromNow(b.status.expiration, now),
                    b.spec.storage_location.empty() ? "" : b.spec.storage_location,
                    FormatSelector(b.spec.label_selector)});
  }
  return FormatTable({"NAME", "STATUS", "ERRORS", "WARNINGS", "CREATED", "EXPIRES",
                      "STORAGE LOCATION", "SELECTOR"},
                     rows);
}

std::string DescribeBackupSpec(const api::BackupSpec& s) {
  std::string o;
  auto line = [&](const std::string& l) { o += l + "\n"; };
  line("Namespaces:");
  line("  Included:  " + JoinOr(s.included_namespaces, "*"));
  line("  Excluded:  " + JoinOr(s.excluded_namespaces, "<none>"));
  line("");
  line("Resources:");
  const bool scoped = !s.included_cluster_scoped_resources.empty() ||
                      !s.excluded_cluster_scoped_resources.empty() ||
                      !s.included_namespace_scoped_resources.empty() ||
                      !s.excluded_namespace_scoped_resources.empty();
  if (scoped) {
    line("  Included cluster-scoped:    " + JoinOr(s.included_cluster_scoped_resources, "<none>"));
    line("  Excluded cluster-scoped:    " + JoinOr(s.excluded_cluster_scoped_resources, "<none>"));
    line("  Included namespace-scoped:  " + JoinOr(s.included_namespace_scoped_resources, "*"));
    line("  Excluded namespace-scoped:  " +
         JoinOr(s.excluded_namespace_scoped_resources, "<none>"));
  } else {
    line("  Included:        " + JoinOr(s.included_resources, "*"));
    line("  Excluded:        " + JoinOr(s.excluded_resources, "<none>"));
    line("  Cluster-scoped:  " + OptBool(s.include_cluster_resources, "auto"));
  }
  line("");
  line("Label selector:  " + FormatSelector(s.label_selector));
  line("");
  std::string ors;
  for (const auto& sel : s.or_label_selectors) ors += (ors.empty() ? "" : " or ") + sel.ToString();
  line("Or label selector:  " + (ors.empty() ? std::string("<none>") : ors));
  line("");
  line("Storage Location:  " + s.storage_location);
  line("");
  line("Velero-Native Snapshot PVs:  " + OptBool(s.snapshot_volumes, "auto"));
  line("Snapshot Move Data:          " + OptBool(s.snapshot_move_data, "false"));
  line("Data Mover:                  " +
       (s.datamover.empty() ? std::string("velero") : s.datamover));
  line("");
  line("TTL:  " + api::FormatGoDuration(s.ttl));
  line("");
  line("CSISnapshotTimeout:    " + api::FormatGoDuration(s.csi_snapshot_timeout));
  line("ItemOperationTimeout:  " + api::FormatGoDuration(s.item_operation_timeout));
  line("");
  line("Hooks:  " + (s.hooks.resources.empty()
                         ? std::string("<none>")
                         : std::to_string(s.hooks.resources.size()) + " resource hook(s)"));
  if (!s.ordered_resources.empty()) {
    line("");
    line("OrderedResources:");
    for (const auto& [k, v] : s.ordered_resources) line("  " + k + ": " + v);
  }
  return o;
}

namespace {

// Started/completed, expiration, progress, operations, snapshots and hooks.
std::string DescribeBackupStatus(const api::BackupStatus& st, api::TimePoint now) {
  std::string o;
  auto line = [&](const std::string& l) { o += l + "\n"; };
  line("Backup Format Version:  " + st.format_version);
  line("");
  line("Started:    " + FormatTime(st.start_timestamp));
  line("Completed:  " + FormatTime(st.completion_timestamp));
  line("");
  line("Expiration:  " + FormatTime(st.expiration) +
       (st.expiration ? " (" + HumanTimeFromNow(st.expiration, now) + ")" : ""));
  if (st.progress) {
    line("");
    line("Total items to be backed up:  " + std::to_string(st.progress->total_items));
    line("Items backed up:              " + std::to_string(st.progress->items_backed_up));
  }
  if (st.backup_item_operations_attempted > 0) {
    line("");
    line("Backup Item Operations:  " + std::to_string(st.backup_item_operations_completed) +
         " of " + std::to_string(st.backup_item_operations_attempted) + " completed, " +
         std::to_string(st.backup_item_operations_failed) + " failed");
  }
  if (st.volume_snapshots_attempted > 0 || st.csi_volume_snapshots_attempted > 0) {
    line("");
    line("Velero-Native Snapshots:  " + std::to_string(st.volume_snapshots_completed) + " of " +
         std::to_string(st.volume_snapshots_attempted) + " completed");
    line("CSI Snapshots:            " + std::to_string(st.csi_volume_snapshots_completed) + " of " +
         std::to_string(st.csi_volume_snapshots_attempted) + " completed");
  }
  if (st.hook_status) {
    line("");
    line("HooksAttempted:  " + std::to_string(st.hook_status->hooks_attempted));
    line("HooksFailed:     " + std::to_string(st.hook_status->hooks_failed));
  }
  return o;
}

}  // namespace

std::string DescribeBackup(const api::Backup& b, api::TimePoint now, const std::string& details) {
  const auto& st = b.status;
  std::string o;
  auto line = [&](const std::string& l) { o += l + "\n"; };
  line("Name:         " + b.metadata.name);
  line("Namespace:    " + b.metadata.namespace_);
  line("Labels:       " + FormatMap(b.metadata.labels));
  line("Annotations:  " + FormatMap(b.metadata.annotations));
  line("");
  std::string phase = BackupStatusText(b);
  if (st.phase == api::BackupPhase::kFailed || st.phase == api::BackupPhase::kPartiallyFailed) {
    phase += " (run `lifeboat backup logs " + b.metadata.name + "` for more information)";
  }
  line("Phase:  " + phase);
  if (!st.failure_reason.empty()) {
    line("");
    line("Failure reason:  " + st.failure_reason);
  }
  if (!st.validation_errors.empty()) {
    line("");
    line("Validation errors:");
    for (const auto& e : st.validation_errors) line("  " + e);
  }
  line("");
  line("Errors:    " + std::to_string(st.errors));
  line("Warnings:  " + std::to_string(st.warnings));
  line("");
  o += DescribeBackupSpec(b.spec) + "\n" + DescribeBackupStatus(st, now);
  if (!details.empty()) o += "\n" + details;
  return o;
}

}  // namespace lifeboat::cli
