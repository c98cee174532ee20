#include "kubesim/src/api/crd_schema.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace kubesim {
namespace {

namespace json = boost::json;

const char kSchemaPath[] = "spec.versions[0].schema.openAPIV3Schema";

// A fragment of Velero's Backup CRD (velero.io/v1), as controller-gen emits it.
json::value BackupSchema() {
  return json::parse(R"({
    "type": "object",
    "description": "Backup is a Velero resource that represents the capture of Kubernetes cluster state.",
    "properties": {
      "apiVersion": {"type": "string"},
      "kind": {"type": "string"},
      "metadata": {"type": "object"},
      "spec": {
        "type": "object",
        "properties": {
          "includedNamespaces": {"type": "array", "items": {"type": "string"}, "nullable": true},
          "excludedNamespaces": {"type": "array", "items": {"type": "string"}, "nullable": true},
          "ttl": {"type": "string"},
          "storageLocation": {"type": "string"},
          "snapshotVolumes": {"type": "boolean", "nullable": true},
          "defaultVolumesToFsBackup": {"type": "boolean", "nullable": true},
          "csiSnapshotTimeout": {"type": "string"},
          "itemOperationTimeout": {"type": "string"},
          "labelSelector": {
            "type": "object", "nullable": true,
            "properties": {
              "matchLabels": {"type": "object", "additionalProperties": {"type": "string"}},
              "matchExpressions": {
                "type": "array",
                "items": {
                  "type": "object",
                  "required": ["key", "operator"],
                  "properties": {
                    "key": {"type": "string"},
                    "operator": {"type": "string"},
                    "values": {"type": "array", "items": {"type": "string"}}
                  }
                }
              }
            }
          },
          "hooks": {
            "type": "object",
            "properties": {
              "resources": {
                "type": "array",
                "items": {
                  "type": "object",
                  "required": ["name"],
                  "properties": {
                    "name": {"type": "string"},
                    "pre": {
                      "type": "array",
                      "items": {
                        "type": "object",
                        "properties": {
                          "exec": {
                            "type": "object",
                            "required": ["command"],
                            "properties": {
                              "command": {"type": "array", "minItems": 1, "items": {"type": "string"}},
                              "container": {"type": "string"},
                              "onError": {"type": "string", "enum": ["Continue", "Fail"]},
                              "timeout": {"type": "string"}
                            }
                          }
                        }
                      }
                    }
                  }
                }
              }
            }
          },
          "orderedResources": {"type": "object", "additionalProperties": {"type": "string"}, "nullable": true},
          "parallelFilesUpload": {"type": "integer", "minimum": 1},
          "uploaderConfig": {
            "type": "object",
            "properties": {"parallelFilesUpload": {"type": "integer"}}
          }
        }
      },
      "status": {
        "type": "object",
        "properties": {
          "phase": {
            "type": "string",
            "enum": ["New", "FailedValidation", "InProgress", "WaitingForPluginOperations", "Completed",
                     "PartiallyFailed", "Failed", "Deleting"]
          },
          "expiration": {"type": "string", "format": "date-time", "nullable": true},
          "startTimestamp": {"type": "string", "format": "date-time", "nullable": true},
          "version": {"type": "integer"},
          "errors": {"type": "integer"},
          "validationErrors": {"type": "array", "items": {"type": "string"}, "nullable": true}
        }
      }
    }
  })");
}

json::value Backup() {
  return json::parse(R"({
    "apiVersion": "velero.io/v1", "kind": "Backup",
    "metadata": {"name": "nightly", "namespace": "velero", "labels": {"app": "lifeboat"}},
    "spec": {"includedNamespaces": ["web", "db"], "ttl": "720h0m0s", "storageLocation": "default"},
    "status": {"phase": "Completed", "expiration": "2026-12-25T08:00:00Z", "version": 1}
  })");
}

std::string Join(const std::vector<FieldCause>& causes) {
  std::string out;
  for (const auto& c : causes) out += c.field + ": " + c.message + " [" + c.reason + "]\n";
  return out;
}

// ----------------------------------------------------------------------------------------------
// Pruning

TEST(PruneUnknownFieldsTest, ValidBackupIsUntouched) {
  json::value obj = Backup();
  json::value before = obj;
  std::vector<std::string> pruned;
  PruneUnknownFields(obj, BackupSchema(), &pruned);
  EXPECT_EQ(obj, before);
  EXPECT_TRUE(pruned.empty());
}

TEST(PruneUnknownFieldsTest, DropsUnknownFieldsAndReportsPaths) {
  json::value obj = Backup();
  obj.as_object()["spec"].as_object()["snapshotVolume"] = true;  // typo of snapshotVolumes
  obj.as_object()["spec"].as_object()["hooks"] = json::parse(
      R"({"resources":[{"name":"h","bogus":1,"pre":[{"exec":{"command":["sync"],"extra":"x"}}]}]})");
  obj.as_object()["extraTopLevel"] = "x";
  obj.as_object()["status"].as_object()["zzz"] = json::object{};
  std::vector<std::string> pruned;
  PruneUnknownFields(obj, BackupSchema(), &pruned);
  EXPECT_EQ(pruned, (std::vector<std::string>{"extraTopLevel", "spec.hooks.resources[0].bogus",
                                              "spec.hooks.resources[0].pre[0].exec.extra", "spec.snapshotVolume",
                                              "status.zzz"}));
  EXPECT_FALSE(obj.as_object().contains("extraTopLevel"));
  EXPECT_FALSE(obj.at("spec").as_object().contains("snapshotVolume"));
  EXPECT_EQ(obj.at("spec").at("hooks"),
            json::parse(R"({"resources":[{"name":"h","pre":[{"exec":{"command":["sync"]}}]}]})"));
  EXPECT_EQ(obj.at("apiVersion"), "velero.io/v1");
  EXPECT_EQ(obj.at("kind"), "Backup");
}

