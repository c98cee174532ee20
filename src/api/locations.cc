// BackupStorageLocation and VolumeSnapshotLocation codecs.

#include "lifeboat/api/backup_storage_location.h"
#include "lifeboat/api/volume_snapshot_location.h"
#include "src/api/json_codec.h"

namespace lifeboat::api {
namespace json = boost::json;
using internal::EnumName;
using internal::Reader;
using internal::Writer;

namespace {

constexpr EnumName<BackupStorageLocationPhase> kPhases[] = {
    {BackupStorageLocationPhase::kUnset, ""},
    {BackupStorageLocationPhase::kAvailable, "Available"},
    {BackupStorageLocationPhase::kUnavailable, "Unavailable"},
};

constexpr EnumName<AccessMode> kAccessModes[] = {
    {AccessMode::kUnset, ""},
    {AccessMode::kReadWrite, "ReadWrite"},
    {AccessMode::kReadOnly, "ReadOnly"},
};

Status ReadBslSpec(const Reader& r, BackupStorageLocationSpec* s) {
  LIFEBOAT_RETURN_IF_ERROR(r.Str("provider", &s->provider));
  LIFEBOAT_RETURN_IF_ERROR(r.StrMap("config", &s->config));
  LIFEBOAT_RETURN_IF_ERROR(r.SecretRef("credential", &s->credential));
  LIFEBOAT_ASSIGN_OR_RETURN(Reader os,
                            Reader::Make(r.Get("objectStorage"), r.Path("objectStorage")));
  LIFEBOAT_RETURN_IF_ERROR(os.Str("bucket", &s->object_storage.bucket));
  LIFEBOAT_RETURN_IF_ERROR(os.Str("prefix", &s->object_storage.prefix));
  LIFEBOAT_RETURN_IF_ERROR(os.Str("caCert", &s->object_storage.ca_cert));
  LIFEBOAT_RETURN_IF_ERROR(os.SecretRef("caCertRef", &s->object_storage.ca_cert_ref));
  LIFEBOAT_RETURN_IF_ERROR(r.Bool("default", &s->default_));
  LIFEBOAT_RETURN_IF_ERROR(internal::ReadEnum(r, "accessMode", kAccessModes, &s->access_mode));
  LIFEBOAT_RETURN_IF_ERROR(r.OptDur("backupSyncPeriod", &s->backup_sync_period));
  LIFEBOAT_RETURN_IF_ERROR(r.OptDur("validationFrequency", &s->validation_frequency));
  return absl::OkStatus();
}

json::value WriteBslSpec(const BackupStorageLocationSpec& s, const json::value* base) {
  Writer w(base);
  w.StrAlways("provider", s.provider);
  w.StrMap("config", s.config);
  w.SecretRef("credential", s.credential);
  Writer os(w.Base("objectStorage"));
  os.StrAlways("bucket", s.object_storage.bucket);
  os.Str("prefix", s.object_storage.prefix);
  os.Str("caCert", s.object_storage.ca_cert);
  os.SecretRef("caCertRef", s.object_storage.ca_cert_ref);
  w.Set("objectStorage", os.Take());
  w.Bool("default", s.default_);
  w.Str("accessMode", std::string(ToString(s.access_mode)));
  w.OptDur("backupSyncPeriod", s.backup_sync_period);
  w.OptDur("validationFrequency", s.validation_frequency);
  return w.Take();
}

}  // namespace

std::string_view ToString(BackupStorageLocationPhase p) {
  return internal::EnumToString(kPhases, p);
}
std::string_view ToString(AccessMode m) { return internal::EnumToString(kAccessModes, m); }

StatusOr<BackupStorageLocation> BackupStorageLocationFromJson(const json::value& v) {
  LIFEBOAT_RETURN_IF_ERROR(internal::CheckTypeMeta(v, "BackupStorageLocation"));
  const json::object& o = v.get_object();
  BackupStorageLocation l;
  if (const json::value* m = o.if_contains("metadata"); m != nullptr) {
    LIFEBOAT_ASSIGN_OR_RETURN(l.metadata, ObjectMetaFromJson(*m));
  }
  LIFEBOAT_ASSIGN_OR_RETURN(Reader spec, Reader::Make(o.if_contains("spec"), "spec"));
  LIFEBOAT_RETURN_IF_ERROR(ReadBslSpec(spec, &l.spec));
  LIFEBOAT_ASSIGN_OR_RETURN(Reader st, Reader::Make(o.if_contains("status"), "status"));
  LIFEBOAT_RETURN_IF_ERROR(internal::ReadEnum(st, "phase", kPhases, &l.status.phase));
  LIFEBOAT_RETURN_IF_ERROR(st.Time("lastSyncedTime", &l.status.last_synced_time));
  LIFEBOAT_RETURN_IF_ERROR(st.Time("lastValidationTime", &l.status.last_validation_time));
  LIFEBOAT_RETURN_IF_ERROR(st.Str("message", &l.status.message));
  LIFEBOAT_RETURN_IF_ERROR(st.Str("lastSyncedRevision", &l.status.last_synced_revision));
  LIFEBOAT_RETURN_IF_ERROR(
      internal::ReadEnum(st, "accessMode", kAccessModes, &l.status.access_mode));
  l.raw = o;
  return l;
}

json::value ToJson(const BackupStorageLocation& l) {
  json::object out = internal::WriteTop(l.raw, "BackupStorageLocation", l.metadata);
  out["spec"] = WriteBslSpec(l.spec, l.raw.if_contains("spec"));
  Writer st(l.raw.if_contains("status"));
  st.Str("phase", std::string(ToString(l.status.phase)));
  st.Time("lastSyncedTime", l.status.last_synced_time);
  st.Time("lastValidationTime", l.status.last_validation_time);
  st.Str("message", l.status.message);
  st.Str("lastSyncedRevision", l.status.last_synced_revision);
  st.Str("accessMode", std::string(ToString(l.status.access_mode)));
  out["status"] = st.Take();
  return out;
}

StatusOr<VolumeSnapshotLocation> VolumeSnapshotLocationFromJson(const json::value& v) {
  LIFEBOAT_RETURN_IF_ERROR(internal::CheckTypeMeta(v, "VolumeSnapshotLocation"));
  const json::object& o = v.get_object();
  VolumeSnapshotLocation l;
  if (const json::value* m = o.if_contains("metadata"); m != nullptr) {
    LIFEBOAT_ASSIGN_OR_RETURN(l.metadata, ObjectMetaFromJson(*m));
  }
  LIFEBOAT_ASSIGN_OR_RETURN(Reader spec, Reader::Make(o.if_contains("spec"), "spec"));
  LIFEBOAT_RETURN_IF_ERROR(spec.Str("provider", &l.spec.provider));
  LIFEBOAT_RETURN_IF_ERROR(spec.StrMap("config", &l.spec.config));
  LIFEBOAT_RETURN_IF_ERROR(spec.SecretRef("credential", &l.spec.credential));
  LIFEBOAT_ASSIGN_OR_RETURN(Reader st, Reader::Make(o.if_contains("status"), "status"));
  LIFEBOAT_RETURN_IF_ERROR(internal::ReadEnum(st, "phase", kPhases, &l.status.phase));
  l.raw = o;
  return l;
}

json::value ToJson(const VolumeSnapshotLocation& l) {
  json::object out = internal::WriteTop(l.raw, "VolumeSnapshotLocation", l.metadata);
  Writer spec(l.raw.if_contains("spec"));
  spec.StrAlways("provider", l.spec.provider);
  spec.StrMap("config", l.spec.config);
  spec.SecretRef("credential", l.spec.credential);
  out["spec"] = spec.Take();
  Writer st(l.raw.if_contains("status"));
  st.Str("phase", std::string(ToString(l.status.phase)));
  out["status"] = st.Take();
  return out;
}

}  // namespace lifeboat::api
