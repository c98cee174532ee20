// Discovery, dynamic client, pager, watch and informer against a real kubesim over HTTPS.

#include <atomic>
#include <map>
#include <set>
#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lifeboat/common/json.h"
#include "lifeboat/kube/config.h"
#include "lifeboat/kube/discovery.h"
#include "lifeboat/kube/dynamic_client.h"
#include "lifeboat/kube/informer.h"
#include "lifeboat/kube/object.h"
#include "lifeboat/kube/watch.h"
#include "src/kube/testing/kubesim_process.h"

namespace lifeboat::kube {
namespace {

using ::lifeboat::kube::testing::KubesimProcess;
using ::testing::Contains;

const GroupVersionResource kConfigMaps{"", "v1", "configmaps"};
const GroupVersionResource kNamespaces{"", "v1", "namespaces"};
const GroupVersionResource kDeployments{"apps", "v1", "deployments"};
const GroupVersionResource kCrds{"apiextensions.k8s.io", "v1", "customresourcedefinitions"};
const GroupVersionResource kWidgets{"example.com", "v1", "widgets"};

boost::json::value Json(const std::string& text) {
  auto v = ParseJson(text);
  EXPECT_TRUE(v.ok()) << v.status();
  return v.ok() ? *v : boost::json::value();
}

boost::json::value ConfigMap(const std::string& ns, const std::string& name, const std::string& value = "v") {
  return Json(R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":")" + name + R"(","namespace":")" +
              ns + R"("},"data":{"k":")" + value + "\"}}");
}

class KubesimClientTest : public ::testing::Test {
 protected:
  void StartCluster(const std::vector<std::string>& flags = {}) {
    auto k = KubesimProcess::Start(flags);
    ASSERT_TRUE(k.ok()) << k.status();
    kubesim_ = std::move(*k);
    KubeconfigOptions o;
    o.explicit_path = kubesim_->kubeconfig();
    auto config = LoadKubeconfig(o);
    ASSERT_TRUE(config.ok()) << config.status();
    RestClientOptions options;
    options.qps = 0;  // the tests create thousands of objects
    options.base_backoff = std::chrono::milliseconds(5);
    options.max_backoff = std::chrono::milliseconds(100);
    auto rest = RestClient::Create(*config, options);
    ASSERT_TRUE(rest.ok()) << rest.status();
    rest_ = std::move(*rest);
    discovery_ = std::make_unique<Discovery>(rest_.get());
    client_ = std::make_unique<DynamicClient>(rest_.get(), discovery_.get());
  }
  void SetUp() override { StartCluster(); }

