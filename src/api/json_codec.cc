#include "src/api/json_codec.h"

#include <cmath>

#include "lifeboat/api/time.h"

namespace lifeboat::api::internal {
namespace json = boost::json;

Status TypeError(std::string_view path, std::string_view what) {
  return absl::InvalidArgumentError(std::string(path) + ": " + std::string(what));
}

namespace {

const json::object& EmptyObject() {
  static const json::object* empty = new json::object();
  return *empty;
}

std::optional<int64_t> AsInt(const json::value& v) {
  if (v.is_int64()) return v.get_int64();
  if (v.is_uint64() && v.get_uint64() <= static_cast<uint64_t>(INT64_MAX)) {
    return static_cast<int64_t>(v.get_uint64());
  }
  if (v.is_double()) {
    double d = v.get_double();
    if (std::trunc(d) == d && std::fabs(d) < 9.2e18) return static_cast<int64_t>(d);
  }
  return std::nullopt;
}

json::array ToArray(const std::vector<std::string>& v) {
  json::array a;
  for (const auto& s : v) a.emplace_back(json::string(s));
  return a;
}

}  // namespace

StatusOr<Reader> Reader::Make(const json::value* v, std::string path) {
  if (v == nullptr || v->is_null()) return Reader(v, &EmptyObject(), std::move(path));
  if (!v->is_object()) return TypeError(path.empty() ? "object" : path, "must be an object");
  return Reader(v, &v->get_object(), std::move(path));
}

const json::value* Reader::Get(std::string_view key) const {
  const json::value* v = obj_->if_contains(key);
  if (v == nullptr || v->is_null()) return nullptr;
  return v;
}

std::string Reader::Path(std::string_view key) const {
  return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
}

Status Reader::Str(std::string_view key, std::string* out) const {
  const json::value* v = Get(key);
  if (v == nullptr) return absl::OkStatus();
  if (!v->is_string()) return TypeError(Path(key), "must be a string");
  *out = std::string(v->get_string());
  return absl::OkStatus();
}

Status Reader::Int(std::string_view key, int64_t* out) const {
  const json::value* v = Get(key);
  if (v == nullptr) return absl::OkStatus();
  std::optional<int64_t> i = AsInt(*v);
  if (!i) return TypeError(Path(key), "must be an integer");
  *out = *i;
  return absl::OkStatus();
}

Status Reader::Bool(std::string_view key, bool* out) const {
  const json::value* v = Get(key);
  if (v == nullptr) return absl::OkStatus();
  if (!v->is_bool()) return TypeError(Path(key), "must be a boolean");
  *out = v->get_bool();
  return absl::OkStatus();
}

Status Reader::OptBool(std::string_view key, std::optional<bool>* out) const {
  const json::value* v = Get(key);
  if (v == nullptr) return absl::OkStatus();
  if (!v->is_bool()) return TypeError(Path(key), "must be a boolean");
  *out = v->get_bool();
  return absl::OkStatus();
}

Status Reader::StrList(std::string_view key, std::vector<std::string>* out) const {
  const json::value* v = Get(key);
  if (v == nullptr) return absl::OkStatus();
  if (!v->is_array()) return TypeError(Path(key), "must be an array of strings");
  std::vector<std::string> result;
  const json::array& a = v->get_array();
  for (size_t i = 0; i < a.size(); ++i) {
    if (!a[i].is_string()) {
      return TypeError(Path(key) + "[" + std::to_string(i) + "]", "must be a string");
    }
    result.emplace_back(a[i].get_string());
  }
  *out = std::move(result);
  return absl::OkStatus();
}

Status Reader::StrMap(std::string_view key, std::map<std::string, std::string>* out) const {
  const json::value* v = Get(key);
  if (v == nullptr) return absl::OkStatus();
  if (!v->is_object()) return TypeError(Path(key), "must be an object of strings");
  std::map<std::string, std::string> result;
  for (const auto& kv : v->get_object()) {
    if (!kv.value().is_string()) {
      return TypeError(Path(key) + "." + std::string(kv.key()), "must be a string");
    }
    result.emplace(std::string(kv.key()), std::string(kv.value().get_string()));
  }
  *out = std::move(result);
  return absl::OkStatus();
}

Status Reader::Dur(std::string_view key, Duration* out) const {
  const json::value* v = Get(key);
  if (v == nullptr) return absl::OkStatus();
  if (!v->is_string()) return TypeError(Path(key), "must be a duration string");
  StatusOr<Duration> d = ParseGoDuration(v->get_string());
  if (!d.ok()) return TypeError(Path(key), std::string(d.status().message()));
  *out = *d;
  return absl::OkStatus();
}

Status Reader::OptDur(std::string_view key, std::optional<Duration>* out) const {
  if (Get(key) == nullptr) return absl::OkStatus();
  Duration d{0};
  LIFEBOAT_RETURN_IF_ERROR(Dur(key, &d));
  *out = d;
  return absl::OkStatus();
}

Status Reader::Time(std::string_view key, std::optional<std::string>* out) const {
  const json::value* v = Get(key);
  if (v == nullptr) return absl::OkStatus();
  if (!v->is_string()) return TypeError(Path(key), "must be an RFC 3339 time string");
  std::string s(v->get_string());
  if (!ParseRfc3339(s).ok()) return TypeError(Path(key), "invalid RFC 3339 time \"" + s + "\"");
  *out = std::move(s);
  return absl::OkStatus();
}

Status Reader::Selector(std::string_view key, std::optional<LabelSelector>* out) const {
  const json::value* v = Get(key);
  if (v == nullptr) return absl::OkStatus();
  StatusOr<LabelSelector> s = LabelSelector::FromJson(*v);
  if (!s.ok()) return TypeError(Path(key), std::string(s.status().message()));
  *out = *std::move(s);
  return absl::OkStatus();
}

Status Reader::SelectorList(std::string_view key, std::vector<LabelSelector>* out) const {
  const json::value* v = Get(key);
  if (v == nullptr) return absl::OkStatus();
  if (!v->is_array()) return TypeError(Path(key), "must be an array of label selectors");
  std::vector<LabelSelector> result;
  const json::array& a = v->get_array();
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].is_null()) {
      result.emplace_back();
      continue;
    }
    StatusOr<LabelSelector> s = LabelSelector::FromJson(a[i]);
    if (!s.ok()) {
      return TypeError(Path(key) + "[" + std::to_string(i) + "]", std::string(s.status().message()));
    }
    result.push_back(*std::move(s));
  }
  *out = std::move(result);
  return absl::OkStatus();
}

