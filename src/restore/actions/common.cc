// Parts shared by the built-in RestoreItemActions: plugin ConfigMaps, existence lookups, and
// total JSON accessors.

#include "absl/strings/str_cat.h"
#include "lifeboat/common/json.h"
#include "src/restore/actions/actions.h"

namespace lifeboat::restore {

namespace json = boost::json;

namespace {
constexpr char kPluginKind[] = "RestoreItemAction";
}  // namespace

PluginConfig::PluginConfig(kube::DynamicClient* client, std::string velero_namespace,
                           std::string plugin)
    : client_(client), namespace_(std::move(velero_namespace)), plugin_(std::move(plugin)) {}

PluginConfig::PluginConfig(std::optional<PluginConfigMap> fixed) : loaded_(std::move(fixed)) {}

std::string PluginConfig::LabelSelector() const {
  return absl::StrCat("velero.io/plugin-config,", plugin_, "=", kPluginKind);
}

StatusOr<const PluginConfigMap*> PluginConfig::Get() {
  std::lock_guard<std::mutex> lock(mu_);
  if (loaded_.has_value()) return loaded_->has_value() ? &**loaded_ : nullptr;
  if (client_ == nullptr) {
    return absl::FailedPreconditionError(
        absl::StrCat(plugin_, ": reading its ConfigMap needs a cluster client"));
  }
  kube::ListOptions options;
  options.label_selector = LabelSelector();
  auto page = client_->List(actions_internal::ConfigMapsGvr(), namespace_, options);
  if (!page.ok()) {
    return Annotate(page.status(), absl::StrCat(plugin_, ": listing ConfigMaps in namespace ",
                                                namespace_, " with labels ", LabelSelector()));
  }
  if (page->items.size() > 1) {
    std::string names;
    for (const json::value& item : page->items) {
      absl::StrAppend(&names, names.empty() ? "" : " ",
                      JsonString(item, {"metadata", "name"}).value_or(""));
    }
    return absl::InvalidArgumentError(
        absl::StrCat(plugin_, ": found more than one ConfigMap matching label selector \"",
                     LabelSelector(), "\": [", names, "]"));
  }
  if (page->items.empty()) {
    loaded_.emplace(std::nullopt);
    return nullptr;
  }
  PluginConfigMap cm;
  cm.name = JsonString(page->items[0], {"metadata", "name"}).value_or("");
  if (const json::value* data = JsonFind(page->items[0], {"data"}); data && data->is_object()) {
    for (const auto& kv : data->get_object()) {
      if (!kv.value().is_string()) {
        return absl::InvalidArgumentError(absl::StrCat(plugin_, ": ConfigMap ", namespace_, "/",
                                                       cm.name, ": data[\"", std::string(kv.key()),
                                                       "\"] is not a string"));
      }
      cm.data.emplace(std::string(kv.key()), std::string(kv.value().get_string()));
    }
  }
  loaded_.emplace(std::move(cm));
  return &**loaded_;
}

ExistenceCache::ExistenceCache(kube::DynamicClient* client, kube::GroupVersionResource gvr)
    : client_(client), gvr_(std::move(gvr)) {}

StatusOr<bool> ExistenceCache::Exists(const std::string& name) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = known_.find(name);
    if (it != known_.end()) return it->second;
  }
  if (client_ == nullptr) {
    return absl::FailedPreconditionError(
        absl::StrCat("looking up ", gvr_.resource, " \"", name, "\" needs a cluster client"));
  }
  auto got = client_->Get(gvr_, "", name);
  bool exists = got.ok();
  if (!got.ok() && !absl::IsNotFound(got.status())) return got.status();
  std::lock_guard<std::mutex> lock(mu_);
  known_.emplace(name, exists);
  return exists;
}

namespace actions_internal {

json::object* ObjectAt(json::object* o, std::string_view key) {
  if (o == nullptr) return nullptr;
  json::value* v = o->if_contains(key);
  return v != nullptr ? v->if_object() : nullptr;
}

const json::object* ObjectAt(const json::object* o, std::string_view key) {
  if (o == nullptr) return nullptr;
  const json::value* v = o->if_contains(key);
  return v != nullptr ? v->if_object() : nullptr;
}

json::array* ArrayAt(json::object* o, std::string_view key) {
  if (o == nullptr) return nullptr;
  json::value* v = o->if_contains(key);
  return v != nullptr ? v->if_array() : nullptr;
}

std::string StringAt(const json::object* o, std::string_view key) {
  if (o == nullptr) return {};
  const json::value* v = o->if_contains(key);
  return v != nullptr && v->is_string() ? std::string(v->get_string()) : std::string();
}

json::object* ObjectAtPath(json::object* o, std::initializer_list<std::string_view> path) {
  for (std::string_view key : path) o = ObjectAt(o, key);
  return o;
}

StatusOr<json::object*> ItemObject(json::value& item, const std::string& action) {
  json::object* o = item.if_object();
  if (o == nullptr)
    return absl::InvalidArgumentError(absl::StrCat(action, ": the item is not an object"));
  return o;
}

StatusOr<json::array*> OptionalArray(json::object* o, std::string_view key,
                                     const std::string& action, const std::string& what) {
  if (o == nullptr) return nullptr;
  json::value* v = o->if_contains(key);
  if (v == nullptr || v->is_null()) return nullptr;
  if (!v->is_array())
    return absl::InvalidArgumentError(absl::StrCat(action, ": ", what, " is not an array"));
  return &v->get_array();
}

plugin::RestoreItemActionOutput Unchanged(json::value item) {
  plugin::RestoreItemActionOutput out;
  out.item = std::move(item);
  return out;
}

plugin::ResourceSelector Resources(std::vector<std::string> resources) {
  plugin::ResourceSelector s;
  s.included_resources = std::move(resources);
  return s;
}

Status MapSubjectNamespaces(json::object& binding, const plugin::RestoreContext* context,
                            const std::string& action) {
  if (context == nullptr || context->restore == nullptr ||
      context->restore->spec.namespace_mapping.empty()) {
    return absl::OkStatus();
  }
  LIFEBOAT_ASSIGN_OR_RETURN(json::array * subjects,
                            OptionalArray(&binding, "subjects", action, "subjects"));
  if (subjects == nullptr) return absl::OkStatus();
  const auto& mapping = context->restore->spec.namespace_mapping;
  for (json::value& s : *subjects) {
    json::object* subject = s.if_object();
    if (subject == nullptr) continue;
    json::value* ns = subject->if_contains("namespace");
    if (ns == nullptr || !ns->is_string()) continue;
    auto it = mapping.find(std::string(ns->get_string()));
    if (it != mapping.end()) *ns = json::string(it->second);
  }
  return absl::OkStatus();
}

const kube::GroupVersionResource& ConfigMapsGvr() {
  static const kube::GroupVersionResource* gvr =
      new kube::GroupVersionResource{"", "v1", "configmaps"};
  return *gvr;
}

}  // namespace actions_internal
}  // namespace lifeboat::restore
