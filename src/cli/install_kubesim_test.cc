// `lifeboat install` / `uninstall` against a real API server (kubesim on loopback): the dry-run
// YAML and JSON pass `kubectl apply --dry-run=server`, an install creates every object with its
// fields, a second install changes nothing, switching --rbac replaces the binding, --wait sees
// the Deployment available (kubesim's deployment controller makes simulated pods Ready), and
// uninstall removes everything, twice without error. The last test drives the command line
// (the install tool binary) the way a user does.

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "lifeboat/common/json.h"
#include "src/cli/install.h"
#include "src/kube/testing/kubesim_cluster.h"

namespace lifeboat::cli {
namespace {

namespace json = boost::json;
namespace fs = std::filesystem;
using kube::testing::KubesimCluster;

constexpr char kKubectl[] = "/usr/bin/kubectl";

struct Result {
  int rc = -1;
  std::string out;  // stdout and stderr
};

class InstallKubesimTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto c = KubesimCluster::Start();
    ASSERT_TRUE(c.ok()) << c.status();
    cluster_ = std::move(*c);
    secret_ = (cluster_->kubesim->data_dir() / "credentials").string();
    std::ofstream(secret_) << "[default]\naws_access_key_id=AKIA\naws_secret_access_key=x\n";
  }

  // A shell command (arguments without metacharacters) with `input` on stdin.
  Result Run(const std::string& command, const std::string& input = "") {
    fs::path in = cluster_->kubesim->data_dir() / ("stdin-" + std::to_string(++runs_));
    std::ofstream(in) << input;
    Result r;
    FILE* p = ::popen((command + " < " + in.string() + " 2>&1").c_str(), "r");
    if (p == nullptr) return r;
    char buf[4096];
    size_t got;
    while ((got = std::fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, got);
    int status = ::pclose(p);
    r.rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return r;
  }

  Result Kubectl(const std::string& args, const std::string& input = "") {
    return Run(std::string(kKubectl) + " --kubeconfig " + cluster_->kubesim->kubeconfig().string() +
                   " " + args,
               input);
  }

  InstallOptions Options(RbacMode rbac = RbacMode::kClusterAdmin) {
    InstallFlags f;
    f.provider = "aws";
    f.bucket = "backups";
    f.prefix = "c1";
    f.secret_file = secret_;
    f.backup_location_config = {"region=us-east-1,s3ForcePathStyle=true"};
    f.snapshot_location_config = {"region=us-east-1"};
    f.rbac = rbac == RbacMode::kClusterAdmin ? "cluster-admin" : "least-privilege";
    std::vector<std::string> notes;
    auto o = ResolveInstallFlags(f, &notes);
    EXPECT_TRUE(o.ok()) << o.status();
    return *o;
  }

  ApplyOptions Fast() {
    ApplyOptions a;
    a.poll_interval = std::chrono::milliseconds(50);
    return a;
  }

  StatusOr<json::value> Get(const kube::GroupVersionResource& gvr, const std::string& ns,
                            const std::string& name) {
    return cluster_->client->Get(gvr, ns, name);
  }

  std::unique_ptr<KubesimCluster> cluster_;
  std::string secret_;
  int runs_ = 0;
};

const kube::GroupVersionResource kCrbs{"rbac.authorization.k8s.io", "v1", "clusterrolebindings"};
const kube::GroupVersionResource kRoles{"rbac.authorization.k8s.io", "v1", "clusterroles"};
const kube::GroupVersionResource kCrds{"apiextensions.k8s.io", "v1", "customresourcedefinitions"};
const kube::GroupVersionResource kBsls{"velero.io", "v1", "backupstoragelocations"};

// Counts lines of `out` ending in ": <what>".
int Count(const std::string& out, const std::string& what) {
  std::istringstream lines(out);
  int n = 0;
  for (std::string line; std::getline(lines, line);) {
    if (line.size() > what.size() + 2 &&
        line.compare(line.size() - what.size() - 2, std::string::npos, ": " + what) == 0) {
      ++n;
    }
  }
  return n;
}

TEST_F(InstallKubesimTest, DryRunOutputPassesServerSideDryRun) {
  if (!fs::exists(kKubectl)) GTEST_SKIP() << kKubectl << " is not installed";
  // On an empty cluster, as on kube-apiserver, a server-side dry run cannot create namespaced
  // objects in a namespace that does not exist yet, nor objects of kinds whose CRDs do not exist
  // yet: those are the only errors.
  Result fresh =
      Kubectl("apply --dry-run=server -f -", ObjectsAsYaml(BuildInstallObjects(Options())));
  EXPECT_NE(fresh.rc, 0) << fresh.out;
  std::istringstream lines(fresh.out);
  for (std::string line; std::getline(lines, line);) {
    if (line.find("rror") == std::string::npos) continue;
    EXPECT_TRUE(line.find("namespaces \"velero\" not found") != std::string::npos ||
                line.find("no matches for kind") != std::string::npos)
        << line;
  }
  EXPECT_NE(fresh.out.find("customresourcedefinition.apiextensions.k8s.io/backups.velero.io "
                           "created (server dry run)"),
            std::string::npos)
      << fresh.out;
  // With the namespace and the CRDs there (an existing install being upgraded, or after
  // `lifeboat install --crds-only`), everything passes.
  InstallOptions crds_only;
  crds_only.crds_only = true;
  ASSERT_EQ(Kubectl("apply -f -", ObjectsAsYaml(BuildInstallObjects(crds_only))).rc, 0);
  ASSERT_EQ(Kubectl("wait --for=condition=Established --timeout=60s crd -l component=velero").rc,
            0);
  ASSERT_EQ(Kubectl("create namespace velero").rc, 0);
  for (RbacMode mode : {RbacMode::kClusterAdmin, RbacMode::kLeastPrivilege}) {
    auto objects = BuildInstallObjects(Options(mode));
    Result yaml = Kubectl("apply --dry-run=server -f -", ObjectsAsYaml(objects));
    EXPECT_EQ(yaml.rc, 0) << yaml.out;
    for (const char* what :
         {"clusterrolebinding.rbac.authorization.k8s.io/velero", "serviceaccount/velero",
          "secret/cloud-credentials", "backupstoragelocation.velero.io/default",
          "volumesnapshotlocation.velero.io/default", "deployment.apps/velero"}) {
      EXPECT_NE(yaml.out.find(std::string(what) + " created (server dry run)"), std::string::npos)
          << what << "\n"
          << yaml.out;
    }
    if (mode == RbacMode::kLeastPrivilege) {
      EXPECT_NE(
          yaml.out.find("clusterrole.rbac.authorization.k8s.io/velero created (server dry run)"),
          std::string::npos)
          << yaml.out;
    }
    Result list = Kubectl("apply --dry-run=server -f -", ObjectsAsJsonList(objects));
    EXPECT_EQ(list.rc, 0) << list.out;
    EXPECT_NE(list.out.find("deployment.apps/velero created (server dry run)"), std::string::npos)
        << list.out;
  }
  // The dry runs created nothing.
  EXPECT_TRUE(absl::IsNotFound(Get(kBsls, "velero", "default").status()));
  EXPECT_TRUE(absl::IsNotFound(Get(kCrbs, "", "velero").status()));
}

TEST_F(InstallKubesimTest, InstallTwiceWaitThenUninstallTwice) {
  auto objects = BuildInstallObjects(Options());
  std::ostringstream first;
  Status s = ApplyInstallObjects(*cluster_->client, objects, first, Fast());
  ASSERT_TRUE(s.ok()) << s << "\n" << first.str();
  EXPECT_EQ(Count(first.str(), "created"), static_cast<int>(objects.size())) << first.str();
  EXPECT_NE(first.str().find("CustomResourceDefinition/backups.velero.io: created"),
            std::string::npos);
  EXPECT_NE(first.str().find("Deployment/velero: created"), std::string::npos);

  // The objects, as the API server keeps them.
  auto bsl = Get(kBsls, "velero", "default");
  ASSERT_TRUE(bsl.ok()) << bsl.status();
  EXPECT_EQ(bsl->at("spec").at("objectStorage").at("prefix"), "c1");
  EXPECT_EQ(bsl->at("spec").at("config").at("s3ForcePathStyle"), "true");
  EXPECT_EQ(bsl->at("spec").at("default"), true);
  auto secret = Get({"", "v1", "secrets"}, "velero", "cloud-credentials");
  ASSERT_TRUE(secret.ok()) << secret.status();
  EXPECT_TRUE(secret->at("data").as_object().contains("cloud"));
  auto crb = Get(kCrbs, "", "velero");
  ASSERT_TRUE(crb.ok()) << crb.status();
  EXPECT_EQ(crb->at("roleRef").at("name"), "cluster-admin");
  auto sa = Get({"", "v1", "serviceaccounts"}, "velero", "velero");
  EXPECT_TRUE(sa.ok()) << sa.status();
  auto vsl = Get({"velero.io", "v1", "volumesnapshotlocations"}, "velero", "default");
  EXPECT_TRUE(vsl.ok()) << vsl.status();

  // Idempotent: the same install again changes nothing.
  std::ostringstream second;
  s = ApplyInstallObjects(*cluster_->client, objects, second, Fast());
  ASSERT_TRUE(s.ok()) << s << "\n" << second.str();
  EXPECT_EQ(Count(second.str(), "unchanged") + Count(second.str(), "configured"),
            static_cast<int>(objects.size()))
      << second.str();
  EXPECT_EQ(Count(second.str(), "created"), 0) << second.str();
  // A changed option is configured in place.
  InstallOptions changed = Options();
  changed.bucket = "other";
  std::ostringstream third;
  ASSERT_TRUE(
      ApplyInstallObjects(*cluster_->client, BuildInstallObjects(changed), third, Fast()).ok());
  EXPECT_NE(third.str().find("BackupStorageLocation/default: configured"), std::string::npos)
      << third.str();
  EXPECT_EQ(Get(kBsls, "velero", "default")->at("spec").at("objectStorage").at("bucket"), "other");

  std::ostringstream waited;
  s = WaitForDeploymentAvailable(*cluster_->client, "velero", "velero", std::chrono::seconds(60),
                                 waited, Fast());
  EXPECT_TRUE(s.ok()) << s;
  EXPECT_NE(waited.str().find("Deployment/velero: available (1/1 replicas)"), std::string::npos);

  std::ostringstream gone;
  UninstallOptions u;
  u.poll_interval = std::chrono::milliseconds(50);
  s = Uninstall(*cluster_->client, "velero", gone, u);
  ASSERT_TRUE(s.ok()) << s << "\n" << gone.str();
  EXPECT_NE(gone.str().find("Namespace/velero: deleted"), std::string::npos) << gone.str();
  EXPECT_NE(gone.str().find("ClusterRoleBinding/velero: deleted"), std::string::npos);
  EXPECT_EQ(Count(gone.str(), "deleted"), 2 + 8) << gone.str();  // namespace, CRB, 8 CRDs
  EXPECT_TRUE(absl::IsNotFound(Get({"", "v1", "namespaces"}, "", "velero").status()));
  EXPECT_TRUE(absl::IsNotFound(Get(kCrbs, "", "velero").status()));
  EXPECT_TRUE(absl::IsNotFound(Get(kCrds, "", "backups.velero.io").status()));

  std::ostringstream again;
  s = Uninstall(*cluster_->client, "velero", again, u);
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_NE(again.str().find("Namespace/velero: not found, skipping"), std::string::npos)
      << again.str();
  EXPECT_NE(again.str().find("none found"), std::string::npos) << again.str();
}

TEST_F(InstallKubesimTest, LeastPrivilegeAndSwitchingRbacModes) {
  std::ostringstream log;
  ASSERT_TRUE(ApplyInstallObjects(*cluster_->client,
                                  BuildInstallObjects(Options(RbacMode::kLeastPrivilege)), log,
                                  Fast())
                  .ok())
      << log.str();
  auto role = Get(kRoles, "", "velero");
  ASSERT_TRUE(role.ok()) << role.status();
  EXPECT_EQ(role->at("rules").as_array().size(), 3u);
  EXPECT_EQ(Get(kCrbs, "", "velero")->at("roleRef").at("name"), "velero");
  // The roleRef of a binding cannot change: switching to cluster-admin replaces the binding.
  std::ostringstream sw;
  Status s = ApplyInstallObjects(*cluster_->client, BuildInstallObjects(Options()), sw, Fast());
  ASSERT_TRUE(s.ok()) << s << "\n" << sw.str();
  EXPECT_NE(sw.str().find("ClusterRoleBinding/velero: replaced"), std::string::npos) << sw.str();
  EXPECT_EQ(Get(kCrbs, "", "velero")->at("roleRef").at("name"), "cluster-admin");
  std::ostringstream gone;
  ASSERT_TRUE(Uninstall(*cluster_->client, "velero", gone).ok()) << gone.str();
  EXPECT_NE(gone.str().find("ClusterRole/velero: deleted"), std::string::npos) << gone.str();
  EXPECT_TRUE(absl::IsNotFound(Get(kRoles, "", "velero").status()));
}

TEST_F(InstallKubesimTest, CommandLineAsAUserRunsIt) {
  if (!fs::exists(kKubectl)) GTEST_SKIP() << kKubectl << " is not installed";
  const std::string tool = LIFEBOAT_INSTALL_TOOL;
  const std::string kubeconfig = " --kubeconfig " + cluster_->kubesim->kubeconfig().string();
  const std::string flags = " --provider azure --bucket backups --secret-file " + secret_ +
                            " --backup-location-config resourceGroup=rg,storageAccount=acct"
                            " --plugins velero/velero-plugin-for-microsoft-azure:v1.9.0";
  Result bad = Run(tool + " install --provider azure --bucket b --no-secret -o table");
  EXPECT_NE(bad.rc, 0);
  EXPECT_NE(bad.out.find("choose yaml or json"), std::string::npos) << bad.out;
  bad = Run(tool + " install --bucket b --no-secret" + kubeconfig);
  EXPECT_NE(bad.rc, 0);
  EXPECT_NE(bad.out.find("--provider is required"), std::string::npos) << bad.out;

  Result dry = Run(tool + " install --dry-run -o yaml" + flags);
  ASSERT_EQ(dry.rc, 0) << dry.out;
  EXPECT_NE(dry.out.find("note: --plugins is ignored"), std::string::npos);

  Result install = Run(tool + " install --wait --use-volume-snapshots=false" + flags + kubeconfig);
  ASSERT_EQ(install.rc, 0) << install.out;
  EXPECT_NE(install.out.find("Deployment/velero: created"), std::string::npos) << install.out;
  EXPECT_EQ(install.out.find("VolumeSnapshotLocation"), std::string::npos) << install.out;
  EXPECT_NE(install.out.find("Lifeboat is installed!"), std::string::npos) << install.out;
  Result again = Run(tool + " install --use-volume-snapshots=false" + flags + kubeconfig);
  ASSERT_EQ(again.rc, 0) << again.out;
  EXPECT_EQ(again.out.find(": created"), std::string::npos) << again.out;
  // Now that the CRDs exist, the full dry-run output passes the server's dry run.
  Result server = Kubectl("apply --dry-run=server -f -", dry.out.substr(dry.out.find("---")));
  EXPECT_EQ(server.rc, 0) << server.out;
  Result get = Kubectl("get -n velero bsl default -o jsonpath={.spec.config.storageAccount}");
  EXPECT_EQ(get.out, "acct");

  Result declined = Run(tool + " uninstall" + kubeconfig, "n\n");
  EXPECT_EQ(declined.rc, 0) << declined.out;
  EXPECT_NE(declined.out.find("Uninstall cancelled"), std::string::npos) << declined.out;
  EXPECT_TRUE(Get({"", "v1", "namespaces"}, "", "velero").ok());
  Result uninstall = Run(tool + " uninstall --force" + kubeconfig);
  ASSERT_EQ(uninstall.rc, 0) << uninstall.out;
  EXPECT_NE(uninstall.out.find("Lifeboat uninstalled."), std::string::npos) << uninstall.out;
  EXPECT_TRUE(absl::IsNotFound(Get({"", "v1", "namespaces"}, "", "velero").status()));
}

}  // namespace
}  // namespace lifeboat::cli
