// The objects `lifeboat install` builds for given flags, and the flag checks (install.h).

#include "src/cli/install.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "lifeboat/api/crds.h"
#include "lifeboat/common/json.h"
#include "lifeboat/common/yaml.h"

namespace lifeboat::cli {
namespace {

namespace json = boost::json;
namespace fs = std::filesystem;

class InstallTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("lifeboat-install-test-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    secret_ = (dir_ / "credentials").string();
    std::ofstream(secret_) << "AZURE_CLIENT_SECRET=s3cr3t\n";
  }
  void TearDown() override { fs::remove_all(dir_); }

  InstallFlags Azure() const {
    InstallFlags f;
    f.provider = "azure";
    f.bucket = "backups";
    f.secret_file = secret_;
    f.backup_location_config = {"resourceGroup=rg,storageAccount=acct"};
    f.snapshot_location_config = {"apiTimeout=5m"};
    return f;
  }

  std::vector<json::value> Build(const InstallFlags& f) {
    std::vector<std::string> notes;
    auto o = ResolveInstallFlags(f, &notes);
    EXPECT_TRUE(o.ok()) << o.status();
    if (!o.ok()) return {};
    return BuildInstallObjects(*o);
  }

  std::string Error(const InstallFlags& f) {
    std::vector<std::string> notes;
    auto o = ResolveInstallFlags(f, &notes);
    EXPECT_FALSE(o.ok());
    return o.ok() ? "" : std::string(o.status().message());
  }

