// Unit tests of the built-in RestoreItemActions over small JSON items (no cluster: the actions
// that read one get a fixed ConfigMap, or are checked to fail with FailedPrecondition). The
// service action has its own file; the cluster-reading paths run against kubesim in
// actions_kubesim_test.cc.

#include "src/restore/actions/actions.h"

#include <atomic>
#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "src/restore/actions/action_test_util.h"
#include "src/restore/actions/builtin_actions.h"

namespace lifeboat::restore {
namespace {

namespace json = boost::json;
using plugin::ResourceIdentifier;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using testing::Mapping;
using testing::Parse;
using testing::RestoreFixture;

// ---------------------------------------------------------------------------------------------
// The list.

TEST(BuiltinRestoreItemActionsTest, VelerosNamesInVelerosOrder) {
  auto actions = BuiltinRestoreItemActions(nullptr, "velero");
  std::vector<std::string> names;
  for (const auto& a : actions) names.push_back(a->Name());
  EXPECT_THAT(names,
              ElementsAre("velero.io/add-pvc-from-pod", "velero.io/admission-webhook-configuration",
                          "velero.io/apiservice", "velero.io/change-image-name",
                          "velero.io/change-storage-class", "velero.io/cluster-role-bindings",
                          "velero.io/crd-preserve-fields", "velero.io/csi-pvc-restorer",
                          "velero.io/csi-volumesnapshot-restorer",
                          "velero.io/csi-volumesnapshotclass-restorer",
                          "velero.io/csi-volumesnapshotcontent-restorer", "velero.io/job", "velero.io/pod",
                          "velero.io/pvc", "velero.io/role-bindings", "velero.io/secret",
                          "velero.io/service", "velero.io/service-account"));
  EXPECT_TRUE(std::is_sorted(names.begin(), names.end()));
}

TEST(BuiltinRestoreItemActionsTest, EveryActionRejectsANonObject) {
  RestoreFixture f;
  for (const auto& a : BuiltinRestoreItemActions(nullptr, "velero")) {
    auto out = f.Run(*a, "[1,2]");
    ASSERT_FALSE(out.ok()) << a->Name();
    EXPECT_EQ(out.status().code(), absl::StatusCode::kInvalidArgument) << a->Name();
    EXPECT_THAT(out.status().message(), HasSubstr(a->Name()));
  }
}

TEST(BuiltinRestoreItemActionsTest, ConfigMapActionsNeedAClient) {
  RestoreFixture f;
  for (const auto& a : BuiltinRestoreItemActions(nullptr, "velero")) {
    if (a->Name() != "velero.io/change-image-name" &&
        a->Name() != "velero.io/change-storage-class") {
      continue;
    }
    auto out = f.Run(*a, R"({"kind":"StatefulSet","spec":{}})");
    EXPECT_EQ(out.status().code(), absl::StatusCode::kFailedPrecondition) << a->Name();
  }
}

// ---------------------------------------------------------------------------------------------
// velero.io/job

TEST(JobActionTest, DropsControllerUidFromSelectorAndTemplate) {
  JobAction a;
  EXPECT_THAT(a.AppliesTo().included_resources, ElementsAre("jobs"));
  RestoreFixture f;
  auto out = f.Run(a, R"({"kind":"Job","metadata":{"name":"j","namespace":"app",
    "labels":{"controller-uid":"kept-on-the-job-itself"}},
    "spec":{"selector":{"matchLabels":{"controller-uid":"u1","batch.kubernetes.io/controller-uid":"u1","app":"x"}},
    "template":{"metadata":{"labels":{"controller-uid":"u1","batch.kubernetes.io/controller-uid":"u1",
      "job-name":"j"}},"spec":{"containers":[{"name":"c"}]}}}})");
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(*JsonFind(out->item, {"spec", "selector", "matchLabels"}), Parse(R"({"app":"x"})"));
  EXPECT_EQ(*JsonFind(out->item, {"spec", "template", "metadata", "labels"}),
            Parse(R"({"job-name":"j"})"));
  EXPECT_EQ(JsonString(out->item, {"metadata", "labels", "controller-uid"}),
            "kept-on-the-job-itself");
  EXPECT_THAT(out->additional_items, IsEmpty());
  EXPECT_FALSE(out->skip_restore);
}

