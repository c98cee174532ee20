#include "lifeboat/api/meta.h"

#include "src/api/json_codec.h"

namespace lifeboat::api {

StatusOr<ObjectMeta> ObjectMetaFromJson(const boost::json::value& v) {
  LIFEBOAT_ASSIGN_OR_RETURN(internal::Reader r, internal::Reader::Make(&v, "metadata"));
  ObjectMeta m;
  LIFEBOAT_RETURN_IF_ERROR(r.Str("name", &m.name));
  LIFEBOAT_RETURN_IF_ERROR(r.Str("generateName", &m.generate_name));
  LIFEBOAT_RETURN_IF_ERROR(r.Str("namespace", &m.namespace_));
  LIFEBOAT_RETURN_IF_ERROR(r.Str("uid", &m.uid));
  LIFEBOAT_RETURN_IF_ERROR(r.Str("resourceVersion", &m.resource_version));
  LIFEBOAT_RETURN_IF_ERROR(r.Int("generation", &m.generation));
  LIFEBOAT_RETURN_IF_ERROR(r.Time("creationTimestamp", &m.creation_timestamp));
  LIFEBOAT_RETURN_IF_ERROR(r.StrMap("labels", &m.labels));
  LIFEBOAT_RETURN_IF_ERROR(r.StrMap("annotations", &m.annotations));
  LIFEBOAT_RETURN_IF_ERROR(r.StrList("finalizers", &m.finalizers));
  return m;
}

boost::json::value ToJson(const ObjectMeta& meta) {
  boost::json::object out;
  internal::WriteMetaOverlay(meta, nullptr, &out);
  return out;
}

}  // namespace lifeboat::api
