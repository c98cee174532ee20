// Checks the checked-in Velero backup fixture (test/testdata/velero/README.md): the bucket
// directory of a backup laid out exactly as Velero writes it. The tarball must read with our
// archive reader, every path must parse, every item must agree with its path and be Go's compact
// JSON, every unversioned item must have its -preferredversion twin, the side files must have
// Velero's shapes, velero-backup.json must decode as a Completed Backup, and make_fixture.py
// must still reproduce the checked-in files.

#include <gtest/gtest.h>

#include <stdlib.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "lifeboat/api/backup.h"
#include "lifeboat/archive/layout.h"
#include "lifeboat/archive/reader.h"
#include "lifeboat/common/byte_stream.h"
#include "lifeboat/common/gzip.h"
#include "lifeboat/common/json.h"

namespace lifeboat {
namespace {

namespace fs = std::filesystem;
using archive::ItemLocation;

constexpr char kBackup[] = "velero-fixture-backup";
const fs::path kFixtureRoot = fs::path(LIFEBOAT_SOURCE_DIR) / "test/testdata/velero";

fs::path BackupDir(const fs::path& root) { return root / kBackup / "backups" / kBackup; }

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string GunzipOrDie(const std::string& gz) {
  auto out = Gunzip(gz);
  EXPECT_TRUE(out.ok()) << out.status();
  return out.ok() ? *out : std::string();
}

std::vector<archive::Entry> ReadTarball(const fs::path& p) {
  std::vector<archive::Entry> entries;
  auto source = FileSource(p);
  EXPECT_TRUE(source.ok()) << source.status();
  if (!source.ok()) return entries;
  auto reader = archive::ArchiveReader::Open(source->get());
  EXPECT_TRUE(reader.ok()) << reader.status();
  if (!reader.ok()) return entries;
  while (true) {
    auto next = (*reader)->Next();
    EXPECT_TRUE(next.ok()) << next.status();
    if (!next.ok() || !next->has_value()) break;
    entries.push_back(std::move(**next));
  }
  return entries;
}

class VeleroFixtureTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    entries_ = new std::vector<archive::Entry>(ReadTarball(BackupDir(kFixtureRoot) / (std::string(kBackup) + ".tar.gz")));
  }
  static void TearDownTestSuite() { delete entries_; }
  static const std::vector<archive::Entry>& entries() { return *entries_; }
  static std::vector<archive::Entry>* entries_;
};
std::vector<archive::Entry>* VeleroFixtureTest::entries_ = nullptr;

// "apps/v1" -> {"apps", "v1"}; "v1" -> {"", "v1"}.
std::pair<std::string, std::string> SplitApiVersion(const std::string& api_version) {
  auto slash = api_version.find('/');
  if (slash == std::string::npos) return {"", api_version};
  return {api_version.substr(0, slash), api_version.substr(slash + 1)};
}

TEST_F(VeleroFixtureTest, FirstEntryIsTheFormatVersion) {
  ASSERT_FALSE(entries().empty());
  EXPECT_EQ(entries()[0].path, archive::VersionPath());
  EXPECT_EQ(entries()[0].data, "1.1.0\n");
  EXPECT_EQ(entries()[0].data, archive::VersionFileContents());
}

TEST_F(VeleroFixtureTest, EveryItemAgreesWithItsPathAndIsGoCompactJson) {
  ASSERT_GT(entries().size(), 1u);
  for (size_t i = 1; i < entries().size(); ++i) {
    const archive::Entry& e = entries()[i];
    SCOPED_TRACE(e.path);
    std::optional<ItemLocation> loc = archive::ParseItemPath(e.path);
    ASSERT_TRUE(loc.has_value());
    auto json = ParseJson(e.data);
    ASSERT_TRUE(json.ok()) << json.status();
    // Velero writes json.Marshal of the unstructured map: keys sorted, compact, no newline.
    EXPECT_EQ(CanonicalJson(*json), e.data);
    const std::string api_version = JsonString(*json, {"apiVersion"}).value_or("");
    const auto [group, version] = SplitApiVersion(api_version);
    ASSERT_FALSE(version.empty());
    EXPECT_FALSE(JsonString(*json, {"kind"}).value_or("").empty());
    // The directory is <plural>[.<group>]: the part after the first dot is the group.
    const auto dot = loc->resource_group.find('.');
    EXPECT_EQ(dot == std::string::npos ? "" : loc->resource_group.substr(dot + 1), group);
    EXPECT_TRUE(loc->version_dir.empty() || loc->version_dir == version + "-preferredversion")
        << loc->version_dir;
    EXPECT_EQ(JsonString(*json, {"metadata", "name"}).value_or(""), loc->name);
    EXPECT_EQ(JsonString(*json, {"metadata", "namespace"}).value_or(""), loc->ns);
    EXPECT_FALSE(JsonString(*json, {"metadata", "uid"}).value_or("").empty());
    EXPECT_FALSE(JsonString(*json, {"metadata", "resourceVersion"}).value_or("").empty());
    EXPECT_FALSE(JsonString(*json, {"metadata", "creationTimestamp"}).value_or("").empty());
  }
}

