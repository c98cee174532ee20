#include "lifeboat/api/schedule.h"

#include "src/api/json_codec.h"

namespace lifeboat::api {
namespace json = boost::json;
using internal::EnumName;
using internal::Reader;
using internal::Writer;

namespace {
constexpr EnumName<SchedulePhase> kPhases[] = {
    {SchedulePhase::kUnset, ""},
    {SchedulePhase::kNew, "New"},
    {SchedulePhase::kEnabled, "Enabled"},
    {SchedulePhase::kFailedValidation, "FailedValidation"},
};
}  // namespace

std::string_view ToString(SchedulePhase p) { return internal::EnumToString(kPhases, p); }
std::optional<SchedulePhase> ParseSchedulePhase(std::string_view s) {
  return internal::EnumFromString(kPhases, s);
}

StatusOr<Schedule> ScheduleFromJson(const json::value& v) {
  LIFEBOAT_RETURN_IF_ERROR(internal::CheckTypeMeta(v, "Schedule"));
  const json::object& o = v.get_object();
  Schedule s;
  if (const json::value* m = o.if_contains("metadata"); m != nullptr) {
    LIFEBOAT_ASSIGN_OR_RETURN(s.metadata, ObjectMetaFromJson(*m));
  }
  LIFEBOAT_ASSIGN_OR_RETURN(Reader spec, Reader::Make(o.if_contains("spec"), "spec"));
  const json::value* tmpl = spec.Get("template");
  LIFEBOAT_ASSIGN_OR_RETURN(s.spec.template_,
                            BackupSpecFromJson(tmpl ? *tmpl : json::value(), "spec.template"));
  LIFEBOAT_RETURN_IF_ERROR(spec.Str("schedule", &s.spec.schedule));
  LIFEBOAT_RETURN_IF_ERROR(
      spec.OptBool("useOwnerReferencesInBackup", &s.spec.use_owner_references_in_backup));
  LIFEBOAT_RETURN_IF_ERROR(spec.Bool("paused", &s.spec.paused));
  LIFEBOAT_RETURN_IF_ERROR(spec.OptBool("skipImmediately", &s.spec.skip_immediately));
  LIFEBOAT_ASSIGN_OR_RETURN(Reader st, Reader::Make(o.if_contains("status"), "status"));
  LIFEBOAT_RETURN_IF_ERROR(internal::ReadEnum(st, "phase", kPhases, &s.status.phase));
  LIFEBOAT_RETURN_IF_ERROR(st.Time("lastBackup", &s.status.last_backup));
  LIFEBOAT_RETURN_IF_ERROR(st.Time("lastSkipped", &s.status.last_skipped));
  LIFEBOAT_RETURN_IF_ERROR(st.StrList("validationErrors", &s.status.validation_errors));
  s.raw = o;
  return s;
}

json::value ToJson(const Schedule& s) {
  json::object out = internal::WriteTop(s.raw, "Schedule", s.metadata);
  Writer spec(s.raw.if_contains("spec"));
  spec.Set("template", ToJson(s.spec.template_, spec.Base("template")));
  spec.StrAlways("schedule", s.spec.schedule);
  spec.OptBool("useOwnerReferencesInBackup", s.spec.use_owner_references_in_backup);
  spec.Bool("paused", s.spec.paused);
  spec.OptBool("skipImmediately", s.spec.skip_immediately);
  out["spec"] = spec.Take();
  Writer st(s.raw.if_contains("status"));
  st.Str("phase", std::string(ToString(s.status.phase)));
  st.Time("lastBackup", s.status.last_backup);
  st.Time("lastSkipped", s.status.last_skipped);
  st.StrList("validationErrors", s.status.validation_errors);
  out["status"] = st.Take();
  return out;
}

}  // namespace lifeboat::api
