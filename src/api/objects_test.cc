// Codecs of the kinds other than Backup: round trips, field checks, unknown fields, errors.

#include <gtest/gtest.h>

#include "lifeboat/api/backup_storage_location.h"
#include "lifeboat/api/delete_backup_request.h"
#include "lifeboat/api/download_request.h"
#include "lifeboat/api/restore.h"
#include "lifeboat/api/schedule.h"
#include "lifeboat/api/server_status_request.h"
#include "lifeboat/api/volume_snapshot_location.h"
#include "lifeboat/common/json.h"

namespace lifeboat::api {
namespace {

namespace json = boost::json;
using std::chrono::hours;
using std::chrono::minutes;

json::value J(std::string_view s) {
  StatusOr<json::value> v = ParseJson(s);
  EXPECT_TRUE(v.ok()) << v.status();
  return v.ok() ? *v : json::value();
}

constexpr char kRestore[] = R"({
  "apiVersion": "velero.io/v1", "kind": "Restore",
  "metadata": {"name": "r1", "namespace": "velero", "finalizers": ["restores.velero.io/external-resources-finalizer"]},
  "spec": {
    "backupName": "b1",
    "includedNamespaces": ["shop"],
    "excludedResources": ["nodes", "events"],
    "namespaceMapping": {"shop": "shop-copy"},
    "labelSelector": {"matchLabels": {"app": "web"}},
    "restorePVs": false,
    "restoreStatus": {"includedResources": ["workflows"]},
    "preserveNodePorts": true,
    "includeClusterResources": true,
    "hooks": {"resources": [{"name": "warm", "includedNamespaces": ["shop"], "postHooks": [
      {"exec": {"container": "app", "command": ["/warm"], "onError": "Continue", "execTimeout": "1m0s", "waitTimeout": "5m0s", "waitForReady": true}},
      {"init": {"initContainers": [{"name": "restore", "image": "busybox", "futureField": 1}], "timeout": "2m0s"}}
    ]}]},
    "existingResourcePolicy": "update",
    "itemOperationTimeout": "4h0m0s",
    "resourceModifier": {"apiGroup": "", "kind": "ConfigMap", "name": "mods"},
    "uploaderConfig": {"writeSparseFiles": true, "parallelFilesDownload": 8}
  },
  "status": {"phase": "PartiallyFailed", "warnings": 2, "errors": 1, "startTimestamp": "2026-05-02T09:30:11Z",
             "progress": {"totalItems": 40, "itemsRestored": 39}, "hookStatus": {"hooksAttempted": 1}}
})";

TEST(RestoreCodecTest, RoundTripAndFields) {
  json::value in = J(kRestore);
  StatusOr<Restore> r = RestoreFromJson(in);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->spec.backup_name, "b1");
  EXPECT_EQ(r->spec.namespace_mapping.at("shop"), "shop-copy");
  EXPECT_EQ(r->spec.restore_pvs, false);
  EXPECT_EQ(r->spec.restore_status->included_resources, std::vector<std::string>{"workflows"});
  ASSERT_EQ(r->spec.hooks.resources.at(0).post_hooks.size(), 2u);
  const auto& exec = r->spec.hooks.resources[0].post_hooks[0].exec;
  ASSERT_TRUE(exec.has_value());
  EXPECT_EQ(exec->exec_timeout, minutes(1));
  EXPECT_EQ(exec->wait_timeout, minutes(5));
  EXPECT_EQ(exec->wait_for_ready, true);
  const auto& init = r->spec.hooks.resources[0].post_hooks[1].init;
  ASSERT_TRUE(init.has_value());
  EXPECT_EQ(init->init_containers.at(0).at("futureField"), 1);  // schema-less: kept whole
  EXPECT_EQ(r->spec.resource_modifier->api_group, "");
  EXPECT_EQ(r->status.phase, RestorePhase::kPartiallyFailed);
  EXPECT_EQ(r->status.progress->items_restored, 39);
  EXPECT_EQ(ToJson(*r), in) << json::serialize(ToJson(*r));
  Restore bare = *r;
  bare.raw = {};
  EXPECT_EQ(ToJson(bare), in) << json::serialize(ToJson(bare));
}

