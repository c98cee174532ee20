// The backup engine against a real kubesim and a local-directory bucket: filters, selectors,
// item actions pulling in related objects, the exclude label, the files uploaded, and the
// archive's items compared with what kubectl returns for the same objects.

#include "lifeboat/backup/backupper.h"

#include <atomic>
#include <cstdio>
#include <map>
#include <set>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lifeboat/archive/layout.h"
#include "lifeboat/archive/reader.h"
#include "lifeboat/common/gzip.h"
#include "lifeboat/common/json.h"
#include "lifeboat/kube/config.h"
#include "lifeboat/kube/object.h"
#include "lifeboat/storage/registry.h"
#include "src/backup/actions/builtin_actions.h"
#include "src/kube/testing/kubesim_cluster.h"
#include "src/kube/testing/kubesim_process.h"

namespace lifeboat::backup {
namespace {

using kube::testing::KubesimProcess;
using ::testing::AllOf;
using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

boost::json::value J(const std::string& text) {
  auto v = ParseJson(text);
  EXPECT_TRUE(v.ok()) << v.status() << " in " << text;
  return v.ok() ? *v : boost::json::value();
}

// The archive of backup `name`: entry path -> content.
std::map<std::string, std::string> ReadArchive(storage::BackupStore& store, const std::string& name) {
  std::string tgz;
  auto sink = StringSink(&tgz);
  EXPECT_TRUE(store.GetBackupFile(name, storage::BackupFile::kContents, *sink).ok());
  auto source = StringSource(tgz);
  auto reader = archive::ArchiveReader::Open(source.get());
  EXPECT_TRUE(reader.ok()) << reader.status();
  std::map<std::string, std::string> out;
  while (true) {
    auto e = (*reader)->Next();
    EXPECT_TRUE(e.ok()) << e.status();
    if (!e.ok() || !e->has_value()) break;
    out[(*e)->path] = (*e)->data;
  }
  return out;
}

// "resource/ns/name" of the unversioned item entries.
std::set<std::string> Items(const std::map<std::string, std::string>& entries) {
  std::set<std::string> out;
  for (const auto& [path, data] : entries) {
    auto loc = archive::ParseItemPath(path);
    if (loc && loc->version_dir.empty()) out.insert(loc->resource_group + "/" + loc->ns + "/" + loc->name);
  }
  return out;
}

class BackupperTest : public ::testing::Test {
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
    Seed();
  }
  static void TearDownTestSuite() {
    delete client_;
    delete discovery_;
    delete rest_;
    delete kubesim_;
  }

  static void Create(const kube::GroupVersionResource& gvr, const std::string& ns, const std::string& json) {
    auto r = client_->Create(gvr, ns, J(json));
    ASSERT_TRUE(r.ok()) << r.status() << " creating " << json;
  }

