// End-to-end tests of the lifecycle controllers (namespaces, garbage collector, volumes,
// endpoints): a Cluster in memory, the lifecycle and workload controllers running on their own
// threads, and polling (with a generous deadline) until the cluster reaches the state the
// controllers should bring it to. Nothing asserts on timing: where a test checks that something
// does NOT happen, it first waits for a marker that proves the controllers have had their chance.

#include "kubesim/src/controllers/lifecycle/lifecycle.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <functional>
#include <set>
#include <thread>

#include "gtest/gtest.h"
#include "kubesim/src/api/cluster.h"
#include "kubesim/src/api/object_util.h"
#include "kubesim/src/controllers/controller.h"
#include "kubesim/src/controllers/workloads/util.h"
#include "kubesim/src/controllers/workloads/workloads.h"

namespace kubesim {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using workloads::Find;
using workloads::GetArray;
using workloads::GetBool;
using workloads::GetInt;
using workloads::GetString;
using workloads::IsPodReady;
using workloads::ListObjects;
using workloads::PodPhase;

constexpr char kCaPem[] = "-----BEGIN CERTIFICATE-----\nMIIBkubesimtestca\n-----END CERTIFICATE-----\n";

class LifecycleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = *Store::Open({});
    cluster_ = std::make_unique<Cluster>(store_.get(), &registry_, Cluster::Options{});
    ASSERT_TRUE(cluster_->Bootstrap().ok());
    dir_ = fs::temp_directory_path() / ("kubesim-lifecycle-test-" + RandomSuffix(10));
    fs::create_directories(dir_);
    ControllerContext ctx;
    ctx.cluster = cluster_.get();
    ctx.data_dir = dir_;
    ctx.ca_pem = kCaPem;
    ctx.nodes = 3;
    runner_ = std::make_unique<ControllerRunner>(store_.get(), std::chrono::milliseconds(500));
    AddLifecycleControllers(*runner_, ctx);
    AddWorkloadControllers(*runner_, ctx);
    runner_->Start();
    ASSERT_TRUE(WaitFor([&] { return store_->Count("nodes") == 3; }));
    ASSERT_TRUE(WaitFor([&] { return Get("storageclasses.storage.k8s.io", "", "standard") != nullptr; }));
  }

  void TearDown() override {
    if (runner_ != nullptr) runner_->Stop();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  ResourceType Type(const std::string& group, const std::string& resource) {
    return registry_.StorageType(group, resource)->type;
  }

  ObjectPtr Get(const std::string& gr, const std::string& ns, const std::string& name) {
    return store_->Get(gr, ns, name);
  }

  // Polls `done` until it holds or a generous deadline passes.
  bool WaitFor(const std::function<bool()>& done) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (std::chrono::steady_clock::now() < deadline) {
      if (done()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return done();
  }

  // Lets the controllers run a few resync rounds (used only before asserting that something
  // did NOT happen, after a positive marker has already been observed).
  void Settle() { std::this_thread::sleep_for(std::chrono::milliseconds(1500)); }

  json::value Create(const std::string& group, const std::string& resource, const std::string& ns,
                     json::value obj) {
    auto created = cluster_->Create(Type(group, resource), ns, std::move(obj), {});
    EXPECT_TRUE(created.ok()) << created.status();
    return created.ok() ? *created : json::value();
  }

  // Read-modify-write with retries (the controllers may write the same object concurrently).
  bool Modify(const std::string& group, const std::string& resource, const std::string& ns,
              const std::string& name, const std::function<void(json::value&)>& mutate,
              const std::string& subresource = "") {
    const ResourceType t = Type(group, resource);
    return WaitFor([&] {
      ObjectPtr cur = store_->Get(t.GroupResource(), t.namespaced ? ns : "", name);
      if (cur == nullptr) return false;
      json::value obj = cur->object;
      mutate(obj);
      return cluster_->Update(t, ns, name, obj, {}, subresource).ok();
    });
  }

  Status Delete(const std::string& group, const std::string& resource, const std::string& ns,
                const std::string& name, const std::string& propagation = "") {
    DeleteOptions opts;
    opts.propagation_policy = propagation;
    return cluster_->Delete(Type(group, resource), ns, name, opts).status();
  }

  std::unique_ptr<Store> store_;
  Registry registry_;
  std::unique_ptr<Cluster> cluster_;
  std::unique_ptr<ControllerRunner> runner_;
  fs::path dir_;
};

json::value ConfigMap(const std::string& name, json::array owners = {}, json::array finalizers = {}) {
  json::object meta{{"name", json::string(name)}};
  if (!owners.empty()) meta["ownerReferences"] = std::move(owners);
  if (!finalizers.empty()) meta["finalizers"] = std::move(finalizers);
  return json::object{{"apiVersion", "v1"}, {"kind", "ConfigMap"}, {"metadata", std::move(meta)},
                      {"data", json::object{{"k", "v"}}}};
}

json::object OwnerRef(const json::value& owner, bool block = false) {
  json::object ref{{"apiVersion", "v1"},
                   {"kind", json::string(GetString(owner, {"kind"}))},
                   {"name", json::string(MetaString(owner, "name"))},
                   {"uid", json::string(MetaString(owner, "uid"))}};
  if (block) ref["blockOwnerDeletion"] = true;
  return ref;
}

std::vector<std::string> OwnerUids(const json::value& obj) {
  std::vector<std::string> out;
  const json::value* refs = Find(obj, {"metadata", "ownerReferences"});
  if (refs == nullptr || !refs->is_array()) return out;
  for (const auto& r : refs->as_array()) out.push_back(GetString(r, {"uid"}));
  return out;
}

std::string Annotation(const json::value& obj, const std::string& key) {
  return GetString(obj, {"metadata", "annotations", key});
}

json::value Pvc(const std::string& name, const std::string& size, const std::string& cls = "",
                const std::string& volume = "") {
  json::object spec{{"accessModes", json::array{"ReadWriteOnce"}},
                    {"resources", json::object{{"requests", json::object{{"storage", json::string(size)}}}}}};
  if (!cls.empty()) spec["storageClassName"] = json::string(cls);
  if (!volume.empty()) spec["volumeName"] = json::string(volume);
  return json::object{{"apiVersion", "v1"}, {"kind", "PersistentVolumeClaim"},
                      {"metadata", json::object{{"name", json::string(name)}}}, {"spec", std::move(spec)}};
}

json::value StaticPv(const std::string& name, const std::string& size, const std::string& cls,
                     const std::string& reclaim, json::value claim_ref = nullptr) {
  json::object spec{{"capacity", json::object{{"storage", json::string(size)}}},
                    {"accessModes", json::array{"ReadWriteOnce"}},
                    {"persistentVolumeReclaimPolicy", json::string(reclaim)},
                    {"storageClassName", json::string(cls)},
                    {"hostPath", json::object{{"path", json::string("/tmp/" + name)}}}};
  if (!claim_ref.is_null()) spec["claimRef"] = std::move(claim_ref);
  return json::object{{"apiVersion", "v1"}, {"kind", "PersistentVolume"},
                      {"metadata", json::object{{"name", json::string(name)}}}, {"spec", std::move(spec)}};
}

std::set<std::string> EndpointIps(const json::value& ep, const char* field = "addresses") {
  std::set<std::string> out;
  for (const auto& s : GetArray(ep, {"subsets"})) {
    for (const auto& a : GetArray(s, {field})) out.insert(GetString(a, {"ip"}));
  }
  return out;
}

std::string Phase(const ObjectPtr& o) { return o == nullptr ? "" : GetString(o->object, {"status", "phase"}); }

// ---------------------------------------------------------------------------------------------
// Namespaces.

TEST_F(LifecycleTest, NamespaceGetsDefaultsAndTheyAreRecreated) {
  Create("", "namespaces", "", json::object{{"apiVersion", "v1"}, {"kind", "Namespace"},
                                            {"metadata", json::object{{"name", "team-a"}}}});
  ASSERT_TRUE(WaitFor([&] {
    return Get("serviceaccounts", "team-a", "default") != nullptr &&
           Get("configmaps", "team-a", "kube-root-ca.crt") != nullptr;
  }));
  ObjectPtr cm = Get("configmaps", "team-a", "kube-root-ca.crt");
  EXPECT_EQ(GetString(cm->object, {"data", "ca.crt"}), kCaPem);
  // The bootstrap namespaces get them too.
  EXPECT_TRUE(WaitFor([&] {
    return Get("serviceaccounts", "default", "default") != nullptr &&
           Get("configmaps", "kube-system", "kube-root-ca.crt") != nullptr;
  }));

  const std::string sa_uid = MetaString(Get("serviceaccounts", "team-a", "default")->object, "uid");
  const std::string cm_uid = MetaString(cm->object, "uid");
  ASSERT_TRUE(Delete("", "serviceaccounts", "team-a", "default").ok());
  ASSERT_TRUE(Delete("", "configmaps", "team-a", "kube-root-ca.crt").ok());
  EXPECT_TRUE(WaitFor([&] {
    ObjectPtr sa = Get("serviceaccounts", "team-a", "default");
    ObjectPtr c = Get("configmaps", "team-a", "kube-root-ca.crt");
    return sa != nullptr && MetaString(sa->object, "uid") != sa_uid && c != nullptr &&
           MetaString(c->object, "uid") != cm_uid && GetString(c->object, {"data", "ca.crt"}) == kCaPem;
  }));
}

TEST_F(LifecycleTest, NamespaceDeletionWaitsForFinalizedContents) {
  Create("", "namespaces", "", json::object{{"apiVersion", "v1"}, {"kind", "Namespace"},
                                            {"metadata", json::object{{"name", "doomed"}}}});
  Create("", "configmaps", "doomed", ConfigMap("plain"));
  Create("", "configmaps", "doomed", ConfigMap("held", {}, json::array{"example.com/hold"}));
  Create("", "secrets", "doomed",
         json::object{{"apiVersion", "v1"}, {"kind", "Secret"}, {"metadata", json::object{{"name", "s"}}},
                      {"stringData", json::object{{"a", "b"}}}});
  ASSERT_TRUE(WaitFor([&] { return Get("serviceaccounts", "doomed", "default") != nullptr; }));

  ASSERT_TRUE(Delete("", "namespaces", "", "doomed").ok());
  ObjectPtr ns = Get("namespaces", "", "doomed");
  ASSERT_NE(ns, nullptr);
  EXPECT_EQ(Phase(ns), "Terminating");
  EXPECT_FALSE(MetaString(ns->object, "deletionTimestamp").empty());

  // Contents go, except the object held by its finalizer, which holds the namespace.
  ASSERT_TRUE(WaitFor([&] {
    ObjectPtr held = Get("configmaps", "doomed", "held");
    return Get("configmaps", "doomed", "plain") == nullptr && Get("secrets", "doomed", "s") == nullptr &&
           Get("serviceaccounts", "doomed", "default") == nullptr && held != nullptr &&
           !MetaString(held->object, "deletionTimestamp").empty();
  }));
  Settle();
  ns = Get("namespaces", "", "doomed");
  ASSERT_NE(ns, nullptr);
  EXPECT_EQ(Phase(ns), "Terminating");
  EXPECT_NE(Get("configmaps", "doomed", "held"), nullptr);
  // Defaults are not recreated in a terminating namespace.
  EXPECT_EQ(Get("serviceaccounts", "doomed", "default"), nullptr);

  ASSERT_TRUE(Modify("", "configmaps", "doomed", "held", [](json::value& o) { SetFinalizers(o, {}); }));
  EXPECT_TRUE(WaitFor([&] {
    return Get("configmaps", "doomed", "held") == nullptr && Get("namespaces", "", "doomed") == nullptr;
  }));
}

// ---------------------------------------------------------------------------------------------
// Garbage collector.

TEST_F(LifecycleTest, GcBackgroundDeletesDependents) {
  json::value owner = Create("", "configmaps", "default", ConfigMap("owner"));
  Create("", "configmaps", "default", ConfigMap("dep-1", json::array{OwnerRef(owner)}));
  Create("", "configmaps", "default", ConfigMap("dep-2", json::array{OwnerRef(owner)}));
  // A chain: a dependent of a dependent goes too.
  json::value d2 = store_->Get("configmaps", "default", "dep-2")->object;
  Create("", "configmaps", "default", ConfigMap("dep-2-child", json::array{OwnerRef(d2)}));
  Settle();
  ASSERT_NE(Get("configmaps", "default", "dep-1"), nullptr);

  ASSERT_TRUE(Delete("", "configmaps", "default", "owner", "Background").ok());
  EXPECT_TRUE(WaitFor([&] {
    return Get("configmaps", "default", "owner") == nullptr && Get("configmaps", "default", "dep-1") == nullptr &&
           Get("configmaps", "default", "dep-2") == nullptr &&
           Get("configmaps", "default", "dep-2-child") == nullptr;
  }));
}

TEST_F(LifecycleTest, GcDeletesDependentsOfAnOwnerThatNeverExisted) {
  json::object ghost{{"apiVersion", "v1"}, {"kind", "ConfigMap"}, {"name", "ghost"}, {"uid", json::string(NewUid())}};
  Create("", "configmaps", "default", ConfigMap("orphaned", json::array{ghost}));
  EXPECT_TRUE(WaitFor([&] { return Get("configmaps", "default", "orphaned") == nullptr; }));
}

TEST_F(LifecycleTest, GcOrphanKeepsDependents) {
  json::value owner = Create("", "configmaps", "default", ConfigMap("owner"));
  json::value other = Create("", "configmaps", "default", ConfigMap("other"));
  Create("", "configmaps", "default", ConfigMap("dep", json::array{OwnerRef(owner)}));
  Create("", "configmaps", "default", ConfigMap("dep-two-owners", json::array{OwnerRef(owner), OwnerRef(other)}));

  ASSERT_TRUE(Delete("", "configmaps", "default", "owner", "Orphan").ok());
  ASSERT_TRUE(WaitFor([&] { return Get("configmaps", "default", "owner") == nullptr; }));
  ObjectPtr dep = Get("configmaps", "default", "dep");
  ASSERT_NE(dep, nullptr);
  EXPECT_TRUE(OwnerUids(dep->object).empty());
  EXPECT_EQ(Find(dep->object, {"metadata", "ownerReferences"}), nullptr);
  ObjectPtr two = Get("configmaps", "default", "dep-two-owners");
  ASSERT_NE(two, nullptr);
  EXPECT_EQ(OwnerUids(two->object), std::vector<std::string>{MetaString(other, "uid")});

  // Orphans stay orphans.
  Settle();
  EXPECT_NE(Get("configmaps", "default", "dep"), nullptr);
  EXPECT_NE(Get("configmaps", "default", "dep-two-owners"), nullptr);
}

TEST_F(LifecycleTest, GcForegroundWaitsForBlockingDependents) {
  json::value owner = Create("", "configmaps", "default", ConfigMap("owner"));
  // A blocking dependent held by its own finalizer, and a non-blocking one.
  Create("", "configmaps", "default",
         ConfigMap("blocker", json::array{OwnerRef(owner, true)}, json::array{"example.com/hold"}));
  Create("", "configmaps", "default", ConfigMap("plain", json::array{OwnerRef(owner)}));

  ASSERT_TRUE(Delete("", "configmaps", "default", "owner", "Foreground").ok());
  ASSERT_TRUE(WaitFor([&] {
    ObjectPtr b = Get("configmaps", "default", "blocker");
    return b != nullptr && !MetaString(b->object, "deletionTimestamp").empty() &&
           Get("configmaps", "default", "plain") == nullptr;
  }));
  Settle();
  ObjectPtr o = Get("configmaps", "default", "owner");
  ASSERT_NE(o, nullptr);
  EXPECT_FALSE(MetaString(o->object, "deletionTimestamp").empty());
  EXPECT_TRUE(HasFinalizer(o->object, "foregroundDeletion"));

  ASSERT_TRUE(Modify("", "configmaps", "default", "blocker", [](json::value& b) {
    std::vector<std::string> f = Finalizers(b);
    f.erase(std::remove(f.begin(), f.end(), "example.com/hold"), f.end());
    SetFinalizers(b, f);
  }));
  EXPECT_TRUE(WaitFor([&] {
    return Get("configmaps", "default", "blocker") == nullptr && Get("configmaps", "default", "owner") == nullptr;
  }));
}

TEST_F(LifecycleTest, GcForegroundWithoutDependentsDeletesOwner) {
  Create("", "configmaps", "default", ConfigMap("lonely"));
  ASSERT_TRUE(Delete("", "configmaps", "default", "lonely", "Foreground").ok());
  EXPECT_TRUE(WaitFor([&] { return Get("configmaps", "default", "lonely") == nullptr; }));
}

TEST_F(LifecycleTest, GcRemovesDanglingReferenceWhenAnotherOwnerRemains) {
  json::value a = Create("", "configmaps", "default", ConfigMap("owner-a"));
  json::value b = Create("", "configmaps", "default", ConfigMap("owner-b"));
  Create("", "configmaps", "default", ConfigMap("shared", json::array{OwnerRef(a), OwnerRef(b)}));
  ASSERT_TRUE(Delete("", "configmaps", "default", "owner-a").ok());
  ASSERT_TRUE(WaitFor([&] {
    ObjectPtr s = Get("configmaps", "default", "shared");
    return s != nullptr && OwnerUids(s->object) == std::vector<std::string>{MetaString(b, "uid")};
  }));
  Settle();
  EXPECT_NE(Get("configmaps", "default", "shared"), nullptr);

  // When the last owner goes, so does the dependent.
  ASSERT_TRUE(Delete("", "configmaps", "default", "owner-b").ok());
  EXPECT_TRUE(WaitFor([&] { return Get("configmaps", "default", "shared") == nullptr; }));
}

TEST_F(LifecycleTest, GcKeepsDependentOfUnknownKind) {
  json::object unknown{{"apiVersion", "example.com/v1"}, {"kind", "Widget"}, {"name", "w"},
                       {"uid", json::string(NewUid())}};
  Create("", "configmaps", "default", ConfigMap("widget-child", json::array{unknown}));
  // Marker: a dependent of a deleted owner, created after it, is collected...
  json::value owner = Create("", "configmaps", "default", ConfigMap("marker-owner"));
  Create("", "configmaps", "default", ConfigMap("marker", json::array{OwnerRef(owner)}));
  ASSERT_TRUE(Delete("", "configmaps", "default", "marker-owner").ok());
  ASSERT_TRUE(WaitFor([&] { return Get("configmaps", "default", "marker") == nullptr; }));
  Settle();
  // ...while the one whose owner's kind is unknown survives with its reference.
  ObjectPtr child = Get("configmaps", "default", "widget-child");
  ASSERT_NE(child, nullptr);
  EXPECT_EQ(OwnerUids(child->object).size(), 1u);
}

// ---------------------------------------------------------------------------------------------
// Volumes.

TEST_F(LifecycleTest, DefaultStorageClass) {
  ObjectPtr sc = Get("storageclasses.storage.k8s.io", "", "standard");
  ASSERT_NE(sc, nullptr);
  EXPECT_EQ(Annotation(sc->object, "storageclass.kubernetes.io/is-default-class"), "true");
  EXPECT_EQ(GetString(sc->object, {"provisioner"}), "kubesim.io/hostpath");
  EXPECT_EQ(GetString(sc->object, {"reclaimPolicy"}), "Delete");
  EXPECT_EQ(GetString(sc->object, {"volumeBindingMode"}), "Immediate");
}

TEST_F(LifecycleTest, DynamicProvisioningBindsClaim) {
  json::value created = Create("", "persistentvolumeclaims", "default", Pvc("data", "2Gi"));
  EXPECT_EQ(GetString(created, {"spec", "storageClassName"}), "standard");
  const std::string uid = MetaString(created, "uid");
  const std::string pv_name = "pvc-" + uid;
  ASSERT_TRUE(WaitFor([&] {
    ObjectPtr c = Get("persistentvolumeclaims", "default", "data");
    ObjectPtr v = Get("persistentvolumes", "", pv_name);
    return Phase(c) == "Bound" && Phase(v) == "Bound" &&
           GetString(c->object, {"spec", "volumeName"}) == pv_name &&
           Annotation(c->object, "pv.kubernetes.io/bind-completed") == "yes";
  }));
  ObjectPtr pvc = Get("persistentvolumeclaims", "default", "data");
  ObjectPtr pv = Get("persistentvolumes", "", pv_name);
  EXPECT_EQ(Annotation(pvc->object, "pv.kubernetes.io/bound-by-controller"), "yes");
  EXPECT_EQ(Annotation(pvc->object, "volume.kubernetes.io/storage-provisioner"), "kubesim.io/hostpath");
  EXPECT_TRUE(HasFinalizer(pvc->object, "kubernetes.io/pvc-protection"));
  EXPECT_EQ(GetString(pvc->object, {"status", "capacity", "storage"}), "2Gi");
  ASSERT_EQ(GetArray(pvc->object, {"status", "accessModes"}).size(), 1u);

  EXPECT_EQ(GetString(pv->object, {"spec", "csi", "driver"}), "kubesim.io/hostpath");
  EXPECT_EQ(GetString(pv->object, {"spec", "csi", "volumeHandle"}), pv_name);
  EXPECT_EQ(GetString(pv->object, {"spec", "claimRef", "uid"}), uid);
  EXPECT_EQ(GetString(pv->object, {"spec", "claimRef", "name"}), "data");
  EXPECT_EQ(GetString(pv->object, {"spec", "claimRef", "namespace"}), "default");
  EXPECT_EQ(GetString(pv->object, {"spec", "persistentVolumeReclaimPolicy"}), "Delete");
  EXPECT_EQ(GetString(pv->object, {"spec", "storageClassName"}), "standard");
  EXPECT_EQ(GetString(pv->object, {"spec", "capacity", "storage"}), "2Gi");
  EXPECT_EQ(Annotation(pv->object, "pv.kubernetes.io/provisioned-by"), "kubesim.io/hostpath");
  EXPECT_TRUE(HasFinalizer(pv->object, "kubernetes.io/pv-protection"));
  EXPECT_TRUE(fs::is_directory(dir_ / "volumes" / pv_name));
}

TEST_F(LifecycleTest, StaticVolumeBindsMatchingClaimAndIsReleased) {
  Create("", "persistentvolumes", "", StaticPv("static-pv", "5Gi", "manual", "Retain"));
  ASSERT_TRUE(WaitFor([&] {
    ObjectPtr v = Get("persistentvolumes", "", "static-pv");
    return Phase(v) == "Available" && HasFinalizer(v->object, "kubernetes.io/pv-protection");
  }));
  // Too big for it: stays Pending (the "manual" class has no provisioner).
  Create("", "persistentvolumeclaims", "default", Pvc("too-big", "10Gi", "manual"));
  json::value created = Create("", "persistentvolumeclaims", "default", Pvc("small", "1Gi", "manual"));
  const std::string uid = MetaString(created, "uid");
  ASSERT_TRUE(WaitFor([&] {
    ObjectPtr c = Get("persistentvolumeclaims", "default", "small");
    ObjectPtr v = Get("persistentvolumes", "", "static-pv");
    return Phase(c) == "Bound" && Phase(v) == "Bound" &&
           GetString(c->object, {"spec", "volumeName"}) == "static-pv" &&
           GetString(v->object, {"spec", "claimRef", "uid"}) == uid;
  }));
  ObjectPtr pv = Get("persistentvolumes", "", "static-pv");
  EXPECT_EQ(Annotation(pv->object, "pv.kubernetes.io/bound-by-controller"), "yes");
  EXPECT_TRUE(HasFinalizer(pv->object, "kubernetes.io/pv-protection"));
  ObjectPtr pvc = Get("persistentvolumeclaims", "default", "small");
  EXPECT_EQ(Annotation(pvc->object, "pv.kubernetes.io/bind-completed"), "yes");
  EXPECT_EQ(Annotation(pvc->object, "pv.kubernetes.io/bound-by-controller"), "yes");
  EXPECT_EQ(GetString(pvc->object, {"status", "capacity", "storage"}), "5Gi");
  Settle();
  ObjectPtr big = Get("persistentvolumeclaims", "default", "too-big");
  EXPECT_EQ(Phase(big), "Pending");
  EXPECT_EQ(GetString(big->object, {"spec", "volumeName"}), "");

  // Without users the claim goes at once; a Retain volume is Released and kept.
  ASSERT_TRUE(Delete("", "persistentvolumeclaims", "default", "small").ok());
  EXPECT_TRUE(WaitFor([&] {
    return Get("persistentvolumeclaims", "default", "small") == nullptr &&
           Phase(Get("persistentvolumes", "", "static-pv")) == "Released";
  }));
  Settle();
  pv = Get("persistentvolumes", "", "static-pv");
  ASSERT_NE(pv, nullptr);
  EXPECT_EQ(Phase(pv), "Released");
  EXPECT_TRUE(MetaString(pv->object, "deletionTimestamp").empty());
  EXPECT_EQ(GetString(pv->object, {"spec", "claimRef", "uid"}), uid);
  // A released volume is not handed to another claim.
  EXPECT_EQ(Phase(Get("persistentvolumeclaims", "default", "too-big")), "Pending");
}

TEST_F(LifecycleTest, PreBoundPairBinds) {
  // What a restore creates: the PV first, pre-bound to a claim by name (no uid), then the claim
  // naming its volume.
  json::value ref = json::object{{"kind", "PersistentVolumeClaim"}, {"apiVersion", "v1"},
                                 {"namespace", "default"}, {"name", "restored"}};
  Create("", "persistentvolumes", "", StaticPv("restored-pv", "3Gi", "manual", "Retain", ref));
  // A claim that does not name it cannot take it.
  Create("", "persistentvolumeclaims", "default", Pvc("intruder", "1Gi", "manual"));
  Settle();
  json::value created =
      Create("", "persistentvolumeclaims", "default", Pvc("restored", "3Gi", "manual", "restored-pv"));
  const std::string uid = MetaString(created, "uid");
  ASSERT_TRUE(WaitFor([&] {
    ObjectPtr c = Get("persistentvolumeclaims", "default", "restored");
    ObjectPtr v = Get("persistentvolumes", "", "restored-pv");
    return Phase(c) == "Bound" && Phase(v) == "Bound" &&
           GetString(v->object, {"spec", "claimRef", "uid"}) == uid &&
           Annotation(c->object, "pv.kubernetes.io/bind-completed") == "yes";
  }));
  EXPECT_EQ(Phase(Get("persistentvolumeclaims", "default", "intruder")), "Pending");
  // Bound by the user, not the controller: neither side is marked bound-by-controller.
  EXPECT_EQ(Annotation(Get("persistentvolumeclaims", "default", "restored")->object,
                       "pv.kubernetes.io/bound-by-controller"), "");
  EXPECT_EQ(Annotation(Get("persistentvolumes", "", "restored-pv")->object, "pv.kubernetes.io/bound-by-controller"),
            "");
  EXPECT_EQ(GetString(Get("persistentvolumeclaims", "default", "restored")->object, {"status", "capacity", "storage"}),
            "3Gi");

  // The other order: the claim first, its volume later.
  json::value created2 =
      Create("", "persistentvolumeclaims", "default", Pvc("restored-2", "1Gi", "manual", "restored-pv-2"));
  json::value ref2 = json::object{{"kind", "PersistentVolumeClaim"}, {"apiVersion", "v1"},
                                  {"namespace", "default"}, {"name", "restored-2"}};
  Create("", "persistentvolumes", "", StaticPv("restored-pv-2", "1Gi", "manual", "Retain", ref2));
  EXPECT_TRUE(WaitFor([&] {
    ObjectPtr c = Get("persistentvolumeclaims", "default", "restored-2");
    ObjectPtr v = Get("persistentvolumes", "", "restored-pv-2");
    return Phase(c) == "Bound" && Phase(v) == "Bound" &&
           GetString(v->object, {"spec", "claimRef", "uid"}) == MetaString(created2, "uid");
  }));
}

TEST_F(LifecycleTest, ClaimInUseIsProtectedThenReclaimed) {
  json::value created = Create("", "persistentvolumeclaims", "default", Pvc("in-use", "1Gi"));
  const std::string pv_name = "pvc-" + MetaString(created, "uid");
  json::value pod = json::object{
      {"apiVersion", "v1"}, {"kind", "Pod"},
      {"metadata", json::object{{"name", "user"}}},
      {"spec", json::object{{"containers", json::array{json::object{{"name", "c"}, {"image", "busybox"}}}},
                            {"volumes", json::array{json::object{
                                            {"name", "data"},
                                            {"persistentVolumeClaim", json::object{{"claimName", "in-use"}}}}}}}}};
  Create("", "pods", "default", pod);
  ASSERT_TRUE(WaitFor([&] {
    ObjectPtr c = Get("persistentvolumeclaims", "default", "in-use");
    ObjectPtr p = Get("pods", "default", "user");
    return Phase(c) == "Bound" && HasFinalizer(c->object, "kubernetes.io/pvc-protection") &&
           PodPhase(p->object) == "Running";
  }));
  ASSERT_TRUE(fs::is_directory(dir_ / "volumes" / pv_name));

  ASSERT_TRUE(Delete("", "persistentvolumeclaims", "default", "in-use").ok());
  Settle();
  ObjectPtr c = Get("persistentvolumeclaims", "default", "in-use");
  ASSERT_NE(c, nullptr);
  EXPECT_FALSE(MetaString(c->object, "deletionTimestamp").empty());
  EXPECT_TRUE(HasFinalizer(c->object, "kubernetes.io/pvc-protection"));
  ObjectPtr pv = Get("persistentvolumes", "", pv_name);
  ASSERT_NE(pv, nullptr);
  EXPECT_EQ(Phase(pv), "Bound");
  EXPECT_TRUE(MetaString(pv->object, "deletionTimestamp").empty());

  ASSERT_TRUE(Delete("", "pods", "default", "user").ok());
  EXPECT_TRUE(WaitFor([&] {
    return Get("pods", "default", "user") == nullptr && Get("persistentvolumeclaims", "default", "in-use") == nullptr &&
           Get("persistentvolumes", "", pv_name) == nullptr && !fs::exists(dir_ / "volumes" / pv_name);
  }));
}

TEST_F(LifecycleTest, DeletingBoundVolumeWaitsForClaim) {
  json::value created = Create("", "persistentvolumeclaims", "default", Pvc("keep", "1Gi"));
  const std::string pv_name = "pvc-" + MetaString(created, "uid");
  ASSERT_TRUE(WaitFor([&] { return Phase(Get("persistentvolumes", "", pv_name)) == "Bound"; }));
  ASSERT_TRUE(Delete("", "persistentvolumes", "", pv_name).ok());
  Settle();
  ObjectPtr pv = Get("persistentvolumes", "", pv_name);
  ASSERT_NE(pv, nullptr);
  EXPECT_TRUE(HasFinalizer(pv->object, "kubernetes.io/pv-protection"));
  EXPECT_TRUE(fs::is_directory(dir_ / "volumes" / pv_name));
  ASSERT_TRUE(Delete("", "persistentvolumeclaims", "default", "keep").ok());
  EXPECT_TRUE(WaitFor([&] {
    return Get("persistentvolumeclaims", "default", "keep") == nullptr &&
           Get("persistentvolumes", "", pv_name) == nullptr && !fs::exists(dir_ / "volumes" / pv_name);
  }));
}

TEST_F(LifecycleTest, UnboundVolumeCanBeDeleted) {
  Create("", "persistentvolumes", "", StaticPv("spare", "1Gi", "manual", "Retain"));
  ASSERT_TRUE(WaitFor([&] {
    ObjectPtr v = Get("persistentvolumes", "", "spare");
    return Phase(v) == "Available" && HasFinalizer(v->object, "kubernetes.io/pv-protection");
  }));
  ASSERT_TRUE(Delete("", "persistentvolumes", "", "spare").ok());
  EXPECT_TRUE(WaitFor([&] { return Get("persistentvolumes", "", "spare") == nullptr; }));
}

TEST_F(LifecycleTest, WaitForFirstConsumerProvisionsForPod) {
  Create("storage.k8s.io", "storageclasses", "",
         json::object{{"apiVersion", "storage.k8s.io/v1"}, {"kind", "StorageClass"},
                      {"metadata", json::object{{"name", "late"}}},
                      {"provisioner", "kubesim.io/hostpath"},
                      {"reclaimPolicy", "Retain"},
                      {"volumeBindingMode", "WaitForFirstConsumer"}});
  json::value created = Create("", "persistentvolumeclaims", "default", Pvc("late-claim", "1Gi", "late"));
  // Marker: an Immediate claim created later is bound...
  Create("", "persistentvolumeclaims", "default", Pvc("marker", "1Gi"));
  ASSERT_TRUE(WaitFor([&] { return Phase(Get("persistentvolumeclaims", "default", "marker")) == "Bound"; }));
  Settle();
  // ...while the WaitForFirstConsumer one waits for a pod.
  EXPECT_EQ(Phase(Get("persistentvolumeclaims", "default", "late-claim")), "Pending");
  EXPECT_EQ(Get("persistentvolumes", "", "pvc-" + MetaString(created, "uid")), nullptr);

  Create("", "pods", "default",
         json::object{{"apiVersion", "v1"}, {"kind", "Pod"},
                      {"metadata", json::object{{"name", "consumer"}}},
                      {"spec", json::object{{"containers", json::array{json::object{{"name", "c"}, {"image", "busybox"}}}},
                                            {"volumes", json::array{json::object{
                                                            {"name", "data"},
                                                            {"persistentVolumeClaim",
                                                             json::object{{"claimName", "late-claim"}}}}}}}}});
  EXPECT_TRUE(WaitFor([&] {
    ObjectPtr v = Get("persistentvolumes", "", "pvc-" + MetaString(created, "uid"));
    return Phase(Get("persistentvolumeclaims", "default", "late-claim")) == "Bound" && Phase(v) == "Bound" &&
           GetString(v->object, {"spec", "persistentVolumeReclaimPolicy"}) == "Retain" &&
           PodPhase(Get("pods", "default", "consumer")->object) == "Running";
  }));
}

TEST_F(LifecycleTest, NamespaceDeletionWithWorkloadsAndVolumes) {
  Create("", "namespaces", "", json::object{{"apiVersion", "v1"}, {"kind", "Namespace"},
                                            {"metadata", json::object{{"name", "shop"}}}});
  json::value d = json::object{
      {"apiVersion", "apps/v1"}, {"kind", "Deployment"},
      {"metadata", json::object{{"name", "web"}}},
      {"spec", json::object{
                   {"replicas", 2},
                   {"selector", json::object{{"matchLabels", json::object{{"app", "web"}}}}},
                   {"template",
                    json::object{{"metadata", json::object{{"labels", json::object{{"app", "web"}}}}},
                                 {"spec", json::object{
                                              {"containers", json::array{json::object{{"name", "main"},
                                                                                      {"image", "nginx"}}}},
                                              {"volumes", json::array{json::object{
                                                              {"name", "data"},
                                                              {"persistentVolumeClaim",
                                                               json::object{{"claimName", "cache"}}}}}}}}}}}}};
  Create("apps", "deployments", "shop", d);
  json::value pvc = Create("", "persistentvolumeclaims", "shop", Pvc("cache", "1Gi"));
  const std::string pv_name = "pvc-" + MetaString(pvc, "uid");
  Create("", "services", "shop",
         json::object{{"apiVersion", "v1"}, {"kind", "Service"}, {"metadata", json::object{{"name", "web"}}},
                      {"spec", json::object{{"selector", json::object{{"app", "web"}}},
                                            {"ports", json::array{json::object{{"port", 80}}}}}}});
  ASSERT_TRUE(WaitFor([&] {
    ObjectPtr ep = Get("endpoints", "shop", "web");
    return ep != nullptr && EndpointIps(ep->object).size() == 2 &&
           Phase(Get("persistentvolumeclaims", "shop", "cache")) == "Bound";
  }));
  ASSERT_TRUE(fs::is_directory(dir_ / "volumes" / pv_name));

  ASSERT_TRUE(Delete("", "namespaces", "", "shop").ok());
  EXPECT_TRUE(WaitFor([&] {
    return Get("namespaces", "", "shop") == nullptr && Get("persistentvolumes", "", pv_name) == nullptr &&
           !fs::exists(dir_ / "volumes" / pv_name);
  }));
  for (const std::string& gr : store_->GroupResources()) {
    EXPECT_TRUE(ListObjects(*store_, gr, "shop", [](const StoredObject&) { return true; }).empty()) << gr;
  }
}

// ---------------------------------------------------------------------------------------------
// Endpoints.

std::set<std::string> SliceIps(const json::value& slice) {
  std::set<std::string> out;
  for (const auto& e : GetArray(slice, {"endpoints"})) {
    if (!GetBool(e, {"conditions", "ready"}, false)) continue;
    for (const auto& a : GetArray(e, {"addresses"})) out.insert(std::string(a.as_string()));
  }
  return out;
}

TEST_F(LifecycleTest, EndpointsFollowReadyPods) {
  json::value tmpl = json::object{
      {"metadata", json::object{{"labels", json::object{{"app", "web"}}}}},
      {"spec", json::object{{"containers", json::array{json::object{
                                               {"name", "main"}, {"image", "nginx:1.27"},
                                               {"ports", json::array{json::object{{"name", "http"},
                                                                                  {"containerPort", 8080}}}}}}}}}};
  json::value d = json::object{
      {"apiVersion", "apps/v1"}, {"kind", "Deployment"},
      {"metadata", json::object{{"name", "web"}}},
      {"spec", json::object{{"replicas", 3},
                            {"selector", json::object{{"matchLabels", json::object{{"app", "web"}}}}},
                            {"template", tmpl}}}};
  Create("apps", "deployments", "default", d);
  json::value svc = Create(
      "", "services", "default",
      json::object{{"apiVersion", "v1"}, {"kind", "Service"},
                   {"metadata", json::object{{"name", "web"}}},
                   {"spec", json::object{{"selector", json::object{{"app", "web"}}},
                                         {"ports", json::array{json::object{
                                                       {"name", "http"}, {"port", 80}, {"targetPort", "http"}}}}}}});
  const std::string svc_uid = MetaString(svc, "uid");

  auto ready_ips = [&] {
    std::set<std::string> ips;
    for (const ObjectPtr& p : ListObjects(*store_, "pods", "default", [](const StoredObject& o) {
           return GetString(o.object, {"metadata", "labels", "app"}) == "web";
         })) {
      if (PodPhase(p->object) == "Running" && IsPodReady(p->object) &&
          MetaString(p->object, "deletionTimestamp").empty()) {
        ips.insert(GetString(p->object, {"status", "podIP"}));
      }
    }
    return ips;
  };
  auto slice_of = [&]() -> ObjectPtr {
    auto slices = ListObjects(*store_, "endpointslices.discovery.k8s.io", "default", [](const StoredObject& o) {
      return GetString(o.object, {"metadata", "labels", "kubernetes.io/service-name"}) == "web";
    });
    return slices.size() == 1 ? slices.front() : nullptr;
  };
  ASSERT_TRUE(WaitFor([&] {
    std::set<std::string> ips = ready_ips();
    ObjectPtr ep = Get("endpoints", "default", "web");
    ObjectPtr slice = slice_of();
    return ips.size() == 3 && ep != nullptr && EndpointIps(ep->object) == ips && slice != nullptr &&
           SliceIps(slice->object) == ips;
  }));
  ObjectPtr ep = Get("endpoints", "default", "web");
  const json::array& subsets = GetArray(ep->object, {"subsets"});
  ASSERT_EQ(subsets.size(), 1u);
  ASSERT_EQ(GetArray(subsets[0], {"ports"}).size(), 1u);
  EXPECT_EQ(GetInt(GetArray(subsets[0], {"ports"})[0], {"port"}, 0), 8080);
  EXPECT_EQ(GetString(GetArray(subsets[0], {"addresses"})[0], {"targetRef", "kind"}), "Pod");
  ObjectPtr slice = slice_of();
  EXPECT_EQ(GetString(slice->object, {"addressType"}), "IPv4");
  EXPECT_EQ(GetString(slice->object, {"metadata", "labels", "endpointslice.kubernetes.io/managed-by"}),
            "endpointslice-controller.k8s.io");
  const json::array& refs = GetArray(slice->object, {"metadata", "ownerReferences"});
  ASSERT_EQ(refs.size(), 1u);
  EXPECT_EQ(GetString(refs[0], {"kind"}), "Service");
  EXPECT_EQ(GetString(refs[0], {"uid"}), svc_uid);
  ASSERT_EQ(GetArray(slice->object, {"ports"}).size(), 1u);
  EXPECT_EQ(GetInt(GetArray(slice->object, {"ports"})[0], {"port"}, 0), 8080);

  // Scaling down: the endpoints follow.
  ASSERT_TRUE(Modify("apps", "deployments", "default", "web", [](json::value& o) {
    o.as_object()["spec"].as_object()["replicas"] = 1;
  }));
  ASSERT_TRUE(WaitFor([&] {
    std::set<std::string> ips = ready_ips();
    ObjectPtr e = Get("endpoints", "default", "web");
    ObjectPtr s = slice_of();
    return ips.size() == 1 && e != nullptr && EndpointIps(e->object) == ips && s != nullptr &&
           SliceIps(s->object) == ips;
  }));
  // No pods at all: no addresses.
  ASSERT_TRUE(Modify("apps", "deployments", "default", "web", [](json::value& o) {
    o.as_object()["spec"].as_object()["replicas"] = 0;
  }));
  ASSERT_TRUE(WaitFor([&] {
    ObjectPtr e = Get("endpoints", "default", "web");
    ObjectPtr s = slice_of();
    return ready_ips().empty() && e != nullptr && Find(e->object, {"subsets"}) == nullptr && s != nullptr &&
           GetArray(s->object, {"endpoints"}).empty();
  }));

  ASSERT_TRUE(Delete("", "services", "default", "web").ok());
  EXPECT_TRUE(WaitFor([&] { return Get("endpoints", "default", "web") == nullptr && slice_of() == nullptr; }));
  EXPECT_TRUE(ListObjects(*store_, "endpointslices.discovery.k8s.io", "default",
                          [](const StoredObject&) { return true; })
                  .empty());
}

TEST_F(LifecycleTest, EndpointsSeparateNotReadyPods) {
  json::value svc = Create(
      "", "services", "default",
      json::object{{"apiVersion", "v1"}, {"kind", "Service"},
                   {"metadata", json::object{{"name", "db"}}},
                   {"spec", json::object{{"selector", json::object{{"app", "db"}}},
                                         {"ports", json::array{json::object{{"port", 5432}}}}}}});
  // A pod whose status is set by hand (on no node the kubelet simulates).
  json::value pod = json::object{
      {"apiVersion", "v1"}, {"kind", "Pod"},
      {"metadata", json::object{{"name", "db-0"}, {"labels", json::object{{"app", "db"}}}}},
      {"spec", json::object{{"nodeName", "elsewhere"},
                            {"containers", json::array{json::object{{"name", "c"}, {"image", "postgres"}}}}}}};
  Create("", "pods", "default", pod);
  auto set_status = [&](bool ready) {
    return Modify("", "pods", "default", "db-0", [&](json::value& o) {
      o.as_object()["status"] = json::object{
          {"phase", "Running"},
          {"podIP", "10.244.9.9"},
          {"conditions", json::array{json::object{{"type", "Ready"}, {"status", ready ? "True" : "False"}}}}};
    }, "status");
  };
  ASSERT_TRUE(set_status(false));
  ASSERT_TRUE(WaitFor([&] {
    ObjectPtr e = Get("endpoints", "default", "db");
    return e != nullptr && EndpointIps(e->object, "notReadyAddresses") == std::set<std::string>{"10.244.9.9"} &&
           EndpointIps(e->object).empty();
  }));
  ASSERT_TRUE(set_status(true));
  ASSERT_TRUE(WaitFor([&] {
    ObjectPtr e = Get("endpoints", "default", "db");
    ObjectPtr s = Get("endpointslices.discovery.k8s.io", "default", "db-slice");
    return e != nullptr && EndpointIps(e->object) == std::set<std::string>{"10.244.9.9"} &&
           EndpointIps(e->object, "notReadyAddresses").empty() &&
           (s == nullptr || SliceIps(s->object) == std::set<std::string>{"10.244.9.9"});
  }));
  // The pod goes away: so does its address.
  ASSERT_TRUE(Delete("", "pods", "default", "db-0").ok());
  EXPECT_TRUE(WaitFor([&] {
    ObjectPtr e = Get("endpoints", "default", "db");
    return Get("pods", "default", "db-0") == nullptr && e != nullptr && Find(e->object, {"subsets"}) == nullptr;
  }));
  (void)svc;
}

}  // namespace
}  // namespace kubesim
