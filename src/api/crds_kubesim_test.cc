// The generated CRDs against a real API server (kubesim, started here on a loopback port with
// its own data directory) driven by the real kubectl: `apply --dry-run=server` and `apply` of
// CrdsYaml(), the CRDs become Established, valid objects of every kind are accepted and keep
// their fields (status settable at create, raw init containers preserved), objects of the wrong
// shape are rejected with the API server's field errors, and `kubectl get` shows Velero's
// columns. kubesim is driven through kubectl rather than the kube module's dynamic client
// because `api` must not depend on `kube` (same layer; scripts/check_layers.py).

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "lifeboat/api/crds.h"

extern char** environ;

namespace lifeboat::api {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

constexpr char kKubectl[] = "/usr/bin/kubectl";

struct Result {
  int rc = -1;
  std::string out;  // stdout and stderr
};

class CrdsKubesimTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!fs::exists(kKubectl) || !fs::exists(LIFEBOAT_KUBESIM_BINARY)) return;
    std::string tmpl = (fs::temp_directory_path() / "lifeboat-crds-test-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = new fs::path(tmpl);
    std::vector<std::string> args = {LIFEBOAT_KUBESIM_BINARY,
                                     "--data-dir",
                                     dir_->string(),
                                     "--listen",
                                     "127.0.0.1:0",
                                     "--write-kubeconfig",
                                     (*dir_ / "kubeconfig").string(),
                                     "--log-level",
                                     "warn"};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    std::string log = (*dir_ / "kubesim.log").string();
    posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT, 0644);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    ASSERT_EQ(posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ), 0);
    posix_spawn_file_actions_destroy(&actions);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (std::chrono::steady_clock::now() < deadline) {
      std::error_code ec;
      if (fs::file_size(*dir_ / "kubeconfig", ec) > 0 && !ec) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ASSERT_TRUE(fs::exists(*dir_ / "kubeconfig")) << "kubesim did not start";
    // A kubeconfig is written before it is complete only if the write is not atomic; wait for
    // the API to answer.
    for (int i = 0; i < 100 && Kubectl("get --raw /version").rc != 0; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    dry_run_ = new Result(Kubectl("apply --dry-run=server -f -", CrdsYaml()));
    apply_ = new Result(Kubectl("apply -f -", CrdsYaml()));
    wait_ =
        new Result(Kubectl("wait --for=condition=Established --timeout=30s "
                           "crd -l component=velero"));
    Kubectl("create namespace velero");
  }

  static void TearDownTestSuite() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      ::waitpid(pid_, nullptr, 0);
      pid_ = -1;
    }
    if (dir_) {
      std::error_code ec;
      fs::remove_all(*dir_, ec);
      delete dir_;
      dir_ = nullptr;
    }
    delete dry_run_;
    delete apply_;
    delete wait_;
  }

  void SetUp() override {
    if (!fs::exists(kKubectl)) GTEST_SKIP() << kKubectl << " is not installed";
    if (!fs::exists(LIFEBOAT_KUBESIM_BINARY)) GTEST_SKIP() << "kubesim binary not built";
    ASSERT_GT(pid_, 0);
  }

  // Runs kubectl against kubesim with `args` (no shell metacharacters), `input` on stdin.
  static Result Kubectl(const std::string& args, const std::string& input = "") {
    static int n = 0;
    fs::path in = *dir_ / ("stdin-" + std::to_string(++n));
    std::ofstream(in) << input;
    std::string cmd = std::string(kKubectl) + " --kubeconfig " + (*dir_ / "kubeconfig").string() +
                      " " + args + " < " + in.string() + " 2>&1";
    Result r;
    FILE* p = ::popen(cmd.c_str(), "r");
    if (p == nullptr) return r;
    char buf[4096];
    size_t got;
    while ((got = std::fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, got);
    int status = ::pclose(p);
    r.rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return r;
  }

  // Creates the object (YAML) and returns it as the server stored it.
  static json::value Create(const std::string& yaml) {
    Result r = Kubectl("create -o json -f -", yaml);
    EXPECT_EQ(r.rc, 0) << r.out;
    if (r.rc != 0) return {};
    return json::parse(r.out);
  }

  static inline fs::path* dir_ = nullptr;
  static inline pid_t pid_ = -1;
  static inline Result* dry_run_ = nullptr;
  static inline Result* apply_ = nullptr;
  static inline Result* wait_ = nullptr;
};

