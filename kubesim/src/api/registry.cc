#include "kubesim/src/api/registry.h"

#include <algorithm>
#include <cctype>
#include <mutex>
#include <set>

namespace kubesim {
namespace {

namespace json = boost::json;

// Parses "v<major>[alpha|beta<minor>]"; returns false for versions that are not kube-like.
bool ParseKubeVersion(const std::string& v, int& major, int& stability, int& minor) {
  if (v.size() < 2 || v[0] != 'v' || !std::isdigit(static_cast<unsigned char>(v[1]))) return false;
  size_t i = 1;
  major = 0;
  while (i < v.size() && std::isdigit(static_cast<unsigned char>(v[i]))) major = major * 10 + (v[i++] - '0');
  if (i == v.size()) {
    stability = 2;
    minor = 0;
    return true;
  }
  std::string rest = v.substr(i);
  if (rest.rfind("beta", 0) == 0) {
    stability = 1;
    rest = rest.substr(4);
  } else if (rest.rfind("alpha", 0) == 0) {
    stability = 0;
    rest = rest.substr(5);
  } else {
    return false;
  }
  if (rest.empty() || !std::all_of(rest.begin(), rest.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); })) {
    return false;
  }
  minor = std::stoi(rest);
  return true;
}

std::string Str(const json::object& o, const char* key) {
  auto it = o.find(key);
  return it != o.end() && it->value().is_string() ? std::string(it->value().as_string()) : "";
}

std::vector<std::string> StrList(const json::object& o, const char* key) {
  std::vector<std::string> out;
  auto it = o.find(key);
  if (it == o.end() || !it->value().is_array()) return out;
  for (const auto& v : it->value().as_array()) {
    if (v.is_string()) out.emplace_back(v.as_string());
  }
  return out;
}

const json::object* Obj(const json::object& o, const char* key) {
  auto it = o.find(key);
  return it != o.end() && it->value().is_object() ? &it->value().as_object() : nullptr;
}

}  // namespace

bool VersionPreferred(const std::string& a, const std::string& b) {
  int ma, sa, na, mb, sb, nb;
  bool ka = ParseKubeVersion(a, ma, sa, na);
  bool kb = ParseKubeVersion(b, mb, sb, nb);
  if (ka != kb) return ka;
  if (!ka) return a < b;
  if (sa != sb) return sa > sb;
  if (ma != mb) return ma > mb;
  return na > nb;
}

Registry::Registry() {
  for (auto& t : BuiltinResourceTypes()) builtin_.push_back(TypeInfo{std::move(t), nullptr, {}});
}

std::optional<TypeInfo> Registry::Find(const std::string& group, const std::string& version,
                                       const std::string& resource) const {
  std::shared_lock lock(mu_);
  auto match = [&](const TypeInfo& t) {
    return t.type.served && t.type.group == group && t.type.version == version && t.type.resource == resource;
  };
  for (const auto& t : builtin_) {
    if (match(t)) return t;
  }
  for (const auto& [crd, types] : custom_) {
    for (const auto& t : types) {
      if (match(t)) return t;
    }
  }
  return std::nullopt;
}

std::optional<TypeInfo> Registry::FindKind(const std::string& group, const std::string& version,
                                           const std::string& kind) const {
  for (const auto& t : InGroupVersion(group, version)) {
    if (t.type.kind == kind) return t;
  }
  return std::nullopt;
}

std::optional<TypeInfo> Registry::StorageType(const std::string& group,
                                              const std::string& resource) const {
  std::optional<TypeInfo> any;
  for (const auto& t : All()) {
    if (t.type.group != group || t.type.resource != resource) continue;
    if (t.type.storage) return t;
    if (!any) any = t;
  }
  return any;
}

std::optional<TypeInfo> Registry::PreferredType(const std::string& group,
                                                const std::string& resource) const {
  for (const auto& g : Groups()) {
    if (g.name != group) continue;
    for (const auto& v : g.versions) {
      if (auto t = Find(group, v, resource)) return t;
    }
  }
  return std::nullopt;
}

std::vector<TypeInfo> Registry::InGroupVersion(const std::string& group,
                                               const std::string& version) const {
  std::vector<TypeInfo> out;
  for (auto& t : All()) {
    if (t.type.group == group && t.type.version == version) out.push_back(std::move(t));
  }
  return out;
}

std::vector<TypeInfo> Registry::All() const {
  std::shared_lock lock(mu_);
  std::vector<TypeInfo> out;
  for (const auto& t : builtin_) {
    if (t.type.served) out.push_back(t);
  }
  for (const auto& [crd, types] : custom_) {
    for (const auto& t : types) {
      if (t.type.served) out.push_back(t);
    }
  }
  return out;
}

