#include "lifeboat/kube/object.h"

namespace lifeboat::kube {
namespace {

const boost::json::object* Metadata(const boost::json::value& obj) {
  const auto* o = obj.if_object();
  if (o == nullptr) return nullptr;
  auto it = o->find("metadata");
  return it == o->end() ? nullptr : it->value().if_object();
}

std::string_view StringField(const boost::json::object* o, std::string_view key) {
  if (o == nullptr) return {};
  auto it = o->find(key);
  if (it == o->end()) return {};
  const auto* s = it->value().if_string();
  return s == nullptr ? std::string_view() : std::string_view(*s);
}

std::map<std::string, std::string> StringMap(const boost::json::value& obj, std::string_view key) {
  std::map<std::string, std::string> out;
  const auto* md = Metadata(obj);
  if (md == nullptr) return out;
  auto it = md->find(key);
  if (it == md->end() || !it->value().is_object()) return out;
  for (const auto& kv : it->value().get_object()) {
    if (const auto* s = kv.value().if_string()) out.emplace(kv.key(), std::string(*s));
  }
  return out;
}

}  // namespace

std::string_view ObjectName(const boost::json::value& obj) { return StringField(Metadata(obj), "name"); }
std::string_view ObjectNamespace(const boost::json::value& obj) {
  return StringField(Metadata(obj), "namespace");
}
std::string_view ObjectUid(const boost::json::value& obj) { return StringField(Metadata(obj), "uid"); }
std::string_view ObjectResourceVersion(const boost::json::value& obj) {
  return StringField(Metadata(obj), "resourceVersion");
}
std::string_view ObjectApiVersion(const boost::json::value& obj) {
  return StringField(obj.if_object(), "apiVersion");
}
std::string_view ObjectKind(const boost::json::value& obj) { return StringField(obj.if_object(), "kind"); }

std::map<std::string, std::string> ObjectLabels(const boost::json::value& obj) {
  return StringMap(obj, "labels");
}
std::map<std::string, std::string> ObjectAnnotations(const boost::json::value& obj) {
  return StringMap(obj, "annotations");
}

std::vector<OwnerReference> ObjectOwnerReferences(const boost::json::value& obj) {
  std::vector<OwnerReference> out;
  const auto* md = Metadata(obj);
  if (md == nullptr) return out;
  auto it = md->find("ownerReferences");
  if (it == md->end() || !it->value().is_array()) return out;
  for (const auto& ref : it->value().get_array()) {
    const auto* o = ref.if_object();
    if (o == nullptr) continue;
    OwnerReference r;
    r.api_version = StringField(o, "apiVersion");
    r.kind = StringField(o, "kind");
    r.name = StringField(o, "name");
    r.uid = StringField(o, "uid");
    if (auto c = o->find("controller"); c != o->end() && c->value().is_bool()) {
      r.controller = c->value().get_bool();
    }
    if (auto b = o->find("blockOwnerDeletion"); b != o->end() && b->value().is_bool()) {
      r.block_owner_deletion = b->value().get_bool();
    }
    out.push_back(std::move(r));
  }
  return out;
}

std::string ObjectKey(const boost::json::value& obj) {
  std::string_view ns = ObjectNamespace(obj);
  std::string_view name = ObjectName(obj);
  if (ns.empty()) return std::string(name);
  std::string key;
  key.reserve(ns.size() + 1 + name.size());
  key.append(ns).append("/").append(name);
  return key;
}

}  // namespace lifeboat::kube
