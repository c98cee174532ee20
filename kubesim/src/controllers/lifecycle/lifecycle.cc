// The lifecycle controllers: what kube-controller-manager does so that objects are born and die
// as in a real cluster.
//   namespace     Terminating namespaces lose their contents, then the "kubernetes" finalizer;
//                 every namespace gets the "default" ServiceAccount and kube-root-ca.crt.
//   gc            garbage collection by ownerReferences (background, foreground, orphan).
//   volumes       the default StorageClass "standard" (provisioner kubesim.io/hostpath), dynamic
//                 provisioning (also by the CSI driver hostpath.csi.kubesim.io of class
//                 csi-hostpath, whose claims may start from a VolumeSnapshot), PV/PVC binding
//                 (also of pre-bound pairs, as restores create), reclaim, and the
//                 pvc-protection / pv-protection finalizers.
//   endpoints     Endpoints and EndpointSlices of services with selectors.

#include "kubesim/src/controllers/lifecycle/lifecycle.h"

#include <filesystem>
#include <map>
#include <mutex>
#include <set>
#include <unordered_map>

#include "kubesim/src/api/object_util.h"
#include "kubesim/src/controllers/snapshots/snapshots.h"
#include "kubesim/src/controllers/workloads/base.h"
#include "kubesim/src/controllers/workloads/util.h"
#include "lifeboat/common/log.h"

namespace kubesim {
namespace {

namespace json = boost::json;
namespace fs = std::filesystem;
using workloads::AllKeysOf;
using workloads::Find;
using workloads::GetArray;
using workloads::GetString;
using workloads::Key;
using workloads::KeyedController;
using workloads::LabelsOf;
using workloads::ListObjects;
using workloads::Selector;
using workloads::Writer;

constexpr char kHostpathProvisioner[] = "kubesim.io/hostpath";
constexpr const char* kCsiDriver = snapshots::kDriver;  // hostpath.csi.kubesim.io

bool IsKubesimProvisioner(const std::string& p) { return p == kHostpathProvisioner || p == kCsiDriver; }
constexpr char kPvcProtection[] = "kubernetes.io/pvc-protection";
constexpr char kPvProtection[] = "kubernetes.io/pv-protection";
constexpr char kRootCaDescription[] =
    "Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints "
    "such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across "
    "distributions of Kubernetes clusters.";

void SplitGr(const std::string& gr, std::string& group, std::string& resource) {
  size_t dot = gr.find('.');
  resource = gr.substr(0, dot);
  group = dot == std::string::npos ? "" : gr.substr(dot + 1);
}

void LogIfError(const std::string& what, const Status& s) {
  if (!s.ok() && s.code() != absl::StatusCode::kNotFound && s.code() != absl::StatusCode::kAlreadyExists) {
    LB_LOG_DEBUG("kubesim: {}: {}", what, s.ToString());
  }
}

bool RemoveFinalizer(json::value& obj, std::string_view f) {
  std::vector<std::string> fins = Finalizers(obj);
  auto it = std::find(fins.begin(), fins.end(), f);
  if (it == fins.end()) return false;
  fins.erase(it);
  SetFinalizers(obj, fins);
  return true;
}

// ---------------------------------------------------------------------------------------------
// Namespaces: defaults and deletion.

class NamespaceController : public KeyedController {
 public:
  explicit NamespaceController(const ControllerContext& ctx)
      : ctx_(ctx), w_(ctx.cluster, "kube-controller-manager") {}
  std::string name() const override { return "namespace"; }
  std::vector<std::string> Watches() const override { return {"*"}; }

 protected:
  void KeysFor(const StoreEvent& ev, std::set<Key>& keys) override {
    const StoredObject& o = *ev.object;
    if (o.gr == "namespaces") {
      if (ev.type != EventType::kDeleted) keys.insert({"", o.name});
      return;
    }
    if (o.ns.empty()) return;
    // Contents of a terminating namespace changed, or a default object went away.
    bool defaults = (o.gr == "serviceaccounts" && o.name == "default") ||
                    (o.gr == "configmaps" && o.name == "kube-root-ca.crt");
    if (defaults && ev.type == EventType::kDeleted) {
      keys.insert({"", o.ns});
      return;
    }
    if (ev.type == EventType::kDeleted) {
      ObjectPtr ns = w_.store().Get("namespaces", "", o.ns);
      if (ns != nullptr && !MetaString(ns->object, "deletionTimestamp").empty()) keys.insert({"", o.ns});
    }
  }
  std::vector<Key> AllKeys() override { return AllKeysOf(w_.store(), "namespaces"); }

  void Reconcile(const Key& key) override {
    ObjectPtr ns = w_.store().Get("namespaces", "", key.name);
    if (ns == nullptr) return;
    if (!MetaString(ns->object, "deletionTimestamp").empty()) {
      Terminate(key.name);
      return;
    }
    EnsureDefaults(key.name);
  }

 private:
  void EnsureDefaults(const std::string& ns) {
    if (const ResourceType* sa = w_.Type("", "serviceaccounts");
        sa != nullptr && w_.store().Get("serviceaccounts", ns, "default") == nullptr) {
      json::value obj = json::object{{"apiVersion", "v1"},
                                     {"kind", "ServiceAccount"},
                                     {"metadata", json::object{{"name", "default"}, {"namespace", ns}}}};
      LogIfError("creating default service account in " + ns, w_.Create(*sa, ns, std::move(obj)).status());
    }
    if (const ResourceType* cm = w_.Type("", "configmaps");
        cm != nullptr && !ctx_.ca_pem.empty() && w_.store().Get("configmaps", ns, "kube-root-ca.crt") == nullptr) {
      json::value obj = json::object{
          {"apiVersion", "v1"},
          {"kind", "ConfigMap"},
          {"metadata", json::object{{"name", "kube-root-ca.crt"},
                                    {"namespace", ns},
                                    {"annotations", json::object{{"kubernetes.io/description", kRootCaDescription}}}}},
          {"data", json::object{{"ca.crt", json::string(ctx_.ca_pem)}}}};
      LogIfError("creating kube-root-ca.crt in " + ns, w_.Create(*cm, ns, std::move(obj)).status());
    }
  }

