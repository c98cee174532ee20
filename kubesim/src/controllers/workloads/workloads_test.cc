// End-to-end tests of the workload controllers: a Cluster in memory, the controllers running on
// their own threads, and polling (with a generous deadline) until the cluster reaches the state
// the controllers should bring it to. Nothing asserts on timing.

#include <chrono>
#include <filesystem>
#include <functional>
#include <thread>

#include "gtest/gtest.h"
#include "kubesim/src/api/cluster.h"
#include "kubesim/src/api/object_util.h"
#include "kubesim/src/controllers/controller.h"
#include "kubesim/src/controllers/workloads/util.h"
#include "kubesim/src/controllers/workloads/workloads_internal.h"

namespace kubesim::workloads {
namespace {

namespace fs = std::filesystem;

class WorkloadsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = *Store::Open({});
    cluster_ = std::make_unique<Cluster>(store_.get(), &registry_, Cluster::Options{});
    ASSERT_TRUE(cluster_->Bootstrap().ok());
    dir_ = fs::temp_directory_path() / ("kubesim-workloads-test-" + RandomSuffix(10));
    fs::create_directories(dir_);
    ControllerContext ctx;
    ctx.cluster = cluster_.get();
    ctx.data_dir = dir_;
    ctx.nodes = 3;
    runner_ = std::make_unique<ControllerRunner>(store_.get(), std::chrono::milliseconds(500));
    runner_->Add(NewNodeController(ctx));
    runner_->Add(NewScheduler(ctx));
    runner_->Add(NewKubelet(ctx));
    runner_->Add(NewReplicaSetController(ctx));
    runner_->Add(NewDeploymentController(ctx));
    runner_->Add(NewStatefulSetController(ctx));
    runner_->Add(NewDaemonSetController(ctx));
    runner_->Add(NewJobController(ctx));
    runner_->Start();
    ASSERT_TRUE(WaitFor([&] { return store_->Count("nodes") == 3; }));
  }

