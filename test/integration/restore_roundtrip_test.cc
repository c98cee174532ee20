// The restore engine end to end: an application backed up from one kubesim with the backup
// engine, then restored into the same cluster after its namespace was deleted, into a second,
// empty kubesim (disaster recovery into a new cluster), and under a namespace mapping; objects
// compared field by field after normalising what the API server sets. Also filters, the
// existing-resource policy, status restore, resource modifiers, and bad backups.

#include "lifeboat/restore/restorer.h"

#include <cstdlib>
#include <cstring>
#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lifeboat/archive/writer.h"
#include "lifeboat/backup/backupper.h"
#include "lifeboat/common/gzip.h"
#include "lifeboat/common/json.h"
#include "lifeboat/kube/config.h"
#include "lifeboat/kube/object.h"
#include "lifeboat/storage/registry.h"
#include "src/backup/actions/builtin_actions.h"
#include "src/kube/testing/kubesim_cluster.h"

namespace lifeboat::restore {
namespace {

namespace json = boost::json;
using kube::GroupVersionResource;
using ::testing::Contains;
using ::testing::HasSubstr;

json::value J(const std::string& text) {
  auto v = ParseJson(text);
  EXPECT_TRUE(v.ok()) << v.status() << " in " << text;
  return v.ok() ? *v : json::value();
}

const GroupVersionResource kNs{"", "v1", "namespaces"}, kCm{"", "v1", "configmaps"},
    kSecret{"", "v1", "secrets"}, kSa{"", "v1", "serviceaccounts"}, kSvc{"", "v1", "services"},
    kPv{"", "v1", "persistentvolumes"}, kPvc{"", "v1", "persistentvolumeclaims"},
    kPod{"", "v1", "pods"}, kDeploy{"apps", "v1", "deployments"},
    kRole{"rbac.authorization.k8s.io", "v1", "roles"},
    kRoleBinding{"rbac.authorization.k8s.io", "v1", "rolebindings"},
    kIngress{"networking.k8s.io", "v1", "ingresses"},
    kCrd{"apiextensions.k8s.io", "v1", "customresourcedefinitions"},
    kWidget{"example.com", "v1", "widgets"}, kJob{"batch", "v1", "jobs"};

// One kubesim and its clients.
struct Cluster : kube::testing::KubesimCluster {
  static std::unique_ptr<Cluster> Start() {
    auto c = kube::testing::KubesimCluster::Start();
    EXPECT_TRUE(c.ok()) << c.status();
    if (!c.ok()) return nullptr;
    auto out = std::make_unique<Cluster>();
    static_cast<kube::testing::KubesimCluster&>(*out) = std::move(**c);
    return out;
  }
  void Create(const GroupVersionResource& gvr, const std::string& ns, const std::string& text) {
    auto r = client->Create(gvr, ns, J(text));
    ASSERT_TRUE(r.ok()) << r.status() << " creating " << text;
  }
  StatusOr<json::value> Get(const GroupVersionResource& gvr, const std::string& ns,
                            const std::string& name) {
    return client->Get(gvr, ns, name);
  }
  void WaitForCrd(const GroupVersionResource& gvr) {
    ASSERT_TRUE(kube::testing::WaitUntilServed(*discovery, gvr))
        << gvr.ToString() << " never became served";
  }
  void DeleteNamespaceAndWait(const std::string& ns) {
    ASSERT_TRUE(client->Delete(kNs, "", ns).ok());
    for (int i = 0; i < 400; ++i) {
      if (absl::IsNotFound(client->Get(kNs, "", ns).status())) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    FAIL() << "namespace " << ns << " was never deleted";
  }
};

// The objects the comparison covers: kind, resource and name in namespace `shop`.
struct Checked {
  GroupVersionResource gvr;
  std::string name;
};
const std::vector<Checked>& CheckedObjects() {
  static const std::vector<Checked> v = {
      {kCm, "settings"},        {kCm, "db-config"},        {kSecret, "creds"},
      {kSa, "shop-sa"},         {kRole, "reader"},         {kRoleBinding, "reader-binding"},
      {kSvc, "web"},            {kSvc, "db"},              {kPvc, "data"},
      {kDeploy, "web"},         {kIngress, "web"},         {kWidget, "w1"},
  };
  return v;
}

// What must be equal between an object and its restored copy: everything but what an API
// server sets (uid, resourceVersion, timestamps, generation, managedFields' times, status),
// the restore labels, owner references (Velero drops them), a service's cluster IPs (Velero
// resets them) and the namespace (for mapped restores).
json::value Normalize(json::value obj) {
  json::object& o = obj.as_object();
  json::object& md = o["metadata"].as_object();
  for (std::string_view k : {"uid", "resourceVersion", "creationTimestamp", "generation",
                             "managedFields", "ownerReferences", "namespace", "selfLink"}) {
    md.erase(k);
  }
  if (json::value* labels = md.if_contains("labels"); labels != nullptr) {
    labels->as_object().erase("velero.io/backup-name");
    labels->as_object().erase("velero.io/restore-name");
    if (labels->as_object().empty()) md.erase("labels");
  }
  if (json::value* ann = md.if_contains("annotations"); ann != nullptr) {
    // Set by the volume binder of whichever cluster binds the claim.
    ann->as_object().erase("pv.kubernetes.io/bind-completed");
    ann->as_object().erase("pv.kubernetes.io/bound-by-controller");
    if (ann->as_object().empty()) md.erase("annotations");
  }
  o.erase("status");
  if (o["kind"] == "Service") {
    o["spec"].as_object().erase("clusterIP");
    o["spec"].as_object().erase("clusterIPs");
  }
  if (o["kind"] == "RoleBinding") {
    for (json::value& s : o["subjects"].as_array()) s.as_object().erase("namespace");
  }
  return obj;
}

class RestorerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    source_ = Cluster::Start().release();
    ASSERT_NE(source_, nullptr);
    Seed(*source_);
  }
  static void TearDownTestSuite() {
    delete source_;
    source_ = nullptr;
  }