  // Deletes everything in the namespace; when nothing is left, removes the "kubernetes"
  // finalizer through /finalize, which lets the namespace go.
  void Terminate(const std::string& ns) {
    size_t remaining = 0;
    for (const std::string& gr : w_.store().GroupResources()) {
      if (gr == "namespaces") continue;
      std::string group, resource;
      SplitGr(gr, group, resource);
      const ResourceType* type = w_.Type(group, resource);
      if (type == nullptr || !type->namespaced) continue;
      std::vector<ObjectPtr> items = ListObjects(w_.store(), gr, ns, [](const StoredObject&) { return true; });
      remaining += items.size();
      for (const ObjectPtr& o : items) {
        if (!MetaString(o->object, "deletionTimestamp").empty()) continue;
        LogIfError("deleting " + gr + " " + ns + "/" + o->name,
                   w_.Delete(*type, ns, o->name, MetaString(o->object, "uid"), "Background"));
      }
    }
    if (remaining > 0) {
      // Re-check what is left (objects with finalizers go later; their deletion re-queues us).
      remaining = 0;
      for (const std::string& gr : w_.store().GroupResources()) {
        if (gr == "namespaces") continue;
        std::string group, resource;
        SplitGr(gr, group, resource);
        const ResourceType* type = w_.Type(group, resource);
        if (type == nullptr || !type->namespaced) continue;
        remaining += ListObjects(w_.store(), gr, ns, [](const StoredObject&) { return true; }).size();
      }
      if (remaining > 0) return;
    }
    const ResourceType* nst = w_.Type("", "namespaces");
    if (nst == nullptr) return;
    LogIfError("finalizing namespace " + ns, w_.Update(*nst, "", ns, [](json::value& obj) {
      json::value* spec = obj.is_object() && obj.as_object().contains("spec") ? &obj.as_object()["spec"] : nullptr;
      if (spec == nullptr || !spec->is_object()) return false;
      json::value* fins = spec->as_object().if_contains("finalizers");
      if (fins == nullptr || !fins->is_array()) return false;
      json::array kept;
      for (const auto& f : fins->as_array()) {
        if (!(f.is_string() && f.get_string() == "kubernetes")) kept.push_back(f);
      }
      if (kept.size() == fins->as_array().size()) return false;
      *fins = std::move(kept);
      return true;
    }, "finalize"));
  }

  ControllerContext ctx_;
  Writer w_;
};

// ---------------------------------------------------------------------------------------------
// Garbage collector.

struct ObjKey {
  std::string gr, ns, name;
  auto operator<=>(const ObjKey&) const = default;
};

struct Ref {
  std::string api_version, kind, name, uid;
  bool block = false;
};

std::vector<Ref> OwnerRefs(const json::value& obj) {
  std::vector<Ref> out;
  const json::value* refs = Find(obj, {"metadata", "ownerReferences"});
  if (refs == nullptr || !refs->is_array()) return out;
  for (const auto& r : refs->get_array()) {
    if (!r.is_object()) continue;
    Ref ref{GetString(r, {"apiVersion"}), GetString(r, {"kind"}), GetString(r, {"name"}), GetString(r, {"uid"}),
            false};
    const json::value* b = Find(r, {"blockOwnerDeletion"});
    ref.block = b != nullptr && b->is_bool() && b->get_bool();
    out.push_back(std::move(ref));
  }
  return out;
}

class GarbageCollector : public Controller {
 public:
  explicit GarbageCollector(const ControllerContext& ctx) : w_(ctx.cluster, "generic-garbage-collector") {}
  std::string name() const override { return "garbage-collector"; }
  std::vector<std::string> Watches() const override { return {"*"}; }

  void OnEvent(const StoreEvent& ev) override {
    try {
      const StoredObject& o = *ev.object;
      ObjKey key{o.gr, o.ns, o.name};
      if (ev.prev != nullptr) Unindex(key, ev.prev->object);
      if (ev.type == EventType::kDeleted) {
        // Its dependents may be orphans now; its owners may be waiting for it.
        std::string uid = MetaString(o.object, "uid");
        if (auto it = dependents_.find(uid); it != dependents_.end()) {
          std::set<ObjKey> deps = it->second;
          for (const ObjKey& d : deps) CheckDependent(d);
        }
        for (const Ref& r : OwnerRefs(o.object)) CheckOwnerByRef(r, o.ns);
        return;
      }
      Index(key, o.object);
      CheckOwner(key, o.object);
      if (!OwnerRefs(o.object).empty()) CheckDependent(key);
    } catch (const std::exception& e) {
      LB_LOG_DEBUG("kubesim: garbage-collector: {}", e.what());
    }
  }

  void Resync() override {
    dependents_.clear();
    std::vector<std::pair<ObjKey, ObjectPtr>> all;
    for (const std::string& gr : w_.store().GroupResources()) {
      for (const ObjectPtr& o : ListObjects(w_.store(), gr, "", [](const StoredObject&) { return true; }, true)) {
        ObjKey key{gr, o->ns, o->name};
        Index(key, o->object);
        all.emplace_back(std::move(key), o);
      }
    }
    for (const auto& [key, o] : all) {
      try {
        CheckOwner(key, o->object);
        if (!OwnerRefs(o->object).empty()) CheckDependent(key);
      } catch (const std::exception& e) {
        LB_LOG_DEBUG("kubesim: garbage-collector: {}", e.what());
      }
    }
  }

 private:
  void Index(const ObjKey& key, const json::value& obj) {
    for (const Ref& r : OwnerRefs(obj)) {
      if (!r.uid.empty()) dependents_[r.uid].insert(key);
    }
  }
  void Unindex(const ObjKey& key, const json::value& obj) {
    for (const Ref& r : OwnerRefs(obj)) {
      auto it = dependents_.find(r.uid);
      if (it == dependents_.end()) continue;
      it->second.erase(key);
      if (it->second.empty()) dependents_.erase(it);
    }
  }

