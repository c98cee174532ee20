#include "lifeboat/controller/kinds.h"

#include <utility>

namespace lifeboat::controller {

namespace json = boost::json;

StatusOr<std::optional<json::value>> GetIfExists(kube::DynamicClient& client,
                                                 const kube::GroupVersionResource& gvr,
                                                 std::string_view ns, std::string_view name,
                                                 const CancellationToken& cancel) {
  kube::GetOptions options;
  options.cancel = cancel;
  auto got = client.Get(gvr, ns, name, options);
  if (got.ok()) return std::optional<json::value>(std::move(*got));
  if (absl::IsNotFound(got.status())) return std::optional<json::value>();
  return got.status();
}

StatusOr<json::value> MergePatch(kube::DynamicClient& client,
                                 const kube::GroupVersionResource& gvr, std::string_view ns,
                                 std::string_view name, const json::object& patch,
                                 std::string_view resource_version,
                                 const CancellationToken& cancel) {
  json::object body = patch;
  if (!resource_version.empty()) {
    json::object& meta = body["metadata"].emplace_object();
    if (const auto* given = patch.if_contains("metadata"); given && given->is_object()) {
      meta = given->as_object();
    }
    meta["resourceVersion"] = resource_version;
  }
  kube::PatchOptions options;
  options.cancel = cancel;
  return client.Patch(gvr, ns, name, kube::PatchType::kMerge, json::serialize(body), options);
}

StatusOr<json::value> PatchStatus(kube::DynamicClient& client,
                                  const kube::GroupVersionResource& gvr, std::string_view ns,
                                  std::string_view name, const json::value& status,
                                  std::string_view resource_version,
                                  const CancellationToken& cancel) {
  json::object patch;
  patch["status"] = status;
  return MergePatch(client, gvr, ns, name, patch, resource_version, cancel);
}

std::string Annotation(const json::value& obj, std::string_view key) {
  const auto* o = obj.if_object();
  if (!o) return "";
  const auto* meta = o->if_contains("metadata");
  if (!meta || !meta->is_object()) return "";
  const auto* ann = meta->as_object().if_contains("annotations");
  if (!ann || !ann->is_object()) return "";
  const auto* v = ann->as_object().if_contains(key);
  if (!v || !v->is_string()) return "";
  return std::string(v->as_string());
}

}  // namespace lifeboat::controller