TEST(JobActionTest, JobWithoutSelectorIsUnchanged) {
  JobAction a;
  RestoreFixture f;
  const char* job = R"({"kind":"Job","metadata":{"name":"j"},"spec":{"template":{"spec":{}}}})";
  auto out = f.Run(a, job);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->item, Parse(job));
}

// ---------------------------------------------------------------------------------------------
// velero.io/pod

TEST(PodActionTest, ClearsSchedulerFieldsAndTokenVolumes) {
  PodAction a;
  EXPECT_THAT(a.AppliesTo().included_resources, ElementsAre("pods"));
  RestoreFixture f(Mapping{{"app", "app2"}});
  auto out = f.Run(a, R"({"kind":"Pod","metadata":{"name":"p","namespace":"app"},
    "spec":{"nodeName":"node-1","priority":1000,"priorityClassName":"high","serviceAccountName":"web",
      "volumes":[{"name":"web-token-abcde","secret":{"secretName":"web-token-abcde"}},
                 {"name":"data","persistentVolumeClaim":{"claimName":"data"}},
                 {"name":"other-token-x","secret":{"secretName":"other-token-x"}}],
      "containers":[{"name":"c","volumeMounts":[{"name":"web-token-abcde","mountPath":"/var/run/secrets"},
                                                {"name":"data","mountPath":"/data"}]},
                    {"name":"d","volumeMounts":[{"name":"web-token-abcde","mountPath":"/t"}]}],
      "initContainers":[{"name":"i","volumeMounts":[{"name":"web-token-abcde","mountPath":"/t"},
                                                    {"name":"data","mountPath":"/d"}]}]}})");
  ASSERT_TRUE(out.ok()) << out.status();
  const json::value& spec = *JsonFind(out->item, {"spec"});
  EXPECT_EQ(JsonFind(spec, {"nodeName"}), nullptr);
  EXPECT_EQ(JsonFind(spec, {"priority"}), nullptr);
  EXPECT_EQ(JsonString(spec, {"priorityClassName"}), "high");
  EXPECT_EQ(*JsonFind(spec, {"volumes"}),
            Parse(R"([{"name":"data","persistentVolumeClaim":{"claimName":"data"}},
                 {"name":"other-token-x","secret":{"secretName":"other-token-x"}}])"));
  EXPECT_EQ(spec.at("containers").at(0).at("volumeMounts"),
            Parse(R"([{"name":"data","mountPath":"/data"}])"));
  // A container left without mounts loses the field (Velero's typed round trip omits it).
  EXPECT_FALSE(spec.at("containers").at(1).get_object().contains("volumeMounts"));
  EXPECT_EQ(spec.at("initContainers").at(0).at("volumeMounts"),
            Parse(R"([{"name":"data","mountPath":"/d"}])"));
  // The PriorityClass is cluster-scoped: no namespace, mapping or not.
  EXPECT_THAT(out->additional_items,
              ElementsAre(ResourceIdentifier{"scheduling.k8s.io", "priorityclasses", "", "high"}));
}

TEST(PodActionTest, WithoutServiceAccountNameOnlyDashTokenPrefixesGo) {
  PodAction a;
  RestoreFixture f;
  auto out = f.Run(a, R"({"kind":"Pod","metadata":{"name":"p"},"spec":{
    "volumes":[{"name":"default-token-1"},{"name":"-token-x"}],"containers":[{"name":"c"}]}})");
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(*JsonFind(out->item, {"spec", "volumes"}), Parse(R"([{"name":"default-token-1"}])"));
  EXPECT_THAT(out->additional_items, IsEmpty());
}

TEST(PodActionTest, VolumesOfTheWrongTypeAreAnError) {
  PodAction a;
  RestoreFixture f;
  auto out = f.Run(a, R"({"kind":"Pod","spec":{"volumes":{"a":1}}})");
  EXPECT_EQ(out.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(out.status().message(), HasSubstr("spec.volumes"));
}

// ---------------------------------------------------------------------------------------------
// velero.io/add-pvc-from-pod

TEST(AddPvcFromPodActionTest, ClaimsInTheOriginalNamespace) {
  AddPvcFromPodAction a;
  RestoreFixture f(Mapping{{"app", "app2"}});
  const char* pod = R"({"kind":"Pod","metadata":{"name":"p","namespace":"app"},"spec":{"volumes":[
      {"name":"a","persistentVolumeClaim":{"claimName":"data-0"}},
      {"name":"b","emptyDir":{}},
      {"name":"c","persistentVolumeClaim":{"claimName":"logs"}}]}})";
  auto out = f.Run(a, pod);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->item, Parse(pod));
  EXPECT_THAT(out->additional_items,
              ElementsAre(ResourceIdentifier{"", "persistentvolumeclaims", "app", "data-0"},
                          ResourceIdentifier{"", "persistentvolumeclaims", "app", "logs"}));
}