  const ResourceType* TypeOfGr(const std::string& gr) {
    std::string group, resource;
    SplitGr(gr, group, resource);
    return w_.Type(group, resource);
  }

  // The live owner a reference points to, or nullptr when it is gone (absent or another uid).
  ObjectPtr ResolveOwner(const Ref& r, const std::string& dependent_ns) {
    std::string group, version;
    SplitApiVersion(r.api_version, group, version);
    auto info = w_.cluster().registry().FindKind(group, version, r.kind);
    if (!info) {
      // An unknown kind (e.g. a CRD not yet registered) is not proof the owner is gone.
      unresolvable_ = true;
      return nullptr;
    }
    const ResourceType& t = info->type;
    ObjectPtr o = w_.store().Get(t.GroupResource(), t.namespaced ? dependent_ns : "", r.name);
    if (o == nullptr || MetaString(o->object, "uid") != r.uid) return nullptr;
    return o;
  }

  void CheckOwnerByRef(const Ref& r, const std::string& ns) {
    unresolvable_ = false;
    ObjectPtr owner = ResolveOwner(r, ns);
    if (owner != nullptr) CheckOwner(ObjKey{owner->gr, owner->ns, owner->name}, owner->object);
  }

  // A dependent whose owners are all gone is deleted; references to owners that are gone are
  // removed when some owner remains.
  void CheckDependent(const ObjKey& key) {
    ObjectPtr o = w_.store().Get(key.gr, key.ns, key.name);
    if (o == nullptr) return;
    std::vector<Ref> refs = OwnerRefs(o->object);
    if (refs.empty()) return;
    std::set<std::string> dangling;
    unresolvable_ = false;
    for (const Ref& r : refs) {
      if (ResolveOwner(r, key.ns) == nullptr && !unresolvable_) dangling.insert(r.uid);
      unresolvable_ = false;
    }
    if (dangling.empty()) return;
    const ResourceType* type = TypeOfGr(key.gr);
    if (type == nullptr) return;
    if (dangling.size() == refs.size()) {
      if (!MetaString(o->object, "deletionTimestamp").empty()) return;
      LogIfError("collecting " + key.gr + " " + key.ns + "/" + key.name,
                 w_.Delete(*type, key.ns, key.name, MetaString(o->object, "uid"), "Background"));
      return;
    }
    LogIfError("removing dangling owner references of " + key.name,
               w_.Update(*type, key.ns, key.name, [&](json::value& obj) { return DropRefs(obj, dangling); }));
  }

  static bool DropRefs(json::value& obj, const std::set<std::string>& uids) {
    json::value& refs = Meta(obj)["ownerReferences"];
    if (!refs.is_array()) return false;
    json::array kept;
    for (const auto& r : refs.as_array()) {
      if (!uids.contains(GetString(r, {"uid"}))) kept.push_back(r);
    }
    if (kept.size() == refs.as_array().size()) return false;
    if (kept.empty()) {
      Meta(obj).erase("ownerReferences");
    } else {
      refs = std::move(kept);
    }
    return true;
  }

  // An owner being deleted with the orphan or foregroundDeletion finalizer.
  void CheckOwner(const ObjKey& key, const json::value& obj) {
    if (MetaString(obj, "deletionTimestamp").empty()) return;
    bool orphan = HasFinalizer(obj, "orphan");
    bool foreground = HasFinalizer(obj, "foregroundDeletion");
    if (!orphan && !foreground) return;
    const std::string uid = MetaString(obj, "uid");
    std::set<ObjKey> deps;
    if (auto it = dependents_.find(uid); it != dependents_.end()) deps = it->second;
    const ResourceType* owner_type = TypeOfGr(key.gr);
    if (owner_type == nullptr) return;
    if (orphan) {
      for (const ObjKey& d : deps) {
        const ResourceType* t = TypeOfGr(d.gr);
        if (t == nullptr) continue;
        LogIfError("orphaning " + d.name,
                   w_.Update(*t, d.ns, d.name, [&](json::value& o) { return DropRefs(o, {uid}); }));
      }
      LogIfError("removing orphan finalizer of " + key.name,
                 w_.Update(*owner_type, key.ns, key.name, [](json::value& o) { return RemoveFinalizer(o, "orphan"); }));
      return;
    }
    // Foreground: dependents go first; the owner waits for those that block its deletion.
    bool blocked = false;
    for (const ObjKey& d : deps) {
      ObjectPtr dep = w_.store().Get(d.gr, d.ns, d.name);
      if (dep == nullptr) continue;
      for (const Ref& r : OwnerRefs(dep->object)) {
        if (r.uid == uid && r.block) blocked = true;
      }
      if (!MetaString(dep->object, "deletionTimestamp").empty()) continue;
      const ResourceType* t = TypeOfGr(d.gr);
      if (t == nullptr) continue;
      LogIfError("deleting dependent " + d.name,
                 w_.Delete(*t, d.ns, d.name, MetaString(dep->object, "uid"), "Foreground"));
    }
    if (!blocked) {
      LogIfError("removing foregroundDeletion finalizer of " + key.name,
                 w_.Update(*owner_type, key.ns, key.name,
                           [](json::value& o) { return RemoveFinalizer(o, "foregroundDeletion"); }));
    }
  }