  // A realistic application in namespace `shop`.
  static void Seed(Cluster& c) {
    c.Create(kNs, "", R"({"apiVersion":"v1","kind":"Namespace","metadata":{"name":"shop","labels":{"team":"store"}}})");
    c.Create(kCm, "shop", R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"settings","labels":{"app":"shop"}},"data":{"mode":"live"}})");
    c.Create(kCm, "shop", R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"db-config","labels":{"tier":"db"}},"data":{"size":"10"}})");
    c.Create(kSecret, "shop", R"({"apiVersion":"v1","kind":"Secret","metadata":{"name":"creds","labels":{"app":"shop"}},"type":"Opaque","data":{"password":"c2VjcmV0"}})");
    c.Create(kSa, "shop", R"({"apiVersion":"v1","kind":"ServiceAccount","metadata":{"name":"shop-sa"}})");
    c.Create(kRole, "shop", R"({"apiVersion":"rbac.authorization.k8s.io/v1","kind":"Role","metadata":{"name":"reader"},"rules":[{"apiGroups":[""],"resources":["configmaps"],"verbs":["get"]}]})");
    c.Create(kRoleBinding, "shop", R"({"apiVersion":"rbac.authorization.k8s.io/v1","kind":"RoleBinding","metadata":{"name":"reader-binding"},"roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"Role","name":"reader"},"subjects":[{"kind":"ServiceAccount","name":"shop-sa","namespace":"shop"}]})");
    c.Create(kSvc, "shop", R"({"apiVersion":"v1","kind":"Service","metadata":{"name":"web"},"spec":{"type":"NodePort","selector":{"app":"web"},"ports":[{"port":80,"targetPort":8080,"nodePort":30080}]}})");
    c.Create(kSvc, "shop", R"({"apiVersion":"v1","kind":"Service","metadata":{"name":"db"},"spec":{"clusterIP":"None","selector":{"app":"db"},"ports":[{"port":5432}]}})");
    c.Create(kPv, "", R"({"apiVersion":"v1","kind":"PersistentVolume","metadata":{"name":"pv-shop"},"spec":{"capacity":{"storage":"1Gi"},"accessModes":["ReadWriteOnce"],"persistentVolumeReclaimPolicy":"Retain","hostPath":{"path":"/tmp/pv-shop"}}})");
    c.Create(kPvc, "shop", R"({"apiVersion":"v1","kind":"PersistentVolumeClaim","metadata":{"name":"data"},"spec":{"accessModes":["ReadWriteOnce"],"resources":{"requests":{"storage":"1Gi"}},"volumeName":"pv-shop","storageClassName":""}})");
    c.Create(kDeploy, "shop", R"({"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web","labels":{"app":"web"}},"spec":{"replicas":1,"selector":{"matchLabels":{"app":"web"}},"template":{"metadata":{"labels":{"app":"web"}},"spec":{"serviceAccountName":"shop-sa","containers":[{"name":"web","image":"nginx:1.25","volumeMounts":[{"name":"data","mountPath":"/data"}]}],"volumes":[{"name":"data","persistentVolumeClaim":{"claimName":"data"}}]}}}})");
    c.Create(kIngress, "shop", R"({"apiVersion":"networking.k8s.io/v1","kind":"Ingress","metadata":{"name":"web"},"spec":{"rules":[{"host":"shop.example.com","http":{"paths":[{"path":"/","pathType":"Prefix","backend":{"service":{"name":"web","port":{"number":80}}}}]}}]}})");
    c.Create(kCrd, "", R"({"apiVersion":"apiextensions.k8s.io/v1","kind":"CustomResourceDefinition","metadata":{"name":"widgets.example.com"},"spec":{"group":"example.com","scope":"Namespaced","names":{"plural":"widgets","singular":"widget","kind":"Widget"},"versions":[{"name":"v1","served":true,"storage":true,"subresources":{"status":{}},"schema":{"openAPIV3Schema":{"type":"object","x-kubernetes-preserve-unknown-fields":true}}}]}})");
    c.WaitForCrd(kWidget);
    c.Create(kWidget, "shop", R"({"apiVersion":"example.com/v1","kind":"Widget","metadata":{"name":"w1"},"spec":{"size":3}})");
    auto w = c.Get(kWidget, "shop", "w1");
    ASSERT_TRUE(w.ok());
    w->as_object()["status"] = J(R"({"ready":true})");
    ASSERT_TRUE(c.client->UpdateStatus(kWidget, "shop", *w).ok());
    c.Create(kJob, "shop", R"({"apiVersion":"batch/v1","kind":"Job","metadata":{"name":"migrate"},"spec":{"template":{"spec":{"restartPolicy":"Never","containers":[{"name":"m","image":"busybox"}]}}}})");
  }

  void SetUp() override {
    bucket_dir_ = std::filesystem::temp_directory_path() /
                  ("lifeboat-restore-test-" + std::to_string(::getpid()) + "-" +
                   std::to_string(++counter_));
    std::filesystem::create_directories(bucket_dir_ / "bucket");
    storage::DriverParams params;
    params.config = {{"root", bucket_dir_.string()}};
    auto store = storage::NewObjectStore("local", params);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::make_unique<storage::BackupStore>(
        std::shared_ptr<storage::ObjectStore>(std::move(*store)), "bucket", "");
  }
  void TearDown() override { std::filesystem::remove_all(bucket_dir_); }

  api::Backup Backup(Cluster& c, std::vector<std::string> namespaces,
                     const std::function<void(api::BackupSpec&)>& adjust = nullptr) {
    api::Backup b;
    b.metadata.name = "b" + std::to_string(++counter_);
    b.metadata.namespace_ = "velero";
    b.metadata.uid = "uid-" + b.metadata.name;
    b.spec.storage_location = "default";
    b.spec.included_namespaces = std::move(namespaces);
    if (adjust) adjust(b.spec);
    backup::BackupperDeps deps;
    deps.client = c.client.get();
    deps.discovery = c.discovery.get();
    deps.store = store_.get();
    deps.actions = backup::BuiltinBackupItemActions(c.client.get());
    backup::BackupperOptions options;
    options.temp_dir = bucket_dir_;
    api::Backup done = backup::Backupper(deps, options).Run(std::move(b));
    EXPECT_EQ(done.status.phase, api::BackupPhase::kCompleted) << done.status.failure_reason;
    return done;
  }

  api::Restore Restore(Cluster& c, const api::Backup& b,
                       const std::function<void(api::RestoreSpec&)>& adjust = nullptr) {
    api::Restore r;
    r.metadata.name = "r" + std::to_string(++counter_);
    r.metadata.namespace_ = "velero";
    r.metadata.uid = "uid-" + r.metadata.name;
    r.spec.backup_name = b.metadata.name;
    if (adjust) adjust(r.spec);
    RestorerDeps deps;
    deps.client = c.client.get();
    deps.discovery = c.discovery.get();
    deps.exec = c.exec.get();
    deps.store = store_.get();
    RestorerOptions options;
    options.temp_dir = bucket_dir_;
    options.resource_timeout = std::chrono::seconds(20);
    return Restorer(deps, options).Run(std::move(r), b);
  }

  // The restore's results file.
  json::value Results(const std::string& restore) {
    std::string gz;
    auto sink = StringSink(&gz);
    EXPECT_TRUE(store_->GetRestoreFile(restore, storage::RestoreFile::kResults, *sink).ok());
    auto text = Gunzip(gz);
    EXPECT_TRUE(text.ok());
    return J(text.ok() ? *text : "{}");
  }
  json::value ResourceList(const std::string& restore) {
    std::string gz;
    auto sink = StringSink(&gz);
    EXPECT_TRUE(store_->GetRestoreFile(restore, storage::RestoreFile::kResourceList, *sink).ok());
    auto text = Gunzip(gz);
    return J(text.ok() ? *text : "{}");
  }

  // Every checked object of `before` (from namespace shop) equals its copy in `ns` of `after`.
  void ExpectRestored(const std::map<std::string, json::value>& before, Cluster& after,
                      const std::string& ns) {
    for (const Checked& c : CheckedObjects()) {
      auto got = after.Get(c.gvr, ns, c.name);
      ASSERT_TRUE(got.ok()) << c.gvr.ToString() << " " << ns << "/" << c.name << ": " << got.status();
      EXPECT_EQ(kube::ObjectLabels(*got).at("velero.io/restore-name").substr(0, 1), "r");
      EXPECT_EQ(Normalize(*got), Normalize(before.at(c.gvr.resource + "/" + c.name)))
          << c.gvr.ToString() << " " << c.name;
    }
  }
  std::map<std::string, json::value> Snapshot(Cluster& c) {
    std::map<std::string, json::value> out;
    for (const Checked& o : CheckedObjects()) {
      auto got = c.Get(o.gvr, "shop", o.name);
      EXPECT_TRUE(got.ok()) << o.name;
      if (got.ok()) out[o.gvr.resource + "/" + o.name] = *got;
    }
    return out;
  }

  static Cluster* source_;
  static int counter_;
  std::filesystem::path bucket_dir_;
  std::unique_ptr<storage::BackupStore> store_;
};
Cluster* RestorerTest::source_ = nullptr;
int RestorerTest::counter_ = 0;

