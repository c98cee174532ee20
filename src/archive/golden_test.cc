// test/testdata/archive/golden-v1.tar.gz is a small Velero-layout backup written once by this
// test (LIFEBOAT_REGENERATE_GOLDEN=1 archive_golden_test) and checked in. It must stay readable
// with exactly these entries forever, and today's writer must still produce the same tar stream.

#include <gtest/gtest.h>

#include <cstdlib>

#include "lifeboat/archive/layout.h"
#include "lifeboat/archive/reader.h"
#include "lifeboat/archive/writer.h"
#include "src/archive/hostile_archives.h"

namespace lifeboat::archive {
namespace {

using Files = std::vector<std::pair<std::string, std::string>>;

const char* const kGoldenPath = LIFEBOAT_SOURCE_DIR "/test/testdata/archive/golden-v1.tar.gz";

// Item JSON as Velero writes it: compact, keys sorted at every level.
Files Expected() {
  const std::string pod =
      R"({"apiVersion":"v1","kind":"Pod","metadata":{"labels":{"app":"web"},"name":"web-7d9c-abcde",)"
      R"("namespace":"shop","resourceVersion":"1201","uid":"0b6f5c44-1d1e-4d8e-9a1c-3f3c2e6f0001"},)"
      R"("spec":{"containers":[{"image":"nginx:1.27","name":"web"}]},"status":{"phase":"Running"}})";
  const std::string deploy =
      R"({"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web","namespace":"shop"},)"
      R"("spec":{"replicas":2,"selector":{"matchLabels":{"app":"web"}}}})";
  const std::string pv =
      R"({"apiVersion":"v1","kind":"PersistentVolume","metadata":{"name":"pvc-1111"},)"
      R"("spec":{"capacity":{"storage":"1Gi"},"hostPath":{"path":"/data"}}})";
  const std::string ns =
      R"({"apiVersion":"v1","kind":"Namespace","metadata":{"name":"shop"},"status":{"phase":"Active"}})";
  const std::string role = R"({"apiVersion":"rbac.authorization.k8s.io/v1","kind":"ClusterRole",)"
                           R"("metadata":{"name":"system:aggregate-to-admin"},"rules":[]})";
  const std::string cr =
      R"({"apiVersion":"stable.very-long-group-name-for-testing.example.com/v1","kind":"CronTab",)"
      R"("metadata":{"name":"a-cron-tab-with-a-rather-long-name-too","namespace":"shop"},)"
      R"("spec":{"cronSpec":"* * * * */5"}})";
  const std::string hpa = R"({"apiVersion":"autoscaling/v2beta2","kind":"HorizontalPodAutoscaler",)"
                          R"("metadata":{"name":"web","namespace":"shop"}})";
  const std::string crs = "crontabs.stable.very-long-group-name-for-testing.example.com";
  const std::string role_gr = "clusterroles.rbac.authorization.k8s.io";
  const std::string long_name = "config-" + std::string(143, 'x');
  const std::string long_cm = R"({"apiVersion":"v1","data":{"k":"v"},"kind":"ConfigMap",)"
                              R"("metadata":{"name":")" +
                              long_name + R"(","namespace":"shop"}})";
  return {
      {VersionPath(), VersionFileContents()},
      {ItemPath("pods", "shop", "web-7d9c-abcde"), pod},
      {PreferredVersionItemPath("pods", "v1", "shop", "web-7d9c-abcde"), pod},
      {ItemPath("persistentvolumes", "", "pvc-1111"), pv},
      {PreferredVersionItemPath("persistentvolumes", "v1", "", "pvc-1111"), pv},
      {ItemPath("namespaces", "", "shop"), ns},
      {PreferredVersionItemPath("namespaces", "v1", "", "shop"), ns},
      {ItemPath("deployments.apps", "shop", "web"), deploy},
      {PreferredVersionItemPath("deployments.apps", "v1", "shop", "web"), deploy},
      {ItemPath(role_gr, "", "system:aggregate-to-admin"), role},
      {PreferredVersionItemPath(role_gr, "v1", "", "system:aggregate-to-admin"), role},
      {ItemPath(crs, "shop", "a-cron-tab-with-a-rather-long-name-too"), cr},
      {PreferredVersionItemPath(crs, "v1", "shop", "a-cron-tab-with-a-rather-long-name-too"), cr},
      {VersionedItemPath("horizontalpodautoscalers.autoscaling", "v2beta2", "shop", "web"), hpa},
      // A 150-byte name: more than USTAR's 100-byte name field, so a PAX "path" record.
      {ItemPath("configmaps", "shop", long_name), long_cm},
      {PreferredVersionItemPath("configmaps", "v1", "shop", long_name), long_cm},
  };
}

WriterOptions GoldenOptions() {
  WriterOptions options;
  options.mtime = std::chrono::system_clock::time_point(std::chrono::seconds(1767225600));
  options.member_bytes = 2048;  // several gzip members, so multi-member reading stays covered
  options.threads = 2;
  options.level = 6;
  return options;
}

std::string WriteExpected() {
  std::string out;
  auto sink = StringSink(&out);
  auto writer = ArchiveWriter::Create(sink.get(), GoldenOptions());
  EXPECT_TRUE(writer.ok());
  for (const auto& [path, data] : Expected()) EXPECT_TRUE((*writer)->Add(path, data).ok());
  EXPECT_TRUE((*writer)->Finish().ok());
  return out;
}

class GoldenTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (std::getenv("LIFEBOAT_REGENERATE_GOLDEN") != nullptr) {
      ASSERT_TRUE(WriteFileAtomically(kGoldenPath, WriteExpected()).ok());
    }
    StatusOr<std::string> golden = ReadFile(kGoldenPath, 1 << 20);
    ASSERT_TRUE(golden.ok()) << golden.status();
    golden_ = *golden;
  }
  std::string golden_;
};

TEST_F(GoldenTest, ReaderReadsExactEntries) {
  ViewSource source(golden_);
  auto reader = ArchiveReader::Open(&source);
  ASSERT_TRUE(reader.ok());
  Files got;
  while (true) {
    auto e = (*reader)->Next();
    ASSERT_TRUE(e.ok()) << e.status();
    if (!e->has_value()) break;
    got.emplace_back((*e)->path, (*e)->data);
  }
  EXPECT_EQ(got, Expected());
  EXPECT_GT(testing::CountGzipMembers(golden_), 1);
}

TEST_F(GoldenTest, EveryItemPathParses) {
  for (const auto& [path, data] : Expected()) {
    if (path == VersionPath()) continue;
    EXPECT_TRUE(ParseItemPath(path).has_value()) << path;
  }
}

TEST_F(GoldenTest, WriterStillProducesTheSameTarStream) {
  // Compared after decompression: the tar bytes are ours; deflate output may change with the
  // compression library's version.
  EXPECT_EQ(testing::Gunzip(WriteExpected()), testing::Gunzip(golden_));
}

}  // namespace
}  // namespace lifeboat::archive