const char* const kPlurals[] = {
    "backups",   "backupstoragelocations", "deletebackuprequests",   "downloadrequests", "restores",
    "schedules", "serverstatusrequests",   "volumesnapshotlocations"};

TEST_F(CrdsKubesimTest, ServerDryRunApplyAndEstablished) {
  EXPECT_EQ(dry_run_->rc, 0) << dry_run_->out;
  EXPECT_EQ(apply_->rc, 0) << apply_->out;
  EXPECT_EQ(wait_->rc, 0) << wait_->out;
  for (const char* plural : kPlurals) {
    std::string crd =
        std::string("customresourcedefinition.apiextensions.k8s.io/") + plural + ".velero.io";
    EXPECT_NE(dry_run_->out.find(crd + " created (server dry run)"), std::string::npos) << crd;
    EXPECT_NE(apply_->out.find(crd + " created"), std::string::npos) << crd;
    EXPECT_NE(wait_->out.find(crd + " condition met"), std::string::npos) << crd;
  }
  // Applying the same CRDs again changes nothing.
  Result again = Kubectl("apply -f -", CrdsYaml());
  EXPECT_EQ(again.rc, 0) << again.out;
  EXPECT_NE(again.out.find("backups.velero.io unchanged"), std::string::npos) << again.out;
  // Short names are served.
  for (const char* shortname : {"bak", "bsl", "vsl", "ssr", "dbr", "dreq", "rst", "sched"}) {
    Result r = Kubectl(std::string("get -n velero ") + shortname);
    EXPECT_EQ(r.rc, 0) << shortname << ": " << r.out;
  }
}

constexpr char kBackup[] = R"(apiVersion: velero.io/v1
kind: Backup
metadata: {name: b1, namespace: velero}
spec:
  includedNamespaces: [app]
  excludedResources: null
  ttl: 720h0m0s
  storageLocation: default
  labelSelector:
    matchLabels: {app: web}
    matchExpressions: [{key: tier, operator: In, values: [db]}]
  orderedResources: {pods: "app/a,app/b"}
  resourcePolicy: {kind: configmap, name: policy}
  uploaderConfig: {parallelFilesUpload: 4}
  hooks:
    resources:
    - name: freeze
      includedNamespaces: [app]
      pre:
      - exec: {container: db, command: [/bin/sync], onError: Fail, timeout: 30s}
status:
  phase: Completed
  startTimestamp: "2026-05-01T02:00:00Z"
  completionTimestamp: "2026-05-01T02:01:00Z"
  expiration: "2026-05-31T02:00:00Z"
  errors: 0
  warnings: 2
  version: 1
  formatVersion: 1.1.0
  progress: {totalItems: 10, itemsBackedUp: 10}
)";

constexpr char kRestore[] = R"(apiVersion: velero.io/v1
kind: Restore
metadata: {name: r1, namespace: velero}
spec:
  backupName: b1
  namespaceMapping: {app: app-copy}
  existingResourcePolicy: update
  restorePVs: true
  hooks:
    resources:
    - name: init
      postHooks:
      - init:
          timeout: 1m
          initContainers:
          - name: restore-data
            image: busybox:1.36
            command: [sh, -c, "echo hi"]
            volumeMounts: [{name: data, mountPath: /data}]
      - exec: {command: [/bin/true], waitForReady: true, execTimeout: 1m}
)";

constexpr char kOthers[] = R"(apiVersion: velero.io/v1
kind: Schedule
metadata: {name: nightly, namespace: velero}
spec:
  schedule: "CRON_TZ=Europe/Paris 0 2 * * *"
  paused: false
  useOwnerReferencesInBackup: true
  template: {includedNamespaces: ["*"], ttl: 24h0m0s, snapshotVolumes: false}
---
apiVersion: velero.io/v1
kind: BackupStorageLocation
metadata: {name: default, namespace: velero}
spec:
  provider: aws
  default: true
  accessMode: ReadWrite
  objectStorage: {bucket: backups, prefix: cluster1, caCert: LS0tLS1CRUdJTg==}
  credential: {name: cloud-credentials, key: cloud}
  config: {region: us-east-1, s3ForcePathStyle: "true"}