TEST_F(RestorerTest, DisasterRecoveryIntoANewEmptyCluster) {
  auto before = Snapshot(*source_);
  api::Backup b = Backup(*source_, {"shop"});
  auto target = Cluster::Start();
  ASSERT_NE(target, nullptr);
  api::Restore r = Restore(*target, b, [](api::RestoreSpec& s) { s.include_cluster_resources = true; });
  ASSERT_EQ(r.status.phase, api::RestorePhase::kCompleted)
      << r.status.failure_reason << " " << json::serialize(Results(r.metadata.name));
  EXPECT_EQ(r.status.errors, 0);
  ASSERT_TRUE(r.status.progress.has_value());
  EXPECT_GT(r.status.progress->items_restored, 10);
  EXPECT_TRUE(r.status.start_timestamp && r.status.completion_timestamp);
  target->discovery->Refresh().IgnoreError();
  ExpectRestored(before, *target, "shop");
  // Cluster-scoped items came along: the CRD, the PV (bound to the claim again).
  EXPECT_TRUE(target->Get(kCrd, "", "widgets.example.com").ok());
  auto pv = target->Get(kPv, "", "pv-shop");
  ASSERT_TRUE(pv.ok());
  EXPECT_EQ(JsonString(*pv, {"spec", "claimRef", "namespace"}).value_or(""), "shop");
  // Bound to the restored claim, not to the old one's uid.
  EXPECT_EQ(JsonString(*pv, {"spec", "claimRef", "uid"}).value_or(""),
            std::string(kube::ObjectUid(*target->Get(kPvc, "shop", "data"))));
  // The namespace was created from the backed-up one (its labels kept).
  auto ns = target->Get(kNs, "", "shop");
  ASSERT_TRUE(ns.ok());
  EXPECT_EQ(kube::ObjectLabels(*ns).at("team"), "store");
  // The resource list says what was created.
  json::value list = ResourceList(r.metadata.name);
  EXPECT_THAT(list.at("v1/ConfigMap").as_array(), Contains(json::value("shop/settings(created)")));
  EXPECT_THAT(list.at("v1/Namespace").as_array(), Contains(json::value("shop(created)")));
  // The restored widget has no status (restoreStatus not asked for).
  auto w = target->Get(kWidget, "shop", "w1");
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(JsonFind(*w, {"status", "ready"}), nullptr);
}

