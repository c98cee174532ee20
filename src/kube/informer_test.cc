#include "lifeboat/kube/informer.h"

#include <atomic>
#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lifeboat/common/json.h"
#include "lifeboat/kube/object.h"
#include "src/kube/testing/fake_rest_client.h"

namespace lifeboat::kube {
namespace {

// Lists are streamed too (into the parser), so a watch is told apart by its query.
bool IsWatch(const RestRequest& r) {
  for (const auto& [k, v] : r.query) {
    if (k == "watch") return true;
  }
  return false;
}

using ::lifeboat::kube::testing::AddDiscovery;
using ::lifeboat::kube::testing::FakeRestClient;
using ::testing::ElementsAre;
using ::testing::UnorderedElementsAre;

const GroupVersionResource kConfigMaps{"", "v1", "configmaps"};
const std::string kPath = "/api/v1/namespaces/ns1/configmaps";

boost::json::value Cm(std::string name, int rv) {
  return *ParseJson(R"({"metadata":{"name":")" + name + R"(","namespace":"ns1","resourceVersion":")" +
                    std::to_string(rv) + "\"}}");
}

std::string Describe(const boost::json::value& o) {
  return std::string(ObjectName(o)) + "@" + std::string(ObjectResourceVersion(o));
}

// Collects handler calls as "ADD a@1", "UPDATE a@1->a@2", "DELETE a@2".
class Recorder {
 public:
  ResourceEventHandler Handler() {
    return {
        .on_add = [this](const boost::json::value& o) { Push("ADD " + Describe(o)); },
        .on_update = [this](const boost::json::value& a,
                            const boost::json::value& b) { Push("UPDATE " + Describe(a) + "->" + Describe(b)); },
        .on_delete = [this](const boost::json::value& o) { Push("DELETE " + Describe(o)); },
    };
  }
  std::vector<std::string> Take() {
    std::lock_guard<std::mutex> lock(mu_);
    return std::exchange(events_, {});
  }
  size_t size() {
    std::lock_guard<std::mutex> lock(mu_);
    return events_.size();
  }

