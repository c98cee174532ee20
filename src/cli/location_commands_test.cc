#include "src/cli/location_commands.h"

#include <gtest/gtest.h>

#include "lifeboat/common/json.h"

namespace lifeboat::cli {
namespace {

BslCreateFlags Flags() {
  BslCreateFlags f;
  f.name = "secondary";
  f.provider = "aws";
  f.bucket = "bkt";
  return f;
}

TEST(BuildBackupStorageLocationTest, MapsEveryFlag) {
  BslCreateFlags f = Flags();
  f.prefix = "cluster-a";
  f.config = "region=us-west-2,s3ForcePathStyle=true";
  f.credential = "cloud-credentials=cloud";
  f.default_ = true;
  f.access_mode = "ReadOnly";
  f.backup_sync_period = "2m";
  f.validation_frequency = "30s";
  f.labels = "tier=cold";
  auto l = BuildBackupStorageLocation(f, "velero", "-----BEGIN CERTIFICATE-----\n");
  ASSERT_TRUE(l.ok()) << l.status();
  auto v = api::ToJson(*l);
  const auto& spec = v.at("spec").as_object();
  EXPECT_EQ(v.at("metadata").at("namespace"), "velero");
  EXPECT_EQ(v.at("metadata").at("labels").at("tier"), "cold");
  EXPECT_EQ(spec.at("provider"), "aws");
  EXPECT_EQ(spec.at("objectStorage").at("bucket"), "bkt");
  EXPECT_EQ(spec.at("objectStorage").at("prefix"), "cluster-a");
  EXPECT_EQ(spec.at("objectStorage").at("caCert"), "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCg==");
  EXPECT_EQ(spec.at("config").at("region"), "us-west-2");
  EXPECT_EQ(spec.at("config").at("s3ForcePathStyle"), "true");
  EXPECT_EQ(spec.at("credential").at("name"), "cloud-credentials");
  EXPECT_EQ(spec.at("credential").at("key"), "cloud");
  EXPECT_EQ(spec.at("default"), true);
  EXPECT_EQ(spec.at("accessMode"), "ReadOnly");
  EXPECT_EQ(spec.at("backupSyncPeriod"), "2m0s");
  EXPECT_EQ(spec.at("validationFrequency"), "30s");
}

TEST(BuildBackupStorageLocationTest, DefaultsAreVeleros) {
  auto l = BuildBackupStorageLocation(Flags(), "ns1", "");
  ASSERT_TRUE(l.ok()) << l.status();
  EXPECT_EQ(l->spec.access_mode, api::AccessMode::kReadWrite);
  EXPECT_FALSE(l->spec.default_);
  EXPECT_FALSE(l->spec.backup_sync_period.has_value());
  EXPECT_FALSE(l->spec.credential.has_value());
  EXPECT_TRUE(l->spec.object_storage.ca_cert.empty());
}

TEST(BuildBackupStorageLocationTest, ActionableErrors) {
  auto f = Flags();
  f.provider.clear();
  auto l = BuildBackupStorageLocation(f, "velero", "");
  EXPECT_TRUE(absl::IsInvalidArgument(l.status()));
  EXPECT_NE(std::string(l.status().message()).find("--provider is required"), std::string::npos);

  f = Flags();
  f.bucket.clear();
  l = BuildBackupStorageLocation(f, "velero", "");
  EXPECT_NE(std::string(l.status().message()).find("--bucket is required"), std::string::npos);

  f = Flags();
  f.provider = "made-up";  // any provider name is accepted: the server validates the location
  EXPECT_TRUE(BuildBackupStorageLocation(f, "velero", "").ok());

  f = Flags();
  f.backup_sync_period = "1d";
  l = BuildBackupStorageLocation(f, "velero", "");
  EXPECT_NE(std::string(l.status().message()).find("\"--backup-sync-period\" flag"),
            std::string::npos);

  f = Flags();
  f.access_mode = "WriteOnly";
  l = BuildBackupStorageLocation(f, "velero", "");
  EXPECT_NE(std::string(l.status().message()).find("ReadWrite, ReadOnly"), std::string::npos);

  f = Flags();
  f.config = "region";
  l = BuildBackupStorageLocation(f, "velero", "");
  EXPECT_NE(std::string(l.status().message()).find("\"--config\" flag"), std::string::npos);
}

TEST(ParseCredentialTest, ExactlyOnePair) {
  auto c = ParseCredential("creds=cloud");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->name, "creds");
  EXPECT_EQ(c->key, "cloud");
  EXPECT_FALSE(ParseCredential("a=b,c=d").ok());
  EXPECT_FALSE(ParseCredential("a").ok());
  EXPECT_FALSE(ParseCredential("a=").ok());
}

TEST(BuildVolumeSnapshotLocationTest, FlagsAndErrors) {
  VslCreateFlags f;
  f.name = "snaps";
  f.provider = "azure";
  f.config = "resourceGroup=rg1,incremental=true";
  f.credential = "az=cloud";
  f.labels = "a=b";
  auto l = BuildVolumeSnapshotLocation(f, "velero");
  ASSERT_TRUE(l.ok()) << l.status();
  auto v = api::ToJson(*l);
  EXPECT_EQ(v.at("spec").at("provider"), "azure");
  EXPECT_EQ(v.at("spec").at("config").at("resourceGroup"), "rg1");
  EXPECT_EQ(v.at("spec").at("credential").at("name"), "az");
  EXPECT_EQ(v.at("metadata").at("labels").at("a"), "b");
  f.provider.clear();
  EXPECT_NE(std::string(BuildVolumeSnapshotLocation(f, "velero").status().message())
                .find("--provider is required"),
            std::string::npos);
}

TEST(BackupLocationTableTest, VeleroColumnsAndPlaceholders) {
  auto a = BuildBackupStorageLocation(Flags(), "velero", "");
  ASSERT_TRUE(a.ok());
  a->metadata.name = "zeta";
  a->spec.access_mode = api::AccessMode::kUnset;
  auto b = *a;
  b.metadata.name = "default";
  b.spec.object_storage.prefix = "p";
  b.spec.default_ = true;
  b.spec.access_mode = api::AccessMode::kReadOnly;
  b.status.phase = api::BackupStorageLocationPhase::kAvailable;
  b.status.last_validation_time = "2026-05-01T02:00:00Z";
  EXPECT_EQ(BackupLocationTable({*a, b}),
            "NAME      PROVIDER   BUCKET/PREFIX   PHASE       LAST VALIDATED                  "
            "ACCESS MODE   DEFAULT\n"
            "default   aws        bkt/p           Available   2026-05-01 02:00:00 +0000 UTC   "
            "ReadOnly      true\n"
            "zeta      aws        bkt             Unknown     Unknown                         "
            "ReadWrite\n");
}

TEST(SnapshotLocationTableTest, NameAndProvider) {
  api::VolumeSnapshotLocation a, b;
  a.metadata.name = "b-loc";
  a.spec.provider = "aws";
  b.metadata.name = "a-loc";
  b.spec.provider = "azure";
  EXPECT_EQ(SnapshotLocationTable({a, b}),
            "NAME    PROVIDER\n"
            "a-loc   azure\n"
            "b-loc   aws\n");
}

TEST(BackupLocationDeleteQuestionTest, SaysWhatGoesAndWhatStays) {
  const std::string q = BackupLocationDeleteQuestion(2);
  EXPECT_NE(q.find("2 backup storage location(s)"), std::string::npos);
  EXPECT_NE(q.find("Backup and Restore objects"), std::string::npos);
  EXPECT_NE(q.find("data in the bucket is kept"), std::string::npos);
}

}  // namespace
}  // namespace lifeboat::cli