  Writer w_;
  std::unordered_map<std::string, std::set<ObjKey>> dependents_;  // owner uid -> dependents
  bool unresolvable_ = false;
};

// ---------------------------------------------------------------------------------------------
// Volumes: default StorageClass, provisioning, binding, reclaim, protection.

std::string RequestedStorage(const json::value& pvc) {
  std::string s = GetString(pvc, {"spec", "resources", "requests", "storage"});
  return s.empty() ? "1Gi" : s;
}

// Bytes of a Kubernetes quantity ("1Gi", "500M", "1024"); 0 when unparsable.
double QuantityBytes(const std::string& q) {
  size_t pos = 0;
  double v = 0;
  try {
    v = std::stod(q, &pos);
  } catch (...) {
    return 0;
  }
  std::string suffix = q.substr(pos);
  static const std::map<std::string, double> kMult = {
      {"", 1},      {"k", 1e3},  {"M", 1e6},           {"G", 1e9},           {"T", 1e12},          {"P", 1e15},
      {"Ki", 1024}, {"Mi", 1048576.0}, {"Gi", 1073741824.0}, {"Ti", 1099511627776.0}, {"Pi", 1125899906842624.0}};
  auto it = kMult.find(suffix);
  return it == kMult.end() ? 0 : v * it->second;
}

class VolumeController : public Controller {
 public:
  explicit VolumeController(const ControllerContext& ctx)
      : ctx_(ctx), w_(ctx.cluster, "kube-controller-manager") {}
  std::string name() const override { return "persistentvolume-binder"; }
  std::vector<std::string> Watches() const override {
    return {"persistentvolumeclaims", "persistentvolumes", "pods", "storageclasses.storage.k8s.io",
            snapshots::kVolumeSnapshotsGr};
  }

  void OnEvent(const StoreEvent& ev) override {
    try {
      const StoredObject& o = *ev.object;
      if (o.gr == "persistentvolumeclaims") {
        if (ev.type == EventType::kDeleted) {
          ReleaseVolumesOf(o.object);
        } else {
          ReconcileClaim(o.ns, o.name);
        }
      } else if (o.gr == "persistentvolumes") {
        if (ev.type != EventType::kDeleted) {
          ReconcileVolume(o.name);
          std::string claim_ns = GetString(o.object, {"spec", "claimRef", "namespace"});
          std::string claim = GetString(o.object, {"spec", "claimRef", "name"});
          if (!claim.empty()) ReconcileClaim(claim_ns, claim);
        }
      } else if (o.gr == "pods") {
        // A pod that stops using a claim may release its protection; a pod waiting for a
        // WaitForFirstConsumer claim triggers provisioning.
        std::set<std::string> claims;
        for (const ObjectPtr& p : {ev.object, ev.prev}) {
          if (p == nullptr) continue;
          for (const auto& v : GetArray(p->object, {"spec", "volumes"})) {
            std::string c = GetString(v, {"persistentVolumeClaim", "claimName"});
            if (!c.empty()) claims.insert(c);
          }
        }
        for (const std::string& c : claims) ReconcileClaim(o.ns, c);
      } else if (o.gr == snapshots::kVolumeSnapshotsGr) {
        // A snapshot became ready: claims restoring from it can be provisioned now.
        if (ev.type == EventType::kDeleted) return;
        for (const ObjectPtr& c : ListObjects(w_.store(), "persistentvolumeclaims", o.ns, [&](const StoredObject& s) {
               return GetString(s.object, {"spec", "volumeName"}).empty() &&
                      snapshots::SnapshotSourceName(s.object) == o.name;
             })) {
          ReconcileClaim(c->ns, c->name);
        }
      } else if (o.gr == "storageclasses.storage.k8s.io") {
        for (const ObjectPtr& c : ListObjects(w_.store(), "persistentvolumeclaims", "", [](const StoredObject& s) {
               return GetString(s.object, {"status", "phase"}) != "Bound";
             }, true)) {
          ReconcileClaim(c->ns, c->name);
        }
      }
    } catch (const std::exception& e) {
      LB_LOG_DEBUG("kubesim: persistentvolume-binder: {}", e.what());
    }
  }

  void Resync() override {
    try {
      if (!default_class_checked_) {
        default_class_checked_ = true;
        EnsureDefaultStorageClass();
      }
      for (const Key& k : AllKeysOf(w_.store(), "persistentvolumes")) ReconcileVolume(k.name);
      for (const Key& k : AllKeysOf(w_.store(), "persistentvolumeclaims")) ReconcileClaim(k.ns, k.name);
    } catch (const std::exception& e) {
      LB_LOG_DEBUG("kubesim: persistentvolume-binder: {}", e.what());
    }
  }

 private:
  // The first start of a cluster gets the "standard" class, as kind and minikube clusters do.
  // (The CSI driver's class csi-hostpath, made at start-up before the controllers run, does not
  // count: a cluster with no other class is at its first start.)
  void EnsureDefaultStorageClass() {
    const ResourceType* sc = w_.Type("storage.k8s.io", "storageclasses");
    if (sc == nullptr) return;
    bool others = false;
    w_.store().List("storageclasses.storage.k8s.io", "", true, "", 0, [&](const StoredObject& c) {
      if (c.name != snapshots::kStorageClass) others = true;
      return false;
    });
    if (others) return;
    json::value obj = json::object{
        {"apiVersion", "storage.k8s.io/v1"},
        {"kind", "StorageClass"},
        {"metadata", json::object{{"name", "standard"},
                                  {"annotations", json::object{{"storageclass.kubernetes.io/is-default-class", "true"}}}}},
        {"provisioner", kHostpathProvisioner},
        {"reclaimPolicy", "Delete"},
        {"volumeBindingMode", "Immediate"},
        {"allowVolumeExpansion", true}};
    LogIfError("creating the default storage class", w_.Create(*sc, "", std::move(obj)).status());
  }

  bool ClaimInUse(const std::string& ns, const std::string& claim) {
    bool used = false;
    w_.store().List("pods", ns, false, "", 0, [&](const StoredObject& p) {
      std::string phase = GetString(p.object, {"status", "phase"});
      if (phase == "Succeeded" || phase == "Failed") return false;
      for (const auto& v : GetArray(p.object, {"spec", "volumes"})) {
        if (GetString(v, {"persistentVolumeClaim", "claimName"}) == claim) used = true;
      }
      return false;
    });
    return used;
  }

