#include "lifeboat/api/builders.h"

#include <gtest/gtest.h>

#include "lifeboat/common/json.h"

namespace lifeboat::api {
namespace {

TEST(BuildersTest, BackupBuilderSetsFieldsAndSerializes) {
  LabelSelector sel = *LabelSelector::Parse("app=web");
  Backup b = BackupBuilder("velero", "b1")
                 .IncludedNamespaces({"app"})
                 .LabelSelector(sel)
                 .StorageLocation("default")
                 .Phase(BackupPhase::kCompleted)
                 .Build();
  EXPECT_EQ(b.metadata.namespace_, "velero");
  EXPECT_EQ(b.metadata.name, "b1");
  EXPECT_EQ(b.spec.included_namespaces, std::vector<std::string>{"app"});
  EXPECT_EQ(b.spec.label_selector, sel);
  StatusOr<Backup> back = BackupFromJson(ToJson(b));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->spec, b.spec);
  EXPECT_EQ(back->status, b.status);
  EXPECT_EQ(ToJson(b).at("status").at("phase"), "Completed");
}

TEST(BuildersTest, OtherBuilders) {
  Restore r = RestoreBuilder("velero", "r1").Backup("b1").NamespaceMappings({{"a", "b"}}).Build();
  EXPECT_EQ(RestoreFromJson(ToJson(r))->spec, r.spec);
  Schedule s = ScheduleBuilder("velero", "nightly").CronSchedule("@every 2s").Paused(true).Build();
  EXPECT_EQ(ScheduleFromJson(ToJson(s))->spec, s.spec);
  BackupStorageLocation l = BackupStorageLocationBuilder("velero", "default")
                                .Provider("aws").Bucket("b").Default(true)
                                .Credential("cloud-credentials", "cloud").Build();
  EXPECT_EQ(BackupStorageLocationFromJson(ToJson(l))->spec, l.spec);
  EXPECT_EQ(ToJson(l).at("spec").at("objectStorage").at("bucket"), "b");
}

}  // namespace
}  // namespace lifeboat::api
