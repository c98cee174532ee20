// Lifeboat's generated CRDs against Velero's published ones (test/testdata/api/crds): the two
// schemas are walked in parallel and every keyword but `description` must agree (type, format,
// enum, required, nullable, default, minItems, x-kubernetes-*); names, scope, versions,
// subresources and printer columns must agree too. Deliberate differences are listed below.

#include "lifeboat/api/crds.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "lifeboat/common/yaml.h"

namespace lifeboat::api {
namespace {

namespace json = boost::json;

// "<kind>:<path>" of schema nodes where Lifeboat deliberately differs from Velero, with the
// reason. Empty: the schemas agree everywhere (descriptions aside).
const std::set<std::string> kDeliberateSchemaDifferences = {};

const char* const kVeleroFiles[] = {"velero.io_backups.yaml",
                                    "velero.io_backupstoragelocations.yaml",
                                    "velero.io_deletebackuprequests.yaml",
                                    "velero.io_downloadrequests.yaml",
                                    "velero.io_restores.yaml",
                                    "velero.io_schedules.yaml",
                                    "velero.io_serverstatusrequests.yaml",
                                    "velero.io_volumesnapshotlocations.yaml"};

json::value LoadVelero(const std::string& file) {
  std::ifstream in(std::filesystem::path(LIFEBOAT_SOURCE_DIR) / "test/testdata/api/crds" / file);
  std::stringstream ss;
  ss << in.rdbuf();
  StatusOr<json::value> crd = YamlToJson(ss.str());
  EXPECT_TRUE(crd.ok()) << file << ": " << crd.status();
  return crd.ok() ? *crd : json::value();
}

std::map<std::string, json::value> OursByName() {
  std::map<std::string, json::value> out;
  for (const auto& crd : VeleroCustomResourceDefinitions()) {
    out[std::string(crd.at("metadata").at("name").as_string())] = crd;
  }
  return out;
}

json::value Sorted(json::value v) {
  if (v.is_array()) {
    std::vector<std::string> s;
    for (const auto& e : v.as_array()) s.push_back(json::serialize(e));
    std::sort(s.begin(), s.end());
    json::array a;
    for (const auto& e : s) a.push_back(json::parse(e));
    return a;
  }
  return v;
}

// Appends to `diffs` every difference between Velero's schema node and ours under `path`.
void CompareSchema(const json::object& velero, const json::object& ours, const std::string& path,
                   std::vector<std::string>* diffs) {
  std::set<std::string> keys;
  for (const auto& kv : velero) keys.insert(std::string(kv.key()));
  for (const auto& kv : ours) keys.insert(std::string(kv.key()));
  for (const auto& key : keys) {
    if (key == "description") continue;
    const json::value* v = velero.if_contains(key);
    const json::value* o = ours.if_contains(key);
    if (key == "properties") {
      json::object empty;
      const json::object& vp = v ? v->as_object() : empty;
      const json::object& op = o ? o->as_object() : empty;
      for (const auto& kv : vp) {
        std::string p = path + "." + std::string(kv.key());
        if (!op.contains(kv.key())) {
          diffs->push_back(p + ": missing in Lifeboat's schema");
        } else {
          CompareSchema(kv.value().as_object(), op.at(kv.key()).as_object(), p, diffs);
        }
      }
      for (const auto& kv : op) {
        if (!vp.contains(kv.key())) {
          diffs->push_back(path + "." + std::string(kv.key()) + ": not in Velero's schema");
        }
      }
      continue;
    }
    if ((key == "items" || key == "additionalProperties") && v && o && v->is_object() &&
        o->is_object()) {
      CompareSchema(v->as_object(), o->as_object(), path + (key == "items" ? "[]" : "{}"), diffs);
      continue;
    }
    if (v == nullptr || o == nullptr) {
      diffs->push_back(path + ": " + key + " only in " + (v ? "Velero's" : "Lifeboat's") +
                       " schema");
    } else if ((key == "required" ? Sorted(*v) != Sorted(*o) : *v != *o)) {
      diffs->push_back(path + ": " + key + " is " + json::serialize(*o) + ", Velero has " +
                       json::serialize(*v));
    }
  }
}

const json::object& V1(const json::value& crd) {
  return crd.at("spec").at("versions").as_array().at(0).as_object();
}

TEST(CrdsTest, OneCrdPerVeleroKindAndNoOther) {
  auto ours = OursByName();
  std::set<std::string> velero;
  for (const char* f : kVeleroFiles) {
    velero.insert(std::string(LoadVelero(f).at("metadata").at("name").as_string()));
  }
  std::set<std::string> our_names;
  for (const auto& [name, crd] : ours) our_names.insert(name);
  EXPECT_EQ(our_names, velero);
  EXPECT_EQ(ours.size(), 8u);
}

TEST(CrdsTest, SchemasMatchVelero) {
  auto ours = OursByName();
  for (const char* file : kVeleroFiles) {
    json::value velero = LoadVelero(file);
    std::string name(velero.at("metadata").at("name").as_string());
    ASSERT_TRUE(ours.count(name)) << name;
    const json::value& mine = ours[name];
    std::string kind(velero.at("spec").at("names").at("kind").as_string());
    std::vector<std::string> diffs;
    CompareSchema(V1(velero).at("schema").at("openAPIV3Schema").as_object(),
                  V1(mine).at("schema").at("openAPIV3Schema").as_object(), "", &diffs);
    for (const auto& d : diffs) {
      std::string where = kind + ":" + d.substr(0, d.find(':'));
      if (kDeliberateSchemaDifferences.count(where)) continue;
      ADD_FAILURE() << kind << " " << d;
    }
  }
}

TEST(CrdsTest, NamesScopeVersionsAndColumnsMatchVelero) {
  auto ours = OursByName();
  for (const char* file : kVeleroFiles) {
    json::value velero = LoadVelero(file);
    std::string name(velero.at("metadata").at("name").as_string());
    SCOPED_TRACE(name);
    const json::value& mine = ours[name];
    ASSERT_TRUE(mine.is_object());
    EXPECT_EQ(mine.at("apiVersion"), velero.at("apiVersion"));
    EXPECT_EQ(mine.at("kind"), velero.at("kind"));
    EXPECT_EQ(mine.at("spec").at("group"), velero.at("spec").at("group"));
    EXPECT_EQ(mine.at("spec").at("names"), velero.at("spec").at("names"));
    EXPECT_EQ(mine.at("spec").at("scope"), velero.at("spec").at("scope"));
    ASSERT_EQ(mine.at("spec").at("versions").as_array().size(),
              velero.at("spec").at("versions").as_array().size());
    const json::object& v = V1(velero);
    const json::object& o = V1(mine);
    for (const char* key : {"name", "served", "storage", "subresources"}) {
      EXPECT_EQ(o.if_contains(key) ? *o.if_contains(key) : json::value(),
                v.if_contains(key) ? *v.if_contains(key) : json::value())
          << key;
    }
    const json::array& vc = v.at("additionalPrinterColumns").as_array();
    const json::array& oc = o.at("additionalPrinterColumns").as_array();
    ASSERT_EQ(oc.size(), vc.size());
    for (size_t i = 0; i < vc.size(); ++i) {
      for (const char* key : {"name", "type", "jsonPath", "priority", "format"}) {
        const json::value* a = vc[i].as_object().if_contains(key);
        const json::value* b = oc[i].as_object().if_contains(key);
        EXPECT_EQ(b ? *b : json::value(), a ? *a : json::value()) << "column " << i << " " << key;
      }
    }
    // As `velero install` labels them; no controller-gen annotation (not generated by it).
    EXPECT_EQ(mine.at("metadata").at("labels"), (json::object{{"component", "velero"}}));
    EXPECT_FALSE(mine.at("metadata").as_object().contains("annotations"));
  }
}

// The comparison itself must see differences, or SchemasMatchVelero proves nothing.
TEST(CrdsTest, ComparisonDetectsDifferences) {
  json::value velero = LoadVelero("velero.io_backups.yaml");
  const json::object& schema = V1(velero).at("schema").at("openAPIV3Schema").as_object();
  auto mutate = [&](auto f) {
    json::value copy = schema;
    f(copy.as_object());
    std::vector<std::string> diffs;
    CompareSchema(schema, copy.as_object(), "", &diffs);
    return diffs;
  };
  auto spec = [](json::object& root) -> json::object& {
    return root["properties"].as_object()["spec"].as_object()["properties"].as_object();
  };
  EXPECT_TRUE(mutate([](json::object&) {}).empty());
  EXPECT_EQ(mutate([&](json::object& r) { spec(r)["ttl"].as_object()["type"] = "integer"; }),
            std::vector<std::string>{".spec.ttl: type is \"integer\", Velero has \"string\""});
  EXPECT_EQ(mutate([&](json::object& r) { spec(r).erase("ttl"); }),
            std::vector<std::string>{".spec.ttl: missing in Lifeboat's schema"});
  EXPECT_EQ(mutate([&](json::object& r) {
              spec(r)["extra"] = json::object{{"type", "string"}};
            }),
            std::vector<std::string>{".spec.extra: not in Velero's schema"});
  EXPECT_EQ(mutate([&](json::object& r) {
              spec(r)["includedNamespaces"].as_object().erase("nullable");
            }).size(),
            1u);
  EXPECT_EQ(
      mutate([&](json::object& r) {
        spec(r)["includedNamespaces"].as_object()["items"].as_object()["format"] = "byte";
      }),
      std::vector<std::string>{".spec.includedNamespaces[]: format only in Lifeboat's schema"});
  EXPECT_TRUE(mutate([&](json::object& r) {
                spec(r)["ttl"].as_object()["description"] = "other words";
              }).empty());
}

TEST(CrdsTest, YamlReadsBackAsTheSameObjects) {
  std::string yaml = CrdsYaml();
  EXPECT_EQ(yaml.rfind("---\n", 0), 0u);
  auto docs = YamlToJsonDocuments(yaml);
  ASSERT_TRUE(docs.ok()) << docs.status();
  std::vector<json::value> crds = VeleroCustomResourceDefinitions();
  ASSERT_EQ(docs->size(), crds.size());
  for (size_t i = 0; i < crds.size(); ++i) EXPECT_EQ((*docs)[i], crds[i]) << i;
  EXPECT_EQ(CrdsYaml(), yaml);  // deterministic
}

TEST(CrdsTest, OrderedByName) {
  std::vector<std::string> names;
  for (const auto& crd : VeleroCustomResourceDefinitions()) {
    names.push_back(std::string(crd.at("metadata").at("name").as_string()));
  }
  EXPECT_TRUE(std::is_sorted(names.begin(), names.end()));
  EXPECT_EQ(names.front(), "backups.velero.io");
}

}  // namespace
}  // namespace lifeboat::api
