#include "lifeboat/kube/discovery.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "src/kube/testing/fake_rest_client.h"

namespace lifeboat::kube {
namespace {

using ::lifeboat::kube::testing::AddDiscovery;
using ::lifeboat::kube::testing::FakeRestClient;
using ::testing::ElementsAre;

class DiscoveryTest : public ::testing::Test {
 protected:
  DiscoveryTest() : discovery_(&fake_, {.min_refresh_interval = std::chrono::seconds(30), .clock = &clock_}) {
    AddDiscovery(fake_);
  }
  void AddWidgetsCrd() {
    fake_.OnJson("GET", "/apis", R"({"groups":[
      {"name":"apps","versions":[{"version":"v1"}],"preferredVersion":{"version":"v1"}},
      {"name":"example.com","versions":[{"version":"v1"},{"version":"v1beta1"}],
       "preferredVersion":{"version":"v1"}}]})");
    fake_.OnJson("GET", "/apis/example.com/v1", R"({"resources":[
      {"name":"widgets","singularName":"widget","namespaced":true,"kind":"Widget",
       "verbs":["get","list","create"],"shortNames":["wd"],"categories":["all"]},
      {"name":"widgets/status","namespaced":true,"kind":"Widget","verbs":["get","update"]}]})");
    fake_.OnJson("GET", "/apis/example.com/v1beta1", R"({"resources":[
      {"name":"widgets","singularName":"widget","namespaced":true,"kind":"Widget","verbs":["get"]}]})");
  }
  size_t RequestsTo(const std::string& path) { return fake_.RequestsTo("GET", path).size(); }

  FakeClock clock_;
  FakeRestClient fake_;
  Discovery discovery_;
};

TEST_F(DiscoveryTest, GroupsWithPreferredVersionFirst) {
  auto groups = discovery_.Groups();
  ASSERT_TRUE(groups.ok()) << groups.status();
  ASSERT_EQ(groups->size(), 5u);
  EXPECT_EQ((*groups)[0].name, "");
  EXPECT_THAT((*groups)[0].versions, ElementsAre("v1"));
  EXPECT_EQ((*groups)[2].name, "autoscaling");
  EXPECT_THAT((*groups)[2].versions, ElementsAre("v2", "v1"));
  EXPECT_EQ(*discovery_.PreferredVersion("autoscaling"), "v2");
  EXPECT_EQ(*discovery_.PreferredVersion(""), "v1");
  EXPECT_EQ(discovery_.PreferredVersion("nope.example.com").status().code(), absl::StatusCode::kNotFound);
}

TEST_F(DiscoveryTest, ResourcesCarrySubresourcesVerbsAndNames) {
  auto deploy = discovery_.ResourceFor({"apps", "v1", "deployments"});
  ASSERT_TRUE(deploy.ok()) << deploy.status();
  EXPECT_EQ(deploy->kind, "Deployment");
  EXPECT_TRUE(deploy->namespaced);
  EXPECT_THAT(deploy->short_names, ElementsAre("deploy"));
  EXPECT_THAT(deploy->categories, ElementsAre("all"));
  EXPECT_THAT(deploy->subresources, ElementsAre("scale", "status"));
  EXPECT_TRUE(deploy->HasVerb("deletecollection"));
  EXPECT_FALSE(deploy->HasVerb("proxy"));
  auto ns = discovery_.ResourceFor({"", "v1", "namespaces"});
  ASSERT_TRUE(ns.ok());
  EXPECT_FALSE(ns->namespaced);
  auto all = discovery_.Resources();
  ASSERT_TRUE(all.ok());
  EXPECT_TRUE(std::none_of(all->begin(), all->end(),
                           [](const ApiResource& r) { return r.name.find('/') != std::string::npos; }));
  // Preferred version first among autoscaling's resources.
  auto hpa = std::find_if(all->begin(), all->end(),
                          [](const ApiResource& r) { return r.name == "horizontalpodautoscalers"; });
  ASSERT_NE(hpa, all->end());
  EXPECT_EQ(hpa->version, "v2");
}