Status Reader::LocalRef(std::string_view key,
                        std::optional<TypedLocalObjectReference>* out) const {
  if (Get(key) == nullptr) return absl::OkStatus();
  LIFEBOAT_ASSIGN_OR_RETURN(Reader r, Make(Get(key), Path(key)));
  TypedLocalObjectReference ref;
  if (r.Get("apiGroup") != nullptr) {
    std::string g;
    LIFEBOAT_RETURN_IF_ERROR(r.Str("apiGroup", &g));
    ref.api_group = std::move(g);
  }
  LIFEBOAT_RETURN_IF_ERROR(r.Str("kind", &ref.kind));
  LIFEBOAT_RETURN_IF_ERROR(r.Str("name", &ref.name));
  *out = std::move(ref);
  return absl::OkStatus();
}

Status Reader::SecretRef(std::string_view key, std::optional<SecretKeySelector>* out) const {
  if (Get(key) == nullptr) return absl::OkStatus();
  LIFEBOAT_ASSIGN_OR_RETURN(Reader r, Make(Get(key), Path(key)));
  SecretKeySelector ref;
  LIFEBOAT_RETURN_IF_ERROR(r.Str("name", &ref.name));
  LIFEBOAT_RETURN_IF_ERROR(r.Str("key", &ref.key));
  LIFEBOAT_RETURN_IF_ERROR(r.OptBool("optional", &ref.optional));
  *out = std::move(ref);
  return absl::OkStatus();
}

Status Reader::Objects(std::string_view key, std::vector<Reader>* out) const {
  out->clear();
  const json::value* v = Get(key);
  if (v == nullptr) return absl::OkStatus();
  if (!v->is_array()) return TypeError(Path(key), "must be an array");
  const json::array& a = v->get_array();
  for (size_t i = 0; i < a.size(); ++i) {
    LIFEBOAT_ASSIGN_OR_RETURN(Reader r,
                              Make(&a[i], Path(key) + "[" + std::to_string(i) + "]"));
    out->push_back(std::move(r));
  }
  return absl::OkStatus();
}

Writer::Writer(const json::value* base) {
  if (base != nullptr && base->is_object()) {
    base_ = &base->get_object();
    obj_ = *base_;
  }
}

const json::value* Writer::Base(std::string_view key) const {
  return base_ == nullptr ? nullptr : base_->if_contains(key);
}

const json::value* Writer::BaseElement(const json::value* array, size_t i) {
  if (array == nullptr || !array->is_array() || i >= array->get_array().size()) return nullptr;
  return &array->get_array()[i];
}

