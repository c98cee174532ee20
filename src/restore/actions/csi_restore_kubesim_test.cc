// The restore side of volumes against kubesim, with hand-built backups: the PV decisions
// (Velero §6.6: from the backup's volume info and native snapshot list) and the CSI restore
// actions end to end (a PVC + VolumeSnapshot + VolumeSnapshotContent backup restored into a new
// claim provisioned from kubesim's snapshot, with and without a namespace mapping).

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lifeboat/archive/writer.h"
#include "lifeboat/common/byte_stream.h"
#include "lifeboat/common/gzip.h"
#include "lifeboat/common/json.h"
#include "lifeboat/kube/object.h"
#include "lifeboat/restore/restorer.h"
#include "src/kube/testing/kubesim_cluster.h"
#include "src/restore/actions/actions.h"
#include "src/storage/testing/in_memory_object_store.h"

namespace lifeboat::restore {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using ::testing::HasSubstr;

const kube::GroupVersionResource kNs{"", "v1", "namespaces"}, kPv{"", "v1", "persistentvolumes"},
    kPvc{"", "v1", "persistentvolumeclaims"},
    kVs{"snapshot.storage.k8s.io", "v1", "volumesnapshots"},
    kVsc{"snapshot.storage.k8s.io", "v1", "volumesnapshotcontents"};

json::value J(const std::string& text) {
  auto v = ParseJson(text);
  EXPECT_TRUE(v.ok()) << v.status() << " in " << text;
  return v.ok() ? *v : json::value();
}

// A gzipped Velero-format tarball with these items ("resources/..." paths).
std::string Tarball(const std::vector<std::pair<std::string, std::string>>& items) {
  std::string out;
  auto sink = StringSink(&out);
  auto writer = archive::ArchiveWriter::Create(sink.get(), archive::WriterOptions{});
  EXPECT_TRUE(writer.ok());
  EXPECT_TRUE((*writer)->Add("metadata/version", "1.1.0\n").ok());
  for (const auto& [path, data] : items) EXPECT_TRUE((*writer)->Add(path, data).ok()) << path;
  EXPECT_TRUE((*writer)->Finish().ok());
  return out;
}

std::string Pv(const std::string& name, const std::string& claim_ns, const std::string& claim,
               const std::string& policy, const std::string& source = "") {
  return R"({"apiVersion":"v1","kind":"PersistentVolume","metadata":{"name":")" + name +
         R"(","uid":"old-uid-)" + name +
         R"(","annotations":{"pv.kubernetes.io/bound-by-controller":"yes"}},"spec":{"capacity":{"storage":"1Gi"},)"
         R"("accessModes":["ReadWriteOnce"],"persistentVolumeReclaimPolicy":")" + policy + R"(",)" +
         (source.empty() ? R"("hostPath":{"path":"/tmp/)" + name + R"("})" : source) +
         R"(,"claimRef":{"kind":"PersistentVolumeClaim","namespace":")" + claim_ns +
         R"(","name":")" + claim + R"(","uid":"old-claim-uid","resourceVersion":"12"}},)"
         R"("status":{"phase":"Bound"}})";
}

std::string Pvc(const std::string& ns, const std::string& name, const std::string& volume,
                const std::string& storage_class = "", const std::string& annotations = "{}") {
  return R"({"apiVersion":"v1","kind":"PersistentVolumeClaim","metadata":{"name":")" + name +
         R"(","namespace":")" + ns + R"(","annotations":)" + annotations +
         R"(},"spec":{"accessModes":["ReadWriteOnce"],"resources":{"requests":{"storage":"1Gi"}},)" +
         (storage_class.empty() ? "" : R"("storageClassName":")" + storage_class + R"(",)") +
         R"("volumeName":")" + volume + R"("},"status":{"phase":"Bound"}})";
}