TEST(AddPvcFromPodActionTest, PodWithoutVolumes) {
  AddPvcFromPodAction a;
  RestoreFixture f;
  auto out = f.Run(a, R"({"kind":"Pod","metadata":{"name":"p","namespace":"app"},"spec":{}})");
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_THAT(out->additional_items, IsEmpty());
}

// ---------------------------------------------------------------------------------------------
// velero.io/service-account

TEST(ServiceAccountActionTest, DropsTheTokenSecretReference) {
  ServiceAccountAction a;
  EXPECT_THAT(a.AppliesTo().included_resources, ElementsAre("serviceaccounts"));
  RestoreFixture f;
  auto out = f.Run(a, R"({"kind":"ServiceAccount","metadata":{"name":"web","namespace":"app"},
    "secrets":[{"name":"web-token-abc"},{"name":"web-creds"},{"name":"webby-token-x"}],
    "imagePullSecrets":[{"name":"web-token-pull"}]})");
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(*JsonFind(out->item, {"secrets"}),
            Parse(R"([{"name":"web-creds"},{"name":"webby-token-x"}])"));
  EXPECT_EQ(*JsonFind(out->item, {"imagePullSecrets"}), Parse(R"([{"name":"web-token-pull"}])"));
}

TEST(ServiceAccountActionTest, OnlyTheTokenLeavesAndTheFieldGoes) {
  ServiceAccountAction a;
  RestoreFixture f;
  auto out = f.Run(a, R"({"kind":"ServiceAccount","metadata":{"name":"web"},
    "secrets":[{"name":"web-token-abc"}]})");
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(JsonFind(out->item, {"secrets"}), nullptr);
}

// ---------------------------------------------------------------------------------------------
// velero.io/role-bindings, velero.io/cluster-role-bindings

constexpr char kBinding[] = R"({"kind":"%s","metadata":{"name":"b","namespace":"app"},
  "roleRef":{"kind":"ClusterRole","name":"view"},
  "subjects":[{"kind":"ServiceAccount","name":"web","namespace":"app"},
              {"kind":"ServiceAccount","name":"mon","namespace":"monitoring"},
              {"kind":"User","name":"alice"},
              {"kind":"Group","name":"devs","namespace":"other"}]})";

std::string Binding(const char* kind) {
  std::string s = kBinding;
  s.replace(s.find("%s"), 2, kind);
  return s;
}

TEST(RoleBindingActionsTest, SubjectNamespacesAreMapped) {
  RoleBindingAction rb;
  ClusterRoleBindingAction crb;
  EXPECT_THAT(rb.AppliesTo().included_resources, ElementsAre("rolebindings"));
  EXPECT_THAT(crb.AppliesTo().included_resources, ElementsAre("clusterrolebindings"));
  for (auto [action, kind] :
       {std::pair<plugin::RestoreItemAction*, const char*>{&rb, "RoleBinding"},
        {&crb, "ClusterRoleBinding"}}) {
    RestoreFixture f(Mapping{{"app", "app-restored"}, {"other", "other2"}});
    auto out = f.Run(*action, Binding(kind));
    ASSERT_TRUE(out.ok()) << out.status();
    EXPECT_EQ(*JsonFind(out->item, {"subjects"}),
              Parse(R"([{"kind":"ServiceAccount","name":"web","namespace":"app-restored"},
              {"kind":"ServiceAccount","name":"mon","namespace":"monitoring"},
              {"kind":"User","name":"alice"},
              {"kind":"Group","name":"devs","namespace":"other2"}])"))
        << kind;
    // The binding's own namespace is the engine's to map.
    EXPECT_EQ(JsonString(out->item, {"metadata", "namespace"}), "app") << kind;
  }
}

