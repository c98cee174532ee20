#include "src/controller/server_status_reconciler.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <boost/json.hpp>
#include <chrono>
#include <set>
#include <string>
#include <tuple>

#include "lifeboat/api/time.h"
#include "lifeboat/common/clock.h"
#include "lifeboat/common/json.h"
#include "lifeboat/controller/kinds.h"
#include "lifeboat/storage/registry.h"
#include "src/controller/testing/server_fixture.h"

namespace lifeboat::controller {
namespace {

namespace json = boost::json;
using std::chrono::milliseconds;
using std::chrono::seconds;

class ServerStatusRequestReconcilerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::ServerFixtureOptions options;
    options.clock = &clock_;
    auto f = testing::ServerFixture::Start(options);
    ASSERT_TRUE(f.ok()) << f.status();
    f_ = std::move(*f);
    f_->ctx.options.server_version = "v9.8.7-test";
  }

  void CreateRequest(const std::string& name) {
    json::value r =
        json::object{{"apiVersion", "velero.io/v1"},
                     {"kind", "ServerStatusRequest"},
                     {"metadata", json::object{{"name", name}, {"namespace", "velero"}}}};
    auto created = f_->Create(kServerStatusRequests, r);
    ASSERT_TRUE(created.ok()) << created.status();
  }

  std::optional<json::value> Request(const std::string& name) {
    auto got = GetIfExists(*f_->ctx.client, kServerStatusRequests, "velero", name);
    EXPECT_TRUE(got.ok()) << got.status();
    return got.ok() ? *got : std::nullopt;
  }

  FakeClock clock_;
  std::unique_ptr<testing::ServerFixture> f_;
};

bool HasPlugin(const json::value& request, const std::string& name, const std::string& kind) {
  const json::value* plugins = JsonFind(request, {"status", "plugins"});
  if (!plugins || !plugins->is_array()) return false;
  for (const auto& p : plugins->as_array()) {
    if (JsonString(p, {"name"}) == name && JsonString(p, {"kind"}) == kind) return true;
  }
  return false;
}

TEST_F(ServerStatusRequestReconcilerTest, ProcessesThenDeletesAfterAMinute) {
  CreateRequest("ssr1");
  ServerStatusRequestReconciler r(f_->ctx);
  const auto processed_at = clock_.Now();
  auto result = r.Reconcile("ssr1", CancellationToken());
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->requeue_after, milliseconds(60000));

  auto req = Request("ssr1");
  ASSERT_TRUE(req.has_value());
  EXPECT_EQ(JsonString(*req, {"status", "phase"}), "Processed");
  EXPECT_EQ(JsonString(*req, {"status", "serverVersion"}), "v9.8.7-test");
  EXPECT_EQ(JsonString(*req, {"status", "processedTimestamp"}), api::FormatRfc3339(processed_at));
  EXPECT_TRUE(HasPlugin(*req, "velero.io/aws", "ObjectStore"));
  EXPECT_TRUE(HasPlugin(*req, "velero.io/azure", "ObjectStore"));
  EXPECT_TRUE(HasPlugin(*req, "velero.io/pod", "BackupItemAction"));
  EXPECT_TRUE(HasPlugin(*req, "velero.io/service-account", "BackupItemAction"));
  EXPECT_TRUE(HasPlugin(*req, "velero.io/change-storage-class", "RestoreItemAction"));
  EXPECT_TRUE(HasPlugin(*req, "velero.io/pod", "RestoreItemAction"));
  EXPECT_FALSE(HasPlugin(*req, "velero.io/pod", "ObjectStore"));

  // Processed: kept for a minute, without writes.
  const std::string rv = JsonString(*req, {"metadata", "resourceVersion"}).value_or("");
  clock_.Advance(seconds(20));
  result = r.Reconcile("ssr1", CancellationToken());
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->requeue_after, milliseconds(40000));
  EXPECT_EQ(JsonString(*Request("ssr1"), {"metadata", "resourceVersion"}), rv);

  clock_.Advance(seconds(40));
  result = r.Reconcile("ssr1", CancellationToken());
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->requeue_after, milliseconds(0));
  EXPECT_FALSE(Request("ssr1").has_value());
  EXPECT_TRUE(r.Reconcile("ssr1", CancellationToken()).ok());  // gone: nothing to do
}

TEST_F(ServerStatusRequestReconcilerTest, BuiltinPluginsAreSortedAndUnique) {
  auto plugins = BuiltinPlugins(f_->ctx);
  ASSERT_FALSE(plugins.empty());
  std::set<std::pair<std::string, std::string>> seen;
  for (const auto& p : plugins) {
    EXPECT_TRUE(p.name.starts_with("velero.io/")) << p.name;
    EXPECT_TRUE(p.kind == "ObjectStore" || p.kind == "BackupItemAction" ||
                p.kind == "RestoreItemAction")
        << p.kind;
    EXPECT_TRUE(seen.insert({p.kind, p.name}).second) << p.kind << " " << p.name;
  }
  EXPECT_TRUE(std::is_sorted(plugins.begin(), plugins.end(), [](const auto& a, const auto& b) {
    return std::tie(a.kind, a.name) < std::tie(b.kind, b.name);
  }));
  // Every object-store driver is listed.
  for (const auto& p : storage::KnownProviders()) {
    EXPECT_TRUE(seen.count({"ObjectStore", "velero.io/" + p})) << p;
  }
}

TEST_F(ServerStatusRequestReconcilerTest, ProcessedRequestWithoutTimestampIsDeleted) {
  json::value r = json::object{{"apiVersion", "velero.io/v1"},
                               {"kind", "ServerStatusRequest"},
                               {"metadata", json::object{{"name", "odd"}, {"namespace", "velero"}}},
                               {"status", json::object{{"phase", "Processed"}}}};
  ASSERT_TRUE(f_->Create(kServerStatusRequests, r).ok());
  ServerStatusRequestReconciler rec(f_->ctx);
  ASSERT_TRUE(rec.Reconcile("odd", CancellationToken()).ok());
  EXPECT_FALSE(Request("odd").has_value());
}

}  // namespace
}  // namespace lifeboat::controller
