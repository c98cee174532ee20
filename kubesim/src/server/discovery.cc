#include "kubesim/src/server/discovery.h"

#include <openssl/sha.h>

namespace kubesim {
namespace {

namespace json = boost::json;

json::array Strings(const std::vector<std::string>& v) {
  json::array a;
  for (const auto& s : v) a.emplace_back(s);
  return a;
}

std::string GroupVersion(const std::string& group, const std::string& version) {
  return group.empty() ? version : group + "/" + version;
}

// What kube-apiserver publishes as storageVersionHash: a short hash of the storage
// group/version/kind, so that clients can notice a storage version change.
std::string StorageVersionHash(const ResourceType& t) {
  std::string in = t.ApiVersion() + "/" + t.kind;
  unsigned char md[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(in.data()), in.size(), md);
  static constexpr char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (int i = 0; i < 8; i += 3) {
    uint32_t n = (md[i] << 16) | (md[i + 1] << 8) | md[i + 2];
    for (int s = 18; s >= 0; s -= 6) out.push_back(kB64[(n >> s) & 63]);
  }
  return out.substr(0, 11) + "=";
}

json::object Subresource(const ResourceType& t, const std::string& sub) {
  json::object o{{"name", t.resource + "/" + sub}, {"singularName", ""}, {"namespaced", t.namespaced}};
  if (sub == "status") {
    o["kind"] = t.kind;
    o["verbs"] = json::array{"get", "patch", "update"};
  } else if (sub == "scale") {
    o["group"] = "autoscaling";
    o["version"] = "v1";
    o["kind"] = "Scale";
    o["verbs"] = json::array{"get", "patch", "update"};
  } else if (sub == "exec" || sub == "attach" || sub == "portforward") {
    o["kind"] = sub == "exec" ? "PodExecOptions" : sub == "attach" ? "PodAttachOptions" : "PodPortForwardOptions";
    o["verbs"] = json::array{"create", "get"};
  } else if (sub == "log") {
    o["kind"] = "Pod";
    o["verbs"] = json::array{"get"};
  } else if (sub == "binding") {
    o["kind"] = "Binding";
    o["verbs"] = json::array{"create"};
  } else if (sub == "eviction") {
    o["group"] = "policy";
    o["version"] = "v1";
    o["kind"] = "Eviction";
    o["verbs"] = json::array{"create"};
  } else if (sub == "finalize") {
    o["kind"] = t.kind;
    o["verbs"] = json::array{"update"};
  } else if (sub == "token") {
    o["group"] = "authentication.k8s.io";
    o["version"] = "v1";
    o["kind"] = "TokenRequest";
    o["verbs"] = json::array{"create"};
  } else if (sub == "ephemeralcontainers") {
    o["kind"] = "Pod";
    o["verbs"] = json::array{"get", "patch", "update"};
  } else if (sub == "proxy") {
    o["kind"] = t.kind == "Node" ? "NodeProxyOptions" : "ServiceProxyOptions";
    o["verbs"] = json::array{"create", "delete", "get", "patch", "update"};
  } else {
    o["kind"] = t.kind;
    o["verbs"] = json::array{"get"};
  }
  return o;
}

json::object GroupObject(const GroupInfo& g) {
  json::array versions;
  for (const auto& v : g.versions) {
    versions.push_back(json::object{{"groupVersion", GroupVersion(g.name, v)}, {"version", v}});
  }
  json::object preferred{{"groupVersion", GroupVersion(g.name, g.versions.front())},
                         {"version", g.versions.front()}};
  return json::object{{"name", g.name}, {"versions", std::move(versions)},
                      {"preferredVersion", std::move(preferred)}};
}

}  // namespace

json::value ApiVersionsDoc(const std::string& server_address) {
  return json::object{
      {"kind", "APIVersions"},
      {"versions", json::array{"v1"}},
      {"serverAddressByClientCIDRs",
       json::array{json::object{{"clientCIDR", "0.0.0.0/0"}, {"serverAddress", server_address}}}}};
}

json::value ApiGroupListDoc(const Registry& registry) {
  json::array groups;
  for (const auto& g : registry.Groups()) {
    if (g.name.empty() || g.versions.empty()) continue;
    groups.push_back(GroupObject(g));
  }
  return json::object{{"kind", "APIGroupList"}, {"apiVersion", "v1"}, {"groups", std::move(groups)}};
}

std::optional<json::value> ApiGroupDoc(const Registry& registry, const std::string& group) {
  for (const auto& g : registry.Groups()) {
    if (g.name == group && !g.versions.empty()) {
      json::object o = GroupObject(g);
      o["kind"] = "APIGroup";
      o["apiVersion"] = "v1";
      return json::value(std::move(o));
    }
  }
  return std::nullopt;
}

std::optional<json::value> ApiResourceListDoc(const Registry& registry, const std::string& group,
                                              const std::string& version) {
  std::vector<TypeInfo> types = registry.InGroupVersion(group, version);
  if (types.empty()) return std::nullopt;
  json::array resources;
  for (const auto& info : types) {
    const ResourceType& t = info.type;
    json::object r{{"name", t.resource}, {"singularName", t.singular}, {"namespaced", t.namespaced},
                   {"kind", t.kind}, {"verbs", Strings(t.verbs)}};
    if (!t.short_names.empty()) r["shortNames"] = Strings(t.short_names);
    if (!t.categories.empty()) r["categories"] = Strings(t.categories);
    if (t.storage) r["storageVersionHash"] = StorageVersionHash(t);
    resources.push_back(std::move(r));
    for (const auto& sub : t.subresources) resources.push_back(Subresource(t, sub));
  }
  return json::value(json::object{{"kind", "APIResourceList"}, {"apiVersion", "v1"},
                                  {"groupVersion", GroupVersion(group, version)},
                                  {"resources", std::move(resources)}});
}

json::value VersionDoc() {
  return json::object{{"major", "1"},
                      {"minor", "31"},
                      {"gitVersion", "v1.31.0-kubesim"},
                      {"gitCommit", "0000000000000000000000000000000000000000"},
                      {"gitTreeState", "clean"},
                      {"buildDate", "2026-11-24T00:00:00Z"},
                      {"goVersion", "go1.22.5"},
                      {"compiler", "gc"},
                      {"platform", "linux/amd64"}};
}

}  // namespace kubesim