---
apiVersion: velero.io/v1
kind: VolumeSnapshotLocation
metadata: {name: default, namespace: velero}
spec: {provider: aws, config: {region: us-east-1}}
---
apiVersion: velero.io/v1
kind: DeleteBackupRequest
metadata: {name: b1-delete, namespace: velero}
spec: {backupName: b1}
---
apiVersion: velero.io/v1
kind: DownloadRequest
metadata: {name: b1-logs, namespace: velero}
spec: {target: {kind: BackupLog, name: b1}}
---
apiVersion: velero.io/v1
kind: ServerStatusRequest
metadata: {name: ssr1, namespace: velero}
spec: {}
)";

TEST_F(CrdsKubesimTest, ValidObjectsOfEveryKindAreStoredWithTheirFields) {
  json::value b = Create(kBackup);
  ASSERT_TRUE(b.is_object());
  EXPECT_EQ(b.at("status").at("phase"), "Completed");  // no status subresource: set at create
  EXPECT_EQ(b.at("status").at("progress").at("itemsBackedUp"), 10);
  EXPECT_EQ(b.at("spec").at("hooks").at("resources").at(0).at("pre").at(0).at("exec").at("command"),
            (json::array{"/bin/sync"}));
  EXPECT_EQ(b.at("spec").at("labelSelector").at("matchExpressions").at(0).at("values"),
            (json::array{"db"}));
  json::value r = Create(kRestore);
  ASSERT_TRUE(r.is_object());
  // Init containers are raw extensions: every field is kept, none pruned.
  const json::value& init = r.at("spec")
                                .at("hooks")
                                .at("resources")
                                .at(0)
                                .at("postHooks")
                                .at(0)
                                .at("init")
                                .at("initContainers")
                                .at(0);
  EXPECT_EQ(init.at("image"), "busybox:1.36");
  EXPECT_EQ(init.at("volumeMounts").at(0).at("mountPath"), "/data");
  Result others = Kubectl("create -f -", kOthers);
  EXPECT_EQ(others.rc, 0) << others.out;
  for (const char* what :
       {"schedule.velero.io/nightly", "backupstoragelocation.velero.io/default",
        "volumesnapshotlocation.velero.io/default", "deletebackuprequest.velero.io/b1-delete",
        "downloadrequest.velero.io/b1-logs", "serverstatusrequest.velero.io/ssr1"}) {
    EXPECT_NE(others.out.find(std::string(what) + " created"), std::string::npos) << what;
  }
  Result bsl = Kubectl("get -n velero bsl default -o json");
  ASSERT_EQ(bsl.rc, 0) << bsl.out;
  json::value bj = json::parse(bsl.out);
  EXPECT_EQ(bj.at("spec").at("credential").at("key"), "cloud");
  EXPECT_EQ(bj.at("spec").at("config").at("s3ForcePathStyle"), "true");
  // The schema's default: a secret key selector without a name gets name "".
  json::value vsl = Create(R"(apiVersion: velero.io/v1
kind: VolumeSnapshotLocation
metadata: {name: defaulted, namespace: velero}
spec: {provider: aws, credential: {key: cloud}}
)");
  ASSERT_TRUE(vsl.is_object());
  EXPECT_EQ(vsl.at("spec").at("credential"), (json::object{{"key", "cloud"}, {"name", ""}}));
}

// Each bad object with a piece of the error the API server must give.
struct Bad {
  const char* yaml;
  const char* error;
};

