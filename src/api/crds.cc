#include "lifeboat/api/crds.h"

#include <cctype>

#include "lifeboat/common/yaml.h"
#include "src/api/crds_schema.h"

namespace lifeboat::api {
namespace {

namespace json = boost::json;

constexpr char kGroup[] = "velero.io";

json::array Strings(const std::vector<std::string>& v) {
  json::array a;
  for (const auto& s : v) a.emplace_back(json::string(s));
  return a;
}

json::array PrinterColumns(const std::vector<crd::PrinterColumn>& columns) {
  json::array a;
  for (const auto& c : columns) {
    json::object o;
    if (!c.description.empty()) o["description"] = json::string(c.description);
    o["jsonPath"] = json::string(c.json_path);
    o["name"] = json::string(c.name);
    o["type"] = json::string(c.type);
    a.push_back(std::move(o));
  }
  return a;
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

json::value Crd(const crd::KindDefinition& k) {
  json::object names{{"kind", json::string(k.kind)},
                     {"listKind", json::string(k.kind + "List")},
                     {"plural", json::string(k.plural)},
                     {"shortNames", Strings(k.short_names)},
                     {"singular", json::string(Lower(k.kind))}};
  json::object version{{"additionalPrinterColumns", PrinterColumns(k.columns)},
                       {"name", "v1"},
                       {"schema", json::object{{"openAPIV3Schema", k.schema.ToJson()}}},
                       {"served", true},
                       {"storage", true},
                       {"subresources", json::object{}}};
  json::object spec{{"group", kGroup},
                    {"names", std::move(names)},
                    {"scope", "Namespaced"},
                    {"versions", json::array{std::move(version)}}};
  json::object metadata{{"labels", json::object{{"component", "velero"}}},
                        {"name", json::string(k.plural + "." + kGroup)}};
  return json::object{{"apiVersion", "apiextensions.k8s.io/v1"},
                      {"kind", "CustomResourceDefinition"},
                      {"metadata", std::move(metadata)},
                      {"spec", std::move(spec)}};
}

}  // namespace

std::vector<json::value> VeleroCustomResourceDefinitions() {
  std::vector<json::value> out;
  for (const auto& k : crd::VeleroKinds()) out.push_back(Crd(k));
  return out;
}

std::string CrdsYaml() {
  std::string out;
  for (const auto& crd : VeleroCustomResourceDefinitions()) {
    out += "---\n";
    out += JsonToYaml(crd);
    if (!out.empty() && out.back() != '\n') out += '\n';
  }
  return out;
}

}  // namespace lifeboat::api