  void CreateNamespace(const std::string& ns) {
    auto r = client_->Create(kNamespaces, "", Json(R"({"apiVersion":"v1","kind":"Namespace","metadata":{"name":")" +
                                                   ns + "\"}}"));
    ASSERT_TRUE(r.ok()) << r.status();
  }
  // A create is not retried by RestClient (not idempotent); concurrent TLS handshakes with
  // kubesim occasionally fail ("tlsv1 alert internal error"), so the bulk creates retry
  // Unavailable themselves and accept AlreadyExists on a retry.
  Status CreateRetrying(const GroupVersionResource& gvr, const std::string& ns, const boost::json::value& obj) {
    Status last;
    for (int attempt = 0; attempt < 5; ++attempt) {
      auto r = client_->Create(gvr, ns, obj);
      if (r.ok() || (attempt > 0 && r.status().code() == absl::StatusCode::kAlreadyExists)) {
        return absl::OkStatus();
      }
      last = r.status();
      if (last.code() != absl::StatusCode::kUnavailable) return last;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return last;
  }
  // Creates configmaps prefix-0..n-1 from 8 threads.
  void CreateConfigMaps(const std::string& ns, const std::string& prefix, int n) {
    std::atomic<int> next{0};
    std::atomic<int> failures{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; ++t) {
      threads.emplace_back([&] {
        for (int i = next++; i < n; i = next++) {
          Status r = CreateRetrying(kConfigMaps, ns, ConfigMap(ns, prefix + std::to_string(i)));
          if (!r.ok()) {
            ADD_FAILURE() << r;
            ++failures;
          }
        }
      });
    }
    for (auto& t : threads) t.join();
    ASSERT_EQ(failures.load(), 0);
  }
  std::map<std::string, std::string> ServerState(const GroupVersionResource& gvr, const std::string& ns) {
    std::map<std::string, std::string> out;
    auto r = ListAll(*client_, gvr, ns, {}, [&](boost::json::value&& o) {
      out[ObjectKey(o)] = std::string(ObjectResourceVersion(o));
      return absl::OkStatus();
    });
    EXPECT_TRUE(r.ok()) << r.status();
    return out;
  }
  Status Compact() {
    RestRequest req;
    req.method = "POST";
    req.path = "/kubesim/v1/compact";
    return rest_->Do(req).status();
  }

  std::unique_ptr<KubesimProcess> kubesim_;
  std::unique_ptr<RestClient> rest_;
  std::unique_ptr<Discovery> discovery_;
  std::unique_ptr<DynamicClient> client_;
};

TEST_F(KubesimClientTest, DiscoveryFindsBuiltIns) {
  auto deploy = discovery_->Lookup("deploy");
  ASSERT_TRUE(deploy.ok()) << deploy.status();
  EXPECT_EQ(deploy->gvr(), kDeployments);
  EXPECT_TRUE(deploy->namespaced);
  EXPECT_THAT(deploy->subresources, Contains("scale"));
  EXPECT_THAT(deploy->subresources, Contains("status"));
  EXPECT_EQ(*discovery_->PreferredVersion("autoscaling"), "v2");
  auto hpa = discovery_->Lookup("horizontalpodautoscalers.autoscaling");
  ASSERT_TRUE(hpa.ok());
  EXPECT_EQ(hpa->version, "v2");
  EXPECT_EQ(discovery_->Lookup("Deployment.apps")->name, "deployments");
  EXPECT_FALSE(discovery_->Lookup("namespaces")->namespaced);
  EXPECT_TRUE(discovery_->failures().empty());
}

TEST_F(KubesimClientTest, CrdAppearsAfterRefreshAndOnMiss) {
  Discovery lazy(rest_.get(), {.min_refresh_interval = std::chrono::hours(1)});
  Discovery eager(rest_.get(), {.min_refresh_interval = std::chrono::milliseconds(0)});
  ASSERT_TRUE(lazy.Refresh().ok());
  ASSERT_TRUE(eager.Refresh().ok());
  EXPECT_EQ(lazy.Lookup("widgets").status().code(), absl::StatusCode::kNotFound);
  auto crd = client_->Create(kCrds, "", Json(R"({"apiVersion":"apiextensions.k8s.io/v1",
    "kind":"CustomResourceDefinition","metadata":{"name":"widgets.example.com"},
    "spec":{"group":"example.com","scope":"Namespaced",
      "names":{"plural":"widgets","singular":"widget","kind":"Widget","shortNames":["wd"]},
      "versions":[{"name":"v1","served":true,"storage":true,"subresources":{"status":{}},
        "schema":{"openAPIV3Schema":{"type":"object","x-kubernetes-preserve-unknown-fields":true}}}]}})"));
  ASSERT_TRUE(crd.ok()) << crd.status();
  // Within its interval a miss does not reload...
  EXPECT_EQ(lazy.Lookup("wd").status().code(), absl::StatusCode::kNotFound);
  // ...an explicit refresh does, and so does a miss once the interval has passed.
  ASSERT_TRUE(lazy.Refresh().ok());
  EXPECT_EQ(lazy.Lookup("wd")->gvr(), kWidgets);
  auto w = eager.Lookup("widget.example.com");
  ASSERT_TRUE(w.ok()) << w.status();
  EXPECT_EQ(w->kind, "Widget");
  EXPECT_THAT(w->subresources, Contains("status"));
  // The dynamic client serves the new resource (through its own discovery's miss rule).
  Discovery d(rest_.get(), {.min_refresh_interval = std::chrono::milliseconds(0)});
  DynamicClient dc(rest_.get(), &d);
  CreateNamespace("crd");
  auto created = dc.Create(kWidgets, "crd", Json(R"({"apiVersion":"example.com/v1","kind":"Widget",
    "metadata":{"name":"w1","namespace":"crd"},"spec":{"size":3}})"));
  ASSERT_TRUE(created.ok()) << created.status();
  // Deleted: gone after a refresh.
  ASSERT_TRUE(client_->Delete(kCrds, "", "widgets.example.com").ok());
  bool gone = false;
  for (int i = 0; i < 100 && !gone; ++i) {
    ASSERT_TRUE(lazy.Refresh().ok());
    gone = lazy.ResourceFor(kWidgets).status().code() == absl::StatusCode::kNotFound;
    if (!gone) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_TRUE(gone);
}

TEST_F(KubesimClientTest, DynamicClientVerbs) {
  CreateNamespace("verbs");
  WriteOptions dry{.dry_run = true};
  ASSERT_TRUE(client_->Create(kConfigMaps, "verbs", ConfigMap("verbs", "dry"), dry).ok());
  EXPECT_EQ(client_->Get(kConfigMaps, "verbs", "dry").status().code(), absl::StatusCode::kNotFound);
  auto cm = client_->Create(kConfigMaps, "verbs", ConfigMap("verbs", "cm1"), {.field_manager = "lifeboat"});
  ASSERT_TRUE(cm.ok()) << cm.status();
  EXPECT_EQ(client_->Create(kConfigMaps, "verbs", ConfigMap("verbs", "cm1")).status().code(),
            absl::StatusCode::kAlreadyExists);
  // Update with a stale resourceVersion conflicts.
  boost::json::value stale = *cm;
  (*cm).as_object()["data"].as_object()["k"] = "v2";
  ASSERT_TRUE(client_->Update(kConfigMaps, "verbs", *cm).ok());
  stale.as_object()["data"].as_object()["k"] = "v3";
  EXPECT_EQ(client_->Update(kConfigMaps, "verbs", stale).status().code(), absl::StatusCode::kAborted);
  // Patches.
  auto merged = client_->Patch(kConfigMaps, "verbs", "cm1", PatchType::kMerge, R"({"data":{"m":"1"}})");
  ASSERT_TRUE(merged.ok()) << merged.status();
  EXPECT_EQ(JsonString(*merged, {"data", "m"}), "1");
  auto json = client_->Patch(kConfigMaps, "verbs", "cm1", PatchType::kJson,
                             R"([{"op":"add","path":"/data/j","value":"2"}])");
  ASSERT_TRUE(json.ok()) << json.status();
  auto smp = client_->Patch(kConfigMaps, "verbs", "cm1", PatchType::kStrategicMerge,
                            R"({"metadata":{"labels":{"s":"3"}}})");
  ASSERT_TRUE(smp.ok()) << smp.status();
  EXPECT_EQ(ObjectLabels(*smp).at("s"), "3");
  auto applied = client_->Patch(kConfigMaps, "verbs", "cm2", PatchType::kApply,
                                R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"cm2"},"data":{"a":"1"}})",
                                {.field_manager = "lifeboat-apply", .force = true});
  ASSERT_TRUE(applied.ok()) << applied.status();
  EXPECT_EQ(JsonString(*applied, {"data", "a"}), "1");
  // Delete with preconditions.
  DeleteOptions wrong_uid{.precondition_uid = "not-the-uid"};
  EXPECT_EQ(client_->Delete(kConfigMaps, "verbs", "cm1", wrong_uid).status().code(), absl::StatusCode::kAborted);
  ASSERT_TRUE(client_->Delete(kConfigMaps, "verbs", "cm1", {.dry_run = true}).ok());
  ASSERT_TRUE(client_->Get(kConfigMaps, "verbs", "cm1").ok());
  DeleteOptions right{.propagation_policy = "Background",
                      .precondition_uid = std::string(ObjectUid(*smp)),
                      .grace_period_seconds = 0};
  ASSERT_TRUE(client_->Delete(kConfigMaps, "verbs", "cm1", right).ok());
  EXPECT_EQ(client_->Get(kConfigMaps, "verbs", "cm1").status().code(), absl::StatusCode::kNotFound);
  // DeleteCollection by label.
  for (int i = 0; i < 3; ++i) {
    auto c = ConfigMap("verbs", "lab" + std::to_string(i));
    c.as_object()["metadata"].as_object()["labels"] = {{"group", "x"}};
    auto r = client_->Create(kConfigMaps, "verbs", c);
    ASSERT_TRUE(r.ok()) << r.status();
  }
  auto deleted = client_->DeleteCollection(kConfigMaps, "verbs", {}, {.label_selector = "group=x"});
  ASSERT_TRUE(deleted.ok()) << deleted.status();
  auto left = client_->List(kConfigMaps, "verbs", {.label_selector = "group=x"});
  ASSERT_TRUE(left.ok());
  EXPECT_TRUE(left->items.empty());
  // Scale subresource.
  auto deploy = client_->Create(kDeployments, "verbs", Json(R"({"apiVersion":"apps/v1","kind":"Deployment",
    "metadata":{"name":"d1"},"spec":{"replicas":1,"selector":{"matchLabels":{"app":"d1"}},
    "template":{"metadata":{"labels":{"app":"d1"}},"spec":{"containers":[{"name":"c","image":"nginx"}]}}}})"));
  ASSERT_TRUE(deploy.ok()) << deploy.status();
  // The deployment controller keeps writing the object: get-modify-update, retried on
  // conflict as client-go's retry.RetryOnConflict does.
  StatusOr<boost::json::value> scaled = absl::AbortedError("not tried");
  for (int attempt = 0; attempt < 10 && scaled.status().code() == absl::StatusCode::kAborted; ++attempt) {
    auto scale = client_->GetSubresource(kDeployments, "verbs", "d1", "scale");
    ASSERT_TRUE(scale.ok()) << scale.status();
    EXPECT_EQ(ObjectKind(*scale), "Scale");
    scale->as_object()["spec"].as_object()["replicas"] = 3;
    scaled = client_->UpdateSubresource(kDeployments, "verbs", "d1", "scale", *scale);
  }
  ASSERT_TRUE(scaled.ok()) << scaled.status();
  EXPECT_EQ(JsonInt(*client_->Get(kDeployments, "verbs", "d1"), {"spec", "replicas"}), 3);
}