TEST(RestoreCodecTest, Errors) {
  EXPECT_EQ(RestoreFromJson(J(R"({"spec":{"namespaceMapping":{"a":1}}})")).status().message(),
            "spec.namespaceMapping.a: must be a string");
  EXPECT_EQ(RestoreFromJson(J(R"({"spec":{"hooks":{"resources":[{"postHooks":[{"exec":{"waitTimeout":"soon"}}]}]}}})"))
                .status()
                .message(),
            "spec.hooks.resources[0].postHooks[0].exec.waitTimeout: time: invalid duration \"soon\"");
  EXPECT_EQ(RestoreFromJson(J(R"({"status":{"phase":"Queued"}})")).status().message(),
            "status.phase: unsupported value \"Queued\"");
  EXPECT_EQ(ToString(RestorePhase::kFinalizingPartiallyFailed), "FinalizingPartiallyFailed");
}

TEST(ScheduleCodecTest, RoundTripKeepsTemplateUnknownFields) {
  json::value in = J(R"({
    "apiVersion": "velero.io/v1", "kind": "Schedule",
    "metadata": {"name": "nightly", "namespace": "velero", "labels": {"team": "a"}},
    "spec": {"schedule": "CRON_TZ=Europe/Paris 0 2 * * *", "paused": true, "skipImmediately": false,
             "useOwnerReferencesInBackup": true,
             "template": {"metadata": {"labels": {"x": "y"}}, "includedNamespaces": ["shop"], "ttl": "168h0m0s",
                          "hooks": {}, "csiSnapshotTimeout": "0s", "itemOperationTimeout": "0s", "futureTemplateField": "v"}},
    "status": {"phase": "Enabled", "lastBackup": "2026-05-01T02:00:00Z", "lastSkipped": "2026-04-30T02:00:00Z"}
  })");
  StatusOr<Schedule> s = ScheduleFromJson(in);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->spec.schedule, "CRON_TZ=Europe/Paris 0 2 * * *");
  EXPECT_TRUE(s->spec.paused);
  EXPECT_EQ(s->spec.skip_immediately, false);
  EXPECT_EQ(s->spec.template_.ttl, hours(168));
  EXPECT_EQ(s->spec.template_.metadata.labels.at("x"), "y");
  EXPECT_EQ(s->status.phase, SchedulePhase::kEnabled);
  EXPECT_EQ(ToJson(*s), in) << json::serialize(ToJson(*s));
  EXPECT_EQ(ScheduleFromJson(J(R"({"spec":{"template":{"ttl":5}}})")).status().message(),
            "spec.template.ttl: must be a duration string");
}

TEST(BackupStorageLocationCodecTest, RoundTripAndFields) {
  json::value in = J(R"({
    "apiVersion": "velero.io/v1", "kind": "BackupStorageLocation",
    "metadata": {"name": "default", "namespace": "velero"},
    "spec": {"provider": "azure", "config": {"resourceGroup": "rg", "storageAccount": "sa"},
             "credential": {"name": "cloud-credentials", "key": "cloud"},
             "objectStorage": {"bucket": "velero", "prefix": "cluster-a",
                               "caCertRef": {"name": "ca", "key": "ca.crt", "optional": false}},
             "default": true, "accessMode": "ReadOnly", "backupSyncPeriod": "0s", "validationFrequency": "1m0s"},
    "status": {"phase": "Unavailable", "message": "BackupStorageLocation \"default\" is unavailable: x",
               "lastValidationTime": "2026-05-01T02:00:00Z"}
  })");
  StatusOr<BackupStorageLocation> l = BackupStorageLocationFromJson(in);
  ASSERT_TRUE(l.ok()) << l.status();
  EXPECT_EQ(l->spec.provider, "azure");
  EXPECT_EQ(l->spec.object_storage.prefix, "cluster-a");
  EXPECT_EQ(l->spec.credential->key, "cloud");
  EXPECT_EQ(l->spec.object_storage.ca_cert_ref->optional, false);
  EXPECT_TRUE(l->spec.default_);
  EXPECT_EQ(l->spec.access_mode, AccessMode::kReadOnly);
  EXPECT_EQ(l->spec.backup_sync_period, std::chrono::nanoseconds(0));  // set, zero: sync off
  EXPECT_EQ(l->spec.validation_frequency, minutes(1));
  EXPECT_EQ(l->status.phase, BackupStorageLocationPhase::kUnavailable);
  EXPECT_EQ(ToJson(*l), in) << json::serialize(ToJson(*l));
  BackupStorageLocation bare = *l;
  bare.raw = {};
  EXPECT_EQ(ToJson(bare), in);
  EXPECT_FALSE(BackupStorageLocationFromJson(J(R"({"spec":{"accessMode":"WriteOnly"}})")).ok());
}