TEST(PruneUnknownFieldsTest, MetadataKeepsObjectMetaFieldsOnly) {
  json::value obj = Backup();
  json::object& meta = obj.as_object()["metadata"].as_object();
  meta["annotations"] = json::object{{"a", "b"}};
  meta["finalizers"] = json::array{"velero.io/x"};
  meta["ownerReferences"] = json::array{};
  meta["uid"] = "u";
  meta["resourceVersion"] = "7";
  meta["generation"] = 2;
  meta["creationTimestamp"] = "2026-01-01T00:00:00Z";
  meta["generateName"] = "n-";
  meta["managedFields"] = json::array{};
  meta["notAMetaField"] = "x";
  std::vector<std::string> pruned;
  PruneUnknownFields(obj, BackupSchema(), &pruned);
  EXPECT_EQ(pruned, std::vector<std::string>{"metadata.notAMetaField"});
  const json::object& m = obj.at("metadata").as_object();
  for (const char* k : {"name", "namespace", "labels", "annotations", "finalizers", "ownerReferences", "uid",
                        "resourceVersion", "generation", "creationTimestamp", "generateName", "managedFields"}) {
    EXPECT_TRUE(m.contains(k)) << k;
  }
  EXPECT_EQ(m.at("labels"), json::parse(R"({"app":"lifeboat"})"));
}

TEST(PruneUnknownFieldsTest, MetaFieldsKeptEvenWithoutSchemaForThem) {
  json::value schema = json::parse(R"({"type":"object","properties":{"spec":{"type":"object"}}})");
  json::value obj = json::parse(R"({"apiVersion":"a/v1","kind":"K","metadata":{"name":"x"},"spec":{"a":1}})");
  std::vector<std::string> pruned;
  PruneUnknownFields(obj, schema, &pruned);
  EXPECT_EQ(obj, json::parse(R"({"apiVersion":"a/v1","kind":"K","metadata":{"name":"x"},"spec":{}})"));
  EXPECT_EQ(pruned, std::vector<std::string>{"spec.a"});
}

TEST(PruneUnknownFieldsTest, PreserveUnknownFieldsKeepsButStillPrunesSpecifiedChildren) {
  json::value schema = json::parse(R"({"type":"object","properties":{"spec":{
      "type":"object","x-kubernetes-preserve-unknown-fields":true,
      "properties":{"known":{"type":"object","properties":{"a":{"type":"string"}}}}}}})");
  json::value obj = json::parse(R"({"spec":{"free":{"deep":[1,{"x":2}]},"known":{"a":"1","b":"2"}}})");
  std::vector<std::string> pruned;
  PruneUnknownFields(obj, schema, &pruned);
  EXPECT_EQ(obj, json::parse(R"({"spec":{"free":{"deep":[1,{"x":2}]},"known":{"a":"1"}}})"));
  EXPECT_EQ(pruned, std::vector<std::string>{"spec.known.b"});
}

TEST(PruneUnknownFieldsTest, RootPreserveUnknownFieldsKeepsEverything) {
  json::value schema = json::parse(R"({"type":"object","x-kubernetes-preserve-unknown-fields":true})");
  json::value obj = json::parse(R"({"apiVersion":"a/v1","kind":"K","metadata":{"name":"x"},"spec":{"a":1},"b":2})");
  json::value before = obj;
  std::vector<std::string> pruned;
  PruneUnknownFields(obj, schema, &pruned);
  EXPECT_EQ(obj, before);
  EXPECT_TRUE(pruned.empty());
}

TEST(PruneUnknownFieldsTest, AdditionalPropertiesMapValuesFollowTheirSchema) {
  json::value schema = json::parse(R"({"type":"object","properties":{"spec":{"type":"object","properties":{
      "volumes":{"type":"object","additionalProperties":{"type":"object","properties":{"size":{"type":"string"}}}},
      "labels":{"type":"object","additionalProperties":{"type":"string"}}}}}})");
  json::value obj = json::parse(R"({"spec":{"volumes":{"a":{"size":"1Gi","junk":true},"b":{}},
      "labels":{"x":"y","z":"w"}}})");
  std::vector<std::string> pruned;
  PruneUnknownFields(obj, schema, &pruned);
  EXPECT_EQ(obj, json::parse(R"({"spec":{"volumes":{"a":{"size":"1Gi"},"b":{}},"labels":{"x":"y","z":"w"}}})"));
  EXPECT_EQ(pruned, std::vector<std::string>{"spec.volumes.a.junk"});
}