TEST(RoleBindingActionsTest, WithoutMappingTheBindingIsUnchanged) {
  RoleBindingAction rb;
  RestoreFixture f;
  auto out = f.Run(rb, Binding("RoleBinding"));
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->item, Parse(Binding("RoleBinding")));
}

// ---------------------------------------------------------------------------------------------
// velero.io/crd-preserve-fields

TEST(CrdPreserveFieldsActionTest, V1WithPreserveUnknownFieldsMovesToTheSchemas) {
  CrdPreserveFieldsAction a;
  EXPECT_THAT(a.AppliesTo().included_resources,
              ElementsAre("customresourcedefinitions.apiextensions.k8s.io"));
  RestoreFixture f;
  auto out = f.Run(a, R"({"apiVersion":"apiextensions.k8s.io/v1","kind":"CustomResourceDefinition",
    "metadata":{"name":"widgets.example.com"},"spec":{"group":"example.com","preserveUnknownFields":true,
    "versions":[{"name":"v1","served":true,"storage":true,"schema":{"openAPIV3Schema":{"type":"object"}}},
                {"name":"v1beta1","served":true,"storage":false}]}})");
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(JsonFind(out->item, {"spec", "preserveUnknownFields"}), nullptr);
  const json::value& versions = *JsonFind(out->item, {"spec", "versions"});
  EXPECT_EQ(versions.at(0).at("schema").at("openAPIV3Schema"),
            Parse(R"({"type":"object","x-kubernetes-preserve-unknown-fields":true})"));
  EXPECT_FALSE(versions.at(1).get_object().contains("schema"));
}

TEST(CrdPreserveFieldsActionTest, OtherCrdsAreUnchanged) {
  CrdPreserveFieldsAction a;
  RestoreFixture f;
  for (const char* crd : {
           R"({"apiVersion":"apiextensions.k8s.io/v1beta1","kind":"CustomResourceDefinition",
               "spec":{"preserveUnknownFields":true,"validation":{"openAPIV3Schema":{}}}})",
           R"({"apiVersion":"apiextensions.k8s.io/v1","kind":"CustomResourceDefinition",
               "spec":{"preserveUnknownFields":false,"versions":[{"name":"v1","schema":{"openAPIV3Schema":{}}}]}})",
           R"({"apiVersion":"apiextensions.k8s.io/v1","kind":"CustomResourceDefinition",
               "spec":{"versions":[{"name":"v1","schema":{"openAPIV3Schema":{}}}]}})"}) {
    auto out = f.Run(a, crd);
    ASSERT_TRUE(out.ok()) << out.status();
    EXPECT_EQ(out->item, Parse(crd));
  }
}

// ---------------------------------------------------------------------------------------------
// velero.io/apiservice

TEST(ApiServiceActionTest, AutomanagedApiServicesAreSkipped) {
  ApiServiceAction a;
  EXPECT_THAT(a.AppliesTo().included_resources, ElementsAre("apiservices"));
  EXPECT_EQ(a.AppliesTo().label_selector, "kube-aggregator.kubernetes.io/automanaged");
  RestoreFixture f;
  auto out = f.Run(a, R"({"kind":"APIService","metadata":{"name":"v1.apps",
    "labels":{"kube-aggregator.kubernetes.io/automanaged":"onstart"}}})");
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_TRUE(out->skip_restore);
  auto custom = f.Run(a, R"({"kind":"APIService","metadata":{"name":"v1beta1.metrics.k8s.io"}})");
  ASSERT_TRUE(custom.ok()) << custom.status();
  EXPECT_FALSE(custom->skip_restore);
}

// ---------------------------------------------------------------------------------------------
// velero.io/admission-webhook-configuration