  fs::path dir_;
  std::string secret_;
};

std::vector<std::string> Ids(const std::vector<json::value>& objects) {
  std::vector<std::string> out;
  for (const auto& o : objects) {
    if (JsonString(o, {"kind"}) == "CustomResourceDefinition") continue;
    out.push_back(*JsonString(o, {"kind"}) + "/" + *JsonString(o, {"metadata", "name"}));
  }
  return out;
}

const json::value* Find(const std::vector<json::value>& objects, const std::string& kind) {
  for (const auto& o : objects) {
    if (JsonString(o, {"kind"}) == kind) return &o;
  }
  return nullptr;
}

const json::object& Container(const std::vector<json::value>& objects) {
  return Find(objects, "Deployment")
      ->at("spec")
      .at("template")
      .at("spec")
      .at("containers")
      .at(0)
      .as_object();
}

std::vector<std::string> EnvNames(const json::object& container) {
  std::vector<std::string> out;
  for (const auto& e : container.at("env").as_array())
    out.push_back(std::string(e.at("name").as_string()));
  return out;
}

TEST_F(InstallTest, DefaultInstallHasVelerosObjectsInVelerosOrder) {
  auto objects = Build(Azure());
  size_t crds = api::VeleroCustomResourceDefinitions().size();
  ASSERT_GT(crds, 0u);
  for (size_t i = 0; i < crds; ++i) {
    EXPECT_EQ(objects[i], api::VeleroCustomResourceDefinitions()[i]) << i;
  }
  EXPECT_EQ(Ids(objects),
            (std::vector<std::string>{"Namespace/velero", "ClusterRoleBinding/velero",
                                      "ServiceAccount/velero", "Secret/cloud-credentials",
                                      "BackupStorageLocation/default",
                                      "VolumeSnapshotLocation/default", "Deployment/velero"}));
  for (const auto& o : objects) {
    EXPECT_EQ(JsonString(o, {"metadata", "labels", "component"}), "velero") << Ids({o})[0];
  }
  const json::value& crb = *Find(objects, "ClusterRoleBinding");
  EXPECT_EQ(crb.at("roleRef").at("name"), "cluster-admin");
  EXPECT_EQ(
      crb.at("subjects").at(0),
      (json::object{{"kind", "ServiceAccount"}, {"name", "velero"}, {"namespace", "velero"}}));
  const json::value& secret = *Find(objects, "Secret");
  EXPECT_EQ(secret.at("metadata").at("namespace"), "velero");
  EXPECT_EQ(secret.at("data").at("cloud"), "QVpVUkVfQ0xJRU5UX1NFQ1JFVD1zM2NyM3QK");  // base64
  const json::value& bsl = *Find(objects, "BackupStorageLocation");
  EXPECT_EQ(bsl.at("spec"), json::parse(R"({"provider":"azure","objectStorage":{"bucket":"backups"},
      "config":{"resourceGroup":"rg","storageAccount":"acct"},"default":true})"));
  const json::value& vsl = *Find(objects, "VolumeSnapshotLocation");
  EXPECT_EQ(vsl.at("spec"), json::parse(R"({"provider":"azure","config":{"apiTimeout":"5m"}})"));
}

TEST_F(InstallTest, DeploymentRunsTheServerWithCredentialsProbesAndLimits) {
  auto objects = Build(Azure());
  const json::value& d = *Find(objects, "Deployment");
  EXPECT_EQ(d.at("spec").at("selector").at("matchLabels"), (json::object{{"deploy", "velero"}}));
  const json::object& tmpl = d.at("spec").at("template").as_object();
  EXPECT_EQ(tmpl.at("metadata").at("labels").at("deploy"), "velero");
  EXPECT_EQ(tmpl.at("metadata").at("labels").at("component"), "velero");
  EXPECT_EQ(tmpl.at("metadata").at("annotations").at("prometheus.io/port"), "8085");
  EXPECT_EQ(tmpl.at("spec").at("serviceAccountName"), "velero");
  EXPECT_EQ(tmpl.at("spec").at("securityContext").at("runAsNonRoot"), true);
  const json::object& c = Container(objects);
  EXPECT_EQ(c.at("image"), json::value(DefaultImage()));
  EXPECT_EQ(c.at("imagePullPolicy"), "IfNotPresent");
  EXPECT_EQ(c.at("command"), (json::array{"/lifeboat"}));
  EXPECT_EQ(c.at("args"), (json::array{"server", "--namespace=velero", "--metrics-address=:8085",
                                       "--temp-dir=/scratch"}));
  EXPECT_EQ(c.at("ports").at(0).at("containerPort"), 8085);
  EXPECT_EQ(c.at("livenessProbe").at("httpGet").at("path"), "/healthz");
  EXPECT_EQ(c.at("readinessProbe").at("httpGet").at("path"), "/readyz");
  EXPECT_EQ(c.at("resources"), json::parse(R"({"requests":{"cpu":"500m","memory":"128Mi"},
      "limits":{"cpu":"1000m","memory":"512Mi"}})"));
  EXPECT_EQ(c.at("securityContext").at("readOnlyRootFilesystem"), true);
  auto env = EnvNames(c);
  for (const char* var : {"VELERO_NAMESPACE", "TMPDIR", "AZURE_CREDENTIALS_FILE",
                          "AWS_SHARED_CREDENTIALS_FILE", "GOOGLE_APPLICATION_CREDENTIALS"}) {
    EXPECT_NE(std::find(env.begin(), env.end(), var), env.end()) << var;
  }
  for (const auto& e : c.at("env").as_array()) {
    if (e.at("name") == "AZURE_CREDENTIALS_FILE") {
      EXPECT_EQ(e.at("value"), "/credentials/cloud");
    }
    if (e.at("name") == "VELERO_NAMESPACE") {
      EXPECT_EQ(e.at("valueFrom").at("fieldRef").at("fieldPath"), "metadata.namespace");
    }
  }
  bool mounted = false;
  for (const auto& m : c.at("volumeMounts").as_array()) {
    if (m.at("name") == "cloud-credentials") mounted = m.at("mountPath") == "/credentials";
  }
  EXPECT_TRUE(mounted);
}

TEST_F(InstallTest, NoSecretMeansNoSecretNoMountNoCredentialVariables) {
  InstallFlags f = Azure();
  f.secret_file.clear();
  f.no_secret = true;
  auto objects = Build(f);
  EXPECT_EQ(Find(objects, "Secret"), nullptr);
  auto env = EnvNames(Container(objects));
  EXPECT_EQ(std::find(env.begin(), env.end(), "AZURE_CREDENTIALS_FILE"), env.end());
  for (const auto& m : Container(objects).at("volumeMounts").as_array()) {
    EXPECT_NE(m.at("name"), "cloud-credentials");
  }
}

TEST_F(InstallTest, VolumeSnapshotsOffMeansNoSnapshotLocation) {
  InstallFlags f = Azure();
  f.use_volume_snapshots = false;
  f.snapshot_location_config.clear();
  auto objects = Build(f);
  EXPECT_EQ(Find(objects, "VolumeSnapshotLocation"), nullptr);
  EXPECT_NE(Find(objects, "BackupStorageLocation"), nullptr);
}

TEST_F(InstallTest, OptionsReachTheObjects) {
  InstallFlags f = Azure();
  f.ns = "backup-system";
  f.prefix = "cluster1";
  f.image = "registry.local/lifeboat:latest";
  f.cpu_limit = "0";
  f.mem_request = "256Mi";
  f.pod_labels = {"team=ops", "deploy=mine"};
  f.pod_annotations = {"iam.amazonaws.com/role=r"};
  f.sa_annotations = {"iam.gke.io/gcp-service-account=a@b"};
  f.garbage_collection_frequency = "30m";
  std::string ca = (dir_ / "ca.pem").string();
  std::ofstream(ca) << "PEM";
  f.cacert_file = ca;
  auto objects = Build(f);
  EXPECT_EQ(Ids(objects)[0], "Namespace/backup-system");
  EXPECT_EQ(Ids(objects)[1], "ClusterRoleBinding/velero-backup-system");  // Velero's naming
  for (const auto& o : objects) {
    if (JsonFind(o, {"metadata", "namespace"})) {
      EXPECT_EQ(o.at("metadata").at("namespace"), "backup-system");
    }
  }
  const json::value& bsl = *Find(objects, "BackupStorageLocation");
  EXPECT_EQ(bsl.at("spec").at("objectStorage"),
            (json::object{{"bucket", "backups"}, {"prefix", "cluster1"}, {"caCert", "UEVN"}}));
  EXPECT_EQ(Find(objects, "ServiceAccount")->at("metadata").at("annotations"),
            (json::object{{"iam.gke.io/gcp-service-account", "a@b"}}));
  const json::value& tmpl = Find(objects, "Deployment")->at("spec").at("template");
  EXPECT_EQ(tmpl.at("metadata").at("labels").at("team"), "ops");
  EXPECT_EQ(tmpl.at("metadata").at("labels").at("deploy"), "velero");  // the selector wins
  EXPECT_EQ(tmpl.at("metadata").at("annotations").at("iam.amazonaws.com/role"), "r");
  const json::object& c = Container(objects);
  EXPECT_EQ(c.at("imagePullPolicy"), "Always");
  EXPECT_EQ(c.at("args").at(1), "--namespace=backup-system");
  EXPECT_EQ(c.at("args").at(4), "--garbage-collection-frequency=30m");
  EXPECT_EQ(c.at("resources"), json::parse(R"({"requests":{"cpu":"500m","memory":"256Mi"},
      "limits":{"memory":"512Mi"}})"));
}

TEST_F(InstallTest, LeastPrivilegeRbac) {
  InstallFlags f = Azure();
  f.rbac = "least-privilege";
  auto objects = Build(f);
  EXPECT_EQ(Ids(objects)[1], "ClusterRole/velero");
  EXPECT_EQ(Ids(objects)[2], "ClusterRoleBinding/velero");
  EXPECT_EQ(Find(objects, "ClusterRoleBinding")->at("roleRef").at("name"), "velero");
  const json::array& rules = Find(objects, "ClusterRole")->at("rules").as_array();
  ASSERT_EQ(rules.size(), 3u);
  EXPECT_EQ(rules[0].at("verbs"), (json::array{"get", "list", "watch"}));
  EXPECT_EQ(rules[1].at("verbs"), (json::array{"create", "update", "patch"}));
  EXPECT_EQ(rules[2].at("apiGroups"), (json::array{"velero.io"}));
  // Deleting, escalating, binding and impersonating are granted only on velero.io.
  for (const auto& r : rules) {
    bool all_groups = r.at("apiGroups") == json::array{"*"};
    for (const auto& v : r.at("verbs").as_array()) {
      for (const char* forbidden :
           {"delete", "deletecollection", "escalate", "bind", "impersonate", "*"}) {
        if (all_groups) {
          EXPECT_NE(v, forbidden);
        }
      }
    }
  }
}

TEST_F(InstallTest, CrdsOnlyNeedsNothingElse) {
  InstallFlags f;
  f.crds_only = true;
  auto objects = Build(f);
  EXPECT_EQ(objects, api::VeleroCustomResourceDefinitions());
}

TEST_F(InstallTest, NotesForAcceptedButIgnoredFlags) {
  InstallFlags f = Azure();
  f.plugins = {"velero/velero-plugin-for-microsoft-azure:v1.9.0"};
  f.use_node_agent = true;
  std::vector<std::string> notes;
  ASSERT_TRUE(ResolveInstallFlags(f, &notes).ok());
  ASSERT_EQ(notes.size(), 2u);
  EXPECT_NE(notes[0].find("--plugins is ignored"), std::string::npos);
  EXPECT_NE(notes[1].find("node-agent"), std::string::npos);
  auto objects = Build(f);
  EXPECT_EQ(Find(objects, "DaemonSet"), nullptr);
}

TEST_F(InstallTest, ErrorsSayWhatToChange) {
  InstallFlags f = Azure();
  f.provider.clear();
  EXPECT_NE(Error(f).find("--provider is required"), std::string::npos);
  f = Azure();
  f.bucket.clear();
  EXPECT_NE(Error(f).find("--bucket is required"), std::string::npos);
  f = Azure();
  f.bucket = "-oops";
  EXPECT_NE(Error(f).find("begins with a dash"), std::string::npos);
  f = Azure();
  f.secret_file.clear();
  EXPECT_NE(Error(f).find("one of --secret-file or --no-secret is required"), std::string::npos);
  f = Azure();
  f.no_secret = true;
  EXPECT_NE(Error(f).find("cannot be used together"), std::string::npos);
  f = Azure();
  f.secret_file = (dir_ / "missing").string();
  EXPECT_NE(Error(f).find("--secret-file: cannot read"), std::string::npos);
  f = Azure();
  f.backup_location_config = {"region=eu,oops"};
  EXPECT_EQ(Error(f),
            "--backup-location-config: \"oops\" in \"region=eu,oops\" is not key=value (expected "
            "key1=value1,key2=value2)");
  f = Azure();
  f.snapshot_location_config = {"=x"};
  EXPECT_NE(Error(f).find("--snapshot-location-config: \"=x\""), std::string::npos);
  f = Azure();
  f.output = "table";
  EXPECT_EQ(Error(f), "invalid -o/--output \"table\": choose yaml or json");
  f = Azure();
  f.rbac = "admin";
  EXPECT_NE(Error(f).find("choose cluster-admin or least-privilege"), std::string::npos);
  f = Azure();
  f.provider = "openstack";
  EXPECT_NE(Error(f).find("choose one of"), std::string::npos);
  EXPECT_NE(Error(f).find("azure"), std::string::npos);
  f = Azure();
  f.use_volume_snapshots = false;
  EXPECT_NE(Error(f).find("--snapshot-location-config must be empty"), std::string::npos);
  f = Azure();
  f.default_volumes_to_fs_backup = true;
  EXPECT_NE(Error(f).find("--use-node-agent is required"), std::string::npos);
  f = Azure();
  f.cpu_request = "lots";
  EXPECT_NE(Error(f).find("--velero-pod-cpu-request: \"lots\" is not a resource quantity"),
            std::string::npos);
  f = Azure();
  f.mem_request = "1Gi";
  EXPECT_NE(Error(f).find("must not be greater than --velero-pod-mem-limit (512Mi)"),
            std::string::npos);
  f = Azure();
  f.ns = "Velero_NS";
  EXPECT_NE(Error(f).find("not a valid namespace name"), std::string::npos);
  f = Azure();
  f.garbage_collection_frequency = "often";
  EXPECT_NE(Error(f).find("--garbage-collection-frequency"), std::string::npos);
  f = Azure();
  f.no_default_backup_location = true;
  EXPECT_NE(Error(f).find("--bucket cannot be used with --no-default-backup-location"),
            std::string::npos);
}

TEST_F(InstallTest, KeyValueListsMerge) {
  auto m = ParseKeyValueList("--x", {"a=1,b=2", "b=3,c=d=e", "empty="});
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(*m, (std::map<std::string, std::string>{
                    {"a", "1"}, {"b", "3"}, {"c", "d=e"}, {"empty", ""}}));
  EXPECT_FALSE(ParseKeyValueList("--x", {"a=1,"}).ok());
}

TEST_F(InstallTest, YamlAndJsonOutputsCarryEveryObject) {
  auto objects = Build(Azure());
  auto docs = YamlToJsonDocuments(ObjectsAsYaml(objects));
  ASSERT_TRUE(docs.ok()) << docs.status();
  EXPECT_EQ(*docs, objects);
  json::value list = json::parse(ObjectsAsJsonList(objects));
  EXPECT_EQ(list.at("apiVersion"), "v1");
  EXPECT_EQ(list.at("kind"), "List");
  EXPECT_EQ(list.at("items").as_array().size(), objects.size());
  EXPECT_EQ(list.at("items").at(objects.size() - 1), objects.back());
}

}  // namespace
}  // namespace lifeboat::cli