TEST(PruneUnknownFieldsTest, EmbeddedResourceKeepsTypeMetaAndCoercesMetadata) {
  json::value schema = json::parse(R"({"type":"object","properties":{"spec":{"type":"object","properties":{
      "template":{"type":"object","x-kubernetes-embedded-resource":true,
                  "properties":{"spec":{"type":"object","properties":{"replicas":{"type":"integer"}}}}},
      "raw":{"type":"object","x-kubernetes-embedded-resource":true,"x-kubernetes-preserve-unknown-fields":true}}}}})");
  json::value obj = json::parse(R"({"spec":{
      "template":{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"d","labels":{"a":"b"},"bogus":1},
                  "spec":{"replicas":1,"selector":{}},"other":1},
      "raw":{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c","junk":2},"data":{"k":"v"}}}})");
  std::vector<std::string> pruned;
  PruneUnknownFields(obj, schema, &pruned);
  EXPECT_EQ(obj, json::parse(R"({"spec":{
      "template":{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"d","labels":{"a":"b"}},
                  "spec":{"replicas":1}},
      "raw":{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c"},"data":{"k":"v"}}}})"));
  EXPECT_EQ(pruned, (std::vector<std::string>{"spec.raw.metadata.junk", "spec.template.metadata.bogus",
                                              "spec.template.other", "spec.template.spec.selector"}));
}

TEST(PruneUnknownFieldsTest, NullPrunedOutputIsAllowedAndNonObjectIsIgnored) {
  json::value obj = json::parse(R"({"spec":{"x":1}})");
  PruneUnknownFields(obj, json::parse(R"({"type":"object"})"), nullptr);
  EXPECT_EQ(obj, json::parse("{}"));
  json::value scalar = 5;
  PruneUnknownFields(scalar, BackupSchema(), nullptr);
  EXPECT_EQ(scalar, 5);
}

// ----------------------------------------------------------------------------------------------
// Defaulting

TEST(ApplyDefaultsTest, NestedDefaultsIncludingInsideFreshDefaults) {
  json::value schema = json::parse(R"({"type":"object","properties":{"spec":{"type":"object","properties":{
      "ttl":{"type":"string","default":"720h0m0s"},
      "snapshotVolumes":{"type":"boolean","default":true},
      "uploaderConfig":{"type":"object","default":{},
                        "properties":{"parallelFilesUpload":{"type":"integer","default":4}}},
      "storageLocation":{"type":"string","default":"default"}}}}})");
  json::value obj = json::parse(R"({"spec":{"storageLocation":"s3"}})");
  ApplyDefaults(obj, schema);
  EXPECT_EQ(obj, json::parse(R"({"spec":{"storageLocation":"s3","ttl":"720h0m0s","snapshotVolumes":true,
      "uploaderConfig":{"parallelFilesUpload":4}}})"));
  // No spec at all: spec has no default, so nothing appears.
  json::value empty = json::parse(R"({"apiVersion":"velero.io/v1"})");
  ApplyDefaults(empty, schema);
  EXPECT_EQ(empty, json::parse(R"({"apiVersion":"velero.io/v1"})"));
}

TEST(ApplyDefaultsTest, ArraysOfObjectsAndAdditionalProperties) {
  json::value schema = json::parse(R"({"type":"object","properties":{"spec":{"type":"object","properties":{
      "hooks":{"type":"array","items":{"type":"object","properties":{
          "onError":{"type":"string","default":"Fail"},"timeout":{"type":"string","default":"30s"}}}},
      "locations":{"type":"object","additionalProperties":{"type":"object","properties":{
          "provider":{"type":"string","default":"aws"}}}}}}}})");
  json::value obj = json::parse(R"({"spec":{"hooks":[{},{"onError":"Continue"}],"locations":{"a":{},"b":{"provider":"gcp"}}}})");
  ApplyDefaults(obj, schema);
  EXPECT_EQ(obj, json::parse(R"({"spec":{"hooks":[{"onError":"Fail","timeout":"30s"},{"onError":"Continue","timeout":"30s"}],
      "locations":{"a":{"provider":"aws"},"b":{"provider":"gcp"}}}})"));
}

TEST(ApplyDefaultsTest, DefaultsAreDeepCopies) {
  json::value schema = json::parse(R"({"type":"object","properties":{"spec":{"type":"object","properties":{
      "a":{"type":"object","default":{"x":[1]},"properties":{"x":{"type":"array","items":{"type":"integer"}}}},
      "b":{"type":"object","default":{"x":[1]},"properties":{"x":{"type":"array","items":{"type":"integer"}}}}}}}})");
  json::value obj = json::parse(R"({"spec":{}})");
  ApplyDefaults(obj, schema);
  obj.as_object()["spec"].as_object()["a"].as_object()["x"].as_array().push_back(2);
  EXPECT_EQ(obj.at("spec").at("b"), json::parse(R"({"x":[1]})"));
  EXPECT_EQ(schema.at("properties").at("spec").at("properties").at("a").at("default"), json::parse(R"({"x":[1]})"));
}