// A type the target serves since the restorer's discovery was loaded (an operator installed
// before restoring its custom resources) is restored: every restore reads discovery anew.
TEST_F(RestorerTest, TypesServedSinceDiscoveryWasLoadedAreRestored) {
  // Without the CRD: restoring one would refresh discovery after it anyway.
  api::Backup b = Backup(*source_, {"shop"}, [](api::BackupSpec& s) {
    s.excluded_resources = {"customresourcedefinitions.apiextensions.k8s.io"};
  });
  auto target = Cluster::Start();
  ASSERT_NE(target, nullptr);
  ASSERT_TRUE(target->discovery->Resources().ok());  // loaded now: a miss cannot refresh for 30 s
  // Another client installs the CRD, so the target's own discovery stays as it was.
  kube::Discovery other_discovery(target->rest.get());
  kube::DynamicClient other(target->rest.get(), &other_discovery);
  ASSERT_TRUE(
      other
          .Create(
              kCrd, "",
              J(R"({"apiVersion":"apiextensions.k8s.io/v1","kind":"CustomResourceDefinition","metadata":{"name":"widgets.example.com"},"spec":{"group":"example.com","scope":"Namespaced","names":{"plural":"widgets","singular":"widget","kind":"Widget"},"versions":[{"name":"v1","served":true,"storage":true,"subresources":{"status":{}},"schema":{"openAPIV3Schema":{"type":"object","x-kubernetes-preserve-unknown-fields":true}}}]}})"))
          .ok());
  ASSERT_TRUE(kube::testing::WaitUntilServed(other_discovery, kWidget));
  ASSERT_FALSE(target->discovery->ResourceFor(kWidget).ok())
      << "the target's discovery must not know widgets yet, or this test proves nothing";
  api::Restore r = Restore(*target, b, [](api::RestoreSpec& s) {
    s.included_resources = {"widgets.example.com", "namespaces"};
  });
  ASSERT_EQ(r.status.phase, api::RestorePhase::kCompleted)
      << r.status.failure_reason << " " << json::serialize(Results(r.metadata.name));
  EXPECT_EQ(r.status.errors, 0);
  EXPECT_EQ(r.status.warnings, 0);
  EXPECT_TRUE(target->Get(kWidget, "shop", "w1").ok());
}

TEST_F(RestorerTest, SameClusterAfterTheNamespaceWasDeleted) {
  Cluster& c = *source_;
  c.Create(kNs, "", R"({"apiVersion":"v1","kind":"Namespace","metadata":{"name":"gone"}})");
  c.Create(kCm, "gone", R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"keep","labels":{"app":"shop"}},"data":{"x":"1"}})");
  c.Create(kSa, "gone", R"({"apiVersion":"v1","kind":"ServiceAccount","metadata":{"name":"runner"}})");
  auto cm_before = c.Get(kCm, "gone", "keep");
  ASSERT_TRUE(cm_before.ok());
  api::Backup b = Backup(c, {"gone"});
  c.DeleteNamespaceAndWait("gone");
  api::Restore r = Restore(c, b);
  ASSERT_EQ(r.status.phase, api::RestorePhase::kCompleted) << json::serialize(Results(r.metadata.name));
  auto cm = c.Get(kCm, "gone", "keep");
  ASSERT_TRUE(cm.ok()) << cm.status();
  EXPECT_EQ(Normalize(*cm), Normalize(*cm_before));
  EXPECT_EQ(kube::ObjectLabels(*cm).at("velero.io/backup-name"), b.metadata.name);
  EXPECT_TRUE(c.Get(kSa, "gone", "runner").ok());
}

TEST_F(RestorerTest, NamespaceMappingAppliesToObjectsAndBindings) {
  auto before = Snapshot(*source_);
  api::Backup b = Backup(*source_, {"shop"});
  api::Restore r = Restore(*source_, b, [](api::RestoreSpec& s) {
    s.namespace_mapping = {{"shop", "shop-copy"}};
  });
  // The NodePort 30080 is taken by the original service: that one item fails, Velero-style.
  EXPECT_NE(r.status.phase, api::RestorePhase::kFailed) << r.status.failure_reason;
  for (const Checked& o : CheckedObjects()) {
    if (o.gvr == kSvc && o.name == "web") continue;
    auto got = source_->Get(o.gvr, "shop-copy", o.name);
    ASSERT_TRUE(got.ok()) << o.name << ": " << got.status();
    EXPECT_EQ(Normalize(*got), Normalize(before.at(o.gvr.resource + "/" + o.name))) << o.name;
  }
  auto rb = source_->Get(kRoleBinding, "shop-copy", "reader-binding");
  ASSERT_TRUE(rb.ok());
  EXPECT_EQ(rb->at("subjects").at(0).at("namespace"), "shop-copy");
  EXPECT_TRUE(source_->Get(kNs, "", "shop-copy").ok());
}

