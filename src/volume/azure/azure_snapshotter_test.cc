// The Azure managed-disk snapshotter against the local ARM contract server
// (src/volume/azure/testing/arm_server.h): create / delete / list / restore, long-running
// operations (Azure-AsyncOperation and Location, Failed and Canceled), throttling, config
// errors, PV volume IDs. Waits go through a clock that advances instantly, so retries and polls
// are counted, never timed.

#include "src/volume/azure/azure_snapshotter.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include "lifeboat/common/clock.h"
#include "lifeboat/common/json.h"
#include "lifeboat/volume/snapshotters.h"
#include "src/volume/azure/testing/arm_server.h"

namespace lifeboat::volume {
namespace {

using azure::testing::ArmServer;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kSub[] = "sub-1111";
constexpr char kRg[] = "MC_rg_aks_westeurope";
constexpr char kDisk[] = "pvc-0a1b2c3d";
constexpr char kSecret[] = "sp-secret-1";

// Sleeps return at once and move the time forward; every requested wait is recorded.
class SkipClock : public Clock {
 public:
  TimePoint Now() const override {
    std::lock_guard<std::mutex> l(mu_);
    return now_;
  }
  bool SleepUntil(TimePoint deadline, const CancellationToken& cancel) override {
    std::lock_guard<std::mutex> l(mu_);
    if (deadline > now_) {
      sleeps_.push_back(std::chrono::duration_cast<std::chrono::seconds>(deadline - now_));
      now_ = deadline;
    }
    return !cancel.IsCancelled();
  }
  std::vector<std::chrono::seconds> sleeps() const {
    std::lock_guard<std::mutex> l(mu_);
    return sleeps_;
  }