  void ReconcileClaim(const std::string& ns, const std::string& name) {
    const ResourceType* pvct = w_.Type("", "persistentvolumeclaims");
    const ResourceType* pvt = w_.Type("", "persistentvolumes");
    if (pvct == nullptr || pvt == nullptr) return;
    ObjectPtr pvc = w_.store().Get("persistentvolumeclaims", ns, name);
    if (pvc == nullptr) return;
    const json::value& claim = pvc->object;
    if (!MetaString(claim, "deletionTimestamp").empty()) {
      if (HasFinalizer(claim, kPvcProtection) && !ClaimInUse(ns, name)) {
        LogIfError("removing pvc-protection of " + ns + "/" + name,
                   w_.Update(*pvct, ns, name, [](json::value& o) { return RemoveFinalizer(o, kPvcProtection); }));
      }
      return;
    }
    if (!HasFinalizer(claim, kPvcProtection)) {
      LogIfError("adding pvc-protection to " + ns + "/" + name, w_.Update(*pvct, ns, name, [](json::value& o) {
        if (HasFinalizer(o, kPvcProtection)) return false;
        std::vector<std::string> f = Finalizers(o);
        f.emplace_back(kPvcProtection);
        SetFinalizers(o, f);
        return true;
      }));
    }
    std::string volume = GetString(claim, {"spec", "volumeName"});
    const std::string uid = MetaString(claim, "uid");
    // As k8s' bindClaimToVolume: the claim is marked bound-by-controller when the controller
    // chose its volume (a user's pre-bound claim names it in spec.volumeName), whether the volume
    // was found or provisioned for it.
    const bool claim_prebound = !volume.empty();
    if (volume.empty()) {
      // A matching Available volume, else dynamic provisioning.
      // (A claim restoring a snapshot gets a new volume with the snapshot's data.)
      if (!snapshots::SnapshotSourceName(claim)) volume = FindAvailableVolume(claim);
      if (volume.empty()) volume = Provision(claim);
      if (volume.empty()) return;
    }
    ObjectPtr pv = w_.store().Get("persistentvolumes", "", volume);
    if (pv == nullptr) {
      if (GetString(claim, {"status", "phase"}) == "Bound") {
        LogIfError("marking claim lost", w_.Update(*pvct, ns, name, [](json::value& o) {
          workloads::Child(o.as_object(), "status")["phase"] = "Lost";
          return true;
        }, "status"));
      }
      return;
    }
    std::string ref_ns = GetString(pv->object, {"spec", "claimRef", "namespace"});
    std::string ref_name = GetString(pv->object, {"spec", "claimRef", "name"});
    std::string ref_uid = GetString(pv->object, {"spec", "claimRef", "uid"});
    bool ref_empty = ref_name.empty();
    bool ref_ours = ref_ns == ns && ref_name == name && (ref_uid.empty() || ref_uid == uid);
    if (!ref_empty && !ref_ours) return;  // the volume belongs to someone else: stay Pending
    // Bind the volume to the claim.
    if (ref_empty || ref_uid.empty() || GetString(pv->object, {"status", "phase"}) != "Bound") {
      std::string claim_rv = std::to_string(pvc->rv);
      LogIfError("binding volume " + volume, w_.Update(*pvt, "", volume, [&](json::value& o) {
        json::object& spec = workloads::Child(o.as_object(), "spec");
        json::object ref{{"kind", "PersistentVolumeClaim"}, {"namespace", json::string(ns)},
                         {"name", json::string(name)},       {"uid", json::string(uid)},
                         {"apiVersion", "v1"},                {"resourceVersion", json::string(claim_rv)}};
        const json::value* old = spec.if_contains("claimRef");
        if (old != nullptr && old->is_object() && GetString(*old, {"uid"}) == uid) return false;
        spec["claimRef"] = std::move(ref);
        if (!HasFinalizer(o, kPvProtection)) {
          std::vector<std::string> f = Finalizers(o);
          f.emplace_back(kPvProtection);
          SetFinalizers(o, f);
        }
        json::object& ann = workloads::Child(Meta(o), "annotations");
        if (ref_empty) ann["pv.kubernetes.io/bound-by-controller"] = "yes";
        return true;
      }));
      LogIfError("volume status", w_.Update(*pvt, "", volume, [](json::value& o) {
        json::object& st = workloads::Child(o.as_object(), "status");
        if (GetString(o, {"status", "phase"}) == "Bound") return false;
        st["phase"] = "Bound";
        st.erase("message");
        st.erase("reason");
        return true;
      }, "status"));
    }
    pv = w_.store().Get("persistentvolumes", "", volume);
    if (pv == nullptr) return;
    json::value capacity = pv->object.is_object() && Find(pv->object, {"spec", "capacity"}) != nullptr
                               ? *Find(pv->object, {"spec", "capacity"})
                               : json::value(json::object());
    json::value modes = Find(pv->object, {"spec", "accessModes"}) != nullptr ? *Find(pv->object, {"spec", "accessModes"})
                                                                             : json::value(json::array());
    std::string provisioner = GetString(pv->object, {"metadata", "annotations", "pv.kubernetes.io/provisioned-by"});
    LogIfError("binding claim " + ns + "/" + name, w_.Update(*pvct, ns, name, [&](json::value& o) {
      bool changed = false;
      json::object& spec = workloads::Child(o.as_object(), "spec");
      if (GetString(o, {"spec", "volumeName"}) != volume) {
        spec["volumeName"] = json::string(volume);
        changed = true;
      }
      json::object& ann = workloads::Child(Meta(o), "annotations");
      auto set = [&](const char* k, const std::string& v) {
        if (v.empty()) return;
        auto it = ann.find(k);
        if (it != ann.end() && it->value().is_string() && it->value().get_string() == v) return;
        ann[k] = json::string(v);
        changed = true;
      };
      set("pv.kubernetes.io/bind-completed", "yes");
      if (!claim_prebound) set("pv.kubernetes.io/bound-by-controller", "yes");
      set("volume.beta.kubernetes.io/storage-provisioner", provisioner);
      set("volume.kubernetes.io/storage-provisioner", provisioner);
      return changed;
    }));
    LogIfError("claim status " + ns + "/" + name, w_.Update(*pvct, ns, name, [&](json::value& o) {
      if (GetString(o, {"status", "phase"}) == "Bound") return false;
      json::object& st = workloads::Child(o.as_object(), "status");
      st["phase"] = "Bound";
      st["accessModes"] = modes;
      st["capacity"] = capacity;
      return true;
    }, "status"));
  }