TEST_F(RestorerTest, FiltersAndSelectorsChooseWhatIsRestored) {
  api::Backup b = Backup(*source_, {"shop"});
  api::Restore r = Restore(*source_, b, [](api::RestoreSpec& s) {
    s.namespace_mapping = {{"shop", "shop-filtered"}};
    s.included_resources = {"configmaps", "secrets"};
    s.label_selector = *api::LabelSelector::Parse("app=shop");
  });
  ASSERT_EQ(r.status.phase, api::RestorePhase::kCompleted) << json::serialize(Results(r.metadata.name));
  EXPECT_TRUE(source_->Get(kCm, "shop-filtered", "settings").ok());
  EXPECT_TRUE(source_->Get(kSecret, "shop-filtered", "creds").ok());
  EXPECT_TRUE(absl::IsNotFound(source_->Get(kCm, "shop-filtered", "db-config").status()));
  EXPECT_TRUE(absl::IsNotFound(source_->Get(kSa, "shop-filtered", "shop-sa").status()));
  EXPECT_TRUE(absl::IsNotFound(source_->Get(kDeploy, "shop-filtered", "web").status()));

  // Or-selectors, and an excluded namespace restores nothing.
  api::Restore none = Restore(*source_, b, [](api::RestoreSpec& s) {
    s.namespace_mapping = {{"shop", "shop-none"}};
    s.excluded_namespaces = {"sh*"};
  });
  ASSERT_EQ(none.status.phase, api::RestorePhase::kCompleted);
  EXPECT_TRUE(absl::IsNotFound(source_->Get(kNs, "", "shop-none").status()));
  api::Restore ors = Restore(*source_, b, [](api::RestoreSpec& s) {
    s.namespace_mapping = {{"shop", "shop-or"}};
    s.included_resources = {"configmaps"};
    s.or_label_selectors = {*api::LabelSelector::Parse("tier=db"),
                            *api::LabelSelector::Parse("app=nothing")};
  });
  ASSERT_EQ(ors.status.phase, api::RestorePhase::kCompleted);
  EXPECT_TRUE(source_->Get(kCm, "shop-or", "db-config").ok());
  EXPECT_TRUE(absl::IsNotFound(source_->Get(kCm, "shop-or", "settings").status()));
}

TEST_F(RestorerTest, ExistingObjectsFollowThePolicy) {
  Cluster& c = *source_;
  c.Create(kNs, "", R"({"apiVersion":"v1","kind":"Namespace","metadata":{"name":"live"}})");
  c.Create(kCm, "live", R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"same"},"data":{"a":"1"}})");
  c.Create(kCm, "live", R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"changed"},"data":{"a":"1"}})");
  api::Backup b = Backup(c, {"live"});
  auto changed = c.Get(kCm, "live", "changed");
  ASSERT_TRUE(changed.ok());
  changed->as_object()["data"] = J(R"({"a":"2"})");
  ASSERT_TRUE(c.client->Update(kCm, "live", *changed).ok());

  // none: identical objects are skipped silently, different ones are warnings, nothing changes.
  api::Restore none = Restore(c, b, [](api::RestoreSpec& s) {
    s.included_resources = {"configmaps"};
    s.existing_resource_policy = "none";
  });
  ASSERT_EQ(none.status.phase, api::RestorePhase::kCompleted);
  json::value results = Results(none.metadata.name);
  std::string warnings = json::serialize(results.at("warnings"));
  EXPECT_THAT(warnings, HasSubstr("could not restore, ConfigMap:changed already exists. Warning: "
                                  "the in-cluster version is different than the backed-up version"));
  EXPECT_THAT(warnings, ::testing::Not(HasSubstr("ConfigMap:same")));
  EXPECT_EQ(c.Get(kCm, "live", "changed")->at("data").at("a"), "2");
  json::value list = ResourceList(none.metadata.name);
  EXPECT_THAT(list.at("v1/ConfigMap").as_array(), Contains(json::value("live/same(skipped)")));

  // update: the backed-up version wins.
  api::Restore update = Restore(c, b, [](api::RestoreSpec& s) {
    s.included_resources = {"configmaps"};
    s.existing_resource_policy = "update";
  });
  ASSERT_EQ(update.status.phase, api::RestorePhase::kCompleted);
  auto after = c.Get(kCm, "live", "changed");
  EXPECT_EQ(after->at("data").at("a"), "1");
  EXPECT_EQ(kube::ObjectLabels(*after).at("velero.io/restore-name"), update.metadata.name);
  EXPECT_THAT(ResourceList(update.metadata.name).at("v1/ConfigMap").as_array(),
              Contains(json::value("live/changed(updated)")));
}

TEST_F(RestorerTest, RestoresStatusOnlyWhenAsked) {
  api::Backup b = Backup(*source_, {"shop"});
  api::Restore r = Restore(*source_, b, [](api::RestoreSpec& s) {
    s.namespace_mapping = {{"shop", "shop-status"}};
    s.included_resources = {"widgets.example.com"};
    s.restore_status = api::RestoreStatusSpec{{"widgets.example.com"}, {}};
  });
  ASSERT_EQ(r.status.phase, api::RestorePhase::kCompleted) << json::serialize(Results(r.metadata.name));
  auto w = source_->Get(kWidget, "shop-status", "w1");
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(w->at("status"), J(R"({"ready":true})"));
}

TEST_F(RestorerTest, ResourceModifiersChangeItemsBeforeCreation) {
  source_->Create(kNs, "", R"({"apiVersion":"v1","kind":"Namespace","metadata":{"name":"velero"}})");
  source_->Create(kCm, "velero", R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"mods"},"data":{"rules.yaml":"version: v1\nresourceModifierRules:\n- conditions:\n    groupResource: configmaps\n    resourceNameRegex: \"^settings$\"\n  patches:\n  - operation: replace\n    path: \"/data/mode\"\n    value: \"\\\"restored\\\"\"\n"}})");
  api::Backup b = Backup(*source_, {"shop"});
  api::Restore r = Restore(*source_, b, [](api::RestoreSpec& s) {
    s.namespace_mapping = {{"shop", "shop-mod"}};
    s.included_resources = {"configmaps"};
    s.resource_modifier = api::TypedLocalObjectReference{std::nullopt, "configmap", "mods"};
  });
  ASSERT_EQ(r.status.phase, api::RestorePhase::kCompleted) << json::serialize(Results(r.metadata.name));
  EXPECT_EQ(source_->Get(kCm, "shop-mod", "settings")->at("data").at("mode"), "restored");
  EXPECT_EQ(source_->Get(kCm, "shop-mod", "db-config")->at("data").at("size"), "10");

  // A missing modifier ConfigMap fails the restore with a clear reason.
  api::Restore missing = Restore(*source_, b, [](api::RestoreSpec& s) {
    s.resource_modifier = api::TypedLocalObjectReference{std::nullopt, "configmap", "absent"};
  });
  EXPECT_EQ(missing.status.phase, api::RestorePhase::kFailedValidation);
  ASSERT_EQ(missing.status.validation_errors.size(), 1u);
  EXPECT_THAT(missing.status.validation_errors[0], HasSubstr("absent"));
}