TEST(ApplyDefaultsTest, NullsOfNonNullableFields) {
  json::value schema = json::parse(R"({"type":"object","properties":{"spec":{"type":"object","properties":{
      "withDefault":{"type":"string","default":"d"},
      "noDefault":{"type":"string"},
      "nullable":{"type":"string","nullable":true},
      "nullableWithDefault":{"type":"string","nullable":true,"default":"d"},
      "items":{"type":"array","items":{"type":"string","default":"i"}},
      "map":{"type":"object","additionalProperties":{"type":"string"}}}}}})");
  json::value obj = json::parse(R"({"spec":{"withDefault":null,"noDefault":null,"nullable":null,
      "nullableWithDefault":null,"items":["a",null],"map":{"k":null,"v":"x"}}})");
  ApplyDefaults(obj, schema);
  EXPECT_EQ(obj, json::parse(R"({"spec":{"withDefault":"d","nullable":null,"nullableWithDefault":null,
      "items":["a","i"],"map":{"k":null,"v":"x"}}})"));
}

// ----------------------------------------------------------------------------------------------
// Validation

TEST(ValidateAgainstSchemaTest, ValidBackupHasNoErrors) {
  EXPECT_EQ(Join(ValidateAgainstSchema(Backup(), BackupSchema())), "");
  json::value nulls = Backup();
  nulls.as_object()["spec"].as_object()["includedNamespaces"] = nullptr;  // nullable
  EXPECT_EQ(Join(ValidateAgainstSchema(nulls, BackupSchema())), "");
}

TEST(ValidateAgainstSchemaTest, TypeMismatch) {
  json::value obj = Backup();
  obj.as_object()["spec"].as_object()["ttl"] = 720;
  obj.as_object()["spec"].as_object()["includedNamespaces"] = json::parse(R"(["web", 5])");
  obj.as_object()["spec"].as_object()["parallelFilesUpload"] = "string";
  obj.as_object()["status"].as_object()["version"] = 1.5;
  obj.as_object()["status"].as_object()["errors"] = 2.0;  // whole number: accepted as integer
  std::vector<FieldCause> causes = ValidateAgainstSchema(obj, BackupSchema());
  EXPECT_EQ(Join(causes),
            "spec.includedNamespaces[1]: Invalid value: \"integer\": spec.includedNamespaces[1] in body must be of "
            "type string: \"integer\" [FieldValueTypeInvalid]\n"
            "spec.ttl: Invalid value: \"integer\": spec.ttl in body must be of type string: \"integer\" "
            "[FieldValueTypeInvalid]\n"
            "spec.parallelFilesUpload: Invalid value: \"string\": spec.parallelFilesUpload in body must be of type "
            "integer: \"string\" [FieldValueTypeInvalid]\n"
            "status.version: Invalid value: \"number\": status.version in body must be of type integer: \"number\" "
            "[FieldValueTypeInvalid]\n");
}

TEST(ValidateAgainstSchemaTest, NullForNonNullableField) {
  json::value obj = Backup();
  obj.as_object()["spec"].as_object()["ttl"] = nullptr;
  EXPECT_EQ(Join(ValidateAgainstSchema(obj, BackupSchema())),
            "spec.ttl: Invalid value: \"null\": spec.ttl in body must be of type string: \"null\" "
            "[FieldValueTypeInvalid]\n");
}

TEST(ValidateAgainstSchemaTest, RequiredFields) {
  json::value obj = Backup();
  obj.as_object()["spec"].as_object()["hooks"] =
      json::parse(R"({"resources":[{"pre":[{"exec":{"container":"c"}}]}]})");
  obj.as_object()["spec"].as_object()["labelSelector"] = json::parse(R"({"matchExpressions":[{"key":"a"}]})");
  std::vector<FieldCause> causes = ValidateAgainstSchema(obj, BackupSchema());
  EXPECT_EQ(Join(causes),
            "spec.labelSelector.matchExpressions[0].operator: Required value [FieldValueRequired]\n"
            "spec.hooks.resources[0].name: Required value [FieldValueRequired]\n"
            "spec.hooks.resources[0].pre[0].exec.command: Required value [FieldValueRequired]\n");
  json::value schema = json::parse(R"({"type":"object","required":["spec"],"properties":{"spec":{"type":"object",
      "required":["size"],"properties":{"size":{"type":"integer"}}}}})");
  EXPECT_EQ(Join(ValidateAgainstSchema(json::parse(R"({"kind":"X"})"), schema)),
            "spec: Required value [FieldValueRequired]\n");
  EXPECT_EQ(Join(ValidateAgainstSchema(json::parse(R"({"spec":{}})"), schema)),
            "spec.size: Required value [FieldValueRequired]\n");
}

TEST(ValidateAgainstSchemaTest, Enum) {
  json::value obj = Backup();
  obj.as_object()["status"].as_object()["phase"] = "Done";
  EXPECT_EQ(Join(ValidateAgainstSchema(obj, BackupSchema())),
            "status.phase: Unsupported value: \"Done\": supported values: \"New\", \"FailedValidation\", "
            "\"InProgress\", \"WaitingForPluginOperations\", \"Completed\", \"PartiallyFailed\", \"Failed\", "
            "\"Deleting\" [FieldValueNotSupported]\n");
  json::value schema = json::parse(R"({"type":"object","properties":{"n":{"type":"integer","enum":[1,2]}}})");
  EXPECT_EQ(Join(ValidateAgainstSchema(json::parse(R"({"n":3})"), schema)),
            "n: Unsupported value: 3: supported values: \"1\", \"2\" [FieldValueNotSupported]\n");
  EXPECT_EQ(Join(ValidateAgainstSchema(json::parse(R"({"n":2})"), schema)), "");
}

