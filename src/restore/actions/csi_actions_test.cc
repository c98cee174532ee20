// Unit tests of the CSI restore actions (velero.io/csi-*-restorer) over small JSON items; the
// cluster they read (existing claims, VolumeSnapshotClasses) is a FakeRestClient.

#include <atomic>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lifeboat/kube/discovery.h"
#include "src/kube/testing/fake_rest_client.h"
#include "src/restore/actions/action_test_util.h"
#include "src/restore/actions/actions.h"
#include "src/restore/actions/builtin_actions.h"

namespace lifeboat::restore {
namespace {

namespace json = boost::json;
using kube::testing::FakeRestClient;
using plugin::ResourceIdentifier;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using testing::Mapping;
using testing::Parse;
using testing::RestoreFixture;

// sha256 of the text, computed with `printf %s 'uid-1/velero-data-abcde' | sha256sum` (and so on).
constexpr char kHashUid1Data[] = "c67f1c7b8b8c63622cbbdcf18a505146cf7cd48fd7d1b7fa599f622f8b6de277";
constexpr char kHashUid2Data[] = "791b9892975e68a62d48fafcc314171c1216ff4c4edc4aa65bc448f0ac29ac39";
constexpr char kHashUid1Snap1[] = "eb8cba62ae32b45ad3dd93fcff60d35c95592ff028bc87aaed66013cd54def10";
constexpr char kHashEmptyX[] = "b3d1db318671a024a7e4b433389f8820d6ca466e2cf700afc29f37ed64f2fa0d";

TEST(CsiRestoreNameTest, IsSha256HexOfUidSlashName) {
  EXPECT_EQ(CsiRestoreName("uid-1", "velero-data-abcde"), kHashUid1Data);
  EXPECT_EQ(CsiRestoreName("uid-2", "velero-data-abcde"), kHashUid2Data);
  EXPECT_EQ(CsiRestoreName("uid-1", "snap-1"), kHashUid1Snap1);
  EXPECT_EQ(CsiRestoreName("", "x"), kHashEmptyX);
}

TEST(CsiRestoreActionsTest, RegisteredInVelerosOrder) {
  std::vector<std::string> names;
  for (const auto& a : BuiltinRestoreItemActions(nullptr, "velero")) names.push_back(a->Name());
  EXPECT_TRUE(std::is_sorted(names.begin(), names.end()));
  for (const char* n : {"velero.io/csi-pvc-restorer", "velero.io/csi-volumesnapshot-restorer",
                        "velero.io/csi-volumesnapshotclass-restorer",
                        "velero.io/csi-volumesnapshotcontent-restorer"}) {
    EXPECT_EQ(std::count(names.begin(), names.end(), n), 1) << n;
  }
}

// A fake cluster: discovery for claims and snapshot classes; claim GETs answer from `claims_`
// (404 otherwise); the class list is `classes_`.
class CsiActionsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fake_.OnJson("GET", "/api", R"({"kind":"APIVersions","versions":["v1"]})");
    fake_.OnJson("GET", "/apis", R"({"kind":"APIGroupList","groups":[
      {"name":"snapshot.storage.k8s.io","versions":[{"groupVersion":"snapshot.storage.k8s.io/v1","version":"v1"}],
       "preferredVersion":{"groupVersion":"snapshot.storage.k8s.io/v1","version":"v1"}}]})");
    fake_.OnJson("GET", "/api/v1", R"({"kind":"APIResourceList","groupVersion":"v1","resources":[
      {"name":"persistentvolumeclaims","singularName":"persistentvolumeclaim","namespaced":true,
       "kind":"PersistentVolumeClaim","verbs":["create","get","list"]}]})");
    fake_.OnJson("GET", "/apis/snapshot.storage.k8s.io/v1",
                 R"({"kind":"APIResourceList","groupVersion":"snapshot.storage.k8s.io/v1","resources":[
      {"name":"volumesnapshotclasses","singularName":"volumesnapshotclass","namespaced":false,
       "kind":"VolumeSnapshotClass","verbs":["create","get","list"]},
      {"name":"volumesnapshots","singularName":"volumesnapshot","namespaced":true,
       "kind":"VolumeSnapshot","verbs":["create","get","list"]},
      {"name":"volumesnapshotcontents","singularName":"volumesnapshotcontent","namespaced":false,
       "kind":"VolumeSnapshotContent","verbs":["create","get","list"]}]})");
    fake_.On("GET", "/apis/snapshot.storage.k8s.io/v1/volumesnapshotclasses",
             [this](const kube::RestRequest&) {
               ++class_lists_;
               return FakeRestClient::Json(R"({"kind":"VolumeSnapshotClassList",
                 "apiVersion":"snapshot.storage.k8s.io/v1","metadata":{"resourceVersion":"3"},
                 "items":)" + classes_ + "}");
             });
  }
  void AddClaim(const std::string& ns, const std::string& name) {
    fake_.OnJson("GET", "/api/v1/namespaces/" + ns + "/persistentvolumeclaims/" + name,
                 R"({"apiVersion":"v1","kind":"PersistentVolumeClaim","metadata":{"name":")" +
                     name + R"(","namespace":")" + ns + R"("}})");
  }

  FakeRestClient fake_;
  kube::Discovery discovery_{&fake_};
  kube::DynamicClient client_{&fake_, &discovery_};
  std::string classes_ = "[]";
  std::atomic<int> class_lists_{0};
};

