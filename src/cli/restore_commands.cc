// Restore objects from flags, their table and describe text (restore_commands.h).

#include "src/cli/restore_commands.h"

#include <algorithm>

#include "lifeboat/api/duration.h"
#include "src/cli/backup_commands.h"
#include "src/cli/output.h"

namespace lifeboat::cli {
namespace {

std::optional<bool> OptionalBool(const std::string& v) {
  if (v.empty()) return std::nullopt;
  return v == "true";
}

std::string OptBool(const std::optional<bool>& b, const char* unset) {
  return b ? (*b ? "true" : "false") : unset;
}

}  // namespace

StatusOr<api::Restore> BuildRestore(const RestoreCreateFlags& f, const std::string& ns,
                                    api::TimePoint now) {
  if (f.from_backup.empty() == f.from_schedule.empty()) {
    return absl::InvalidArgumentError(
        "either a backup or schedule must be specified, but not both: use --from-backup NAME or "
        "--from-schedule NAME");
  }
  if (!f.selector.empty() && !f.or_selector.empty()) {
    return absl::InvalidArgumentError(
        "either a 'selector' or an 'or-selector' can be specified, but not both");
  }
  api::Restore r;
  r.metadata.namespace_ = ns;
  r.metadata.name =
      f.name.empty() ? TimestampedName(f.from_backup.empty() ? f.from_schedule : f.from_backup, now)
                     : f.name;
  auto& s = r.spec;
  s.backup_name = f.from_backup;
  s.schedule_name = f.from_schedule;
  s.included_namespaces = f.include_namespaces;
  s.excluded_namespaces = f.exclude_namespaces;
  s.included_resources = f.include_resources;
  s.excluded_resources = f.exclude_resources;
  s.include_cluster_resources = OptionalBool(f.include_cluster_resources);
  s.restore_pvs = OptionalBool(f.restore_volumes);
  s.preserve_node_ports = OptionalBool(f.preserve_nodeports);
  LIFEBOAT_ASSIGN_OR_RETURN(s.namespace_mapping,
                            ParseKeyValues(f.namespace_mappings, "--namespace-mappings", ':'));
  if (!f.existing_resource_policy.empty() && f.existing_resource_policy != "none" &&
      f.existing_resource_policy != "update") {
    return absl::InvalidArgumentError("invalid argument \"" + f.existing_resource_policy +
                                      "\" for \"--existing-resource-policy\" flag: valid values "
                                      "are none, update");
  }
  s.existing_resource_policy = f.existing_resource_policy;
  if (!f.status_include_resources.empty() || !f.status_exclude_resources.empty()) {
    s.restore_status =
        api::RestoreStatusSpec{f.status_include_resources, f.status_exclude_resources};
  }
  if (!f.resource_modifier_configmap.empty()) {
    s.resource_modifier =
        api::TypedLocalObjectReference{std::nullopt, "ConfigMap", f.resource_modifier_configmap};
  }
  // The backup flags' parser handles selectors and durations with the same messages.
  BackupTemplateFlags sel;
  sel.selector = f.selector;
  sel.or_selector = f.or_selector;
  sel.item_operation_timeout = f.item_operation_timeout;
  LIFEBOAT_ASSIGN_OR_RETURN(auto parsed, BuildBackupSpec(sel));
  s.label_selector = parsed.label_selector;
  s.or_label_selectors = parsed.or_label_selectors;
  s.item_operation_timeout = parsed.item_operation_timeout;
  LIFEBOAT_ASSIGN_OR_RETURN(r.metadata.labels, ParseKeyValues(f.labels, "--labels"));
  LIFEBOAT_ASSIGN_OR_RETURN(r.metadata.annotations, ParseKeyValues(f.annotations, "--annotations"));
  return r;
}

std::string RestoreStatusText(const api::Restore& r) {
  if (r.status.phase == api::RestorePhase::kUnset) return "New";
  return std::string(api::ToString(r.status.phase));
}

std::string RestoreTable(std::vector<api::Restore> restores) {
  std::sort(restores.begin(), restores.end(), [](const api::Restore& a, const api::Restore& b) {
    return a.metadata.name < b.metadata.name;
  });
  std::vector<Row> rows;
  for (const auto& r : restores) {
    rows.push_back({r.metadata.name, r.spec.backup_name, RestoreStatusText(r),
                    FormatTime(r.status.start_timestamp), FormatTime(r.status.completion_timestamp),
                    std::to_string(r.status.errors), std::to_string(r.status.warnings),
                    FormatTime(r.metadata.creation_timestamp),
                    FormatSelector(r.spec.label_selector)});
  }
  return FormatTable({"NAME", "BACKUP", "STATUS", "STARTED", "COMPLETED", "ERRORS", "WARNINGS",
                      "CREATED", "SELECTOR"},
                     rows);
}

namespace {

// The spec part of `restore describe`: backup, filters, mappings, policies.
std::string DescribeRestoreSpec(const api::RestoreSpec& s) {
  std::string o;
  auto line = [&](const std::string& l) { o += l + "\n"; };
  line("Backup:  " + s.backup_name);
  if (!s.schedule_name.empty()) line("Schedule:  " + s.schedule_name);
  line("");
  line("Namespaces:");
  line("  Included:  " + JoinOr(s.included_namespaces, "all namespaces found in the backup"));
  line("  Excluded:  " + JoinOr(s.excluded_namespaces, "<none>"));
  line("");
  line("Resources:");
  line("  Included:        " + JoinOr(s.included_resources, "*"));
  line("  Excluded:        " + JoinOr(s.excluded_resources,
                                      "nodes, events, events.events.k8s.io, "
                                      "backups.velero.io, restores.velero.io, "
                                      "resticrepositories.velero.io"));
  line("  Cluster-scoped:  " + OptBool(s.include_cluster_resources, "auto"));
  line("");
  std::vector<std::string> mappings;
  for (const auto& [k, v] : s.namespace_mapping) mappings.push_back(k + "=" + v);
  line("Namespace mappings:  " + JoinOr(mappings, "<none>"));
  line("");
  line("Label selector:  " + FormatSelector(s.label_selector));
  line("");
  line("Restore PVs:  " + OptBool(s.restore_pvs, "auto"));
  line("");
  line("Existing Resource Policy:   " +
       (s.existing_resource_policy.empty() ? std::string("<none>") : s.existing_resource_policy));
  line("ItemOperationTimeout:       " + api::FormatGoDuration(s.item_operation_timeout));
  line("");
  line("Preserve Service NodePorts:  " + OptBool(s.preserve_node_ports, "auto"));
  if (s.restore_status) {
    line("");
    line("Restore status:");
    line("  Included:  " + JoinOr(s.restore_status->included_resources, "<none>"));
    line("  Excluded:  " + JoinOr(s.restore_status->excluded_resources, "<none>"));
  }
  if (s.resource_modifier) {
    line("");
    line("Resource modifier:  " + s.resource_modifier->kind + "/" + s.resource_modifier->name);
  }
  return o;
}

}  // namespace

std::string DescribeRestore(const api::Restore& r, const std::string& details) {
  const auto& s = r.spec;
  const auto& st = r.status;
  std::string o;
  auto line = [&](const std::string& l) { o += l + "\n"; };
  line("Name:         " + r.metadata.name);
  line("Namespace:    " + r.metadata.namespace_);
  line("Labels:       " + FormatMap(r.metadata.labels));
  line("Annotations:  " + FormatMap(r.metadata.annotations));
  line("");
  std::string phase = RestoreStatusText(r);
  if (st.phase == api::RestorePhase::kFailed || st.phase == api::RestorePhase::kPartiallyFailed) {
    phase += " (run `lifeboat restore logs " + r.metadata.name + "` for more information)";
  }
  line("Phase:                       " + phase);
  if (st.progress) {
    line("Total items to be restored:  " + std::to_string(st.progress->total_items));
    line("Items restored:              " + std::to_string(st.progress->items_restored));
  }
  line("");
  line("Started:    " + FormatTime(st.start_timestamp));
  line("Completed:  " + FormatTime(st.completion_timestamp));
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
  o += DescribeRestoreSpec(s);
  if (!details.empty()) o += "\n" + details;
  return o;
}

}  // namespace lifeboat::cli
