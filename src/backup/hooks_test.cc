// HookRunner against a real kubesim: the pods' hooks run as local processes through the exec
// subresource, so each test sees what a command did through marker files in its own temp dir.
// Annotations are set on the pod JSON handed to Run (HookRunner reads them from there only).

#include "src/backup/hooks.h"

#include <atomic>
#include <chrono>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lifeboat/common/byte_stream.h"
#include "lifeboat/common/clock.h"
#include "lifeboat/common/gzip.h"
#include "lifeboat/common/json.h"
#include "lifeboat/kube/config.h"
#include "lifeboat/kube/dynamic_client.h"
#include "lifeboat/kube/pod_exec.h"
#include "lifeboat/kube/rest_client.h"
#include "src/kube/kube_test_util.h"
#include "src/kube/testing/kubesim_process.h"

namespace lifeboat::backup {
namespace {

namespace json = boost::json;
namespace fs = std::filesystem;
using kube::testing::KubesimProcess;
using ::testing::HasSubstr;
using ::testing::Not;

const kube::GroupVersionResource kPods{"", "v1", "pods"};

class HooksTest : public ::testing::Test {
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
    auto exec = kube::PodExecutor::Create(*config, nullptr);
    ASSERT_TRUE(exec.ok()) << exec.status();
    exec_ = exec->release();
    for (const char* ns : {"hooks", "other"}) {
      auto obj =
          ParseJson(std::string(R"({"apiVersion":"v1","kind":"Namespace","metadata":{"name":")") +
                    ns + "\"}}");
      ASSERT_TRUE(client_->Create({"", "v1", "namespaces"}, "", *obj).ok());
    }
    // hooks/web: containers app (first) and sidecar; other/db: one container.
    CreatePod("hooks", "web", R"({"app":"web"})", R"([{"name":"app","image":"busybox"},
                                                     {"name":"sidecar","image":"busybox"}])");
    CreatePod("other", "db", R"({"app":"db"})", R"([{"name":"db","image":"busybox"}])");
  }

  static void TearDownTestSuite() {
    delete exec_;
    delete client_;
    delete discovery_;
    delete rest_;
    delete kubesim_;
  }

  static void CreatePod(const std::string& ns, const std::string& name, const std::string& labels,
                        const std::string& containers) {
    auto obj =
        ParseJson(R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":")" + name +
                  R"(","labels":)" + labels + R"(},"spec":{"containers":)" + containers + "}}");
    ASSERT_TRUE(obj.ok()) << obj.status();
    auto created = client_->Create(kPods, ns, *obj);
    ASSERT_TRUE(created.ok()) << created.status();
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    for (;;) {
      auto got = client_->Get(kPods, ns, name);
      ASSERT_TRUE(got.ok()) << got.status();
      const json::value* phase = got->as_object().if_contains("status");
      if (phase != nullptr && phase->is_object()) phase = phase->as_object().if_contains("phase");
      if (phase != nullptr && phase->is_string() && phase->as_string() == "Running") return;
      ASSERT_LT(std::chrono::steady_clock::now(), deadline) << name << " never became Running";
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }

  void SetUp() override {
    dir_ = kube::testing::MakeTempDir();
    sink_ = StringSink(&log_gz_);
    log_ = std::make_unique<BackupLog>(sink_.get(), "velero/b1", &clock_);
  }

  // The pod as the API server returns it, with `annotations` set (when given).
  json::value Pod(const std::string& ns, const std::string& name,
                  const std::map<std::string, std::string>& annotations = {}) {
    auto got = client_->Get(kPods, ns, name);
    EXPECT_TRUE(got.ok()) << got.status();
    if (!got.ok()) return json::value();
    json::object a;
    for (const auto& [k, v] : annotations) a[k] = v;
    if (!annotations.empty()) got->as_object()["metadata"].as_object()["annotations"] = a;
    return *got;
  }

  // A command that appends "<CONTAINER>" to the marker file `name`.
  std::vector<std::string> Mark(const std::string& name) {
    return {"sh", "-c", "printf '%s;' \"$CONTAINER\" >> " + (dir_ / name).string()};
  }
  std::string MarkJson(const std::string& name) {
    json::array a;
    for (const auto& s : Mark(name)) a.emplace_back(s);
    return json::serialize(a);
  }
  std::string Marker(const std::string& name) {
    return fs::exists(dir_ / name) ? kube::testing::ReadTextFile(dir_ / name) : "<none>";
  }

  static api::ExecHook Exec(std::vector<std::string> command,
                            api::HookErrorMode on_error = api::HookErrorMode::kUnset,
                            std::string container = "") {
    api::ExecHook h;
    h.command = std::move(command);
    h.on_error = on_error;
    h.container = std::move(container);
    return h;
  }
  static api::BackupResourceHookSpec Entry(std::string name, std::vector<api::ExecHook> pre,
                                           std::vector<api::ExecHook> post = {}) {
    api::BackupResourceHookSpec e;
    e.name = std::move(name);
    for (auto& h : pre) e.pre.push_back({std::move(h)});
    for (auto& h : post) e.post.push_back({std::move(h)});
    return e;
  }

  // The log's text (closes the log).
  std::string LogText() {
    EXPECT_TRUE(log_->Close().ok());
    auto text = Gunzip(log_gz_);
    EXPECT_TRUE(text.ok()) << text.status();
    return text.ok() ? *text : "";
  }

  static KubesimProcess* kubesim_;
  static kube::RestClient* rest_;
  static kube::Discovery* discovery_;
  static kube::DynamicClient* client_;
  static kube::PodExecutor* exec_;

  fs::path dir_;
  FakeClock clock_;
  std::string log_gz_;
  std::unique_ptr<ByteSink> sink_;
  std::unique_ptr<BackupLog> log_;
  api::BackupSpec spec_;
};
KubesimProcess* HooksTest::kubesim_ = nullptr;
kube::RestClient* HooksTest::rest_ = nullptr;
kube::Discovery* HooksTest::discovery_ = nullptr;
kube::DynamicClient* HooksTest::client_ = nullptr;
kube::PodExecutor* HooksTest::exec_ = nullptr;

