// The generated schemas are structural, as kube-apiserver requires of apiextensions.k8s.io/v1
// CRDs (Kubernetes docs "Specifying a structural schema"; apiextensions-apiserver
// pkg/apiserver/schema/validation.go and pkg/apis/apiextensions/validation):
//  1. every node (root, each property, additionalProperties, items) has a non-empty type,
//     except with x-kubernetes-int-or-string: true or x-kubernetes-preserve-unknown-fields: true;
//  2. inside allOf/anyOf/oneOf/not no description, type, default, additionalProperties, nullable;
//  3. metadata at the root restricts only name and generateName;
// plus the keyword rules of CRD validation: no $ref, id, $schema, definitions, dependencies,
// patternProperties, additionalItems, uniqueItems: true; arrays have one items schema;
// properties and additionalProperties are exclusive; x-kubernetes-preserve-unknown-fields is
// only ever true; map-type only on objects, list-type only on arrays; the root is an object.
// Velero's own CRDs pass the same checker, and a broken schema is caught.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "lifeboat/api/crds.h"
#include "lifeboat/common/yaml.h"

namespace lifeboat::api {
namespace {

namespace json = boost::json;

const std::set<std::string> kKnownKeywords = {"description",
                                              "type",
                                              "format",
                                              "title",
                                              "default",
                                              "maximum",
                                              "exclusiveMaximum",
                                              "minimum",
                                              "exclusiveMinimum",
                                              "maxLength",
                                              "minLength",
                                              "pattern",
                                              "maxItems",
                                              "minItems",
                                              "uniqueItems",
                                              "multipleOf",
                                              "enum",
                                              "maxProperties",
                                              "minProperties",
                                              "required",
                                              "items",
                                              "allOf",
                                              "oneOf",
                                              "anyOf",
                                              "not",
                                              "properties",
                                              "additionalProperties",
                                              "externalDocs",
                                              "example",
                                              "nullable",
                                              "x-kubernetes-preserve-unknown-fields",
                                              "x-kubernetes-embedded-resource",
                                              "x-kubernetes-int-or-string",
                                              "x-kubernetes-list-map-keys",
                                              "x-kubernetes-list-type",
                                              "x-kubernetes-map-type",
                                              "x-kubernetes-validations"};
const std::set<std::string> kForbidden = {
    "$ref", "id", "$schema", "definitions", "dependencies", "patternProperties", "additionalItems"};
const std::set<std::string> kTypes = {"object", "array", "string", "integer", "number", "boolean"};
const std::set<std::string> kNotInJunctors = {"description", "type", "default",
                                              "additionalProperties", "nullable"};

bool IsTrue(const json::object& s, const char* key) {
  const json::value* v = s.if_contains(key);
  return v && v->is_bool() && v->as_bool();
}

bool TypeMatches(const json::value& v, const std::string& type) {
  if (type == "string") return v.is_string();
  if (type == "integer") return v.is_int64() || v.is_uint64();
  if (type == "number") return v.is_number();
  if (type == "boolean") return v.is_bool();
  if (type == "array") return v.is_array();
  if (type == "object") return v.is_object();
  return true;
}

void Check(const json::value& node, const std::string& path, bool in_junctor,
           std::vector<std::string>* errors);

void CheckJunctors(const json::object& s, const std::string& path,
                   std::vector<std::string>* errors) {
  for (const char* j : {"allOf", "anyOf", "oneOf"}) {
    if (const json::value* v = s.if_contains(j)) {
      if (!v->is_array()) {
        errors->push_back(path + "." + j + ": must be a list");
        continue;
      }
      for (size_t i = 0; i < v->as_array().size(); ++i) {
        Check(v->as_array()[i], path + "." + j + "[" + std::to_string(i) + "]", true, errors);
      }
    }
  }
  if (const json::value* v = s.if_contains("not")) Check(*v, path + ".not", true, errors);
}

void CheckNodeKeywords(const json::object& s, const std::string& path, bool in_junctor,
                       std::vector<std::string>* errors) {
  auto err = [&](const std::string& m) { errors->push_back(path + ": " + m); };
  for (const auto& kv : s) {
    std::string k(kv.key());
    if (kForbidden.count(k))
      err(k + " is forbidden");
    else if (!kKnownKeywords.count(k))
      err("unknown keyword " + k);
    if (in_junctor && kNotInJunctors.count(k)) err(k + " must not be set inside a junctor");
  }
  std::string type =
      s.contains("type") && s.at("type").is_string() ? std::string(s.at("type").as_string()) : "";
  if (s.contains("type") && !kTypes.count(type))
    err("unsupported type " + json::serialize(s.at("type")));
  bool exempt =
      IsTrue(s, "x-kubernetes-int-or-string") || IsTrue(s, "x-kubernetes-preserve-unknown-fields");
  if (!in_junctor && type.empty() && !exempt) err("type must not be empty");
  if (IsTrue(s, "uniqueItems")) err("uniqueItems cannot be true");
  if (s.contains("x-kubernetes-preserve-unknown-fields") &&
      !IsTrue(s, "x-kubernetes-preserve-unknown-fields")) {
    err("x-kubernetes-preserve-unknown-fields must be true or undefined");
  }
  if (s.contains("x-kubernetes-map-type") && type != "object") err("map-type on a non-object");
  if (s.contains("x-kubernetes-list-type") && type != "array") err("list-type on a non-array");
  if (s.contains("properties") && s.contains("additionalProperties")) {
    err("properties and additionalProperties are mutually exclusive");
  }
  if (type == "array" && !in_junctor && !(s.contains("items") && s.at("items").is_object())) {
    err("arrays need one items schema");
  }
  if (s.contains("format") && type != "string") err("format on a non-string");
  if (const json::value* e = s.if_contains("enum")) {
    for (const auto& v : e->as_array()) {
      if (!TypeMatches(v, type)) err("enum value " + json::serialize(v) + " is not a " + type);
    }
  }
  if (const json::value* d = s.if_contains("default"); d && !TypeMatches(*d, type)) {
    err("default is not a " + type);
  }
  if (const json::value* r = s.if_contains("required")) {
    for (const auto& name : r->as_array()) {
      const json::value* props = s.if_contains("properties");
      if (!props || !props->as_object().contains(name.as_string())) {
        err("required " + json::serialize(name) + " is not a property");
      }
    }
  }
}

void Check(const json::value& node, const std::string& path, bool in_junctor,
           std::vector<std::string>* errors) {
  if (!node.is_object()) {
    errors->push_back(path + ": a schema must be an object");
    return;
  }
  const json::object& s = node.as_object();
  CheckNodeKeywords(s, path, in_junctor, errors);
  if (const json::value* p = s.if_contains("properties")) {
    for (const auto& kv : p->as_object()) {
      Check(kv.value(), path + ".properties[" + std::string(kv.key()) + "]", in_junctor, errors);
    }
  }
  if (const json::value* a = s.if_contains("additionalProperties")) {
    if (!a->is_object())
      errors->push_back(path + ".additionalProperties: must be a schema");
    else
      Check(*a, path + ".additionalProperties", in_junctor, errors);
  }
  if (const json::value* i = s.if_contains("items"); i && i->is_object()) {
    Check(*i, path + ".items", in_junctor, errors);
  }
  CheckJunctors(s, path, errors);
}

std::vector<std::string> CheckRoot(const json::object& root) {
  std::vector<std::string> errors;
  Check(root, "openAPIV3Schema", false, &errors);
  if (!root.contains("type") || root.at("type") != "object") {
    errors.push_back("openAPIV3Schema: the root must be of type object");
  }
  if (root.contains("additionalProperties")) {
    errors.push_back("openAPIV3Schema: no additionalProperties at the root");
  }
  const json::value* props = root.if_contains("properties");
  const json::value* meta = props ? props->as_object().if_contains("metadata") : nullptr;
  if (meta && meta->is_object()) {
    if (meta->as_object().contains("default")) errors.push_back("metadata: no default");
    if (const json::value* mp = meta->as_object().if_contains("properties")) {
      for (const auto& kv : mp->as_object()) {
        if (kv.key() != "name" && kv.key() != "generateName") {
          errors.push_back("metadata: only name and generateName may be restricted");
        }
      }
    }
  }
  return errors;
}

const json::object& RootOf(const json::value& crd) {
  return crd.at("spec")
      .at("versions")
      .as_array()
      .at(0)
      .at("schema")
      .at("openAPIV3Schema")
      .as_object();
}

TEST(CrdsStructuralTest, EveryGeneratedSchemaIsStructural) {
  for (const auto& crd : VeleroCustomResourceDefinitions()) {
    SCOPED_TRACE(crd.at("metadata").at("name").as_string().c_str());
    std::vector<std::string> errors = CheckRoot(RootOf(crd));
    for (const auto& e : errors) ADD_FAILURE() << e;
  }
}

TEST(CrdsStructuralTest, VelerosPublishedSchemasPassTheSameChecker) {
  for (const char* file : {"velero.io_backups.yaml", "velero.io_restores.yaml",
                           "velero.io_schedules.yaml", "velero.io_backupstoragelocations.yaml"}) {
    std::ifstream in(std::filesystem::path(LIFEBOAT_SOURCE_DIR) / "test/testdata/api/crds" / file);
    std::stringstream ss;
    ss << in.rdbuf();
    auto crd = YamlToJson(ss.str());
    ASSERT_TRUE(crd.ok()) << crd.status();
    EXPECT_EQ(CheckRoot(RootOf(*crd)), std::vector<std::string>{}) << file;
  }
}

TEST(CrdsStructuralTest, CheckerCatchesNonStructuralSchemas) {
  auto errors_for = [](const char* text) { return CheckRoot(json::parse(text).as_object()); };
  EXPECT_TRUE(errors_for(R"({"type":"object","properties":{"a":{"type":"string"}}})").empty());
  EXPECT_EQ(errors_for(R"({"type":"object","properties":{"a":{}}})").size(), 1u);
  EXPECT_TRUE(errors_for(R"({"type":"object","properties":{"a":{
      "x-kubernetes-preserve-unknown-fields":true}}})")
                  .empty());
  EXPECT_FALSE(errors_for(R"({"type":"object","properties":{"a":{"type":"array"}}})").empty());
  EXPECT_FALSE(errors_for(R"({"type":"object","properties":{"a":{"$ref":"#/x"}}})").empty());
  EXPECT_FALSE(errors_for(R"({"type":"object","properties":{"a":{"type":"object",
      "anyOf":[{"type":"string"}]}}})")
                   .empty());
  EXPECT_FALSE(errors_for(R"({"type":"object","properties":{"metadata":{"type":"object",
      "properties":{"labels":{"type":"object"}}}}})")
                   .empty());
  EXPECT_FALSE(errors_for(R"({"type":"object","properties":{"a":{"type":"string",
      "enum":[1]}}})")
                   .empty());
  EXPECT_FALSE(errors_for(R"({"type":"string"})").empty());
  EXPECT_FALSE(errors_for(R"({"type":"object","required":["x"]})").empty());
}

}  // namespace
}  // namespace lifeboat::api