// A VolumeSnapshotter that "creates" volumes by name and records what it was asked.
class FakeSnapshotter : public plugin::VolumeSnapshotter {
 public:
  explicit FakeSnapshotter(std::vector<std::string>* calls, std::mutex* mu) : calls_(calls), mu_(mu) {}
  StatusOr<std::string> GetVolumeId(const json::value&) override { return std::string("v"); }
  StatusOr<json::value> SetVolumeId(json::value pv, const std::string& id) override {
    pv.as_object()["spec"].as_object()["hostPath"] = json::object{{"path", "/restored/" + id}};
    return pv;
  }
  StatusOr<plugin::VolumeInfo> GetVolumeInfo(const std::string&, const std::string&) override {
    return plugin::VolumeInfo{};
  }
  StatusOr<std::string> CreateSnapshot(const std::string&, const std::string&,
                                       const std::map<std::string, std::string>&) override {
    return absl::UnimplementedError("not in a restore");
  }
  StatusOr<std::string> CreateVolumeFromSnapshot(const std::string& snapshot_id,
                                                 const std::string& type, const std::string& zone,
                                                 std::optional<int64_t> iops) override {
    std::lock_guard lock(*mu_);
    calls_->push_back(snapshot_id + "|" + type + "|" + zone + "|" +
                      (iops ? std::to_string(*iops) : "-"));
    return "vol-" + snapshot_id;
  }
  Status DeleteSnapshot(const std::string&) override { return absl::OkStatus(); }

 private:
  std::vector<std::string>* calls_;
  std::mutex* mu_;
};

class VolumeRestoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = std::make_unique<storage::BackupStore>(
        std::make_shared<storage::testing::InMemoryObjectStore>(
            std::initializer_list<std::string>{"bucket"}),
        "bucket", "");
    temp_ = fs::temp_directory_path() /
            ("lifeboat-volume-restore-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(temp_);
    fs::create_directories(temp_);
  }
  void TearDown() override {
    cluster_.reset();
    fs::remove_all(temp_);
  }
  void StartCluster(const std::vector<std::string>& flags = {}) {
    auto c = kube::testing::KubesimCluster::Start(flags);
    ASSERT_TRUE(c.ok()) << c.status();
    cluster_ = std::move(*c);
  }

  // Uploads backup `name`: its tarball, and the volume info / native snapshot files when given.
  void PutBackup(const std::string& name,
                 const std::vector<std::pair<std::string, std::string>>& items,
                 const std::string& volume_info = "", const std::string& native = "") {
    auto body = StringSource(Tarball(items));
    ASSERT_TRUE(store_->PutBackupFile(name, storage::BackupFile::kContents, *body).ok());
    if (!volume_info.empty()) {
      auto info = StringSource(Gzip(volume_info));
      ASSERT_TRUE(store_->PutBackupFile(name, storage::BackupFile::kVolumeInfo, *info).ok());
    }
    if (!native.empty()) {
      auto snaps = StringSource(Gzip(native));
      ASSERT_TRUE(store_->PutBackupFile(name, storage::BackupFile::kVolumeSnapshots, *snaps).ok());
    }
    backup_.metadata.name = name;
    backup_.metadata.namespace_ = "velero";
    backup_.status.phase = api::BackupPhase::kCompleted;
  }

  api::Restore Run(const std::string& name, const std::function<void(api::RestoreSpec&)>& adjust) {
    api::Restore r;
    r.metadata.name = name;
    r.metadata.namespace_ = "velero";
    r.metadata.uid = "uid-" + name;
    r.spec.backup_name = backup_.metadata.name;
    if (adjust) adjust(r.spec);
    RestorerDeps deps;
    deps.client = cluster_->client.get();
    deps.discovery = cluster_->discovery.get();
    deps.exec = cluster_->exec.get();
    deps.store = store_.get();
    deps.snapshot_locations = {{"vsl1", "fake", {{"region", "here"}}}};
    deps.snapshotters = [this](const std::string& provider,
                               const std::map<std::string, std::string>& config)
        -> StatusOr<std::unique_ptr<plugin::VolumeSnapshotter>> {
      if (provider != "fake" || config.at("region") != "here") {
        return absl::NotFoundError("unknown provider " + provider);
      }
      return std::unique_ptr<plugin::VolumeSnapshotter>(new FakeSnapshotter(&calls_, &calls_mu_));
    };
    RestorerOptions options;
    options.temp_dir = temp_;
    options.resource_timeout = std::chrono::seconds(30);
    options.terminating_timeout = std::chrono::seconds(10);
    return Restorer(deps, options).Run(std::move(r), backup_);
  }

  std::string Log(const std::string& restore) {
    std::string gz;
    auto sink = StringSink(&gz);
    EXPECT_TRUE(store_->GetRestoreFile(restore, storage::RestoreFile::kLog, *sink).ok());
    auto text = Gunzip(gz);
    return text.ok() ? *text : "";
  }
  json::value Results(const std::string& restore) {
    std::string gz;
    auto sink = StringSink(&gz);
    EXPECT_TRUE(store_->GetRestoreFile(restore, storage::RestoreFile::kResults, *sink).ok());
    auto text = Gunzip(gz);
    return J(text.ok() ? *text : "{}");
  }

  // Waits until the claim is Bound; returns it (or the last one seen).
  json::value WaitBound(const std::string& ns, const std::string& name) {
    json::value last;
    for (int i = 0; i < 600; ++i) {
      auto pvc = cluster_->client->Get(kPvc, ns, name);
      if (pvc.ok()) {
        last = *pvc;
        if (JsonString(*pvc, {"status", "phase"}).value_or("") == "Bound") return last;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    ADD_FAILURE() << "claim " << ns << "/" << name << " never became Bound: "
                  << json::serialize(last);
    return last;
  }

  std::unique_ptr<kube::testing::KubesimCluster> cluster_;
  std::unique_ptr<storage::BackupStore> store_;
  api::Backup backup_;
  fs::path temp_;
  std::mutex calls_mu_;
  std::vector<std::string> calls_;
};

// One backup with a volume of every kind: kept by a CSI snapshot, by a file-system backup, not
// at all (Retain and Delete), and by a native snapshot.
std::vector<std::pair<std::string, std::string>> MixedVolumes() {
  return {
      {"resources/namespaces/cluster/app.json",
       R"({"apiVersion":"v1","kind":"Namespace","metadata":{"name":"app"}})"},
      {"resources/persistentvolumes/cluster/pv-csi.json", Pv("pv-csi", "app", "c-csi", "Delete")},
      {"resources/persistentvolumes/cluster/pv-pvb.json", Pv("pv-pvb", "app", "c-pvb", "Retain")},
      {"resources/persistentvolumes/cluster/pv-retain.json",
       Pv("pv-retain", "app", "c-retain", "Retain")},
      {"resources/persistentvolumes/cluster/pv-delete.json",
       Pv("pv-delete", "app", "c-delete", "Delete")},
      {"resources/persistentvolumes/cluster/pv-native.json",
       Pv("pv-native", "app", "c-native", "Delete")},
      {"resources/persistentvolumeclaims/namespaces/app/c-csi.json", Pvc("app", "c-csi", "pv-csi")},
      {"resources/persistentvolumeclaims/namespaces/app/c-pvb.json", Pvc("app", "c-pvb", "pv-pvb")},
      {"resources/persistentvolumeclaims/namespaces/app/c-retain.json",
       Pvc("app", "c-retain", "pv-retain", "manual")},
      {"resources/persistentvolumeclaims/namespaces/app/c-delete.json",
       Pvc("app", "c-delete", "pv-delete")},
      {"resources/persistentvolumeclaims/namespaces/app/c-native.json",
       Pvc("app", "c-native", "pv-native", "manual")},
  };
}

constexpr char kMixedVolumeInfo[] = R"([
  {"pvcName":"c-csi","pvcNamespace":"app","pvName":"pv-csi","backupMethod":"CSISnapshot",
   "snapshotDataMoved":false,"preserveLocalSnapshot":false,"skipped":false,"result":"succeeded",
   "csiSnapshotInfo":{"snapshotHandle":"h1","size":1024,"driver":"hostpath.csi.kubesim.io",
     "vscName":"snapcontent-1","ReadyToUse":true}},
  {"pvcName":"c-pvb","pvcNamespace":"app","pvName":"pv-pvb","backupMethod":"PodVolumeBackup",
   "snapshotDataMoved":false,"preserveLocalSnapshot":false,"skipped":false,"result":"succeeded"},
  {"pvcName":"c-retain","pvcNamespace":"app","pvName":"pv-retain","snapshotDataMoved":false,
   "preserveLocalSnapshot":false,"skipped":true,"skippedReason":"any: snapshotVolumes is false;"},
  {"pvcName":"c-delete","pvcNamespace":"app","pvName":"pv-delete","snapshotDataMoved":false,
   "preserveLocalSnapshot":false,"skipped":true,"skippedReason":"any: snapshotVolumes is false;"},
  {"pvcName":"c-native","pvcNamespace":"app","pvName":"pv-native","backupMethod":"NativeSnapshot",
   "snapshotDataMoved":false,"preserveLocalSnapshot":false,"skipped":false,"result":"succeeded",
   "nativeSnapshotInfo":{"snapshotHandle":"snap-7","volumeType":"ssd","volumeAZ":"z1",
     "iops":"300","Phase":"Completed"}}])";

