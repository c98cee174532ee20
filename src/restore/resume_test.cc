// RestorerOptions::resume against kubesim: objects an interrupted run of the same restore created
// (they carry its velero.io/restore-name label) count as restored, with no warning; conflicts
// with anything else are reported as in a first run.

#include <unistd.h>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lifeboat/archive/writer.h"
#include "lifeboat/common/byte_stream.h"
#include "lifeboat/common/gzip.h"
#include "lifeboat/common/json.h"
#include "lifeboat/kube/object.h"
#include "lifeboat/restore/restorer.h"
#include "src/kube/testing/kubesim_cluster.h"
#include "src/storage/testing/in_memory_object_store.h"

namespace lifeboat::restore {
namespace {

namespace json = boost::json;
using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::Not;

const kube::GroupVersionResource kNs{"", "v1", "namespaces"}, kCm{"", "v1", "configmaps"};

json::value J(const std::string& text) {
  auto v = ParseJson(text);
  EXPECT_TRUE(v.ok()) << v.status() << " in " << text;
  return v.ok() ? *v : json::value();
}

std::string ConfigMap(const std::string& name, const std::string& value,
                      const std::string& labels = "{}") {
  return R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":")" + name +
         R"(","namespace":"app","labels":)" + labels + R"(},"data":{"v":")" + value + R"("}})";
}

// A Velero-format tarball: namespace `app` with ConfigMaps a, b, c, d (data v=backed-up).
std::string Tarball() {
  std::string out;
  auto sink = StringSink(&out);
  auto writer = archive::ArchiveWriter::Create(sink.get(), archive::WriterOptions{});
  EXPECT_TRUE(writer.ok());
  std::vector<std::pair<std::string, std::string>> entries = {
      {"metadata/version", "1.1.0\n"},
      {"resources/namespaces/cluster/app.json",
       R"({"apiVersion":"v1","kind":"Namespace","metadata":{"name":"app"}})"}};
  for (const char* name : {"a", "b", "c", "d"}) {
    entries.push_back({"resources/configmaps/namespaces/app/" + std::string(name) + ".json",
                       ConfigMap(name, "backed-up")});
  }
  for (const auto& [path, data] : entries) EXPECT_TRUE((*writer)->Add(path, data).ok()) << path;
  EXPECT_TRUE((*writer)->Finish().ok());
  return out;
}

class ResumeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto c = kube::testing::KubesimCluster::Start();
    ASSERT_TRUE(c.ok()) << c.status();
    cluster_ = std::move(*c);
    store_ = std::make_unique<storage::BackupStore>(
        std::make_shared<storage::testing::InMemoryObjectStore>(
            std::initializer_list<std::string>{"bucket"}),
        "bucket", "");
    auto body = StringSource(Tarball());  // the writer gzips
    ASSERT_TRUE(store_->PutBackupFile("bk", storage::BackupFile::kContents, *body).ok());
    backup_.metadata.name = "bk";
    backup_.metadata.namespace_ = "velero";
    backup_.status.phase = api::BackupPhase::kCompleted;
    temp_ = std::filesystem::temp_directory_path() /
            ("lifeboat-resume-test-" + std::to_string(::getpid()));
    std::filesystem::create_directories(temp_);
  }
  void TearDown() override { std::filesystem::remove_all(temp_); }

  void Create(const std::string& text) {
    auto r = cluster_->client->Create(kCm, "app", J(text));
    ASSERT_TRUE(r.ok()) << r.status();
  }

  api::Restore Run(bool resume) {
    api::Restore r;
    r.metadata.name = "r1";
    r.metadata.namespace_ = "velero";
    r.metadata.uid = "uid-r1";
    r.spec.backup_name = "bk";
    RestorerDeps deps;
    deps.client = cluster_->client.get();
    deps.discovery = cluster_->discovery.get();
    deps.exec = cluster_->exec.get();
    deps.store = store_.get();
    RestorerOptions options;
    options.temp_dir = temp_;
    options.resume = resume;
    return Restorer(deps, options).Run(std::move(r), backup_);
  }

  json::value RestoreFile(storage::RestoreFile file) {
    std::string gz;
    auto sink = StringSink(&gz);
    EXPECT_TRUE(store_->GetRestoreFile("r1", file, *sink).ok());
    auto text = Gunzip(gz);
    EXPECT_TRUE(text.ok());
    return J(text.ok() ? *text : "{}");
  }

  std::unique_ptr<kube::testing::KubesimCluster> cluster_;
  std::unique_ptr<storage::BackupStore> store_;
  api::Backup backup_;
  std::filesystem::path temp_;
};