  // app: config maps (one labelled tier=web, one excluded by label), a secret, a service
  // account bound by a ClusterRoleBinding, a PVC bound to a PV used by a pod, a custom
  // resource; other: a config map (tier=db); skipped: a namespace excluded by label.
  static void Seed() {
    const kube::GroupVersionResource ns{"", "v1", "namespaces"}, cm{"", "v1", "configmaps"},
        secret{"", "v1", "secrets"}, sa{"", "v1", "serviceaccounts"}, pv{"", "v1", "persistentvolumes"},
        pvc{"", "v1", "persistentvolumeclaims"}, pod{"", "v1", "pods"},
        crb{"rbac.authorization.k8s.io", "v1", "clusterrolebindings"},
        cr{"rbac.authorization.k8s.io", "v1", "clusterroles"},
        crd{"apiextensions.k8s.io", "v1", "customresourcedefinitions"};
    Create(ns, "", R"({"apiVersion":"v1","kind":"Namespace","metadata":{"name":"app"}})");
    Create(ns, "", R"({"apiVersion":"v1","kind":"Namespace","metadata":{"name":"other"}})");
    Create(ns, "", R"({"apiVersion":"v1","kind":"Namespace","metadata":{"name":"skipped","labels":{"velero.io/exclude-from-backup":"true"}}})");
    Create(cm, "app", R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"web","labels":{"tier":"web"}},"data":{"a":"1"}})");
    Create(cm, "app", R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"plain"},"data":{"b":"2"}})");
    Create(cm, "app", R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"private","labels":{"velero.io/exclude-from-backup":"true"}}})");
    Create(cm, "other", R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"db","labels":{"tier":"db"}}})");
    Create(cm, "skipped", R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"nope"}})");
    Create(secret, "app", R"({"apiVersion":"v1","kind":"Secret","metadata":{"name":"creds"},"stringData":{"k":"v"}})");
    Create(sa, "app", R"({"apiVersion":"v1","kind":"ServiceAccount","metadata":{"name":"runner"}})");
    Create(cr, "", R"({"apiVersion":"rbac.authorization.k8s.io/v1","kind":"ClusterRole","metadata":{"name":"runner-role"},"rules":[]})");
    Create(crb, "", R"({"apiVersion":"rbac.authorization.k8s.io/v1","kind":"ClusterRoleBinding","metadata":{"name":"runner-binding"},"roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"ClusterRole","name":"runner-role"},"subjects":[{"kind":"ServiceAccount","name":"runner","namespace":"app"}]})");
    Create(pv, "", R"({"apiVersion":"v1","kind":"PersistentVolume","metadata":{"name":"pv-data"},"spec":{"capacity":{"storage":"1Gi"},"accessModes":["ReadWriteOnce"],"hostPath":{"path":"/tmp/pv-data"}}})");
    Create(pvc, "app", R"({"apiVersion":"v1","kind":"PersistentVolumeClaim","metadata":{"name":"data"},"spec":{"accessModes":["ReadWriteOnce"],"resources":{"requests":{"storage":"1Gi"}},"volumeName":"pv-data","storageClassName":""}})");
    Create(pod, "app", R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"worker"},"spec":{"containers":[{"name":"main","image":"busybox"}],"volumes":[{"name":"d","persistentVolumeClaim":{"claimName":"data"}}]}})");
    Create(crd, "", R"({"apiVersion":"apiextensions.k8s.io/v1","kind":"CustomResourceDefinition","metadata":{"name":"widgets.example.com"},"spec":{"group":"example.com","scope":"Namespaced","names":{"plural":"widgets","singular":"widget","kind":"Widget"},"versions":[{"name":"v1","served":true,"storage":true,"schema":{"openAPIV3Schema":{"type":"object","x-kubernetes-preserve-unknown-fields":true}}}]}})");
    // The CRD is served once established; wait until discovery sees it.
    for (int i = 0; i < 100; ++i) {
      if (discovery_->Refresh().ok() && discovery_->ResourceFor({"example.com", "v1", "widgets"}).ok()) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    Create({"example.com", "v1", "widgets"}, "app", R"({"apiVersion":"example.com/v1","kind":"Widget","metadata":{"name":"w1"},"spec":{"size":3}})");
  }

  void SetUp() override {
    bucket_dir_ = std::filesystem::temp_directory_path() / ("lifeboat-backup-test-" + std::to_string(::getpid()) + "-" + std::to_string(++counter_));
    std::filesystem::create_directories(bucket_dir_ / "bucket");
    storage::DriverParams params;
    params.config = {{"root", bucket_dir_.string()}};
    auto store = storage::NewObjectStore("local", params);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::make_unique<storage::BackupStore>(std::shared_ptr<storage::ObjectStore>(std::move(*store)), "bucket", "");
  }
  void TearDown() override { std::filesystem::remove_all(bucket_dir_); }

  api::Backup Run(api::Backup b, const std::function<void(BackupperDeps&)>& adjust = nullptr,
                  const ProgressFn& progress = nullptr, const CancellationToken& cancel = {},
                  const std::function<void(BackupperOptions&)>& adjust_options = nullptr) {
    if (b.metadata.name.empty()) b.metadata.name = "b" + std::to_string(++counter_);
    b.metadata.namespace_ = "velero";
    b.metadata.uid = "uid-" + b.metadata.name;
    b.spec.storage_location = "default";
    BackupperDeps deps;
    deps.client = client_;
    deps.discovery = discovery_;
    deps.store = store_.get();
    deps.actions = BuiltinBackupItemActions(client_);
    if (adjust) adjust(deps);
    BackupperOptions options;
    options.page_size = 2;  // several pages per collection
    options.temp_dir = bucket_dir_;
    if (adjust_options) adjust_options(options);
    return Backupper(deps, options).Run(std::move(b), progress, cancel);
  }

  static KubesimProcess* kubesim_;
  static kube::RestClient* rest_;
  static kube::Discovery* discovery_;
  static kube::DynamicClient* client_;
  static int counter_;
  std::filesystem::path bucket_dir_;
  std::unique_ptr<storage::BackupStore> store_;
};
KubesimProcess* BackupperTest::kubesim_ = nullptr;
kube::RestClient* BackupperTest::rest_ = nullptr;
kube::Discovery* BackupperTest::discovery_ = nullptr;
kube::DynamicClient* BackupperTest::client_ = nullptr;
int BackupperTest::counter_ = 0;

