// The built-in resources kubesim serves: the groups, versions, kinds, scopes, verbs, short
// names, categories and subresources of a Kubernetes 1.32 kube-apiserver (as `kubectl
// api-resources` lists them), limited to what this simulator stores.

#include <string>
#include <vector>

#include "kubesim/src/meta/resource_type.h"

namespace kubesim {
namespace {

const std::vector<std::string> kAllVerbs = {"create", "delete", "deletecollection", "get",
                                            "list",   "patch",  "update",           "watch"};

struct Def {
  const char* group;
  const char* version;
  const char* resource;
  const char* kind;
  bool namespaced;
  std::vector<std::string> short_names;
  std::vector<std::string> categories;
  std::vector<std::string> subresources;
  std::vector<std::string> verbs;  // empty: every verb
};

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

const std::vector<Def>& Defs() {
  static const std::vector<Def> defs = {
      // core/v1
      {"", "v1", "bindings", "Binding", true, {}, {}, {}, {"create"}},
      {"", "v1", "configmaps", "ConfigMap", true, {"cm"}, {}, {}, {}},
      {"", "v1", "endpoints", "Endpoints", true, {"ep"}, {}, {}, {}},
      {"", "v1", "events", "Event", true, {"ev"}, {}, {}, {}},
      {"", "v1", "limitranges", "LimitRange", true, {"limits"}, {}, {}, {}},
      {"", "v1", "namespaces", "Namespace", false, {"ns"}, {}, {"finalize", "status"},
       {"create", "delete", "get", "list", "patch", "update", "watch"}},
      {"", "v1", "nodes", "Node", false, {"no"}, {}, {"status"}, {}},
      {"", "v1", "persistentvolumeclaims", "PersistentVolumeClaim", true, {"pvc"}, {}, {"status"}, {}},
      {"", "v1", "persistentvolumes", "PersistentVolume", false, {"pv"}, {}, {"status"}, {}},
      {"", "v1", "pods", "Pod", true, {"po"}, {"all"},
       {"attach", "binding", "exec", "log", "status"},
       {}},
      {"", "v1", "podtemplates", "PodTemplate", true, {}, {}, {}, {}},
      {"", "v1", "replicationcontrollers", "ReplicationController", true, {"rc"}, {"all"}, {"scale", "status"}, {}},
      {"", "v1", "resourcequotas", "ResourceQuota", true, {"quota"}, {}, {"status"}, {}},
      {"", "v1", "secrets", "Secret", true, {}, {}, {}, {}},
      {"", "v1", "serviceaccounts", "ServiceAccount", true, {"sa"}, {}, {}, {}},
      {"", "v1", "services", "Service", true, {"svc"}, {"all"}, {"status"},
       {"create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"}},
      // admissionregistration.k8s.io
      {"admissionregistration.k8s.io", "v1", "mutatingwebhookconfigurations", "MutatingWebhookConfiguration", false,
       {}, {"api-extensions"}, {}, {}},
      {"admissionregistration.k8s.io", "v1", "validatingadmissionpolicies", "ValidatingAdmissionPolicy", false,
       {}, {"api-extensions"}, {"status"}, {}},
      {"admissionregistration.k8s.io", "v1", "validatingadmissionpolicybindings",
       "ValidatingAdmissionPolicyBinding", false, {}, {"api-extensions"}, {}, {}},
      {"admissionregistration.k8s.io", "v1", "validatingwebhookconfigurations", "ValidatingWebhookConfiguration",
       false, {}, {"api-extensions"}, {}, {}},
      // apiextensions.k8s.io
      {"apiextensions.k8s.io", "v1", "customresourcedefinitions", "CustomResourceDefinition", false, {"crd", "crds"},
       {"api-extensions"}, {"status"}, {}},
      // apiregistration.k8s.io
      {"apiregistration.k8s.io", "v1", "apiservices", "APIService", false, {}, {"api-extensions"}, {"status"}, {}},
      // apps
      {"apps", "v1", "controllerrevisions", "ControllerRevision", true, {}, {}, {}, {}},
      {"apps", "v1", "daemonsets", "DaemonSet", true, {"ds"}, {"all"}, {"status"}, {}},
      {"apps", "v1", "deployments", "Deployment", true, {"deploy"}, {"all"}, {"scale", "status"}, {}},
      {"apps", "v1", "replicasets", "ReplicaSet", true, {"rs"}, {"all"}, {"scale", "status"}, {}},
      {"apps", "v1", "statefulsets", "StatefulSet", true, {"sts"}, {"all"}, {"scale", "status"}, {}},
      // autoscaling: v2 is the storage and preferred version, v1 still served
      {"autoscaling", "v2", "horizontalpodautoscalers", "HorizontalPodAutoscaler", true, {"hpa"}, {"all"},
       {"status"}, {}},
      {"autoscaling", "v1", "horizontalpodautoscalers", "HorizontalPodAutoscaler", true, {"hpa"}, {"all"},
       {"status"}, {}},
      // batch
      {"batch", "v1", "cronjobs", "CronJob", true, {"cj"}, {"all"}, {"status"}, {}},
      {"batch", "v1", "jobs", "Job", true, {}, {"all"}, {"status"}, {}},
      // certificates.k8s.io
      {"certificates.k8s.io", "v1", "certificatesigningrequests", "CertificateSigningRequest", false, {"csr"}, {},
       {"status"}, {}},
      // coordination.k8s.io
      {"coordination.k8s.io", "v1", "leases", "Lease", true, {}, {}, {}, {}},
      // discovery.k8s.io
      {"discovery.k8s.io", "v1", "endpointslices", "EndpointSlice", true, {}, {}, {}, {}},
      // events.k8s.io
      {"events.k8s.io", "v1", "events", "Event", true, {"ev"}, {}, {}, {}},
      // flowcontrol.apiserver.k8s.io
      {"flowcontrol.apiserver.k8s.io", "v1", "flowschemas", "FlowSchema", false, {}, {}, {"status"}, {}},
      {"flowcontrol.apiserver.k8s.io", "v1", "prioritylevelconfigurations", "PriorityLevelConfiguration", false, {},
       {}, {"status"}, {}},
      // networking.k8s.io
      {"networking.k8s.io", "v1", "ingressclasses", "IngressClass", false, {}, {}, {}, {}},
      {"networking.k8s.io", "v1", "ingresses", "Ingress", true, {"ing"}, {}, {"status"}, {}},
      {"networking.k8s.io", "v1", "networkpolicies", "NetworkPolicy", true, {"netpol"}, {}, {}, {}},
      // node.k8s.io
      {"node.k8s.io", "v1", "runtimeclasses", "RuntimeClass", false, {}, {}, {}, {}},
      // policy
      {"policy", "v1", "poddisruptionbudgets", "PodDisruptionBudget", true, {"pdb"}, {}, {"status"}, {}},
      // rbac.authorization.k8s.io
      {"rbac.authorization.k8s.io", "v1", "clusterrolebindings", "ClusterRoleBinding", false, {}, {}, {}, {}},
      {"rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", false, {}, {}, {}, {}},
      {"rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding", true, {}, {}, {}, {}},
      {"rbac.authorization.k8s.io", "v1", "roles", "Role", true, {}, {}, {}, {}},
      // scheduling.k8s.io
      {"scheduling.k8s.io", "v1", "priorityclasses", "PriorityClass", false, {"pc"}, {}, {}, {}},
      // storage.k8s.io
      {"storage.k8s.io", "v1", "csidrivers", "CSIDriver", false, {}, {}, {}, {}},
      {"storage.k8s.io", "v1", "csinodes", "CSINode", false, {}, {}, {}, {}},
      {"storage.k8s.io", "v1", "csistoragecapacities", "CSIStorageCapacity", true, {}, {}, {}, {}},
      {"storage.k8s.io", "v1", "storageclasses", "StorageClass", false, {"sc"}, {}, {}, {}},
      {"storage.k8s.io", "v1", "volumeattachments", "VolumeAttachment", false, {}, {}, {"status"}, {}},
  };
  return defs;
}

}  // namespace

std::vector<ResourceType> BuiltinResourceTypes() {
  std::vector<ResourceType> out;
  out.reserve(Defs().size());
  for (const Def& d : Defs()) {
    ResourceType t;
    t.group = d.group;
    t.version = d.version;
    t.resource = d.resource;
    t.kind = d.kind;
    t.singular = Lower(d.kind);
    t.list_kind = std::string(d.kind) + "List";
    t.namespaced = d.namespaced;
    t.verbs = d.verbs.empty() ? kAllVerbs : d.verbs;
    t.short_names = d.short_names;
    t.categories = d.categories;
    t.subresources = d.subresources;
    t.served = true;
    t.storage = !(t.group == "autoscaling" && t.version == "v1");
    t.custom = false;
    out.push_back(std::move(t));
  }
  return out;
}

std::string PreferredBuiltinVersion(const std::string& group) { return group == "autoscaling" ? "v2" : "v1"; }

}  // namespace kubesim
