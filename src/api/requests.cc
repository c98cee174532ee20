// DeleteBackupRequest, DownloadRequest and ServerStatusRequest codecs.

#include "lifeboat/api/delete_backup_request.h"
#include "lifeboat/api/download_request.h"
#include "lifeboat/api/server_status_request.h"
#include "src/api/json_codec.h"

namespace lifeboat::api {
namespace json = boost::json;
using internal::EnumName;
using internal::Reader;
using internal::Writer;

namespace {

constexpr EnumName<DeleteBackupRequestPhase> kDbrPhases[] = {
    {DeleteBackupRequestPhase::kUnset, ""},
    {DeleteBackupRequestPhase::kNew, "New"},
    {DeleteBackupRequestPhase::kInProgress, "InProgress"},
    {DeleteBackupRequestPhase::kProcessed, "Processed"},
};

constexpr EnumName<DownloadTargetKind> kTargetKinds[] = {
    {DownloadTargetKind::kUnset, ""},
    {DownloadTargetKind::kBackupLog, "BackupLog"},
    {DownloadTargetKind::kBackupContents, "BackupContents"},
    {DownloadTargetKind::kBackupVolumeSnapshots, "BackupVolumeSnapshots"},
    {DownloadTargetKind::kBackupItemOperations, "BackupItemOperations"},
    {DownloadTargetKind::kBackupResourceList, "BackupResourceList"},
    {DownloadTargetKind::kBackupResults, "BackupResults"},
    {DownloadTargetKind::kRestoreLog, "RestoreLog"},
    {DownloadTargetKind::kRestoreResults, "RestoreResults"},
    {DownloadTargetKind::kRestoreResourceList, "RestoreResourceList"},
    {DownloadTargetKind::kRestoreItemOperations, "RestoreItemOperations"},
    {DownloadTargetKind::kCSIBackupVolumeSnapshots, "CSIBackupVolumeSnapshots"},
    {DownloadTargetKind::kCSIBackupVolumeSnapshotContents, "CSIBackupVolumeSnapshotContents"},
    {DownloadTargetKind::kBackupVolumeInfos, "BackupVolumeInfos"},
    {DownloadTargetKind::kRestoreVolumeInfo, "RestoreVolumeInfo"},
};

constexpr EnumName<DownloadRequestPhase> kDrPhases[] = {
    {DownloadRequestPhase::kUnset, ""},
    {DownloadRequestPhase::kNew, "New"},
    {DownloadRequestPhase::kProcessed, "Processed"},
    {DownloadRequestPhase::kFailed, "Failed"},
};

constexpr EnumName<ServerStatusRequestPhase> kSsrPhases[] = {
    {ServerStatusRequestPhase::kUnset, ""},
    {ServerStatusRequestPhase::kNew, "New"},
    {ServerStatusRequestPhase::kProcessed, "Processed"},
};

template <typename T>
Status ReadMeta(const json::object& o, T* out) {
  if (const json::value* m = o.if_contains("metadata"); m != nullptr) {
    LIFEBOAT_ASSIGN_OR_RETURN(out->metadata, ObjectMetaFromJson(*m));
  }
  return absl::OkStatus();
}

}  // namespace

std::string_view ToString(DeleteBackupRequestPhase p) {
  return internal::EnumToString(kDbrPhases, p);
}
std::string_view ToString(DownloadTargetKind k) { return internal::EnumToString(kTargetKinds, k); }
std::optional<DownloadTargetKind> ParseDownloadTargetKind(std::string_view s) {
  return internal::EnumFromString(kTargetKinds, s);
}
std::string_view ToString(DownloadRequestPhase p) { return internal::EnumToString(kDrPhases, p); }
std::string_view ToString(ServerStatusRequestPhase p) {
  return internal::EnumToString(kSsrPhases, p);
}

StatusOr<DeleteBackupRequest> DeleteBackupRequestFromJson(const json::value& v) {
  LIFEBOAT_RETURN_IF_ERROR(internal::CheckTypeMeta(v, "DeleteBackupRequest"));
  const json::object& o = v.get_object();
  DeleteBackupRequest r;
  LIFEBOAT_RETURN_IF_ERROR(ReadMeta(o, &r));
  LIFEBOAT_ASSIGN_OR_RETURN(Reader spec, Reader::Make(o.if_contains("spec"), "spec"));
  LIFEBOAT_RETURN_IF_ERROR(spec.Str("backupName", &r.spec.backup_name));
  LIFEBOAT_ASSIGN_OR_RETURN(Reader st, Reader::Make(o.if_contains("status"), "status"));
  LIFEBOAT_RETURN_IF_ERROR(internal::ReadEnum(st, "phase", kDbrPhases, &r.status.phase));
  LIFEBOAT_RETURN_IF_ERROR(st.StrList("errors", &r.status.errors));
  r.raw = o;
  return r;
}

json::value ToJson(const DeleteBackupRequest& r) {
  json::object out = internal::WriteTop(r.raw, "DeleteBackupRequest", r.metadata);
  Writer spec(r.raw.if_contains("spec"));
  spec.StrAlways("backupName", r.spec.backup_name);
  out["spec"] = spec.Take();
  Writer st(r.raw.if_contains("status"));
  st.Str("phase", std::string(ToString(r.status.phase)));
  st.StrList("errors", r.status.errors);
  out["status"] = st.Take();
  return out;
}

StatusOr<DownloadRequest> DownloadRequestFromJson(const json::value& v) {
  LIFEBOAT_RETURN_IF_ERROR(internal::CheckTypeMeta(v, "DownloadRequest"));
  const json::object& o = v.get_object();
  DownloadRequest r;
  LIFEBOAT_RETURN_IF_ERROR(ReadMeta(o, &r));
  LIFEBOAT_ASSIGN_OR_RETURN(Reader spec, Reader::Make(o.if_contains("spec"), "spec"));
  LIFEBOAT_ASSIGN_OR_RETURN(Reader target, Reader::Make(spec.Get("target"), "spec.target"));
  LIFEBOAT_RETURN_IF_ERROR(internal::ReadEnum(target, "kind", kTargetKinds, &r.spec.target_kind));
  LIFEBOAT_RETURN_IF_ERROR(target.Str("name", &r.spec.target_name));
  LIFEBOAT_ASSIGN_OR_RETURN(Reader st, Reader::Make(o.if_contains("status"), "status"));
  LIFEBOAT_RETURN_IF_ERROR(internal::ReadEnum(st, "phase", kDrPhases, &r.status.phase));
  LIFEBOAT_RETURN_IF_ERROR(st.Str("downloadURL", &r.status.download_url));
  LIFEBOAT_RETURN_IF_ERROR(st.Time("expiration", &r.status.expiration));
  LIFEBOAT_RETURN_IF_ERROR(st.Str("message", &r.status.message));
  r.raw = o;
  return r;
}

json::value ToJson(const DownloadRequest& r) {
  json::object out = internal::WriteTop(r.raw, "DownloadRequest", r.metadata);
  Writer spec(r.raw.if_contains("spec"));
  Writer target(spec.Base("target"));
  target.StrAlways("kind", std::string(ToString(r.spec.target_kind)));
  target.StrAlways("name", r.spec.target_name);
  spec.Set("target", target.Take());
  out["spec"] = spec.Take();
  Writer st(r.raw.if_contains("status"));
  st.Str("phase", std::string(ToString(r.status.phase)));
  st.Str("downloadURL", r.status.download_url);
  st.Time("expiration", r.status.expiration);
  st.Str("message", r.status.message);
  out["status"] = st.Take();
  return out;
}

StatusOr<ServerStatusRequest> ServerStatusRequestFromJson(const json::value& v) {
  LIFEBOAT_RETURN_IF_ERROR(internal::CheckTypeMeta(v, "ServerStatusRequest"));
  const json::object& o = v.get_object();
  ServerStatusRequest r;
  LIFEBOAT_RETURN_IF_ERROR(ReadMeta(o, &r));
  LIFEBOAT_ASSIGN_OR_RETURN(Reader st, Reader::Make(o.if_contains("status"), "status"));
  LIFEBOAT_RETURN_IF_ERROR(internal::ReadEnum(st, "phase", kSsrPhases, &r.status.phase));
  LIFEBOAT_RETURN_IF_ERROR(st.Time("processedTimestamp", &r.status.processed_timestamp));
  LIFEBOAT_RETURN_IF_ERROR(st.Str("serverVersion", &r.status.server_version));
  std::vector<Reader> plugins;
  LIFEBOAT_RETURN_IF_ERROR(st.Objects("plugins", &plugins));
  for (const Reader& p : plugins) {
    PluginInfo info;
    LIFEBOAT_RETURN_IF_ERROR(p.Str("name", &info.name));
    LIFEBOAT_RETURN_IF_ERROR(p.Str("kind", &info.kind));
    r.status.plugins.push_back(std::move(info));
  }
  r.raw = o;
  return r;
}

json::value ToJson(const ServerStatusRequest& r) {
  json::object out = internal::WriteTop(r.raw, "ServerStatusRequest", r.metadata);
  Writer spec(r.raw.if_contains("spec"));
  out["spec"] = spec.Take();
  Writer st(r.raw.if_contains("status"));
  st.Str("phase", std::string(ToString(r.status.phase)));
  st.Time("processedTimestamp", r.status.processed_timestamp);
  st.Str("serverVersion", r.status.server_version);
  if (r.status.plugins.empty()) {
    st.Erase("plugins");
  } else {
    json::array a;
    for (const auto& p : r.status.plugins) {
      a.push_back(json::object{{"name", p.name}, {"kind", p.kind}});
    }
    st.Set("plugins", std::move(a));
  }
  out["status"] = st.Take();
  return out;
}

}  // namespace lifeboat::api