// A claim as the backup's csi-pvc-backupper leaves it: bound, annotated with its snapshot.
constexpr char kCsiClaim[] = R"({"apiVersion":"v1","kind":"PersistentVolumeClaim",
  "metadata":{"name":"data","namespace":"app","annotations":{
    "velero.io/volume-snapshot-name":"velero-data-abcde",
    "backup.velero.io/must-include-additional-items":"true"},
    "labels":{"velero.io/volume-snapshot-name":"velero-data-abcde"}},
  "spec":{"accessModes":["ReadWriteOnce"],"storageClassName":"csi-hostpath",
    "resources":{"requests":{"storage":"1Gi"}},"volumeName":"pvc-1234"},
  "status":{"phase":"Bound"}})";

// ---------------------------------------------------------------------------------------------
// velero.io/csi-pvc-restorer

TEST_F(CsiActionsTest, PvcGetsTheHashedSnapshotAsDataSource) {
  CsiPvcRestorerAction a(&client_);
  EXPECT_THAT(a.AppliesTo().included_resources, ElementsAre("persistentvolumeclaims"));
  RestoreFixture f;
  auto out = f.Run(a, kCsiClaim);
  ASSERT_TRUE(out.ok()) << out.status();
  const json::value& spec = *JsonFind(out->item, {"spec"});
  EXPECT_EQ(JsonFind(spec, {"volumeName"}), nullptr);
  const json::value want = Parse(std::string(R"({"apiGroup":"snapshot.storage.k8s.io",
    "kind":"VolumeSnapshot","name":")") + kHashUid1Data + "\"}");
  EXPECT_EQ(*JsonFind(spec, {"dataSource"}), want);
  EXPECT_EQ(*JsonFind(spec, {"dataSourceRef"}), want);
  EXPECT_EQ(JsonString(spec, {"storageClassName"}), "csi-hostpath");
  EXPECT_THAT(out->additional_items,
              ElementsAre(ResourceIdentifier{"snapshot.storage.k8s.io", "volumesnapshots", "app",
                                             "velero-data-abcde"}));
  EXPECT_FALSE(out->skip_restore);
  // Existence is checked in the target namespace (no mapping here).
  EXPECT_EQ(fake_.RequestsTo("GET", "/api/v1/namespaces/app/persistentvolumeclaims/data").size(),
            1u);
}

