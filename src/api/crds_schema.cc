#include "src/api/crds_schema.h"

#include <algorithm>

namespace lifeboat::api::crd {

namespace json = boost::json;

Schema Schema::With(std::string key, json::value v) const {
  Schema s = *this;
  s.keywords_[std::move(key)] = std::move(v);
  return s;
}

Schema Schema::Doc(std::string description) const {
  return With("description", json::string(description));
}
Schema Schema::Nullable() const { return With("nullable", true); }
Schema Schema::Format(std::string format) const { return With("format", json::string(format)); }

Schema Schema::Enum(std::vector<std::string> values) const {
  json::array a;
  for (auto& v : values) a.emplace_back(json::string(v));
  return With("enum", std::move(a));
}

Schema Schema::Required(std::vector<std::string> names) const {
  json::array a;
  for (auto& n : names) a.emplace_back(json::string(n));
  return With("required", std::move(a));
}

Schema Schema::MinItems(int64_t n) const { return With("minItems", n); }
Schema Schema::Default(json::value v) const { return With("default", std::move(v)); }

Schema Schema::Atomic() const {
  auto type = keywords_.find("type");
  bool is_array = type != keywords_.end() && type->second == "array";
  return With(is_array ? "x-kubernetes-list-type" : "x-kubernetes-map-type", "atomic");
}

Schema Schema::PreserveUnknownFields() const {
  return With("x-kubernetes-preserve-unknown-fields", true);
}
Schema Schema::IntOrString() const { return With("x-kubernetes-int-or-string", true); }

json::object Schema::ToJson() const {
  std::map<std::string, json::value> out = keywords_;
  if (!properties_.empty()) {
    std::vector<const Field*> sorted;
    for (const auto& f : properties_) sorted.push_back(&f);
    std::sort(sorted.begin(), sorted.end(),
              [](const Field* a, const Field* b) { return a->first < b->first; });
    json::object props;
    for (const Field* f : sorted) props[f->first] = f->second.ToJson();
    out["properties"] = std::move(props);
  }
  if (!items_.empty()) out["items"] = items_.front().ToJson();
  if (!additional_.empty()) out["additionalProperties"] = additional_.front().ToJson();
  json::object o;
  for (auto& [k, v] : out) o[k] = std::move(v);  // std::map: alphabetical order
  return o;
}

Schema Typed(std::string type) {
  Schema s;
  s.keywords_["type"] = json::string(type);
  return s;
}

Schema String() { return Typed("string"); }
Schema Integer() { return Typed("integer"); }
Schema Boolean() { return Typed("boolean"); }

Schema Object(std::vector<Field> properties) {
  Schema s = Typed("object");
  s.properties_ = std::move(properties);
  return s;
}

Schema Array(Schema items) {
  Schema s = Typed("array");
  s.items_.push_back(std::move(items));
  return s;
}

Schema Map(Schema values) {
  Schema s = Typed("object");
  s.additional_.push_back(std::move(values));
  return s;
}

Schema Timestamp() { return String().Format("date-time").Nullable(); }
Schema Duration() { return String(); }

}  // namespace lifeboat::api::crd