 private:
  mutable std::mutex mu_;
  TimePoint now_{std::chrono::seconds(1'700'000'000)};
  std::vector<std::chrono::seconds> sleeps_;
};

int CountPrefix(const std::vector<std::string>& log, const std::string& prefix) {
  int n = 0;
  for (const auto& l : log) n += l.starts_with(prefix) ? 1 : 0;
  return n;
}

std::string SnapshotName(const std::string& id) { return id.substr(id.rfind('/') + 1); }

class AzureSnapshotterTest : public ::testing::Test {
 protected:
  void StartServer(ArmServer::Options o = {}) {
    o.client_secret = kSecret;
    auto s = ArmServer::Start(o);
    ASSERT_TRUE(s.ok()) << s.status();
    server_ = *std::move(s);
    server_->AddDisk(kSub, kRg, kDisk, "westeurope", "Premium_LRS",
                     {{"kubernetes.io-created-for-pvc-name", "data-0"}, {"owner", "disk"}}, {"2"});
    server_->AddResourceGroup(kSub, "snapshots-rg");
    env_ = {{"AZURE_SUBSCRIPTION_ID", kSub},
            {"AZURE_RESOURCE_GROUP", kRg},
            {"AZURE_TENANT_ID", "tenant-1"},
            {"AZURE_CLIENT_ID", "client-1"},
            {"AZURE_CLIENT_SECRET", kSecret},
            {"AZURE_AUTHORITY_HOST", server_->endpoint()},
            {"AZURE_RESOURCE_MANAGER_ENDPOINT", server_->endpoint()}};
  }
  void SetUp() override { StartServer(); }

  SnapshotterOptions Options() {
    SnapshotterOptions o;
    o.env = [this](std::string_view k) -> std::optional<std::string> {
      auto it = env_.find(std::string(k));
      if (it == env_.end()) return std::nullopt;
      return it->second;
    };
    o.clock = &clock_;
    return o;
  }

  StatusOr<std::unique_ptr<plugin::VolumeSnapshotter>> Make(
      std::map<std::string, std::string> config = {}, std::string provider = "velero.io/azure") {
    return BuiltinVolumeSnapshotters(Options())(provider, config);
  }

  std::unique_ptr<plugin::VolumeSnapshotter> MustMake(
      std::map<std::string, std::string> config = {}) {
    auto s = Make(std::move(config));
    EXPECT_TRUE(s.ok()) << s.status();
    return s.ok() ? *std::move(s) : nullptr;
  }

  void ExpectNoSecrets(const Status& s) {
    for (const auto& secret : server_->Secrets()) {
      EXPECT_THAT(std::string(s.message()), Not(HasSubstr(secret)));
    }
  }

  std::unique_ptr<ArmServer> server_;
  std::map<std::string, std::string> env_;
  SkipClock clock_;
};

// ---- registry and configuration ----------------------------------------------------------

TEST_F(AzureSnapshotterTest, RegistryKnowsAzureUnderBothNames) {
  EXPECT_TRUE(Make({}, "azure").ok());
  EXPECT_TRUE(Make({}, "velero.io/azure").ok());
  auto unknown = Make({}, "velero.io/aws");
  ASSERT_FALSE(unknown.ok());
  EXPECT_TRUE(absl::IsNotFound(unknown.status()));
  EXPECT_THAT(std::string(unknown.status().message()), HasSubstr("azure"));
  EXPECT_EQ(KnownVolumeSnapshotterProviders(), std::vector<std::string>{"azure"});
  auto s = MustMake();
  EXPECT_NE(dynamic_cast<plugin::SnapshotLister*>(s.get()), nullptr);
  EXPECT_EQ(server_->arm_requests(), 0);  // no network at creation
  EXPECT_EQ(server_->tokens_issued(), 0);
}

TEST_F(AzureSnapshotterTest, BadConfigIsInvalidArgument) {
  for (const auto& config : std::vector<std::map<std::string, std::string>>{
           {{"bucket", "x"}},
           {{"subscriptionId", "other-sub"}},  // needs resourceGroup too
           {{"apiTimeout", "5 minutes"}},
           {{"apiTimeout", "-1m"}},
           {{"incremental", "yes"}},
           {{"tags", "a=1,b"}},
           {{"tags", "=1"}}}) {
    auto s = Make(config);
    ASSERT_FALSE(s.ok()) << config.begin()->first;
    EXPECT_TRUE(absl::IsInvalidArgument(s.status())) << s.status();
    EXPECT_THAT(std::string(s.status().message()),
                HasSubstr(config.begin()->first == "subscriptionId" ? "resourceGroup"
                                                                    : config.begin()->first));
  }
  EXPECT_TRUE(Make({{"subscriptionId", "other-sub"}, {"resourceGroup", "rg"}}).ok());
  EXPECT_TRUE(Make({{"apiTimeout", "5m"}, {"incremental", "true"}, {"tags", "a=1, b = 2"}}).ok());
}

TEST_F(AzureSnapshotterTest, MissingCredentialValuesAreFailedPrecondition) {
  for (const char* key : {"AZURE_SUBSCRIPTION_ID", "AZURE_RESOURCE_GROUP", "AZURE_TENANT_ID",
                          "AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET"}) {
    auto saved = env_;
    env_.erase(key);
    auto s = Make();
    ASSERT_FALSE(s.ok()) << key;
    EXPECT_TRUE(absl::IsFailedPrecondition(s.status())) << s.status();
    EXPECT_THAT(std::string(s.status().message()), HasSubstr(key));
    ExpectNoSecrets(s.status());
    env_ = saved;
  }
  env_["AZURE_CLOUD_NAME"] = "Mars";
  EXPECT_TRUE(absl::IsInvalidArgument(Make().status()));
}

TEST_F(AzureSnapshotterTest, ParseTagsLikeThePlugin) {
  auto t = azure::ParseTags(" team = storage ,env=prod");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(*t, (std::map<std::string, std::string>{{"team", "storage"}, {"env", "prod"}}));
  EXPECT_TRUE(azure::ParseTags("").ok());
  EXPECT_FALSE(azure::ParseTags("a=b=c").ok());
}

TEST_F(AzureSnapshotterTest, CredentialsFileIsReadBeforeTheEnvironment) {
  auto dir =
      std::filesystem::temp_directory_path() / ("lifeboat-vol-azure-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto file = dir / "cloud";
  {
    std::ofstream f(file);
    f << "AZURE_SUBSCRIPTION_ID=" << kSub << "\nAZURE_RESOURCE_GROUP=" << kRg
      << "\nAZURE_TENANT_ID=tenant-1\nAZURE_CLIENT_ID=client-1\nAZURE_CLIENT_SECRET=\"" << kSecret
      << "\"\nAZURE_CLOUD_NAME=AzurePublicCloud\n";
  }
  env_ = {{"AZURE_AUTHORITY_HOST", server_->endpoint()},
          {"AZURE_RESOURCE_MANAGER_ENDPOINT", server_->endpoint()},
          {"AZURE_CLIENT_SECRET", "wrong-secret-from-env"}};
  auto s = MustMake({{"credentialsFile", file.string()}});
  ASSERT_NE(s, nullptr);
  auto info = s->GetVolumeInfo(kDisk, "");
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->volume_type, "Premium_LRS");

  auto missing = Make({{"credentialsFile", (dir / "nope").string()}});
  EXPECT_TRUE(absl::IsFailedPrecondition(missing.status()));
  std::filesystem::remove_all(dir);
}

// ---- authentication ---------------------------------------------------------------------------

TEST_F(AzureSnapshotterTest, WrongSecretIsUnauthenticatedWithoutLeakingIt) {
  env_["AZURE_CLIENT_SECRET"] = "not-the-right-secret";
  auto s = MustMake();
  auto info = s->GetVolumeInfo(kDisk, "");
  ASSERT_FALSE(info.ok());
  EXPECT_TRUE(absl::IsUnauthenticated(info.status())) << info.status();
  EXPECT_THAT(std::string(info.status().message()), HasSubstr("invalid_client"));
  EXPECT_THAT(std::string(info.status().message()), Not(HasSubstr("not-the-right-secret")));
  EXPECT_EQ(server_->arm_requests(), 0);
}

TEST_F(AzureSnapshotterTest, WorkloadIdentityUsesTheFederatedToken) {
  ArmServer::Options o;
  o.client_assertion = "eyJhbGciOi.federated.sig";
  StartServer(o);
  auto path = std::filesystem::temp_directory_path() /
              ("lifeboat-vol-azure-token-" + std::to_string(::getpid()));
  {
    std::ofstream f(path);
    f << o.client_assertion;
  }
  env_.erase("AZURE_CLIENT_SECRET");
  env_["AZURE_FEDERATED_TOKEN_FILE"] = path.string();
  auto s = MustMake();
  auto info = s->GetVolumeInfo(kDisk, "");
  EXPECT_TRUE(info.ok()) << info.status();
  std::filesystem::remove(path);
}

TEST_F(AzureSnapshotterTest, TokenIsFetchedOnceAndReused) {
  auto s = MustMake();
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(s->GetVolumeInfo(kDisk, "").ok());
  EXPECT_EQ(server_->tokens_issued(), 1);
  EXPECT_EQ(server_->arm_requests(), 3);
}

TEST_F(AzureSnapshotterTest, A401RefreshesTheTokenOnce) {
  auto s = MustMake();
  ASSERT_TRUE(s->GetVolumeInfo(kDisk, "").ok());
  server_->AddFault({.status = 401, .times = 1});
  auto info = s->GetVolumeInfo(kDisk, "");
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(server_->tokens_issued(), 2);
  // A token that keeps being refused is an error after the one refresh.
  server_->AddFault({.status = 401, .times = 2});
  auto refused = s->GetVolumeInfo(kDisk, "");
  ASSERT_FALSE(refused.ok());
  EXPECT_TRUE(absl::IsUnauthenticated(refused.status())) << refused.status();
  EXPECT_THAT(std::string(refused.status().message()), HasSubstr("ExpiredAuthenticationToken"));
  ExpectNoSecrets(refused.status());
}

TEST_F(AzureSnapshotterTest, ConcurrentSnapshotsShareOneToken) {
  auto s = MustMake();
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&, i] {
      auto id = s->CreateSnapshot(kDisk, "", {{"velero.io/backup", "b" + std::to_string(i)}});
      if (id.ok()) ++ok;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 4);
  EXPECT_EQ(server_->ResourceNames(kSub, kRg, "snapshots").size(), 4u);
  EXPECT_EQ(server_->tokens_issued(), 1);
}

// ---- snapshots ------------------------------------------------------------------------------

TEST_F(AzureSnapshotterTest, CreateSnapshotCopiesTheDiskWithTags) {
  auto s = MustMake({{"tags", "team=storage,owner=velero"}});
  auto id = s->CreateSnapshot(kDisk, "westeurope-2",
                              {{"velero.io/backup", "nightly-1"},
                               {"velero.io/pv", "pv-1"},
                               {"team", "overridden-by-config"}});
  ASSERT_TRUE(id.ok()) << id.status();
  const std::string prefix = std::string("/subscriptions/") + kSub + "/resourceGroups/" + kRg +
                             "/providers/Microsoft.Compute/snapshots/" + kDisk + "-";
  ASSERT_THAT(*id, ::testing::StartsWith(prefix));
  EXPECT_EQ(id->size(), prefix.size() + 36);  // a UUID follows

  const std::string name = SnapshotName(*id);
  auto snap = server_->Resource(kSub, kRg, "snapshots", name);
  ASSERT_TRUE(snap.has_value());
  EXPECT_EQ(JsonString(*snap, {"properties", "provisioningState"}), "Succeeded");
  EXPECT_EQ(JsonString(*snap, {"location"}), "westeurope");
  EXPECT_EQ(JsonString(*snap, {"properties", "creationData", "createOption"}), "Copy");
  EXPECT_EQ(JsonString(*snap, {"properties", "creationData", "sourceResourceId"}),
            std::string("/subscriptions/") + kSub + "/resourceGroups/" + kRg +
                "/providers/Microsoft.Compute/disks/" + kDisk);
  // Disk tags, then Velero's ('/' → '-'), then the config's (which win).
  EXPECT_EQ(JsonString(*snap, {"tags", "kubernetes.io-created-for-pvc-name"}), "data-0");
  EXPECT_EQ(JsonString(*snap, {"tags", "velero.io-backup"}), "nightly-1");
  EXPECT_EQ(JsonString(*snap, {"tags", "velero.io-pv"}), "pv-1");
  EXPECT_EQ(JsonString(*snap, {"tags", "team"}), "storage");
  EXPECT_EQ(JsonString(*snap, {"tags", "owner"}), "velero");
  // incremental is not sent unless configured.
  auto body = server_->PutBody("snapshots", name);
  ASSERT_TRUE(body.has_value());
  EXPECT_EQ(JsonFind(*body, {"properties", "incremental"}), nullptr);

  // Disk GET, snapshot PUT, one InProgress poll + the final one, final GET.
  auto log = server_->RequestLog();
  EXPECT_EQ(CountPrefix(log, "PUT /subscriptions/"), 1);
  int polls = 0;
  for (const auto& l : log) polls += l.find("/DiskOperations/") != std::string::npos ? 1 : 0;
  EXPECT_EQ(polls, 2);
}

TEST_F(AzureSnapshotterTest, SnapshotResourceGroupIncrementalAndLongDiskNames) {
  std::string long_disk(75, 'd');
  server_->AddDisk(kSub, kRg, long_disk, "westeurope", "StandardSSD_LRS");
  auto s = MustMake({{"resourceGroup", "snapshots-rg"}, {"incremental", "true"}});
  auto id = s->CreateSnapshot(long_disk, "", {});
  ASSERT_TRUE(id.ok()) << id.status();
  std::string name = SnapshotName(*id);
  EXPECT_EQ(name.size(), 80u);
  EXPECT_THAT(name, ::testing::StartsWith(std::string(43, 'd') + "-"));
  EXPECT_THAT(*id, HasSubstr("/resourceGroups/snapshots-rg/"));
  auto snap = server_->Resource(kSub, "snapshots-rg", "snapshots", name);
  ASSERT_TRUE(snap.has_value());
  EXPECT_EQ(JsonBool(*snap, {"properties", "incremental"}), true);
  EXPECT_FALSE(server_->Resource(kSub, kRg, "snapshots", name).has_value());
}

TEST_F(AzureSnapshotterTest, FailedOperationReachesTheCaller) {
  auto s = MustMake();
  server_->FailNextOperation("OperationNotAllowed",
                             "Operation results in exceeding quota limits of Snapshots.");
  auto id = s->CreateSnapshot(kDisk, "", {{"velero.io/backup", "b"}});
  ASSERT_FALSE(id.ok());
  EXPECT_TRUE(absl::IsInternal(id.status())) << id.status();
  const std::string msg(id.status().message());
  EXPECT_THAT(msg, HasSubstr("Failed"));
  EXPECT_THAT(msg, HasSubstr("OperationNotAllowed"));
  EXPECT_THAT(msg, HasSubstr("exceeding quota limits of Snapshots"));
  ExpectNoSecrets(id.status());
  EXPECT_TRUE(server_->ResourceNames(kSub, kRg, "snapshots").empty());

  server_->FailNextOperation("OperationCanceled", "The operation was canceled.", "Canceled");
  auto canceled = s->CreateSnapshot(kDisk, "", {});
  ASSERT_FALSE(canceled.ok());
  EXPECT_TRUE(absl::IsAborted(canceled.status())) << canceled.status();
}

TEST_F(AzureSnapshotterTest, LocationMonitorAnd201AndSynchronousAnswers) {
  for (int put_status : {202, 201, 200}) {
    ArmServer::Options o;
    o.put_async_header = false;  // Location only
    o.put_status = put_status;
    o.operation_polls = 3;
    StartServer(o);
    auto s = MustMake();
    auto id = s->CreateSnapshot(kDisk, "", {});
    ASSERT_TRUE(id.ok()) << put_status << ": " << id.status();
    auto snap = server_->Resource(kSub, kRg, "snapshots", SnapshotName(*id));
    ASSERT_TRUE(snap.has_value());
    EXPECT_EQ(JsonString(*snap, {"properties", "provisioningState"}), "Succeeded") << put_status;
    int polls = 0;
    for (const auto& l : server_->RequestLog()) {
      polls += l.find("/DiskOperations/") != std::string::npos ? 1 : 0;
    }
    EXPECT_EQ(polls, put_status == 200 ? 0 : 4) << put_status;
  }
  // A failure seen through the Location monitor.
  ArmServer::Options o;
  o.put_async_header = false;
  StartServer(o);
  auto s = MustMake();
  server_->FailNextOperation("InternalDiskManagementError", "Disk copy failed.");
  auto id = s->CreateSnapshot(kDisk, "", {});
  ASSERT_FALSE(id.ok());
  EXPECT_THAT(std::string(id.status().message()), HasSubstr("Disk copy failed."));
}

TEST_F(AzureSnapshotterTest, RetryAfterOnOperationsIsHonoured) {
  ArmServer::Options o;
  o.retry_after_seconds = 9;
  o.operation_polls = 2;
  StartServer(o);
  auto s = MustMake();
  ASSERT_TRUE(s->CreateSnapshot(kDisk, "", {}).ok());
  auto sleeps = clock_.sleeps();
  ASSERT_EQ(sleeps.size(), 3u);  // before each of the three polls
  for (auto d : sleeps) EXPECT_EQ(d, std::chrono::seconds(9));
}

// ---- throttling and transient errors -----------------------------------------------------

TEST_F(AzureSnapshotterTest, ThrottlingWithRetryAfterIsHonoured) {
  auto s = MustMake();
  server_->AddFault({.method = "PUT", .status = 429, .retry_after_seconds = 7, .times = 2});
  auto id = s->CreateSnapshot(kDisk, "", {});
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_EQ(server_->faults_answered(), 2);
  EXPECT_EQ(CountPrefix(server_->RequestLog(), "PUT "), 3);
  auto sleeps = clock_.sleeps();
  ASSERT_GE(sleeps.size(), 2u);
  EXPECT_EQ(sleeps[0], std::chrono::seconds(7));
  EXPECT_EQ(sleeps[1], std::chrono::seconds(7));
}

TEST_F(AzureSnapshotterTest, ThrottlingStopsAtApiTimeout) {
  auto s = MustMake({{"apiTimeout", "30s"}});
  server_->AddFault({.method = "PUT", .status = 429, .retry_after_seconds = 20, .times = 100});
  auto id = s->CreateSnapshot(kDisk, "", {});
  ASSERT_FALSE(id.ok());
  EXPECT_TRUE(absl::IsUnavailable(id.status())) << id.status();
  EXPECT_THAT(std::string(id.status().message()), HasSubstr("429"));
  EXPECT_THAT(std::string(id.status().message()), HasSubstr("apiTimeout"));
  // t=0 first PUT, t=20 second; the next retry (t=40) would pass the 30 s budget.
  EXPECT_EQ(CountPrefix(server_->RequestLog(), "PUT "), 2);
}

TEST_F(AzureSnapshotterTest, ServerErrorsAreRetriedWithBackoff) {
  auto s = MustMake();
  server_->AddFault({.method = "GET", .path_contains = "/disks/", .status = 500, .times = 3});
  auto info = s->GetVolumeInfo(kDisk, "");
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(server_->faults_answered(), 3);
  EXPECT_EQ(server_->arm_requests(), 4);
  auto sleeps = clock_.sleeps();
  ASSERT_EQ(sleeps.size(), 3u);
  EXPECT_EQ(sleeps[0], std::chrono::seconds(1));
  EXPECT_EQ(sleeps[1], std::chrono::seconds(2));
  EXPECT_EQ(sleeps[2], std::chrono::seconds(4));
}

// ---- delete -------------------------------------------------------------------------------------

TEST_F(AzureSnapshotterTest, DeleteSnapshotPollsUntilGone) {
  auto s = MustMake();
  auto id = s->CreateSnapshot(kDisk, "", {});
  ASSERT_TRUE(id.ok()) << id.status();
  ASSERT_EQ(server_->ResourceNames(kSub, kRg, "snapshots").size(), 1u);
  ASSERT_TRUE(s->DeleteSnapshot(*id).ok());
  EXPECT_TRUE(server_->ResourceNames(kSub, kRg, "snapshots").empty());
  EXPECT_EQ(CountPrefix(server_->RequestLog(), "DELETE "), 1);
  // Again: the snapshot is gone, which is fine.
  EXPECT_TRUE(s->DeleteSnapshot(*id).ok());
  EXPECT_EQ(CountPrefix(server_->RequestLog(), "DELETE "), 1);  // the GET said 404
}

TEST_F(AzureSnapshotterTest, DeleteOfAMissingSnapshotIsOkAndBadIdsAreRejected) {
  auto s = MustMake();
  EXPECT_TRUE(s->DeleteSnapshot(std::string("/subscriptions/") + kSub + "/resourceGroups/" + kRg +
                                "/providers/Microsoft.Compute/snapshots/never-existed")
                  .ok());
  auto bad = s->DeleteSnapshot("snap-123");
  EXPECT_TRUE(absl::IsInvalidArgument(bad)) << bad;
  // As in Velero's plugin, any 404 of the GET means "already gone" (here: the whole resource
  // group was deleted).
  auto no_rg = s->DeleteSnapshot(std::string("/subscriptions/") + kSub +
                                 "/resourceGroups/no-such-rg/providers/Microsoft.Compute/"
                                 "snapshots/x");
  EXPECT_TRUE(no_rg.ok()) << no_rg;
  EXPECT_EQ(CountPrefix(server_->RequestLog(), "DELETE "), 0);
  // Other errors are errors.
  server_->AddFault({.method = "GET", .status = 403, .times = 1});
  auto denied = s->DeleteSnapshot(std::string("/subscriptions/") + kSub + "/resourceGroups/" + kRg +
                                  "/providers/Microsoft.Compute/snapshots/x");
  EXPECT_TRUE(absl::IsPermissionDenied(denied)) << denied;
}

TEST_F(AzureSnapshotterTest, FailedDeleteReachesTheCaller) {
  auto s = MustMake();
  auto id = s->CreateSnapshot(kDisk, "", {});
  ASSERT_TRUE(id.ok());
  server_->FailNextOperation("SnapshotInUse", "The snapshot is in use by a disk copy.");
  Status st = s->DeleteSnapshot(*id);
  ASSERT_FALSE(st.ok());
  EXPECT_THAT(std::string(st.message()), HasSubstr("The snapshot is in use by a disk copy."));
  EXPECT_EQ(server_->ResourceNames(kSub, kRg, "snapshots").size(), 1u);
}

// ---- restore ------------------------------------------------------------------------------------

TEST_F(AzureSnapshotterTest, CreateVolumeFromSnapshot) {
  auto s = MustMake({{"resourceGroup", "snapshots-rg"}});
  auto id = s->CreateSnapshot(kDisk, "westeurope-2", {{"velero.io/backup", "b1"}});
  ASSERT_TRUE(id.ok()) << id.status();
  auto info = s->GetVolumeInfo(kDisk, "westeurope-2");
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->volume_type, "Premium_LRS");
  EXPECT_EQ(info->iops, std::nullopt);