  std::string FindAvailableVolume(const json::value& claim) {
    std::string cls = GetString(claim, {"spec", "storageClassName"});
    double want = QuantityBytes(RequestedStorage(claim));
    std::string best;
    double best_size = 0;
    w_.store().List("persistentvolumes", "", true, "", 0, [&](const StoredObject& pv) {
      if (!MetaString(pv.object, "deletionTimestamp").empty()) return false;
      if (!GetString(pv.object, {"spec", "claimRef", "name"}).empty()) return false;
      if (GetString(pv.object, {"spec", "storageClassName"}) != cls) return false;
      double have = QuantityBytes(GetString(pv.object, {"spec", "capacity", "storage"}));
      if (have < want) return false;
      if (best.empty() || have < best_size) {
        best = pv.name;
        best_size = have;
      }
      return false;
    });
    return best;
  }

  // Dynamic provisioning by kubesim.io/hostpath or hostpath.csi.kubesim.io: a CSI volume backed
  // by <data>/volumes/<pv>. The CSI driver's volumes may start as a copy of a VolumeSnapshot
  // (spec.dataSourceRef / spec.dataSource); the claim waits until the snapshot is ready.
  std::string Provision(const json::value& claim) {
    std::string cls = GetString(claim, {"spec", "storageClassName"});
    if (cls.empty()) return "";
    ObjectPtr sc = w_.store().Get("storageclasses.storage.k8s.io", "", cls);
    if (sc == nullptr) return "";
    const std::string provisioner = GetString(sc->object, {"provisioner"});
    if (!IsKubesimProvisioner(provisioner)) return "";
    const std::string ns = MetaString(claim, "namespace");
    const std::string name = MetaString(claim, "name");
    if (GetString(sc->object, {"volumeBindingMode"}) == "WaitForFirstConsumer" && !ClaimInUse(ns, name)) return "";
    const ResourceType* pvt = w_.Type("", "persistentvolumes");
    if (pvt == nullptr) return "";
    const std::string uid = MetaString(claim, "uid");
    const std::string pv_name = "pvc-" + uid;
    if (w_.store().Get("persistentvolumes", "", pv_name) == nullptr) {
      std::error_code ec;
      const fs::path volume_dir = ctx_.data_dir / "volumes" / pv_name;
      std::optional<std::string> source = provisioner == kCsiDriver ? snapshots::SnapshotSourceName(claim) : std::nullopt;
      if (source && !fs::exists(volume_dir, ec)) {
        std::string why;
        std::optional<std::string> handle = snapshots::ReadySnapshotHandle(w_.store(), ns, *source, why);
        if (!handle) {
          LB_LOG_DEBUG("kubesim: claim {}/{} waits for its data source: {}", ns, name, why);
          return "";
        }
        Status restored = snapshots::RestoreSnapshot(snapshots::SnapshotDir(ctx_), *handle, volume_dir);
        if (!restored.ok()) {
          LB_LOG_WARN("kubesim: restoring snapshot {} into {}: {}", *handle, pv_name, restored.ToString());
          return "";
        }
      }
      fs::create_directories(volume_dir, ec);
      if (ec) {
        LB_LOG_WARN("kubesim: cannot create volume directory for {}: {}", pv_name, ec.message());
        return "";
      }
      std::string reclaim = GetString(sc->object, {"reclaimPolicy"}, "Delete");
      json::value modes = Find(claim, {"spec", "accessModes"}) != nullptr ? *Find(claim, {"spec", "accessModes"})
                                                                          : json::value(json::array{"ReadWriteOnce"});
      json::object spec{
          {"capacity", json::object{{"storage", json::string(RequestedStorage(claim))}}},
          {"accessModes", modes},
          {"persistentVolumeReclaimPolicy", json::string(reclaim)},
          {"storageClassName", json::string(cls)},
          {"volumeMode", json::string(GetString(claim, {"spec", "volumeMode"}, "Filesystem"))},
          {"claimRef", json::object{{"kind", "PersistentVolumeClaim"},
                                    {"namespace", json::string(ns)},
                                    {"name", json::string(name)},
                                    {"uid", json::string(uid)},
                                    {"apiVersion", "v1"}}},
          {"csi", json::object{{"driver", json::string(provisioner)},
                               {"volumeHandle", json::string(pv_name)},
                               {"fsType", "ext4"},
                               {"volumeAttributes",
                                json::object{{"storage.kubernetes.io/csiProvisionerIdentity", "kubesim-hostpath"}}}}}};
      json::value pv = json::object{
          {"apiVersion", "v1"},
          {"kind", "PersistentVolume"},
          {"metadata", json::object{{"name", json::string(pv_name)},
                                    {"annotations", json::object{{"pv.kubernetes.io/provisioned-by", json::string(provisioner)},
                                                                 {"volume.kubernetes.io/provisioner-deletion-secret-name", ""},
                                                                 {"volume.kubernetes.io/provisioner-deletion-secret-namespace", ""}}},
                                    {"finalizers", json::array{kPvProtection}}}},
          {"spec", std::move(spec)}};
      auto created = w_.Create(*pvt, "", std::move(pv));
      if (!created.ok() && created.status().code() != absl::StatusCode::kAlreadyExists) {
        LogIfError("provisioning " + pv_name, created.status());
        return "";
      }
    }
    return pv_name;
  }

  void ReleaseVolumesOf(const json::value& claim) {
    const std::string volume = GetString(claim, {"spec", "volumeName"});
    if (!volume.empty()) ReconcileVolume(volume);
  }