TEST_F(HooksTest, SpecHookRunsInTheFirstContainerAndLogsItsOutput) {
  auto cmd = Mark("pre");
  cmd[2] += "; echo hello-out; echo hello-err >&2";
  spec_.hooks.resources.push_back(Entry("freeze", {Exec(cmd)}));
  HookRunner runner(&spec_, exec_, log_.get(), {});
  EXPECT_TRUE(runner.Run(HookPhase::kPre, Pod("hooks", "web")));
  EXPECT_EQ(Marker("pre"), "app;");
  EXPECT_EQ(runner.attempted(), 1);
  EXPECT_EQ(runner.failed(), 0);
  EXPECT_EQ(log_->errors(), 0);
  std::string log = LogText();
  EXPECT_THAT(log, HasSubstr("running exec hook hookName=freeze hookContainer=app"));
  EXPECT_THAT(log,
              HasSubstr("hookOnError=Fail hookTimeout=30s hookPhase=pre hookSource=backupSpec"));
  EXPECT_THAT(log, HasSubstr("stdout: hello-out"));
  EXPECT_THAT(log, HasSubstr("stderr: hello-err"));
  EXPECT_THAT(log, HasSubstr("resource=pods"));
}

TEST_F(HooksTest, FailureWithContinueRunsTheRestAndKeepsThePod) {
  spec_.hooks.resources.push_back(Entry(
      "e", {Exec({"sh", "-c", "exit 3"}, api::HookErrorMode::kContinue), Exec(Mark("next"))}));
  HookRunner runner(&spec_, exec_, log_.get(), {});
  EXPECT_TRUE(runner.Run(HookPhase::kPre, Pod("hooks", "web")));
  EXPECT_EQ(Marker("next"), "app;");
  EXPECT_EQ(runner.attempted(), 2);
  EXPECT_EQ(runner.failed(), 1);
  EXPECT_EQ(log_->errors(), 1);
  // Recorded against the pod's namespace, as Velero's results group item errors.
  json::value results = log_->ResultsJson();
  EXPECT_THAT(json::serialize(results.at("errors").at("namespaces").at("hooks")),
              HasSubstr("command terminated with exit code 3"));
  EXPECT_THAT(LogText(), HasSubstr("level=error msg=\"Error executing hook\""));
}

