#include "lifeboat/controller/controller.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "lifeboat/controller/kinds.h"
#include "src/controller/testing/server_fixture.h"

namespace lifeboat::controller {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;

// Records every Reconcile; a per-name script decides the result.
class RecordingReconciler : public Reconciler {
 public:
  using Script = std::function<StatusOr<Result>(int call, const CancellationToken& cancel)>;

  StatusOr<Result> Reconcile(const std::string& name, const CancellationToken& cancel) override {
    int call;
    Script script;
    {
      std::lock_guard lock(mu_);
      if (!active_.insert(name).second) ++overlaps_;
      call = ++calls_[name];
      if (auto it = scripts_.find(name); it != scripts_.end()) script = it->second;
    }
    cv_.notify_all();
    StatusOr<Result> result = script ? script(call, cancel) : StatusOr<Result>(Result{});
    {
      std::lock_guard lock(mu_);
      active_.erase(name);
    }
    cv_.notify_all();
    return result;
  }

  void SetScript(const std::string& name, Script s) {
    std::lock_guard lock(mu_);
    scripts_[name] = std::move(s);
  }
  int Calls(const std::string& name) {
    std::lock_guard lock(mu_);
    return calls_[name];
  }
  // Waits (real time, generous) until `name` was reconciled at least `n` times.
  bool WaitForCalls(const std::string& name, int n, std::chrono::seconds limit = 30s) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, limit, [&] { return calls_[name] >= n; });
  }
  int overlaps() {
    std::lock_guard lock(mu_);
    return overlaps_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, int> calls_;
  std::map<std::string, Script> scripts_;
  std::set<std::string> active_;
  int overlaps_ = 0;
};

class ControllerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto f = testing::ServerFixture::Start();
    ASSERT_TRUE(f.ok()) << f.status();
    fixture_ = f->release();
  }
  static void TearDownTestSuite() {
    delete fixture_;
    fixture_ = nullptr;
  }

  ControllerOptions Options(int workers = 1) {
    ControllerOptions o;
    o.name = "test";
    o.workers = workers;
    o.queue.base_backoff = 5ms;
    o.queue.max_backoff = 50ms;
    return o;
  }

  // Runs `c` on a thread until the test's end (or Stop()).
  void Start(Controller& c) {
    runner_ = std::thread([this, &c] {
      c.Run(stop_.token());
      run_returned_ = true;
    });
  }
  void Stop() {
    stop_.Cancel("test over");
    if (runner_.joinable()) runner_.join();
  }
  void TearDown() override { Stop(); }

  static testing::ServerFixture* fixture_;
  CancellationSource stop_;
  std::thread runner_;
  std::atomic<bool> run_returned_{false};
};

testing::ServerFixture* ControllerTest::fixture_ = nullptr;

TEST_F(ControllerTest, InformerEventsReachReconcile) {
  RecordingReconciler r;
  Controller c(Options(2), &r);
  kube::Informer informer(fixture_->ctx.client, kBackupStorageLocations, "velero");
  c.Watch(informer);
  informer.Start();
  ASSERT_TRUE(informer.WaitForSync(30s));
  Start(c);

  ASSERT_TRUE(fixture_->CreateLocalLocation("events", "bucket-events", false).ok());
  ASSERT_TRUE(r.WaitForCalls("events", 1)) << "create did not reach Reconcile";
  // Let the create's reconcile finish so the update is a new event, not folded into it.
  const int after_create = r.Calls("events");

  json::object patch = {{"spec", {{"config", {{"marker", "1"}}}}}};
  ASSERT_TRUE(
      MergePatch(*fixture_->ctx.client, kBackupStorageLocations, "velero", "events", patch).ok());
  ASSERT_TRUE(r.WaitForCalls("events", after_create + 1)) << "update did not reach Reconcile";
  const int after_update = r.Calls("events");

  ASSERT_TRUE(fixture_->ctx.client->Delete(kBackupStorageLocations, "velero", "events").ok());
  ASSERT_TRUE(r.WaitForCalls("events", after_update + 1)) << "delete did not reach Reconcile";
  EXPECT_EQ(r.overlaps(), 0);
  Stop();
  informer.Stop();
}