TEST_F(CsiActionsTest, PvcUnderNamespaceMappingChecksTheTargetAndKeepsTheOriginalForTheItem) {
  CsiPvcRestorerAction a(&client_);
  RestoreFixture f(Mapping{{"app", "app2"}});
  f.context.restore_uid = "uid-2";
  auto out = f.Run(a, kCsiClaim);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(JsonString(out->item, {"spec", "dataSource", "name"}), kHashUid2Data);
  // The additional item is named as in the backup (original namespace and name).
  EXPECT_THAT(out->additional_items,
              ElementsAre(ResourceIdentifier{"snapshot.storage.k8s.io", "volumesnapshots", "app",
                                             "velero-data-abcde"}));
  EXPECT_EQ(fake_.RequestsTo("GET", "/api/v1/namespaces/app2/persistentvolumeclaims/data").size(),
            1u);
  EXPECT_TRUE(fake_.RequestsTo("GET", "/api/v1/namespaces/app/persistentvolumeclaims/data").empty());
}

TEST_F(CsiActionsTest, PvcThatExistsIsLeftToTheExistingResourcePolicy) {
  AddClaim("app2", "data");
  CsiPvcRestorerAction a(&client_);
  RestoreFixture f(Mapping{{"app", "app2"}});
  auto out = f.Run(a, kCsiClaim);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->item, Parse(kCsiClaim));
  EXPECT_THAT(out->additional_items, IsEmpty());
}

TEST_F(CsiActionsTest, PvcWithoutRestorePvsComesBackEmpty) {
  CsiPvcRestorerAction a(&client_);
  RestoreFixture f;
  f.restore.spec.restore_pvs = false;
  auto out = f.Run(a, R"({"apiVersion":"v1","kind":"PersistentVolumeClaim",
    "metadata":{"name":"data","namespace":"app","annotations":{
      "velero.io/volume-snapshot-name":"velero-data-abcde"}},
    "spec":{"storageClassName":"csi-hostpath","volumeName":"pvc-1234",
      "dataSource":{"apiGroup":"snapshot.storage.k8s.io","kind":"VolumeSnapshot","name":"old"},
      "dataSourceRef":{"apiGroup":"snapshot.storage.k8s.io","kind":"VolumeSnapshot","name":"old"}}})");
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(*JsonFind(out->item, {"spec"}), Parse(R"({"storageClassName":"csi-hostpath"})"));
  EXPECT_THAT(out->additional_items, IsEmpty());
  EXPECT_FALSE(out->skip_restore);
}

TEST_F(CsiActionsTest, PvcWithoutSnapshotAnnotationIsUntouchedWithoutAClient) {
  CsiPvcRestorerAction a(nullptr);
  RestoreFixture f;
  f.restore.spec.restore_pvs = false;
  const char* claim = R"({"kind":"PersistentVolumeClaim","metadata":{"name":"d","namespace":"app"},
    "spec":{"volumeName":"pv-1"}})";
  auto out = f.Run(a, claim);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->item, Parse(claim));
  // An annotated claim needs the cluster.
  auto annotated = f.Run(a, kCsiClaim);
  EXPECT_EQ(annotated.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(annotated.status().message(), HasSubstr("velero.io/csi-pvc-restorer"));
}

TEST_F(CsiActionsTest, PvcReadsTheAnnotationFromTheBackedUpCopy) {
  // velero.io/pvc drops the annotation from the item; the backed-up copy still has it.
  CsiPvcRestorerAction a(&client_);
  RestoreFixture f;
  auto out = f.Run(a, R"({"kind":"PersistentVolumeClaim","metadata":{"name":"data","namespace":"app"},
    "spec":{"volumeName":"pvc-1234"}})", kCsiClaim);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(JsonString(out->item, {"spec", "dataSource", "name"}), kHashUid1Data);
}