TEST_F(BackupperTest, WholeClusterMatchesKubectlAndWritesEveryFile) {
  api::Backup b = Run({});
  ASSERT_EQ(b.status.phase, api::BackupPhase::kCompleted) << b.status.failure_reason;
  EXPECT_EQ(b.status.format_version, "1.1.0");
  EXPECT_EQ(b.status.version, 1);
  auto entries = ReadArchive(*store_, b.metadata.name);
  EXPECT_EQ(entries["metadata/version"], "1.1.0\n");
  std::set<std::string> items = Items(entries);
  for (const char* want : {"configmaps/app/web", "configmaps/app/plain", "configmaps/other/db",
                           "secrets/app/creds", "serviceaccounts/app/runner", "pods/app/worker",
                           "persistentvolumeclaims/app/data", "persistentvolumes//pv-data",
                           "namespaces//app", "namespaces//other", "widgets.example.com/app/w1",
                           "customresourcedefinitions.apiextensions.k8s.io//widgets.example.com",
                           "clusterrolebindings.rbac.authorization.k8s.io//runner-binding"}) {
    EXPECT_THAT(items, Contains(want));
  }
  EXPECT_THAT(items, Not(Contains("configmaps/app/private")));   // exclude label
  EXPECT_THAT(items, Not(Contains("configmaps/skipped/nope")));  // namespace excluded by label
  EXPECT_THAT(items, Not(Contains("namespaces//skipped")));
  // Every item twice: unversioned and in the preferred-version directory.
  EXPECT_EQ(entries.count("resources/pods/v1-preferredversion/namespaces/app/worker.json"), 1u);
  EXPECT_EQ(entries.count("resources/widgets.example.com/v1-preferredversion/namespaces/app/w1.json"), 1u);

  // Items are what kubectl gets for them, byte for byte once keys are sorted.
  for (const std::string ns : {"app", "other"}) {
    std::string cmd = "/usr/bin/kubectl --kubeconfig " + kubesim_->kubeconfig().string() +
                      " get configmaps,secrets --show-managed-fields -n " + ns + " -o json";
    FILE* p = ::popen(cmd.c_str(), "r");
    ASSERT_NE(p, nullptr);
    std::string out;
    char buf[4096];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    if (::pclose(p) != 0) GTEST_SKIP() << "kubectl not available";
    auto list = J(out);
    for (const auto& item : list.at("items").as_array()) {
      std::string kind(kube::ObjectKind(item));
      std::string res = kind == "ConfigMap" ? "configmaps" : "secrets";
      std::string name(kube::ObjectName(item));
      std::string path = archive::ItemPath(res, ns, name);
      if (name == "private") {
        EXPECT_EQ(entries.count(path), 0u);
        continue;
      }
      ASSERT_EQ(entries.count(path), 1u) << path;
      // The same object, as the API server sent it: the list's kind and apiVersion first.
      auto parsed = ParseJson(entries[path]);
      ASSERT_TRUE(parsed.ok()) << path << ": " << parsed.status();
      EXPECT_EQ(CanonicalJson(*parsed), CanonicalJson(item)) << path;
      EXPECT_THAT(entries[path], StartsWith(R"({"apiVersion":"v1","kind":")" + kind + "\",")) << path;
    }
  }

  // The files beside the tarball.
  std::string gz;
  auto sink = StringSink(&gz);
  ASSERT_TRUE(store_->GetBackupFile(b.metadata.name, storage::BackupFile::kResourceList, *sink).ok());
  auto list = J(*Gunzip(gz));
  EXPECT_THAT(std::string(boost::json::serialize(list.at("v1/ConfigMap"))), HasSubstr("\"app/web\""));
  // Compact JSON, keys and names sorted (as Go marshals a map[string][]string of sorted lists).
  EXPECT_EQ(*Gunzip(gz), boost::json::serialize(list));
  std::vector<std::string> keys;
  for (const auto& [key, names] : list.as_object()) {
    keys.emplace_back(key);
    std::vector<std::string> n;
    for (const auto& v : names.as_array()) n.emplace_back(v.as_string());
    EXPECT_TRUE(std::is_sorted(n.begin(), n.end())) << key;
    EXPECT_FALSE(n.empty()) << key;
  }
  EXPECT_TRUE(std::is_sorted(keys.begin(), keys.end()));
  EXPECT_TRUE(list.as_object().contains("example.com/v1/Widget"));
  auto meta = J(*store_->GetBackupMetadata(b.metadata.name));
  EXPECT_EQ(JsonString(meta, {"status", "phase"}).value_or(""), "Completed");
  EXPECT_EQ(JsonString(meta, {"kind"}).value_or(""), "Backup");
  for (auto f : {storage::BackupFile::kLog, storage::BackupFile::kResults,
                 storage::BackupFile::kVolumeSnapshots, storage::BackupFile::kVolumeInfo,
                 storage::BackupFile::kItemOperations}) {
    std::string data;
    auto s = StringSink(&data);
    EXPECT_TRUE(store_->GetBackupFile(b.metadata.name, f, *s).ok()) << storage::BackupFileName(f);
    EXPECT_TRUE(Gunzip(data).ok());
  }
  std::string ops;
  auto ops_sink = StringSink(&ops);
  ASSERT_TRUE(store_->GetBackupFile(b.metadata.name, storage::BackupFile::kItemOperations, *ops_sink).ok());
  EXPECT_EQ(*Gunzip(ops), "[]");
}