constexpr char kMixedNativeSnapshots[] = R"([{"spec":{"backupName":"mixed","backupUID":"u",
  "location":"vsl1","persistentVolumeName":"pv-native","providerVolumeID":"v","volumeType":"ssd",
  "volumeAZ":"z1","volumeIOPS":300},"status":{"providerSnapshotID":"snap-7","phase":"Completed"}}])";

TEST_F(VolumeRestoreTest, PersistentVolumeDecisionsFollowTheBackupsVolumeInfo) {
  StartCluster();
  PutBackup("mixed", MixedVolumes(), kMixedVolumeInfo, kMixedNativeSnapshots);
  api::Restore r = Run("r-mixed", [](api::RestoreSpec& s) {
    s.namespace_mapping = {{"app", "app2"}};
  });
  ASSERT_EQ(r.status.phase, api::RestorePhase::kCompleted)
      << r.status.failure_reason << json::serialize(Results("r-mixed"));
  auto& client = *cluster_->client;
  // CSI snapshot, file-system backup, no snapshot + Delete: not restored; claims provision anew.
  for (const char* pv : {"pv-csi", "pv-pvb", "pv-delete"}) {
    EXPECT_TRUE(absl::IsNotFound(client.Get(kPv, "", pv).status())) << pv;
  }
  for (const char* claim : {"c-csi", "c-pvb", "c-delete"}) {
    auto pvc = client.Get(kPvc, "app2", claim);
    ASSERT_TRUE(pvc.ok()) << claim << ": " << pvc.status();
    const std::string volume = JsonString(*pvc, {"spec", "volumeName"}).value_or("");
    EXPECT_TRUE(volume.empty() || volume.rfind("pvc-", 0) == 0) << claim << " -> " << volume;
  }
  // No snapshot + Retain: restored as it was, claimRef mapped, binding info reset.
  auto retain = client.Get(kPv, "", "pv-retain");
  ASSERT_TRUE(retain.ok()) << retain.status();
  EXPECT_EQ(JsonString(*retain, {"spec", "claimRef", "namespace"}), "app2");
  EXPECT_NE(JsonString(*retain, {"spec", "claimRef", "uid"}).value_or(""), "old-claim-uid");
  EXPECT_EQ(JsonString(*retain, {"spec", "hostPath", "path"}), "/tmp/pv-retain");
  EXPECT_EQ(JsonString(*client.Get(kPvc, "app2", "c-retain"), {"spec", "volumeName"}), "pv-retain");
  // Native snapshot: a volume made from the snapshot, the PV pointed at it.
  auto native = client.Get(kPv, "", "pv-native");
  ASSERT_TRUE(native.ok()) << native.status();
  EXPECT_EQ(JsonString(*native, {"spec", "hostPath", "path"}), "/restored/vol-snap-7");
  EXPECT_EQ(JsonString(*native, {"spec", "claimRef", "namespace"}), "app2");
  EXPECT_EQ(JsonString(*client.Get(kPvc, "app2", "c-native"), {"spec", "volumeName"}), "pv-native");
  EXPECT_EQ(calls_, std::vector<std::string>{"snap-7|ssd|z1|300"});
  // The restore volume info lists the volume made from the native snapshot.
  auto info = BuildRestoreVolumeInfo(client, r, J(kMixedVolumeInfo));
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(*info, J(R"([{"pvcName":"c-native","pvcNamespace":"app2","pvName":"pv-native",
    "restoreMethod":"NativeSnapshot","snapshotDataMoved":false,
    "nativeSnapshotInfo":{"snapshotHandle":"snap-7","volumeType":"ssd","volumeAZ":"z1",
      "iops":"300","Phase":"Completed"}}])")) << json::serialize(*info);
  const std::string log = Log("r-mixed");
  EXPECT_THAT(log, HasSubstr("Dynamically re-provisioning persistent volume because it has a pod "
                             "volume backup or a CSI VolumeSnapshot to be restored."));
  EXPECT_THAT(log, HasSubstr("Dynamically re-provisioning persistent volume because it doesn't "
                             "have a snapshot and its reclaim policy is Delete."));
  EXPECT_THAT(log, HasSubstr("Restoring persistent volume as-is because it doesn't have a "
                             "snapshot and its reclaim policy is not Delete."));
  EXPECT_THAT(log, HasSubstr("Restoring persistent volume from snapshot."));
}