  auto disk = s->CreateVolumeFromSnapshot(*id, info->volume_type, "westeurope-2", std::nullopt);
  ASSERT_TRUE(disk.ok()) << disk.status();
  EXPECT_THAT(*disk, ::testing::StartsWith("restore-"));
  EXPECT_EQ(disk->size(), 8u + 36u);
  auto d = server_->Resource(kSub, kRg, "disks", *disk);  // in the disks' resource group
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(JsonString(*d, {"sku", "name"}), "Premium_LRS");
  EXPECT_EQ(JsonString(*d, {"location"}), "westeurope");
  EXPECT_EQ(JsonString(*d, {"properties", "creationData", "sourceResourceId"}), *id);
  EXPECT_EQ(JsonString(*d, {"tags", "velero.io-backup"}), "b1");
  EXPECT_EQ(JsonString(*d, {"properties", "provisioningState"}), "Succeeded");
  const auto* zones = JsonFind(*d, {"zones"});
  ASSERT_NE(zones, nullptr);
  EXPECT_EQ(boost::json::serialize(*zones), R"(["2"])");

  // Zone-redundant SKUs and zone-less regions get no zone.
  for (auto [type, zone] : std::vector<std::pair<std::string, std::string>>{
           {"Premium_ZRS", "westeurope-1"}, {"StandardSSD_LRS", "westeurope"}}) {
    auto z = s->CreateVolumeFromSnapshot(*id, type, zone, std::nullopt);
    ASSERT_TRUE(z.ok()) << z.status();
    auto zd = server_->Resource(kSub, kRg, "disks", *z);
    ASSERT_TRUE(zd.has_value());
    EXPECT_EQ(JsonFind(*zd, {"zones"}), nullptr) << type;
    EXPECT_EQ(JsonString(*zd, {"sku", "name"}), type);
  }
  // A snapshot that is gone.
  auto gone = s->CreateVolumeFromSnapshot(
      std::string("/subscriptions/") + kSub +
          "/resourceGroups/snapshots-rg/providers/Microsoft.Compute/snapshots/gone",
      "Premium_LRS", "", std::nullopt);
  EXPECT_TRUE(absl::IsNotFound(gone.status())) << gone.status();
}

TEST_F(AzureSnapshotterTest, GetVolumeInfoOfAMissingDiskIsNotFound) {
  auto s = MustMake();
  auto info = s->GetVolumeInfo("no-such-disk", "");
  ASSERT_FALSE(info.ok());
  EXPECT_TRUE(absl::IsNotFound(info.status()));
  EXPECT_THAT(std::string(info.status().message()), HasSubstr("ResourceNotFound"));
}

// ---- listing ------------------------------------------------------------------------------------

TEST_F(AzureSnapshotterTest, ListSnapshotsFollowsNextLinkAndFiltersByTags) {
  auto s = MustMake();
  auto* lister = dynamic_cast<plugin::SnapshotLister*>(s.get());
  ASSERT_NE(lister, nullptr);
  std::set<std::string> b1;
  for (int i = 0; i < 5; ++i) {
    std::string backup = i % 2 == 0 ? "b1" : "b2";
    auto id = s->CreateSnapshot(kDisk, "", {{"velero.io/backup", backup}});
    ASSERT_TRUE(id.ok()) << id.status();
    if (backup == "b1") b1.insert(*id);
  }
  int lists_before = CountPrefix(
      server_->RequestLog(), "GET /subscriptions/" + std::string(kSub) + "/resourceGroups/" + kRg +
                                 "/providers/Microsoft.Compute/snapshots");
  auto all = lister->ListSnapshots({});
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_EQ(all->size(), 5u);
  int lists = CountPrefix(server_->RequestLog(), "GET /subscriptions/" + std::string(kSub) +
                                                     "/resourceGroups/" + kRg +
                                                     "/providers/Microsoft.Compute/snapshots") -
              lists_before;
  EXPECT_EQ(lists, 3);  // pages of 2

  auto only_b1 = lister->ListSnapshots({{"velero.io/backup", "b1"}});
  ASSERT_TRUE(only_b1.ok());
  std::set<std::string> got;
  for (const auto& l : *only_b1) {
    got.insert(l.snapshot_id);
    EXPECT_EQ(l.tags.at("velero.io/backup"), "b1");
    EXPECT_EQ(l.tags.at("velero.io-backup"), "b1");
    EXPECT_EQ(l.tags.at("owner"), "disk");
  }
  EXPECT_EQ(got, b1);
  auto none = lister->ListSnapshots({{"velero.io/backup", "b3"}});
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

// ---- PV volume IDs ------------------------------------------------------------------------------

boost::json::value Pv(const std::string& spec_json) {
  return *ParseJson(R"({"apiVersion":"v1","kind":"PersistentVolume","metadata":{"name":"pv-1"},)"
                    R"("spec":)" +
                    spec_json + "}");
}

TEST_F(AzureSnapshotterTest, GetVolumeIdForAzureDiskCsiAndForeignPvs) {
  auto s = MustMake();
  auto in_tree = Pv(
      R"({"azureDisk":{"diskName":"my-disk","diskURI":"/subscriptions/s/resourceGroups/r/providers/Microsoft.Compute/disks/my-disk","kind":"Managed"}})");
  EXPECT_EQ(s->GetVolumeId(in_tree).value_or("<err>"), "my-disk");
  auto csi = Pv(
      R"({"csi":{"driver":"disk.csi.azure.com","volumeHandle":"/subscriptions/s/resourceGroups/MC_rg/providers/Microsoft.Compute/disks/pvc-123"}})");
  EXPECT_EQ(s->GetVolumeId(csi).value_or("<err>"), "pvc-123");
  auto other_csi = Pv(R"({"csi":{"driver":"hostpath.csi.kubesim.io","volumeHandle":"pv-1"}})");
  EXPECT_EQ(s->GetVolumeId(other_csi).value_or("<err>"), "");
  auto host_path = Pv(R"({"hostPath":{"path":"/data"}})");
  EXPECT_EQ(s->GetVolumeId(host_path).value_or("<err>"), "");
  auto no_name = Pv(R"({"azureDisk":{"diskURI":"x"}})");
  EXPECT_FALSE(s->GetVolumeId(no_name).ok());
  auto odd_handle =
      Pv(R"({"csi":{"driver":"disk.csi.azure.com","volumeHandle":"not-a-resource-id"}})");
  EXPECT_EQ(s->GetVolumeId(odd_handle).value_or("<err>"), "");
}

TEST_F(AzureSnapshotterTest, SetVolumeIdPointsThePvAtTheRestoredDisk) {
  auto s = MustMake();
  const std::string disk_id = std::string("/subscriptions/") + kSub + "/resourceGroups/" + kRg +
                              "/providers/Microsoft.Compute/disks/restore-1";
  auto csi = s->SetVolumeId(
      Pv(R"({"csi":{"driver":"disk.csi.azure.com","volumeHandle":"/subscriptions/s/resourceGroups/r/providers/Microsoft.Compute/disks/old","fsType":"ext4"}})"),
      "restore-1");
  ASSERT_TRUE(csi.ok()) << csi.status();
  EXPECT_EQ(JsonString(*csi, {"spec", "csi", "volumeHandle"}), disk_id);
  EXPECT_EQ(JsonString(*csi, {"spec", "csi", "fsType"}), "ext4");
  EXPECT_EQ(s->GetVolumeId(*csi).value_or(""), "restore-1");

  auto in_tree =
      s->SetVolumeId(Pv(R"({"azureDisk":{"diskName":"old","diskURI":"x"}})"), "restore-1");
  ASSERT_TRUE(in_tree.ok());
  EXPECT_EQ(JsonString(*in_tree, {"spec", "azureDisk", "diskName"}), "restore-1");
  EXPECT_EQ(JsonString(*in_tree, {"spec", "azureDisk", "diskURI"}), disk_id);

  EXPECT_FALSE(
      s->SetVolumeId(Pv(R"({"csi":{"driver":"ebs.csi.aws.com","volumeHandle":"vol-1"}})"), "x")
          .ok());
  EXPECT_FALSE(s->SetVolumeId(Pv(R"({"hostPath":{"path":"/x"}})"), "x").ok());
}

}  // namespace
}  // namespace lifeboat::volume
