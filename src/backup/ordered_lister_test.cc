// ListInOrder against a real kubesim: pages arrive in task order whatever the workers' timing,
// nothing is lost or repeated, and a failing task is reported without stopping the others.

#include "src/backup/ordered_lister.h"

#include <map>
#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lifeboat/common/json.h"
#include "lifeboat/kube/config.h"
#include "lifeboat/kube/object.h"
#include "lifeboat/kube/rest_client.h"
#include "src/kube/testing/kubesim_process.h"

namespace lifeboat::backup {
namespace {

using kube::testing::KubesimProcess;

class OrderedListerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto k = KubesimProcess::Start();
    ASSERT_TRUE(k.ok()) << k.status();
    kubesim_ = k->release();
    auto config = kube::LoadKubeconfig({.explicit_path = kubesim_->kubeconfig()});
    ASSERT_TRUE(config.ok()) << config.status();
    kube::RestClientOptions o;
    o.qps = 0;
    auto rest = kube::RestClient::Create(*config, o);
    ASSERT_TRUE(rest.ok()) << rest.status();
    rest_ = rest->release();
    discovery_ = new kube::Discovery(rest_);
    client_ = new kube::DynamicClient(rest_, discovery_);
    for (const char* ns : {"ns-a", "ns-b"}) {
      auto obj = ParseJson(std::string(R"({"apiVersion":"v1","kind":"Namespace","metadata":{"name":")") + ns + "\"}}");
      ASSERT_TRUE(client_->Create({"", "v1", "namespaces"}, "", *obj).ok());
    }
    // ns-a: 700 config maps, ns-b: 300, plus 150 secrets in ns-a, created from 4 threads.
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([t] {
        for (int i = t; i < 1150; i += 4) {
          std::string ns = i < 700 || i >= 1000 ? "ns-a" : "ns-b";
          std::string kind = i < 1000 ? "ConfigMap" : "Secret";
          std::string resource = i < 1000 ? "configmaps" : "secrets";
          auto obj = ParseJson(R"({"apiVersion":"v1","kind":")" + kind +
                               R"(","metadata":{"name":"o-)" + std::to_string(i) + "\"}}");
          auto r = client_->Create({"", "v1", resource}, ns, *obj);
          EXPECT_TRUE(r.ok()) << r.status();
        }
      });
    }
    for (auto& t : threads) t.join();
  }
  static void TearDownTestSuite() {
    delete client_;
    delete discovery_;
    delete rest_;
    delete kubesim_;
  }
  static kube::ApiResource Resource(const std::string& name) {
    auto r = discovery_->ResourceFor({"", "v1", name});
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : kube::ApiResource{};
  }

  static KubesimProcess* kubesim_;
  static kube::RestClient* rest_;
  static kube::Discovery* discovery_;
  static kube::DynamicClient* client_;
};
KubesimProcess* OrderedListerTest::kubesim_ = nullptr;
kube::RestClient* OrderedListerTest::rest_ = nullptr;
kube::Discovery* OrderedListerTest::discovery_ = nullptr;
kube::DynamicClient* OrderedListerTest::client_ = nullptr;