TEST_F(RestorerTest, InvalidSpecsFailValidationWithEveryProblem) {
  api::Backup b = Backup(*source_, {"shop"});
  api::Restore r = Restore(*source_, b, [](api::RestoreSpec& s) {
    s.schedule_name = "nightly";
    s.existing_resource_policy = "replace";
    s.included_resources = {"nodes"};
  });
  EXPECT_EQ(r.status.phase, api::RestorePhase::kFailedValidation);
  EXPECT_EQ(r.status.validation_errors.size(), 3u) << ::testing::PrintToString(r.status.validation_errors);
  b.status.phase = api::BackupPhase::kFailed;
  api::Restore failed_backup = Restore(*source_, b);
  EXPECT_EQ(failed_backup.status.phase, api::RestorePhase::kFailedValidation);
  EXPECT_THAT(failed_backup.status.validation_errors.at(0), HasSubstr("Failed"));
}

// scheduleName: the Completed backup of that schedule that started last; backupName: that one.
TEST_F(RestorerTest, FindsTheBackupOfANameOrOfASchedule) {
  auto put = [&](const std::string& name, const std::string& schedule, const std::string& phase,
                 const std::string& start) {
    std::string labels = schedule.empty() ? "{}" : R"({"velero.io/schedule-name":")" + schedule + R"("})";
    ASSERT_TRUE(store_
                    ->PutBackupMetadata(name, R"({"apiVersion":"velero.io/v1","kind":"Backup","metadata":{"name":")" +
                                                  name + R"(","namespace":"velero","labels":)" + labels +
                                                  R"(},"spec":{},"status":{"phase":")" + phase +
                                                  R"(","startTimestamp":")" + start + R"("}})")
                    .ok());
  };
  put("nightly-1", "nightly", "Completed", "2026-01-01T02:00:00Z");
  put("nightly-2", "nightly", "Completed", "2026-01-02T02:00:00Z");
  put("nightly-3", "nightly", "Failed", "2026-01-03T02:00:00Z");
  put("weekly-1", "weekly", "Completed", "2026-01-04T02:00:00Z");
  put("manual", "", "Completed", "2026-01-05T02:00:00Z");
  api::RestoreSpec by_schedule;
  by_schedule.schedule_name = "nightly";
  auto found = FindBackupToRestore(*store_, by_schedule);
  ASSERT_TRUE(found.ok()) << found.status();
  EXPECT_EQ(found->metadata.name, "nightly-2");
  api::RestoreSpec by_name;
  by_name.backup_name = "manual";
  EXPECT_EQ(FindBackupToRestore(*store_, by_name)->metadata.name, "manual");
  by_schedule.schedule_name = "hourly";
  EXPECT_TRUE(absl::IsNotFound(FindBackupToRestore(*store_, by_schedule).status()));
  by_name.backup_name = "nope";
  EXPECT_TRUE(absl::IsNotFound(FindBackupToRestore(*store_, by_name).status()));
}

// A backup whose tarball is hostile, missing, or of an unknown format fails with a clear reason
// and restores nothing.
TEST_F(RestorerTest, BadBackupsFailClearly) {
  api::Backup b;
  b.metadata.name = "bad";
  b.metadata.namespace_ = "velero";
  b.status.phase = api::BackupPhase::kCompleted;
  api::Restore missing = Restore(*source_, b);
  EXPECT_EQ(missing.status.phase, api::RestorePhase::kFailed);
  EXPECT_THAT(missing.status.failure_reason, HasSubstr("downloading"));

  // ../ in an entry name: a hand-made tar (the writer refuses such paths).
  std::string tar(1024 + 512, '\0');
  const std::string name = "resources/configmaps/namespaces/x/../../../../evil.json";
  std::copy(name.begin(), name.end(), tar.begin());
  std::memcpy(&tar[100], "0000600", 7);
  std::memcpy(&tar[108], "0000000", 7);
  std::memcpy(&tar[116], "0000000", 7);
  std::memcpy(&tar[124], "00000000002", 11);
  std::memcpy(&tar[136], "00000000000", 11);
  tar[156] = '0';
  std::memcpy(&tar[257], "ustar\0" "00", 8);
  std::memset(&tar[148], ' ', 8);
  unsigned sum = 0;
  for (int i = 0; i < 512; ++i) sum += static_cast<unsigned char>(tar[i]);
  std::snprintf(&tar[148], 8, "%06o", sum);
  tar[512] = '{';
  tar[513] = '}';
  tar.append(1024, '\0');
  auto body = StringSource(Gzip(tar));
  ASSERT_TRUE(store_->PutBackupFile("bad", storage::BackupFile::kContents, *body).ok());
  api::Restore hostile = Restore(*source_, b);
  EXPECT_EQ(hostile.status.phase, api::RestorePhase::kFailed);
  EXPECT_THAT(hostile.status.failure_reason, HasSubstr("cannot be read"));
  EXPECT_FALSE(std::filesystem::exists(bucket_dir_ / "evil.json"));

  // A future format version.
  std::string future;
  {
    auto sink = StringSink(&future);
    auto writer = archive::ArchiveWriter::Create(sink.get(), archive::WriterOptions{});
    ASSERT_TRUE(writer.ok());
    ASSERT_TRUE((*writer)->Add("metadata/version", "2.0.0\n").ok());
    ASSERT_TRUE((*writer)->Finish().ok());
  }
  auto future_body = StringSource(future);
  ASSERT_TRUE(store_->PutBackupFile("bad", storage::BackupFile::kContents, *future_body).ok());
  api::Restore unknown = Restore(*source_, b);
  EXPECT_EQ(unknown.status.phase, api::RestorePhase::kFailed);
  EXPECT_THAT(unknown.status.failure_reason, HasSubstr("2.0.0"));
  // The restore's log and results are in the bucket even so.
  std::string gz;
  auto sink = StringSink(&gz);
  EXPECT_TRUE(store_->GetRestoreFile(unknown.metadata.name, storage::RestoreFile::kLog, *sink).ok());
  EXPECT_THAT(*Gunzip(gz), HasSubstr("2.0.0"));
}

