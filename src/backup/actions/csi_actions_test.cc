// The CSI snapshot path of the backup engine against kubesim and its snapshot controller
// (driver hostpath.csi.kubesim.io). Volumes of other drivers (test.csi.lifeboat.io,
// multi.csi.lifeboat.io, with classes made here) are never snapshotted by kubesim: they show
// the class choice, the timeout and the clean-up.

#include "src/backup/actions/csi_actions.h"

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <map>
#include <set>
#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lifeboat/archive/layout.h"
#include "lifeboat/archive/reader.h"
#include "lifeboat/backup/backupper.h"
#include "lifeboat/common/gzip.h"
#include "lifeboat/common/json.h"
#include "lifeboat/kube/config.h"
#include "lifeboat/kube/object.h"
#include "lifeboat/kube/pod_exec.h"
#include "lifeboat/storage/registry.h"
#include "src/backup/actions/builtin_actions.h"
#include "src/backup/item_backupper.h"
#include "src/kube/testing/kubesim_process.h"

namespace lifeboat::backup {
namespace {

namespace json = boost::json;
using kube::testing::KubesimProcess;
using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::Not;

const kube::GroupVersionResource kNs{"", "v1", "namespaces"}, kPv{"", "v1", "persistentvolumes"},
    kPvc{"", "v1", "persistentvolumeclaims"}, kPod{"", "v1", "pods"}, kSecret{"", "v1", "secrets"},
    kCrd{"apiextensions.k8s.io", "v1", "customresourcedefinitions"},
    kVs{"snapshot.storage.k8s.io", "v1", "volumesnapshots"},
    kVsc{"snapshot.storage.k8s.io", "v1", "volumesnapshotcontents"},
    kClass{"snapshot.storage.k8s.io", "v1", "volumesnapshotclasses"};

json::value J(const std::string& text) {
  auto v = ParseJson(text);
  EXPECT_TRUE(v.ok()) << v.status() << " in " << text;
  return v.ok() ? *v : json::value();
}

std::string S(const json::value& v, std::initializer_list<std::string_view> path) {
  return JsonString(v, path).value_or("<none>");
}

// A CRD of snapshot.storage.k8s.io/v1 with the status subresource, as upstream installs it.
std::string SnapshotCrd(const std::string& plural, const std::string& kind, bool namespaced,
                        bool status) {
  return R"({"apiVersion":"apiextensions.k8s.io/v1","kind":"CustomResourceDefinition",
    "metadata":{"name":")" + plural + R"(.snapshot.storage.k8s.io"},
    "spec":{"group":"snapshot.storage.k8s.io","scope":")" + (namespaced ? "Namespaced" : "Cluster") +
         R"(","names":{"plural":")" + plural + R"(","singular":")" + plural.substr(0, plural.size() - 1) +
         R"(","kind":")" + kind + R"("},"versions":[{"name":"v1","served":true,"storage":true,)" +
         (status ? R"("subresources":{"status":{}},)" : "") +
         R"("schema":{"openAPIV3Schema":{"type":"object","x-kubernetes-preserve-unknown-fields":true}}}]}})";
}

// Records the VolumeSnapshots made in namespace `ns_` (name -> class), without acting on them.
class SnapshotRecorder {
 public:
  SnapshotRecorder(kube::DynamicClient* client, std::string ns)
      : client_(client), ns_(std::move(ns)), thread_([this] { Loop(); }) {}
  ~SnapshotRecorder() {
    stop_ = true;
    thread_.join();
  }
  std::map<std::string, std::string> seen() {
    std::lock_guard<std::mutex> l(mu_);
    return seen_;
  }

 private:
  void Loop() {
    while (!stop_) {
      auto page = client_->List(kVs, ns_);
      if (page.ok()) {
        std::lock_guard<std::mutex> l(mu_);
        for (const auto& vs : page->items) {
          seen_[std::string(kube::ObjectName(vs))] = S(vs, {"spec", "volumeSnapshotClassName"});
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }

  kube::DynamicClient* client_;
  std::string ns_;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::map<std::string, std::string> seen_;
  std::thread thread_;
};

class CsiBackupTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto k = KubesimProcess::Start();
    ASSERT_TRUE(k.ok()) << k.status();
    kubesim_ = k->release();
    auto config = kube::LoadKubeconfig({.explicit_path = kubesim_->kubeconfig()});
    ASSERT_TRUE(config.ok()) << config.status();
    kube::RestClientOptions o;
    o.qps = 0;
    rest_ = kube::RestClient::Create(*config, o)->release();
    discovery_ = new kube::Discovery(rest_);
    client_ = new kube::DynamicClient(rest_, discovery_);
    auto exec = kube::PodExecutor::Create(*config, nullptr);
    ASSERT_TRUE(exec.ok()) << exec.status();
    exec_ = exec->release();
    // kubesim with the volume work installs these itself; without it the test does.
    if (!discovery_->ResourceFor(kVs).ok()) {
      for (auto [plural, kind, ns, status] :
           {std::tuple{"volumesnapshots", "VolumeSnapshot", true, true},
            std::tuple{"volumesnapshotcontents", "VolumeSnapshotContent", false, true},
            std::tuple{"volumesnapshotclasses", "VolumeSnapshotClass", false, false}}) {
        auto r = client_->Create(kCrd, "", J(SnapshotCrd(plural, kind, ns, status)));
        ASSERT_TRUE(r.ok() || absl::IsAlreadyExists(r.status())) << r.status();
      }
      for (int i = 0; i < 200; ++i) {
        if (discovery_->Refresh().ok() && discovery_->ResourceFor(kClass).ok() &&
            discovery_->ResourceFor(kVsc).ok() && discovery_->ResourceFor(kVs).ok()) {
          break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
    }
    ASSERT_TRUE(discovery_->ResourceFor(kVs).ok());
    Create(kClass, "", R"({"apiVersion":"snapshot.storage.k8s.io/v1","kind":"VolumeSnapshotClass",
      "metadata":{"name":"test-snapclass","labels":{"velero.io/csi-volumesnapshot-class":"true"}},
      "driver":"test.csi.lifeboat.io","deletionPolicy":"Delete"})");
    // Driver multi.csi.lifeboat.io: two classes, "multi-default" annotated as the default.
    Create(kClass, "", R"({"apiVersion":"snapshot.storage.k8s.io/v1","kind":"VolumeSnapshotClass",
      "metadata":{"name":"multi-default","annotations":{"snapshot.storage.kubernetes.io/is-default-class":"true"}},
      "driver":"multi.csi.lifeboat.io","deletionPolicy":"Delete"})");
    Create(kClass, "", R"({"apiVersion":"snapshot.storage.k8s.io/v1","kind":"VolumeSnapshotClass",
      "metadata":{"name":"multi-other"},"driver":"multi.csi.lifeboat.io","deletionPolicy":"Delete"})");
    // kubesim's class names a list secret (the class action brings it along).
    auto annotated = client_->Patch(kClass, "", "csi-hostpath-snapclass", kube::PatchType::kMerge,
                                    R"({"metadata":{"annotations":{
      "csi.storage.k8s.io/snapshotter-list-secret-name":"list-secret",
      "csi.storage.k8s.io/snapshotter-list-secret-namespace":"csi-secrets"}}})");
    ASSERT_TRUE(annotated.ok()) << annotated.status();
    Create(kNs, "", R"({"apiVersion":"v1","kind":"Namespace","metadata":{"name":"csi-secrets"}})");
    Create(kSecret, "csi-secrets", R"({"apiVersion":"v1","kind":"Secret","metadata":{"name":"list-secret"},"stringData":{"k":"v"}})");
  }
  static void TearDownTestSuite() {
    delete exec_;
    delete client_;
    delete discovery_;
    delete rest_;
    delete kubesim_;
  }