TEST_F(CsiActionsTest, PvcClusterErrorsAreReturned) {
  fake_.On("GET", "/api/v1/namespaces/app/persistentvolumeclaims/data",
           [](const kube::RestRequest&) -> StatusOr<kube::RestResponse> {
             return FakeRestClient::Error(403, "Forbidden", "no");
           });
  CsiPvcRestorerAction a(&client_);
  RestoreFixture f;
  auto out = f.Run(a, kCsiClaim);
  EXPECT_EQ(out.status().code(), absl::StatusCode::kPermissionDenied);
}

// ---------------------------------------------------------------------------------------------
// velero.io/csi-volumesnapshot-restorer

// A VolumeSnapshot as the backup's csi-volumesnapshot-backupper leaves it.
constexpr char kSnapshot[] = R"({"apiVersion":"snapshot.storage.k8s.io/v1","kind":"VolumeSnapshot",
  "metadata":{"name":"velero-data-abcde","namespace":"app","annotations":{
    "velero.io/csi-vsc-deletion-policy":"Delete",
    "velero.io/csi-volumesnapshot-handle":"snap-handle-1",
    "velero.io/csi-driver-name":"hostpath.csi.kubesim.io"},
    "labels":{"velero.io/backup-name":"b1"}},
  "spec":{"volumeSnapshotClassName":"csi-hostpath-snapclass",
    "source":{"persistentVolumeClaimName":"data"}},
  "status":{"boundVolumeSnapshotContentName":"snapcontent-42","readyToUse":true}})";

TEST(CsiVolumeSnapshotRestorerTest, BecomesAPreProvisionedSnapshotOfTheHashedName) {
  CsiVolumeSnapshotRestorerAction a;
  EXPECT_THAT(a.AppliesTo().included_resources,
              ElementsAre("volumesnapshots.snapshot.storage.k8s.io"));
  RestoreFixture f(Mapping{{"app", "app2"}});
  auto out = f.Run(a, kSnapshot);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(JsonString(out->item, {"metadata", "name"}), kHashUid1Data);
  // The engine maps the item's namespace; the action leaves it.
  EXPECT_EQ(JsonString(out->item, {"metadata", "namespace"}), "app");
  EXPECT_EQ(JsonString(out->item, {"metadata", "annotations", "velero.io/csi-vsc-deletion-policy"}),
            "Retain");
  EXPECT_EQ(*JsonFind(out->item, {"spec"}),
            Parse(std::string(R"({"source":{"volumeSnapshotContentName":")") + kHashUid1Data +
                  "\"}}"));
  EXPECT_THAT(out->additional_items,
              ElementsAre(ResourceIdentifier{"snapshot.storage.k8s.io", "volumesnapshotcontents",
                                             "", "snapcontent-42"}));
}

TEST(CsiVolumeSnapshotRestorerTest, SkippedWithoutRestorePvsAndFailsWithoutBoundContent) {
  CsiVolumeSnapshotRestorerAction a;
  RestoreFixture f;
  f.restore.spec.restore_pvs = false;
  auto skipped = f.Run(a, kSnapshot);
  ASSERT_TRUE(skipped.ok()) << skipped.status();
  EXPECT_TRUE(skipped->skip_restore);
  EXPECT_THAT(skipped->additional_items, IsEmpty());

  RestoreFixture g;
  auto unbound = g.Run(a, R"({"kind":"VolumeSnapshot","metadata":{"name":"v","namespace":"app"},
    "spec":{"source":{"persistentVolumeClaimName":"data"}},"status":{"readyToUse":false}})");
  EXPECT_EQ(unbound.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(unbound.status().message(), HasSubstr("no bound VolumeSnapshotContent"));
}

// ---------------------------------------------------------------------------------------------
// velero.io/csi-volumesnapshotcontent-restorer

