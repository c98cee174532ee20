// Restore hooks: InitRestoreHookAction on pod JSON, and RestoreExecHooks against a real kubesim
// whose pods run their exec commands as local processes (each test sees what a command did
// through marker files in its own temp dir). A pod that mounts a missing config map stays
// Pending in kubesim, which gives a container that is not running (yet).

#include "src/restore/hooks.h"

#include <chrono>
#include <filesystem>
#include <regex>
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
#include "src/kube/testing/kubesim_cluster.h"

namespace lifeboat::restore {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using Annotations = std::map<std::string, std::string>;
namespace fs = std::filesystem;
namespace json = boost::json;

const kube::GroupVersionResource kPods{"", "v1", "pods"};

json::value Json(const std::string& text) {
  auto v = ParseJson(text);
  EXPECT_TRUE(v.ok()) << v.status() << " in " << text;
  return v.ok() ? *v : json::value();
}

std::vector<std::string> InitNames(const json::value& pod) {
  std::vector<std::string> names;
  const json::value* list = pod.at("spec").as_object().if_contains("initContainers");
  if (list == nullptr) return names;
  for (const json::value& c : list->as_array()) names.emplace_back(c.at("name").as_string());
  return names;
}

api::RestoreResourceHookSpec Entry(std::string name, std::vector<std::string> namespaces = {}) {
  api::RestoreResourceHookSpec e;
  e.name = std::move(name);
  e.included_namespaces = std::move(namespaces);
  return e;
}

api::RestoreResourceHook InitHook(const std::vector<std::string>& containers_json) {
  api::InitRestoreHook init;
  for (const std::string& c : containers_json) init.init_containers.push_back(Json(c));
  return {std::nullopt, init};
}

api::RestoreResourceHook ExecHook(std::vector<std::string> command,
                                  api::HookErrorMode on_error = api::HookErrorMode::kUnset,
                                  std::string container = "") {
  api::ExecRestoreHook h;
  h.command = std::move(command);
  h.on_error = on_error;
  h.container = std::move(container);
  return {h, std::nullopt};
}

// ---------------------------------------------------------------------------------------------
// InitRestoreHookAction

class InitHookTest : public ::testing::Test {
 protected:
  StatusOr<json::value> Run(const json::value& pod) {
    plugin::RestoreContext ctx;
    ctx.restore = &restore_;
    InitRestoreHookAction action;
    auto out = action.Execute({pod, &pod, &ctx});
    if (!out.ok()) return out.status();
    return out->item;
  }
  json::value Pod(const Annotations& annotations, const std::string& init_containers = "[]",
                  const std::string& labels = "{}", const std::string& ns = "src") {
    json::object a;
    for (const auto& [k, v] : annotations) a[k] = v;
    json::value pod = Json(R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":")" +
                           ns + R"(","labels":)" + labels +
                           R"(},"spec":{"containers":[{"name":"app","image":"busybox"}],
                           "initContainers":)" + init_containers + "}}");
    pod.as_object()["metadata"].as_object()["annotations"] = a;
    return pod;
  }
  api::Restore restore_;
};

TEST_F(InitHookTest, AnnotationContainerGoesAfterRestoreWaitAndBeforeThePodsOwn) {
  auto out = Run(Pod({{"init.hook.restore.velero.io/container-image", "alpine:3"},
                      {"init.hook.restore.velero.io/container-name", "prep"},
                      {"init.hook.restore.velero.io/command", R"(["sh","-c","echo hi"])"}},
                     R"([{"name":"restore-wait","image":"velero"},{"name":"own","image":"x"}])"));
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_THAT(InitNames(*out), ElementsAre("restore-wait", "prep", "own"));
  const json::value& prep = out->at("spec").at("initContainers").at(1);
  EXPECT_EQ(prep.at("image"), "alpine:3");
  EXPECT_EQ(json::serialize(prep.at("command")), R"(["sh","-c","echo hi"])");
}

TEST_F(InitHookTest, AnnotationWithoutNameGetsAGeneratedNameAndNoCommand) {
  auto out = Run(Pod({{"init.hook.restore.velero.io/container-image", "alpine:3"}},
                     R"([{"name":"own","image":"x"}])"));
  ASSERT_TRUE(out.ok()) << out.status();
  std::vector<std::string> names = InitNames(*out);
  ASSERT_EQ(names.size(), 2u);
  EXPECT_TRUE(std::regex_match(names[0], std::regex("velero-restore-init-[0-9a-f]{8}"))) << names[0];
  EXPECT_EQ(names[1], "own");
  EXPECT_EQ(out->at("spec").at("initContainers").at(0).as_object().if_contains("command"), nullptr);
}