TEST(AdmissionWebhookActionTest, InvalidSideEffectsBecomeNone) {
  AdmissionWebhookConfigurationAction a;
  EXPECT_THAT(a.AppliesTo().included_resources,
              ElementsAre("mutatingwebhookconfigurations", "validatingwebhookconfigurations"));
  RestoreFixture f;
  auto out = f.Run(a, R"({"apiVersion":"admissionregistration.k8s.io/v1",
    "kind":"MutatingWebhookConfiguration","metadata":{"name":"m"},"webhooks":[
      {"name":"a","sideEffects":"Unknown"},{"name":"b","sideEffects":"Some"},{"name":"c"},
      {"name":"d","sideEffects":"None"},{"name":"e","sideEffects":"NoneOnDryRun"},"garbage"]})");
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(*JsonFind(out->item, {"webhooks"}),
            Parse(R"([{"name":"a","sideEffects":"None"},{"name":"b","sideEffects":"None"},
                      {"name":"c","sideEffects":"None"},{"name":"d","sideEffects":"None"},
                      {"name":"e","sideEffects":"NoneOnDryRun"}])"));
}

TEST(AdmissionWebhookActionTest, OtherVersionsAndNoWebhooksAreUnchanged) {
  AdmissionWebhookConfigurationAction a;
  RestoreFixture f;
  for (
      const char* cfg : {
          R"({"apiVersion":"admissionregistration.k8s.io/v1beta1","kind":"ValidatingWebhookConfiguration",
               "webhooks":[{"name":"a","sideEffects":"Unknown"}]})",
          R"({"apiVersion":"admissionregistration.k8s.io/v1","kind":"ValidatingWebhookConfiguration"})"}) {
    auto out = f.Run(a, cfg);
    ASSERT_TRUE(out.ok()) << out.status();
    EXPECT_EQ(out->item, Parse(cfg));
  }
  auto bad = f.Run(a, R"({"apiVersion":"admissionregistration.k8s.io/v1","webhooks":"x"})");
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
}

// ---------------------------------------------------------------------------------------------
// velero.io/pvc (without a selected-node annotation it needs no cluster)

TEST(PvcActionTest, DropsBindingAnnotationsAndAddsTheBoundVolume) {
  PvcAction a(nullptr, "velero");
  EXPECT_THAT(a.AppliesTo().included_resources, ElementsAre("persistentvolumeclaims"));
  RestoreFixture f(Mapping{{"app", "app2"}});
  const char* item = R"({"kind":"PersistentVolumeClaim","metadata":{"name":"data","namespace":"app",
    "annotations":{"pv.kubernetes.io/bind-completed":"yes","pv.kubernetes.io/bound-by-controller":"yes",
      "volume.kubernetes.io/storage-provisioner":"p","volume.beta.kubernetes.io/storage-provisioner":"p",
      "velero.io/volume-snapshot-name":"vs","velero.io/data-upload-name":"du","keep":"me"}},
    "spec":{"volumeName":"pv-1","storageClassName":"standard"}})";
  const char* backed_up =
      R"({"kind":"PersistentVolumeClaim","metadata":{"name":"data","namespace":"app"},
    "spec":{"volumeName":"pv-1"},"status":{"phase":"Bound"}})";
  auto out = f.Run(a, item, backed_up);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(*JsonFind(out->item, {"metadata", "annotations"}), Parse(R"({"keep":"me"})"));
  EXPECT_EQ(JsonString(out->item, {"spec", "volumeName"}), "pv-1");
  EXPECT_THAT(out->additional_items,
              ElementsAre(ResourceIdentifier{"", "persistentvolumes", "", "pv-1"}));
}

TEST(PvcActionTest, UnboundClaimHasNoAdditionalItemAndEmptyAnnotationsGo) {
  PvcAction a(nullptr, "velero");
  RestoreFixture f;
  auto out = f.Run(a, R"({"kind":"PersistentVolumeClaim","metadata":{"name":"d","namespace":"app",
    "annotations":{"pv.kubernetes.io/bind-completed":"yes"}},"spec":{"volumeName":"pv-1"}})",
                   R"({"spec":{"volumeName":"pv-1"},"status":{"phase":"Pending"}})");
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(JsonFind(out->item, {"metadata", "annotations"}), nullptr);
  EXPECT_THAT(out->additional_items, IsEmpty());
  auto no_volume = f.Run(a, R"({"kind":"PersistentVolumeClaim","metadata":{"name":"d"},"spec":{}})",
                         R"({"spec":{},"status":{"phase":"Bound"}})");
  ASSERT_TRUE(no_volume.ok()) << no_volume.status();
  EXPECT_THAT(no_volume->additional_items, IsEmpty());
}