TEST_F(ControllerTest, KeyFuncMapsObjectsToNames) {
  RecordingReconciler r;
  Controller c(Options(), &r);
  kube::Informer informer(fixture_->ctx.client, kBackupStorageLocations, "velero");
  c.Watch(informer, [](const json::value& obj) -> std::string {
    std::string name(obj.at("metadata").at("name").as_string());
    return name == "keyfunc-ignored" ? "" : "mapped-" + name;
  });
  informer.Start();
  ASSERT_TRUE(informer.WaitForSync(30s));
  Start(c);
  ASSERT_TRUE(fixture_->CreateLocalLocation("keyfunc-ignored", "bucket-kf", false).ok());
  ASSERT_TRUE(fixture_->CreateLocalLocation("keyfunc", "bucket-kf", false).ok());
  ASSERT_TRUE(r.WaitForCalls("mapped-keyfunc", 1));
  // Events are delivered in order: the ignored object's add came first and was dropped.
  EXPECT_EQ(r.Calls("keyfunc-ignored"), 0);
  EXPECT_EQ(r.Calls("mapped-keyfunc-ignored"), 0);
  EXPECT_EQ(r.Calls("keyfunc"), 0);
  Stop();
  informer.Stop();
}

TEST_F(ControllerTest, ErrorsAreRetriedWithBackoffAndSuccessForgets) {
  RecordingReconciler r;
  Controller c(Options(), &r);
  r.SetScript("flaky", [](int call, const CancellationToken&) -> StatusOr<Result> {
    if (call <= 3) return absl::UnavailableError("try again");
    return Result{};
  });
  Start(c);
  c.Enqueue("flaky");
  ASSERT_TRUE(r.WaitForCalls("flaky", 4)) << "failed reconciles were not retried";
  // The fourth call succeeded: the backoff is forgotten (checked once the worker is done).
  for (int i = 0; i < 1000 && c.queue().NumRequeues("flaky") != 0; ++i)
    std::this_thread::sleep_for(10ms);
  EXPECT_EQ(c.queue().NumRequeues("flaky"), 0);
  Stop();
  EXPECT_EQ(r.Calls("flaky"), 4) << "a successful reconcile without requeue_after is not repeated";
}

TEST_F(ControllerTest, RequeueAfterRunsAgainWithoutChanges) {
  RecordingReconciler r;
  Controller c(Options(), &r);
  r.SetScript("periodic", [](int call, const CancellationToken&) -> StatusOr<Result> {
    return Result{call < 3 ? std::chrono::milliseconds(20) : std::chrono::milliseconds(0)};
  });
  Start(c);
  c.Enqueue("periodic");
  ASSERT_TRUE(r.WaitForCalls("periodic", 3));
  Stop();
  EXPECT_EQ(r.Calls("periodic"), 3);
}

TEST_F(ControllerTest, SameNameIsNeverReconciledConcurrently) {
  RecordingReconciler r;
  Controller c(Options(4), &r);
  for (const char* name : {"x", "y", "z"}) {
    r.SetScript(name, [](int, const CancellationToken&) -> StatusOr<Result> {
      std::this_thread::sleep_for(2ms);
      return Result{};
    });
  }
  Start(c);
  for (int i = 0; i < 300; ++i) {
    c.Enqueue(i % 3 == 0 ? "x" : i % 3 == 1 ? "y" : "z");
    if (i % 10 == 0) std::this_thread::sleep_for(1ms);
  }
  ASSERT_TRUE(r.WaitForCalls("x", 2));
  ASSERT_TRUE(r.WaitForCalls("y", 2));
  ASSERT_TRUE(r.WaitForCalls("z", 2));
  Stop();
  EXPECT_EQ(r.overlaps(), 0);
}

TEST_F(ControllerTest, RunReturnsAfterCancelAndReconcileSeesIt) {
  RecordingReconciler r;
  Controller c(Options(2), &r);
  std::atomic<bool> saw_cancel{false};
  r.SetScript("slow", [&](int, const CancellationToken& cancel) -> StatusOr<Result> {
    if (cancel.WaitFor(60s)) {
      saw_cancel = true;
      return cancel.status();
    }
    return Result{};
  });
  Start(c);
  c.Enqueue("slow");
  ASSERT_TRUE(r.WaitForCalls("slow", 1));
  Stop();
  EXPECT_TRUE(run_returned_);
  EXPECT_TRUE(saw_cancel);
  EXPECT_TRUE(c.queue().shutting_down());
}

}  // namespace
}  // namespace lifeboat::controller
