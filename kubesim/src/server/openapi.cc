#include "kubesim/src/server/openapi.h"

#include <map>
#include <string>

#include "kubesim/src/server/wire.h"

// What kubesim publishes, and why this much and no more:
//
// kubectl (≥1.26) decides how to validate a manifest by looking, in the OpenAPI v3 document of
// the object's group/version, for a PATCH operation tagged with the object's
// x-kubernetes-group-version-kind that declares the `fieldValidation` query parameter. When it
// finds one, it leaves validation to the server (`?fieldValidation=Strict`); otherwise it needs
// the full v2 schema to validate client-side. So every served type gets its collection, item
// and status paths with their operations and the parameters kube-apiserver declares.
//
// Client-side `kubectl apply` builds strategic merge patches from the OpenAPI v3 schema only
// when the PATCH operation declares a request body with the strategic-merge content type;
// kubesim declares none, so kubectl uses the patch metadata compiled into it for built-in kinds
// and a JSON merge patch for custom resources, which is what it does against kube-apiserver
// for those kinds as well. Component schemas are therefore not published (`kubectl explain`
// does not work against kubesim).
//
// /openapi/v2 serves a document with no paths and no definitions: kubectl up to 1.29 refuses to
// apply without one (it asks for it in protobuf, the gnostic openapi_v2.Document message), and
// with no definitions it falls back to the patch metadata compiled into it and to server-side
// field validation, as above.

namespace kubesim {
namespace json = boost::json;
namespace {

std::string GvPath(const std::string& group, const std::string& version) {
  return group.empty() ? "api/" + version : "apis/" + group + "/" + version;
}

json::object Param(const char* name, const char* in, bool required = false) {
  json::object p{{"name", name}, {"in", in}, {"schema", json::object{{"type", "string"}, {"uniqueItems", true}}}};
  if (required) p["required"] = true;
  return p;
}

json::object Operation(const ResourceType& t, const std::string& action, const std::string& op_id,
                       json::array params) {
  json::object op;
  op["operationId"] = op_id;
  op["x-kubernetes-action"] = action;
  op["x-kubernetes-group-version-kind"] = json::object{{"group", t.group}, {"version", t.version}, {"kind", t.kind}};
  op["parameters"] = std::move(params);
  op["responses"] = json::object{{"200", json::object{{"description", "OK"}}},
                                 {"401", json::object{{"description", "Unauthorized"}}}};
  return op;
}

std::string Capitalized(std::string s) {
  if (!s.empty()) s[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(s[0])));
  return s;
}

void AddPaths(json::object& paths, const ResourceType& t) {
  std::string base = "/" + GvPath(t.group, t.version) + (t.namespaced ? "/namespaces/{namespace}/" : "/") + t.resource;
  std::string suffix = Capitalized(t.namespaced ? "Namespaced" : "") + t.kind;
  auto has = [&t](const char* verb) {
    for (const auto& v : t.verbs) {
      if (v == verb) return true;
    }
    return false;
  };
  auto write_params = [] {
    return json::array{Param("dryRun", "query"), Param("fieldManager", "query"), Param("fieldValidation", "query")};
  };
  json::array scope;
  if (t.namespaced) scope.push_back(Param("namespace", "path", true));
  scope.push_back(Param("pretty", "query"));

  json::object collection{{"parameters", scope}};
  if (has("list")) collection["get"] = Operation(t, "list", "list" + suffix, {});
  if (has("create")) collection["post"] = Operation(t, "post", "create" + suffix, write_params());
  if (has("deletecollection")) collection["delete"] = Operation(t, "deletecollection", "deleteCollection" + suffix, {});
  paths[base] = std::move(collection);

  json::array item_scope = scope;
  item_scope.push_back(Param("name", "path", true));
  json::object item{{"parameters", item_scope}};
  if (has("get")) item["get"] = Operation(t, "get", "read" + suffix, {});
  if (has("update")) item["put"] = Operation(t, "put", "replace" + suffix, write_params());
  if (has("patch")) {
    json::array p = write_params();
    p.push_back(Param("force", "query"));
    item["patch"] = Operation(t, "patch", "patch" + suffix, std::move(p));
  }
  if (has("delete")) item["delete"] = Operation(t, "delete", "delete" + suffix, {Param("dryRun", "query")});
  paths[base + "/{name}"] = std::move(item);

  if (t.HasSubresource("status")) {
    json::object status{{"parameters", item_scope}};
    status["get"] = Operation(t, "get", "read" + suffix + "Status", {});
    status["put"] = Operation(t, "put", "replace" + suffix + "Status", write_params());
    json::array p = write_params();
    p.push_back(Param("force", "query"));
    status["patch"] = Operation(t, "patch", "patch" + suffix + "Status", std::move(p));
    paths[base + "/{name}/status"] = std::move(status);
  }
}

json::object GroupVersionDoc(const std::vector<TypeInfo>& types) {
  json::object paths;
  for (const auto& ti : types) AddPaths(paths, ti.type);
  return json::object{{"openapi", "3.0.0"},
                      {"info", json::object{{"title", "Kubernetes"}, {"version", "v1.30.0"}}},
                      {"paths", std::move(paths)},
                      {"components", json::object{{"schemas", json::object{}}}}};
}

}  // namespace