constexpr char kContent[] = R"({"apiVersion":"snapshot.storage.k8s.io/v1","kind":"VolumeSnapshotContent",
  "metadata":{"name":"snapcontent-42","labels":{"velero.io/backup-name":"b1"},
    "annotations":{"csi.storage.k8s.io/deletion-secret-name":"snap-secret",
                   "csi.storage.k8s.io/deletion-secret-namespace":"storage"}},
  "spec":{"deletionPolicy":"Delete","driver":"hostpath.csi.kubesim.io",
    "source":{"volumeHandle":"pvc-1234"},"volumeSnapshotClassName":"old-class",
    "volumeSnapshotRef":{"apiVersion":"snapshot.storage.k8s.io/v1","kind":"VolumeSnapshot",
      "name":"velero-data-abcde","namespace":"app","uid":"u-9","resourceVersion":"77"}},
  "status":{"snapshotHandle":"snap-handle-1","readyToUse":true,"restoreSize":1024}})";

TEST_F(CsiActionsTest, ContentIsPreProvisionedFromTheSnapshotHandle) {
  classes_ = R"([
    {"metadata":{"name":"other-driver","labels":{"velero.io/csi-volumesnapshot-class":"true"}},
     "driver":"other.csi.io","deletionPolicy":"Delete"},
    {"metadata":{"name":"b-plain"},"driver":"hostpath.csi.kubesim.io","deletionPolicy":"Delete"},
    {"metadata":{"name":"c-velero","labels":{"velero.io/csi-volumesnapshot-class":"true"}},
     "driver":"hostpath.csi.kubesim.io","deletionPolicy":"Delete"}])";
  CsiVolumeSnapshotContentRestorerAction a(&client_);
  EXPECT_THAT(a.AppliesTo().included_resources,
              ElementsAre("volumesnapshotcontents.snapshot.storage.k8s.io"));
  RestoreFixture f(Mapping{{"app", "app2"}});
  auto out = f.Run(a, kContent);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(JsonString(out->item, {"metadata", "name"}), kHashUid1Data);
  EXPECT_EQ(*JsonFind(out->item, {"spec"}), Parse(std::string(R"({"deletionPolicy":"Retain",
    "driver":"hostpath.csi.kubesim.io","source":{"snapshotHandle":"snap-handle-1"},
    "volumeSnapshotClassName":"c-velero",
    "volumeSnapshotRef":{"apiVersion":"snapshot.storage.k8s.io/v1","kind":"VolumeSnapshot",
      "name":")") + kHashUid1Data + R"(","namespace":"app2"}})"));
  EXPECT_THAT(out->additional_items,
              ElementsAre(ResourceIdentifier{"", "secrets", "storage", "snap-secret"}));
  // The class list is read once per action (one action per restore).
  ASSERT_TRUE(f.Run(a, kContent).ok());
  EXPECT_EQ(class_lists_.load(), 1);
}

TEST_F(CsiActionsTest, ContentClassChoice) {
  CsiVolumeSnapshotContentRestorerAction none(&client_);
  RestoreFixture f;
  auto out = none.Execute({Parse(kContent), nullptr, &f.context});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(JsonFind(out->item, {"spec", "volumeSnapshotClassName"}), nullptr);  // no class

  classes_ = R"([
    {"metadata":{"name":"old-class"},"driver":"hostpath.csi.kubesim.io"},
    {"metadata":{"name":"a-velero","labels":{"velero.io/csi-volumesnapshot-class":"true"}},
     "driver":"hostpath.csi.kubesim.io"}])";
  CsiVolumeSnapshotContentRestorerAction same(&client_);
  auto kept = f.Run(same, kContent);
  ASSERT_TRUE(kept.ok()) << kept.status();
  EXPECT_EQ(JsonString(kept->item, {"spec", "volumeSnapshotClassName"}), "old-class");

  classes_ = R"([
    {"metadata":{"name":"z-default","annotations":{"snapshot.storage.kubernetes.io/is-default-class":"true"}},
     "driver":"hostpath.csi.kubesim.io"},
    {"metadata":{"name":"a-first"},"driver":"hostpath.csi.kubesim.io"}])";
  CsiVolumeSnapshotContentRestorerAction by_default(&client_);
  auto d = f.Run(by_default, kContent);
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(JsonString(d->item, {"spec", "volumeSnapshotClassName"}), "z-default");

  classes_ = R"([
    {"metadata":{"name":"b-second"},"driver":"hostpath.csi.kubesim.io"},
    {"metadata":{"name":"a-first"},"driver":"hostpath.csi.kubesim.io"}])";
  CsiVolumeSnapshotContentRestorerAction first(&client_);
  auto fst = f.Run(first, kContent);
  ASSERT_TRUE(fst.ok()) << fst.status();
  EXPECT_EQ(JsonString(fst->item, {"spec", "volumeSnapshotClassName"}), "a-first");
}

