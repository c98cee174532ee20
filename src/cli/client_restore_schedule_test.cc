#include <gtest/gtest.h>

#include "src/cli/restore_commands.h"
#include "src/cli/schedule_commands.h"

namespace lifeboat::cli {
namespace {

api::TimePoint T(const char* s) { return *api::ParseRfc3339(s); }

TEST(BuildRestoreTest, EveryFlagMapsToItsField) {
  RestoreCreateFlags f;
  f.from_backup = "nightly";
  f.include_namespaces = {"app"};
  f.exclude_namespaces = {"other"};
  f.include_resources = {"configmaps"};
  f.exclude_resources = {"secrets"};
  f.include_cluster_resources = "true";
  f.restore_volumes = "false";
  f.preserve_nodeports = "true";
  f.namespace_mappings = "app:app-copy,db:db2";
  f.existing_resource_policy = "update";
  f.status_include_resources = {"deployments"};
  f.resource_modifier_configmap = "mods";
  f.selector = "app=web";
  f.labels = "who=me";
  f.item_operation_timeout = "1h";
  auto r = BuildRestore(f, "velero", T("2026-05-01T02:03:04Z"));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->metadata.name, "nightly-20260501020304");
  EXPECT_EQ(r->spec.backup_name, "nightly");
  EXPECT_EQ(r->spec.included_namespaces, (std::vector<std::string>{"app"}));
  EXPECT_EQ(r->spec.excluded_namespaces, (std::vector<std::string>{"other"}));
  EXPECT_EQ(r->spec.included_resources, (std::vector<std::string>{"configmaps"}));
  EXPECT_EQ(r->spec.excluded_resources, (std::vector<std::string>{"secrets"}));
  EXPECT_EQ(r->spec.include_cluster_resources, true);
  EXPECT_EQ(r->spec.restore_pvs, false);
  EXPECT_EQ(r->spec.preserve_node_ports, true);
  EXPECT_EQ(r->spec.namespace_mapping,
            (std::map<std::string, std::string>{{"app", "app-copy"}, {"db", "db2"}}));
  EXPECT_EQ(r->spec.existing_resource_policy, "update");
  ASSERT_TRUE(r->spec.restore_status.has_value());
  EXPECT_EQ(r->spec.restore_status->included_resources, (std::vector<std::string>{"deployments"}));
  EXPECT_EQ(r->spec.resource_modifier->kind, "ConfigMap");
  EXPECT_EQ(r->spec.resource_modifier->name, "mods");
  EXPECT_EQ(r->spec.label_selector->ToString(), "app=web");
  EXPECT_EQ(r->metadata.labels.at("who"), "me");
  EXPECT_EQ(r->spec.item_operation_timeout, std::chrono::hours(1));
  auto j = api::ToJson(*r);
  EXPECT_EQ(j.at("spec").at("backupName"), "nightly");
  EXPECT_EQ(j.at("spec").at("namespaceMapping").at("app"), "app-copy");
}

TEST(BuildRestoreTest, Errors) {
  auto err = [](auto mutate) {
    RestoreCreateFlags f;
    f.from_backup = "b";
    mutate(f);
    auto r = BuildRestore(f, "velero", T("2026-05-01T00:00:00Z"));
    EXPECT_FALSE(r.ok());
    return std::string(r.status().message());
  };
  EXPECT_NE(err([](auto& f) { f.from_backup.clear(); }).find("--from-backup"), std::string::npos);
  EXPECT_NE(err([](auto& f) { f.from_schedule = "s"; }).find("not both"), std::string::npos);
  EXPECT_NE(err([](auto& f) { f.namespace_mappings = "a-b"; }).find("--namespace-mappings"),
            std::string::npos);
  EXPECT_NE(err([](auto& f) { f.existing_resource_policy = "replace"; }).find("none, update"),
            std::string::npos);
  EXPECT_NE(
      err([](auto& f) { f.item_operation_timeout = "soon"; }).find("--item-operation-timeout"),
      std::string::npos);
  RestoreCreateFlags s;
  s.from_schedule = "daily";
  auto r = BuildRestore(s, "velero", T("2026-05-01T00:00:00Z"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->metadata.name, "daily-20260501000000");
  EXPECT_EQ(r->spec.schedule_name, "daily");
}

TEST(RestoreTableTest, VeleroColumns) {
  api::Restore r;
  r.metadata.name = "r1";
  r.metadata.creation_timestamp = "2026-05-01T10:00:00Z";
  r.spec.backup_name = "nightly";
  r.status.phase = api::RestorePhase::kCompleted;
  r.status.start_timestamp = "2026-05-01T10:00:01Z";
  r.status.warnings = 2;
  api::Restore n;
  n.metadata.name = "a0";
  n.spec.backup_name = "b";
  EXPECT_EQ(RestoreTable({r, n}),
            "NAME   BACKUP    STATUS      STARTED                         COMPLETED   ERRORS   "
            "WARNINGS   CREATED                         SELECTOR\n"
            "a0     b         New         <nil>                           <nil>       0        "
            "0          <nil>                           <none>\n"
            "r1     nightly   Completed   2026-05-01 10:00:01 +0000 UTC   <nil>       0        "
            "2          2026-05-01 10:00:00 +0000 UTC   <none>\n");
  std::string d = DescribeRestore(r);
  EXPECT_NE(d.find("Phase:                       Completed\n"), std::string::npos) << d;
  EXPECT_NE(d.find("Backup:  nightly\n"), std::string::npos);
  EXPECT_NE(d.find("Warnings:  2\n"), std::string::npos);
}

TEST(BuildScheduleTest, FlagsAndCronValidation) {
  ScheduleCreateFlags f;
  f.name = "daily";
  f.schedule = "0 1 * * *";
  f.spec.include_namespaces = {"app"};
  f.spec.ttl = "48h";
  f.labels = "team=x";
  f.paused = true;
  f.skip_immediately = "true";
  f.use_owner_references_in_backup = true;
  auto s = BuildSchedule(f, "velero");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->spec.schedule, "0 1 * * *");
  EXPECT_EQ(s->spec.template_.included_namespaces, (std::vector<std::string>{"app"}));
  EXPECT_EQ(s->spec.template_.ttl, std::chrono::hours(48));
  EXPECT_EQ(s->spec.template_.metadata.labels.at("team"), "x");
  EXPECT_EQ(s->metadata.labels.at("team"), "x");
  EXPECT_TRUE(s->spec.paused);
  EXPECT_EQ(s->spec.skip_immediately, true);
  EXPECT_EQ(s->spec.use_owner_references_in_backup, true);
  f.schedule = "61 * * * *";
  auto bad = BuildSchedule(f, "velero");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(std::string(bad.status().message()).find("\"--schedule\" flag: invalid schedule"),
            std::string::npos)
      << bad.status();
}

TEST(ScheduleTableTest, VeleroColumnsAndDescribe) {
  api::Schedule s;
  s.metadata.name = "daily";
  s.metadata.namespace_ = "velero";
  s.metadata.creation_timestamp = "2026-05-01T00:00:00Z";
  s.spec.schedule = "@every 1h";
  s.spec.template_.ttl = std::chrono::hours(720);
  s.spec.template_.included_namespaces = {"app"};
  s.status.phase = api::SchedulePhase::kEnabled;
  s.status.last_backup = "2026-05-01T11:00:00Z";
  EXPECT_EQ(
      ScheduleTable({s}, T("2026-05-01T12:00:00Z")),
      "NAME    STATUS    CREATED                         SCHEDULE    BACKUP TTL   LAST BACKUP   "
      "SELECTOR   PAUSED\n"
      "daily   Enabled   2026-05-01 00:00:00 +0000 UTC   @every 1h   720h0m0s     1h ago        "
      "<none>     false\n");
  std::string d = DescribeSchedule(s, T("2026-05-01T12:00:00Z"));
  for (const char* want :
       {"Phase:  Enabled\n", "Paused:  false\n", "Schedule:  @every 1h\n",
        "Backup Template:\n  Namespaces:\n    Included:  app\n", "  TTL:  720h0m0s\n",
        "Last Backup:  2026-05-01 11:00:00 +0000 UTC (1h ago)\n"}) {
    EXPECT_NE(d.find(want), std::string::npos) << want << "\n---\n" << d;
  }
}

}  // namespace
}  // namespace lifeboat::cli
