#include "lifeboat/kube/watch.h"

#include <atomic>
#include <map>
#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lifeboat/common/json.h"
#include "lifeboat/kube/object.h"
#include "src/kube/testing/fake_rest_client.h"

namespace lifeboat::kube {
namespace {

using ::lifeboat::kube::testing::AddDiscovery;
using ::lifeboat::kube::testing::FakeRestClient;
using ::testing::ElementsAre;
using ::testing::Optional;

const GroupVersionResource kConfigMaps{"", "v1", "configmaps"};
const std::string kPath = "/api/v1/namespaces/ns1/configmaps";

std::string Event(std::string_view type, std::string_view name, int rv) {
  return "{\"type\":\"" + std::string(type) + "\",\"object\":{\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"" +
         std::string(name) + "\",\"namespace\":\"ns1\",\"resourceVersion\":\"" + std::to_string(rv) + "\"}}}\n";
}
std::string Bookmark(int rv) {
  return "{\"type\":\"BOOKMARK\",\"object\":{\"kind\":\"ConfigMap\",\"metadata\":{\"resourceVersion\":\"" +
         std::to_string(rv) + "\"}}}\n";
}
std::string Gone() {
  return R"({"type":"ERROR","object":{"kind":"Status","status":"Failure","message":"too old resource version","reason":"Expired","code":410}})"
         "\n";
}

std::vector<std::string> Decode(const std::vector<std::string_view>& chunks, Status* status = nullptr) {
  WatchDecoder d;
  std::vector<std::string> out;
  Status s;
  for (auto c : chunks) {
    s = d.Feed(c, [&](WatchEvent&& e) {
      out.push_back(std::string(WatchEventTypeName(e.type)) + " " + std::string(ObjectName(e.object)) + "@" +
                    std::string(ObjectResourceVersion(e.object)));
      return true;
    });
    if (!s.ok()) break;
  }
  if (s.ok()) s = d.Finish();
  if (status) *status = s;
  return out;
}

TEST(WatchDecoderTest, EventsSplitAnywhereAcrossChunks) {
  const std::string stream = Event("ADDED", "a", 1) + Event("MODIFIED", "a", 2) + Bookmark(5) +
                             Event("DELETED", "a", 6);
  const std::vector<std::string> want = {"ADDED a@1", "MODIFIED a@2", "BOOKMARK @5", "DELETED a@6"};
  for (size_t cut = 0; cut <= stream.size(); ++cut) {
    std::string_view s(stream);
    EXPECT_EQ(Decode({s.substr(0, cut), s.substr(cut)}), want) << "cut at " << cut;
  }
  std::vector<std::string_view> bytes;
  for (size_t i = 0; i < stream.size(); ++i) bytes.push_back(std::string_view(stream).substr(i, 1));
  EXPECT_EQ(Decode(bytes), want);
  // Without newlines, and with \r\n.
  std::string packed = R"({"type":"ADDED","object":{"metadata":{"name":"x","resourceVersion":"1"}}})"
                       R"({"type":"ADDED","object":{"metadata":{"name":"y","resourceVersion":"2"}}})"
                       "\r\n";
  EXPECT_THAT(Decode({packed}), ElementsAre("ADDED x@1", "ADDED y@2"));
}

TEST(WatchDecoderTest, MalformedStreams) {
  Status s;
  Decode({"{\"type\":\"ADDED\",\"object\":{\"metadata\":"}, &s);
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);  // ended inside an event
  Decode({"{\"type\":\"ADDED\",\"object\":{]}\n"}, &s);
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  Decode({"{\"type\":\"EXPLODED\",\"object\":{}}\n"}, &s);
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  Decode({"[1,2]\n"}, &s);
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_TRUE(Decode({"\n\n  "}, &s).empty());
  EXPECT_TRUE(s.ok());
}

TEST(WatchDecoderTest, DeepObjectsAreAccepted) {
  std::string deep = "{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"d\"},\"spec\":";
  for (int i = 0; i < 100; ++i) deep += "{\"a\":";
  deep += "1";
  for (int i = 0; i < 100; ++i) deep += "}";
  deep += "}}\n";
  Status s;
  EXPECT_THAT(Decode({deep}, &s), ElementsAre("ADDED d@"));
  EXPECT_TRUE(s.ok()) << s;
}

class WatchTest : public ::testing::Test {
 protected:
  WatchTest() : discovery_(&fake_), client_(&fake_, &discovery_) { AddDiscovery(fake_); }
  FakeRestClient fake_;
  Discovery discovery_;
  DynamicClient client_;
};

TEST_F(WatchTest, StreamsEventsWithWatchParameters) {
  fake_.On("GET", kPath, [](const RestRequest& r) -> StatusOr<RestResponse> {
    std::string s = Event("ADDED", "a", 11) + Bookmark(12);
    r.on_body(std::string_view(s).substr(0, 30));
    r.on_body(std::string_view(s).substr(30));
    return FakeRestClient::Json("");
  });
  std::vector<WatchEventType> types;
  Status s = Watch(client_, kConfigMaps, "ns1",
                   {.label_selector = "app=x", .resource_version = "10", .timeout_seconds = 60},
                   [&](WatchEvent&& e) {
                     types.push_back(e.type);
                     return true;
                   });
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_THAT(types, ElementsAre(WatchEventType::kAdded, WatchEventType::kBookmark));
  auto r = fake_.requests().back();
  EXPECT_TRUE(r.streaming);
  EXPECT_THAT(r.Query("watch"), Optional(std::string("true")));
  EXPECT_THAT(r.Query("allowWatchBookmarks"), Optional(std::string("true")));
  EXPECT_THAT(r.Query("resourceVersion"), Optional(std::string("10")));
  EXPECT_THAT(r.Query("timeoutSeconds"), Optional(std::string("60")));
  EXPECT_THAT(r.Query("labelSelector"), Optional(std::string("app=x")));
}

TEST_F(WatchTest, HandlerStopsAndErrorsPassThrough) {
  fake_.On("GET", kPath, [](const RestRequest& r) -> StatusOr<RestResponse> {
    std::string s = Event("ADDED", "a", 11) + Event("ADDED", "b", 12);
    if (!r.on_body(s)) return Status(absl::CancelledError("stopped by callback"));
    return FakeRestClient::Json("");
  });
  int n = 0;
  EXPECT_TRUE(Watch(client_, kConfigMaps, "ns1", {}, [&](WatchEvent&&) { return ++n < 1; }).ok());
  EXPECT_EQ(n, 1);
  fake_.On("GET", kPath, [](const RestRequest&) -> StatusOr<RestResponse> {
    return FakeRestClient::Error(410, "Expired", "too old resource version");
  });
  EXPECT_EQ(Watch(client_, kConfigMaps, "ns1", {}, [&](WatchEvent&&) { return true; }).code(),
            absl::StatusCode::kOutOfRange);
  fake_.On("GET", kPath, [](const RestRequest& r) -> StatusOr<RestResponse> {
    r.on_body("{\"type\":\"ADDED\",");  // the stream breaks inside an event
    return FakeRestClient::Json("");
  });
  EXPECT_EQ(Watch(client_, kConfigMaps, "ns1", {}, [&](WatchEvent&&) { return true; }).code(),
            absl::StatusCode::kDataLoss);
  WatchEvent gone{WatchEventType::kError, *ParseJson(R"({"kind":"Status","code":410})")};
  EXPECT_EQ(WatchErrorCode(gone), 410);
}

// Records what a Reflector stores.
class RecordingStore : public ReflectorStore {
 public:
  void Replace(std::vector<boost::json::value> items, const std::string& rv) override {
    std::lock_guard<std::mutex> lock(mu_);
    std::string line = "REPLACE@" + rv;
    for (auto& i : items) line += " " + std::string(ObjectName(i));
    log_.push_back(line);
  }
  void Add(boost::json::value o) override { Record("ADD", o); }
  void Update(boost::json::value o) override { Record("UPDATE", o); }
  void Delete(boost::json::value o) override { Record("DELETE", o); }
  std::vector<std::string> log() {
    std::lock_guard<std::mutex> lock(mu_);
    return log_;
  }