TEST_F(ResumeTest, ItemsOfTheInterruptedRunCountAsRestored) {
  ASSERT_TRUE(cluster_->client
                  ->Create(kNs, "", J(R"({"apiVersion":"v1","kind":"Namespace","metadata":{"name":"app"}})"))
                  .ok());
  // What the interrupted run of r1 created (and something changed since); an unrelated object;
  // an object of another restore.
  Create(ConfigMap("a", "changed", R"({"velero.io/backup-name":"bk","velero.io/restore-name":"r1"})"));
  Create(ConfigMap("b", "someone-else"));
  Create(ConfigMap("c", "other-restore", R"({"velero.io/backup-name":"bk","velero.io/restore-name":"r0"})"));

  // Without resume: every existing, different object is a warning (Velero's message).
  api::Restore first = Run(/*resume=*/false);
  ASSERT_EQ(first.status.phase, api::RestorePhase::kCompleted) << first.status.failure_reason;
  EXPECT_EQ(first.status.warnings, 3);
  std::string warnings = json::serialize(RestoreFile(storage::RestoreFile::kResults).at("warnings"));
  for (const char* name : {"a", "b", "c"}) {
    EXPECT_THAT(warnings, HasSubstr("could not restore, ConfigMap:" + std::string(name) +
                                    " already exists"));
  }
  auto d = cluster_->client->Get(kCm, "app", "d");  // created by this run, labelled r1
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(kube::ObjectLabels(*d).at("velero.io/restore-name"), "r1");

  // Resumed: a and d are this restore's; b and c still conflict.
  api::Restore resumed = Run(/*resume=*/true);
  ASSERT_EQ(resumed.status.phase, api::RestorePhase::kCompleted) << resumed.status.failure_reason;
  EXPECT_EQ(resumed.status.warnings, 2);
  EXPECT_EQ(resumed.status.errors, 0);
  warnings = json::serialize(RestoreFile(storage::RestoreFile::kResults).at("warnings"));
  EXPECT_THAT(warnings, Not(HasSubstr("ConfigMap:a ")));
  EXPECT_THAT(warnings, Not(HasSubstr("ConfigMap:d ")));
  EXPECT_THAT(warnings, HasSubstr("ConfigMap:b already exists"));
  EXPECT_THAT(warnings, HasSubstr("ConfigMap:c already exists"));
  ASSERT_TRUE(resumed.status.progress.has_value());
  EXPECT_EQ(resumed.status.progress->items_restored, resumed.status.progress->total_items);
  EXPECT_EQ(resumed.status.progress->total_items, 5);  // the namespace and four ConfigMaps
  json::value list = RestoreFile(storage::RestoreFile::kResourceList);
  const json::array& cms = list.at("v1/ConfigMap").as_array();
  EXPECT_THAT(cms, Contains(json::value("app/a(created)")));
  EXPECT_THAT(cms, Contains(json::value("app/d(created)")));
  EXPECT_THAT(cms, Contains(json::value("app/b(skipped)")));
  // Resume does not overwrite: a keeps what it has now.
  EXPECT_EQ(cluster_->client->Get(kCm, "app", "a")->at("data").at("v"), "changed");
}

}  // namespace
}  // namespace lifeboat::restore