TEST_F(BackupperTest, NamespaceFilterTakesRelatedClusterObjectsThroughActions) {
  api::Backup in;
  in.spec.included_namespaces = {"app"};
  api::Backup b = Run(in);
  ASSERT_EQ(b.status.phase, api::BackupPhase::kCompleted) << b.status.failure_reason;
  auto items = Items(ReadArchive(*store_, b.metadata.name));
  EXPECT_THAT(items, Contains("persistentvolumes//pv-data"));  // pod -> PVC -> PV
  EXPECT_THAT(items, Contains("clusterrolebindings.rbac.authorization.k8s.io//runner-binding"));
  EXPECT_THAT(items, Contains("clusterroles.rbac.authorization.k8s.io//runner-role"));
  EXPECT_THAT(items, Contains("customresourcedefinitions.apiextensions.k8s.io//widgets.example.com"));
  EXPECT_THAT(items, Contains("namespaces//app"));
  EXPECT_THAT(items, Not(Contains("namespaces//other")));
  EXPECT_THAT(items, Not(Contains("configmaps/other/db")));
}

TEST_F(BackupperTest, ExcludedAndDeletingItemsAreSkippedAndLogged) {
  // Listed items no action applies to are checked on their lazily parsed form: the exclude
  // label, a deletionTimestamp (a finalizer keeps a deleted object) and an item in Go form.
  const kube::GroupVersionResource ns{"", "v1", "namespaces"}, cm{"", "v1", "configmaps"};
  Create(ns, "", R"({"apiVersion":"v1","kind":"Namespace","metadata":{"name":"leaving"}})");
  Create(cm, "leaving", R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"kept"},"data":{"html":"<b>&</b>","ratio":"0.1"}})");
  Create(cm, "leaving", R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"going","finalizers":["example.com/hold"]}})");
  Create(cm, "leaving", R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"hidden","labels":{"velero.io/exclude-from-backup":"true"}}})");
  ASSERT_TRUE(client_->Delete(cm, "leaving", "going").ok());
  api::Backup in;
  in.spec.included_namespaces = {"leaving"};
  api::Backup b = Run(in);
  ASSERT_EQ(b.status.phase, api::BackupPhase::kCompleted) << b.status.failure_reason;
  auto entries = ReadArchive(*store_, b.metadata.name);
  auto items = Items(entries);
  EXPECT_THAT(items, Contains("configmaps/leaving/kept"));
  EXPECT_THAT(items, Not(Contains("configmaps/leaving/going")));
  EXPECT_THAT(items, Not(Contains("configmaps/leaving/hidden")));
  auto live = client_->Get(cm, "leaving", "kept");
  ASSERT_TRUE(live.ok()) << live.status();
  // As the API server sends it (its key order, its escapes), the list's kind and apiVersion
  // put first.
  kube::RestRequest get;
  get.path = "/api/v1/namespaces/leaving/configmaps/kept";
  auto raw = rest_->Do(get);
  ASSERT_TRUE(raw.ok()) << raw.status();
  // A GET gives kind and apiVersion first (in either order); a list item has neither.
  const std::string fill = R"({"apiVersion":"v1","kind":"ConfigMap",)";
  const std::string other_order = R"({"kind":"ConfigMap","apiVersion":"v1",)";
  ASSERT_TRUE(raw->body.starts_with(fill) || raw->body.starts_with(other_order)) << raw->body;
  EXPECT_EQ(entries["resources/configmaps/namespaces/leaving/kept.json"],
            fill + raw->body.substr(fill.size()));
  EXPECT_EQ(CanonicalJson(*ParseJson(entries["resources/configmaps/namespaces/leaving/kept.json"])),
            CanonicalJson(*live));
  // Or in Go's json.Marshal form, byte for byte what Velero writes.
  api::Backup go_form = Run(in, nullptr, nullptr, {}, [](BackupperOptions& o) { o.items_as_served = false; });
  ASSERT_EQ(go_form.status.phase, api::BackupPhase::kCompleted) << go_form.status.failure_reason;
  EXPECT_EQ(ReadArchive(*store_, go_form.metadata.name)["resources/configmaps/namespaces/leaving/kept.json"],
            CanonicalJson(*live));
  std::string gz;
  auto sink = StringSink(&gz);
  ASSERT_TRUE(store_->GetBackupFile(b.metadata.name, storage::BackupFile::kLog, *sink).ok());
  const std::string log = *Gunzip(gz);
  EXPECT_THAT(log, HasSubstr("Skipping item because it's being deleted."));
  EXPECT_THAT(log, HasSubstr("Excluding item because it has label velero.io/exclude-from-backup=true"));
  EXPECT_THAT(log, HasSubstr("name=going"));
  EXPECT_THAT(log, HasSubstr("name=hidden"));
}

