// VolumeSnapshotLocation choice and credentials (snapshot_locations.h) against kubesim.

#include "lifeboat/controller/snapshot_locations.h"

#include <sys/stat.h>

#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "lifeboat/controller/kinds.h"
#include "src/controller/testing/server_fixture.h"

namespace lifeboat::controller {
namespace {

namespace json = boost::json;
using testing::ServerFixture;

class SnapshotLocationsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto f = ServerFixture::Start();
    ASSERT_TRUE(f.ok()) << f.status();
    f_ = std::move(*f);
    f_->ctx.options.temp_dir = f_->dir();
  }
  void AddVsl(const std::string& name, const std::string& provider, json::object extra = {}) {
    json::object spec{{"provider", provider}, {"config", json::object{{"resourceGroup", "rg"}}}};
    for (auto& kv : extra) spec[kv.key()] = kv.value();
    auto c = f_->Create(kVolumeSnapshotLocations,
                        json::object{{"apiVersion", "velero.io/v1"},
                                     {"kind", "VolumeSnapshotLocation"},
                                     {"metadata", json::object{{"name", name}, {"namespace", "velero"}}},
                                     {"spec", spec}});
    ASSERT_TRUE(c.ok()) << c.status();
  }
  BackupSnapshotLocations Choose(api::BackupSpec spec) {
    auto r = ChooseBackupSnapshotLocations(f_->ctx, spec, {});
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : BackupSnapshotLocations{};
  }
  std::unique_ptr<ServerFixture> f_;
};

TEST_F(SnapshotLocationsTest, NoLocationsMeansNone) {
  auto r = Choose({});
  EXPECT_TRUE(r.names.empty());
  EXPECT_TRUE(r.errors.empty());
}

TEST_F(SnapshotLocationsTest, TheOnlyLocationOfEachProviderIsChosen) {
  AddVsl("az", "azure");
  AddVsl("aws-east", "aws");
  auto r = Choose({});
  EXPECT_TRUE(r.errors.empty());
  EXPECT_EQ(r.names, (std::vector<std::string>{"aws-east", "az"}));
}

TEST_F(SnapshotLocationsTest, SnapshotVolumesFalseChoosesNone) {
  AddVsl("az", "azure");
  api::BackupSpec spec;
  spec.snapshot_volumes = false;
  spec.volume_snapshot_locations = {"missing"};
  auto r = Choose(spec);
  EXPECT_TRUE(r.names.empty());
  EXPECT_TRUE(r.errors.empty());
}

TEST_F(SnapshotLocationsTest, SeveralPerProviderNeedANameOrADefault) {
  AddVsl("az1", "azure");
  AddVsl("az2", "azure");
  auto r = Choose({});
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_NE(r.errors[0].find("provider azure has more than one possible volume snapshot location"),
            std::string::npos);

  api::BackupSpec named;
  named.volume_snapshot_locations = {"az2"};
  r = Choose(named);
  EXPECT_TRUE(r.errors.empty());
  EXPECT_EQ(r.names, std::vector<std::string>{"az2"});

  f_->ctx.options.default_volume_snapshot_locations["azure"] = "az1";
  r = Choose({});
  EXPECT_TRUE(r.errors.empty());
  EXPECT_EQ(r.names, std::vector<std::string>{"az1"});

  f_->ctx.options.default_volume_snapshot_locations["azure"] = "nope";
  r = Choose({});
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_NE(r.errors[0].find("nope"), std::string::npos);
}

TEST_F(SnapshotLocationsTest, UnknownNamesAndTwoPerProviderAreValidationErrors) {
  AddVsl("az1", "azure");
  AddVsl("az2", "azure");
  api::BackupSpec spec;
  spec.volume_snapshot_locations = {"az1", "az2", "ghost"};
  auto r = Choose(spec);
  ASSERT_EQ(r.errors.size(), 2u);
  EXPECT_NE(r.errors[0].find("more than one VolumeSnapshotLocation name specified for provider azure"),
            std::string::npos);
  EXPECT_NE(r.errors[1].find("location ghost"), std::string::npos);
}

TEST_F(SnapshotLocationsTest, CredentialIsWrittenToAPrivateFile) {
  auto s = f_->Create(kSecrets, json::object{{"apiVersion", "v1"},
                                             {"kind", "Secret"},
                                             {"metadata", json::object{{"name", "azure-creds"},
                                                                       {"namespace", "velero"}}},
                                             {"stringData", json::object{{"cloud", "AZURE_CLIENT_SECRET=s3cr3t\n"}}}});
  ASSERT_TRUE(s.ok()) << s.status();
  AddVsl("az", "azure",
         json::object{{"credential", json::object{{"name", "azure-creds"}, {"key", "cloud"}}}});
  auto all = AllSnapshotLocations(f_->ctx, {});
  ASSERT_TRUE(all.ok()) << all.status();
  ASSERT_EQ(all->size(), 1u);
  const auto& loc = (*all)[0];
  EXPECT_EQ(loc.provider, "azure");
  EXPECT_EQ(loc.config.at("resourceGroup"), "rg");
  const std::string path = loc.config.at("credentialsFile");
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_EQ(text.str(), "AZURE_CLIENT_SECRET=s3cr3t\n");
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat(std::filesystem::path(path).parent_path().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
}

TEST_F(SnapshotLocationsTest, MissingCredentialSecretIsAClearErrorWithoutTheValue) {
  AddVsl("az", "azure",
         json::object{{"credential", json::object{{"name", "absent"}, {"key", "cloud"}}}});
  auto got = f_->Get(kVolumeSnapshotLocations, "az");
  ASSERT_TRUE(got.ok());
  auto vsl = api::VolumeSnapshotLocationFromJson(*got);
  ASSERT_TRUE(vsl.ok());
  auto r = ResolveSnapshotLocation(f_->ctx, *vsl, {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(std::string(r.status().message()).find("velero/absent not found"), std::string::npos);
  // The restore path leaves such a location out rather than failing every restore.
  auto all = AllSnapshotLocations(f_->ctx, {});
  ASSERT_TRUE(all.ok());
  EXPECT_TRUE(all->empty());
}

}  // namespace
}  // namespace lifeboat::controller