// Restore hooks through the engine: init containers from the spec are added to restored pods,
// exec hooks from annotations run once the pods' containers run, and a failing one makes the
// restore PartiallyFailed with the failure in its results and status.hookStatus.
TEST_F(RestorerTest, RunsRestoreHooks) {
  Cluster& c = *source_;
  c.Create(kNs, "", R"({"apiVersion":"v1","kind":"Namespace","metadata":{"name":"hooked"}})");
  c.Create(kPod, "hooked", R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"good","annotations":{
    "post.hook.restore.velero.io/command":"[\"true\"]"}},
    "spec":{"containers":[{"name":"main","image":"busybox"}]}})");
  c.Create(kPod, "hooked", R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"bad","annotations":{
    "post.hook.restore.velero.io/command":"[\"false\"]"}},
    "spec":{"containers":[{"name":"main","image":"busybox"}]}})");
  api::Backup b = Backup(c, {"hooked"});
  c.DeleteNamespaceAndWait("hooked");
  api::Restore r = Restore(c, b, [](api::RestoreSpec& s) {
    api::RestoreResourceHookSpec spec;
    spec.name = "prepare";
    spec.included_namespaces = {"hooked"};
    api::RestoreResourceHook init;
    init.init = api::InitRestoreHook{{J(R"({"name":"prep","image":"busybox","command":["true"]})")},
                                     api::Duration(0)};
    spec.post_hooks.push_back(init);
    s.hooks.resources.push_back(spec);
  });
  EXPECT_EQ(r.status.phase, api::RestorePhase::kPartiallyFailed) << r.status.failure_reason;
  ASSERT_TRUE(r.status.hook_status.has_value());
  EXPECT_EQ(r.status.hook_status->hooks_attempted, 2);
  EXPECT_EQ(r.status.hook_status->hooks_failed, 1);
  std::string errors = json::serialize(Results(r.metadata.name).at("errors"));
  EXPECT_THAT(errors, HasSubstr("hooked"));
  EXPECT_THAT(errors, HasSubstr("exit code 1"));
  for (const char* name : {"good", "bad"}) {
    auto pod = c.Get(kPod, "hooked", name);
    ASSERT_TRUE(pod.ok()) << name;
    EXPECT_EQ(pod->at("spec").at("initContainers").at(0).at("name"), "prep") << name;
  }
}