TEST(PvcActionTest, SelectedNodeNeedsTheCluster) {
  PvcAction a(nullptr, "velero");
  RestoreFixture f;
  auto out = f.Run(a, R"({"kind":"PersistentVolumeClaim","metadata":{"name":"d",
    "annotations":{"volume.kubernetes.io/selected-node":"node-1"}},"spec":{}})");
  EXPECT_EQ(out.status().code(), absl::StatusCode::kFailedPrecondition);
}

// ---------------------------------------------------------------------------------------------
// velero.io/secret (only token secrets need the cluster)

TEST(SecretActionTest, OrdinarySecretsAreUnchangedWithoutACluster) {
  SecretAction a(nullptr);
  EXPECT_THAT(a.AppliesTo().included_resources, ElementsAre("secrets"));
  RestoreFixture f;
  const char* secret =
      R"({"kind":"Secret","type":"Opaque","metadata":{"name":"s","namespace":"app"},
    "data":{"token":"dG9r"}})";
  auto out = f.Run(a, secret);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->item, Parse(secret));
  EXPECT_FALSE(out->skip_restore);
  auto token = f.Run(a, R"({"kind":"Secret","type":"kubernetes.io/service-account-token",
    "metadata":{"name":"web-token-1","namespace":"app"}})");
  EXPECT_EQ(token.status().code(), absl::StatusCode::kFailedPrecondition);
}

// ---------------------------------------------------------------------------------------------
// velero.io/change-image-name (fixed ConfigMap)

PluginConfigMap ImageConfig(std::map<std::string, std::string> data) {
  return PluginConfigMap{"image-map", std::move(data)};
}

TEST(ChangeImageNameActionTest, RewritesContainersAndInitContainersOfEveryShape) {
  ChangeImageNameAction a(ImageConfig(
      {{"case1", "1.1.1.1:5000,2.2.2.2:3000"}, {"case2", " busybox:1.35 , busybox:1.36 "}}));
  EXPECT_THAT(a.AppliesTo().included_resources,
              ElementsAre("deployments", "statefulsets", "daemonsets", "replicasets",
                          "replicationcontrollers", "jobs", "cronjobs", "pods"));
  RestoreFixture f;
  const std::string containers = R"("containers":[{"name":"a","image":"1.1.1.1:5000/abc:test"},
      {"name":"b","image":"nginx"}],"initContainers":[{"name":"i","image":"busybox:1.35"}])";
  struct Shape {
    const char* kind;
    std::string item;
    std::vector<std::string_view> path;
  };
  std::vector<Shape> shapes = {
      {"Pod", R"({"kind":"Pod","spec":{)" + containers + "}}", {"spec"}},
      {"Deployment",
       R"({"kind":"Deployment","spec":{"template":{"spec":{)" + containers + "}}}}",
       {"spec", "template", "spec"}},
      {"CronJob",
       R"({"kind":"CronJob","spec":{"jobTemplate":{"spec":{"template":{"spec":{)" + containers +
           "}}}}}}",
       {"spec", "jobTemplate", "spec", "template", "spec"}},
  };
  for (const Shape& s : shapes) {
    auto out = f.Run(a, s.item);
    ASSERT_TRUE(out.ok()) << s.kind << ": " << out.status();
    const json::value* spec = &out->item;
    for (std::string_view k : s.path) spec = &spec->at(k);
    EXPECT_EQ(spec->at("containers").at(0).at("image"), "2.2.2.2:3000/abc:test") << s.kind;
    EXPECT_EQ(spec->at("containers").at(1).at("image"), "nginx") << s.kind;
    EXPECT_EQ(spec->at("initContainers").at(0).at("image"), "busybox:1.36") << s.kind;
  }
}

TEST(ChangeImageNameActionTest, FirstRuleInKeyOrderWinsAndReplacesEveryOccurrence) {
  ChangeImageNameAction a(ImageConfig({{"b", "repo,mirror"}, {"a", "repo/app,other/app"}}));
  RestoreFixture f;
  auto out =
      f.Run(a, R"({"kind":"Pod","spec":{"containers":[{"name":"c","image":"repo/app:repo"}]}})");
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(JsonFind(out->item, {"spec"})->at("containers").at(0).at("image"), "other/app:repo");
  ChangeImageNameAction only_b(ImageConfig({{"b", "repo,mirror"}}));
  out = f.Run(only_b,
              R"({"kind":"Pod","spec":{"containers":[{"name":"c","image":"repo/app:repo"}]}})");
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(JsonFind(out->item, {"spec"})->at("containers").at(0).at("image"), "mirror/app:mirror");
}