TEST_F(VolumeRestoreTest, NativeSnapshotWithoutRestorePvsAndRenamedClone) {
  StartCluster();
  PutBackup("mixed", MixedVolumes(), kMixedVolumeInfo, kMixedNativeSnapshots);
  // restorePVs=false: the PV comes back as it was, no volume is made.
  api::Restore r = Run("r-no-pvs", [](api::RestoreSpec& s) {
    s.restore_pvs = false;
    s.included_resources = {"persistentvolumes", "persistentvolumeclaims", "namespaces"};
  });
  ASSERT_EQ(r.status.phase, api::RestorePhase::kCompleted)
      << r.status.failure_reason << json::serialize(Results("r-no-pvs"));
  EXPECT_TRUE(calls_.empty());
  auto native = cluster_->client->Get(kPv, "", "pv-native");
  ASSERT_TRUE(native.ok()) << native.status();
  EXPECT_EQ(JsonString(*native, {"spec", "hostPath", "path"}), "/tmp/pv-native");
  auto none = BuildRestoreVolumeInfo(*cluster_->client, r, J(kMixedVolumeInfo));
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_EQ(*none, json::array());

  // Again into a mapped namespace while pv-native exists: the PV is a renamed clone.
  api::Restore again = Run("r-clone", [](api::RestoreSpec& s) {
    s.namespace_mapping = {{"app", "app3"}};
    s.included_resources = {"persistentvolumes", "persistentvolumeclaims", "namespaces"};
  });
  ASSERT_EQ(again.status.phase, api::RestorePhase::kCompleted)
      << again.status.failure_reason << json::serialize(Results("r-clone"));
  EXPECT_EQ(calls_, std::vector<std::string>{"snap-7|ssd|z1|300"});
  auto claim = cluster_->client->Get(kPvc, "app3", "c-native");
  ASSERT_TRUE(claim.ok()) << claim.status();
  const std::string clone = JsonString(*claim, {"spec", "volumeName"}).value_or("");
  EXPECT_EQ(clone.rfind("velero-clone-", 0), 0u) << clone;
  auto pv = cluster_->client->Get(kPv, "", clone);
  ASSERT_TRUE(pv.ok()) << pv.status();
  EXPECT_EQ(JsonString(*pv, {"metadata", "annotations", "velero.io/original-pv-name"}), "pv-native");
  EXPECT_EQ(JsonString(*pv, {"spec", "claimRef", "namespace"}), "app3");
  EXPECT_EQ(JsonString(*pv, {"spec", "hostPath", "path"}), "/restored/vol-snap-7");
  auto info = BuildRestoreVolumeInfo(*cluster_->client, again, J(kMixedVolumeInfo));
  ASSERT_TRUE(info.ok()) << info.status();
  ASSERT_EQ(info->as_array().size(), 1u) << json::serialize(*info);
  EXPECT_EQ(JsonString(info->as_array()[0], {"pvName"}), clone);
  EXPECT_EQ(JsonString(info->as_array()[0], {"pvcNamespace"}), "app3");
}

// ---------------------------------------------------------------------------------------------
// CSI snapshots end to end: kubesim takes a real snapshot of a csi-hostpath claim; a hand-made
// backup holds a claim, VolumeSnapshot and VolumeSnapshotContent of that snapshot handle (as the
// backup's CSI actions write them); restores with and without a namespace mapping give new,
// Bound claims whose volumes hold the snapshot's files.

// Every regular file under `dir`: relative path -> contents.
std::map<std::string, std::string> Files(const fs::path& dir) {
  std::map<std::string, std::string> out;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    if (!it->is_regular_file()) continue;
    std::ifstream in(it->path(), std::ios::binary);
    out[fs::relative(it->path(), dir).string()] =
        std::string(std::istreambuf_iterator<char>(in), {});
  }
  return out;
}