std::vector<GroupInfo> Registry::Groups() const {
  std::vector<GroupInfo> out;
  auto add = [&out](const ResourceType& t) {
    auto it = std::find_if(out.begin(), out.end(), [&](const GroupInfo& g) { return g.name == t.group; });
    if (it == out.end()) {
      out.push_back(GroupInfo{t.group, {}});
      it = out.end() - 1;
    }
    if (std::find(it->versions.begin(), it->versions.end(), t.version) == it->versions.end()) {
      it->versions.push_back(t.version);
    }
  };
  std::vector<TypeInfo> all = All();
  size_t builtin_groups = 0;
  {
    std::shared_lock lock(mu_);
    for (const auto& t : builtin_) {
      if (t.type.served) add(t.type);
    }
    builtin_groups = out.size();
  }
  std::set<std::string> custom_groups;
  for (const auto& t : all) {
    if (t.type.custom) custom_groups.insert(t.type.group);
  }
  for (const auto& g : custom_groups) {
    for (const auto& t : all) {
      if (t.type.custom && t.type.group == g) add(t.type);
    }
  }
  for (size_t i = 0; i < out.size(); ++i) {
    auto& versions = out[i].versions;
    if (i < builtin_groups) {
      // Built-in order is preferred first already, except where PreferredBuiltinVersion says.
      std::string pref = PreferredBuiltinVersion(out[i].name);
      auto it = std::find(versions.begin(), versions.end(), pref);
      if (it != versions.end()) std::rotate(versions.begin(), it, it + 1);
    } else {
      std::sort(versions.begin(), versions.end(), VersionPreferred);
    }
  }
  return out;
}

void Registry::SetCustom(const std::string& crd_name, std::vector<TypeInfo> types) {
  std::unique_lock lock(mu_);
  custom_[crd_name] = std::move(types);
  ++generation_;
}

void Registry::RemoveCustom(const std::string& crd_name) {
  std::unique_lock lock(mu_);
  if (custom_.erase(crd_name) > 0) ++generation_;
}

uint64_t Registry::generation() const {
  std::shared_lock lock(mu_);
  return generation_;
}

absl::StatusOr<std::vector<TypeInfo>> TypesFromCrd(const json::value& crd) {
  if (!crd.is_object()) return absl::InvalidArgumentError("CRD is not an object");
  const json::object* spec = Obj(crd.as_object(), "spec");
  if (spec == nullptr) return absl::InvalidArgumentError("CRD has no spec");
  const json::object* names = Obj(*spec, "names");
  if (names == nullptr) return absl::InvalidArgumentError("CRD has no spec.names");
  ResourceType base;
  base.group = Str(*spec, "group");
  base.resource = Str(*names, "plural");
  base.kind = Str(*names, "kind");
  base.singular = Str(*names, "singular");
  if (base.singular.empty()) {
    base.singular = base.kind;
    std::transform(base.singular.begin(), base.singular.end(), base.singular.begin(), ::tolower);
  }
  base.list_kind = Str(*names, "listKind");
  if (base.list_kind.empty()) base.list_kind = base.kind + "List";
  base.short_names = StrList(*names, "shortNames");
  base.categories = StrList(*names, "categories");
  base.namespaced = Str(*spec, "scope") != "Cluster";
  base.verbs = {"delete", "deletecollection", "get", "list", "patch", "create", "update", "watch"};
  base.custom = true;
  std::vector<TypeInfo> out;
  auto vit = spec->find("versions");
  if (vit == spec->end() || !vit->value().is_array()) return absl::InvalidArgumentError("CRD has no spec.versions");
  for (const auto& v : vit->value().as_array()) {
    if (!v.is_object()) continue;
    const auto& vo = v.as_object();
    TypeInfo info;
    info.type = base;
    info.type.version = Str(vo, "name");
    info.type.served = vo.contains("served") && vo.at("served").is_bool() && vo.at("served").as_bool();
    info.type.storage = vo.contains("storage") && vo.at("storage").is_bool() && vo.at("storage").as_bool();
    if (const json::object* sub = Obj(vo, "subresources")) {
      if (sub->contains("status")) info.type.subresources.push_back("status");
      if (sub->contains("scale")) info.type.subresources.push_back("scale");
    }
    if (const json::object* schema = Obj(vo, "schema")) {
      if (auto s = schema->find("openAPIV3Schema"); s != schema->end()) info.schema = s->value();
    }
    if (auto pc = vo.find("additionalPrinterColumns"); pc != vo.end() && pc->value().is_array()) {
      info.printer_columns = pc->value().as_array();
    }
    out.push_back(std::move(info));
  }
  return out;
}

}  // namespace kubesim