TEST_F(CsiActionsTest, ContentHandleFallbacksSkipAndErrors) {
  CsiVolumeSnapshotContentRestorerAction a(&client_);
  RestoreFixture f;
  // Already pre-provisioned in the source cluster: the handle is in spec.source.
  auto pre = f.Run(a, R"({"kind":"VolumeSnapshotContent","metadata":{"name":"c"},
    "spec":{"driver":"d","source":{"snapshotHandle":"h-2"},
      "volumeSnapshotRef":{"name":"snap-1","namespace":"app"}}})");
  ASSERT_TRUE(pre.ok()) << pre.status();
  EXPECT_EQ(JsonString(pre->item, {"spec", "source", "snapshotHandle"}), "h-2");
  EXPECT_EQ(JsonString(pre->item, {"metadata", "name"}), kHashUid1Snap1);
  EXPECT_THAT(pre->additional_items, IsEmpty());

  auto no_handle = f.Run(a, R"({"kind":"VolumeSnapshotContent","metadata":{"name":"c"},
    "spec":{"driver":"d","source":{"volumeHandle":"v"},"volumeSnapshotRef":{"name":"s","namespace":"app"}}})");
  EXPECT_EQ(no_handle.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(no_handle.status().message(), HasSubstr("no snapshot handle"));

  RestoreFixture off;
  off.restore.spec.restore_pvs = false;
  CsiVolumeSnapshotContentRestorerAction without_client(nullptr);
  auto skipped = off.Run(without_client, kContent);
  ASSERT_TRUE(skipped.ok()) << skipped.status();
  EXPECT_TRUE(skipped->skip_restore);
  EXPECT_EQ(f.Run(without_client, kContent).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

// ---------------------------------------------------------------------------------------------
// velero.io/csi-volumesnapshotclass-restorer

TEST(CsiVolumeSnapshotClassRestorerTest, ListSecretIsAnAdditionalItem) {
  CsiVolumeSnapshotClassRestorerAction a;
  EXPECT_THAT(a.AppliesTo().included_resources,
              ElementsAre("volumesnapshotclasses.snapshot.storage.k8s.io"));
  const char* cls = R"({"apiVersion":"snapshot.storage.k8s.io/v1","kind":"VolumeSnapshotClass",
    "metadata":{"name":"c","annotations":{
      "csi.storage.k8s.io/snapshotter-list-secret-name":"lister",
      "csi.storage.k8s.io/snapshotter-list-secret-namespace":"storage"}},
    "driver":"hostpath.csi.kubesim.io","deletionPolicy":"Delete"})";
  RestoreFixture f;
  auto out = f.Run(a, cls);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->item, Parse(cls));
  EXPECT_THAT(out->additional_items,
              ElementsAre(ResourceIdentifier{"", "secrets", "storage", "lister"}));
  f.restore.spec.restore_pvs = false;
  auto skipped = f.Run(a, cls);
  ASSERT_TRUE(skipped.ok());
  EXPECT_TRUE(skipped->skip_restore);
}

}  // namespace
}  // namespace lifeboat::restore