  static void Create(const kube::GroupVersionResource& gvr, const std::string& ns,
                     const std::string& text) {
    auto r = client_->Create(gvr, ns, J(text));
    ASSERT_TRUE(r.ok()) << r.status() << " creating " << text;
  }

  // Namespace `ns` with claim "data" (labels app=db) bound to a CSI volume of `driver` (kubesim's
  // driver: provisioned through StorageClass csi-hostpath; others: a static PV), and, when
  // `pod_annotations` is not null, a Running pod "db" mounting it at /data with those annotations.
  static void Seed(const std::string& ns, const std::string& driver,
                   const char* pod_annotations = nullptr, const std::string& pvc_annotations = "{}") {
    Create(kNs, "", R"({"apiVersion":"v1","kind":"Namespace","metadata":{"name":")" + ns + R"("}})");
    const bool kubesims = driver == "hostpath.csi.kubesim.io";
    if (!kubesims) {
      Create(kPv, "", R"({"apiVersion":"v1","kind":"PersistentVolume","metadata":{"name":"pv-)" + ns +
                          R"(","labels":{"tier":"db"}},"spec":{"capacity":{"storage":"1Gi"},"accessModes":["ReadWriteOnce"],
        "persistentVolumeReclaimPolicy":"Delete","storageClassName":"test-sc",
        "claimRef":{"namespace":")" + ns + R"(","name":"data"},
        "csi":{"driver":")" + driver + R"(","volumeHandle":"vol-)" + ns + R"("}}})");
    }
    Create(kPvc, ns, R"({"apiVersion":"v1","kind":"PersistentVolumeClaim","metadata":{"name":"data",
      "labels":{"app":"db"},"annotations":)" + pvc_annotations + R"(},"spec":{"accessModes":["ReadWriteOnce"],
      "resources":{"requests":{"storage":"1Gi"}},)" +
                          (kubesims ? std::string(R"("storageClassName":"csi-hostpath"}})")
                                    : R"("volumeName":"pv-)" + ns + R"(","storageClassName":"test-sc"}})"));
    if (!kubesims) {
      auto r = client_->Patch(kPvc, ns, "data", kube::PatchType::kMerge,
                              R"({"status":{"phase":"Bound"}})", {}, "status");
      ASSERT_TRUE(r.ok()) << r.status();
    }
    WaitFor(kPvc, ns, "data", {"status", "phase"}, "Bound");
    if (pod_annotations != nullptr) {
      Create(kPod, ns, std::string(R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"db","annotations":)") +
                           pod_annotations + R"(},"spec":{"containers":[{"name":"main","image":"busybox",
          "volumeMounts":[{"name":"d","mountPath":"/data"}]}],
        "volumes":[{"name":"d","persistentVolumeClaim":{"claimName":"data"}}]}})");
      WaitFor(kPod, ns, "db", {"status", "phase"}, "Running");
    }
  }

  // No VolumeSnapshot left in `ns` (kubesim's controller may hold a deleted one by a finalizer
  // for a moment).
  static bool AllGone(const std::string& ns) {
    for (int i = 0; i < 400; ++i) {
      auto left = client_->List(kVs, ns);
      if (left.ok() && left->items.empty()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }

  static void WaitFor(const kube::GroupVersionResource& gvr, const std::string& ns,
                      const std::string& name, std::initializer_list<std::string_view> path,
                      const std::string& want) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    for (;;) {
      auto got = client_->Get(gvr, ns, name);
      if (got.ok() && JsonString(*got, path) == want) return;
      ASSERT_LT(std::chrono::steady_clock::now(), deadline) << ns << "/" << name << " never " << want;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }

  void SetUp() override {
    bucket_dir_ = std::filesystem::temp_directory_path() /
                  ("lifeboat-csi-test-" + std::to_string(::getpid()) + "-" + std::to_string(++counter_));
    std::filesystem::create_directories(bucket_dir_ / "bucket");
    storage::DriverParams params;
    params.config = {{"root", bucket_dir_.string()}};
    auto store = storage::NewObjectStore("local", params);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::make_unique<storage::BackupStore>(
        std::shared_ptr<storage::ObjectStore>(std::move(*store)), "bucket", "");
  }
  void TearDown() override { std::filesystem::remove_all(bucket_dir_); }

  api::Backup Run(const std::string& ns, std::chrono::seconds csi_timeout = std::chrono::seconds(60),
                  std::map<std::string, std::string> annotations = {}) {
    api::Backup b;
    b.metadata.name = "b" + std::to_string(++counter_);
    b.metadata.namespace_ = "velero";
    b.metadata.uid = "uid-" + b.metadata.name;
    b.metadata.annotations = std::move(annotations);
    b.spec.storage_location = "default";
    // csi-secrets holds the class's secret (an additional item goes through the namespace
    // filter, as in Velero).
    b.spec.included_namespaces = {ns, "csi-secrets"};
    b.spec.csi_snapshot_timeout = csi_timeout;
    BackupperDeps deps;
    deps.client = client_;
    deps.discovery = discovery_;
    deps.exec = exec_;
    deps.store = store_.get();
    deps.actions = BuiltinBackupItemActions(client_);
    BackupperOptions options;
    options.temp_dir = bucket_dir_;
    return Backupper(deps, options).Run(std::move(b));
  }

  std::map<std::string, std::string> Archive(const std::string& name) {
    std::string tgz;
    auto sink = StringSink(&tgz);
    EXPECT_TRUE(store_->GetBackupFile(name, storage::BackupFile::kContents, *sink).ok());
    auto source = StringSource(tgz);
    auto reader = archive::ArchiveReader::Open(source.get());
    EXPECT_TRUE(reader.ok()) << reader.status();
    std::map<std::string, std::string> out;
    while (reader.ok()) {
      auto e = (*reader)->Next();
      if (!e.ok() || !e->has_value()) break;
      out[(*e)->path] = (*e)->data;
    }
    return out;
  }
  json::value File(const std::string& name, storage::BackupFile file) {
    std::string gz;
    auto sink = StringSink(&gz);
    EXPECT_TRUE(store_->GetBackupFile(name, file, *sink).ok());
    auto text = Gunzip(gz);
    EXPECT_TRUE(text.ok());
    return text.ok() ? J(*text) : json::value();
  }
  // The unversioned archive entry of gr/ns/name, parsed (null when absent).
  static json::value Item(const std::map<std::string, std::string>& entries, const std::string& gr,
                          const std::string& ns, const std::string& name) {
    auto it = entries.find(archive::ItemPath(gr, ns, name));
    return it == entries.end() ? json::value() : J(it->second);
  }

  static KubesimProcess* kubesim_;
  static kube::RestClient* rest_;
  static kube::Discovery* discovery_;
  static kube::DynamicClient* client_;
  static kube::PodExecutor* exec_;
  static int counter_;
  std::filesystem::path bucket_dir_;
  std::unique_ptr<storage::BackupStore> store_;
};
KubesimProcess* CsiBackupTest::kubesim_ = nullptr;
kube::RestClient* CsiBackupTest::rest_ = nullptr;
kube::Discovery* CsiBackupTest::discovery_ = nullptr;
kube::DynamicClient* CsiBackupTest::client_ = nullptr;
kube::PodExecutor* CsiBackupTest::exec_ = nullptr;
int CsiBackupTest::counter_ = 0;

TEST_F(CsiBackupTest, SnapshotBracketedByHooksArchivedAndHandedToTheBackup) {
  // The pre hook writes A into the volume, the post hook B: the snapshot holds A and not B.
  Seed("csi-ok", "hostpath.csi.kubesim.io",
       R"({"pre.hook.backup.velero.io/command":"[\"/bin/sh\",\"-c\",\"echo A > \\\"$KUBESIM_ROOT/data/marker-a\\\"\"]",
           "post.hook.backup.velero.io/command":"[\"/bin/sh\",\"-c\",\"echo B > \\\"$KUBESIM_ROOT/data/marker-b\\\"\"]"})");
  // A VolumeSnapshot the user made: auto-excluded from the listing.
  Create(kVs, "csi-ok", R"({"apiVersion":"snapshot.storage.k8s.io/v1","kind":"VolumeSnapshot",
    "metadata":{"name":"users-own"},"spec":{"source":{"persistentVolumeClaimName":"data"},
    "volumeSnapshotClassName":"csi-hostpath-snapclass"}})");
  api::Backup b = Run("csi-ok");
  ASSERT_EQ(b.status.phase, api::BackupPhase::kCompleted) << b.status.failure_reason;
  EXPECT_EQ(b.status.csi_volume_snapshots_attempted, 1);
  EXPECT_EQ(b.status.csi_volume_snapshots_completed, 1);
  EXPECT_EQ(b.status.hook_status->hooks_attempted, 2);

  auto entries = Archive(b.metadata.name);
  json::value pvc = Item(entries, "persistentvolumeclaims", "csi-ok", "data");
  ASSERT_TRUE(pvc.is_object());
  const std::string vs_name = S(pvc, {"metadata", "annotations", "velero.io/volume-snapshot-name"});
  EXPECT_THAT(vs_name, ::testing::StartsWith("velero-data-"));
  EXPECT_EQ(S(pvc, {"metadata", "labels", "velero.io/volume-snapshot-name"}), vs_name);
  EXPECT_EQ(JsonFind(pvc, {"metadata", "annotations", "backup.velero.io/must-include-additional-items"}),
            nullptr);  // the engine's instruction, not archived
  EXPECT_TRUE(Item(entries, "pods", "csi-ok", "db").is_object());
  const std::string pv_name = S(pvc, {"spec", "volumeName"});
  EXPECT_TRUE(Item(entries, "persistentvolumes", "", pv_name).is_object());

  json::value vs = Item(entries, std::string(kVolumeSnapshotsGR), "csi-ok", vs_name);
  ASSERT_TRUE(vs.is_object()) << "no VolumeSnapshot " << vs_name << " in the archive";
  EXPECT_EQ(S(vs, {"metadata", "labels", "velero.io/backup-name"}), b.metadata.name);
  EXPECT_EQ(S(vs, {"metadata", "labels", "app"}), "db");  // the claim's labels
  EXPECT_EQ(S(vs, {"spec", "volumeSnapshotClassName"}), "csi-hostpath-snapclass");
  const std::string vsc_name = S(vs, {"status", "boundVolumeSnapshotContentName"});
  const std::string handle = S(vs, {"metadata", "annotations", "velero.io/csi-volumesnapshot-handle"});
  EXPECT_NE(handle, "<none>");
  EXPECT_EQ(S(vs, {"metadata", "annotations", "velero.io/csi-driver-name"}), "hostpath.csi.kubesim.io");
  EXPECT_EQ(S(vs, {"metadata", "annotations", "velero.io/csi-vsc-deletion-policy"}), "Delete");
  json::value vsc = Item(entries, std::string(kVolumeSnapshotContentsGR), "", vsc_name);
  ASSERT_TRUE(vsc.is_object()) << "no VolumeSnapshotContent " << vsc_name;
  EXPECT_EQ(S(vsc, {"metadata", "labels", "velero.io/backup-name"}), b.metadata.name);
  EXPECT_EQ(S(vsc, {"status", "snapshotHandle"}), handle);
  const int64_t size = JsonInt(vsc, {"status", "restoreSize"}).value_or(-1);
  EXPECT_EQ(S(vs, {"metadata", "annotations", "velero.io/csi-volumesnapshot-restore-size"}),
            BinarySiQuantity(size));
  EXPECT_TRUE(Item(entries, std::string(kVolumeSnapshotClassesGR), "", "csi-hostpath-snapclass").is_object());
  EXPECT_TRUE(Item(entries, "secrets", "csi-secrets", "list-secret").is_object());  // class's secret
  EXPECT_FALSE(Item(entries, std::string(kVolumeSnapshotsGR), "csi-ok", "users-own").is_object());

  // Finalized: the VolumeSnapshot is gone, its content retained for the backup, with the data.
  EXPECT_TRUE(absl::IsNotFound(client_->Get(kVs, "csi-ok", vs_name).status()));
  auto live = client_->Get(kVsc, "", vsc_name);
  ASSERT_TRUE(live.ok()) << live.status();
  EXPECT_EQ(S(*live, {"spec", "deletionPolicy"}), "Retain");
  const std::filesystem::path snap = kubesim_->data_dir() / "snapshots" / handle;
  EXPECT_TRUE(std::filesystem::exists(snap / "marker-a")) << snap;
  EXPECT_FALSE(std::filesystem::exists(snap / "marker-b")) << snap;
  EXPECT_TRUE(std::filesystem::exists(kubesim_->data_dir() / "volumes" / pv_name / "marker-b"));

  json::value infos = File(b.metadata.name, storage::BackupFile::kVolumeInfo);
  ASSERT_TRUE(infos.is_array() && infos.as_array().size() == 1u) << json::serialize(infos);
  json::object info = infos.as_array()[0].as_object();
  std::vector<std::string> keys;
  for (const auto& kv : info) keys.emplace_back(kv.key());
  EXPECT_THAT(keys, ::testing::ElementsAre("pvcName", "pvcNamespace", "pvName", "backupMethod",
                                           "snapshotDataMoved", "preserveLocalSnapshot", "skipped",
                                           "startTimestamp", "completionTimestamp", "result",
                                           "csiSnapshotInfo", "pvInfo"));
  EXPECT_EQ(info["backupMethod"], "CSISnapshot");
  EXPECT_EQ(info["result"], "succeeded");
  EXPECT_EQ(json::serialize(info["csiSnapshotInfo"]),
            R"({"snapshotHandle":")" + handle + R"(","size":)" + std::to_string(size) +
                R"(,"driver":"hostpath.csi.kubesim.io","vscName":")" + vsc_name + R"(","ReadyToUse":true})");
  // The native snapshot list stays empty.
  EXPECT_TRUE(File(b.metadata.name, storage::BackupFile::kVolumeSnapshots).is_null());
}