TEST_F(KubesimClientTest, ListsTwoThousandInPagesExactlyOnceWhileWriting) {
  CreateNamespace("big");
  CreateConfigMaps("big", "cm-", 2000);
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    for (int i = 0; !stop; ++i) {
      (void)client_->Create(kConfigMaps, "big", ConfigMap("big", "late-" + std::to_string(i)));
    }
  });
  std::multiset<std::string> seen;
  std::vector<size_t> pages;
  auto result = ListAllPages(*client_, kConfigMaps, "big", {.page_size = 500}, [&](boost::json::array& items) {
    pages.push_back(items.size());
    for (auto& o : items) seen.insert(std::string(ObjectName(o)));
    return absl::OkStatus();
  });
  stop = true;
  writer.join();
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_FALSE(result->restarted);
  EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()).size(), seen.size()) << "duplicates";
  for (int i = 0; i < 2000; ++i) EXPECT_EQ(seen.count("cm-" + std::to_string(i)), 1u) << i;
  EXPECT_GE(pages.size(), 4u);
  for (size_t p : pages) EXPECT_LE(p, 500u);
  EXPECT_FALSE(result->resource_version.empty());
}

TEST_F(KubesimClientTest, LazyPagesOverHttpsHoldTheSameObjectsAsDomPages) {
  CreateNamespace("lazy");
  CreateConfigMaps("lazy", "cm-", 1200);
  std::map<std::string, std::string> dom, lazy;
  auto d = ListAllPages(*client_, kConfigMaps, "lazy", {.page_size = 500}, [&](boost::json::array& items) {
    for (const auto& o : items) dom[ObjectKey(o)] = CanonicalJson(o);
    return absl::OkStatus();
  });
  ASSERT_TRUE(d.ok()) << d.status();
  auto l = ListAllLazyPages(*client_, kConfigMaps, "lazy", {.page_size = 500}, [&](LazyPage& page) {
    for (const auto& item : page.items) {
      EXPECT_EQ(item.Kind(), "ConfigMap");
      EXPECT_EQ(item.ApiVersion(), "v1");
      lazy[std::string(item.Namespace()) + "/" + std::string(item.Name())] = item.Canonical();
    }
    return absl::OkStatus();
  });
  ASSERT_TRUE(l.ok()) << l.status();
  EXPECT_EQ(l->pages, 3);
  EXPECT_EQ(lazy.size(), 1201u);  // and kube-root-ca.crt
  EXPECT_EQ(lazy, dom);
}