TEST_F(InitHookTest, SpecHooksMatchTheTargetNamespaceAndLabelsInSpecOrder) {
  restore_.spec.namespace_mapping = {{"src", "dst"}};
  auto a = Entry("a", {"dst"});
  a.post_hooks.push_back(InitHook({R"({"name":"a1","image":"i","command":["true"]})",
                                   R"({"name":"a2","image":"i","command":["true"]})"}));
  a.post_hooks.push_back(ExecHook({"true"}));  // exec hooks are not init containers
  auto b = Entry("b", {"src"});                 // the original namespace: does not match
  b.post_hooks.push_back(InitHook({R"({"name":"b1","image":"i","command":["true"]})"}));
  auto c = Entry("c");
  c.label_selector = *api::LabelSelector::Parse("app=web");
  c.post_hooks.push_back(InitHook({R"({"name":"c1","image":"i","command":["true"]})"}));
  auto d = Entry("d");
  d.label_selector = *api::LabelSelector::Parse("app=db");
  d.post_hooks.push_back(InitHook({R"({"name":"d1","image":"i","command":["true"]})"}));
  restore_.spec.hooks.resources = {a, b, c, d};
  auto out = Run(Pod({}, R"([{"name":"own","image":"x"}])", R"({"app":"web"})"));
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_THAT(InitNames(*out), ElementsAre("a1", "a2", "c1", "own"));

  // Annotations win over the spec.
  out = Run(Pod({{"init.hook.restore.velero.io/container-image", "alpine"},
                 {"init.hook.restore.velero.io/container-name", "ann"}},
                "[]", R"({"app":"web"})"));
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_THAT(InitNames(*out), ElementsAre("ann"));
}

TEST_F(InitHookTest, InvalidSpecInitContainerIsAnError) {
  auto e = Entry("bad");
  e.post_hooks.push_back(InitHook({R"({"name":"x","image":"i"})"}));  // no command
  restore_.spec.hooks.resources = {e};
  auto out = Run(Pod({}));
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(out.status().message()), HasSubstr("Command, Name or Image"));
  EXPECT_THAT(std::string(out.status().message()), HasSubstr("bad"));
}

TEST_F(InitHookTest, PodWithoutHooksIsUnchanged) {
  json::value pod = Pod({}, R"([{"name":"own","image":"x"},{"name":"restore-wait","image":"v"}])");
  auto out = Run(pod);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(*out, pod);
}

// ---------------------------------------------------------------------------------------------
// RestoreExecHooks

// One kubesim for the suite, with the clients the hooks use.
struct Cluster : kube::testing::KubesimCluster {
  Status Start() {
    LIFEBOAT_ASSIGN_OR_RETURN(auto started, kube::testing::KubesimCluster::Start());
    static_cast<kube::testing::KubesimCluster&>(*this) = std::move(*started);
    for (std::string ns : {"rh", "other"}) {
      json::value obj = {{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", ns}}}};
      LIFEBOAT_RETURN_IF_ERROR(client->Create({"", "v1", "namespaces"}, "", obj).status());
    }
    return absl::OkStatus();
  }
};

class ExecHooksTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    cluster_ = new Cluster;
    Status st = cluster_->Start();
    ASSERT_TRUE(st.ok()) << st;
  }
  static void TearDownTestSuite() { delete cluster_; }

  void SetUp() override {
    dir_ = kube::testing::MakeTempDir();
    sink_ = StringSink(&log_gz_);
    log_ = std::make_unique<engine::RestoreLog>(sink_.get(), "velero/r1", &log_clock_,
                                                engine::LogKind::kRestore);
  }