TEST_F(HooksTest, FailureWithFailStopsTheRemainingHooks) {
  // onError unset: Velero's default, Fail.
  spec_.hooks.resources.push_back(Entry("e", {Exec({"false"}), Exec(Mark("never"))}));
  spec_.hooks.resources.push_back(Entry("later", {Exec(Mark("never-either"))}));
  HookRunner runner(&spec_, exec_, log_.get(), {});
  EXPECT_FALSE(runner.Run(HookPhase::kPre, Pod("hooks", "web")));
  EXPECT_EQ(Marker("never"), "<none>");
  EXPECT_EQ(Marker("never-either"), "<none>");
  EXPECT_EQ(runner.attempted(), 1);
  EXPECT_EQ(runner.failed(), 1);
  EXPECT_EQ(log_->errors(), 1);
  EXPECT_THAT(LogText(), HasSubstr("command terminated with exit code 1"));
}

TEST_F(HooksTest, TimeoutIsAFailure) {
  api::ExecHook slow = Exec({"sleep", "20"}, api::HookErrorMode::kFail);
  slow.timeout = std::chrono::milliseconds(700);
  spec_.hooks.resources.push_back(Entry("slow", {slow}));
  HookRunner runner(&spec_, exec_, log_.get(), {});
  EXPECT_FALSE(runner.Run(HookPhase::kPre, Pod("hooks", "web")));
  EXPECT_EQ(runner.failed(), 1);
  std::string log = LogText();
  EXPECT_THAT(log, HasSubstr("hookTimeout=700ms"));
  EXPECT_THAT(log, HasSubstr("timed out after 700ms"));
}

TEST_F(HooksTest, AnnotationsTakePrecedenceOverTheSpec) {
  spec_.hooks.resources.push_back(Entry("spec", {Exec(Mark("spec"))}, {Exec(Mark("spec-post"))}));
  HookRunner runner(&spec_, exec_, log_.get(), {});
  json::value pod = Pod("hooks", "web",
                        {{"pre.hook.backup.velero.io/command", MarkJson("annotation")},
                         {"pre.hook.backup.velero.io/container", "sidecar"}});
  EXPECT_TRUE(runner.Run(HookPhase::kPre, pod));
  EXPECT_EQ(Marker("annotation"), "sidecar;");
  EXPECT_EQ(Marker("spec"), "<none>");
  // No post. annotations: the post phase falls back to the spec.
  EXPECT_TRUE(runner.Run(HookPhase::kPost, pod));
  EXPECT_EQ(Marker("spec-post"), "app;");
  EXPECT_EQ(runner.attempted(), 2);
  EXPECT_THAT(LogText(), HasSubstr("hookName=<from-annotation> hookContainer=sidecar"));
}

TEST_F(HooksTest, PostAnnotationsAndOnErrorContinue) {
  HookRunner runner(&spec_, exec_, log_.get(), {});
  json::value pod = Pod("hooks", "web",
                        {{"post.hook.backup.velero.io/command", R"(["sh","-c","exit 4"])"},
                         {"post.hook.backup.velero.io/on-error", "Continue"},
                         {"post.hook.backup.velero.io/timeout", "1m"}});
  EXPECT_TRUE(runner.Run(HookPhase::kPre, pod));  // no pre hook at all
  EXPECT_EQ(runner.attempted(), 0);
  EXPECT_TRUE(runner.Run(HookPhase::kPost, pod));  // failed, but Continue
  EXPECT_EQ(runner.attempted(), 1);
  EXPECT_EQ(runner.failed(), 1);
  std::string log = LogText();
  EXPECT_THAT(log, HasSubstr("hookOnError=Continue hookTimeout=1m0s hookPhase=post"));
  EXPECT_THAT(log, HasSubstr("command terminated with exit code 4"));
}

TEST_F(HooksTest, UnprefixedAnnotationsAreAPreHookWhenNoPreOneExists) {
  HookRunner runner(&spec_, exec_, log_.get(), {});
  json::value legacy = Pod("hooks", "web",
                           {{"hook.backup.velero.io/command", MarkJson("legacy")},
                            {"hook.backup.velero.io/container", "sidecar"}});
  EXPECT_TRUE(runner.Run(HookPhase::kPre, legacy));
  EXPECT_TRUE(runner.Run(HookPhase::kPost, legacy));  // never a post hook
  EXPECT_EQ(Marker("legacy"), "sidecar;");
  EXPECT_EQ(runner.attempted(), 1);

  json::value both = Pod("hooks", "web",
                         {{"hook.backup.velero.io/command", MarkJson("legacy2")},
                          {"pre.hook.backup.velero.io/command", MarkJson("prefixed")}});
  EXPECT_TRUE(runner.Run(HookPhase::kPre, both));
  EXPECT_EQ(Marker("prefixed"), "app;");
  EXPECT_EQ(Marker("legacy2"), "<none>");
}