TEST(ValidateAgainstSchemaTest, PatternAndLengths) {
  json::value schema = json::parse(R"({"type":"object","properties":{"spec":{"type":"object","properties":{
      "ttl":{"type":"string","pattern":"^([0-9]+(\\.[0-9]+)?(h|m|s|ms))+$"},
      "name":{"type":"string","minLength":3,"maxLength":5}}}}})");
  EXPECT_EQ(Join(ValidateAgainstSchema(json::parse(R"({"spec":{"ttl":"720h0m0s","name":"abc"}})"), schema)), "");
  EXPECT_EQ(Join(ValidateAgainstSchema(json::parse(R"({"spec":{"ttl":"30 days","name":"ab"}})"), schema)),
            "spec.ttl: Invalid value: \"30 days\": spec.ttl in body should match "
            "'^([0-9]+(\\.[0-9]+)?(h|m|s|ms))+$' [FieldValueInvalid]\n"
            "spec.name: Invalid value: \"ab\": spec.name in body should be at least 3 chars long "
            "[FieldValueInvalid]\n");
  EXPECT_EQ(Join(ValidateAgainstSchema(json::parse(R"({"spec":{"name":"abcdef"}})"), schema)),
            "spec.name: Too long: may not be longer than 5 [FieldValueTooLong]\n");
  // Lengths count characters, not bytes.
  EXPECT_EQ(Join(ValidateAgainstSchema(json::parse(R"({"spec":{"name":"ééééé"}})"), schema)), "");
}

TEST(ValidateAgainstSchemaTest, MinimumMaximum) {
  json::value schema = json::parse(R"({"type":"object","properties":{"spec":{"type":"object","properties":{
      "replicas":{"type":"integer","minimum":1,"maximum":10},
      "ratio":{"type":"number","minimum":0,"maximum":1,"exclusiveMaximum":true,"exclusiveMinimum":true}}}}})");
  EXPECT_EQ(Join(ValidateAgainstSchema(json::parse(R"({"spec":{"replicas":5,"ratio":0.5}})"), schema)), "");
  EXPECT_EQ(Join(ValidateAgainstSchema(json::parse(R"({"spec":{"replicas":0,"ratio":1}})"), schema)),
            "spec.replicas: Invalid value: 0: spec.replicas in body should be greater than or equal to 1 "
            "[FieldValueInvalid]\n"
            "spec.ratio: Invalid value: 1: spec.ratio in body should be less than 1 [FieldValueInvalid]\n");
  EXPECT_EQ(Join(ValidateAgainstSchema(json::parse(R"({"spec":{"replicas":11,"ratio":0}})"), schema)),
            "spec.replicas: Invalid value: 11: spec.replicas in body should be less than or equal to 10 "
            "[FieldValueInvalid]\n"
            "spec.ratio: Invalid value: 0: spec.ratio in body should be greater than 0 [FieldValueInvalid]\n");
  EXPECT_EQ(Join(ValidateAgainstSchema(json::parse(R"({"spec":{"ratio":1.5}})"), schema)),
            "spec.ratio: Invalid value: 1.5: spec.ratio in body should be less than 1 [FieldValueInvalid]\n");
}

TEST(ValidateAgainstSchemaTest, NumbersArePrintedLikeGo) {
  json::value schema = json::parse(R"({"type":"object","properties":{
      "a":{"type":"number","minimum":0.00001},
      "b":{"type":"number","maximum":1000000},
      "c":{"type":"number","maximum":123456.5},
      "d":{"type":"integer","multipleOf":5}}})");
  EXPECT_EQ(Join(ValidateAgainstSchema(json::parse(R"({"a":0.000001,"b":1e22,"c":1234567.25,"d":7})"), schema)),
            "a: Invalid value: 1e-06: a in body should be greater than or equal to 1e-05 [FieldValueInvalid]\n"
            "b: Invalid value: 1e+22: b in body should be less than or equal to 1e+06 [FieldValueInvalid]\n"
            "c: Invalid value: 1.23456725e+06: c in body should be less than or equal to 123456.5 "
            "[FieldValueInvalid]\n"
            "d: Invalid value: 7: d in body should be a multiple of 5 [FieldValueInvalid]\n");
}

TEST(ValidateAgainstSchemaTest, IntOrString) {
  json::value schema = json::parse(R"({"type":"object","properties":{"spec":{"type":"object","properties":{
      "port":{"x-kubernetes-int-or-string":true,"anyOf":[{"type":"integer"},{"type":"string"}]}}}}})");
  EXPECT_EQ(Join(ValidateAgainstSchema(json::parse(R"({"spec":{"port":8080}})"), schema)), "");
  EXPECT_EQ(Join(ValidateAgainstSchema(json::parse(R"({"spec":{"port":"http"}})"), schema)), "");
  std::string got = Join(ValidateAgainstSchema(json::parse(R"({"spec":{"port":true}})"), schema));
  EXPECT_NE(got.find("spec.port: Invalid value: \"boolean\": spec.port in body must be of type integer,string: "
                     "\"boolean\" [FieldValueTypeInvalid]\n"),
            std::string::npos)
      << got;
}