TEST_F(VeleroFixtureTest, EveryItemIsWrittenTwiceUnversionedThenPreferred) {
  size_t unversioned = 0;
  for (size_t i = 1; i < entries().size(); ++i) {
    auto loc = archive::ParseItemPath(entries()[i].path);
    ASSERT_TRUE(loc.has_value()) << entries()[i].path;
    if (!loc->version_dir.empty()) {
      // Every preferred copy directly follows its unversioned twin, with the same bytes.
      ASSERT_GT(i, 1u);
      auto prev = archive::ParseItemPath(entries()[i - 1].path);
      ASSERT_TRUE(prev.has_value());
      EXPECT_TRUE(prev->version_dir.empty()) << entries()[i].path;
      EXPECT_EQ(archive::VersionedItemPath(prev->resource_group, loc->version_dir, prev->ns, prev->name),
                entries()[i].path);
      EXPECT_EQ(entries()[i - 1].data, entries()[i].data) << entries()[i].path;
      continue;
    }
    ++unversioned;
    ASSERT_LT(i + 1, entries().size()) << entries()[i].path << " has no preferred-version twin";
    auto twin = archive::ParseItemPath(entries()[i + 1].path);
    ASSERT_TRUE(twin.has_value());
    EXPECT_TRUE(twin->preferred()) << entries()[i + 1].path;
  }
  EXPECT_EQ(unversioned * 2 + 1, entries().size());
}

TEST_F(VeleroFixtureTest, HoldsTheApplicationAndOnlyRelatedClusterItems) {
  std::set<std::string> unversioned;
  for (const auto& e : entries()) {
    auto loc = archive::ParseItemPath(e.path);
    if (loc && loc->version_dir.empty()) unversioned.insert(loc->resource_group + "/" + loc->ns + "/" + loc->name);
  }
  for (const char* want :
       {"namespaces//shop", "deployments.apps/shop/web", "replicasets.apps/shop/web-6d8f7b9c54",
        "pods/shop/web-6d8f7b9c54-4xkqp", "pods/shop/web-6d8f7b9c54-n8w2z", "services/shop/web",
        "services/shop/web-headless", "configmaps/shop/kube-root-ca.crt", "configmaps/shop/shop-config",
        "secrets/shop/shop-db-credentials", "serviceaccounts/shop/shop-sa",
        "roles.rbac.authorization.k8s.io/shop/shop-reader",
        "rolebindings.rbac.authorization.k8s.io/shop/shop-reader-binding", "persistentvolumeclaims/shop/data",
        "ingresses.networking.k8s.io/shop/web", "widgets.example.com/shop/blue-widget",
        "customresourcedefinitions.apiextensions.k8s.io//widgets.example.com", "jobs.batch/shop/db-migrate",
        "jobs.batch/shop/report", "clusterroles.rbac.authorization.k8s.io//shop-widget-viewer",
        "clusterrolebindings.rbac.authorization.k8s.io//shop-sa-widget-viewer"}) {
    EXPECT_EQ(unversioned.count(want), 1u) << want;
  }
  // A namespace-scoped backup holds cluster-scoped items only as related items: the bound PV,
  // the service account's cluster role (binding), the namespace and the custom resource's CRD.
  std::set<std::string> cluster_groups;
  for (const auto& key : unversioned) {
    if (key.find("//") != std::string::npos) cluster_groups.insert(key.substr(0, key.find('/')));
  }
  EXPECT_EQ(cluster_groups, (std::set<std::string>{"namespaces", "persistentvolumes",
                                                   "clusterroles.rbac.authorization.k8s.io",
                                                   "clusterrolebindings.rbac.authorization.k8s.io",
                                                   "customresourcedefinitions.apiextensions.k8s.io"}));
  // The CRD of a backed-up custom resource is added after every other item (last two entries).
  ASSERT_GE(entries().size(), 3u);
  EXPECT_EQ(archive::ParseItemPath(entries()[entries().size() - 2].path)->resource_group,
            "customresourcedefinitions.apiextensions.k8s.io");
}