TEST_F(HooksTest, MissingContainerIsAFailure) {
  spec_.hooks.resources.push_back(
      Entry("e", {Exec(Mark("x"), api::HookErrorMode::kContinue, "nope")}));
  HookRunner runner(&spec_, exec_, log_.get(), {});
  EXPECT_TRUE(runner.Run(HookPhase::kPre, Pod("hooks", "web")));
  EXPECT_EQ(runner.failed(), 1);
  EXPECT_FALSE(
      runner.Run(HookPhase::kPre, Pod("hooks", "web",
                                      {{"pre.hook.backup.velero.io/command", "true"},
                                       {"pre.hook.backup.velero.io/container", "ghost"}})));
  EXPECT_EQ(runner.attempted(), 2);
  EXPECT_EQ(runner.failed(), 2);
  EXPECT_EQ(Marker("x"), "<none>");
  std::string log = LogText();
  EXPECT_THAT(log, HasSubstr(R"(no such container: \"nope\")"));
  EXPECT_THAT(log, HasSubstr(R"(no such container: \"ghost\")"));
}

TEST_F(HooksTest, JsonArrayVersusSingleStringCommand) {
  HookRunner runner(&spec_, exec_, log_.get(), {});
  // A JSON array is the argv.
  EXPECT_TRUE(
      runner.Run(HookPhase::kPre,
                 Pod("hooks", "web", {{"pre.hook.backup.velero.io/command", MarkJson("arr")}})));
  EXPECT_EQ(Marker("arr"), "app;");
  // A single string is one argument, not split on spaces: "true" runs...
  EXPECT_TRUE(runner.Run(HookPhase::kPre,
                         Pod("hooks", "web", {{"pre.hook.backup.velero.io/command", "true"}})));
  // ...but "sh -c ..." is looked up as one executable name, which does not exist (exit 127).
  const std::string split = "sh -c 'printf x > " + (dir_ / "split").string() + "'";
  EXPECT_FALSE(runner.Run(HookPhase::kPre,
                          Pod("hooks", "web", {{"pre.hook.backup.velero.io/command", split}})));
  EXPECT_EQ(Marker("split"), "<none>");
  // A malformed array is a single string too.
  EXPECT_FALSE(runner.Run(
      HookPhase::kPre, Pod("hooks", "web", {{"pre.hook.backup.velero.io/command", "[\"true\""}})));
  EXPECT_EQ(runner.attempted(), 4);
  EXPECT_EQ(runner.failed(), 2);
  std::string log = LogText();
  EXPECT_THAT(log, HasSubstr("command terminated with exit code 127"));
  EXPECT_THAT(log, HasSubstr("hookCommand=[sh -c 'printf x"));
}

TEST_F(HooksTest, BadTimeoutAnnotationWarnsAndUsesTheDefault) {
  HookRunner runner(&spec_, exec_, log_.get(), {});
  EXPECT_TRUE(
      runner.Run(HookPhase::kPre, Pod("hooks", "web",
                                      {{"pre.hook.backup.velero.io/command", "true"},
                                       {"pre.hook.backup.velero.io/timeout", "1d"},
                                       {"pre.hook.backup.velero.io/on-error", "Sometimes"}})));
  EXPECT_EQ(log_->warnings(), 1);
  std::string log = LogText();
  EXPECT_THAT(log, HasSubstr("Unable to parse provided timeout 1d, using default"));
  EXPECT_THAT(log, HasSubstr("hookOnError=Fail hookTimeout=30s"));
}

TEST_F(HooksTest, SucceededAndFailedPodsAreSkipped) {
  spec_.hooks.resources.push_back(Entry("e", {Exec(Mark("pre"))}, {Exec(Mark("post"))}));
  HookRunner runner(&spec_, exec_, log_.get(), {});
  for (const char* phase : {"Succeeded", "Failed"}) {
    json::value pod = Pod("hooks", "web", {{"pre.hook.backup.velero.io/command", "false"}});
    pod.as_object()["status"].as_object()["phase"] = phase;
    EXPECT_TRUE(runner.Run(HookPhase::kPre, pod));
    EXPECT_TRUE(runner.Run(HookPhase::kPost, pod));
  }
  EXPECT_EQ(runner.attempted(), 0);
  EXPECT_EQ(runner.failed(), 0);
  EXPECT_EQ(Marker("pre"), "<none>");
  EXPECT_EQ(Marker("post"), "<none>");
}