TEST_F(KubesimClientTest, ExpiredContinueTokenRestartsWithoutDuplicates) {
  CreateNamespace("exp");
  CreateConfigMaps("exp", "cm-", 2000);
  int pages = 0;
  std::multiset<std::string> seen;
  auto result = ListAll(*client_, kConfigMaps, "exp", {.page_size = 500}, [&](boost::json::value&& o) {
    seen.insert(std::string(ObjectName(o)));
    if (seen.size() == 500 && pages++ == 0) {
      // A write, then compaction: the continue token of the first page is now too old.
      EXPECT_TRUE(CreateRetrying(kConfigMaps, "exp", ConfigMap("exp", "written-during-list")).ok());
      EXPECT_TRUE(Compact().ok());
    }
    return absl::OkStatus();
  });
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_TRUE(result->restarted);
  // The pager asks for page 2 while page 1 is delivered, so the expiry hits page 2 or page 3.
  EXPECT_THAT(result->skipped_duplicates, ::testing::AnyOf(500, 1000));
  // 2000 + the one written during the list + the namespace's kube-root-ca.crt.
  EXPECT_EQ(seen.size(), 2002u);
  EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()).size(), seen.size()) << "duplicates";
  EXPECT_EQ(seen.count("written-during-list"), 1u);
}