TEST_F(VolumeRestoreTest, CsiSnapshotRestoresIntoANewClaimWithItsFiles) {
  StartCluster();
  auto& client = *cluster_->client;
  const fs::path data_dir = cluster_->kubesim->data_dir();
  // A snapshot taken by kubesim's snapshot controller of a claim holding two files.
  ASSERT_TRUE(client.Create(kNs, "", J(R"({"apiVersion":"v1","kind":"Namespace","metadata":{"name":"src"}})")).ok());
  ASSERT_TRUE(client.Create(kPvc, "src", J(R"({"apiVersion":"v1","kind":"PersistentVolumeClaim",
    "metadata":{"name":"data"},"spec":{"accessModes":["ReadWriteOnce"],"storageClassName":"csi-hostpath",
    "resources":{"requests":{"storage":"1Gi"}}}})")).ok());
  const std::string src_pv =
      JsonString(WaitBound("src", "data"), {"spec", "volumeName"}).value_or("");
  ASSERT_FALSE(src_pv.empty());
  fs::create_directories(data_dir / "volumes" / src_pv / "sub");
  std::ofstream(data_dir / "volumes" / src_pv / "a.txt") << "hello snapshot\n";
  std::ofstream(data_dir / "volumes" / src_pv / "sub" / "b.bin") << std::string(5000, '\x7f');
  const std::map<std::string, std::string> want = Files(data_dir / "volumes" / src_pv);
  ASSERT_EQ(want.size(), 2u);
  ASSERT_TRUE(client.Create(kVs, "src", J(R"({"apiVersion":"snapshot.storage.k8s.io/v1",
    "kind":"VolumeSnapshot","metadata":{"name":"snap"},"spec":{"volumeSnapshotClassName":
    "csi-hostpath-snapclass","source":{"persistentVolumeClaimName":"data"}}})")).ok());
  std::string handle;
  for (int i = 0; i < 300 && handle.empty(); ++i) {
    auto vs = client.Get(kVs, "src", "snap");
    if (vs.ok() && JsonBool(*vs, {"status", "readyToUse"}).value_or(false)) {
      auto vsc = client.Get(kVsc, "", JsonString(*vs, {"status", "boundVolumeSnapshotContentName"}).value_or(""));
      if (vsc.ok()) handle = JsonString(*vsc, {"status", "snapshotHandle"}).value_or("");
    }
    if (handle.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_FALSE(handle.empty()) << "the source snapshot never became ready";
  // Later changes to the source volume are not in the snapshot.
  std::ofstream(data_dir / "volumes" / src_pv / "a.txt") << "changed after the snapshot\n";

  // The backup, as Lifeboat's / Velero's CSI backup actions leave the objects.
  const std::string volume_info =
      R"([{"pvcName":"data","pvcNamespace":"app","pvName":"pvc-old","backupMethod":"CSISnapshot",
    "snapshotDataMoved":false,"preserveLocalSnapshot":false,"skipped":false,"result":"succeeded",
    "csiSnapshotInfo":{"snapshotHandle":")" + handle + R"(","size":1073741824,
      "driver":"hostpath.csi.kubesim.io","vscName":"snapcontent-old","ReadyToUse":true}}])";
  PutBackup("csi", {
      {"resources/namespaces/cluster/app.json",
       R"({"apiVersion":"v1","kind":"Namespace","metadata":{"name":"app"}})"},
      {"resources/persistentvolumes/cluster/pvc-old.json",
       Pv("pvc-old", "app", "data", "Delete",
          R"("storageClassName":"csi-hostpath","csi":{"driver":"hostpath.csi.kubesim.io","volumeHandle":"pvc-old"})")},
      {"resources/persistentvolumeclaims/namespaces/app/data.json",
       Pvc("app", "data", "pvc-old", "csi-hostpath",
           R"({"velero.io/volume-snapshot-name":"velero-data-abcde",
               "backup.velero.io/must-include-additional-items":"true"})")},
      {"resources/volumesnapshots.snapshot.storage.k8s.io/namespaces/app/velero-data-abcde.json",
       R"({"apiVersion":"snapshot.storage.k8s.io/v1","kind":"VolumeSnapshot",
         "metadata":{"name":"velero-data-abcde","namespace":"app","uid":"vs-uid-1",
           "annotations":{"velero.io/csi-vsc-deletion-policy":"Delete",
             "velero.io/csi-volumesnapshot-handle":")" + handle + R"(",
             "velero.io/csi-driver-name":"hostpath.csi.kubesim.io"},
           "labels":{"velero.io/backup-name":"csi"}},
         "spec":{"volumeSnapshotClassName":"csi-hostpath-snapclass",
           "source":{"persistentVolumeClaimName":"data"}},
         "status":{"boundVolumeSnapshotContentName":"snapcontent-old","readyToUse":true,
           "restoreSize":"1Gi"}})"},
      {"resources/volumesnapshotcontents.snapshot.storage.k8s.io/cluster/snapcontent-old.json",
       R"({"apiVersion":"snapshot.storage.k8s.io/v1","kind":"VolumeSnapshotContent",
         "metadata":{"name":"snapcontent-old","uid":"vsc-uid-1","labels":{"velero.io/backup-name":"csi"}},
         "spec":{"deletionPolicy":"Delete","driver":"hostpath.csi.kubesim.io",
           "source":{"volumeHandle":"pvc-old"},"volumeSnapshotClassName":"csi-hostpath-snapclass",
           "volumeSnapshotRef":{"apiVersion":"snapshot.storage.k8s.io/v1","kind":"VolumeSnapshot",
             "name":"velero-data-abcde","namespace":"app","uid":"vs-uid-1","resourceVersion":"5"}},
         "status":{"snapshotHandle":")" + handle + R"(","readyToUse":true,"restoreSize":1073741824}})"},
  }, volume_info);

  struct Case {
    std::string restore, ns;
    std::map<std::string, std::string> mapping;
  };
  for (const Case& c : {Case{"r-same", "app", {}}, Case{"r-mapped", "app2", {{"app", "app2"}}}}) {
    SCOPED_TRACE(c.restore);
    api::Restore r = Run(c.restore, [&](api::RestoreSpec& s) { s.namespace_mapping = c.mapping; });
    ASSERT_EQ(r.status.phase, api::RestorePhase::kCompleted)
        << r.status.failure_reason << json::serialize(Results(c.restore));
    EXPECT_EQ(r.status.errors, 0);
    const std::string hash = CsiRestoreName("uid-" + c.restore, "velero-data-abcde");
    // The pre-provisioned content and the snapshot bound to it.
    auto vsc = client.Get(kVsc, "", hash);
    ASSERT_TRUE(vsc.ok()) << vsc.status();
    EXPECT_EQ(JsonString(*vsc, {"spec", "deletionPolicy"}), "Retain");
    EXPECT_EQ(JsonString(*vsc, {"spec", "source", "snapshotHandle"}), handle);
    EXPECT_EQ(JsonString(*vsc, {"spec", "volumeSnapshotRef", "namespace"}), c.ns);
    EXPECT_EQ(JsonString(*vsc, {"spec", "volumeSnapshotRef", "name"}), hash);
    auto vs = client.Get(kVs, c.ns, hash);
    ASSERT_TRUE(vs.ok()) << vs.status();
    EXPECT_EQ(JsonString(*vs, {"spec", "source", "volumeSnapshotContentName"}), hash);
    EXPECT_TRUE(absl::IsNotFound(client.Get(kVs, c.ns, "velero-data-abcde").status()));
    // The claim: provisioned anew from the snapshot, with its files.
    json::value pvc = WaitBound(c.ns, "data");
    EXPECT_EQ(JsonString(pvc, {"spec", "dataSource", "name"}), hash);
    const std::string pv = JsonString(pvc, {"spec", "volumeName"}).value_or("");
    ASSERT_FALSE(pv.empty());
    EXPECT_NE(pv, "pvc-old");
    EXPECT_NE(pv, src_pv);
    EXPECT_EQ(Files(data_dir / "volumes" / pv), want);
    EXPECT_TRUE(absl::IsNotFound(client.Get(kPv, "", "pvc-old").status()));
    // The restore volume info (Velero's RestoreVolumeInfo) of the claim.
    auto info = BuildRestoreVolumeInfo(client, r, J(volume_info));
    ASSERT_TRUE(info.ok()) << info.status();
    EXPECT_EQ(*info, J(R"([{"pvcName":"data","pvcNamespace":")" + c.ns + R"(","pvName":")" + pv +
                       R"(","restoreMethod":"CSISnapshot","snapshotDataMoved":false,
      "csiSnapshotInfo":{"snapshotHandle":")" + handle + R"(","size":1073741824,
        "driver":"hostpath.csi.kubesim.io","vscName":")" + hash + R"(","ReadyToUse":true}}])"))
        << json::serialize(*info);
  }

  // Into a second, empty cluster that shares the snapshot directory (disaster recovery).
  auto other = kube::testing::KubesimCluster::Start({"--snapshot-dir", (data_dir / "snapshots").string()});
  ASSERT_TRUE(other.ok()) << other.status();
  std::swap(cluster_, *other);  // Run and WaitBound use cluster_
  api::Restore r = Run("r-other", nullptr);
  ASSERT_EQ(r.status.phase, api::RestorePhase::kCompleted)
      << r.status.failure_reason << json::serialize(Results("r-other"));
  EXPECT_EQ(r.status.errors, 0);
  json::value pvc = WaitBound("app", "data");
  const std::string pv = JsonString(pvc, {"spec", "volumeName"}).value_or("");
  ASSERT_FALSE(pv.empty());
  EXPECT_EQ(Files(cluster_->kubesim->data_dir() / "volumes" / pv), want);
  std::swap(cluster_, *other);
}