void ServeOpenApi(lifeboat::http::Request& req, lifeboat::http::ResponseWriter& w, const Registry& registry) {
  const std::string& path = req.path;
  std::string hash = std::to_string(registry.generation());
  if (path == "/openapi/v2") {
    if (req.Header("Accept").find("protobuf") != std::string::npos) {
      // openapi.v2.Document{swagger: "2.0", info: {title: "Kubernetes", version: "v1.32.0"}}:
      // field 1 (string), field 2 (Info: field 1 title, field 2 version).
      static const std::string kDoc = std::string("\x0a\x03" "2.0" "\x12\x15" "\x0a\x0a" "Kubernetes" "\x12\x07" "v1.32.0");
      (void)w.Send(200, {{"Content-Type", "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"}}, kDoc);
      return;
    }
    SendJson(w, 200, json::object{{"swagger", "2.0"},
                                  {"info", json::object{{"title", "Kubernetes"}, {"version", "v1.32.0"}}},
                                  {"paths", json::object()},
                                  {"definitions", json::object()}});
    return;
  }
  if (path == "/openapi/v3" || path == "/openapi/v3/") {
    json::object index;
    for (const auto& g : registry.Groups()) {
      for (const auto& v : g.versions) {
        std::string gv = GvPath(g.name, v);
        index[gv] = json::object{{"serverRelativeURL", "/openapi/v3/" + gv + "?hash=" + hash}};
      }
    }
    SendJson(w, 200, json::object{{"paths", std::move(index)}});
    return;
  }
  constexpr std::string_view kV3 = "/openapi/v3/";
  if (path.rfind(kV3, 0) == 0) {
    std::string rest = path.substr(kV3.size());
    std::string group, version;
    if (rest.rfind("api/", 0) == 0 && rest.find('/', 4) == std::string::npos) {
      version = rest.substr(4);
    } else if (rest.rfind("apis/", 0) == 0) {
      size_t slash = rest.find('/', 5);
      if (slash != std::string::npos && rest.find('/', slash + 1) == std::string::npos) {
        group = rest.substr(5, slash - 5);
        version = rest.substr(slash + 1);
      }
    }
    if (!version.empty()) {
      std::vector<TypeInfo> types = registry.InGroupVersion(group, version);
      if (!types.empty()) {
        SendJson(w, 200, GroupVersionDoc(types));
        return;
      }
    }
  }
  SendStatus(w, ApiError(404, "NotFound", "the server could not find the requested resource"));
}

}  // namespace kubesim