TEST_F(BackupperTest, LabelAndOrSelectors) {
  api::Backup one;
  one.spec.label_selector = *api::LabelSelector::Parse("tier=web");
  auto items = Items(ReadArchive(*store_, Run(one).metadata.name));
  EXPECT_THAT(items, Contains("configmaps/app/web"));
  EXPECT_THAT(items, Not(Contains("configmaps/app/plain")));
  EXPECT_THAT(items, Not(Contains("configmaps/other/db")));
  EXPECT_THAT(items, Contains("namespaces//app"));  // the namespace of a selected item
  EXPECT_THAT(items, Not(Contains("namespaces//other")));

  api::Backup either;
  either.spec.or_label_selectors = {*api::LabelSelector::Parse("tier=web"), *api::LabelSelector::Parse("tier=db")};
  items = Items(ReadArchive(*store_, Run(either).metadata.name));
  EXPECT_THAT(items, Contains("configmaps/app/web"));
  EXPECT_THAT(items, Contains("configmaps/other/db"));
  EXPECT_THAT(items, Not(Contains("configmaps/app/plain")));
}

TEST_F(BackupperTest, ResourceFiltersAndClusterScope) {
  api::Backup only_cm;
  only_cm.spec.included_resources = {"configmaps"};
  auto items = Items(ReadArchive(*store_, Run(only_cm).metadata.name));
  for (const auto& i : items) {
    EXPECT_TRUE(i.rfind("configmaps/", 0) == 0 || i.rfind("namespaces/", 0) == 0) << i;
  }
  EXPECT_THAT(items, Contains("configmaps/app/web"));

  api::Backup no_cluster;
  no_cluster.spec.include_cluster_resources = false;
  items = Items(ReadArchive(*store_, Run(no_cluster).metadata.name));
  EXPECT_THAT(items, Not(Contains("persistentvolumes//pv-data")));
  EXPECT_THAT(items, Not(Contains("clusterroles.rbac.authorization.k8s.io//runner-role")));
  EXPECT_THAT(items, Contains("pods/app/worker"));

  api::Backup scoped;
  scoped.spec.included_namespace_scoped_resources = {"secrets"};
  scoped.spec.included_cluster_scoped_resources = {"persistentvolumes"};
  items = Items(ReadArchive(*store_, Run(scoped).metadata.name));
  EXPECT_THAT(items, Contains("secrets/app/creds"));
  EXPECT_THAT(items, Contains("persistentvolumes//pv-data"));
  EXPECT_THAT(items, Not(Contains("configmaps/app/web")));
}