  // Phase, reclaim and protection of one volume.
  void ReconcileVolume(const std::string& name) {
    const ResourceType* pvt = w_.Type("", "persistentvolumes");
    if (pvt == nullptr) return;
    ObjectPtr pv = w_.store().Get("persistentvolumes", "", name);
    if (pv == nullptr) return;
    const json::value& v = pv->object;
    std::string ref_ns = GetString(v, {"spec", "claimRef", "namespace"});
    std::string ref_name = GetString(v, {"spec", "claimRef", "name"});
    std::string ref_uid = GetString(v, {"spec", "claimRef", "uid"});
    bool claim_exists = false;
    if (!ref_name.empty()) {
      ObjectPtr c = w_.store().Get("persistentvolumeclaims", ref_ns, ref_name);
      claim_exists = c != nullptr && (ref_uid.empty() || MetaString(c->object, "uid") == ref_uid);
    }
    if (!MetaString(v, "deletionTimestamp").empty()) {
      if (HasFinalizer(v, kPvProtection) && !claim_exists) {
        LogIfError("removing pv-protection of " + name,
                   w_.Update(*pvt, "", name, [](json::value& o) { return RemoveFinalizer(o, kPvProtection); }));
        RemoveVolumeData(name, v);
      }
      return;
    }
    // The pv-protection controller puts its finalizer on every volume not being deleted.
    if (!HasFinalizer(v, kPvProtection)) {
      LogIfError("adding pv-protection to " + name, w_.Update(*pvt, "", name, [](json::value& o) {
        if (!MetaString(o, "deletionTimestamp").empty() || HasFinalizer(o, kPvProtection)) return false;
        std::vector<std::string> f = Finalizers(o);
        f.emplace_back(kPvProtection);
        SetFinalizers(o, f);
        return true;
      }));
    }
    std::string phase = GetString(v, {"status", "phase"});
    std::string want = phase;
    if (ref_name.empty()) {
      want = "Available";
    } else if (!claim_exists && !ref_uid.empty()) {
      want = "Released";
    } else if (!claim_exists) {
      want = "Available";  // pre-bound to a claim that does not exist yet
    }
    if (want == "Released" && GetString(v, {"spec", "persistentVolumeReclaimPolicy"}) == "Delete") {
      LogIfError("reclaiming " + name, w_.Delete(*pvt, "", name, MetaString(v, "uid")));
      return;
    }
    if (want != phase && !(want == "Available" && phase == "Bound" && claim_exists)) {
      LogIfError("volume phase " + name, w_.Update(*pvt, "", name, [&](json::value& o) {
        workloads::Child(o.as_object(), "status")["phase"] = json::string(want);
        return true;
      }, "status"));
    }
  }

  void RemoveVolumeData(const std::string& name, const json::value& pv) {
    if (!IsKubesimProvisioner(GetString(pv, {"spec", "csi", "driver"}))) return;
    if (!workloads::IsSafePathComponent(name)) return;
    std::error_code ec;
    fs::remove_all(ctx_.data_dir / "volumes" / name, ec);
  }

  ControllerContext ctx_;
  Writer w_;
  bool default_class_checked_ = false;
};

// ---------------------------------------------------------------------------------------------
// Endpoints and EndpointSlices.

class EndpointsController : public KeyedController {
 public:
  explicit EndpointsController(const ControllerContext& ctx) : w_(ctx.cluster, "kube-controller-manager") {}
  std::string name() const override { return "endpoints"; }
  std::vector<std::string> Watches() const override { return {"services", "pods"}; }

 protected:
  void KeysFor(const StoreEvent& ev, std::set<Key>& keys) override {
    const StoredObject& o = *ev.object;
    if (o.gr == "services") {
      keys.insert({o.ns, o.name});
      return;
    }
    // A pod: the services in its namespace selecting it, before or after.
    std::vector<workloads::StringMap> label_sets{LabelsOf(o.object)};
    if (ev.prev != nullptr) label_sets.push_back(LabelsOf(ev.prev->object));
    w_.store().List("services", o.ns, false, "", 0, [&](const StoredObject& svc) {
      const json::value* sel = Find(svc.object, {"spec", "selector"});
      if (sel == nullptr || !sel->is_object() || sel->get_object().empty()) return false;
      Selector s = Selector::FromMap(workloads::ToStringMap(sel));
      for (const auto& l : label_sets) {
        if (s.Matches(l)) keys.insert({svc.ns, svc.name});
      }
      return false;
    });
  }
  std::vector<Key> AllKeys() override { return AllKeysOf(w_.store(), "services"); }