TEST_F(CrdsKubesimTest, ObjectsOfTheWrongShapeAreRejected) {
  const Bad cases[] = {
      {"kind: Backup\nmetadata: {name: bad1}\nspec: {ttl: 5}", "spec.ttl"},
      {"kind: Backup\nmetadata: {name: bad2}\nspec: {includedNamespaces: app}",
       "spec.includedNamespaces"},
      {"kind: Backup\nmetadata: {name: bad3}\nstatus: {phase: Done}", "status.phase"},
      {"kind: Backup\nmetadata: {name: bad4}\nstatus: {startTimestamp: yesterday}",
       "status.startTimestamp"},
      {"kind: Backup\nmetadata: {name: bad5}\nspec: {hooks: {resources: [{pre: []}]}}",
       "spec.hooks.resources[0].name"},
      {"kind: Backup\nmetadata: {name: bad6}\nspec: {hooks: {resources: [{name: h, pre: "
       "[{exec: {command: []}}]}]}}",
       "spec.hooks.resources[0].pre[0].exec.command"},
      {"kind: BackupStorageLocation\nmetadata: {name: bad7}\nspec: {objectStorage: {bucket: b}}",
       "spec.provider"},
      {"kind: BackupStorageLocation\nmetadata: {name: bad8}\nspec: {provider: aws, "
       "objectStorage: {bucket: b}, accessMode: Write}",
       "spec.accessMode"},
      {"kind: Schedule\nmetadata: {name: bad9}\nspec: {schedule: '@daily'}", "spec.template"},
      {"kind: DownloadRequest\nmetadata: {name: bad10}\nspec: {target: {kind: Tarball, name: b}}",
       "spec.target.kind"},
      {"kind: DeleteBackupRequest\nmetadata: {name: bad11}\nspec: {}", "spec.backupName"},
      {"kind: Restore\nmetadata: {name: bad12}\nspec: {restorePVs: maybe}", "spec.restorePVs"},
  };
  for (const Bad& c : cases) {
    std::string yaml = std::string("apiVersion: velero.io/v1\n") + c.yaml + "\n";
    yaml.insert(yaml.find("metadata: {") + 11, "namespace: velero, ");
    Result r = Kubectl("create -f -", yaml);
    EXPECT_NE(r.rc, 0) << yaml << r.out;
    EXPECT_NE(r.out.find(c.error), std::string::npos) << yaml << "\n" << r.out;
    EXPECT_NE(r.out.find("is invalid"), std::string::npos) << r.out;
  }
}

TEST_F(CrdsKubesimTest, UnknownFieldsArePrunedWhenNotValidatedStrictly) {
  Result r = Kubectl("create --validate=false -o json -f -",
                     "apiVersion: velero.io/v1\nkind: Backup\nmetadata: {name: pruned, "
                     "namespace: velero}\nspec: {ttl: 1h0m0s, bogus: 1}\nextra: 2\n");
  ASSERT_EQ(r.rc, 0) << r.out;
  json::value b = json::parse(r.out);
  EXPECT_EQ(b.at("spec").at("ttl"), "1h0m0s");
  EXPECT_FALSE(b.at("spec").as_object().contains("bogus"));
  EXPECT_FALSE(b.as_object().contains("extra"));
  // kubectl's default (strict field validation) refuses them instead.
  Result strict = Kubectl("create -f -",
                          "apiVersion: velero.io/v1\nkind: Backup\nmetadata: {name: strict, "
                          "namespace: velero}\nspec: {bogus: 1}\n");
  EXPECT_NE(strict.rc, 0);
  EXPECT_NE(strict.out.find("unknown field \"spec.bogus\""), std::string::npos) << strict.out;
}

TEST_F(CrdsKubesimTest, KubectlGetShowsVelerosColumns) {
  Create(R"(apiVersion: velero.io/v1
kind: Backup
metadata: {name: columns, namespace: velero}
status: {phase: InProgress, errors: 3, warnings: 4}
)");
  Result r = Kubectl("get -n velero backups columns");
  ASSERT_EQ(r.rc, 0) << r.out;
  std::istringstream lines(r.out);
  std::string header, row;
  std::getline(lines, header);
  std::getline(lines, row);
  std::istringstream h(header), w(row);
  std::vector<std::string> hs, ws;
  for (std::string t; h >> t;) hs.push_back(t);
  for (std::string t; w >> t;) ws.push_back(t);
  EXPECT_EQ(hs,
            (std::vector<std::string>{"NAME", "STATUS", "ERRORS", "WARNINGS", "STARTED", "AGE"}));
  ASSERT_GE(ws.size(), 4u) << r.out;
  EXPECT_EQ(ws[0], "columns");
  EXPECT_EQ(ws[1], "InProgress");
  EXPECT_EQ(ws[2], "3");
  EXPECT_EQ(ws[3], "4");
}

}  // namespace
}  // namespace lifeboat::api