 private:
  void Push(std::string s) {
    std::lock_guard<std::mutex> lock(mu_);
    events_.push_back(std::move(s));
  }
  std::mutex mu_;
  std::vector<std::string> events_;
};

class InformerTest : public ::testing::Test {
 protected:
  InformerTest() : discovery_(&fake_), client_(&fake_, &discovery_) { AddDiscovery(fake_); }
  FakeRestClient fake_;
  Discovery discovery_;
  DynamicClient client_;
  Recorder rec_;
};

TEST_F(InformerTest, StoreOperationsCallHandlers) {
  Informer informer(&client_, kConfigMaps, "ns1");
  informer.AddEventHandler(rec_.Handler());
  EXPECT_FALSE(informer.HasSynced());
  informer.Replace({Cm("a", 1), Cm("b", 1)}, "1");
  EXPECT_TRUE(informer.HasSynced());
  EXPECT_EQ(informer.last_sync_resource_version(), "1");
  EXPECT_THAT(rec_.Take(), ElementsAre("ADD a@1", "ADD b@1"));
  informer.Add(Cm("c", 2));
  informer.Update(Cm("b", 3));
  informer.Delete(Cm("a", 4));
  informer.Delete(Cm("never-seen", 5));
  EXPECT_THAT(rec_.Take(), ElementsAre("ADD c@2", "UPDATE b@1->b@3", "DELETE a@4"));
  EXPECT_EQ(informer.size(), 2u);
  ASSERT_TRUE(informer.Get("ns1/b").has_value());
  EXPECT_EQ(ObjectResourceVersion(*informer.Get("ns1/b")), "3");
  EXPECT_FALSE(informer.Get("ns1/a").has_value());
  // A re-list: b unchanged (no event), c changed, d new, missing objects deleted.
  informer.Add(Cm("e", 6));
  rec_.Take();
  informer.Replace({Cm("b", 3), Cm("c", 7), Cm("d", 7)}, "7");
  EXPECT_THAT(rec_.Take(), ElementsAre("DELETE e@6", "UPDATE c@2->c@7", "ADD d@7"));
  EXPECT_THAT(informer.List().size(), 3u);
  informer.Resync();
  EXPECT_THAT(rec_.Take(), UnorderedElementsAre("UPDATE b@3->b@3", "UPDATE c@7->c@7", "UPDATE d@7->d@7"));
}

TEST_F(InformerTest, ResyncPeriodCallsUpdateForEverything) {
  fake_.On("GET", kPath, [](const RestRequest& r) -> StatusOr<RestResponse> {
    if (IsWatch(r)) {
      r.cancel.WaitFor(std::chrono::seconds(30));
      return Status(absl::CancelledError("cancelled"));
    }
    return FakeRestClient::Json(
        R"({"metadata":{"resourceVersion":"5"},"items":[{"metadata":{"name":"a","namespace":"ns1","resourceVersion":"5"}}]})");
  });
  FakeClock clock;
  InformerOptions options;
  options.reflector.clock = &clock;
  options.resync_period = std::chrono::minutes(1);
  Informer informer(&client_, kConfigMaps, "ns1", options);
  informer.AddEventHandler(rec_.Handler());
  informer.Start();
  ASSERT_TRUE(informer.WaitForSync(std::chrono::seconds(10)));
  // Handlers run on the informer's own thread: the ADD may follow the sync by a moment.
  for (int i = 0; i < 2000 && rec_.size() == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_THAT(rec_.Take(), ElementsAre("ADD a@5"));
  clock.WaitForSleepers(1);  // the resync loop
  clock.Advance(std::chrono::minutes(1));
  for (int i = 0; i < 1000 && rec_.size() == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_THAT(rec_.Take(), ElementsAre("UPDATE a@5->a@5"));
  informer.Stop();
}

TEST_F(InformerTest, FollowsListAndWatchAndDetectsDeletionsOnRelist) {
  // list@10 {a,b} -> watch@10: MODIFIED a, ADDED c, then 410 -> list@20 {a,c} (b deleted while
  // the watch was gone) -> watch@20 waits.
  std::atomic<int> lists{0};
  std::atomic<bool> waiting{false};
  fake_.On("GET", kPath, [&](const RestRequest& r) -> StatusOr<RestResponse> {
    if (!IsWatch(r)) {
      if (++lists == 1) {
        return FakeRestClient::Json(R"({"metadata":{"resourceVersion":"10"},"items":[
          {"metadata":{"name":"a","namespace":"ns1","resourceVersion":"9"}},
          {"metadata":{"name":"b","namespace":"ns1","resourceVersion":"10"}}]})");
      }
      return FakeRestClient::Json(R"({"metadata":{"resourceVersion":"20"},"items":[
          {"metadata":{"name":"a","namespace":"ns1","resourceVersion":"11"}},
          {"metadata":{"name":"c","namespace":"ns1","resourceVersion":"12"}}]})");
    }
    if (lists == 1) {
      r.on_body(R"({"type":"MODIFIED","object":{"metadata":{"name":"a","namespace":"ns1","resourceVersion":"11"}}}
{"type":"ADDED","object":{"metadata":{"name":"c","namespace":"ns1","resourceVersion":"12"}}}
{"type":"ERROR","object":{"kind":"Status","code":410,"reason":"Expired"}}
)");
      return FakeRestClient::Json("");
    }
    waiting = true;
    r.cancel.WaitFor(std::chrono::seconds(30));
    return Status(absl::CancelledError("cancelled"));
  });
  InformerOptions options;
  options.reflector.initial_backoff = std::chrono::milliseconds(1);
  Informer informer(&client_, kConfigMaps, "ns1", options);
  informer.AddEventHandler(rec_.Handler());
  informer.Start();
  for (int i = 0; i < 2000 && !waiting; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  informer.Stop();
  EXPECT_THAT(rec_.Take(), ElementsAre("ADD a@9", "ADD b@10", "UPDATE a@9->a@11", "ADD c@12", "DELETE b@10"));
  std::vector<std::string> keys;
  for (auto& o : informer.List()) keys.push_back(ObjectKey(o));
  EXPECT_THAT(keys, ElementsAre("ns1/a", "ns1/c"));
  EXPECT_EQ(informer.last_sync_resource_version(), "20");
}

}  // namespace
}  // namespace lifeboat::kube