TEST_F(BackupperTest, OrderedResourcesComeFirstInTheGivenOrder) {
  // Velero's orderedResources: a resource's named items first, in the given order, then the rest
  // as listed; a name the listing would not give (no such item, or a namespace the backup does
  // not take) is a warning. The resource list stays sorted.
  api::Backup in;
  in.spec.included_namespaces = {"app"};
  in.spec.ordered_resources = {{"configmaps", "app/web,app/missing,other/db,app/plain"}};
  api::Backup b = Run(in);
  ASSERT_EQ(b.status.phase, api::BackupPhase::kCompleted) << b.status.failure_reason;
  std::string tgz;
  auto tar_sink = StringSink(&tgz);
  ASSERT_TRUE(
      store_->GetBackupFile(b.metadata.name, storage::BackupFile::kContents, *tar_sink).ok());
  auto source = StringSource(tgz);
  auto reader = archive::ArchiveReader::Open(source.get());
  ASSERT_TRUE(reader.ok()) << reader.status();
  std::vector<std::string> configmaps;  // in archive order
  while (true) {
    auto e = (*reader)->Next();
    ASSERT_TRUE(e.ok()) << e.status();
    if (!e->has_value()) break;
    auto loc = archive::ParseItemPath((*e)->path);
    if (loc && loc->version_dir.empty() && loc->resource_group == "configmaps") {
      configmaps.push_back(loc->ns + "/" + loc->name);
    }
  }
  // Listed alone they come in name order (kube-root-ca.crt, plain, web); "private" is excluded
  // by its label.
  EXPECT_THAT(configmaps, ::testing::ElementsAre("app/web", "app/plain", "app/kube-root-ca.crt"));
  EXPECT_EQ(b.status.warnings, 2);
  std::string gz;
  auto sink = StringSink(&gz);
  ASSERT_TRUE(store_->GetBackupFile(b.metadata.name, storage::BackupFile::kResults, *sink).ok());
  auto results = J(*Gunzip(gz));
  EXPECT_EQ(boost::json::serialize(results.at("warnings")),
            R"({"velero":[" message: /Cannot find resource 'app/missing'.",)"
            R"(" message: /Cannot find resource 'other/db'."]})");
  gz.clear();
  auto list_sink = StringSink(&gz);
  ASSERT_TRUE(
      store_->GetBackupFile(b.metadata.name, storage::BackupFile::kResourceList, *list_sink).ok());
  EXPECT_EQ(boost::json::serialize(J(*Gunzip(gz)).at("v1/ConfigMap")),
            R"(["app/kube-root-ca.crt","app/plain","app/web"])");
}

TEST_F(BackupperTest, InvalidSpecIsFailedValidationWithEveryProblem) {
  api::Backup bad;
  bad.spec.label_selector = *api::LabelSelector::Parse("a=b");
  bad.spec.or_label_selectors = {*api::LabelSelector::Parse("c=d")};
  bad.spec.included_namespaces = {"app"};
  bad.spec.excluded_namespaces = {"app"};
  api::Backup b = Run(bad);
  EXPECT_EQ(b.status.phase, api::BackupPhase::kFailedValidation);
  EXPECT_GE(b.status.validation_errors.size(), 2u);
  EXPECT_THAT(*store_->ListBackups(), ::testing::IsEmpty());
}

TEST_F(BackupperTest, ExistingBackupInTheBucketFailsWithoutTouchingIt) {
  api::Backup first;
  first.metadata.name = "dup";
  ASSERT_EQ(Run(first).status.phase, api::BackupPhase::kCompleted);
  std::string before = *store_->GetBackupMetadata("dup");
  api::Backup again;
  again.metadata.name = "dup";
  api::Backup b = Run(again);
  EXPECT_EQ(b.status.phase, api::BackupPhase::kFailed);
  EXPECT_EQ(b.status.failure_reason, "backup already exists in object storage");
  EXPECT_EQ(*store_->GetBackupMetadata("dup"), before);
}

// A snapshotter that claims hostPath PVs (volume ID: the PV's name) and records its calls.
class FakeSnapshotter : public plugin::VolumeSnapshotter {
 public:
  explicit FakeSnapshotter(std::vector<std::string>* calls) : calls_(calls) {}
  StatusOr<std::string> GetVolumeId(const boost::json::value& pv) override {
    return JsonFind(pv, {"spec", "hostPath"}) ? std::string(kube::ObjectName(pv)) : std::string();
  }
  StatusOr<boost::json::value> SetVolumeId(boost::json::value pv, const std::string&) override { return pv; }
  StatusOr<plugin::VolumeInfo> GetVolumeInfo(const std::string&, const std::string&) override {
    return plugin::VolumeInfo{"fast-ssd", 3000};
  }
  StatusOr<std::string> CreateSnapshot(const std::string& id, const std::string&,
                                       const std::map<std::string, std::string>& tags) override {
    calls_->push_back(id + " backup=" + tags.at("velero.io/backup") + " pv=" + tags.at("velero.io/pv"));
    return "snap-" + id;
  }
  StatusOr<std::string> CreateVolumeFromSnapshot(const std::string&, const std::string&, const std::string&,
                                                 std::optional<int64_t>) override {
    return absl::UnimplementedError("not in this test");
  }
  Status DeleteSnapshot(const std::string&) override { return absl::OkStatus(); }

 private:
  std::vector<std::string>* calls_;
};