TEST(ValidateAgainstSchemaTest, ItemsPropertiesAndFormats) {
  json::value schema = json::parse(R"({"type":"object","properties":{"spec":{"type":"object","properties":{
      "command":{"type":"array","minItems":1,"maxItems":2,"items":{"type":"string"}},
      "labels":{"type":"object","maxProperties":1,"minProperties":1,"additionalProperties":{"type":"string"}},
      "when":{"type":"string","format":"date-time"},
      "id":{"type":"string","format":"uuid"},
      "n":{"type":"integer","format":"int32"}}}}})");
  EXPECT_EQ(Join(ValidateAgainstSchema(json::parse(R"({"spec":{"command":["a"],"labels":{"a":"b"},
      "when":"2026-11-25T08:00:00.123+01:00","id":"123e4567-e89b-12d3-a456-426614174000","n":5000000000}})"),
                                       schema)),
            "");
  EXPECT_EQ(Join(ValidateAgainstSchema(json::parse(R"({"spec":{"command":[],"labels":{},"when":"yesterday",
      "id":"nope"}})"), schema)),
            "spec.command: Invalid value: 0: spec.command in body should have at least 1 items [FieldValueInvalid]\n"
            "spec.labels: Invalid value: 0: spec.labels in body should have at least 1 properties "
            "[FieldValueInvalid]\n"
            "spec.when: Invalid value: \"yesterday\": spec.when in body must be of type date-time: \"yesterday\" "
            "[FieldValueTypeInvalid]\n"
            "spec.id: Invalid value: \"nope\": spec.id in body must be of type uuid: \"nope\" "
            "[FieldValueTypeInvalid]\n");
  EXPECT_EQ(Join(ValidateAgainstSchema(json::parse(R"({"spec":{"command":["a","b","c"],"labels":{"a":"b","c":1}}})"),
                                       schema)),
            "spec.command: Too many: 3: must have at most 2 items [FieldValueTooMany]\n"
            "spec.labels: Too many: 2: must have at most 1 item [FieldValueTooMany]\n"
            "spec.labels.c: Invalid value: \"integer\": spec.labels.c in body must be of type string: \"integer\" "
            "[FieldValueTypeInvalid]\n");
}

TEST(ValidateAgainstSchemaTest, ListTypeSetAndMap) {
  json::value schema = json::parse(R"({"type":"object","properties":{"spec":{"type":"object","properties":{
      "namespaces":{"type":"array","x-kubernetes-list-type":"set","items":{"type":"string"}},
      "ports":{"type":"array","x-kubernetes-list-type":"map","x-kubernetes-list-map-keys":["name"],
               "items":{"type":"object","required":["name"],"properties":{"name":{"type":"string"},
                        "port":{"type":"integer"}}}}}}}})");
  EXPECT_EQ(Join(ValidateAgainstSchema(json::parse(R"({"spec":{"namespaces":["a","b"],
      "ports":[{"name":"a","port":1},{"name":"b","port":1}]}})"), schema)),
            "");
  EXPECT_EQ(Join(ValidateAgainstSchema(json::parse(R"({"spec":{"namespaces":["a","b","a"],
      "ports":[{"name":"a","port":1},{"name":"a","port":2}]}})"), schema)),
            "spec.namespaces[2]: Duplicate value: \"a\" [FieldValueDuplicate]\n"
            "spec.ports[1]: Duplicate value: map[string]interface {}{\"name\":\"a\"} [FieldValueDuplicate]\n");
}

TEST(ValidateAgainstSchemaTest, Combinators) {
  json::value schema = json::parse(R"({"type":"object","properties":{"spec":{"type":"object",
      "properties":{"a":{"type":"string"},"b":{"type":"string"}},
      "oneOf":[{"required":["a"]},{"required":["b"]}],
      "not":{"required":["c"]}}}})");
  EXPECT_EQ(Join(ValidateAgainstSchema(json::parse(R"({"spec":{"a":"x"}})"), schema)), "");
  std::string none = Join(ValidateAgainstSchema(json::parse(R"({"spec":{}})"), schema));
  EXPECT_NE(none.find("must validate one and only one schema (oneOf)"), std::string::npos) << none;
  std::string both = Join(ValidateAgainstSchema(json::parse(R"({"spec":{"a":"x","b":"y"}})"), schema));
  EXPECT_NE(both.find("must validate one and only one schema (oneOf)"), std::string::npos) << both;
  std::string negated = Join(ValidateAgainstSchema(json::parse(R"({"spec":{"a":"x","c":"z"}})"), schema));
  EXPECT_NE(negated.find("\"spec\" must not validate the schema (not)"), std::string::npos) << negated;
  json::value all = json::parse(R"({"type":"object","properties":{"n":{"type":"integer",
      "allOf":[{"minimum":1},{"maximum":3}]}}})");
  std::string got = Join(ValidateAgainstSchema(json::parse(R"({"n":5})"), all));
  EXPECT_NE(got.find("n: Invalid value: 5: n in body should be less than or equal to 3 [FieldValueInvalid]"),
            std::string::npos)
      << got;
}

TEST(ValidateAgainstSchemaTest, PreserveUnknownFieldsWithoutTypeAcceptsAnything) {
  json::value schema = json::parse(R"({"type":"object","properties":{"spec":{"x-kubernetes-preserve-unknown-fields":true}}})");
  EXPECT_EQ(Join(ValidateAgainstSchema(json::parse(R"({"spec":[1,"a",null]})"), schema)), "");
  EXPECT_EQ(Join(ValidateAgainstSchema(json::parse(R"({"spec":null})"), schema)), "");
}

