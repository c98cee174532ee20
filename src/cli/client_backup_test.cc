#include <gtest/gtest.h>

#include "lifeboat/api/duration.h"
#include "src/cli/backup_commands.h"

namespace lifeboat::cli {
namespace {

using std::chrono::hours;
using std::chrono::minutes;

api::TimePoint T(const char* s) { return *api::ParseRfc3339(s); }

TEST(BuildBackupTest, EveryFlagMapsToItsField) {
  BackupCreateFlags f;
  f.name = "b1";
  f.labels = "team=a,env=prod";
  f.annotations = "note=x";
  auto& s = f.spec;
  s.include_namespaces = {"app", "db"};
  s.exclude_namespaces = {"kube-system"};
  s.include_resources = {"deployments", "configmaps"};
  s.exclude_resources = {"secrets"};
  s.include_cluster_resources = "false";
  s.selector = "app=web";
  s.ttl = "24h";
  s.csi_snapshot_timeout = "5m";
  s.item_operation_timeout = "2h";
  s.snapshot_volumes = "true";
  s.default_volumes_to_fs_backup = "false";
  s.storage_location = "primary";
  s.volume_snapshot_locations = {"vsl1", "vsl2"};
  s.ordered_resources = "pods=ns1/pod1,ns1/pod2;persistentvolumes=pv4,pv8";
  s.resource_policies_configmap = "policies";
  s.parallel_files_upload = 4;
  auto b = BuildBackup(f, "velero", T("2026-05-01T00:00:00Z"), nullptr);
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(b->metadata.name, "b1");
  EXPECT_EQ(b->metadata.namespace_, "velero");
  EXPECT_EQ(b->metadata.labels,
            (std::map<std::string, std::string>{{"env", "prod"}, {"team", "a"}}));
  EXPECT_EQ(b->metadata.annotations.at("note"), "x");
  EXPECT_EQ(b->spec.included_namespaces, (std::vector<std::string>{"app", "db"}));
  EXPECT_EQ(b->spec.excluded_namespaces, (std::vector<std::string>{"kube-system"}));
  EXPECT_EQ(b->spec.included_resources, (std::vector<std::string>{"deployments", "configmaps"}));
  EXPECT_EQ(b->spec.excluded_resources, (std::vector<std::string>{"secrets"}));
  EXPECT_EQ(b->spec.include_cluster_resources, false);
  EXPECT_EQ(b->spec.label_selector->ToString(), "app=web");
  EXPECT_EQ(b->spec.ttl, hours(24));
  EXPECT_EQ(b->spec.csi_snapshot_timeout, minutes(5));
  EXPECT_EQ(b->spec.item_operation_timeout, hours(2));
  EXPECT_EQ(b->spec.snapshot_volumes, true);
  EXPECT_EQ(b->spec.default_volumes_to_fs_backup, false);
  EXPECT_FALSE(b->spec.snapshot_move_data.has_value());
  EXPECT_EQ(b->spec.storage_location, "primary");
  EXPECT_EQ(b->spec.volume_snapshot_locations, (std::vector<std::string>{"vsl1", "vsl2"}));
  EXPECT_EQ(b->spec.ordered_resources,
            (std::map<std::string, std::string>{{"pods", "ns1/pod1,ns1/pod2"},
                                                {"persistentvolumes", "pv4,pv8"}}));
  ASSERT_TRUE(b->spec.resource_policy.has_value());
  EXPECT_EQ(b->spec.resource_policy->kind, "configmap");
  EXPECT_EQ(b->spec.resource_policy->name, "policies");
  EXPECT_EQ(b->spec.uploader_config->parallel_files_upload, 4);
  // The JSON sent to the API server carries Velero's field names.
  auto j = api::ToJson(*b);
  EXPECT_EQ(j.at("spec").at("ttl"), "24h0m0s");
  EXPECT_EQ(j.at("spec").at("includeClusterResources"), false);
  EXPECT_EQ(j.at("spec").at("storageLocation"), "primary");
}

TEST(BuildBackupTest, DefaultsAreVelero) {
  BackupCreateFlags f;
  f.name = "b";
  auto b = BuildBackup(f, "velero", T("2026-05-01T00:00:00Z"), nullptr);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->spec.included_namespaces, (std::vector<std::string>{"*"}));
  EXPECT_FALSE(b->spec.include_cluster_resources.has_value());
  EXPECT_FALSE(b->spec.snapshot_volumes.has_value());
  EXPECT_EQ(b->spec.ttl, api::Duration(0));
  EXPECT_TRUE(b->spec.storage_location.empty());
}

TEST(BuildBackupTest, ScopedFiltersAndOrSelectors) {
  BackupCreateFlags f;
  f.name = "b";
  f.spec.include_cluster_scoped = {"storageclasses"};
  f.spec.exclude_cluster_scoped = {"nodes"};
  f.spec.include_namespace_scoped = {"*"};
  f.spec.exclude_namespace_scoped = {"events"};
  f.spec.or_selector = "app=a or tier in (x,y)";
  auto b = BuildBackup(f, "velero", T("2026-05-01T00:00:00Z"), nullptr);
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(b->spec.included_cluster_scoped_resources,
            (std::vector<std::string>{"storageclasses"}));
  EXPECT_EQ(b->spec.excluded_cluster_scoped_resources, (std::vector<std::string>{"nodes"}));
  EXPECT_EQ(b->spec.included_namespace_scoped_resources, (std::vector<std::string>{"*"}));
  EXPECT_EQ(b->spec.excluded_namespace_scoped_resources, (std::vector<std::string>{"events"}));
  ASSERT_EQ(b->spec.or_label_selectors.size(), 2u);
  EXPECT_EQ(b->spec.or_label_selectors[1].ToString(), "tier in (x,y)");
}

TEST(BuildBackupTest, BadValuesNameTheFlag) {
  auto err = [](auto mutate) {
    BackupCreateFlags f;
    f.name = "b";
    mutate(f);
    auto b = BuildBackup(f, "velero", T("2026-05-01T00:00:00Z"), nullptr);
    EXPECT_FALSE(b.ok());
    EXPECT_EQ(b.status().code(), absl::StatusCode::kInvalidArgument);
    return std::string(b.status().message());
  };
  EXPECT_NE(err([](auto& f) { f.spec.ttl = "1d"; }).find("\"--ttl\" flag: time: unknown unit"),
            std::string::npos);
  EXPECT_NE(err([](auto& f) { f.spec.selector = "a=b=c"; }).find("--selector"), std::string::npos);
  EXPECT_NE(err([](auto& f) { f.spec.ordered_resources = "pods"; }).find("--ordered-resources"),
            std::string::npos);
  EXPECT_NE(err([](auto& f) {
              f.spec.selector = "a=b";
              f.spec.or_selector = "c=d";
            }).find("not both"),
            std::string::npos);
  EXPECT_NE(err([](auto& f) {
              f.spec.include_resources = {"pods"};
              f.spec.include_cluster_scoped = {"nodes"};
            }).find("cannot be used together"),
            std::string::npos);
  EXPECT_NE(err([](auto& f) { f.labels = "x"; }).find("--labels"), std::string::npos);
  EXPECT_NE(err([](auto& f) { f.name.clear(); }).find("name is required"), std::string::npos);
}

TEST(BuildBackupTest, FromScheduleUsesTheTemplateAndATimestampedName) {
  api::Schedule sched;
  sched.metadata.name = "daily";
  sched.spec.template_.included_namespaces = {"app"};
  sched.spec.template_.ttl = hours(48);
  sched.spec.template_.metadata.labels = {{"tier", "gold"}};
  BackupCreateFlags f;
  f.from_schedule = "daily";
  f.spec.include_namespaces = {"ignored"};
  auto b = BuildBackup(f, "velero", T("2026-05-01T02:03:04Z"), &sched);
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(b->metadata.name, "daily-20260501020304");
  EXPECT_EQ(b->spec.included_namespaces, (std::vector<std::string>{"app"}));
  EXPECT_EQ(b->spec.ttl, hours(48));
  EXPECT_EQ(b->metadata.labels.at("velero.io/schedule-name"), "daily");
  EXPECT_EQ(b->metadata.labels.at("tier"), "gold");
  f.name = "explicit";
  EXPECT_EQ(BuildBackup(f, "velero", T("2026-05-01T02:03:04Z"), &sched)->metadata.name, "explicit");
}

api::Backup MakeBackup(const std::string& name, const std::string& created,
                       api::BackupPhase phase) {
  api::Backup b;
  b.metadata.name = name;
  b.metadata.namespace_ = "velero";
  b.metadata.creation_timestamp = created;
  b.spec.storage_location = "default";
  b.status.phase = phase;
  return b;
}

TEST(BackupTableTest, VeleroColumnsAndOrder) {
  auto now = T("2026-05-01T12:00:00Z");
  auto a = MakeBackup("nightly", "2026-05-01T10:00:00Z", api::BackupPhase::kCompleted);
  a.status.expiration = "2026-05-31T12:00:00Z";
  a.status.errors = 1;
  a.status.warnings = 2;
  a.spec.label_selector = *api::LabelSelector::Parse("app=web");
  auto s1 = MakeBackup("daily-20260430000000", "2026-04-30T00:00:00Z", api::BackupPhase::kUnset);
  auto s2 = MakeBackup("daily-20260501000000", "2026-05-01T00:00:00Z", api::BackupPhase::kFailed);
  s2.raw["metadata"] = boost::json::object{{"deletionTimestamp", "2026-05-01T11:00:00Z"}};
  EXPECT_EQ(
      BackupTable({a, s1, s2}, now),
      "NAME                   STATUS      ERRORS   WARNINGS   CREATED                         "
      "EXPIRES   STORAGE LOCATION   SELECTOR\n"
      "daily-20260501000000   Deleting    0        0          2026-05-01 00:00:00 +0000 UTC   "
      "n/a       default            <none>\n"
      "daily-20260430000000   New         0        0          2026-04-30 00:00:00 +0000 UTC   "
      "n/a       default            <none>\n"
      "nightly                Completed   1        2          2026-05-01 10:00:00 +0000 UTC   "
      "30d       default            app=web\n");
}

TEST(DescribeBackupTest, ShowsSpecStatusAndFailures) {
  auto b = MakeBackup("b1", "2026-05-01T10:00:00Z", api::BackupPhase::kFailedValidation);
  b.spec.included_namespaces = {"app"};
  b.spec.ttl = hours(720);
  b.status.validation_errors = {"backup storage location \"default\" is unavailable"};
  b.status.failure_reason = "";
  b.status.progress = api::BackupProgress{40, 35};
  b.status.start_timestamp = "2026-05-01T10:00:01Z";
  std::string d = DescribeBackup(b, T("2026-05-01T12:00:00Z"));
  for (const char* want :
       {"Name:         b1\n", "Namespace:    velero\n", "Phase:  FailedValidation\n",
        "Validation errors:\n  backup storage location \"default\" is unavailable\n",
        "  Included:  app\n", "  Excluded:  <none>\n", "  Cluster-scoped:  auto\n",
        "Label selector:  <none>\n", "Storage Location:  default\n", "TTL:  720h0m0s\n",
        "Started:    2026-05-01 10:00:01 +0000 UTC\n", "Completed:  <nil>\n",
        "Total items to be backed up:  40\n", "Items backed up:              35\n"}) {
    EXPECT_NE(d.find(want), std::string::npos) << want << "\n---\n" << d;
  }
  b.status.phase = api::BackupPhase::kFailed;
  b.status.failure_reason = "the bucket is gone";
  d = DescribeBackup(b, T("2026-05-01T12:00:00Z"), "DETAILS\n");
  EXPECT_NE(d.find("Phase:  Failed (run `lifeboat backup logs b1` for more information)"),
            std::string::npos);
  EXPECT_NE(d.find("Failure reason:  the bucket is gone\n"), std::string::npos);
  EXPECT_TRUE(d.ends_with("\nDETAILS\n"));
}

TEST(ExitCodeTest, Phases) {
  EXPECT_EQ(ExitCodeForPhase("Completed"), 0);
  EXPECT_EQ(ExitCodeForPhase("PartiallyFailed"), 3);
  EXPECT_EQ(ExitCodeForPhase("Failed"), 1);
  EXPECT_EQ(ExitCodeForPhase("FailedValidation"), 1);
}

}  // namespace
}  // namespace lifeboat::cli