void Writer::Str(std::string_view key, const std::string& v) {
  if (v.empty()) return Erase(key);
  obj_[key] = json::string(v);
}
void Writer::Int(std::string_view key, int64_t v) {
  if (v == 0) return Erase(key);
  obj_[key] = v;
}
void Writer::Bool(std::string_view key, bool v) {
  if (!v) return Erase(key);
  obj_[key] = true;
}
void Writer::StrList(std::string_view key, const std::vector<std::string>& v) {
  if (v.empty()) return Erase(key);
  obj_[key] = ToArray(v);
}
void Writer::StrMap(std::string_view key, const std::map<std::string, std::string>& v) {
  if (v.empty()) return Erase(key);
  json::object o;
  for (const auto& [k, val] : v) o[k] = json::string(val);
  obj_[key] = std::move(o);
}
void Writer::Time(std::string_view key, const std::optional<std::string>& v) {
  if (!v) return Erase(key);
  obj_[key] = json::string(*v);
}
void Writer::Selector(std::string_view key, const std::optional<LabelSelector>& v) {
  if (!v) return Erase(key);
  obj_[key] = v->ToJson();
}
void Writer::SelectorList(std::string_view key, const std::vector<LabelSelector>& v) {
  if (v.empty()) return Erase(key);
  json::array a;
  for (const auto& s : v) a.push_back(s.ToJson());
  obj_[key] = std::move(a);
}
void Writer::LocalRef(std::string_view key, const std::optional<TypedLocalObjectReference>& v) {
  if (!v) return Erase(key);
  Writer w(Base(key));
  if (v->api_group) {
    w.StrAlways("apiGroup", *v->api_group);
  } else {
    w.Erase("apiGroup");
  }
  w.StrAlways("kind", v->kind);
  w.StrAlways("name", v->name);
  obj_[key] = w.Take();
}
void Writer::SecretRef(std::string_view key, const std::optional<SecretKeySelector>& v) {
  if (!v) return Erase(key);
  Writer w(Base(key));
  w.StrAlways("key", v->key);
  w.Str("name", v->name);
  w.OptBool("optional", v->optional);
  obj_[key] = w.Take();
}
void Writer::OptBool(std::string_view key, const std::optional<bool>& v) {
  if (!v) return Erase(key);
  obj_[key] = *v;
}
void Writer::OptDur(std::string_view key, const std::optional<Duration>& v) {
  if (!v) return Erase(key);
  Dur(key, *v);
}
void Writer::Dur(std::string_view key, Duration v) {
  obj_[key] = json::string(FormatGoDuration(v));
}
void Writer::StrAlways(std::string_view key, const std::string& v) {
  obj_[key] = json::string(v);
}
void Writer::Set(std::string_view key, json::value v) { obj_[key] = std::move(v); }
void Writer::Erase(std::string_view key) { obj_.erase(key); }

Status CheckTypeMeta(const json::value& v, std::string_view kind) {
  if (!v.is_object()) return absl::InvalidArgumentError(std::string(kind) + ": must be an object");
  const json::object& o = v.get_object();
  if (const json::value* k = o.if_contains("kind"); k != nullptr && !k->is_null()) {
    if (!k->is_string() || k->get_string() != kind) {
      return absl::InvalidArgumentError("kind: expected \"" + std::string(kind) + "\", got " +
                                        json::serialize(*k));
    }
  }
  if (const json::value* a = o.if_contains("apiVersion"); a != nullptr && !a->is_null()) {
    if (!a->is_string() || a->get_string() != kVeleroApiVersion) {
      return absl::InvalidArgumentError("apiVersion: expected \"velero.io/v1\", got " +
                                        json::serialize(*a));
    }
  }
  return absl::OkStatus();
}

void WriteMetaOverlay(const ObjectMeta& m, const json::value* base, json::object* out) {
  Writer w(base);
  w.Str("name", m.name);
  w.Str("generateName", m.generate_name);
  w.Str("namespace", m.namespace_);
  w.Str("uid", m.uid);
  w.Str("resourceVersion", m.resource_version);
  w.Int("generation", m.generation);
  w.Time("creationTimestamp", m.creation_timestamp);
  w.StrMap("labels", m.labels);
  w.StrMap("annotations", m.annotations);
  w.StrList("finalizers", m.finalizers);
  *out = w.Take();
}

json::object WriteTop(const json::object& raw, std::string_view kind, const ObjectMeta& meta) {
  json::object out = raw;
  out["kind"] = json::string(kind);
  out["apiVersion"] = json::string(kVeleroApiVersion);
  json::object m;
  WriteMetaOverlay(meta, raw.if_contains("metadata"), &m);
  out["metadata"] = std::move(m);
  return out;
}

}  // namespace lifeboat::api::internal