TEST_F(VeleroFixtureTest, ResourceListNamesEveryItem) {
  const fs::path dir = BackupDir(kFixtureRoot);
  auto list = ParseJson(GunzipOrDie(ReadFile(dir / (std::string(kBackup) + "-resource-list.json.gz"))));
  ASSERT_TRUE(list.ok()) << list.status();
  std::map<std::string, std::set<std::string>> want;
  for (const auto& e : entries()) {
    auto loc = archive::ParseItemPath(e.path);
    if (!loc || !loc->version_dir.empty()) continue;
    auto item = ParseJson(e.data);
    ASSERT_TRUE(item.ok());
    const std::string key = *JsonString(*item, {"apiVersion"}) + "/" + *JsonString(*item, {"kind"});
    want[key].insert(loc->ns.empty() ? loc->name : loc->ns + "/" + loc->name);
  }
  std::map<std::string, std::set<std::string>> got;
  ASSERT_TRUE(list->is_object());
  for (const auto& [key, names] : list->as_object()) {
    ASSERT_TRUE(names.is_array());
    for (const auto& n : names.as_array()) got[std::string(key)].insert(std::string(n.as_string()));
  }
  EXPECT_EQ(got, want);
}

TEST_F(VeleroFixtureTest, BackupJsonIsACompletedBackupCountingEveryItem) {
  const std::string text = ReadFile(BackupDir(kFixtureRoot) / "velero-backup.json");
  auto json = ParseJson(text);
  ASSERT_TRUE(json.ok()) << json.status();
  EXPECT_EQ(JsonString(*json, {"kind"}), "Backup");
  EXPECT_EQ(JsonString(*json, {"apiVersion"}), "velero.io/v1");
  auto backup = api::BackupFromJson(*json);
  ASSERT_TRUE(backup.ok()) << backup.status();
  EXPECT_EQ(backup->metadata.name, kBackup);
  EXPECT_EQ(backup->status.phase, api::BackupPhase::kCompleted);
  EXPECT_EQ(backup->status.format_version, "1.1.0");
  EXPECT_EQ(backup->status.version, 1);
  EXPECT_EQ(backup->spec.included_namespaces, std::vector<std::string>{"shop"});
  ASSERT_TRUE(backup->status.progress.has_value());
  EXPECT_EQ(static_cast<size_t>(backup->status.progress->total_items) * 2 + 1, entries().size());
  EXPECT_EQ(backup->status.progress->items_backed_up, backup->status.progress->total_items);
  EXPECT_EQ(JsonString(*json, {"metadata", "labels", "velero.io/storage-location"}), "default");
  EXPECT_EQ(JsonString(*json, {"metadata", "annotations", "velero.io/source-cluster-k8s-gitversion"}), "v1.29.4");
  // The Kubernetes pretty serializer: Go's MarshalIndent, keys in struct order.
  EXPECT_EQ(text.rfind("{\n  \"kind\": \"Backup\",\n  \"apiVersion\": \"velero.io/v1\",\n", 0), 0u);
}