TEST_F(BackupperTest, PersistentVolumesGoThroughTheLocationsSnapshotter) {
  std::vector<std::string> calls;
  auto with_snapshots = [&](BackupperDeps& deps) {
    deps.snapshot_locations = {{"default", "fake", {{"region", "r1"}}}};
    deps.snapshotters = [&](const std::string& provider, const std::map<std::string, std::string>& config)
        -> StatusOr<std::unique_ptr<plugin::VolumeSnapshotter>> {
      EXPECT_EQ(provider, "fake");
      EXPECT_EQ(config.at("region"), "r1");
      return std::unique_ptr<plugin::VolumeSnapshotter>(std::make_unique<FakeSnapshotter>(&calls));
    };
  };
  api::Backup in;
  in.metadata.name = "snap";
  in.spec.included_namespaces = {"app"};
  api::Backup b = Run(in, with_snapshots);
  ASSERT_EQ(b.status.phase, api::BackupPhase::kCompleted) << b.status.failure_reason;
  EXPECT_EQ(b.status.volume_snapshots_attempted, 1);
  EXPECT_EQ(b.status.volume_snapshots_completed, 1);
  EXPECT_THAT(calls, ::testing::ElementsAre("pv-data backup=snap pv=pv-data"));
  std::string gz;
  auto sink = StringSink(&gz);
  ASSERT_TRUE(store_->GetBackupFile("snap", storage::BackupFile::kVolumeSnapshots, *sink).ok());
  EXPECT_EQ(*Gunzip(gz),
            R"([{"spec":{"backupName":"snap","backupUID":"uid-snap","location":"default",)"
            R"("persistentVolumeName":"pv-data","providerVolumeID":"pv-data","volumeType":"fast-ssd",)"
            R"("volumeIOPS":3000},"status":{"providerSnapshotID":"snap-pv-data","phase":"Completed"}}])");
  // The volume info says the same in Velero's BackupVolumeInfo form.
  auto volume_info = [&](const std::string& backup) {
    std::string vgz;
    auto vsink = StringSink(&vgz);
    EXPECT_TRUE(store_->GetBackupFile(backup, storage::BackupFile::kVolumeInfo, *vsink).ok());
    return *Gunzip(vgz);
  };
  EXPECT_EQ(volume_info("snap"),
            R"([{"pvcName":"data","pvcNamespace":"app","pvName":"pv-data","backupMethod":"NativeSnapshot",)"
            R"("snapshotDataMoved":false,"preserveLocalSnapshot":false,"skipped":false,"result":"succeeded",)"
            R"("nativeSnapshotInfo":{"snapshotHandle":"snap-pv-data","volumeType":"fast-ssd","volumeAZ":"",)"
            R"("iops":"3000","Phase":"Completed"},"pvInfo":{"reclaimPolicy":"Retain","labels":null}}])");

  // snapshotVolumes: false takes none, and the volume info says why.
  calls.clear();
  api::Backup off;
  off.metadata.name = "nosnap";
  off.spec.included_namespaces = {"app"};
  off.spec.snapshot_volumes = false;
  b = Run(off, with_snapshots);
  EXPECT_EQ(b.status.volume_snapshots_attempted, 0);
  EXPECT_TRUE(calls.empty());
  EXPECT_EQ(volume_info("nosnap"),
            R"([{"pvcName":"data","pvcNamespace":"app","pvName":"pv-data","snapshotDataMoved":false,)"
            R"("preserveLocalSnapshot":false,"skipped":true,)"
            R"("skippedReason":"volumeSnapshot: backup has volume snapshots disabled;",)"
            R"("pvInfo":{"reclaimPolicy":"Retain","labels":null}}])");
}

TEST_F(BackupperTest, CancelledBackupFailsUploadsNothingAndLeavesNoTemporaryFiles) {
  CancellationSource stop;
  api::Backup in;
  in.metadata.name = "cancelled";
  int calls = 0;
  // The first progress report (phase InProgress) cancels the run.
  api::Backup b = Run(in, nullptr, [&](const api::Backup&) {
    if (++calls == 1) stop.Cancel("server shutting down");
  }, stop.token());
  EXPECT_EQ(b.status.phase, api::BackupPhase::kFailed);
  EXPECT_THAT(b.status.failure_reason, HasSubstr("server shutting down"));
  EXPECT_THAT(*store_->ListBackups(), ::testing::IsEmpty());
  EXPECT_FALSE(*store_->BackupExists("cancelled"));
  for (const auto& e : std::filesystem::directory_iterator(bucket_dir_)) {
    EXPECT_EQ(e.path().filename(), "bucket") << "left behind: " << e.path();
  }
}