 private:
  void Record(const char* what, const boost::json::value& o) {
    std::lock_guard<std::mutex> lock(mu_);
    log_.push_back(std::string(what) + " " + std::string(ObjectName(o)) + "@" +
                   std::string(ObjectResourceVersion(o)));
  }
  std::mutex mu_;
  std::vector<std::string> log_;
};

std::string List(int rv, std::vector<std::string> names) {
  std::string s = R"({"kind":"ConfigMapList","apiVersion":"v1","metadata":{"resourceVersion":")" +
                  std::to_string(rv) + R"("},"items":[)";
  for (size_t i = 0; i < names.size(); ++i) {
    if (i) s += ",";
    s += R"({"metadata":{"name":")" + names[i] + R"(","namespace":"ns1","resourceVersion":")" +
         std::to_string(rv) + "\"}}";
  }
  return s + "]}";
}

TEST_F(WatchTest, ReflectorResumesFromBookmarksAndRelistsOnGone) {
  // Script: list@10 -> watch@10 (ADDED c, BOOKMARK 15, end) -> watch@15 (ERROR 410)
  //         -> list@20 -> watch@20 (HTTP 410) -> list@30 -> watch@30 (DELETED a, then waits).
  std::mutex mu;
  std::vector<std::string> watch_rvs;
  int lists = 0;
  std::atomic<bool> done{false};
  fake_.On("GET", kPath, [&](const RestRequest& r) -> StatusOr<RestResponse> {
    std::string rv;
    bool watch = false;
    for (auto& [k, v] : r.query) {
      if (k == "resourceVersion") rv = v;
      if (k == "watch") watch = true;
    }
    if (!watch) {
      std::lock_guard<std::mutex> lock(mu);
      ++lists;
      if (lists == 1) return FakeRestClient::Json(List(10, {"a", "b"}));
      if (lists == 2) return FakeRestClient::Json(List(20, {"a", "c"}));
      return FakeRestClient::Json(List(30, {"a", "c"}));
    }
    {
      std::lock_guard<std::mutex> lock(mu);
      watch_rvs.push_back(rv);
    }
    if (rv == "10") {
      r.on_body(Event("ADDED", "c", 11) + Bookmark(15));
    } else if (rv == "15") {
      r.on_body(Gone());
    } else if (rv == "20") {
      return FakeRestClient::Error(410, "Expired", "too old");
    } else if (rv == "30") {
      r.on_body(Event("DELETED", "a", 31));
      done = true;
      r.cancel.WaitFor(std::chrono::seconds(30));
      return Status(absl::CancelledError("cancelled"));
    }
    return FakeRestClient::Json("");
  });
  RecordingStore store;
  Reflector reflector(&client_, kConfigMaps, "ns1", &store,
                      {.initial_backoff = std::chrono::milliseconds(1), .max_backoff = std::chrono::milliseconds(5)});
  CancellationSource stop;
  std::thread t([&] { EXPECT_TRUE(reflector.Run(stop.token()).ok()); });
  for (int i = 0; i < 2000 && !done; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  // Wait for the DELETED event to reach the store.
  for (int i = 0; i < 200 && store.log().size() < 5; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  stop.Cancel();
  t.join();
  EXPECT_THAT(store.log(), ElementsAre("REPLACE@10 a b", "ADD c@11", "REPLACE@20 a c", "REPLACE@30 a c",
                                       "DELETE a@31"));
  EXPECT_THAT(watch_rvs, ElementsAre("10", "15", "20", "30"));
  EXPECT_EQ(reflector.list_count(), 3);
  EXPECT_EQ(reflector.last_resource_version(), "31");
}

TEST_F(WatchTest, ReflectorBacksOffOnListErrorsAndStopsOnCancel) {
  std::atomic<int> calls{0};
  fake_.On("GET", kPath, [&](const RestRequest&) -> StatusOr<RestResponse> {
    ++calls;
    return FakeRestClient::Error(503, "ServiceUnavailable", "down");
  });
  FakeClock clock;
  RecordingStore store;
  Reflector reflector(&client_, kConfigMaps, "ns1", &store,
                      {.initial_backoff = std::chrono::seconds(1), .max_backoff = std::chrono::seconds(4),
                       .clock = &clock});
  CancellationSource stop;
  std::thread t([&] { EXPECT_TRUE(reflector.Run(stop.token()).ok()); });
  auto wait_calls = [&](int n) {
    for (int i = 0; i < 1000 && calls.load() < n; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    return calls.load();
  };
  clock.WaitForSleepers(1);
  EXPECT_EQ(calls.load(), 1);
  clock.Advance(std::chrono::seconds(1));
  EXPECT_EQ(wait_calls(2), 2);
  clock.WaitForSleepers(1);
  clock.Advance(std::chrono::seconds(1));  // the backoff is now 2 s: no retry yet
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_EQ(calls.load(), 2);
  stop.Cancel();
  t.join();
  EXPECT_TRUE(store.log().empty());
}

}  // namespace
}  // namespace lifeboat::kube