TEST(ChangeImageNameActionTest, NoConfigMapOrEmptyDataLeavesTheItem) {
  RestoreFixture f;
  const char* pod = R"({"kind":"Pod","spec":{"containers":[{"name":"c","image":"repo/app"}]}})";
  ChangeImageNameAction none(std::nullopt);
  auto out = f.Run(none, pod);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->item, Parse(pod));
  ChangeImageNameAction empty(ImageConfig({}));
  out = f.Run(empty, pod);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->item, Parse(pod));
}

TEST(ChangeImageNameActionTest, MalformedValuesAreClearErrors) {
  RestoreFixture f;
  const char* pod = R"({"kind":"Pod","spec":{"containers":[{"name":"c","image":"repo/app"}]}})";
  for (auto [value, why] : {std::pair<const char*, const char*>{"repo mirror", "no comma"},
                            {" ,mirror", "the old part is empty"},
                            {"repo,  ", "the new part is empty"}}) {
    ChangeImageNameAction a(ImageConfig({{"ok", "x,y"}, {"rule", value}}));
    auto out = f.Run(a, pod);
    ASSERT_EQ(out.status().code(), absl::StatusCode::kInvalidArgument) << value;
    EXPECT_THAT(out.status().message(), HasSubstr("ConfigMap image-map"));
    EXPECT_THAT(out.status().message(), HasSubstr("data[\"rule\"]"));
    EXPECT_THAT(out.status().message(), HasSubstr(why));
  }
}

// ---------------------------------------------------------------------------------------------
// velero.io/change-storage-class (fixed ConfigMap; the class lookup is in the kubesim test)

TEST(ChangeStorageClassActionTest, UnmappedOrClasslessItemsNeedNoLookup) {
  ChangeStorageClassAction a(nullptr, PluginConfigMap{"sc-map", {{"gold", "silver"}}});
  EXPECT_THAT(a.AppliesTo().included_resources,
              ElementsAre("persistentvolumeclaims", "persistentvolumes", "statefulsets"));
  RestoreFixture f;
  for (
      const char* item :
      {R"({"kind":"PersistentVolumeClaim","spec":{"storageClassName":"bronze"}})",
       R"({"kind":"PersistentVolume","spec":{}})",
       R"({"kind":"StatefulSet","spec":{"volumeClaimTemplates":[{"spec":{"storageClassName":"bronze"}},{"spec":{}}]}})"}) {
    auto out = f.Run(a, item);
    ASSERT_TRUE(out.ok()) << out.status();
    EXPECT_EQ(out->item, Parse(item));
  }
  // A mapped class must be looked up: without a cluster that is FailedPrecondition.
  auto out = f.Run(a, R"({"kind":"PersistentVolumeClaim","spec":{"storageClassName":"gold"}})");
  EXPECT_EQ(out.status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(ChangeStorageClassActionTest, EmptyTargetIsAClearError) {
  ChangeStorageClassAction a(nullptr, PluginConfigMap{"sc-map", {{"gold", ""}}});
  RestoreFixture f;
  auto out = f.Run(a, R"({"kind":"PersistentVolume","spec":{"storageClassName":"gold"}})");
  EXPECT_EQ(out.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(out.status().message(), HasSubstr("sc-map"));
}

// ---------------------------------------------------------------------------------------------
// Concurrency: one instance, many threads.

TEST(BuiltinRestoreItemActionsTest, ExecuteFromManyThreads) {
  ChangeImageNameAction a(ImageConfig({{"r", "old,new"}}));
  RestoreFixture f;
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 200; ++i) {
        json::value backed_up;
        plugin::RestoreItemActionInput in{
            Parse(R"({"kind":"Pod","spec":{"containers":[{"name":"c","image":"old/app"}]}})"),
            &backed_up, &f.context};
        auto out = a.Execute(std::move(in));
        if (out.ok() &&
            JsonFind(out->item, {"spec"})->at("containers").at(0).at("image") == "new/app")
          ++ok;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 800);
}

}  // namespace
}  // namespace lifeboat::restore