TEST_F(VeleroFixtureTest, SideFilesHaveVelerosShapesAndGoGzipHeaders) {
  const fs::path dir = BackupDir(kFixtureRoot);
  const std::map<std::string, std::string> fixed = {
      {"-podvolumebackups.json.gz", "null\n"},
      {"-volumesnapshots.json.gz", "null\n"},
      {"-itemoperations.json.gz", "[]\n"},
      {"-results.gz", "{\"errors\":{},\"warnings\":{}}\n"}};
  for (const auto& [suffix, content] : fixed) {
    EXPECT_EQ(GunzipOrDie(ReadFile(dir / (kBackup + suffix))), content) << suffix;
  }
  EXPECT_NE(GunzipOrDie(ReadFile(dir / (std::string(kBackup) + "-logs.gz"))).find("level=info"), std::string::npos);
  auto info = ParseJson(GunzipOrDie(ReadFile(dir / (std::string(kBackup) + "-volumeinfo.json.gz"))));
  ASSERT_TRUE(info.ok()) << info.status();
  ASSERT_TRUE(info->is_array() && info->as_array().size() == 1u);
  EXPECT_EQ(JsonString(info->as_array()[0], {"pvcName"}), "data");
  EXPECT_EQ(JsonString(info->as_array()[0], {"pvInfo", "reclaimPolicy"}), "Retain");
  // Go's gzip.NewWriter: no FNAME flag, MTIME 0, XFL 0 (default level), OS 255.
  for (const auto& f : fs::directory_iterator(dir)) {
    if (f.path().extension() != ".gz") continue;
    const std::string gz = ReadFile(f.path());
    ASSERT_GE(gz.size(), 10u);
    EXPECT_EQ(gz.substr(0, 10), std::string("\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff", 10)) << f.path();
  }
}

// The raw tar stream: Go's archive/tar USTAR headers and end of archive.
TEST_F(VeleroFixtureTest, TarHeadersAreGoArchiveTarUstar) {
  const std::string tar = GunzipOrDie(ReadFile(BackupDir(kFixtureRoot) / (std::string(kBackup) + ".tar.gz")));
  size_t off = 0, count = 0;
  while (off + 512 <= tar.size() && tar[off] != '\0') {
    const std::string h = tar.substr(off, 512);
    EXPECT_EQ(h.substr(100, 8), std::string("0000755\0", 8));
    EXPECT_EQ(h.substr(108, 16), std::string("0000000\0" "0000000\0", 16));
    EXPECT_EQ(h[156], '0');
    EXPECT_EQ(h.substr(257, 8), std::string("ustar\0" "00", 8));
    EXPECT_EQ(h.substr(265, 64), std::string(64, '\0'));  // empty uname and gname
    const size_t size = std::stoul(h.substr(124, 11), nullptr, 8);
    off += 512 + (size + 511) / 512 * 512;
    ++count;
  }
  EXPECT_EQ(count, entries().size());
  // Two zero blocks and nothing more: Go does not pad to a 10 KiB record as GNU tar does.
  EXPECT_EQ(tar.size(), off + 1024);
  EXPECT_EQ(tar.substr(off), std::string(1024, '\0'));
}

std::set<std::string> RelativeFiles(const fs::path& root) {
  std::set<std::string> out;
  for (const auto& f : fs::recursive_directory_iterator(root)) {
    if (f.is_regular_file()) out.insert(fs::relative(f.path(), root).string());
  }
  return out;
}

TEST(VeleroFixtureGeneratorTest, MakeFixtureReproducesTheCheckedInFiles) {
  const char* python = "/usr/bin/python3";
  if (!fs::exists(python)) GTEST_SKIP() << python << " is missing: cannot re-run make_fixture.py";
  std::string tmpl = (fs::temp_directory_path() / "velero-fixture-XXXXXX").string();
  ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
  const fs::path out = tmpl;
  const std::string cmd = std::string(python) + " '" + (kFixtureRoot / "make_fixture.py").string() + "' '" +
                          out.string() + "'";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  const fs::path want_root = kFixtureRoot / kBackup, got_root = out / kBackup;
  const std::set<std::string> want = RelativeFiles(want_root);
  EXPECT_EQ(RelativeFiles(got_root), want);
  for (const std::string& rel : want) {
    SCOPED_TRACE(rel);
    const std::string a = ReadFile(want_root / rel), b = ReadFile(got_root / rel);
    if (a == b) continue;
    // Compressed bytes depend on the zlib build; the gzip header and the content must not.
    ASSERT_EQ(fs::path(rel).extension(), ".gz") << "differs from the checked-in file";
    EXPECT_EQ(a.substr(0, 10), b.substr(0, 10));
    EXPECT_EQ(GunzipOrDie(a), GunzipOrDie(b)) << "content differs from the checked-in file";
  }
  fs::remove_all(out);
}

}  // namespace
}  // namespace lifeboat
