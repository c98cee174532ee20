// Hermetic tests of the restore engine's pure parts: the priority order, the API-version choice,
// the backup-contents index over an extracted tree, and the per-item object functions.

#include <unistd.h>

#include "gtest/gtest.h"
#include "lifeboat/archive/writer.h"
#include "lifeboat/common/byte_stream.h"
#include "lifeboat/common/json.h"
#include "lifeboat/restore/restorer.h"
#include "src/restore/backup_contents.h"
#include "src/restore/object_util.h"
#include "src/restore/priorities.h"

namespace lifeboat::restore {
namespace {
namespace fs = std::filesystem;

boost::json::value J(const std::string& text) {
  auto v = ParseJson(text);
  EXPECT_TRUE(v.ok()) << v.status();
  return v.ok() ? *v : boost::json::value();
}

TEST(RestoreOrderTest, HighPrioritiesThenAlphabeticalThenLow) {
  std::vector<std::string> present = {"widgets.example.com",
                                      "deployments.apps",
                                      "pods",
                                      "customresourcedefinitions.apiextensions.k8s.io",
                                      "namespaces",
                                      "clusters.cluster.x-k8s.io",
                                      "configmaps",
                                      "volumesnapshotclasses.snapshot.storage.k8s.io",
                                      "services",
                                      "ingresses.networking.k8s.io"};
  auto resolve = [](std::string_view e) -> std::optional<std::string> {
    if (e == "customresourcedefinitions") return std::string(kCrdResource);
    if (e == "volumesnapshotclass.snapshot.storage.k8s.io") {
      return "volumesnapshotclasses.snapshot.storage.k8s.io";
    }
    return std::nullopt;
  };
  EXPECT_EQ(RestoreOrder(present, DefaultHighPriorities(), DefaultLowPriorities(), resolve),
            (std::vector<std::string>{"namespaces", "volumesnapshotclasses.snapshot.storage.k8s.io",
                                      "configmaps", "pods", "services", "deployments.apps",
                                      "ingresses.networking.k8s.io", "widgets.example.com",
                                      "clusters.cluster.x-k8s.io"}));
}

TEST(RestoreOrderTest, ParsesVeleroFlagForm) {
  std::vector<std::string> high, low;
  ParsePriorities("namespaces, secrets ,-,clusters.cluster.x-k8s.io", &high, &low);
  EXPECT_EQ(high, (std::vector<std::string>{"namespaces", "secrets"}));
  EXPECT_EQ(low, (std::vector<std::string>{"clusters.cluster.x-k8s.io"}));
}

TEST(VersionChoiceTest, KubernetesVersionPriority) {
  std::vector<std::string> v = {"v1alpha1", "foo", "v2", "v1beta1", "v1", "v1beta2", "v10"};
  std::sort(v.begin(), v.end(), [](auto& a, auto& b) { return VersionPriorityLess(a, b); });
  EXPECT_EQ(v, (std::vector<std::string>{"v10", "v2", "v1", "v1beta2", "v1beta1", "v1alpha1",
                                         "foo"}));
}

TEST(VersionChoiceTest, FollowsVelerosRules) {
  ResourceDirs d;
  d.preferred_version = "v2";
  d.other_versions = {"v1", "v1beta1"};
  // (1) the cluster's preferred version is in the backup.
  EXPECT_EQ(ChooseVersionDir(d, {"v1", "v2"}, "v1"), "v1");
  EXPECT_EQ(ChooseVersionDir(d, {"v1", "v2"}, "v2"), "");
  // (2) the backup's preferred version is served.
  EXPECT_EQ(ChooseVersionDir(d, {"v3", "v2"}, "v3"), "");
  // (3) the first common version by priority.
  EXPECT_EQ(ChooseVersionDir(d, {"v1beta1", "v1", "v3"}, "v3"), "v1");
  // (4) nothing in common: the backup's preferred version (the create will say why it fails).
  EXPECT_EQ(ChooseVersionDir(d, {"v3"}, "v3"), "");
  // Format-1 backups have one layout.
  EXPECT_EQ(ChooseVersionDir(ResourceDirs{}, {"v1"}, "v1"), "");
}

// A tarball with these entries, in this order.
std::string Tarball(const std::vector<std::pair<std::string, std::string>>& entries) {
  std::string out;
  auto sink = StringSink(&out);
  auto writer = archive::ArchiveWriter::Create(sink.get(), archive::WriterOptions{});
  EXPECT_TRUE(writer.ok());
  for (const auto& [path, data] : entries) EXPECT_TRUE((*writer)->Add(path, data).ok()) << path;
  EXPECT_TRUE((*writer)->Finish().ok());
  return out;
}

class BackupContentsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("contents-test-" + std::to_string(getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  StatusOr<BackupContents> Read(const std::string& tgz) {
    auto source = StringSource(tgz);
    return BackupContents::Read(*source, dir_ / ("spool" + std::to_string(++n_)));
  }
  fs::path dir_;
  int n_ = 0;
};

TEST_F(BackupContentsTest, IndexesNamesNamespacesAndVersions) {
  auto c = Read(Tarball({
      {"metadata/version", "1.1.0\n"},
      {"resources/pods/namespaces/b/p2.json", "{\"p\":2}"},
      {"resources/pods/namespaces/a/p1.json", "{\"p\":1}"},
      {"resources/pods/v1-preferredversion/namespaces/a/p1.json", "{\"p\":1}"},
      {"resources/hpas.autoscaling/namespaces/a/h.json", "{\"v\":2}"},
      {"resources/hpas.autoscaling/v2-preferredversion/namespaces/a/h.json", "{\"v\":2}"},
      {"resources/hpas.autoscaling/v1/namespaces/a/h.json", "{\"v\":1}"},
      {"resources/namespaces/cluster/c.json", "{}"},
      {"resources/persistentvolumes/cluster/pv.json", "{\"old\":true}"},
      {"resources/persistentvolumes/cluster/pv.json", "{\"new\":true}"},  // the last one wins
      {"something/else.txt", "ignored"},
  }));
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->format_version(), "1.1.0");
  EXPECT_EQ(c->namespaces(), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(c->resources().at("hpas.autoscaling").group, "autoscaling");
  EXPECT_EQ(c->resources().at("hpas.autoscaling").resource, "hpas");
  EXPECT_EQ(c->resources().at("hpas.autoscaling").preferred_version, "v2");
  EXPECT_EQ(c->resources().at("hpas.autoscaling").other_versions, std::vector<std::string>{"v1"});
  EXPECT_EQ(c->resources().at("pods").preferred_version, "v1");
  EXPECT_EQ(c->ItemNamespaces("pods", ""), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(c->ItemNames("pods", "", "a"), std::vector<std::string>{"p1"});
  EXPECT_EQ(c->ItemNames("persistentvolumes", "", ""), std::vector<std::string>{"pv"});
  EXPECT_EQ(*c->ReadItem("pods", "", "b", "p2"), "{\"p\":2}");
  EXPECT_EQ(*c->ReadItem("persistentvolumes", "", "", "pv"), "{\"new\":true}");
  // The preferred version is read from the unversioned layout (the same bytes); others from
  // their own directory.
  EXPECT_EQ(*c->ReadItem("hpas.autoscaling", "v2", "a", "h"), "{\"v\":2}");
  EXPECT_EQ(*c->ReadItem("hpas.autoscaling", "v1", "a", "h"), "{\"v\":1}");
  EXPECT_TRUE(absl::IsNotFound(c->ReadItem("pods", "", "a", "nope").status()));
  EXPECT_TRUE(absl::IsNotFound(c->ReadItem("nodes", "", "", "n").status()));
  EXPECT_EQ(c->CountItems(), 5);
  EXPECT_EQ(c->spooled_items(), 7);  // the replaced pv once more, plus hpas v1
}

TEST_F(BackupContentsTest, RefusesUnknownFormatsNonVeleroAndHostileTarballs) {
  auto missing = Read(Tarball({{"resources/pods/namespaces/a/p.json", "{}"}}));
  EXPECT_TRUE(absl::IsDataLoss(missing.status())) << missing.status();
  auto future = Read(Tarball({{"metadata/version", "2.0.0\n"}}));
  EXPECT_TRUE(absl::IsFailedPrecondition(future.status())) << future.status();
  EXPECT_NE(std::string(future.status().message()).find("2.0.0"), std::string::npos);
  std::string truncated = Tarball({{"metadata/version", "1.1.0\n"}});
  truncated.resize(truncated.size() / 2);
  EXPECT_TRUE(absl::IsDataLoss(Read(truncated).status()));
}

TEST(ObjectUtilTest, ResetMetadataAndStatusKeepsWhatVeleroKeeps) {
  auto obj = J(R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a","namespace":"n",
    "uid":"u","resourceVersion":"1","generation":2,"creationTimestamp":"t","selfLink":"s",
    "generateName":"a-","deletionTimestamp":"t","deletionGracePeriodSeconds":3,
    "ownerReferences":[{}],"labels":{"l":"1"},"annotations":{"x":"y"},"finalizers":["f"],
    "managedFields":[{"manager":"m"}]},"data":{"k":"v"},"status":{"phase":"Active"}})");
  auto status = ResetMetadataAndStatus(obj);
  EXPECT_EQ(status, J(R"({"phase":"Active"})"));
  EXPECT_EQ(obj, J(R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a","namespace":"n",
    "labels":{"l":"1"},"annotations":{"x":"y"},"finalizers":["f"],
    "managedFields":[{"manager":"m"}]},"data":{"k":"v"}})"));
}

TEST(ObjectUtilTest, LabelSafeHashesLongValuesAsVelero) {
  EXPECT_EQ(LabelSafe("short"), "short");
  std::string long_name(70, 'a');
  std::string safe = LabelSafe(long_name);
  EXPECT_EQ(safe.size(), 63u);
  EXPECT_EQ(safe.substr(0, 57), std::string(57, 'a'));
  // sha256("a" * 70) starts with these hex digits (computed with sha256sum).
  EXPECT_EQ(safe.substr(57), "6bd5e5");
}

TEST(ObjectUtilTest, MergePatchTurnsOneObjectIntoTheOther) {
  auto from = J(R"({"a":1,"b":{"c":2,"d":3},"e":[1,2],"f":"x"})");
  auto to = J(R"({"a":1,"b":{"c":5},"e":[1],"g":true})");
  EXPECT_EQ(boost::json::value(CreateMergePatch(from, to)),
            J(R"({"b":{"c":5,"d":null},"e":[1],"f":null,"g":true})"));
  EXPECT_TRUE(CreateMergePatch(from, from).empty());
}

TEST(ObjectUtilTest, ServiceAccountMergeAddsWhatTheLiveOneLacks) {
  auto live = J(R"({"metadata":{"name":"sa","labels":{"a":"live"}},"secrets":[{"name":"s1"}]})");
  auto backed = J(R"({"metadata":{"name":"sa","labels":{"a":"old","b":"2"},"annotations":{"x":"y"}},
    "secrets":[{"name":"s1"},{"name":"s2"}],"imagePullSecrets":[{"name":"pull"}]})");
  EXPECT_EQ(MergeServiceAccounts(live, backed),
            J(R"({"metadata":{"name":"sa","labels":{"a":"live","b":"2"},"annotations":{"x":"y"}},
              "secrets":[{"name":"s1"},{"name":"s2"}],"imagePullSecrets":[{"name":"pull"}]})"));
}

TEST(ObjectUtilTest, RestoreLabelsAndNamespace) {
  auto obj = J(R"({"metadata":{"name":"a","namespace":"old"}})");
  AddRestoreLabels(obj, "b1", "r1");
  SetNamespace(obj, "new");
  EXPECT_EQ(obj, J(R"({"metadata":{"name":"a","namespace":"new","labels":{
    "velero.io/backup-name":"b1","velero.io/restore-name":"r1"}}})"));
}

}  // namespace
}  // namespace lifeboat::restore
