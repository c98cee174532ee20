#include "lifeboat/api/backup.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "lifeboat/api/builders.h"
#include "lifeboat/common/json.h"

namespace lifeboat::api {
namespace {

namespace json = boost::json;
using std::chrono::hours;
using std::chrono::minutes;

json::value LoadJson(const std::string& name) {
  std::ifstream in(std::filesystem::path(LIFEBOAT_SOURCE_DIR) / "test/testdata/api" / name);
  std::stringstream ss;
  ss << in.rdbuf();
  StatusOr<json::value> v = ParseJson(ss.str());
  EXPECT_TRUE(v.ok()) << name << ": " << v.status();
  return v.ok() ? *v : json::value();
}

TEST(BackupCodecTest, GoldenVeleroBackupJsonReadsFieldForField) {
  StatusOr<Backup> b = BackupFromJson(LoadJson("velero-backup.json"));
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(b->metadata.name, "nightly-20260501020000");
  EXPECT_EQ(b->metadata.namespace_, "velero");
  EXPECT_EQ(b->metadata.generation, 5);
  EXPECT_EQ(b->metadata.creation_timestamp, "2026-05-01T02:00:00Z");
  EXPECT_EQ(b->metadata.labels.at("velero.io/schedule-name"), "nightly");
  EXPECT_EQ(b->metadata.annotations.at("velero.io/resource-timeout"), "10m0s");
  EXPECT_EQ(b->spec.included_namespaces, std::vector<std::string>{"shop"});
  EXPECT_EQ(b->spec.ttl, hours(720));
  EXPECT_EQ(b->spec.csi_snapshot_timeout, minutes(10));
  EXPECT_EQ(b->spec.item_operation_timeout, hours(4));
  EXPECT_EQ(b->spec.volume_group_snapshot_label_key, "velero.io/volume-group");
  EXPECT_EQ(b->spec.storage_location, "default");
  EXPECT_EQ(b->spec.volume_snapshot_locations, std::vector<std::string>{"default"});
  EXPECT_EQ(b->spec.default_volumes_to_fs_backup, false);
  EXPECT_EQ(b->spec.snapshot_move_data, false);
  EXPECT_FALSE(b->spec.snapshot_volumes.has_value());
  EXPECT_FALSE(b->spec.include_cluster_resources.has_value());
  EXPECT_EQ(b->status.version, 1);
  EXPECT_EQ(b->status.format_version, kBackupFormatVersion);
  EXPECT_EQ(b->status.phase, BackupPhase::kCompleted);
  EXPECT_EQ(b->status.expiration, "2026-05-31T02:00:00Z");
  EXPECT_EQ(b->status.completion_timestamp, "2026-05-01T02:01:12Z");
  ASSERT_TRUE(b->status.progress.has_value());
  EXPECT_EQ(b->status.progress->total_items, 14);
  EXPECT_EQ(b->status.progress->items_backed_up, 14);
  EXPECT_EQ(b->status.csi_volume_snapshots_attempted, 1);
  EXPECT_EQ(b->status.backup_item_operations_completed, 1);
  EXPECT_EQ(b->status.hook_status, HookStatus{});
}

TEST(BackupCodecTest, GoldenRoundTripsExactly) {
  for (const char* name : {"velero-backup.json", "backup-full.json"}) {
    json::value in = LoadJson(name);
    StatusOr<Backup> b = BackupFromJson(in);
    ASSERT_TRUE(b.ok()) << name << ": " << b.status();
    EXPECT_EQ(ToJson(*b), in) << name << "\n" << json::serialize(ToJson(*b));
    // Without the original object (as if built in code) every known field is still written.
    Backup bare = *b;
    bare.raw = {};
    json::value out = ToJson(bare);
    json::value expected = in;
    expected.as_object()["metadata"].as_object().erase("managedFields");
    EXPECT_EQ(out, expected) << name << "\n" << json::serialize(out);
  }
}

TEST(BackupCodecTest, FullSpecFieldsParse) {
  StatusOr<Backup> b = BackupFromJson(LoadJson("backup-full.json"));
  ASSERT_TRUE(b.ok()) << b.status();
  const BackupSpec& s = b->spec;
  EXPECT_EQ(s.metadata.labels.at("team"), "a");
  EXPECT_EQ(s.or_label_selectors.size(), 2u);
  EXPECT_EQ(s.ttl, hours(1) + minutes(30));
  ASSERT_EQ(s.hooks.resources.size(), 1u);
  const BackupResourceHookSpec& h = s.hooks.resources[0];
  EXPECT_EQ(h.name, "freeze");
  ASSERT_EQ(h.pre.size(), 1u);
  ASSERT_TRUE(h.pre[0].exec.has_value());
  EXPECT_EQ(h.pre[0].exec->container, "pg");
  EXPECT_EQ(h.pre[0].exec->on_error, HookErrorMode::kFail);
  EXPECT_EQ(h.pre[0].exec->timeout, std::chrono::seconds(30));
  EXPECT_EQ(h.post[0].exec->on_error, HookErrorMode::kContinue);
  EXPECT_TRUE(h.label_selector->Matches({{"app", "postgres"}}));
  EXPECT_EQ(s.ordered_resources.at("pods"), "db/pg-0,db/pg-1");
  ASSERT_TRUE(s.resource_policy.has_value());
  EXPECT_EQ(s.resource_policy->name, "policy");
  EXPECT_FALSE(s.resource_policy->api_group.has_value());
  EXPECT_EQ(s.uploader_config->parallel_files_upload, 4);
  EXPECT_EQ(s.backup_type, "Full");
  EXPECT_EQ(b->status.hook_status->hooks_failed, 1);
  EXPECT_EQ(b->status.queue_position, 2);
  EXPECT_EQ(b->metadata.finalizers, std::vector<std::string>{"velero.io/x"});
}

TEST(BackupCodecTest, UnknownFieldsSurviveReadModifyWrite) {
  json::value in = LoadJson("backup-full.json");
  json::object& o = in.as_object();
  o["futureTopLevel"] = "keep";
  o["metadata"].as_object()["ownerReferences"] =
      json::array{json::object{{"kind", "Schedule"}, {"name", "nightly"}}};
  o["spec"].as_object()["futureSpecField"] = json::object{{"x", 1}};
  o["spec"].as_object()["hooks"].as_object()["resources"].as_array()[0].as_object()["future"] =
      true;
  o["spec"].as_object()["uploaderConfig"].as_object()["futureKnob"] = 3;
  o["status"].as_object()["futureCounter"] = 9;
  o["status"].as_object()["hookStatus"].as_object()["hooksSkipped"] = 2;

  StatusOr<Backup> b = BackupFromJson(in);
  ASSERT_TRUE(b.ok()) << b.status();
  b->status.phase = BackupPhase::kCompleted;
  b->status.errors = 0;
  b->spec.excluded_namespaces.clear();
  b->metadata.labels["new"] = "label";
  json::value out = ToJson(*b);
  const json::object& w = out.as_object();
  EXPECT_EQ(w.at("futureTopLevel"), "keep");
  EXPECT_EQ(w.at("metadata").at("ownerReferences").as_array().size(), 1u);
  EXPECT_EQ(w.at("metadata").at("labels").at("new"), "label");
  EXPECT_EQ(w.at("spec").at("futureSpecField").at("x"), 1);
  EXPECT_EQ(w.at("spec").at("hooks").at("resources").at(0).at("future"), true);
  EXPECT_EQ(w.at("spec").at("uploaderConfig").at("futureKnob"), 3);
  EXPECT_EQ(w.at("status").at("futureCounter"), 9);
  EXPECT_EQ(w.at("status").at("hookStatus").at("hooksSkipped"), 2);
  EXPECT_EQ(w.at("status").at("phase"), "Completed");
  EXPECT_FALSE(w.at("status").as_object().contains("errors"));  // cleared known field removed
  EXPECT_FALSE(w.at("spec").as_object().contains("excludedNamespaces"));
  // And the result reads back to the same typed object.
  StatusOr<Backup> again = BackupFromJson(out);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->spec, b->spec);
  EXPECT_EQ(again->status, b->status);
  EXPECT_EQ(again->metadata, b->metadata);
}

TEST(BackupCodecTest, BuiltObjectWritesGoOmitemptyShape) {
  Backup b = BackupBuilder("velero", "b1").IncludedNamespaces({"app"}).Ttl(hours(1)).Build();
  EXPECT_EQ(json::serialize(ToJson(b)),
            R"({"kind":"Backup","apiVersion":"velero.io/v1","metadata":{"name":"b1",)"
            R"("namespace":"velero"},"spec":{"metadata":{},"includedNamespaces":["app"],)"
            R"("ttl":"1h0m0s","hooks":{},"csiSnapshotTimeout":"0s",)"
            R"("itemOperationTimeout":"0s"},"status":{}})");
  b.spec.include_cluster_resources = false;
  b.status.progress = BackupProgress{};
  json::value out = ToJson(b);
  EXPECT_EQ(out.at("spec").at("includeClusterResources"), false);
  EXPECT_EQ(out.at("status").at("progress"), json::object());
}

TEST(BackupCodecTest, WrongTypesNameTheFieldPath) {
  auto err = [](std::string_view text) {
    StatusOr<Backup> b = BackupFromJson(*ParseJson(text));
    EXPECT_FALSE(b.ok()) << text;
    EXPECT_EQ(b.status().code(), absl::StatusCode::kInvalidArgument);
    return std::string(b.status().message());
  };
  EXPECT_EQ(err(R"({"spec":{"includedNamespaces":["a","b",3]}})"),
            "spec.includedNamespaces[2]: must be a string");
  EXPECT_EQ(err(R"({"spec":{"ttl":"30d"}})"),
            "spec.ttl: time: unknown unit \"d\" in duration \"30d\"");
  EXPECT_EQ(err(R"({"spec":{"snapshotVolumes":"yes"}})"), "spec.snapshotVolumes: must be a boolean");
  EXPECT_EQ(err(R"({"spec":{"hooks":{"resources":[{"name":"h","pre":[{"exec":{"command":"ls"}}]}]}}})"),
            "spec.hooks.resources[0].pre[0].exec.command: must be an array of strings");
  EXPECT_EQ(err(R"({"spec":{"hooks":{"resources":[{"name":"h","post":[{"exec":{"command":["ls"],"onError":"Retry"}}]}]}}})"),
            "spec.hooks.resources[0].post[0].exec.onError: unsupported value \"Retry\"");
  EXPECT_EQ(err(R"({"status":{"phase":"Exploded"}})"), "status.phase: unsupported value \"Exploded\"");
  EXPECT_EQ(err(R"({"status":{"progress":{"totalItems":1.5}}})"),
            "status.progress.totalItems: must be an integer");
  EXPECT_EQ(err(R"({"status":{"expiration":"tomorrow"}})"),
            "status.expiration: invalid RFC 3339 time \"tomorrow\"");
  EXPECT_EQ(err(R"({"spec":{"labelSelector":{"matchExpressions":[{"key":"a","operator":"Near"}]}}})"),
            "spec.labelSelector: \"Near\" is not a valid label selector operator");
  EXPECT_EQ(err(R"({"spec":[]})"), "spec: must be an object");
  EXPECT_EQ(err(R"({"kind":"Restore"})"), "kind: expected \"Backup\", got \"Restore\"");
  EXPECT_EQ(err(R"({"apiVersion":"velero.io/v2"})"),
            "apiVersion: expected \"velero.io/v1\", got \"velero.io/v2\"");
  EXPECT_EQ(err("[]"), "Backup: must be an object");
}

TEST(BackupCodecTest, NullsReadAsUnset) {
  StatusOr<Backup> b = BackupFromJson(
      *ParseJson(R"({"spec":{"includedNamespaces":null,"labelSelector":null,"ttl":null},"status":null})"));
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_TRUE(b->spec.included_namespaces.empty());
  EXPECT_FALSE(b->spec.label_selector.has_value());
}

TEST(BackupCodecTest, PhaseNamesAreVelero) {
  EXPECT_EQ(ToString(BackupPhase::kWaitingForPluginOperationsPartiallyFailed),
            "WaitingForPluginOperationsPartiallyFailed");
  EXPECT_EQ(ParseBackupPhase("ReadyToStart"), BackupPhase::kReadyToStart);
  EXPECT_EQ(ParseBackupPhase(""), BackupPhase::kUnset);
  EXPECT_FALSE(ParseBackupPhase("completed").has_value());
}

}  // namespace
}  // namespace lifeboat::api