  void Reconcile(const Key& key) override {
    const ResourceType* ept = w_.Type("", "endpoints");
    const ResourceType* slt = w_.Type("discovery.k8s.io", "endpointslices");
    if (ept == nullptr || slt == nullptr) return;
    ObjectPtr svc = w_.store().Get("services", key.ns, key.name);
    const json::value* sel = svc ? Find(svc->object, {"spec", "selector"}) : nullptr;
    if (svc == nullptr || sel == nullptr || !sel->is_object() || sel->get_object().empty()) {
      // Endpoints of a service that is gone (or has no selector, so someone else manages them).
      if (svc == nullptr) {
        ObjectPtr ep = w_.store().Get("endpoints", key.ns, key.name);
        if (ep != nullptr) LogIfError("deleting endpoints", w_.Delete(*ept, key.ns, key.name, MetaString(ep->object, "uid")));
      }
      return;
    }
    Selector s = Selector::FromMap(workloads::ToStringMap(sel));
    std::vector<ObjectPtr> pods = ListObjects(w_.store(), "pods", key.ns, [&](const StoredObject& p) {
      return s.Matches(LabelsOf(p.object)) && !GetString(p.object, {"status", "podIP"}).empty() &&
             MetaString(p.object, "deletionTimestamp").empty() && workloads::IsPodActive(p.object);
    });
    json::array ready, not_ready, slice_endpoints;
    for (const ObjectPtr& p : pods) {
      const json::value& pod = p->object;
      json::object target{{"kind", "Pod"},
                          {"namespace", json::string(key.ns)},
                          {"name", json::string(p->name)},
                          {"uid", json::string(MetaString(pod, "uid"))}};
      json::object addr{{"ip", json::string(GetString(pod, {"status", "podIP"}))},
                        {"nodeName", json::string(GetString(pod, {"spec", "nodeName"}))},
                        {"targetRef", target}};
      bool is_ready = workloads::IsPodReady(pod);
      (is_ready ? ready : not_ready).push_back(addr);
      slice_endpoints.push_back(json::object{
          {"addresses", json::array{json::string(GetString(pod, {"status", "podIP"}))}},
          {"conditions", json::object{{"ready", is_ready}, {"serving", is_ready}, {"terminating", false}}},
          {"nodeName", json::string(GetString(pod, {"spec", "nodeName"}))},
          {"targetRef", target}});
    }
    json::array ports, slice_ports;
    for (const auto& sp : GetArray(svc->object, {"spec", "ports"})) {
      int64_t port = workloads::GetInt(sp, {"port"}, 0);
      const json::value* tp = Find(sp, {"targetPort"});
      int64_t target_port = port;
      if (tp != nullptr && tp->is_int64()) target_port = tp->get_int64();
      if (tp != nullptr && tp->is_string() && !pods.empty()) {
        std::string pname(tp->get_string());
        for (const auto& c : GetArray(pods.front()->object, {"spec", "containers"})) {
          for (const auto& cp : GetArray(c, {"ports"})) {
            if (GetString(cp, {"name"}) == pname) target_port = workloads::GetInt(cp, {"containerPort"}, port);
          }
        }
      }
      json::object p{{"port", target_port}, {"protocol", json::string(GetString(sp, {"protocol"}, "TCP"))}};
      std::string pname = GetString(sp, {"name"});
      if (!pname.empty()) p["name"] = json::string(pname);
      ports.push_back(p);
      json::object slp = p;
      if (!slp.contains("name")) slp["name"] = "";
      slice_ports.push_back(std::move(slp));
    }
    json::array subsets;
    if (!ready.empty() || !not_ready.empty()) {
      json::object subset;
      if (!ready.empty()) subset["addresses"] = ready;
      if (!not_ready.empty()) subset["notReadyAddresses"] = not_ready;
      subset["ports"] = ports;
      subsets.push_back(std::move(subset));
    }
    // Endpoints.
    ObjectPtr ep = w_.store().Get("endpoints", key.ns, key.name);
    json::object labels;
    for (const auto& [k, v] : LabelsOf(svc->object)) labels[k] = json::string(v);
    if (ep == nullptr) {
      json::value obj = json::object{
          {"apiVersion", "v1"},
          {"kind", "Endpoints"},
          {"metadata", json::object{{"name", json::string(key.name)}, {"namespace", json::string(key.ns)},
                                    {"labels", labels}}}};
      if (!subsets.empty()) obj.as_object()["subsets"] = subsets;
      LogIfError("creating endpoints " + key.name, w_.Create(*ept, key.ns, std::move(obj)).status());
    } else {
      const json::value* have = Find(ep->object, {"subsets"});
      json::value want = subsets.empty() ? json::value() : json::value(subsets);
      bool same = (have == nullptr && subsets.empty()) || (have != nullptr && *have == want);
      if (!same) {
        LogIfError("updating endpoints " + key.name, w_.Update(*ept, key.ns, key.name, [&](json::value& o) {
          if (subsets.empty()) {
            o.as_object().erase("subsets");
          } else {
            o.as_object()["subsets"] = subsets;
          }
          return true;
        }));
      }
    }
    // One EndpointSlice per service, owned by it.
    const std::string slice_name = key.name.size() > 50 ? key.name.substr(0, 50) + "-slice" : key.name + "-slice";
    ObjectPtr slice = w_.store().Get("endpointslices.discovery.k8s.io", key.ns, slice_name);
    json::value endpoints_value = slice_endpoints;
    json::value ports_value = slice_ports;
    if (slice == nullptr) {
      json::object owner{{"apiVersion", "v1"},         {"kind", "Service"},
                         {"name", json::string(key.name)}, {"uid", json::string(MetaString(svc->object, "uid"))},
                         {"controller", true},          {"blockOwnerDeletion", true}};
      json::value obj = json::object{
          {"apiVersion", "discovery.k8s.io/v1"},
          {"kind", "EndpointSlice"},
          {"metadata", json::object{{"name", json::string(slice_name)},
                                    {"namespace", json::string(key.ns)},
                                    {"labels", json::object{{"kubernetes.io/service-name", json::string(key.name)},
                                                            {"endpointslice.kubernetes.io/managed-by",
                                                             "endpointslice-controller.k8s.io"}}},
                                    {"ownerReferences", json::array{owner}}}},
          {"addressType", "IPv4"},
          {"endpoints", endpoints_value},
          {"ports", ports_value}};
      LogIfError("creating endpointslice " + slice_name, w_.Create(*slt, key.ns, std::move(obj)).status());
    } else {
      const json::value* he = Find(slice->object, {"endpoints"});
      const json::value* hp = Find(slice->object, {"ports"});
      bool same = he != nullptr && hp != nullptr && *he == endpoints_value && *hp == ports_value;
      if (!same) {
        LogIfError("updating endpointslice " + slice_name, w_.Update(*slt, key.ns, slice_name, [&](json::value& o) {
          o.as_object()["endpoints"] = endpoints_value;
          o.as_object()["ports"] = ports_value;
          return true;
        }));
      }
    }
  }

 private:
  Writer w_;
};

}  // namespace

void AddLifecycleControllers(ControllerRunner& runner, const ControllerContext& ctx) {
  runner.Add(std::make_unique<NamespaceController>(ctx));
  runner.Add(std::make_unique<GarbageCollector>(ctx));
  runner.Add(std::make_unique<VolumeController>(ctx));
  runner.Add(std::make_unique<EndpointsController>(ctx));
}

}  // namespace kubesim