// A backup laid out exactly as Velero writes it (test/testdata/velero) restores into an empty
// cluster with Velero's rules: completed workloads, events and token secrets skipped, pods and
// services reset, the CRD before its custom resource, the PV bound to the restored claim.
TEST_F(RestorerTest, RestoresABackupWrittenByVelero) {
  const std::filesystem::path fixture =
      std::filesystem::path(LIFEBOAT_SOURCE_DIR) / "test/testdata/velero/velero-fixture-backup";
  std::filesystem::copy(fixture / "backups", bucket_dir_ / "bucket" / "backups",
                        std::filesystem::copy_options::recursive);
  auto metadata = store_->GetBackupMetadata("velero-fixture-backup");
  ASSERT_TRUE(metadata.ok()) << metadata.status();
  auto backup = api::BackupFromJson(J(*metadata));
  ASSERT_TRUE(backup.ok()) << backup.status();
  auto target = Cluster::Start();
  ASSERT_NE(target, nullptr);
  api::Restore r = Restore(*target, *backup);
  ASSERT_EQ(r.status.phase, api::RestorePhase::kCompleted)
      << r.status.failure_reason << " " << json::serialize(Results(r.metadata.name));
  EXPECT_EQ(r.status.errors, 0);
  target->discovery->Refresh().IgnoreError();
  // What Velero restores.
  for (const auto& [gvr, name] : std::vector<std::pair<GroupVersionResource, std::string>>{
           {kDeploy, "web"}, {kSvc, "web"}, {kSvc, "web-headless"}, {kCm, "shop-config"},
           {kSecret, "shop-db-credentials"}, {kSa, "shop-sa"}, {kRole, "shop-reader"},
           {kRoleBinding, "shop-reader-binding"}, {kIngress, "web"}, {kPvc, "data"},
           {kWidget, "blue-widget"}, {kJob, "report"}, {kPod, "web-6d8f7b9c54-4xkqp"},
           {kPod, "report-tz9sd"}}) {
    auto got = target->Get(gvr, "shop", name);
    EXPECT_TRUE(got.ok()) << gvr.ToString() << " " << name << ": " << got.status();
  }
  EXPECT_TRUE(target->Get(kCrd, "", "widgets.example.com").ok());
  // What it skips: the completed job and its pod, the events, the token secret of shop-sa.
  EXPECT_TRUE(absl::IsNotFound(target->Get(kJob, "shop", "db-migrate").status()));
  EXPECT_TRUE(absl::IsNotFound(target->Get(kPod, "shop", "db-migrate-7fq2m").status()));
  EXPECT_TRUE(absl::IsNotFound(target->Get(kSecret, "shop", "shop-sa-token-7xk2p").status()));
  auto events = target->client->List({"", "v1", "events"}, "shop");
  ASSERT_TRUE(events.ok());
  for (const auto& e : events->items) {
    EXPECT_NE(kube::ObjectName(e), "db-migrate.18050e6a3c9d2f41");
  }
  // Reset as Velero resets them.
  auto svc = target->Get(kSvc, "shop", "web");
  EXPECT_NE(JsonString(*svc, {"spec", "clusterIP"}).value_or(""), "10.96.142.17");
  EXPECT_EQ(JsonString(*target->Get(kSvc, "shop", "web-headless"), {"spec", "clusterIP"}), "None");
  auto report = target->Get(kPod, "shop", "report-tz9sd");
  for (const auto& v : report->at("spec").at("volumes").as_array()) {
    EXPECT_NE(v.at("name"), "shop-sa-token-7xk2p");
  }
  auto job = target->Get(kJob, "shop", "report");
  // The old controller-uid was dropped, so the API server set the new job's own.
  EXPECT_EQ(JsonString(*job, {"spec", "selector", "matchLabels", "batch.kubernetes.io/controller-uid"})
                .value_or(""),
            std::string(kube::ObjectUid(*job)));
  // The restore's resource list and results, in Velero's formats (docs/formats/restore-files.md),
  // are the golden ones. LIFEBOAT_UPDATE_GOLDEN=1 rewrites them. The objects a new namespace's
  // controllers create themselves (the `default` service account, `kube-root-ca.crt`) race with
  // the restore — created or already there — so they are left out of the comparison.
  auto racy = [](std::string_view text) {
    return text.find("shop/default(") != std::string_view::npos ||
           text.find("kube-root-ca.crt") != std::string_view::npos ||
           text.find("ServiceAccount:default ") != std::string_view::npos;
  };
  std::function<void(json::value&)> drop_racy = [&](json::value& v) {
    if (v.is_object()) {
      for (auto it = v.as_object().begin(); it != v.as_object().end();) {
        drop_racy(it->value());
        const bool empty_list = it->value().is_array() && it->value().as_array().empty();
        const bool empty_object = it->value().is_object() && it->value().as_object().empty() &&
                                  it->key() != "errors" && it->key() != "warnings";
        it = empty_list || empty_object ? v.as_object().erase(it) : it + 1;
      }
    } else if (v.is_array()) {
      json::array kept;
      for (json::value& e : v.as_array()) {
        if (!(e.is_string() && racy(e.as_string()))) kept.push_back(std::move(e));
      }
      v = std::move(kept);
    }
  };
  const std::filesystem::path golden = std::filesystem::path(LIFEBOAT_SOURCE_DIR) / "test/testdata/restore";
  for (auto [file, got] : std::vector<std::pair<std::string, json::value>>{
           {"velero-fixture-resource-list.json", ResourceList(r.metadata.name)},
           {"velero-fixture-results.json", Results(r.metadata.name)}}) {
    drop_racy(got);
    if (std::getenv("LIFEBOAT_UPDATE_GOLDEN") != nullptr) {
      ASSERT_TRUE(WriteFileAtomically(golden / file, GoJsonIndent(got) + "\n").ok());
    }
    auto want = ReadFile(golden / file);
    ASSERT_TRUE(want.ok()) << want.status();
    json::value expected = J(*want);
    drop_racy(expected);
    EXPECT_EQ(got, expected) << file << ":\n" << GoJsonIndent(got);
  }
  auto pv = target->Get(kPv, "", "pvc-5b0c1f2e-0001-4c6d-9e8f-a11ce0000001");
  ASSERT_TRUE(pv.ok());
  EXPECT_EQ(JsonString(*pv, {"spec", "claimRef", "uid"}).value_or(""),
            std::string(kube::ObjectUid(*target->Get(kPvc, "shop", "data"))));
}

// A PV whose data the backup kept by other means (here: the volume info says a file-system
// backup) is not restored: its claim provisions a new volume.
TEST_F(RestorerTest, VolumesBackedUpByOtherMeansAreProvisionedAnew) {
  const std::filesystem::path fixture =
      std::filesystem::path(LIFEBOAT_SOURCE_DIR) / "test/testdata/velero/velero-fixture-backup";
  std::filesystem::copy(fixture / "backups", bucket_dir_ / "bucket" / "backups",
                        std::filesystem::copy_options::recursive);
  const std::string pv = "pvc-5b0c1f2e-0001-4c6d-9e8f-a11ce0000001";
  auto info = StringSource(Gzip(R"([{"pvcName":"data","pvcNamespace":"shop","pvName":")" + pv +
                                R"(","backupMethod":"PodVolumeBackup","snapshotDataMoved":false,)"
                                R"("preserveLocalSnapshot":false,"skipped":false,"result":"succeeded"}])"));
  ASSERT_TRUE(
      store_->PutBackupFile("velero-fixture-backup", storage::BackupFile::kVolumeInfo, *info).ok());
  auto backup = api::BackupFromJson(J(*store_->GetBackupMetadata("velero-fixture-backup")));
  ASSERT_TRUE(backup.ok());
  auto target = Cluster::Start();
  ASSERT_NE(target, nullptr);
  api::Restore r = Restore(*target, *backup, [](api::RestoreSpec& s) {
    s.included_resources = {"persistentvolumeclaims", "persistentvolumes", "namespaces"};
  });
  ASSERT_EQ(r.status.phase, api::RestorePhase::kCompleted) << json::serialize(Results(r.metadata.name));
  EXPECT_TRUE(absl::IsNotFound(target->Get(kPv, "", pv).status()));
  auto pvc = target->Get(kPvc, "shop", "data");
  ASSERT_TRUE(pvc.ok()) << pvc.status();
  EXPECT_NE(JsonString(*pvc, {"spec", "volumeName"}).value_or(""), pv);
}

}  // namespace
}  // namespace lifeboat::restore