TEST_F(HooksTest, SpecEntriesSelectByNamespaceResourceAndLabels) {
  auto entry = [&](std::string name, std::vector<std::string> inc_ns,
                   std::vector<std::string> exc_ns, std::vector<std::string> inc_res,
                   std::vector<std::string> exc_res, std::string selector) {
    api::BackupResourceHookSpec e = Entry(name, {Exec(Mark(name))});
    e.included_namespaces = std::move(inc_ns);
    e.excluded_namespaces = std::move(exc_ns);
    e.included_resources = std::move(inc_res);
    e.excluded_resources = std::move(exc_res);
    if (!selector.empty()) e.label_selector = *api::LabelSelector::Parse(selector);
    spec_.hooks.resources.push_back(std::move(e));
  };
  entry("all", {}, {}, {}, {}, "");
  entry("glob-ns", {"hoo*"}, {}, {}, {}, "");
  entry("star-ns-excluded", {"*"}, {"h?oks"}, {}, {}, "");
  entry("pods-web", {}, {}, {"pods"}, {}, "app=web");
  entry("star-res", {}, {}, {"*"}, {}, "app in (web,db)");
  entry("deployments-only", {}, {}, {"deployments"}, {}, "");
  entry("pods-excluded", {}, {}, {}, {"Pod"}, "");
  entry("label-mismatch", {}, {}, {}, {}, "app=cache");
  HookRunner runner(&spec_, exec_, log_.get(), {});
  EXPECT_TRUE(runner.Run(HookPhase::kPre, Pod("hooks", "web")));
  EXPECT_TRUE(runner.Run(HookPhase::kPre, Pod("other", "db")));
  EXPECT_EQ(Marker("all"), "app;db;");
  EXPECT_EQ(Marker("glob-ns"), "app;");
  EXPECT_EQ(Marker("star-ns-excluded"), "db;");
  EXPECT_EQ(Marker("pods-web"), "app;");
  EXPECT_EQ(Marker("star-res"), "app;db;");
  EXPECT_EQ(Marker("deployments-only"), "<none>");
  EXPECT_EQ(Marker("pods-excluded"), "<none>");
  EXPECT_EQ(Marker("label-mismatch"), "<none>");
  EXPECT_EQ(runner.attempted(), 7);
  EXPECT_EQ(runner.failed(), 0);
}

TEST_F(HooksTest, CountersAddUpAcrossThreads) {
  spec_.hooks.resources.push_back(
      Entry("e", {Exec({"true"}), Exec({"false"}, api::HookErrorMode::kContinue)}));
  HookRunner runner(&spec_, exec_, log_.get(), {});
  json::value web = Pod("hooks", "web");
  json::value db = Pod("other", "db");
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 3; ++i) EXPECT_TRUE(runner.Run(HookPhase::kPre, t % 2 ? web : db));
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(runner.attempted(), 24);
  EXPECT_EQ(runner.failed(), 12);
  EXPECT_EQ(log_->errors(), 12);
}

TEST_F(HooksTest, WithoutAnExecutorEveryHookFails) {
  spec_.hooks.resources.push_back(Entry("e", {Exec({"true"}, api::HookErrorMode::kContinue)}));
  HookRunner runner(&spec_, nullptr, log_.get(), {});
  EXPECT_TRUE(runner.Run(HookPhase::kPre, Pod("hooks", "web")));
  EXPECT_EQ(runner.failed(), 1);
  EXPECT_THAT(LogText(), HasSubstr("no pod executor"));
}

TEST_F(HooksTest, CancelledBackupFailsTheHook) {
  CancellationSource source;
  source.Cancel("backup deleted");
  spec_.hooks.resources.push_back(Entry("e", {Exec(Mark("cancelled"))}));
  HookRunner runner(&spec_, exec_, log_.get(), source.token());
  EXPECT_FALSE(runner.Run(HookPhase::kPre, Pod("hooks", "web")));
  EXPECT_EQ(runner.failed(), 1);
  EXPECT_EQ(Marker("cancelled"), "<none>");
  EXPECT_THAT(LogText(), Not(HasSubstr("stdout:")));
}

}  // namespace
}  // namespace lifeboat::backup
