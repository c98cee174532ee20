#include "lifeboat/api/backup.h"

#include "src/api/json_codec.h"

namespace lifeboat::api {
namespace json = boost::json;
using internal::EnumName;
using internal::Reader;
using internal::Writer;

namespace {

constexpr EnumName<BackupPhase> kPhases[] = {
    {BackupPhase::kUnset, ""},
    {BackupPhase::kNew, "New"},
    {BackupPhase::kQueued, "Queued"},
    {BackupPhase::kReadyToStart, "ReadyToStart"},
    {BackupPhase::kFailedValidation, "FailedValidation"},
    {BackupPhase::kInProgress, "InProgress"},
    {BackupPhase::kWaitingForPluginOperations, "WaitingForPluginOperations"},
    {BackupPhase::kWaitingForPluginOperationsPartiallyFailed,
     "WaitingForPluginOperationsPartiallyFailed"},
    {BackupPhase::kFinalizing, "Finalizing"},
    {BackupPhase::kFinalizingPartiallyFailed, "FinalizingPartiallyFailed"},
    {BackupPhase::kCompleted, "Completed"},
    {BackupPhase::kPartiallyFailed, "PartiallyFailed"},
    {BackupPhase::kFailed, "Failed"},
    {BackupPhase::kDeleting, "Deleting"},
};

constexpr EnumName<HookErrorMode> kHookModes[] = {
    {HookErrorMode::kUnset, ""},
    {HookErrorMode::kContinue, "Continue"},
    {HookErrorMode::kFail, "Fail"},
};

StatusOr<ExecHook> ReadExecHook(const Reader& r) {
  ExecHook h;
  LIFEBOAT_RETURN_IF_ERROR(r.Str("container", &h.container));
  LIFEBOAT_RETURN_IF_ERROR(r.StrList("command", &h.command));
  LIFEBOAT_RETURN_IF_ERROR(internal::ReadEnum(r, "onError", kHookModes, &h.on_error));
  LIFEBOAT_RETURN_IF_ERROR(r.Dur("timeout", &h.timeout));
  return h;
}

Status ReadHookList(const Reader& r, std::string_view key, std::vector<BackupResourceHook>* out) {
  std::vector<Reader> items;
  LIFEBOAT_RETURN_IF_ERROR(r.Objects(key, &items));
  for (const Reader& item : items) {
    BackupResourceHook hook;
    if (item.Get("exec") != nullptr) {
      LIFEBOAT_ASSIGN_OR_RETURN(Reader e, Reader::Make(item.Get("exec"), item.Path("exec")));
      LIFEBOAT_ASSIGN_OR_RETURN(hook.exec, ReadExecHook(e));
    }
    out->push_back(std::move(hook));
  }
  return absl::OkStatus();
}

Status ReadHooks(const Reader& spec, BackupHooks* hooks) {
  LIFEBOAT_ASSIGN_OR_RETURN(Reader h, Reader::Make(spec.Get("hooks"), spec.Path("hooks")));
  std::vector<Reader> items;
  LIFEBOAT_RETURN_IF_ERROR(h.Objects("resources", &items));
  for (const Reader& r : items) {
    BackupResourceHookSpec s;
    LIFEBOAT_RETURN_IF_ERROR(r.Str("name", &s.name));
    LIFEBOAT_RETURN_IF_ERROR(r.StrList("includedNamespaces", &s.included_namespaces));
    LIFEBOAT_RETURN_IF_ERROR(r.StrList("excludedNamespaces", &s.excluded_namespaces));
    LIFEBOAT_RETURN_IF_ERROR(r.StrList("includedResources", &s.included_resources));
    LIFEBOAT_RETURN_IF_ERROR(r.StrList("excludedResources", &s.excluded_resources));
    LIFEBOAT_RETURN_IF_ERROR(r.Selector("labelSelector", &s.label_selector));
    LIFEBOAT_RETURN_IF_ERROR(ReadHookList(r, "pre", &s.pre));
    LIFEBOAT_RETURN_IF_ERROR(ReadHookList(r, "post", &s.post));
    hooks->resources.push_back(std::move(s));
  }
  return absl::OkStatus();
}

json::value WriteExecHook(const ExecHook& h, const json::value* base) {
  Writer w(base);
  w.Str("container", h.container);
  json::array cmd;
  for (const auto& c : h.command) cmd.emplace_back(json::string(c));
  w.Set("command", std::move(cmd));  // no omitempty in Velero's type
  w.Str("onError", std::string(ToString(h.on_error)));
  w.Dur("timeout", h.timeout);
  return w.Take();
}

void WriteHookList(Writer& w, std::string_view key, const std::vector<BackupResourceHook>& hooks) {
  if (hooks.empty()) return w.Erase(key);
  const json::value* base = w.Base(key);
  json::array a;
  for (size_t i = 0; i < hooks.size(); ++i) {
    Writer hw(Writer::BaseElement(base, i));
    if (hooks[i].exec) {
      hw.Set("exec", WriteExecHook(*hooks[i].exec, hw.Base("exec")));
    } else {
      hw.Set("exec", nullptr);  // Go: *ExecHook without omitempty
    }
    a.push_back(hw.Take());
  }
  w.Set(key, std::move(a));
}

json::value WriteHooks(const BackupHooks& hooks, const json::value* base) {
  Writer w(base);
  if (hooks.resources.empty()) {
    w.Erase("resources");
    return w.Take();
  }
  const json::value* base_list = w.Base("resources");
  json::array a;
  for (size_t i = 0; i < hooks.resources.size(); ++i) {
    const BackupResourceHookSpec& s = hooks.resources[i];
    Writer hw(Writer::BaseElement(base_list, i));
    hw.StrAlways("name", s.name);
    hw.StrList("includedNamespaces", s.included_namespaces);
    hw.StrList("excludedNamespaces", s.excluded_namespaces);
    hw.StrList("includedResources", s.included_resources);
    hw.StrList("excludedResources", s.excluded_resources);
    hw.Selector("labelSelector", s.label_selector);
    WriteHookList(hw, "pre", s.pre);
    WriteHookList(hw, "post", s.post);
    a.push_back(hw.Take());
  }
  w.Set("resources", std::move(a));
  return w.Take();
}

Status ReadStatus(const Reader& r, BackupStatus* s) {
  LIFEBOAT_RETURN_IF_ERROR(r.Int("version", &s->version));
  LIFEBOAT_RETURN_IF_ERROR(r.Str("formatVersion", &s->format_version));
  LIFEBOAT_RETURN_IF_ERROR(r.Time("expiration", &s->expiration));
  LIFEBOAT_RETURN_IF_ERROR(internal::ReadEnum(r, "phase", kPhases, &s->phase));
  LIFEBOAT_RETURN_IF_ERROR(r.Int("queuePosition", &s->queue_position));
  LIFEBOAT_RETURN_IF_ERROR(r.StrList("validationErrors", &s->validation_errors));
  LIFEBOAT_RETURN_IF_ERROR(r.Time("startTimestamp", &s->start_timestamp));
  LIFEBOAT_RETURN_IF_ERROR(r.Time("completionTimestamp", &s->completion_timestamp));
  LIFEBOAT_RETURN_IF_ERROR(r.Int("volumeSnapshotsAttempted", &s->volume_snapshots_attempted));
  LIFEBOAT_RETURN_IF_ERROR(r.Int("volumeSnapshotsCompleted", &s->volume_snapshots_completed));
  LIFEBOAT_RETURN_IF_ERROR(r.Str("failureReason", &s->failure_reason));
  LIFEBOAT_RETURN_IF_ERROR(r.Int("warnings", &s->warnings));
  LIFEBOAT_RETURN_IF_ERROR(r.Int("errors", &s->errors));
  if (r.Get("progress") != nullptr) {
    LIFEBOAT_ASSIGN_OR_RETURN(Reader p, Reader::Make(r.Get("progress"), r.Path("progress")));
    BackupProgress prog;
    LIFEBOAT_RETURN_IF_ERROR(p.Int("totalItems", &prog.total_items));
    LIFEBOAT_RETURN_IF_ERROR(p.Int("itemsBackedUp", &prog.items_backed_up));
    s->progress = prog;
  }
  LIFEBOAT_RETURN_IF_ERROR(
      r.Int("csiVolumeSnapshotsAttempted", &s->csi_volume_snapshots_attempted));
  LIFEBOAT_RETURN_IF_ERROR(
      r.Int("csiVolumeSnapshotsCompleted", &s->csi_volume_snapshots_completed));
  LIFEBOAT_RETURN_IF_ERROR(
      r.Int("backupItemOperationsAttempted", &s->backup_item_operations_attempted));
  LIFEBOAT_RETURN_IF_ERROR(
      r.Int("backupItemOperationsCompleted", &s->backup_item_operations_completed));
  LIFEBOAT_RETURN_IF_ERROR(r.Int("backupItemOperationsFailed", &s->backup_item_operations_failed));
  if (r.Get("hookStatus") != nullptr) {
    LIFEBOAT_ASSIGN_OR_RETURN(Reader h, Reader::Make(r.Get("hookStatus"), r.Path("hookStatus")));
    HookStatus hs;
    LIFEBOAT_RETURN_IF_ERROR(h.Int("hooksAttempted", &hs.hooks_attempted));
    LIFEBOAT_RETURN_IF_ERROR(h.Int("hooksFailed", &hs.hooks_failed));
    s->hook_status = hs;
  }
  return absl::OkStatus();
}

json::value WriteStatus(const BackupStatus& s, const json::value* base) {
  Writer w(base);
  w.Int("version", s.version);
  w.Str("formatVersion", s.format_version);
  w.Time("expiration", s.expiration);
  w.Str("phase", std::string(ToString(s.phase)));
  w.Int("queuePosition", s.queue_position);
  w.StrList("validationErrors", s.validation_errors);
  w.Time("startTimestamp", s.start_timestamp);
  w.Time("completionTimestamp", s.completion_timestamp);
  w.Int("volumeSnapshotsAttempted", s.volume_snapshots_attempted);
  w.Int("volumeSnapshotsCompleted", s.volume_snapshots_completed);
  w.Str("failureReason", s.failure_reason);
  w.Int("warnings", s.warnings);
  w.Int("errors", s.errors);
  if (s.progress) {
    Writer p(w.Base("progress"));
    p.Int("totalItems", s.progress->total_items);
    p.Int("itemsBackedUp", s.progress->items_backed_up);
    w.Set("progress", p.Take());
  } else {
    w.Erase("progress");
  }
  w.Int("csiVolumeSnapshotsAttempted", s.csi_volume_snapshots_attempted);
  w.Int("csiVolumeSnapshotsCompleted", s.csi_volume_snapshots_completed);
  w.Int("backupItemOperationsAttempted", s.backup_item_operations_attempted);
  w.Int("backupItemOperationsCompleted", s.backup_item_operations_completed);
  w.Int("backupItemOperationsFailed", s.backup_item_operations_failed);
  if (s.hook_status) {
    Writer h(w.Base("hookStatus"));
    h.Int("hooksAttempted", s.hook_status->hooks_attempted);
    h.Int("hooksFailed", s.hook_status->hooks_failed);
    w.Set("hookStatus", h.Take());
  } else {
    w.Erase("hookStatus");
  }
  return w.Take();
}

}  // namespace

std::string_view ToString(BackupPhase p) { return internal::EnumToString(kPhases, p); }
std::optional<BackupPhase> ParseBackupPhase(std::string_view s) {
  return internal::EnumFromString(kPhases, s);
}
std::string_view ToString(HookErrorMode m) { return internal::EnumToString(kHookModes, m); }
std::optional<HookErrorMode> ParseHookErrorMode(std::string_view s) {
  return internal::EnumFromString(kHookModes, s);
}

StatusOr<BackupSpec> BackupSpecFromJson(const json::value& v, std::string path) {
  LIFEBOAT_ASSIGN_OR_RETURN(Reader r, Reader::Make(&v, std::move(path)));
  BackupSpec s;
  LIFEBOAT_ASSIGN_OR_RETURN(Reader m, Reader::Make(r.Get("metadata"), r.Path("metadata")));
  LIFEBOAT_RETURN_IF_ERROR(m.StrMap("labels", &s.metadata.labels));
  LIFEBOAT_RETURN_IF_ERROR(m.StrMap("annotations", &s.metadata.annotations));
  LIFEBOAT_RETURN_IF_ERROR(r.StrList("includedNamespaces", &s.included_namespaces));
  LIFEBOAT_RETURN_IF_ERROR(r.StrList("excludedNamespaces", &s.excluded_namespaces));
  LIFEBOAT_RETURN_IF_ERROR(r.StrList("includedResources", &s.included_resources));
  LIFEBOAT_RETURN_IF_ERROR(r.StrList("excludedResources", &s.excluded_resources));
  LIFEBOAT_RETURN_IF_ERROR(r.OptBool("includeClusterResources", &s.include_cluster_resources));
  LIFEBOAT_RETURN_IF_ERROR(
      r.StrList("includedClusterScopedResources", &s.included_cluster_scoped_resources));
  LIFEBOAT_RETURN_IF_ERROR(
      r.StrList("excludedClusterScopedResources", &s.excluded_cluster_scoped_resources));
  LIFEBOAT_RETURN_IF_ERROR(
      r.StrList("includedNamespaceScopedResources", &s.included_namespace_scoped_resources));
  LIFEBOAT_RETURN_IF_ERROR(
      r.StrList("excludedNamespaceScopedResources", &s.excluded_namespace_scoped_resources));
  LIFEBOAT_RETURN_IF_ERROR(r.Selector("labelSelector", &s.label_selector));
  LIFEBOAT_RETURN_IF_ERROR(r.SelectorList("orLabelSelectors", &s.or_label_selectors));
  LIFEBOAT_RETURN_IF_ERROR(r.OptBool("snapshotVolumes", &s.snapshot_volumes));
  LIFEBOAT_RETURN_IF_ERROR(r.Dur("ttl", &s.ttl));
  LIFEBOAT_RETURN_IF_ERROR(ReadHooks(r, &s.hooks));
  LIFEBOAT_RETURN_IF_ERROR(r.Str("storageLocation", &s.storage_location));
  LIFEBOAT_RETURN_IF_ERROR(r.StrList("volumeSnapshotLocations", &s.volume_snapshot_locations));
  LIFEBOAT_RETURN_IF_ERROR(r.OptBool("defaultVolumesToRestic", &s.default_volumes_to_restic));
  LIFEBOAT_RETURN_IF_ERROR(
      r.OptBool("defaultVolumesToFsBackup", &s.default_volumes_to_fs_backup));
  LIFEBOAT_RETURN_IF_ERROR(r.StrMap("orderedResources", &s.ordered_resources));
  LIFEBOAT_RETURN_IF_ERROR(r.Dur("csiSnapshotTimeout", &s.csi_snapshot_timeout));
  LIFEBOAT_RETURN_IF_ERROR(r.Dur("itemOperationTimeout", &s.item_operation_timeout));
  LIFEBOAT_RETURN_IF_ERROR(r.LocalRef("resourcePolicy", &s.resource_policy));
  LIFEBOAT_RETURN_IF_ERROR(r.OptBool("snapshotMoveData", &s.snapshot_move_data));
  LIFEBOAT_RETURN_IF_ERROR(r.Str("datamover", &s.datamover));
  if (r.Get("uploaderConfig") != nullptr) {
    LIFEBOAT_ASSIGN_OR_RETURN(Reader u,
                              Reader::Make(r.Get("uploaderConfig"), r.Path("uploaderConfig")));
    UploaderConfigForBackup uc;
    LIFEBOAT_RETURN_IF_ERROR(u.Int("parallelFilesUpload", &uc.parallel_files_upload));
    s.uploader_config = uc;
  }
  LIFEBOAT_RETURN_IF_ERROR(
      r.Str("volumeGroupSnapshotLabelKey", &s.volume_group_snapshot_label_key));
  LIFEBOAT_RETURN_IF_ERROR(r.Str("backupType", &s.backup_type));
  return s;
}

json::value ToJson(const BackupSpec& s, const json::value* base) {
  Writer w(base);
  {
    Writer m(w.Base("metadata"));
    m.StrMap("labels", s.metadata.labels);
    m.StrMap("annotations", s.metadata.annotations);
    w.Set("metadata", m.Take());  // embedded struct: always present
  }
  w.StrList("includedNamespaces", s.included_namespaces);
  w.StrList("excludedNamespaces", s.excluded_namespaces);
  w.StrList("includedResources", s.included_resources);
  w.StrList("excludedResources", s.excluded_resources);
  w.OptBool("includeClusterResources", s.include_cluster_resources);
  w.StrList("includedClusterScopedResources", s.included_cluster_scoped_resources);
  w.StrList("excludedClusterScopedResources", s.excluded_cluster_scoped_resources);
  w.StrList("includedNamespaceScopedResources", s.included_namespace_scoped_resources);
  w.StrList("excludedNamespaceScopedResources", s.excluded_namespace_scoped_resources);
  w.Selector("labelSelector", s.label_selector);
  w.SelectorList("orLabelSelectors", s.or_label_selectors);
  w.OptBool("snapshotVolumes", s.snapshot_volumes);
  w.Dur("ttl", s.ttl);
  w.Set("hooks", WriteHooks(s.hooks, w.Base("hooks")));
  w.Str("storageLocation", s.storage_location);
  w.StrList("volumeSnapshotLocations", s.volume_snapshot_locations);
  w.OptBool("defaultVolumesToRestic", s.default_volumes_to_restic);
  w.OptBool("defaultVolumesToFsBackup", s.default_volumes_to_fs_backup);
  w.StrMap("orderedResources", s.ordered_resources);
  w.Dur("csiSnapshotTimeout", s.csi_snapshot_timeout);
  w.Dur("itemOperationTimeout", s.item_operation_timeout);
  w.LocalRef("resourcePolicy", s.resource_policy);
  w.OptBool("snapshotMoveData", s.snapshot_move_data);
  w.Str("datamover", s.datamover);
  if (s.uploader_config) {
    Writer u(w.Base("uploaderConfig"));
    u.Int("parallelFilesUpload", s.uploader_config->parallel_files_upload);
    w.Set("uploaderConfig", u.Take());
  } else {
    w.Erase("uploaderConfig");
  }
  w.Str("volumeGroupSnapshotLabelKey", s.volume_group_snapshot_label_key);
  w.Str("backupType", s.backup_type);
  return w.Take();
}

StatusOr<Backup> BackupFromJson(const json::value& v) {
  LIFEBOAT_RETURN_IF_ERROR(internal::CheckTypeMeta(v, "Backup"));
  const json::object& o = v.get_object();
  Backup b;
  if (const json::value* m = o.if_contains("metadata"); m != nullptr) {
    LIFEBOAT_ASSIGN_OR_RETURN(b.metadata, ObjectMetaFromJson(*m));
  }
  const json::value* spec = o.if_contains("spec");
  LIFEBOAT_ASSIGN_OR_RETURN(b.spec, BackupSpecFromJson(spec ? *spec : json::value(), "spec"));
  LIFEBOAT_ASSIGN_OR_RETURN(Reader st, Reader::Make(o.if_contains("status"), "status"));
  LIFEBOAT_RETURN_IF_ERROR(ReadStatus(st, &b.status));
  b.raw = o;
  return b;
}

json::value ToJson(const Backup& b) {
  json::object out = internal::WriteTop(b.raw, "Backup", b.metadata);
  out["spec"] = ToJson(b.spec, b.raw.if_contains("spec"));
  out["status"] = WriteStatus(b.status, b.raw.if_contains("status"));
  return out;
}

}  // namespace lifeboat::api