TEST_F(CsiBackupTest, TimeoutFailsTheSnapshotCleansUpAndKeepsTheClaim) {
  // kubesim's controller refuses this driver (status.error, retried): the wait times out.
  Seed("csi-slow", "test.csi.lifeboat.io");
  SnapshotRecorder recorder(client_, "csi-slow");
  api::Backup b = Run("csi-slow", std::chrono::seconds(1));
  EXPECT_EQ(b.status.phase, api::BackupPhase::kPartiallyFailed);
  EXPECT_EQ(b.status.csi_volume_snapshots_attempted, 1);
  EXPECT_EQ(b.status.csi_volume_snapshots_completed, 0);
  EXPECT_TRUE(AllGone("csi-slow"));  // the VolumeSnapshot made was removed
  auto entries = Archive(b.metadata.name);
  json::value pvc = Item(entries, "persistentvolumeclaims", "csi-slow", "data");
  ASSERT_TRUE(pvc.is_object());
  EXPECT_EQ(JsonFind(pvc, {"metadata", "annotations", "velero.io/volume-snapshot-name"}), nullptr);
  json::value infos = File(b.metadata.name, storage::BackupFile::kVolumeInfo);
  ASSERT_EQ(infos.as_array().size(), 1u);
  EXPECT_EQ(S(infos.as_array()[0], {"backupMethod"}), "CSISnapshot");
  EXPECT_EQ(S(infos.as_array()[0], {"result"}), "failed");
  EXPECT_EQ(JsonBool(infos.as_array()[0], {"csiSnapshotInfo", "ReadyToUse"}), false);
  json::value results = File(b.metadata.name, storage::BackupFile::kResults);
  EXPECT_THAT(json::serialize(results), HasSubstr("timed out after 1s waiting for VolumeSnapshot"));
}