  // Creates a pod (containers app and sidecar) and returns it as the API server did. With
  // `missing_config_map` it mounts a config map of that name, so it stays Pending until the
  // config map exists.
  json::value CreatePod(const std::string& ns, const std::string& name,
                        const Annotations& annotations = {},
                        const std::string& missing_config_map = "") {
    json::object a;
    for (const auto& [k, v] : annotations) a[k] = v;
    std::string volumes;
    if (!missing_config_map.empty()) {
      volumes = R"(,"volumes":[{"name":"cfg","configMap":{"name":")" + missing_config_map + "\"}}]";
    }
    json::value pod = Json(R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":")" + name +
                           R"(","labels":{"app":"web"}},"spec":{"containers":[
                           {"name":"app","image":"busybox"},{"name":"sidecar","image":"busybox"}])" +
                           volumes + "}}");
    pod.as_object()["metadata"].as_object()["annotations"] = a;
    auto created = cluster_->client->Create(kPods, ns, pod);
    EXPECT_TRUE(created.ok()) << created.status();
    return created.ok() ? *created : json::value();
  }

  std::unique_ptr<RestoreExecHooks> Hooks(bool with_executor = true,
                                          std::chrono::seconds default_wait = std::chrono::seconds(60)) {
    return std::make_unique<RestoreExecHooks>(
        &restore_, cluster_->client.get(), with_executor ? cluster_->exec.get() : nullptr,
        log_.get(), &RealClock(), cancel_.token(), default_wait);
  }

  // sh -c that appends "<tag>@<CONTAINER>;" to the file `file` of the test's directory; as an
  // argv, or as the JSON array an annotation holds.
  std::vector<std::string> Mark(const std::string& file, const std::string& tag) {
    return {"sh", "-c", "printf '%s@%s;' " + tag + " \"$CONTAINER\" >> " + (dir_ / file).string()};
  }
  std::string MarkJson(const std::string& file, const std::string& tag) {
    return json::serialize(json::value_from(Mark(file, tag)));
  }
  // What the marks in `file` say ("<none>" before any).
  std::string Marks(const std::string& file) {
    std::error_code ec;
    if (!fs::exists(dir_ / file, ec)) return "<none>";
    return kube::testing::ReadTextFile(dir_ / file);
  }

  // The restore log's text (closes it).
  std::string LogText() {
    Status closed = log_->Close();
    EXPECT_TRUE(closed.ok()) << closed;
    StatusOr<std::string> text = Gunzip(log_gz_);
    return text.ok() ? *text : "<" + std::string(text.status().message()) + ">";
  }
  std::string Results() { return json::serialize(log_->ResultsJson()); }

  static Cluster* cluster_;

  fs::path dir_;
  FakeClock log_clock_;
  std::string log_gz_;
  std::unique_ptr<ByteSink> sink_;
  std::unique_ptr<engine::RestoreLog> log_;
  api::Restore restore_;
  CancellationSource cancel_;
};
Cluster* ExecHooksTest::cluster_ = nullptr;

TEST_F(ExecHooksTest, AnnotationHookRunsInTheFirstContainerOnceRunning) {
  auto hooks = Hooks();
  hooks->PodRestored(CreatePod("rh", "ann", {{"post.hook.restore.velero.io/command", MarkJson("m", "x")},
                                             {"post.hook.restore.velero.io/wait-for-ready", "true"}}));
  hooks->Wait();
  EXPECT_EQ(Marks("m"), "x@app;");
  EXPECT_EQ(hooks->attempted(), 1);
  EXPECT_EQ(hooks->failed(), 0);
  EXPECT_EQ(log_->errors(), 0);
  std::string log = LogText();
  EXPECT_THAT(log, HasSubstr("running exec hook hookName=<from-annotation> hookContainer=app"));
  EXPECT_THAT(log, HasSubstr("hookOnError=Continue hookTimeout=30s hookPhase=post "
                             "hookSource=annotation"));
}

TEST_F(ExecHooksTest, SpecHooksRunInOrderPerContainerAndOnlyInMatchingNamespaces) {
  auto a = Entry("first", {"rh"});
  a.post_hooks = {ExecHook(Mark("app", "1")), ExecHook(Mark("side", "1"), {}, "sidecar"),
                  ExecHook(Mark("app", "2"))};
  auto b = Entry("second");
  b.post_hooks = {ExecHook(Mark("app", "3"), {}, "app")};
  auto elsewhere = Entry("elsewhere", {"other"});
  elsewhere.post_hooks = {ExecHook(Mark("other", "x"))};
  restore_.spec.hooks.resources = {a, b, elsewhere};
  auto hooks = Hooks();
  hooks->PodRestored(CreatePod("rh", "spec"));
  hooks->Wait();
  EXPECT_EQ(Marks("app"), "1@app;2@app;3@app;");
  EXPECT_EQ(Marks("side"), "1@sidecar;");
  EXPECT_EQ(Marks("other"), "<none>");
  EXPECT_EQ(hooks->attempted(), 4);
  EXPECT_EQ(hooks->failed(), 0);
  EXPECT_THAT(LogText(), HasSubstr("hookName=second hookContainer=app"));
}

