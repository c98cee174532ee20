// Checks every property that Velero's CRDs declare under spec and status against the codecs:
// a sample object holding every property is read, its original JSON dropped, and written
// again; every property must come back with the same value. Copies of the CRDs live in
// test/testdata/api/crds (see README.md there).

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>

#include "lifeboat/api/backup.h"
#include "lifeboat/api/backup_storage_location.h"
#include "lifeboat/api/delete_backup_request.h"
#include "lifeboat/api/download_request.h"
#include "lifeboat/api/restore.h"
#include "lifeboat/api/schedule.h"
#include "lifeboat/api/server_status_request.h"
#include "lifeboat/api/volume_snapshot_location.h"
#include "lifeboat/common/yaml.h"

namespace lifeboat::api {
namespace {

namespace json = boost::json;

// Deliberately unhandled properties (path as built below), each with its reason.
const std::set<std::string> kUnhandled = {
    // none at present: every property of the v1 kinds Lifeboat serves is handled.
};

const std::set<std::string> kDurationFields = {
    "ttl", "csiSnapshotTimeout", "itemOperationTimeout", "timeout", "execTimeout",
    "waitTimeout", "backupSyncPeriod", "validationFrequency"};

json::value Sample(const json::object& schema, const std::string& name) {
  std::string type = schema.contains("type") ? std::string(schema.at("type").as_string()) : "";
  if (schema.contains("enum")) return schema.at("enum").as_array().at(0);
  if (type == "string") {
    if (schema.contains("format") && schema.at("format") == "date-time") {
      return json::string("2026-05-01T02:00:00Z");
    }
    if (schema.contains("format") && schema.at("format") == "byte") return json::string("YQ==");
    if (kDurationFields.count(name)) return json::string("1h0m0s");
    if (name == "operator") return json::string("In");
    return json::string("s");
  }
  if (type == "integer") return 2;
  if (type == "boolean") return true;
  if (type == "array") {
    json::array a;
    if (schema.contains("items")) {
      a.push_back(Sample(schema.at("items").as_object(), name));
    }
    return a;
  }
  json::object o;
  if (schema.contains("properties")) {
    for (const auto& kv : schema.at("properties").as_object()) {
      o[kv.key()] = Sample(kv.value().as_object(), std::string(kv.key()));
    }
  } else if (schema.contains("additionalProperties") &&
             schema.at("additionalProperties").is_object()) {
    o["k"] = Sample(schema.at("additionalProperties").as_object(), "value");
  } else if (schema.contains("x-kubernetes-preserve-unknown-fields")) {
    o["name"] = "c";
  }
  return o;
}

// Every leaf of `want` (by path) that is missing from or different in `got`.
void Diff(const json::value& want, const json::value* got, const std::string& path,
          std::vector<std::string>* missing) {
  if (want.is_object() && !want.as_object().empty()) {
    for (const auto& kv : want.as_object()) {
      const json::value* g = (got && got->is_object()) ? got->as_object().if_contains(kv.key())
                                                       : nullptr;
      Diff(kv.value(), g, path + "." + std::string(kv.key()), missing);
    }
    return;
  }
  if (want.is_array() && !want.as_array().empty() && want.as_array()[0].is_object()) {
    const json::value* g =
        (got && got->is_array() && !got->as_array().empty()) ? &got->as_array()[0] : nullptr;
    Diff(want.as_array()[0], g, path + "[]", missing);
    return;
  }
  if (got == nullptr || *got != want) missing->push_back(path);
}

json::object LoadCrdSchema(const std::string& file) {
  std::ifstream in(std::filesystem::path(LIFEBOAT_SOURCE_DIR) / "test/testdata/api/crds" / file);
  std::stringstream ss;
  ss << in.rdbuf();
  StatusOr<json::value> crd = YamlToJson(ss.str());
  EXPECT_TRUE(crd.ok()) << file << ": " << crd.status();
  if (!crd.ok()) return {};
  const json::array& versions = crd->at("spec").at("versions").as_array();
  for (const auto& v : versions) {
    if (v.at("name") == "v1") return v.at("schema").at("openAPIV3Schema").as_object();
  }
  ADD_FAILURE() << file << " has no v1 version";
  return {};
}

using RoundTrip = std::function<StatusOr<json::value>(const json::value&)>;

template <typename T>
RoundTrip Via(StatusOr<T> (*from)(const json::value&)) {
  return [from](const json::value& in) -> StatusOr<json::value> {
    LIFEBOAT_ASSIGN_OR_RETURN(T obj, from(in));
    obj.raw = {};  // only the typed fields may carry the values back
    return ToJson(obj);
  };
}

void CheckCrd(const std::string& file, const std::string& kind, const RoundTrip& round_trip) {
  json::object schema = LoadCrdSchema(file);
  ASSERT_FALSE(schema.empty());
  json::object sample;
  sample["apiVersion"] = "velero.io/v1";
  sample["kind"] = json::string(kind);
  sample["metadata"] = json::object{{"name", "x"}, {"namespace", "velero"}};
  for (const char* top : {"spec", "status"}) {
    const json::object& props = schema.at("properties").as_object();
    if (props.contains(top)) sample[top] = Sample(props.at(top).as_object(), top);
  }
  StatusOr<json::value> out = round_trip(sample);
  ASSERT_TRUE(out.ok()) << file << ": " << out.status() << "\n" << json::serialize(sample);
  std::vector<std::string> missing;
  for (const char* top : {"spec", "status"}) {
    if (!sample.contains(top)) continue;
    Diff(sample.at(top), out->as_object().if_contains(top), top, &missing);
  }
  int checked = 0;
  for (const auto& m : missing) {
    if (kUnhandled.count(kind + ":" + m)) continue;
    ADD_FAILURE() << kind << ": CRD property " << m << " is not handled by the codec";
  }
  ++checked;
  EXPECT_GT(checked, 0);
}

TEST(CrdCoverageTest, Backup) { CheckCrd("velero.io_backups.yaml", "Backup", Via(&BackupFromJson)); }
TEST(CrdCoverageTest, Restore) {
  CheckCrd("velero.io_restores.yaml", "Restore", Via(&RestoreFromJson));
}
TEST(CrdCoverageTest, Schedule) {
  CheckCrd("velero.io_schedules.yaml", "Schedule", Via(&ScheduleFromJson));
}
TEST(CrdCoverageTest, BackupStorageLocation) {
  CheckCrd("velero.io_backupstoragelocations.yaml", "BackupStorageLocation",
           Via(&BackupStorageLocationFromJson));
}
TEST(CrdCoverageTest, VolumeSnapshotLocation) {
  CheckCrd("velero.io_volumesnapshotlocations.yaml", "VolumeSnapshotLocation",
           Via(&VolumeSnapshotLocationFromJson));
}
TEST(CrdCoverageTest, DeleteBackupRequest) {
  CheckCrd("velero.io_deletebackuprequests.yaml", "DeleteBackupRequest",
           Via(&DeleteBackupRequestFromJson));
}
TEST(CrdCoverageTest, DownloadRequest) {
  CheckCrd("velero.io_downloadrequests.yaml", "DownloadRequest", Via(&DownloadRequestFromJson));
}
TEST(CrdCoverageTest, ServerStatusRequest) {
  CheckCrd("velero.io_serverstatusrequests.yaml", "ServerStatusRequest",
           Via(&ServerStatusRequestFromJson));
}

// The check itself must be able to fail: a property the codec does not know is reported.
TEST(CrdCoverageTest, DetectsAnUnhandledProperty) {
  json::value want = json::object{{"known", 1}, {"unknownToCodec", "x"}};
  json::value got = json::object{{"known", 1}};
  std::vector<std::string> missing;
  Diff(want, &got, "spec", &missing);
  EXPECT_EQ(missing, std::vector<std::string>{"spec.unknownToCodec"});
}

}  // namespace
}  // namespace lifeboat::api