TEST_F(DiscoveryTest, LookupLikeKubectl) {
  struct Case {
    std::string name, group, version, resource;
  };
  for (const Case& c : std::vector<Case>{
           {"deploy", "apps", "v1", "deployments"},
           {"DEPLOY", "apps", "v1", "deployments"},
           {"deployments", "apps", "v1", "deployments"},
           {"deployment", "apps", "v1", "deployments"},
           {"Deployment", "apps", "v1", "deployments"},
           {"deployments.apps", "apps", "v1", "deployments"},
           {"deploy.apps", "apps", "v1", "deployments"},
           {"Deployment.apps", "apps", "v1", "deployments"},
           {"deployments.v1.apps", "apps", "v1", "deployments"},
           {"hpa", "autoscaling", "v2", "horizontalpodautoscalers"},
           {"hpa.v1.autoscaling", "autoscaling", "v1", "horizontalpodautoscalers"},
           {"events", "", "v1", "events"},  // the core group wins, as in kubectl
           {"events.events.k8s.io", "events.k8s.io", "v1", "events"},
           {"cm", "", "v1", "configmaps"},
           {"ns", "", "v1", "namespaces"},
       }) {
    auto r = discovery_.Lookup(c.name);
    ASSERT_TRUE(r.ok()) << c.name << ": " << r.status();
    EXPECT_EQ(r->gvr(), (GroupVersionResource{c.group, c.version, c.resource})) << c.name;
  }
  EXPECT_EQ(discovery_.Lookup("").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(discovery_.Lookup("deployments.batch").status().code(), absl::StatusCode::kNotFound);
  auto kind = discovery_.ResourceForKind("apps", "", "Deployment");
  ASSERT_TRUE(kind.ok());
  EXPECT_EQ(kind->name, "deployments");
}

TEST_F(DiscoveryTest, OneFailingGroupIsReportedNotFatal) {
  ASSERT_TRUE(discovery_.Refresh().ok());
  auto failures = discovery_.failures();
  ASSERT_EQ(failures.size(), 1u);
  EXPECT_EQ(failures[0].group_version, "metrics.k8s.io/v1beta1");
  EXPECT_EQ(failures[0].status.code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(discovery_.Lookup("deploy").ok());
}

TEST_F(DiscoveryTest, FailureOfApisKeepsThePreviousCache) {
  ASSERT_TRUE(discovery_.Refresh().ok());
  fake_.On("GET", "/apis", [](const RestRequest&) -> StatusOr<RestResponse> {
    return FakeRestClient::Error(503, "ServiceUnavailable", "down");
  });
  Status s = discovery_.Refresh();
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(s.message()), ::testing::HasSubstr("GET /apis"));
  EXPECT_TRUE(discovery_.Lookup("deploy").ok());
}

TEST_F(DiscoveryTest, MissRefreshesAtMostOncePerInterval) {
  ASSERT_TRUE(discovery_.Refresh().ok());
  EXPECT_EQ(RequestsTo("/apis"), 1u);
  // A CRD appears; within the interval a miss does not reload.
  AddWidgetsCrd();
  EXPECT_EQ(discovery_.Lookup("widgets").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(discovery_.Lookup("wd").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(RequestsTo("/apis"), 1u);
  clock_.Advance(std::chrono::seconds(31));
  auto w = discovery_.Lookup("wd");
  ASSERT_TRUE(w.ok()) << w.status();
  EXPECT_EQ(w->gvr(), (GroupVersionResource{"example.com", "v1", "widgets"}));
  EXPECT_THAT(w->subresources, ElementsAre("status"));
  EXPECT_EQ(RequestsTo("/apis"), 2u);
  // A hit does not reload.
  EXPECT_TRUE(discovery_.Lookup("widgets.v1beta1.example.com").ok());
  EXPECT_EQ(RequestsTo("/apis"), 2u);
  // The CRD disappears: an explicit Refresh sees it.
  AddDiscovery(fake_);
  ASSERT_TRUE(discovery_.Refresh().ok());
  EXPECT_EQ(discovery_.ResourceFor({"example.com", "v1", "widgets"}).status().code(),
            absl::StatusCode::kNotFound);
}

// The group/versions are fetched 8 at a time as a sliding window: the first one, answering only
// once all 16 others have been answered, is waited for without holding back the rest (fetched
// in batches of 8, the others would wait for it and it for them, until its deadline).
TEST(DiscoveryWindowTest, ASlowGroupVersionDoesNotHoldBackTheOthers) {
  FakeRestClient fake;
  fake.OnJson("GET", "/api", R"({"versions":["v1"]})");
  fake.OnJson(
      "GET", "/api/v1",
      R"({"resources":[{"name":"configmaps","namespaced":true,"kind":"ConfigMap","verbs":["list"]}]})");
  std::string groups;
  for (int i = 0; i < 16; ++i) {
    const std::string g = "g" + std::to_string(i) + ".example.com";
    groups += R"(,{"name":")" + g +
              R"(","versions":[{"version":"v1"}],"preferredVersion":{"version":"v1"}})";
    fake.OnJson(
        "GET", "/apis/" + g + "/v1",
        R"({"resources":[{"name":"things","namespaced":true,"kind":"Thing","verbs":["list"]}]})");
  }
  fake.OnJson(
      "GET", "/apis",
      R"({"groups":[{"name":"slow.example.com","versions":[{"version":"v1"}],"preferredVersion":{"version":"v1"}})" +
          groups + "]}");
  std::mutex mu;
  std::condition_variable cv;
  bool released = false;
  fake.On("GET", "/apis/slow.example.com/v1", [&](const RestRequest&) -> StatusOr<RestResponse> {
    std::unique_lock<std::mutex> lock(mu);
    // The deadline only keeps a broken build from hanging: the test needs the others first.
    released = cv.wait_for(lock, std::chrono::seconds(20), [&] {
      size_t answered = 0;
      for (int i = 0; i < 16; ++i) {
        answered +=
            fake.RequestsTo("GET", "/apis/g" + std::to_string(i) + ".example.com/v1").size();
      }
      return answered == 16;
    });
    return FakeRestClient::Json(
        R"({"resources":[{"name":"snails","namespaced":true,"kind":"Snail","verbs":["list"]}]})");
  });
  // Whoever answers wakes the slow handler to count again.
  std::atomic<bool> stop{false};
  std::thread poke([&] {
    while (!stop.load()) {
      cv.notify_all();
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  });
  Discovery discovery(&fake);
  Status s = discovery.Refresh();
  stop = true;
  poke.join();
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_TRUE(released) << "the slow group/version was answered only at its deadline";
  EXPECT_TRUE(discovery.ResourceFor({"slow.example.com", "v1", "snails"}).ok());
  EXPECT_TRUE(discovery.ResourceFor({"g15.example.com", "v1", "things"}).ok());
}

TEST(GroupVersionResourceTest, Spellings) {
  GroupVersionResource core{"", "v1", "pods"};
  GroupVersionResource apps{"apps", "v1", "deployments"};
  EXPECT_EQ(core.GroupVersion(), "v1");
  EXPECT_EQ(core.ToString(), "pods.v1");
  EXPECT_EQ(apps.GroupVersion(), "apps/v1");
  EXPECT_EQ(apps.ToString(), "deployments.v1.apps");
  EXPECT_LT(core, apps);
}

}  // namespace
}  // namespace lifeboat::kube