TEST(VolumeSnapshotLocationCodecTest, RoundTrip) {
  json::value in = J(R"({"apiVersion":"velero.io/v1","kind":"VolumeSnapshotLocation",
    "metadata":{"name":"azure-disk","namespace":"velero"},
    "spec":{"provider":"velero.io/azure","config":{"incremental":"true"},"credential":{"name":"c","key":"k"}},
    "status":{"phase":"Available"}})");
  StatusOr<VolumeSnapshotLocation> l = VolumeSnapshotLocationFromJson(in);
  ASSERT_TRUE(l.ok()) << l.status();
  EXPECT_EQ(l->spec.config.at("incremental"), "true");
  EXPECT_EQ(ToJson(*l), in);
}

TEST(RequestCodecTest, DeleteBackupRequest) {
  json::value in = J(R"({"apiVersion":"velero.io/v1","kind":"DeleteBackupRequest",
    "metadata":{"generateName":"b1-","name":"b1-x7k2p","namespace":"velero",
                "labels":{"velero.io/backup-name":"b1","velero.io/backup-uid":"u"}},
    "spec":{"backupName":"b1"},"status":{"phase":"Processed","errors":["backup not found"]}})");
  StatusOr<DeleteBackupRequest> r = DeleteBackupRequestFromJson(in);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->metadata.generate_name, "b1-");
  EXPECT_EQ(r->spec.backup_name, "b1");
  EXPECT_EQ(r->status.phase, DeleteBackupRequestPhase::kProcessed);
  EXPECT_EQ(ToJson(*r), in);
}

TEST(RequestCodecTest, DownloadRequest) {
  json::value in = J(R"({"apiVersion":"velero.io/v1","kind":"DownloadRequest",
    "metadata":{"name":"b1-0f3c","namespace":"velero"},
    "spec":{"target":{"kind":"BackupLog","name":"b1"}},
    "status":{"phase":"Processed","downloadURL":"https://example/x","expiration":"2026-05-01T02:10:00Z"}})");
  StatusOr<DownloadRequest> r = DownloadRequestFromJson(in);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->spec.target_kind, DownloadTargetKind::kBackupLog);
  EXPECT_EQ(r->spec.target_name, "b1");
  EXPECT_EQ(ToJson(*r), in);
  EXPECT_EQ(ParseDownloadTargetKind("CSIBackupVolumeSnapshotContents"),
            DownloadTargetKind::kCSIBackupVolumeSnapshotContents);
  EXPECT_EQ(DownloadRequestFromJson(J(R"({"spec":{"target":{"kind":"Everything"}}})"))
                .status()
                .message(),
            "spec.target.kind: unsupported value \"Everything\"");
}

TEST(RequestCodecTest, ServerStatusRequest) {
  json::value in = J(R"({"apiVersion":"velero.io/v1","kind":"ServerStatusRequest",
    "metadata":{"generateName":"velero-cli-","name":"velero-cli-abc","namespace":"velero"},
    "spec":{},
    "status":{"phase":"Processed","processedTimestamp":"2026-05-01T02:00:00Z","serverVersion":"v0.1.0",
              "plugins":[{"name":"velero.io/pod","kind":"BackupItemAction"}]}})");
  StatusOr<ServerStatusRequest> r = ServerStatusRequestFromJson(in);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->status.plugins.size(), 1u);
  EXPECT_EQ(r->status.plugins[0].kind, "BackupItemAction");
  EXPECT_EQ(ToJson(*r), in);
}

TEST(ObjectMetaCodecTest, WrongTypes) {
  EXPECT_EQ(ObjectMetaFromJson(J(R"({"labels":{"a":1}})")).status().message(),
            "metadata.labels.a: must be a string");
  EXPECT_EQ(ObjectMetaFromJson(J(R"({"generation":"7"})")).status().message(),
            "metadata.generation: must be an integer");
  EXPECT_EQ(ObjectMetaFromJson(J("[]")).status().message(), "metadata: must be an object");
}

}  // namespace
}  // namespace lifeboat::api