TEST_F(VolumeRestoreTest, CsiSnapshotWithoutRestorePvsGivesAnEmptyClaim) {
  StartCluster();
  auto& client = *cluster_->client;
  PutBackup("csi", {
      {"resources/persistentvolumeclaims/namespaces/app/data.json",
       Pvc("app", "data", "pvc-old", "csi-hostpath",
           R"({"velero.io/volume-snapshot-name":"velero-data-abcde"})")},
      {"resources/volumesnapshots.snapshot.storage.k8s.io/namespaces/app/velero-data-abcde.json",
       R"({"apiVersion":"snapshot.storage.k8s.io/v1","kind":"VolumeSnapshot",
         "metadata":{"name":"velero-data-abcde","namespace":"app"},
         "spec":{"source":{"persistentVolumeClaimName":"data"}},
         "status":{"boundVolumeSnapshotContentName":"snapcontent-old","readyToUse":true}})"},
      {"resources/volumesnapshotcontents.snapshot.storage.k8s.io/cluster/snapcontent-old.json",
       R"({"apiVersion":"snapshot.storage.k8s.io/v1","kind":"VolumeSnapshotContent",
         "metadata":{"name":"snapcontent-old"},
         "spec":{"deletionPolicy":"Delete","driver":"hostpath.csi.kubesim.io",
           "source":{"volumeHandle":"pvc-old"},
           "volumeSnapshotRef":{"kind":"VolumeSnapshot","name":"velero-data-abcde","namespace":"app"}},
         "status":{"snapshotHandle":"snapshot-gone","readyToUse":true}})"},
  }, R"([{"pvcName":"data","pvcNamespace":"app","pvName":"pvc-old","backupMethod":"CSISnapshot",
    "snapshotDataMoved":false,"preserveLocalSnapshot":false,"skipped":false}])");
  api::Restore r = Run("r-nopv", [](api::RestoreSpec& s) {
    s.restore_pvs = false;
    s.namespace_mapping = {{"app", "app2"}};
  });
  ASSERT_EQ(r.status.phase, api::RestorePhase::kCompleted)
      << r.status.failure_reason << json::serialize(Results("r-nopv"));
  EXPECT_EQ(r.status.errors, 0);
  json::value pvc = WaitBound("app2", "data");
  EXPECT_EQ(JsonFind(pvc, {"spec", "dataSource"}), nullptr);
  const std::string pv = JsonString(pvc, {"spec", "volumeName"}).value_or("");
  EXPECT_NE(pv, "pvc-old");
  EXPECT_TRUE(Files(cluster_->kubesim->data_dir() / "volumes" / pv).empty());
  // No snapshot objects were restored.
  auto snapshots = client.List(kVs, "app2");
  ASSERT_TRUE(snapshots.ok()) << snapshots.status();
  EXPECT_TRUE(snapshots->items.empty());
  auto contents = client.List(kVsc, "");
  ASSERT_TRUE(contents.ok()) << contents.status();
  EXPECT_TRUE(contents->items.empty());
}

}  // namespace
}  // namespace lifeboat::restore