TEST_F(CsiBackupTest, CancelStopsTheWait) {
  Seed("csi-cancel", "test.csi.lifeboat.io");
  CancellationSource source;
  std::thread canceller([&] {
    for (int i = 0; i < 600; ++i) {
      auto page = client_->List(kVs, "csi-cancel");
      if (page.ok() && !page->items.empty()) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    source.Cancel("shutting down");
  });
  CsiPvcAction action(client_);
  plugin::BackupContext ctx;
  ctx.backup_name = "bc";
  ctx.backup = json::object{{"spec", json::object{{"csiSnapshotTimeout", "10m"}}}};
  auto pvc = client_->Get(kPvc, "csi-cancel", "data");
  ASSERT_TRUE(pvc.ok());
  CsiSnapshotOutcome outcome;
  auto out = action.Snapshot(*pvc, ctx, source.token(), &outcome);
  canceller.join();
  EXPECT_FALSE(out.ok());
  EXPECT_TRUE(outcome.attempted);
  EXPECT_FALSE(outcome.completed);
  EXPECT_TRUE(AllGone("csi-cancel"));
}

TEST_F(CsiBackupTest, NoClassForTheDriverMeansNoCsiSnapshot) {
  Seed("csi-noclass", "unknown.csi.lifeboat.io");
  SnapshotRecorder recorder(client_, "csi-noclass");
  api::Backup b = Run("csi-noclass");
  ASSERT_EQ(b.status.phase, api::BackupPhase::kCompleted) << b.status.failure_reason;
  EXPECT_EQ(b.status.csi_volume_snapshots_attempted, 0);
  EXPECT_TRUE(recorder.seen().empty());
  json::value infos = File(b.metadata.name, storage::BackupFile::kVolumeInfo);
  ASSERT_EQ(infos.as_array().size(), 1u);
  EXPECT_EQ(infos.as_array()[0].as_object().at("skipped"), true);
  EXPECT_EQ(S(infos.as_array()[0], {"skippedReason"}),
            "csiSnapshot: no VolumeSnapshotClass for driver unknown.csi.lifeboat.io;"
            "volumeSnapshot: no applicable volumesnapshotter found;");
}

TEST_F(CsiBackupTest, ClassChoiceOrder) {
  // Default-annotated class of the driver, then the backup's annotation, then the claim's.
  Seed("csi-multi-a", "multi.csi.lifeboat.io");
  Seed("csi-multi-b", "multi.csi.lifeboat.io");
  Seed("csi-multi-c", "multi.csi.lifeboat.io", nullptr,
       R"({"velero.io/csi-volumesnapshot-class":"multi-other"})");
  struct Case {
    std::string ns;
    std::map<std::string, std::string> backup_annotations;
    std::string want;
  } cases[] = {
      {"csi-multi-a", {}, "multi-default"},
      {"csi-multi-b", {{"velero.io/csi-volumesnapshot-class_multi.csi.lifeboat.io", "multi-other"}},
       "multi-other"},
      {"csi-multi-c", {{"velero.io/csi-volumesnapshot-class_multi.csi.lifeboat.io", "multi-default"}},
       "multi-other"},
  };
  for (const Case& c : cases) {
    SnapshotRecorder recorder(client_, c.ns);
    // kubesim does not snapshot this driver: the snapshot times out, after its class was chosen.
    api::Backup b = Run(c.ns, std::chrono::seconds(1), c.backup_annotations);
    EXPECT_EQ(b.status.csi_volume_snapshots_attempted, 1) << c.ns;
    auto seen = recorder.seen();
    ASSERT_EQ(seen.size(), 1u) << c.ns;
    EXPECT_EQ(seen.begin()->second, c.want) << c.ns;
  }
}

TEST_F(CsiBackupTest, FailedPreHookBlocksTheSnapshotOfThePodsClaims) {
  Seed("csi-hookfail", "hostpath.csi.kubesim.io",
       R"({"pre.hook.backup.velero.io/command":"[\"/bin/sh\",\"-c\",\"exit 3\"]"})");
  SnapshotRecorder recorder(client_, "csi-hookfail");
  api::Backup b = Run("csi-hookfail");
  EXPECT_EQ(b.status.phase, api::BackupPhase::kPartiallyFailed);
  EXPECT_EQ(b.status.csi_volume_snapshots_attempted, 0);
  EXPECT_TRUE(recorder.seen().empty()) << "a VolumeSnapshot was created";
  auto entries = Archive(b.metadata.name);
  EXPECT_FALSE(Item(entries, "pods", "csi-hookfail", "db").is_object());
  json::value pvc = Item(entries, "persistentvolumeclaims", "csi-hookfail", "data");
  ASSERT_TRUE(pvc.is_object());
  EXPECT_EQ(JsonFind(pvc, {"metadata", "annotations", "velero.io/volume-snapshot-name"}), nullptr);
  EXPECT_TRUE(Item(entries, "persistentvolumes", "", S(pvc, {"spec", "volumeName"})).is_object());
  json::value infos = File(b.metadata.name, storage::BackupFile::kVolumeInfo);
  ASSERT_EQ(infos.as_array().size(), 1u);
  EXPECT_EQ(infos.as_array()[0].as_object().at("skipped"), true);
  EXPECT_EQ(JsonFind(infos.as_array()[0], {"backupMethod"}), nullptr);
  const std::string reason = S(infos.as_array()[0], {"skippedReason"});
  EXPECT_THAT(reason, ::testing::StartsWith("any: the pre hook of pod csi-hookfail/db failed with "
                                            "onError Fail (hook \"<from-annotation>\" (annotation): "));
  const std::string results = json::serialize(File(b.metadata.name, storage::BackupFile::kResults));
  EXPECT_THAT(results, HasSubstr("Volume of the claim is not snapshotted: the pre hook of pod "
                                 "csi-hookfail/db failed with onError Fail"));
}

TEST_F(CsiBackupTest, FailedPreHookWithContinueStillSnapshots) {
  Seed("csi-hookcont", "hostpath.csi.kubesim.io",
       R"({"pre.hook.backup.velero.io/command":"[\"/bin/sh\",\"-c\",\"exit 3\"]",
           "pre.hook.backup.velero.io/on-error":"Continue"})");
  api::Backup b = Run("csi-hookcont");
  EXPECT_EQ(b.status.phase, api::BackupPhase::kPartiallyFailed);  // the hook's error
  EXPECT_EQ(b.status.csi_volume_snapshots_attempted, 1);
  EXPECT_EQ(b.status.csi_volume_snapshots_completed, 1);
  auto entries = Archive(b.metadata.name);
  EXPECT_TRUE(Item(entries, "pods", "csi-hookcont", "db").is_object());
  json::value infos = File(b.metadata.name, storage::BackupFile::kVolumeInfo);
  ASSERT_EQ(infos.as_array().size(), 1u);
  EXPECT_EQ(S(infos.as_array()[0], {"backupMethod"}), "CSISnapshot");
}

TEST(CsiCheckpointTest, CountersAndBlockedClaimsSurviveACheckpoint) {
  ItemBackupper::State state;
  state.counts.items = 4;
  state.counts.csi_snapshots_attempted = 3;
  state.counts.csi_snapshots_completed = 2;
  state.snapshot_blocked["app/data"] = "the pre hook of pod app/db failed";
  json::object saved = ItemBackupper::StateToJson(state);
  auto back = ItemBackupper::ParseState(json::value(saved));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->counts.csi_snapshots_attempted, 3);
  EXPECT_EQ(back->counts.csi_snapshots_completed, 2);
  EXPECT_EQ(back->snapshot_blocked, state.snapshot_blocked);
  // A checkpoint written before these fields existed still loads (as zero / none).
  saved.erase("csiSnapshotsAttempted");
  saved.erase("csiSnapshotsCompleted");
  saved.erase("snapshotBlocked");
  auto old = ItemBackupper::ParseState(json::value(saved));
  ASSERT_TRUE(old.ok()) << old.status();
  EXPECT_EQ(old->counts.csi_snapshots_attempted, 0);
  EXPECT_TRUE(old->snapshot_blocked.empty());
  saved["snapshotBlocked"] = 7;
  EXPECT_TRUE(absl::IsDataLoss(ItemBackupper::ParseState(json::value(saved)).status()));
}

TEST(BinarySiQuantityTest, AsKubernetesWritesIt) {
  EXPECT_EQ(BinarySiQuantity(0), "0");
  EXPECT_EQ(BinarySiQuantity(1000), "1000");
  EXPECT_EQ(BinarySiQuantity(1536), "1536");
  EXPECT_EQ(BinarySiQuantity(2048), "2Ki");
  EXPECT_EQ(BinarySiQuantity(int64_t{1} << 30), "1Gi");
  EXPECT_EQ(BinarySiQuantity(3 * (int64_t{1} << 20)), "3Mi");
}

}  // namespace
}  // namespace lifeboat::backup