TEST_F(KubesimClientTest, WatchSeesAddedModifiedDeleted) {
  CreateNamespace("w");
  auto list = client_->List(kConfigMaps, "w");
  ASSERT_TRUE(list.ok());
  CancellationSource cancel;
  std::mutex mu;
  std::vector<std::string> events;
  std::thread watcher([&] {
    Status s = Watch(*client_, kConfigMaps, "w",
                     {.resource_version = list->resource_version, .timeout_seconds = 30, .cancel = cancel.token()},
                     [&](WatchEvent&& e) {
                       // The namespace controller adds kube-root-ca.crt concurrently.
                       if (e.type == WatchEventType::kBookmark || ObjectName(e.object) != "x") return true;
                       std::lock_guard<std::mutex> lock(mu);
                       events.push_back(std::string(WatchEventTypeName(e.type)) + " " +
                                        std::string(ObjectName(e.object)));
                       return events.size() < 3;
                     });
    EXPECT_TRUE(s.ok() || s.code() == absl::StatusCode::kCancelled) << s;
  });
  auto cm = client_->Create(kConfigMaps, "w", ConfigMap("w", "x"));
  ASSERT_TRUE(cm.ok());
  ASSERT_TRUE(client_->Patch(kConfigMaps, "w", "x", PatchType::kMerge, R"({"data":{"k":"2"}})").ok());
  ASSERT_TRUE(client_->Delete(kConfigMaps, "w", "x").ok());
  for (int i = 0; i < 400; ++i) {
    {
      std::lock_guard<std::mutex> lock(mu);
      if (events.size() >= 3) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  cancel.Cancel();
  watcher.join();
  EXPECT_THAT(events, ::testing::ElementsAre("ADDED x", "MODIFIED x", "DELETED x"));
}

class KubesimFaultTest : public KubesimClientTest {
 protected:
  void SetUp() override { StartCluster({"--fault-watch-drop-ms", "300"}); }
};

TEST_F(KubesimFaultTest, InformerStaysInSyncWhileWatchesDrop) {
  CreateNamespace("inf");
  CreateConfigMaps("inf", "seed-", 50);
  InformerOptions options;
  options.reflector.page_size = 20;
  options.reflector.initial_backoff = std::chrono::milliseconds(50);
  Informer informer(client_.get(), kConfigMaps, "inf", options);
  std::atomic<int> adds{0}, updates{0}, deletes{0};
  informer.AddEventHandler({.on_add = [&](const boost::json::value&) { ++adds; },
                            .on_update = [&](const boost::json::value&, const boost::json::value&) { ++updates; },
                            .on_delete = [&](const boost::json::value&) { ++deletes; }});
  informer.Start();
  ASSERT_TRUE(informer.WaitForSync(std::chrono::seconds(20)));
  // Two seconds of churn: creates, updates and deletes spanning several dropped watches.
  for (int i = 0; i < 100; ++i) {
    std::string name = "churn-" + std::to_string(i);
    ASSERT_TRUE(CreateRetrying(kConfigMaps, "inf", ConfigMap("inf", name)).ok());
    ASSERT_TRUE(client_->Patch(kConfigMaps, "inf", "seed-" + std::to_string(i % 50), PatchType::kMerge,
                               R"({"data":{"k":")" + std::to_string(i) + "\"}}")
                    .ok());
    if (i % 3 == 0) {
      ASSERT_TRUE(client_->Delete(kConfigMaps, "inf", name).ok());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  auto want = ServerState(kConfigMaps, "inf");
  std::map<std::string, std::string> got;
  for (int i = 0; i < 300; ++i) {
    got.clear();
    for (auto& o : informer.List()) got[ObjectKey(o)] = std::string(ObjectResourceVersion(o));
    if (got == want) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  informer.Stop();
  EXPECT_EQ(got, want);
  // Dropped watches are resumed from the last resourceVersion, not re-listed.
  EXPECT_LE(informer.reflector()->list_count(), 2) << "re-listed on every dropped watch";
  EXPECT_EQ(want.size(), 50u + 100u - 34u + 1u);  // + kube-root-ca.crt
  EXPECT_GE(adds.load(), 150);
  EXPECT_GE(updates.load(), 100);
  EXPECT_GE(deletes.load(), 34);
}

}  // namespace
}  // namespace lifeboat::kube