TEST_F(ExecHooksTest, ContinueRunsTheRestFailStopsThePodsHooks) {
  auto cont = Entry("c");
  cont.post_hooks = {ExecHook({"sh", "-c", "exit 3"}, api::HookErrorMode::kContinue),
                     ExecHook(Mark("cont", "after"))};
  restore_.spec.hooks.resources = {cont};
  {
    auto hooks = Hooks();
    hooks->PodRestored(CreatePod("rh", "cont"));
    hooks->Wait();
    EXPECT_EQ(Marks("cont"), "after@app;");
    EXPECT_EQ(hooks->attempted(), 2);
    EXPECT_EQ(hooks->failed(), 1);
  }
  auto fail = Entry("f");
  fail.post_hooks = {ExecHook({"sh", "-c", "exit 4"}, api::HookErrorMode::kFail),
                     ExecHook(Mark("fail", "after"))};
  restore_.spec.hooks.resources = {fail};
  auto hooks = Hooks();
  hooks->PodRestored(CreatePod("rh", "fail"));
  hooks->Wait();
  EXPECT_EQ(Marks("fail"), "<none>");
  EXPECT_EQ(hooks->attempted(), 2);
  EXPECT_EQ(hooks->failed(), 2);
  EXPECT_EQ(log_->errors(), 3);
  json::object results = log_->ResultsJson();
  const std::string errors = json::serialize(results["errors"]);
  EXPECT_THAT(errors, HasSubstr("hook c in container app failed to execute: command terminated "
                                "with exit code 3"));
  EXPECT_THAT(errors, HasSubstr("exit code 4"));
  EXPECT_THAT(errors, HasSubstr("hook f in container app in pod rh/fail not executed"));
  EXPECT_THAT(errors, HasSubstr("\"rh\""));  // recorded against the pod's namespace
}

TEST_F(ExecHooksTest, HookWaitsForTheContainerToRun) {
  auto hooks = Hooks();
  hooks->PodRestored(CreatePod("rh", "late", {{"post.hook.restore.velero.io/command",
                                               MarkJson("late", "x")}},
                               "late-config"));
  // The pod cannot start before its config map exists; then the hook runs.
  ASSERT_TRUE(cluster_->client
                  ->Create({"", "v1", "configmaps"}, "rh",
                           Json(R"({"apiVersion":"v1","kind":"ConfigMap",
                                   "metadata":{"name":"late-config"},"data":{"k":"v"}})"))
                  .ok());
  hooks->Wait();
  EXPECT_EQ(Marks("late"), "x@app;");
  EXPECT_EQ(hooks->failed(), 0);
}

TEST_F(ExecHooksTest, ContainerThatNeverRunsFailsAfterTheWaitTimeout) {
  auto hooks = Hooks();
  hooks->PodRestored(CreatePod("rh", "never",
                               {{"post.hook.restore.velero.io/command", MarkJson("never", "x")},
                                {"post.hook.restore.velero.io/wait-timeout", "1s"}},
                               "absent-config"));
  hooks->Wait();
  EXPECT_EQ(Marks("never"), "<none>");
  EXPECT_EQ(hooks->attempted(), 1);
  EXPECT_EQ(hooks->failed(), 1);
  EXPECT_THAT(Results(),
              HasSubstr("rh/never not executed: context deadline exceeded"));
}

TEST_F(ExecHooksTest, ExecTimeoutEndsALongCommand) {
  auto hooks = Hooks();
  hooks->PodRestored(CreatePod("rh", "slow", {{"post.hook.restore.velero.io/command",
                                               R"(["sleep","60"])"},
                                              {"post.hook.restore.velero.io/exec-timeout", "1s"}}));
  hooks->Wait();
  EXPECT_EQ(hooks->failed(), 1);
  EXPECT_THAT(LogText(), HasSubstr("timed out after 1s"));
}

TEST_F(ExecHooksTest, CancellationStopsWaiting) {
  auto hooks = Hooks(true, std::chrono::seconds(600));
  hooks->PodRestored(CreatePod("rh", "cancelled", {{"post.hook.restore.velero.io/command",
                                                    MarkJson("cancelled", "x")}},
                               "never-config"));
  cancel_.Cancel();
  hooks->Wait();
  EXPECT_EQ(hooks->failed(), 1);
  EXPECT_THAT(Results(),
              HasSubstr("rh/cancelled not executed: context canceled"));
}

TEST_F(ExecHooksTest, NullExecutorFailsEveryHookClearly) {
  auto hooks = Hooks(false);
  hooks->PodRestored(CreatePod("rh", "noexec", {{"post.hook.restore.velero.io/command", "true"}}));
  hooks->Wait();
  EXPECT_EQ(hooks->attempted(), 1);
  EXPECT_EQ(hooks->failed(), 1);
  EXPECT_THAT(LogText(), HasSubstr("no pod executor to run hooks with"));
}

TEST_F(ExecHooksTest, PodsWithoutHooksOrWithAnUnknownContainerCostNothing) {
  auto hooks = Hooks();
  hooks->PodRestored(CreatePod("rh", "plain"));
  hooks->PodRestored(CreatePod("rh", "wrong", {{"post.hook.restore.velero.io/command", "true"},
                                               {"post.hook.restore.velero.io/container", "nope"}}));
  hooks->Wait();
  EXPECT_EQ(hooks->attempted(), 0);
  EXPECT_EQ(hooks->failed(), 0);
  EXPECT_EQ(log_->errors(), 0);
  EXPECT_EQ(log_->warnings(), 1);
  EXPECT_THAT(LogText(), HasSubstr("does not have container nope"));
}

}  // namespace
}  // namespace lifeboat::restore