// ----------------------------------------------------------------------------------------------
// Structural schema checks

TEST(ValidateStructuralSchemaTest, VeleroBackupSchemaIsStructural) {
  EXPECT_EQ(Join(ValidateStructuralSchema(BackupSchema(), kSchemaPath)), "");
}

TEST(ValidateStructuralSchemaTest, MissingSchema) {
  EXPECT_EQ(Join(ValidateStructuralSchema(json::value(nullptr), kSchemaPath)),
            "spec.versions[0].schema.openAPIV3Schema: Required value: schemas are required [FieldValueRequired]\n");
}

TEST(ValidateStructuralSchemaTest, MissingTypes) {
  json::value schema = json::parse(R"({"properties":{"spec":{"properties":{"a":{},
      "list":{"type":"array","items":{}},"arr":{"type":"array"}}}}})");
  EXPECT_EQ(Join(ValidateStructuralSchema(schema, kSchemaPath)),
            "spec.versions[0].schema.openAPIV3Schema.properties[spec].properties[a].type: Required value: must not "
            "be empty for specified object fields [FieldValueRequired]\n"
            "spec.versions[0].schema.openAPIV3Schema.properties[spec].properties[arr].items: Required value: must "
            "be specified [FieldValueRequired]\n"
            "spec.versions[0].schema.openAPIV3Schema.properties[spec].properties[list].items.type: Required value: "
            "must not be empty for specified array items [FieldValueRequired]\n"
            "spec.versions[0].schema.openAPIV3Schema.properties[spec].type: Required value: must not be empty for "
            "specified object fields [FieldValueRequired]\n"
            "spec.versions[0].schema.openAPIV3Schema.type: Required value: must not be empty at the root "
            "[FieldValueRequired]\n");
  // Allowed without type: int-or-string and preserve-unknown-fields.
  json::value ok = json::parse(R"({"type":"object","properties":{
      "a":{"x-kubernetes-int-or-string":true,"anyOf":[{"type":"integer"},{"type":"string"}]},
      "b":{"x-kubernetes-preserve-unknown-fields":true}}})");
  EXPECT_EQ(Join(ValidateStructuralSchema(ok, kSchemaPath)), "");
}

TEST(ValidateStructuralSchemaTest, RootAndMetadataRules) {
  EXPECT_EQ(Join(ValidateStructuralSchema(json::parse(R"({"type":"string"})"), kSchemaPath)),
            "spec.versions[0].schema.openAPIV3Schema.type: Invalid value: \"string\": must be object at the root "
            "[FieldValueInvalid]\n");
  json::value meta = json::parse(R"({"type":"object","properties":{"metadata":{"type":"object","properties":{
      "name":{"type":"string","maxLength":10},"labels":{"type":"object"}}}}})");
  EXPECT_EQ(Join(ValidateStructuralSchema(meta, kSchemaPath)),
            "spec.versions[0].schema.openAPIV3Schema.properties[metadata]: Forbidden: must not specify anything "
            "other than name and generateName, but metadata is implicitly specified [FieldValueForbidden]\n");
  json::value name_only = json::parse(R"({"type":"object","properties":{"metadata":{"type":"object","properties":{
      "name":{"type":"string","maxLength":10}}}}})");
  EXPECT_EQ(Join(ValidateStructuralSchema(name_only, kSchemaPath)), "");
  json::value root_ap = json::parse(R"({"type":"object","additionalProperties":{"type":"string"}})");
  EXPECT_EQ(Join(ValidateStructuralSchema(root_ap, kSchemaPath)),
            "spec.versions[0].schema.openAPIV3Schema.additionalProperties: Forbidden: must not be used at the root "
            "[FieldValueForbidden]\n");
}

TEST(ValidateStructuralSchemaTest, OpenAPIRestrictions) {
  json::value schema = json::parse(R"({"type":"object","properties":{"spec":{"type":"object",
      "properties":{"a":{"type":"string"}},"additionalProperties":{"type":"string"}},
      "list":{"type":"array","uniqueItems":true,"items":{"type":"string"}},
      "ref":{"type":"object","$ref":"#/definitions/x"},
      "keep":{"type":"object","x-kubernetes-preserve-unknown-fields":false},
      "bad":{"type":"strin"}}})");
  EXPECT_EQ(Join(ValidateStructuralSchema(schema, kSchemaPath)),
            "spec.versions[0].schema.openAPIV3Schema.properties[spec].additionalProperties: Forbidden: "
            "additionalProperties and properties are mutual exclusive [FieldValueForbidden]\n"
            "spec.versions[0].schema.openAPIV3Schema.properties[list].uniqueItems: Forbidden: uniqueItems cannot be "
            "set to true since the runtime complexity becomes quadratic [FieldValueForbidden]\n"
            "spec.versions[0].schema.openAPIV3Schema.properties[ref].$ref: Forbidden: $ref is not supported "
            "[FieldValueForbidden]\n"
            "spec.versions[0].schema.openAPIV3Schema.properties[keep].x-kubernetes-preserve-unknown-fields: Invalid "
            "value: false: must be true or undefined [FieldValueInvalid]\n"
            "spec.versions[0].schema.openAPIV3Schema.properties[bad].type: Unsupported value: \"strin\": supported "
            "values: \"array\", \"boolean\", \"integer\", \"number\", \"object\", \"string\" "
            "[FieldValueNotSupported]\n");
}