  void TearDown() override {
    runner_->Stop();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  ResourceType Type(const std::string& group, const std::string& resource) {
    return registry_.StorageType(group, resource)->type;
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

  std::vector<ObjectPtr> Pods(const std::string& label, const std::string& value) {
    return ListObjects(*store_, "pods", "default", [&](const StoredObject& o) {
      return GetString(o.object, {"metadata", "labels", label}) == value;
    });
  }

  std::unique_ptr<Store> store_;
  Registry registry_;
  std::unique_ptr<Cluster> cluster_;
  std::unique_ptr<ControllerRunner> runner_;
  fs::path dir_;
  std::string first_revision_;
};

json::value Template(const std::string& app, const std::string& restart = "Always") {
  return json::object{
      {"metadata", json::object{{"labels", json::object{{"app", app}}}}},
      {"spec", json::object{{"restartPolicy", restart},
                            {"containers", json::array{json::object{{"name", "main"}, {"image", "nginx:1.27"}}}}}}};
}

TEST_F(WorkloadsTest, NodesAreRegisteredAndRecreated) {
  ASSERT_TRUE(WaitFor([&] { return store_->Count("nodes") == 3; }));
  ObjectPtr node = store_->Get("nodes", "", "kubesim-node-2");
  ASSERT_NE(node, nullptr);
  EXPECT_EQ(GetString(node->object, {"metadata", "labels", "kubernetes.io/hostname"}), "kubesim-node-2");
  EXPECT_EQ(GetString(node->object, {"status", "allocatable", "pods"}), "110");
  EXPECT_EQ(GetString(node->object, {"status", "nodeInfo", "kubeletVersion"}), "v1.32.0");
  const json::object* ready = FindCondition(*Find(node->object, {"status"}), "Ready");
  ASSERT_NE(ready, nullptr);
  EXPECT_EQ(ready->at("status"), "True");
  EXPECT_EQ(ready->at("reason"), "KubeletReady");

  ASSERT_TRUE(cluster_->Delete(Type("", "nodes"), "", "kubesim-node-2", {}).ok());
  EXPECT_TRUE(WaitFor([&] { return store_->Get("nodes", "", "kubesim-node-2") != nullptr; }));
}

TEST_F(WorkloadsTest, DeploymentPodsRunWithVolumesAndLogs) {
  json::value cm = json::object{{"apiVersion", "v1"}, {"kind", "ConfigMap"},
                                {"metadata", json::object{{"name", "settings"}}},
                                {"data", json::object{{"greeting", "hello"}}}};
  ASSERT_TRUE(cluster_->Create(Type("", "configmaps"), "default", cm, {}).ok());
  json::value tmpl = Template("web");
  tmpl.as_object()["spec"].as_object()["volumes"] =
      json::array{json::object{{"name", "cfg"}, {"configMap", json::object{{"name", "settings"}}}},
                  json::object{{"name", "scratch"}, {"emptyDir", json::object()}}};
  json::value d = json::object{
      {"apiVersion", "apps/v1"}, {"kind", "Deployment"},
      {"metadata", json::object{{"name", "web"}}},
      {"spec", json::object{{"replicas", 3},
                            {"selector", json::object{{"matchLabels", json::object{{"app", "web"}}}}},
                            {"template", tmpl}}}};
  auto created = cluster_->Create(Type("apps", "deployments"), "default", d, {});
  ASSERT_TRUE(created.ok()) << created.status();
  ASSERT_TRUE(WaitFor([&] {
    auto pods = Pods("app", "web");
    return pods.size() == 3 && std::all_of(pods.begin(), pods.end(), [](const ObjectPtr& p) {
             return PodPhase(p->object) == "Running" && IsPodReady(p->object);
           });
  }));
  std::set<std::string> nodes;
  for (const ObjectPtr& p : Pods("app", "web")) {
    nodes.insert(GetString(p->object, {"spec", "nodeName"}));
    EXPECT_EQ(GetString(p->object, {"status", "podIP"}).rfind("10.244.", 0), 0u);
    EXPECT_EQ(GetString(p->object, {"status", "hostIP"}).rfind("10.0.0.", 0), 0u);
    const json::array& cs = GetArray(p->object, {"status", "containerStatuses"});
    ASSERT_EQ(cs.size(), 1u);
    EXPECT_TRUE(GetBool(cs[0], {"ready"}, false));
    EXPECT_EQ(GetString(cs[0], {"containerID"}).rfind("kubesim://", 0), 0u);
    const fs::path pod_dir = dir_ / "kubelet" / "pods" / MetaString(p->object, "uid");
    EXPECT_TRUE(fs::is_directory(pod_dir / "volumes" / "kubernetes.io~empty-dir" / "scratch"));
    EXPECT_TRUE(fs::is_regular_file(pod_dir / "volumes" / "kubernetes.io~configmap" / "cfg" / "greeting"));
    EXPECT_TRUE(fs::is_regular_file(pod_dir / "logs" / "main.log"));
  }
  // Least-loaded placement spreads three pods over three empty nodes.
  EXPECT_EQ(nodes.size(), 3u);
  ASSERT_TRUE(WaitFor([&] {
    ObjectPtr dep = store_->Get("deployments.apps", "default", "web");
    return dep != nullptr && GetInt(dep->object, {"status", "availableReplicas"}, 0) == 3;
  }));

  // A deleted pod's kubelet directory goes with it.
  ObjectPtr victim = Pods("app", "web").front();
  const fs::path victim_dir = dir_ / "kubelet" / "pods" / MetaString(victim->object, "uid");
  ASSERT_TRUE(cluster_->Delete(Type("", "pods"), "default", victim->name, {}).ok());
  EXPECT_TRUE(WaitFor([&] { return !fs::exists(victim_dir); }));
}

TEST_F(WorkloadsTest, UnschedulablePodGetsCondition) {
  json::value pod = json::object{
      {"apiVersion", "v1"}, {"kind", "Pod"},
      {"metadata", json::object{{"name", "picky"}}},
      {"spec", json::object{{"nodeSelector", json::object{{"disk", "ssd"}}},
                            {"containers", json::array{json::object{{"name", "c"}, {"image", "busybox"}}}}}}};
  ASSERT_TRUE(cluster_->Create(Type("", "pods"), "default", pod, {}).ok());
  ASSERT_TRUE(WaitFor([&] {
    ObjectPtr p = store_->Get("pods", "default", "picky");
    const json::value* st = p ? Find(p->object, {"status"}) : nullptr;
    const json::object* c = st ? FindCondition(*st, "PodScheduled") : nullptr;
    return c != nullptr && c->at("status") == "False" && c->at("reason") == "Unschedulable";
  }));
  EXPECT_EQ(GetString(store_->Get("pods", "default", "picky")->object, {"spec", "nodeName"}), "");
}

TEST_F(WorkloadsTest, StatefulSetCreatesOrdinalPodsAndClaims) {
  json::value claim = json::object{
      {"metadata", json::object{{"name", "data"}}},
      {"spec", json::object{{"accessModes", json::array{"ReadWriteOnce"}},
                            {"resources", json::object{{"requests", json::object{{"storage", "1Gi"}}}}}}}};
  json::value sts = json::object{
      {"apiVersion", "apps/v1"}, {"kind", "StatefulSet"},
      {"metadata", json::object{{"name", "db"}}},
      {"spec", json::object{{"replicas", 2},
                            {"serviceName", "db"},
                            {"podManagementPolicy", "Parallel"},
                            {"selector", json::object{{"matchLabels", json::object{{"app", "db"}}}}},
                            {"template", Template("db")},
                            {"volumeClaimTemplates", json::array{claim}}}}};
  auto created = cluster_->Create(Type("apps", "statefulsets"), "default", sts, {});
  ASSERT_TRUE(created.ok()) << created.status();
  ASSERT_TRUE(WaitFor([&] {
    return store_->Get("persistentvolumeclaims", "default", "data-db-0") != nullptr &&
           store_->Get("persistentvolumeclaims", "default", "data-db-1") != nullptr &&
           store_->Get("pods", "default", "db-0") != nullptr && store_->Get("pods", "default", "db-1") != nullptr;
  }));
  ObjectPtr pod = store_->Get("pods", "default", "db-1");
  EXPECT_EQ(GetString(pod->object, {"spec", "hostname"}), "db-1");
  EXPECT_EQ(GetString(pod->object, {"spec", "subdomain"}), "db");
  EXPECT_EQ(GetString(pod->object, {"metadata", "labels", "statefulset.kubernetes.io/pod-name"}), "db-1");
  EXPECT_EQ(GetString(pod->object, {"metadata", "labels", "apps.kubernetes.io/pod-index"}), "1");
  EXPECT_FALSE(GetString(pod->object, {"metadata", "labels", "controller-revision-hash"}).empty());
  const json::array& volumes = GetArray(pod->object, {"spec", "volumes"});
  ASSERT_EQ(volumes.size(), 1u);
  EXPECT_EQ(GetString(volumes[0], {"persistentVolumeClaim", "claimName"}), "data-db-1");
  ObjectPtr pvc = store_->Get("persistentvolumeclaims", "default", "data-db-1");
  EXPECT_EQ(GetString(pvc->object, {"metadata", "labels", "app"}), "db");
  EXPECT_FALSE(ControllerOf(pvc->object).has_value());

  // Unbound claims keep the pods Pending; binding one (as the PV controller would) lets it run
  // with its volume linked under the data dir.
  ObjectPtr before = store_->Get("pods", "default", "db-0");
  EXPECT_NE(PodPhase(before->object), "Running");
  json::value bound = store_->Get("persistentvolumeclaims", "default", "data-db-0")->object;
  bound.as_object()["spec"].as_object()["volumeName"] = "pv-db-0";
  auto upd = cluster_->Update(Type("", "persistentvolumeclaims"), "default", "data-db-0", bound, {});
  EXPECT_TRUE(upd.ok()) << upd.status();
  if (upd.ok()) {
    ASSERT_TRUE(WaitFor([&] {
      ObjectPtr p = store_->Get("pods", "default", "db-0");
      return p != nullptr && PodPhase(p->object) == "Running";
    }));
    const std::string uid = MetaString(store_->Get("pods", "default", "db-0")->object, "uid");
    const fs::path link = dir_ / "kubelet" / "pods" / uid / "volumes" / "kubernetes.io~csi" / "pv-db-0" / "mount";
    EXPECT_TRUE(fs::is_symlink(link));
    EXPECT_TRUE(fs::is_directory(dir_ / "volumes" / "pv-db-0"));
  }
  ASSERT_TRUE(WaitFor([&] {
    ObjectPtr s = store_->Get("statefulsets.apps", "default", "db");
    return s != nullptr && GetInt(s->object, {"status", "replicas"}, -1) == 2 &&
           !GetString(s->object, {"status", "updateRevision"}).empty();
  }));

  // Scaling down removes the highest ordinal and keeps its claim.
  ASSERT_TRUE(WaitFor([&] {
    json::value s = store_->Get("statefulsets.apps", "default", "db")->object;
    s.as_object()["spec"].as_object()["replicas"] = 1;
    return cluster_->Update(Type("apps", "statefulsets"), "default", "db", s, {}).ok();
  }));
  EXPECT_TRUE(WaitFor([&] { return store_->Get("pods", "default", "db-1") == nullptr; }));
  EXPECT_NE(store_->Get("persistentvolumeclaims", "default", "data-db-1"), nullptr);
}

// A restore brings a StatefulSet back with its ControllerRevision but without owner references:
// the controller adopts the orphan revision (as ClaimControllerRevisions does) instead of
// failing to create one of the same name, and the set gets its status again.
TEST_F(WorkloadsTest, StatefulSetAdoptsItsOrphanedRevision) {
  json::value sts = json::object{
      {"apiVersion", "apps/v1"}, {"kind", "StatefulSet"},
      {"metadata", json::object{{"name", "web"}}},
      {"spec", json::object{{"replicas", 1},
                            {"serviceName", "web"},
                            {"selector", json::object{{"matchLabels", json::object{{"app", "web"}}}}},
                            {"template", Template("web")}}}};
  ASSERT_TRUE(cluster_->Create(Type("apps", "statefulsets"), "default", sts, {}).ok());
  std::string revision;
  ASSERT_TRUE(WaitFor([&] {
    ObjectPtr s = store_->Get("statefulsets.apps", "default", "web");
    revision = s ? GetString(s->object, {"status", "updateRevision"}) : "";
    return !revision.empty();
  }));
  // What a restore creates: the revision without owner references, then the set anew.
  json::value rev = store_->Get("controllerrevisions.apps", "default", revision)->object;
  runner_->Stop();
  ASSERT_TRUE(cluster_->Delete(Type("apps", "statefulsets"), "default", "web", {}).ok());
  ASSERT_TRUE(cluster_->Delete(Type("apps", "controllerrevisions"), "default", revision, {}).ok());
  json::object& md = rev.as_object()["metadata"].as_object();
  for (const char* k : {"ownerReferences", "uid", "resourceVersion", "creationTimestamp"}) md.erase(k);
  ASSERT_TRUE(cluster_->Create(Type("apps", "controllerrevisions"), "default", rev, {}).ok());
  ASSERT_TRUE(cluster_->Create(Type("apps", "statefulsets"), "default", sts, {}).ok());
  runner_->Start();
  ASSERT_TRUE(WaitFor([&] {
    ObjectPtr s = store_->Get("statefulsets.apps", "default", "web");
    return s != nullptr && GetString(s->object, {"status", "updateRevision"}) == revision;
  }));
  ObjectPtr adopted = store_->Get("controllerrevisions.apps", "default", revision);
  ASSERT_NE(adopted, nullptr);
  auto owner = ControllerOf(adopted->object);
  ASSERT_TRUE(owner.has_value());
  EXPECT_EQ(owner->uid, MetaString(store_->Get("statefulsets.apps", "default", "web")->object, "uid"));
}

TEST_F(WorkloadsTest, StatefulSetOrderedReadyRollsUpdates) {
  json::value sts = json::object{
      {"apiVersion", "apps/v1"}, {"kind", "StatefulSet"},
      {"metadata", json::object{{"name", "ord"}}},
      {"spec", json::object{{"replicas", 3},
                            {"serviceName", "ord"},
                            {"selector", json::object{{"matchLabels", json::object{{"app", "ord"}}}}},
                            {"template", Template("ord")}}}};
  ASSERT_TRUE(cluster_->Create(Type("apps", "statefulsets"), "default", sts, {}).ok());
  auto ready = [&](int64_t n, bool rolled) {
    ObjectPtr s = store_->Get("statefulsets.apps", "default", "ord");
    if (s == nullptr) return false;
    const json::value& o = s->object;
    return GetInt(o, {"status", "readyReplicas"}, 0) == n && GetInt(o, {"status", "updatedReplicas"}, 0) == n &&
           GetInt(o, {"status", "currentReplicas"}, 0) == n &&
           GetString(o, {"status", "currentRevision"}) == GetString(o, {"status", "updateRevision"}) &&
           GetInt(o, {"status", "observedGeneration"}, 0) == GetInt(o, {"metadata", "generation"}, -1) &&
           (!rolled || GetString(o, {"status", "updateRevision"}) != first_revision_);
  };
  ASSERT_TRUE(WaitFor([&] { return ready(3, false); }));
  first_revision_ = GetString(store_->Get("statefulsets.apps", "default", "ord")->object, {"status", "updateRevision"});
  for (const char* name : {"ord-0", "ord-1", "ord-2"}) {
    ObjectPtr p = store_->Get("pods", "default", name);
    ASSERT_NE(p, nullptr) << name;
    EXPECT_EQ(GetString(p->object, {"metadata", "labels", "controller-revision-hash"}), first_revision_);
  }
  ASSERT_TRUE(WaitFor([&] {
    json::value s = store_->Get("statefulsets.apps", "default", "ord")->object;
    s.as_object()["spec"].as_object()["template"].as_object()["spec"].as_object()["containers"].as_array()[0]
        .as_object()["image"] = "nginx:1.28";
    return cluster_->Update(Type("apps", "statefulsets"), "default", "ord", s, {}).ok();
  }));
  ASSERT_TRUE(WaitFor([&] { return ready(3, true); }));
  for (const char* name : {"ord-0", "ord-1", "ord-2"}) {
    ObjectPtr p = store_->Get("pods", "default", name);
    ASSERT_NE(p, nullptr) << name;
    EXPECT_EQ(GetString(GetArray(p->object, {"spec", "containers"})[0], {"image"}), "nginx:1.28");
  }
  EXPECT_EQ(ListObjects(*store_, "controllerrevisions.apps", "default", [](const StoredObject& o) {
              return GetString(o.object, {"metadata", "labels", "app"}) == "ord";
            }).size(), 2u);
}

TEST_F(WorkloadsTest, DaemonSetRunsOnePodPerNode) {
  json::value ds = json::object{
      {"apiVersion", "apps/v1"}, {"kind", "DaemonSet"},
      {"metadata", json::object{{"name", "agent"}}},
      {"spec", json::object{{"selector", json::object{{"matchLabels", json::object{{"app", "agent"}}}}},
                            {"template", Template("agent")}}}};
  auto created = cluster_->Create(Type("apps", "daemonsets"), "default", ds, {});
  ASSERT_TRUE(created.ok()) << created.status();
  ASSERT_TRUE(WaitFor([&] {
    ObjectPtr d = store_->Get("daemonsets.apps", "default", "agent");
    return d != nullptr && GetInt(d->object, {"status", "desiredNumberScheduled"}, 0) == 3 &&
           GetInt(d->object, {"status", "numberReady"}, 0) == 3 &&
           GetInt(d->object, {"status", "updatedNumberScheduled"}, 0) == 3;
  }));
  std::set<std::string> nodes;
  for (const ObjectPtr& p : Pods("app", "agent")) nodes.insert(GetString(p->object, {"spec", "nodeName"}));
  EXPECT_EQ(nodes.size(), 3u);

  // A new template rolls over every node.
  ASSERT_TRUE(WaitFor([&] {
    json::value d = store_->Get("daemonsets.apps", "default", "agent")->object;
    d.as_object()["spec"].as_object()["template"].as_object()["spec"].as_object()["containers"].as_array()[0]
        .as_object()["image"] = "nginx:1.28";
    return cluster_->Update(Type("apps", "daemonsets"), "default", "agent", d, {}).ok();
  }));
  ASSERT_TRUE(WaitFor([&] {
    auto pods = Pods("app", "agent");
    ObjectPtr d = store_->Get("daemonsets.apps", "default", "agent");
    return pods.size() == 3 && GetInt(d->object, {"status", "updatedNumberScheduled"}, 0) == 3 &&
           GetInt(d->object, {"status", "numberReady"}, 0) == 3 &&
           std::all_of(pods.begin(), pods.end(), [](const ObjectPtr& p) {
             return GetString(GetArray(p->object, {"spec", "containers"})[0], {"image"}) == "nginx:1.28" &&
                    PodPhase(p->object) == "Running";
           });
  }));

  // Nodes labelled away from the selector lose their daemon.
  ASSERT_TRUE(WaitFor([&] {
    json::value d = store_->Get("daemonsets.apps", "default", "agent")->object;
    d.as_object()["spec"].as_object()["template"].as_object()["spec"].as_object()["nodeSelector"] =
        json::object{{"kubernetes.io/hostname", "kubesim-node-1"}};
    return cluster_->Update(Type("apps", "daemonsets"), "default", "agent", d, {}).ok();
  }));
  ASSERT_TRUE(WaitFor([&] {
    auto pods = Pods("app", "agent");
    ObjectPtr d = store_->Get("daemonsets.apps", "default", "agent");
    return pods.size() == 1 && GetString(pods[0]->object, {"spec", "nodeName"}) == "kubesim-node-1" &&
           GetInt(d->object, {"status", "desiredNumberScheduled"}, 0) == 1 &&
           GetInt(d->object, {"status", "numberReady"}, 0) == 1;
  }));
}

TEST_F(WorkloadsTest, JobCompletes) {
  json::value job = json::object{
      {"apiVersion", "batch/v1"}, {"kind", "Job"},
      {"metadata", json::object{{"name", "pi"}}},
      {"spec", json::object{{"completions", 2}, {"parallelism", 1}, {"template", Template("pi", "Never")}}}};
  auto created = cluster_->Create(Type("batch", "jobs"), "default", job, {});
  ASSERT_TRUE(created.ok()) << created.status();
  ASSERT_TRUE(WaitFor([&] {
    ObjectPtr j = store_->Get("jobs.batch", "default", "pi");
    const json::value* st = j ? Find(j->object, {"status"}) : nullptr;
    const json::object* c = st ? FindCondition(*st, "Complete") : nullptr;
    return c != nullptr && c->at("status") == "True";
  }));
  json::value j = store_->Get("jobs.batch", "default", "pi")->object;
  EXPECT_EQ(GetInt(j, {"status", "succeeded"}, 0), 2);
  EXPECT_FALSE(GetString(j, {"status", "completionTime"}).empty());
  EXPECT_FALSE(GetString(j, {"status", "startTime"}).empty());
  EXPECT_NE(FindCondition(*Find(j, {"status"}), "SuccessCriteriaMet"), nullptr);
  auto pods = Pods("batch.kubernetes.io/job-name", "pi");
  EXPECT_EQ(pods.size(), 2u);
  for (const ObjectPtr& p : pods) {
    EXPECT_EQ(PodPhase(p->object), "Succeeded");
    EXPECT_EQ(GetString(p->object, {"metadata", "labels", "job-name"}), "pi");
  }
}

TEST_F(WorkloadsTest, IndexedJobCompletesEveryIndex) {
  json::value job = json::object{
      {"apiVersion", "batch/v1"}, {"kind", "Job"},
      {"metadata", json::object{{"name", "idx"}}},
      {"spec", json::object{{"completions", 3}, {"parallelism", 3}, {"completionMode", "Indexed"},
                            {"template", Template("idx", "Never")}}}};
  ASSERT_TRUE(cluster_->Create(Type("batch", "jobs"), "default", job, {}).ok());
  ASSERT_TRUE(WaitFor([&] {
    ObjectPtr j = store_->Get("jobs.batch", "default", "idx");
    return j != nullptr && GetString(j->object, {"status", "completedIndexes"}) == "0-2" &&
           GetInt(j->object, {"status", "succeeded"}, 0) == 3;
  }));
  std::set<std::string> indexes;
  for (const ObjectPtr& p : Pods("batch.kubernetes.io/job-name", "idx")) {
    indexes.insert(GetString(p->object, {"metadata", "annotations", "batch.kubernetes.io/job-completion-index"}));
  }
  EXPECT_EQ(indexes, (std::set<std::string>{"0", "1", "2"}));
}

TEST_F(WorkloadsTest, SuspendedJobCreatesNoPods) {
  json::value job = json::object{
      {"apiVersion", "batch/v1"}, {"kind", "Job"},
      {"metadata", json::object{{"name", "later"}}},
      {"spec", json::object{{"suspend", true}, {"template", Template("later", "Never")}}}};
  ASSERT_TRUE(cluster_->Create(Type("batch", "jobs"), "default", job, {}).ok());
  ASSERT_TRUE(WaitFor([&] {
    ObjectPtr j = store_->Get("jobs.batch", "default", "later");
    const json::value* st = j ? Find(j->object, {"status"}) : nullptr;
    return st != nullptr && FindCondition(*st, "Suspended") != nullptr;
  }));
  EXPECT_TRUE(Pods("batch.kubernetes.io/job-name", "later").empty());
}

}  // namespace
}  // namespace kubesim::workloads