// A resource type that appears after the server has loaded discovery (an operator's CRD
// installed since the last backup) is backed up with its objects: every backup refreshes it.
TEST_F(BackupperTest, ResourcesServedSinceDiscoveryWasLoadedAreBackedUp) {
  ASSERT_TRUE(discovery_->Resources().ok());
  // Another client creates the CRD and its object, so the shared discovery stays as it was.
  kube::Discovery other_discovery(rest_);
  kube::DynamicClient other(rest_, &other_discovery);
  const kube::GroupVersionResource crd{"apiextensions.k8s.io", "v1", "customresourcedefinitions"},
      gadgets{"late.example.com", "v1", "gadgets"}, ns{"", "v1", "namespaces"};
  ASSERT_TRUE(
      other
          .Create(ns, "", J(R"({"apiVersion":"v1","kind":"Namespace","metadata":{"name":"late"}})"))
          .ok());
  ASSERT_TRUE(
      other
          .Create(
              crd, "",
              J(R"({"apiVersion":"apiextensions.k8s.io/v1","kind":"CustomResourceDefinition","metadata":{"name":"gadgets.late.example.com"},"spec":{"group":"late.example.com","scope":"Namespaced","names":{"plural":"gadgets","singular":"gadget","kind":"Gadget"},"versions":[{"name":"v1","served":true,"storage":true,"schema":{"openAPIV3Schema":{"type":"object","x-kubernetes-preserve-unknown-fields":true}}}]}})"))
          .ok());
  ASSERT_TRUE(kube::testing::WaitUntilServed(other_discovery, gadgets));
  ASSERT_TRUE(
      other
          .Create(
              gadgets, "late",
              J(R"({"apiVersion":"late.example.com/v1","kind":"Gadget","metadata":{"name":"g1"}})"))
          .ok());
  auto before = discovery_->Resources();
  ASSERT_TRUE(before.ok());
  ASSERT_TRUE(std::none_of(before->begin(), before->end(), [](const kube::ApiResource& r) {
    return r.group == "late.example.com";
  })) << "the shared discovery must not know the new type yet, or this test proves nothing";

  api::Backup b;
  b.spec.included_namespaces = {"late"};
  b = Run(std::move(b));
  ASSERT_EQ(b.status.phase, api::BackupPhase::kCompleted) << b.status.failure_reason;
  EXPECT_EQ(b.status.warnings, 0);
  EXPECT_THAT(Items(ReadArchive(*store_, b.metadata.name)),
              Contains("gadgets.late.example.com/late/g1"));
}

// A RestClient that passes requests to another one, failing GET /apis while told to.
class ApisOutage : public kube::RestClient {
 public:
  explicit ApisOutage(kube::RestClient* inner) : inner_(inner) {}
  StatusOr<kube::RestResponse> Do(const kube::RestRequest& request) override {
    if (failing.load() && request.method == "GET" && request.path == "/apis") {
      return absl::UnavailableError("GET /apis: 503 Service Unavailable (injected)");
    }
    return inner_->Do(request);
  }
  const kube::RestConfig& config() const override { return inner_->config(); }
  std::atomic<bool> failing{false};

 private:
  kube::RestClient* inner_;
};

// When the refresh at the start of a backup fails, the backup goes on with what was discovered
// before and says so in a warning.
TEST_F(BackupperTest, FailedDiscoveryRefreshWarnsAndBacksUpWithThePreviousView) {
  ApisOutage rest(rest_);
  kube::Discovery discovery(&rest);
  kube::DynamicClient client(&rest, &discovery);
  ASSERT_TRUE(discovery.Resources().ok());
  rest.failing = true;
  api::Backup b;
  b.spec.included_namespaces = {"app"};
  b = Run(std::move(b), [&](BackupperDeps& deps) {
    deps.client = &client;
    deps.discovery = &discovery;
    deps.actions = BuiltinBackupItemActions(&client);
  });
  ASSERT_EQ(b.status.phase, api::BackupPhase::kCompleted) << b.status.failure_reason;
  EXPECT_EQ(b.status.warnings, 1);
  EXPECT_THAT(Items(ReadArchive(*store_, b.metadata.name)),
              AllOf(Contains("configmaps/app/web"), Contains("widgets.example.com/app/w1")));
  std::string gz;
  auto sink = StringSink(&gz);
  ASSERT_TRUE(store_->GetBackupFile(b.metadata.name, storage::BackupFile::kResults, *sink).ok());
  EXPECT_THAT(*Gunzip(gz), HasSubstr("Refreshing API discovery failed"));
}

}  // namespace
}  // namespace lifeboat::backup