TEST_F(OrderedListerTest, PagesArriveInTaskOrderWithEveryObjectOnce) {
  kube::ApiResource bogus = Resource("configmaps");
  bogus.name = "nosuchthings";
  std::vector<ListTask> tasks = {{Resource("configmaps"), "ns-b", ""},
                                 {bogus, "ns-a", ""},
                                 {Resource("secrets"), "ns-a", ""},
                                 {Resource("configmaps"), "ns-a", ""}};
  // With `prepare`, pages go through a helper thread; without, the pager queues them itself
  // (and here, in pages of ~4 KiB: ~20 of these objects, not 64).
  for (const bool prepare : {true, false}) {
    for (int workers : {1, 3, 8}) {
      std::vector<size_t> order;
      std::map<size_t, std::set<std::string>> names;
      std::map<size_t, std::vector<size_t>> page_sizes;
      std::map<size_t, Status> errors;
      OrderedListerOptions lo{.workers = workers, .page_size = 64};
      if (prepare) {
        lo.prepare = [](const kube::LazyItem& item, std::string& out) {
          out += "name=" + std::string(item.Name());
        };
      } else {
        lo.raw_items = true;
        lo.page_bytes = 4096;
      }
      Status s = ListInOrder(
          *client_, tasks, lo,
          [&](size_t task, Page& page, const Status& error) {
            if (order.empty() || order.back() != task) order.push_back(task);
            if (!error.ok()) errors[task] = error;
            if (!page.items.empty()) page_sizes[task].push_back(page.items.size());
            EXPECT_EQ(page.prepared_ends.size(), prepare ? page.items.size() : 0);
            for (size_t k = 0; k < page.items.size(); ++k) {
              EXPECT_TRUE(names[task].insert(std::string(page.items[k].Name())).second);
              if (prepare) {
                EXPECT_EQ(page.prepared(k), "name=" + std::string(page.items[k].Name()));
              } else {
                EXPECT_FALSE(page.items[k].Raw().empty());
              }
            }
            return absl::OkStatus();
          },
          {});
      ASSERT_TRUE(s.ok()) << s;
      EXPECT_THAT(order, ::testing::ElementsAre(0, 1, 2, 3)) << workers << " workers";
      for (const auto& [task, sizes] : page_sizes) {
        // Without `prepare`, a first page of as many 16 KiB objects as fit in 4096 bytes: one.
        EXPECT_EQ(sizes[0], prepare ? std::min<size_t>(64, names[task].size()) : 1)
            << "task " << task;
        for (size_t k = 1; k < sizes.size(); ++k) {
          if (prepare) {
            EXPECT_TRUE(sizes[k] == 64 || k + 1 == sizes.size()) << "task " << task;
          } else {
            EXPECT_LT(sizes[k], 40u) << "task " << task << " page " << k;
          }
        }
      }
      EXPECT_EQ(names[0].size(), 301u);  // + kube-root-ca.crt
      EXPECT_EQ(names[2].size(), 150u);
      EXPECT_EQ(names[3].size(), 701u);
      ASSERT_EQ(errors.count(1), 1u);
      EXPECT_EQ(errors[1].code(), absl::StatusCode::kNotFound) << errors[1];
    }
  }
}

TEST_F(OrderedListerTest, ConsumerErrorStopsTheWorkers) {
  std::vector<ListTask> tasks;
  for (int i = 0; i < 20; ++i) tasks.push_back({Resource("configmaps"), "ns-a", ""});
  int pages = 0;
  Status s = ListInOrder(*client_, tasks, {.workers = 4, .page_size = 50},
                         [&](size_t, Page&, const Status&) {
                           return ++pages == 3 ? absl::AbortedError("enough") : absl::OkStatus();
                         },
                         {});
  EXPECT_EQ(s.code(), absl::StatusCode::kAborted);
  EXPECT_EQ(pages, 3);
}

}  // namespace
TEST(NextAllowanceTest, MoreTasksOnlyWhileTheConsumerWaitsAndTheCpuIsIdle) {
  EXPECT_EQ(NextAllowance(1, 2, 0.5, /*starved=*/true), 2u);  // waiting, CPU to spare
  EXPECT_EQ(NextAllowance(2, 2, 0.9, true), 2u);              // never above `workers`
  EXPECT_EQ(NextAllowance(1, 2, 0.5, false), 1u);             // pages keep up: no more
  EXPECT_EQ(NextAllowance(1, 4, 0.25, true), 1u);             // between the thresholds
  EXPECT_EQ(NextAllowance(2, 4, 0.25, true), 2u);
  EXPECT_EQ(NextAllowance(2, 2, 0.1, true), 1u);            // CPU busy: one fewer
  EXPECT_EQ(NextAllowance(1, 2, 0.0, true), 1u);            // never below one
  EXPECT_EQ(NextAllowance(1, 3, std::nullopt, false), 2u);  // unknown: as many as asked
}

}  // namespace lifeboat::backup