TEST(ValidateStructuralSchemaTest, NestedValueValidationAndEmbeddedResources) {
  json::value schema = json::parse(R"({"type":"object","properties":{
      "spec":{"type":"object","properties":{"a":{"type":"string"}},
              "anyOf":[{"type":"object","required":["a"]},{"properties":{"metadata":{}}}]},
      "tmpl":{"x-kubernetes-embedded-resource":true},
      "obj":{"type":"object","x-kubernetes-embedded-resource":true}}})");
  EXPECT_EQ(Join(ValidateStructuralSchema(schema, kSchemaPath)),
            "spec.versions[0].schema.openAPIV3Schema.properties[obj].properties: Required value: must not be empty "
            "if x-kubernetes-embedded-resource is true without x-kubernetes-preserve-unknown-fields "
            "[FieldValueRequired]\n"
            "spec.versions[0].schema.openAPIV3Schema.properties[spec].anyOf[0].type: Forbidden: must be empty to be "
            "structural [FieldValueForbidden]\n"
            "spec.versions[0].schema.openAPIV3Schema.properties[spec].anyOf[1].properties[metadata]: Forbidden: "
            "must not be specified in a nested context [FieldValueForbidden]\n"
            "spec.versions[0].schema.openAPIV3Schema.properties[tmpl].properties: Required value: must not be empty "
            "if x-kubernetes-embedded-resource is true without x-kubernetes-preserve-unknown-fields "
            "[FieldValueRequired]\n"
            "spec.versions[0].schema.openAPIV3Schema.properties[tmpl].type: Required value: must be object if "
            "x-kubernetes-embedded-resource is true [FieldValueRequired]\n");
}

TEST(ValidateStructuralSchemaTest, ListTypeRules) {
  json::value schema = json::parse(R"({"type":"object","properties":{
      "m":{"type":"array","x-kubernetes-list-type":"map","items":{"type":"object","properties":{"k":{"type":"string"}}}},
      "s":{"type":"string","x-kubernetes-list-type":"set"},
      "x":{"type":"array","x-kubernetes-list-type":"bag","items":{"type":"string"}}}})");
  EXPECT_EQ(Join(ValidateStructuralSchema(schema, kSchemaPath)),
            "spec.versions[0].schema.openAPIV3Schema.properties[m].x-kubernetes-list-map-keys: Required value: must "
            "not be empty if x-kubernetes-list-type is map [FieldValueRequired]\n"
            "spec.versions[0].schema.openAPIV3Schema.properties[s].type: Invalid value: \"string\": must be array if "
            "x-kubernetes-list-type is specified [FieldValueInvalid]\n"
            "spec.versions[0].schema.openAPIV3Schema.properties[x].x-kubernetes-list-type: Unsupported value: "
            "\"bag\": supported values: \"atomic\", \"set\", \"map\" [FieldValueNotSupported]\n");
}

TEST(ValidateStructuralSchemaTest, DefaultsForbiddenInTopLevelMeta) {
  json::value schema = json::parse(R"({"type":"object","properties":{"kind":{"type":"string","default":"X"}}})");
  EXPECT_EQ(Join(ValidateStructuralSchema(schema, kSchemaPath)),
            "spec.versions[0].schema.openAPIV3Schema.properties[kind].default: Forbidden: must not be set in "
            "top-level kind [FieldValueForbidden]\n");
}

TEST(ValidateStructuralSchemaTest, DefaultsMustBePrunedAndValid) {
  json::value schema = json::parse(R"({"type":"object","properties":{"spec":{"type":"object","properties":{
      "ttl":{"type":"string","default":720},
      "cfg":{"type":"object","default":{"a":"x","junk":1},"properties":{"a":{"type":"string"}}},
      "ok":{"type":"object","default":{"a":"x"},"properties":{"a":{"type":"string","default":"y"}}}}}}})");
  EXPECT_EQ(Join(ValidateStructuralSchema(schema, kSchemaPath)),
            "spec.versions[0].schema.openAPIV3Schema.properties[spec].properties[ttl].default: Invalid value: "
            "\"integer\": in body must be of type string: \"integer\" [FieldValueTypeInvalid]\n"
            "spec.versions[0].schema.openAPIV3Schema.properties[spec].properties[cfg].default: Invalid value: "
            "map[string]interface {}{\"a\":\"x\", \"junk\":1}: must not have unknown fields [FieldValueInvalid]\n");
}

TEST(CrdSchemaTest, MalformedSchemasAreTolerated) {
  for (const char* s : {R"("x")", "[]", R"({"type":5,"properties":[],"items":7,"required":"a","enum":3})",
                        R"({"type":"object","properties":{"a":5,"b":{"pattern":"("}}})"}) {
    json::value schema = json::parse(s);
    json::value obj = json::parse(R"({"a":{"b":[1,null]},"b":"x"})");
    std::vector<std::string> pruned;
    ValidateStructuralSchema(schema, kSchemaPath);
    PruneUnknownFields(obj, schema, &pruned);
    ApplyDefaults(obj, schema);
    ValidateAgainstSchema(obj, schema);
  }
  SUCCEED();
}

}  // namespace
}  // namespace kubesim
