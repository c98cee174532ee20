// The snapshot controllers of kubesim, playing the two halves of external-snapshotter:
//   snapshot-controller  (the common controller) binds VolumeSnapshots to
//                        VolumeSnapshotContents: creates `snapcontent-<vs uid>` for a snapshot
//                        of a claim, binds to a pre-provisioned content, mirrors the content's
//                        status into the snapshot's, and on deletion deletes a bound content
//                        whose deletionPolicy is Delete.
//   csi-snapshotter      (the driver's sidecar) takes the snapshot of a dynamic content (copies
//                        the volume directory into the snapshot dir), checks that a
//                        pre-provisioned content's handle exists, and removes the snapshot data
//                        when a content with deletionPolicy Delete is deleted.
// Errors go to status.error {message, time} and are retried on changes and at every resync.

#include "kubesim/src/controllers/snapshots/snapshots.h"

#include <sys/stat.h>

#include <chrono>
#include <cmath>
#include <fstream>
#include <set>
#include <sstream>
#include <system_error>

#include "kubesim/src/api/object_util.h"
#include "kubesim/src/controllers/workloads/base.h"
#include "kubesim/src/controllers/workloads/util.h"
#include "lifeboat/common/log.h"

namespace kubesim::snapshots {

namespace json = boost::json;
namespace fs = std::filesystem;
using workloads::Child;
using workloads::Find;
using workloads::GetBool;
using workloads::GetInt;
using workloads::GetString;
using workloads::IsSafePathComponent;
using workloads::Key;
using workloads::KeyedController;
using workloads::Writer;

namespace {

constexpr char kVsBoundFinalizer[] =
    "snapshot.storage.kubernetes.io/volumesnapshot-bound-protection";
constexpr char kVscFinalizer[] =
    "snapshot.storage.kubernetes.io/volumesnapshotcontent-bound-protection";
constexpr char kDefaultClassAnnotation[] = "snapshot.storage.kubernetes.io/is-default-class";
constexpr char kManager[] = "snapshot-controller";

// Go's %q for the plain strings of our messages.
std::string Quote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out + "\"";
}

int64_t NowNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// RFC 3339 (seconds, UTC) of a time in ns since the epoch.
std::string Rfc3339(int64_t ns) {
  std::time_t t = static_cast<std::time_t>(ns / 1000000000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

void LogIfError(const std::string& what, const Status& s) {
  if (!s.ok() && s.code() != absl::StatusCode::kNotFound &&
      s.code() != absl::StatusCode::kAlreadyExists) {
    LB_LOG_DEBUG("kubesim: snapshots: {}: {}", what, s.ToString());
  }
}

bool AddFinalizer(json::value& obj, const char* f) {
  if (HasFinalizer(obj, f)) return false;
  std::vector<std::string> fins = Finalizers(obj);
  fins.emplace_back(f);
  SetFinalizers(obj, fins);
  return true;
}

bool RemoveFinalizer(json::value& obj, const char* f) {
  std::vector<std::string> fins = Finalizers(obj);
  auto it = std::find(fins.begin(), fins.end(), f);
  if (it == fins.end()) return false;
  fins.erase(it);
  SetFinalizers(obj, fins);
  return true;
}

bool Deleting(const json::value& obj) { return !MetaString(obj, "deletionTimestamp").empty(); }

// Sets status.error (keeping its time when the message is unchanged) and readyToUse false.
bool SetErrorStatus(json::value& obj, const std::string& message) {
  json::object& st = Child(obj.as_object(), "status");
  bool changed = false;
  if (GetString(obj, {"status", "error", "message"}) != message) {
    st["error"] =
        json::object{{"message", json::string(message)}, {"time", json::string(NowRfc3339())}};
    changed = true;
  }
  const json::value* ready = st.if_contains("readyToUse");
  if (ready == nullptr || !ready->is_bool() || ready->get_bool()) {
    st["readyToUse"] = false;
    changed = true;
  }
  return changed;
}

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Bytes of the regular files below `dir`.
int64_t TreeBytes(const fs::path& dir) {
  int64_t total = 0;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(dir, fs::directory_options::none, ec), end;
       !ec && it != end; it.increment(ec)) {
    std::error_code fec;
    if (it->is_regular_file(fec)) total += static_cast<int64_t>(it->file_size(fec));
  }
  return total;
}

// Copies `from` to a new temporary sibling of `to` and renames it to `to`.
Status CopyTreeAtomically(const fs::path& from, const fs::path& to) {
  std::error_code ec;
  if (!fs::is_directory(from, ec))
    return absl::NotFoundError("directory " + from.string() + " does not exist");
  fs::create_directories(to.parent_path(), ec);
  if (ec) return absl::InternalError("creating " + to.parent_path().string() + ": " + ec.message());
  const fs::path tmp =
      to.parent_path() / (".tmp-" + to.filename().string() + "-" + RandomSuffix(8));
  fs::copy(from, tmp, fs::copy_options::recursive | fs::copy_options::copy_symlinks, ec);
  if (ec) {
    std::error_code ignored;
    fs::remove_all(tmp, ignored);
    return absl::InternalError("copying " + from.string() + " to " + tmp.string() + ": " +
                               ec.message());
  }
  fs::rename(tmp, to, ec);
  if (ec) {
    std::error_code ignored;
    fs::remove_all(tmp, ignored);
    if (fs::is_directory(to, ignored)) return absl::OkStatus();  // someone else made it meanwhile
    return absl::InternalError("renaming " + tmp.string() + " to " + to.string() + ": " +
                               ec.message());
  }
  return absl::OkStatus();
}

}  // namespace

fs::path SnapshotDir(const ControllerContext& ctx) {
  return ctx.snapshot_dir.empty() ? ctx.data_dir / "snapshots" : ctx.snapshot_dir;
}

bool IsValidHandle(const std::string& handle) {
  return IsSafePathComponent(handle) && handle[0] != '.';
}

std::optional<int64_t> ParseQuantityBytes(const std::string& q) {
  size_t pos = 0;
  double v = 0;
  try {
    v = std::stod(q, &pos);
  } catch (...) {
    return std::nullopt;
  }
  static const std::map<std::string, double> kMult = {{"", 1},
                                                      {"k", 1e3},
                                                      {"M", 1e6},
                                                      {"G", 1e9},
                                                      {"T", 1e12},
                                                      {"P", 1e15},
                                                      {"E", 1e18},
                                                      {"Ki", 1024.0},
                                                      {"Mi", 1048576.0},
                                                      {"Gi", 1073741824.0},
                                                      {"Ti", 1099511627776.0},
                                                      {"Pi", 1125899906842624.0},
                                                      {"Ei", 1152921504606846976.0}};
  auto it = kMult.find(q.substr(pos));
  if (it == kMult.end() || v < 0) return std::nullopt;
  double bytes = std::ceil(v * it->second);
  if (bytes > 9.2e18) return std::nullopt;
  return static_cast<int64_t>(bytes);
}

std::string FormatBinaryQuantity(int64_t bytes) {
  if (bytes == 0) return "0";
  static const char* kSuffix[] = {"", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"};
  int i = 0;
  int64_t v = bytes;
  while (i < 6 && v % 1024 == 0) {
    v /= 1024;
    ++i;
  }
  return std::to_string(v) + kSuffix[i];
}

std::optional<std::string> SnapshotSourceName(const json::value& claim) {
  for (const char* field : {"dataSourceRef", "dataSource"}) {
    const json::value* src = Find(claim, {"spec", field});
    if (src == nullptr || !src->is_object()) continue;
    if (GetString(*src, {"apiGroup"}) == kGroup && GetString(*src, {"kind"}) == "VolumeSnapshot") {
      std::string name = GetString(*src, {"name"});
      if (!name.empty()) return name;
    }
  }
  return std::nullopt;
}

std::optional<std::string> ReadySnapshotHandle(const Store& store, const std::string& ns,
                                               const std::string& name, std::string& why) {
  ObjectPtr vs = store.Get(kVolumeSnapshotsGr, ns, name);
  if (vs == nullptr) {
    why = "volumesnapshot " + ns + "/" + name + " not found";
    return std::nullopt;
  }
  if (!GetBool(vs->object, {"status", "readyToUse"}, false)) {
    why = "volumesnapshot " + ns + "/" + name + " is not ready to use";
    return std::nullopt;
  }
  const std::string content = GetString(vs->object, {"status", "boundVolumeSnapshotContentName"});
  ObjectPtr vsc = content.empty() ? nullptr : store.Get(kContentsGr, "", content);
  if (vsc == nullptr) {
    why = "volumesnapshotcontent " + Quote(content) + " of volumesnapshot " + ns + "/" + name +
          " not found";
    return std::nullopt;
  }
  if (GetString(vsc->object, {"spec", "driver"}) != kDriver) {
    why = "volumesnapshot " + ns + "/" + name + " was taken by driver " +
          GetString(vsc->object, {"spec", "driver"}) + ", not " + kDriver;
    return std::nullopt;
  }
  std::string handle = GetString(vsc->object, {"status", "snapshotHandle"});
  if (!IsValidHandle(handle)) {
    why = "volumesnapshotcontent " + content + " has no usable snapshot handle";
    return std::nullopt;
  }
  return handle;
}

Status TakeSnapshot(const fs::path& volume_dir, const fs::path& snapshot_dir,
                    const std::string& handle, const std::string& source_volume_handle,
                    int64_t restore_size) {
  if (!IsValidHandle(handle))
    return absl::InvalidArgumentError("invalid snapshot handle " + Quote(handle));
  const fs::path target = snapshot_dir / handle;
  std::error_code ec;
  if (fs::is_directory(target, ec)) return absl::OkStatus();
  fs::create_directories(snapshot_dir, ec);
  if (ec)
    return absl::InternalError("creating snapshot dir " + snapshot_dir.string() + ": " +
                               ec.message());
  // Metadata first: whoever sees the directory also finds its metadata.
  json::object meta{{"apiVersion", "kubesim.io/v1"},
                    {"kind", "SnapshotMetadata"},
                    {"handle", json::string(handle)},
                    {"driver", kDriver},
                    {"sourceVolumeHandle", json::string(source_volume_handle)},
                    {"restoreSize", restore_size},
                    {"creationTime", NowNanos()}};
  const fs::path meta_tmp = snapshot_dir / (".tmp-" + handle + ".json-" + RandomSuffix(8));
  {
    std::ofstream out(meta_tmp, std::ios::binary | std::ios::trunc);
    out << json::serialize(meta) << "\n";
    if (!out) return absl::InternalError("writing " + meta_tmp.string());
  }
  fs::rename(meta_tmp, snapshot_dir / (handle + ".json"), ec);
  if (ec)
    return absl::InternalError("writing snapshot metadata " + handle + ".json: " + ec.message());
  return CopyTreeAtomically(volume_dir, target);
}

Status RestoreSnapshot(const fs::path& snapshot_dir, const std::string& handle,
                       const fs::path& volume_dir) {
  if (!IsValidHandle(handle))
    return absl::InvalidArgumentError("invalid snapshot handle " + Quote(handle));
  return CopyTreeAtomically(snapshot_dir / handle, volume_dir);
}

StatusOr<SnapshotInfo> StatSnapshot(const fs::path& snapshot_dir, const std::string& handle) {
  if (!IsValidHandle(handle))
    return absl::InvalidArgumentError("invalid snapshot handle " + Quote(handle));
  const fs::path dir = snapshot_dir / handle;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    return absl::NotFoundError("snapshot " + handle + " not found in " + snapshot_dir.string());
  }
  SnapshotInfo info;
  bool have_size = false, have_time = false;
  const fs::path meta = snapshot_dir / (handle + ".json");
  if (fs::exists(meta, ec)) {
    boost::system::error_code jec;
    json::value m = json::parse(ReadFile(meta), jec);
    if (!jec && m.is_object()) {
      if (const json::value* s = m.as_object().if_contains("restoreSize");
          s != nullptr && s->is_int64()) {
        info.restore_size = s->get_int64();
        have_size = true;
      }
      if (const json::value* t = m.as_object().if_contains("creationTime");
          t != nullptr && t->is_int64()) {
        info.creation_time = t->get_int64();
        have_time = true;
      }
    }
  }
  if (!have_size) info.restore_size = TreeBytes(dir);
  if (!have_time) {
    struct stat st {};
    if (::stat(dir.c_str(), &st) == 0) {
      info.creation_time =
          static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
    } else {
      info.creation_time = NowNanos();
    }
  }
  return info;
}

Status DeleteSnapshot(const fs::path& snapshot_dir, const std::string& handle) {
  if (!IsValidHandle(handle))
    return absl::InvalidArgumentError("invalid snapshot handle " + Quote(handle));
  std::error_code ec;
  const fs::path dir = snapshot_dir / handle;
  if (fs::exists(fs::symlink_status(dir, ec))) {
    // Out of sight first, so no reader sees a half-removed snapshot.
    const fs::path doomed = snapshot_dir / (".deleting-" + handle + "-" + RandomSuffix(8));
    fs::rename(dir, doomed, ec);
    if (ec) return absl::InternalError("removing snapshot " + handle + ": " + ec.message());
    fs::remove_all(doomed, ec);
    if (ec) return absl::InternalError("removing snapshot " + handle + ": " + ec.message());
  }
  fs::remove(snapshot_dir / (handle + ".json"), ec);
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------------------------
// The API objects kubesim installs.

Status EnsureSnapshotApi(Cluster& cluster) {
  WriteOptions opts;
  opts.field_manager = "kubesim";
  opts.user = "system:kube-controller-manager";
  auto crd_type =
      cluster.registry().StorageType("apiextensions.k8s.io", "customresourcedefinitions");
  if (!crd_type) return absl::InternalError("customresourcedefinitions are not served");
  for (const json::value& crd :
       {VolumeSnapshotCrd(), VolumeSnapshotContentCrd(), VolumeSnapshotClassCrd()}) {
    const std::string name = MetaString(crd, "name");
    if (cluster.store().Get("customresourcedefinitions.apiextensions.k8s.io", "", name) != nullptr)
      continue;
    auto created = cluster.Create(crd_type->type, "", crd, opts);
    if (!created.ok() && created.status().code() != absl::StatusCode::kAlreadyExists) {
      return Annotate(created.status(), "creating CRD " + name);
    }
  }
  auto sc_type = cluster.registry().StorageType("storage.k8s.io", "storageclasses");
  if (sc_type &&
      cluster.store().Get("storageclasses.storage.k8s.io", "", kStorageClass) == nullptr) {
    json::value sc = json::object{{"apiVersion", "storage.k8s.io/v1"},
                                  {"kind", "StorageClass"},
                                  {"metadata", json::object{{"name", kStorageClass}}},
                                  {"provisioner", kDriver},
                                  {"reclaimPolicy", "Delete"},
                                  {"volumeBindingMode", "Immediate"},
                                  {"allowVolumeExpansion", true}};
    auto created = cluster.Create(sc_type->type, "", std::move(sc), opts);
    if (!created.ok() && created.status().code() != absl::StatusCode::kAlreadyExists) {
      return Annotate(created.status(), "creating StorageClass " + std::string(kStorageClass));
    }
  }
  auto class_type = cluster.registry().StorageType(kGroup, "volumesnapshotclasses");
  if (!class_type)
    return absl::InternalError("volumesnapshotclasses are not served after creating their CRD");
  if (cluster.store().Get(kClassesGr, "", kSnapshotClass) == nullptr) {
    json::value vsclass = json::object{
        {"apiVersion", "snapshot.storage.k8s.io/v1"},
        {"kind", "VolumeSnapshotClass"},
        {"metadata",
         json::object{{"name", kSnapshotClass},
                      {"labels", json::object{{"velero.io/csi-volumesnapshot-class", "true"}}}}},
        {"driver", kDriver},
        {"deletionPolicy", "Delete"}};
    auto created = cluster.Create(class_type->type, "", std::move(vsclass), opts);
    if (!created.ok() && created.status().code() != absl::StatusCode::kAlreadyExists) {
      return Annotate(created.status(),
                      "creating VolumeSnapshotClass " + std::string(kSnapshotClass));
    }
  }
  return absl::OkStatus();
}

namespace {

// ---------------------------------------------------------------------------------------------
// snapshot-controller: VolumeSnapshots.

class SnapshotController : public KeyedController {
 public:
  explicit SnapshotController(const ControllerContext& ctx) : w_(ctx.cluster, kManager) {}
  std::string name() const override { return "snapshot-controller"; }
  std::vector<std::string> Watches() const override {
    return {kVolumeSnapshotsGr, kContentsGr, "persistentvolumeclaims", "persistentvolumes"};
  }

 protected:
  void KeysFor(const StoreEvent& ev, std::set<Key>& keys) override {
    const StoredObject& o = *ev.object;
    if (o.gr == kVolumeSnapshotsGr) {
      if (ev.type != EventType::kDeleted) keys.insert({o.ns, o.name});
      return;
    }
    if (o.gr == kContentsGr) {
      for (const ObjectPtr& p : {ev.object, ev.prev}) {
        if (p == nullptr) continue;
        std::string ns = GetString(p->object, {"spec", "volumeSnapshotRef", "namespace"});
        std::string name = GetString(p->object, {"spec", "volumeSnapshotRef", "name"});
        if (!name.empty()) keys.insert({ns, name});
      }
      return;
    }
    // A claim (or a volume) changed: snapshots of claims that are not ready yet may proceed.
    std::string ns = o.ns;
    std::string claim = o.name;
    if (o.gr == "persistentvolumes") {
      ns = GetString(o.object, {"spec", "claimRef", "namespace"});
      claim = GetString(o.object, {"spec", "claimRef", "name"});
      if (claim.empty()) return;
    }
    w_.store().List(kVolumeSnapshotsGr, ns, false, "", 0, [&](const StoredObject& vs) {
      if (GetString(vs.object, {"spec", "source", "persistentVolumeClaimName"}) == claim &&
          !GetBool(vs.object, {"status", "readyToUse"}, false)) {
        keys.insert({vs.ns, vs.name});
      }
      return false;
    });
  }

  std::vector<Key> AllKeys() override {
    return workloads::AllKeysOf(w_.store(), kVolumeSnapshotsGr);
  }

  void Reconcile(const Key& key) override {
    const ResourceType* vst = w_.Type(kGroup, "volumesnapshots");
    const ResourceType* vsct = w_.Type(kGroup, "volumesnapshotcontents");
    if (vst == nullptr || vsct == nullptr) return;
    ObjectPtr vs = w_.store().Get(kVolumeSnapshotsGr, key.ns, key.name);
    if (vs == nullptr) return;
    const json::value& snap = vs->object;
    const std::string uid = MetaString(snap, "uid");
    if (Deleting(snap)) {
      Finalize(*vst, *vsct, key, snap);
      return;
    }
    if (!HasFinalizer(snap, kVsBoundFinalizer)) {
      LogIfError("adding finalizer to " + key.ns + "/" + key.name,
                 w_.Update(*vst, key.ns, key.name, [&](json::value& o) {
                   return !Deleting(o) && AddFinalizer(o, kVsBoundFinalizer);
                 }));
    }
    const std::string pvc = GetString(snap, {"spec", "source", "persistentVolumeClaimName"});
    const std::string content_name =
        GetString(snap, {"spec", "source", "volumeSnapshotContentName"});
    if (pvc.empty() == content_name.empty()) {
      SetError(*vst, key,
               "Exactly one of persistentVolumeClaimName and volumeSnapshotContentName should be "
               "specified");
      return;
    }
    ObjectPtr content;
    if (!content_name.empty()) {
      content = w_.store().Get(kContentsGr, "", content_name);
      if (content == nullptr) {
        SetError(*vst, key, "VolumeSnapshotContent is missing");
        return;
      }
      if (!BindPreProvisioned(*vsct, key, uid, content)) return;
    } else {
      const std::string dynamic_name = "snapcontent-" + uid;
      content = w_.store().Get(kContentsGr, "", dynamic_name);
      if (content == nullptr &&
          !GetString(snap, {"status", "boundVolumeSnapshotContentName"}).empty()) {
        // Its content was deleted under it: as upstream, an error, not a new snapshot.
        SetError(*vst, key, "VolumeSnapshotContent is missing");
        return;
      }
      if (content == nullptr) {
        std::string err = CreateContent(*vst, *vsct, key, snap, pvc, dynamic_name);
        if (!err.empty()) {
          SetError(*vst, key, "Failed to create snapshot content with error " + err);
          return;
        }
        content = w_.store().Get(kContentsGr, "", dynamic_name);
        if (content == nullptr) return;
      }
      if (GetString(content->object, {"spec", "volumeSnapshotRef", "uid"}) != uid) {
        SetError(*vst, key,
                 "VolumeSnapshotContent " + dynamic_name + " is bound to a different snapshot");
        return;
      }
    }
    MirrorStatus(*vst, key, content->object);
  }

 private:
  void SetError(const ResourceType& vst, const Key& key, const std::string& message) {
    LogIfError("status of " + key.ns + "/" + key.name,
               w_.Update(
                   vst, key.ns, key.name,
                   [&](json::value& o) { return SetErrorStatus(o, message); }, "status"));
  }

  // Binds a VolumeSnapshot to the pre-provisioned content it names. False (after setting an
  // error) when the content is someone else's.
  bool BindPreProvisioned(const ResourceType& vsct, const Key& key, const std::string& uid,
                          ObjectPtr& content) {
    const json::value& c = content->object;
    const std::string ref_ns = GetString(c, {"spec", "volumeSnapshotRef", "namespace"});
    const std::string ref_name = GetString(c, {"spec", "volumeSnapshotRef", "name"});
    const std::string ref_uid = GetString(c, {"spec", "volumeSnapshotRef", "uid"});
    const ResourceType* vst = w_.Type(kGroup, "volumesnapshots");
    if (ref_ns != key.ns || ref_name != key.name || (!ref_uid.empty() && ref_uid != uid)) {
      if (vst != nullptr) {
        SetError(*vst, key,
                 "Snapshot is bound to a VolumeSnapshotContent which is bound to other Snapshot");
      }
      return false;
    }
    if (ref_uid.empty()) {
      const std::string name = content->name;
      Status s = w_.Update(vsct, "", name, [&](json::value& o) {
        json::object& ref = Child(Child(o.as_object(), "spec"), "volumeSnapshotRef");
        if (GetString(o, {"spec", "volumeSnapshotRef", "uid"}) == uid) return false;
        ref["uid"] = json::string(uid);
        ref["apiVersion"] = "snapshot.storage.k8s.io/v1";
        ref["kind"] = "VolumeSnapshot";
        return true;
      });
      LogIfError("binding content " + name, s);
      content = w_.store().Get(kContentsGr, "", name);
      if (content == nullptr) return false;
    }
    return true;
  }

  // The class a snapshot uses: the one it names, else the driver's default class.
  ObjectPtr ClassFor(const json::value& snap, std::string& err) {
    std::string cls = GetString(snap, {"spec", "volumeSnapshotClassName"});
    if (!cls.empty()) {
      ObjectPtr c = w_.store().Get(kClassesGr, "", cls);
      if (c == nullptr)
        err = "volumesnapshotclass.snapshot.storage.k8s.io " + Quote(cls) + " not found";
      return c;
    }
    ObjectPtr found;
    int defaults = 0;
    w_.store().List(kClassesGr, "", true, "", 0, [&](const StoredObject& c) {
      if (GetString(c.object, {"driver"}) == kDriver &&
          GetString(c.object, {"metadata", "annotations", kDefaultClassAnnotation}) == "true") {
        ++defaults;
        found = w_.store().Get(kClassesGr, "", c.name);
      }
      return false;
    });
    if (defaults == 1) return found;
    err = defaults == 0 ? "cannot find default snapshot class"
                        : std::to_string(defaults) + " default snapshot classes were found";
    return nullptr;
  }

  // Creates the content of a dynamic snapshot; "" or the error.
  std::string CreateContent(const ResourceType& vst, const ResourceType& vsct, const Key& key,
                            const json::value& snap, const std::string& pvc,
                            const std::string& content_name) {
    const std::string input_err =
        "failed to get input parameters to create snapshot " + key.name + ": ";
    ObjectPtr claim = w_.store().Get("persistentvolumeclaims", key.ns, pvc);
    if (claim == nullptr) {
      return input_err + Quote("failed to retrieve PVC " + pvc + " from the lister: " +
                               Quote("persistentvolumeclaim " + Quote(pvc) + " not found"));
    }
    const std::string pv_name = GetString(claim->object, {"spec", "volumeName"});
    if (pv_name.empty() || GetString(claim->object, {"status", "phase"}) != "Bound") {
      return input_err + Quote("the PVC " + pvc +
                               " is not yet bound to a PV, will not attempt to take a snapshot");
    }
    ObjectPtr pv = w_.store().Get("persistentvolumes", "", pv_name);
    if (pv == nullptr) {
      return input_err + Quote("failed to retrieve PV " + pv_name + " from the API server: " +
                               Quote("persistentvolumes " + Quote(pv_name) + " not found"));
    }
    if (Find(pv->object, {"spec", "csi"}) == nullptr) {
      return input_err + Quote("cannot find CSI PersistentVolumeSource for volume " + pv_name);
    }
    const std::string driver = GetString(pv->object, {"spec", "csi", "driver"});
    std::string err;
    ObjectPtr cls = ClassFor(snap, err);
    if (cls == nullptr) return input_err + Quote(err);
    const std::string class_driver = GetString(cls->object, {"driver"});
    if (driver != kDriver || class_driver != kDriver) {
      return input_err +
             Quote("volume " + pv_name + " of driver " + Quote(driver) +
                   " cannot be snapshotted with VolumeSnapshotClass " + cls->name + " of driver " +
                   Quote(class_driver) + " (kubesim's CSI driver is " + kDriver + ")");
    }
    const std::string volume_handle = GetString(pv->object, {"spec", "csi", "volumeHandle"});
    json::value content = json::object{
        {"apiVersion", "snapshot.storage.k8s.io/v1"},
        {"kind", "VolumeSnapshotContent"},
        {"metadata", json::object{{"name", json::string(content_name)}}},
        {"spec",
         json::object{
             {"deletionPolicy", json::string(GetString(cls->object, {"deletionPolicy"}, "Delete"))},
             {"driver", kDriver},
             {"source", json::object{{"volumeHandle", json::string(volume_handle)}}},
             {"sourceVolumeMode",
              json::string(GetString(pv->object, {"spec", "volumeMode"}, "Filesystem"))},
             {"volumeSnapshotClassName", json::string(cls->name)},
             {"volumeSnapshotRef",
              json::object{
                  {"apiVersion", "snapshot.storage.k8s.io/v1"},
                  {"kind", "VolumeSnapshot"},
                  {"name", json::string(key.name)},
                  {"namespace", json::string(key.ns)},
                  {"uid", json::string(MetaString(snap, "uid"))},
                  {"resourceVersion", json::string(MetaString(snap, "resourceVersion"))}}}}}};
    auto created = w_.Create(vsct, "", std::move(content));
    if (!created.ok() && created.status().code() != absl::StatusCode::kAlreadyExists) {
      return "failed to create content " + content_name + ": " +
             std::string(created.status().message());
    }
    if (GetString(snap, {"spec", "volumeSnapshotClassName"}).empty()) {
      const std::string cls_name = cls->name;
      LogIfError("setting class of " + key.ns + "/" + key.name,
                 w_.Update(vst, key.ns, key.name, [&](json::value& o) {
                   if (!GetString(o, {"spec", "volumeSnapshotClassName"}).empty()) return false;
                   Child(o.as_object(), "spec")["volumeSnapshotClassName"] = json::string(cls_name);
                   return true;
                 }));
    }
    return "";
  }

  // The snapshot's status from its content's.
  void MirrorStatus(const ResourceType& vst, const Key& key, const json::value& content) {
    const std::string content_name = MetaString(content, "name");
    const bool ready = GetBool(content, {"status", "readyToUse"}, false);
    const json::value* restore = Find(content, {"status", "restoreSize"});
    const json::value* created = Find(content, {"status", "creationTime"});
    const json::value* error = Find(content, {"status", "error"});
    LogIfError("status of " + key.ns + "/" + key.name,
               w_.Update(
                   vst, key.ns, key.name,
                   [&](json::value& o) {
                     json::object want;
                     if (const json::value* old = Find(o, {"status"});
                         old != nullptr && old->is_object())
                       want = old->as_object();
                     want["boundVolumeSnapshotContentName"] = json::string(content_name);
                     want["readyToUse"] = ready;
                     if (restore != nullptr && restore->is_number()) {
                       want["restoreSize"] =
                           json::string(FormatBinaryQuantity(restore->to_number<int64_t>()));
                     }
                     if (created != nullptr && created->is_number()) {
                       want["creationTime"] = json::string(Rfc3339(created->to_number<int64_t>()));
                     }
                     if (error != nullptr && error->is_object()) {
                       want["error"] = *error;
                     } else if (ready) {
                       want.erase("error");
                     }
                     const json::value* have = Find(o, {"status"});
                     if (have != nullptr && *have == json::value(want)) return false;
                     o.as_object()["status"] = std::move(want);
                     return true;
                   },
                   "status"));
  }

  // A VolumeSnapshot being deleted: delete its content if the policy says so, then let it go.
  void Finalize(const ResourceType& vst, const ResourceType& vsct, const Key& key,
                const json::value& snap) {
    if (!HasFinalizer(snap, kVsBoundFinalizer)) return;
    const std::string uid = MetaString(snap, "uid");
    std::string content_name = GetString(snap, {"status", "boundVolumeSnapshotContentName"});
    if (content_name.empty()) {
      content_name = GetString(snap, {"spec", "source", "volumeSnapshotContentName"});
      if (content_name.empty()) content_name = "snapcontent-" + uid;
    }
    ObjectPtr content = w_.store().Get(kContentsGr, "", content_name);
    if (content != nullptr && !Deleting(content->object) &&
        GetString(content->object, {"spec", "deletionPolicy"}) == "Delete" &&
        GetString(content->object, {"spec", "volumeSnapshotRef", "name"}) == key.name &&
        GetString(content->object, {"spec", "volumeSnapshotRef", "namespace"}) == key.ns &&
        GetString(content->object, {"spec", "volumeSnapshotRef", "uid"}) == uid) {
      Status s = w_.Delete(vsct, "", content_name, MetaString(content->object, "uid"));
      if (!s.ok() && s.code() != absl::StatusCode::kNotFound) {
        LogIfError("deleting content " + content_name, s);
        return;  // retried at the next event or resync
      }
    }
    LogIfError("removing finalizer of " + key.ns + "/" + key.name,
               w_.Update(vst, key.ns, key.name,
                         [](json::value& o) { return RemoveFinalizer(o, kVsBoundFinalizer); }));
  }

  Writer w_;
};

// ---------------------------------------------------------------------------------------------
// csi-snapshotter: VolumeSnapshotContents of kubesim's driver.

class CsiSnapshotter : public KeyedController {
 public:
  explicit CsiSnapshotter(const ControllerContext& ctx)
      : w_(ctx.cluster, "csi-snapshotter"),
        data_dir_(ctx.data_dir),
        snapshot_dir_(SnapshotDir(ctx)) {}
  std::string name() const override { return "csi-snapshotter"; }
  std::vector<std::string> Watches() const override { return {kContentsGr}; }

 protected:
  void KeysFor(const StoreEvent& ev, std::set<Key>& keys) override {
    if (ev.type != EventType::kDeleted) {
      keys.insert({"", ev.object->name});
      return;
    }
    // Deleted before this sidecar put its finalizer on it (created and deleted at once, as a
    // backup tool deleting a snapshot by handle may do): the policy still applies.
    const json::value& c = ev.object->object;
    if (HasFinalizer(c, kVscFinalizer) || GetString(c, {"spec", "driver"}) != kDriver ||
        GetString(c, {"spec", "deletionPolicy"}) != "Delete") {
      return;
    }
    std::string handle = GetString(c, {"status", "snapshotHandle"});
    if (handle.empty()) handle = GetString(c, {"spec", "source", "snapshotHandle"});
    if (IsValidHandle(handle))
      LogIfError("deleting snapshot " + handle, DeleteSnapshot(snapshot_dir_, handle));
  }
  std::vector<Key> AllKeys() override { return workloads::AllKeysOf(w_.store(), kContentsGr); }

  void Reconcile(const Key& key) override {
    const ResourceType* vsct = w_.Type(kGroup, "volumesnapshotcontents");
    if (vsct == nullptr) return;
    ObjectPtr obj = w_.store().Get(kContentsGr, "", key.name);
    if (obj == nullptr) return;
    const json::value& content = obj->object;
    if (GetString(content, {"spec", "driver"}) != kDriver) return;
    const std::string volume_handle = GetString(content, {"spec", "source", "volumeHandle"});
    const std::string source_handle = GetString(content, {"spec", "source", "snapshotHandle"});
    std::string handle = GetString(content, {"status", "snapshotHandle"});
    if (handle.empty()) handle = source_handle;
    if (Deleting(content)) {
      if (!HasFinalizer(content, kVscFinalizer)) return;
      if (GetString(content, {"spec", "deletionPolicy"}) == "Delete" && !handle.empty()) {
        Status s = IsValidHandle(handle) ? DeleteSnapshot(snapshot_dir_, handle) : absl::OkStatus();
        if (!s.ok()) {
          SetError(*vsct, key.name,
                   "failed to delete snapshot " + handle + ": " + std::string(s.message()));
          return;
        }
      }
      LogIfError("removing finalizer of " + key.name,
                 w_.Update(*vsct, "", key.name,
                           [](json::value& o) { return RemoveFinalizer(o, kVscFinalizer); }));
      return;
    }
    if (!HasFinalizer(content, kVscFinalizer)) {
      LogIfError("adding finalizer to " + key.name,
                 w_.Update(*vsct, "", key.name, [](json::value& o) {
                   return !Deleting(o) && AddFinalizer(o, kVscFinalizer);
                 }));
    }
    if (GetBool(content, {"status", "readyToUse"}, false) &&
        !GetString(content, {"status", "snapshotHandle"}).empty()) {
      return;
    }
    if (!volume_handle.empty()) {
      // Dynamic: take the snapshot (once; the handle is derived from the content's uid).
      handle = "snapshot-" + MetaString(content, "uid");
      if (!IsSafePathComponent(volume_handle)) {
        SetError(
            *vsct, key.name,
            "failed to take snapshot of the volume " + volume_handle + ": invalid volume handle");
        return;
      }
      const fs::path volume_dir = data_dir_ / "volumes" / volume_handle;
      std::error_code ec;
      if (!fs::is_directory(volume_dir, ec)) {
        SetError(*vsct, key.name,
                 "failed to take snapshot of the volume " + volume_handle + ": volume " +
                     Quote(volume_handle) + " not found");
        return;
      }
      int64_t size = -1;
      ObjectPtr pv = w_.store().Get("persistentvolumes", "", volume_handle);
      if (pv != nullptr) {
        if (auto b = ParseQuantityBytes(GetString(pv->object, {"spec", "capacity", "storage"})))
          size = *b;
      }
      if (size < 0) size = TreeBytes(volume_dir);
      Status s = TakeSnapshot(volume_dir, snapshot_dir_, handle, volume_handle, size);
      if (!s.ok()) {
        SetError(*vsct, key.name,
                 "failed to take snapshot of the volume " + volume_handle + ": " +
                     std::string(s.message()));
        return;
      }
    } else if (!IsValidHandle(handle)) {
      SetError(*vsct, key.name, "invalid snapshot handle " + Quote(handle));
      return;
    }
    auto info = StatSnapshot(snapshot_dir_, handle);
    if (!info.ok()) {
      SetError(*vsct, key.name,
               "failed to check snapshot " + handle + ": " + std::string(info.status().message()));
      return;
    }
    LogIfError("status of content " + key.name, w_.Update(
                                                    *vsct, "", key.name,
                                                    [&](json::value& o) {
                                                      json::object& st =
                                                          Child(o.as_object(), "status");
                                                      st["snapshotHandle"] = json::string(handle);
                                                      st["readyToUse"] = true;
                                                      st["restoreSize"] = info->restore_size;
                                                      st["creationTime"] = info->creation_time;
                                                      st.erase("error");
                                                      return true;
                                                    },
                                                    "status"));
  }

 private:
  void SetError(const ResourceType& vsct, const std::string& name, const std::string& message) {
    LogIfError(
        "status of content " + name,
        w_.Update(
            vsct, "", name, [&](json::value& o) { return SetErrorStatus(o, message); }, "status"));
  }

  Writer w_;
  fs::path data_dir_;
  fs::path snapshot_dir_;
};

}  // namespace

void AddSnapshotControllers(ControllerRunner& runner, const ControllerContext& ctx) {
  runner.Add(std::make_unique<SnapshotController>(ctx));
  runner.Add(std::make_unique<CsiSnapshotter>(ctx));
}

}  // namespace kubesim::snapshots
