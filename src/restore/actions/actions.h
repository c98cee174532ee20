#pragma once

// The built-in RestoreItemActions (builtin_actions.h lists them in the order they run). Each is
// Velero's action of the same name (pkg/restore/actions): same AppliesTo, same changes to the
// item, same additional items. docs/restore-actions.md describes them for users.
//
// Every Execute returns InvalidArgument "<action>: ..." when the item is not a JSON object or a
// field it needs has the wrong type. Actions that read the cluster (ConfigMaps in the Velero
// namespace, storage classes, nodes, service accounts, claims, VolumeSnapshotClasses) return
// FailedPrecondition when they were built without a client and would need it.
//
// Thread safety: Execute may be called from several threads at once on one instance.

#include <boost/json.hpp>
#include <initializer_list>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lifeboat/kube/dynamic_client.h"
#include "lifeboat/plugin/restore_item_action.h"

namespace lifeboat::restore {

// ---------------------------------------------------------------------------------------------
// Shared parts.

// A plugin ConfigMap as the actions use it.
struct PluginConfigMap {
  std::string name;  // metadata.name, for error messages
  std::map<std::string, std::string> data;
};

// Velero's plugin configuration: the one ConfigMap in the Velero namespace labelled
// `velero.io/plugin-config` and `<plugin>: RestoreItemAction`, read on first use and kept for
// the restore (one instance per restore). Thread-safe.
class PluginConfig {
 public:
  // `client` is borrowed (may be null: Get then returns FailedPrecondition).
  PluginConfig(kube::DynamicClient* client, std::string velero_namespace, std::string plugin);
  // A fixed configuration (tests): nullopt means "no ConfigMap".
  explicit PluginConfig(std::optional<PluginConfigMap> fixed);

  // The ConfigMap, or nullptr when none matches. InvalidArgument when several match (Velero:
  // "found more than one ConfigMap matching label selector ..."); FailedPrecondition without a
  // client; a failed list is returned annotated and retried by the next call.
  StatusOr<const PluginConfigMap*> Get();
  // "velero.io/plugin-config,velero.io/change-image-name=RestoreItemAction"
  std::string LabelSelector() const;

 private:
  kube::DynamicClient* client_ = nullptr;
  std::string namespace_;
  std::string plugin_;
  std::mutex mu_;  // guards loaded_; held while listing so the list is fetched once
  std::optional<std::optional<PluginConfigMap>> loaded_;
};

// Whether named cluster-scoped objects of one resource exist, asked once per name. Thread-safe.
class ExistenceCache {
 public:
  // `client` is borrowed (may be null: Exists then returns FailedPrecondition).
  ExistenceCache(kube::DynamicClient* client, kube::GroupVersionResource gvr);
  // True/false (NotFound); other Get errors are returned and not remembered.
  StatusOr<bool> Exists(const std::string& name);

 private:
  kube::DynamicClient* client_;
  kube::GroupVersionResource gvr_;
  std::mutex mu_;
  std::map<std::string, bool> known_;
};

namespace actions_internal {

// Total lookups over unstructured objects: nullptr / "" when missing or of another type.
boost::json::object* ObjectAt(boost::json::object* o, std::string_view key);
const boost::json::object* ObjectAt(const boost::json::object* o, std::string_view key);
boost::json::array* ArrayAt(boost::json::object* o, std::string_view key);
std::string StringAt(const boost::json::object* o, std::string_view key);
// The object at a path of keys, or nullptr.
boost::json::object* ObjectAtPath(boost::json::object* o,
                                  std::initializer_list<std::string_view> path);

// The item as an object, or InvalidArgument "<action>: the item is not an object".
StatusOr<boost::json::object*> ItemObject(boost::json::value& item, const std::string& action);
// The array at `key` of `o`: nullptr when missing or null, InvalidArgument "<action>: <what>
// is not an array" when of another type.
StatusOr<boost::json::array*> OptionalArray(boost::json::object* o, std::string_view key,
                                            const std::string& action, const std::string& what);
// Output with the item unchanged.
plugin::RestoreItemActionOutput Unchanged(boost::json::value item);
// The resource's selector: included_resources = {resources...}.
plugin::ResourceSelector Resources(std::vector<std::string> resources);
// Maps subjects[].namespace through the restore's namespaceMapping (role bindings).
Status MapSubjectNamespaces(boost::json::object& binding, const plugin::RestoreContext* context,
                            const std::string& action);
const kube::GroupVersionResource& ConfigMapsGvr();

}  // namespace actions_internal

// ---------------------------------------------------------------------------------------------
// Actions without cluster access.

// velero.io/job (jobs): removes the controller-uid labels (`controller-uid`,
// `batch.kubernetes.io/controller-uid`) from spec.selector.matchLabels and
// spec.template.metadata.labels, so the API server accepts the job with a new UID.
class JobAction : public plugin::RestoreItemAction {
 public:
  std::string Name() const override { return "velero.io/job"; }
  plugin::ResourceSelector AppliesTo() const override;
  StatusOr<plugin::RestoreItemActionOutput> Execute(plugin::RestoreItemActionInput input) override;
};

// velero.io/pod (pods): clears spec.nodeName and spec.priority; drops the volumes, and the
// volumeMounts of containers and initContainers, named `<serviceAccountName>-token-*` (the
// token volume Kubernetes injected); the PriorityClass of spec.priorityClassName is an
// additional item.
class PodAction : public plugin::RestoreItemAction {
 public:
  std::string Name() const override { return "velero.io/pod"; }
  plugin::ResourceSelector AppliesTo() const override;
  StatusOr<plugin::RestoreItemActionOutput> Execute(plugin::RestoreItemActionInput input) override;
};

// velero.io/add-pvc-from-pod (pods): the claims of spec.volumes[].persistentVolumeClaim are
// additional items (in the pod's original namespace). The item is unchanged.
class AddPvcFromPodAction : public plugin::RestoreItemAction {
 public:
  std::string Name() const override { return "velero.io/add-pvc-from-pod"; }
  plugin::ResourceSelector AppliesTo() const override;
  StatusOr<plugin::RestoreItemActionOutput> Execute(plugin::RestoreItemActionInput input) override;
};

// velero.io/service (services): clears spec.clusterIP and spec.clusterIPs unless the service is
// headless (clusterIP "None"). Unless the restore sets preserveNodePorts: drops every
// spec.ports[].nodePort not set explicitly (ExternalName services are left alone), and drops
// spec.healthCheckNodePort of a LoadBalancer service with externalTrafficPolicy Local unless set
// explicitly. "Explicitly" means: in the kubectl.kubernetes.io/last-applied-configuration
// annotation (named ports by name, unnamed ones by value; when the annotation exists it alone
// decides for nodePorts), else owned by some manager in metadata.managedFields
// (f:spec/f:ports/k:{"port":P,"protocol":"T"}/f:nodePort, f:spec/f:healthCheckNodePort).
// InvalidArgument when the annotation or a fieldsV1 is not valid JSON of the expected shape.
class ServiceAction : public plugin::RestoreItemAction {
 public:
  std::string Name() const override { return "velero.io/service"; }
  plugin::ResourceSelector AppliesTo() const override;
  StatusOr<plugin::RestoreItemActionOutput> Execute(plugin::RestoreItemActionInput input) override;
};

// velero.io/service-account (serviceaccounts): drops the reference to the auto-generated token
// secret (the last secrets[] entry named `<name>-token-*`).
class ServiceAccountAction : public plugin::RestoreItemAction {
 public:
  std::string Name() const override { return "velero.io/service-account"; }
  plugin::ResourceSelector AppliesTo() const override;
  StatusOr<plugin::RestoreItemActionOutput> Execute(plugin::RestoreItemActionInput input) override;
};

// velero.io/role-bindings (rolebindings): subjects[].namespace mapped through namespaceMapping.
class RoleBindingAction : public plugin::RestoreItemAction {
 public:
  std::string Name() const override { return "velero.io/role-bindings"; }
  plugin::ResourceSelector AppliesTo() const override;
  StatusOr<plugin::RestoreItemActionOutput> Execute(plugin::RestoreItemActionInput input) override;
};

// velero.io/cluster-role-bindings (clusterrolebindings): the same for cluster role bindings.
class ClusterRoleBindingAction : public plugin::RestoreItemAction {
 public:
  std::string Name() const override { return "velero.io/cluster-role-bindings"; }
  plugin::ResourceSelector AppliesTo() const override;
  StatusOr<plugin::RestoreItemActionOutput> Execute(plugin::RestoreItemActionInput input) override;
};

// velero.io/crd-preserve-fields (customresourcedefinitions.apiextensions.k8s.io): an
// apiextensions.k8s.io/v1 CRD with spec.preserveUnknownFields true gets it removed (false) and
// `x-kubernetes-preserve-unknown-fields: true` in the openAPIV3Schema of every version that has
// one. Other CRDs are unchanged.
class CrdPreserveFieldsAction : public plugin::RestoreItemAction {
 public:
  std::string Name() const override { return "velero.io/crd-preserve-fields"; }
  plugin::ResourceSelector AppliesTo() const override;
  StatusOr<plugin::RestoreItemActionOutput> Execute(plugin::RestoreItemActionInput input) override;
};

// velero.io/apiservice (apiservices labelled kube-aggregator.kubernetes.io/automanaged): skips
// the restore (the aggregator recreates them). An APIService without the label is unchanged.
class ApiServiceAction : public plugin::RestoreItemAction {
 public:
  std::string Name() const override { return "velero.io/apiservice"; }
  plugin::ResourceSelector AppliesTo() const override;
  StatusOr<plugin::RestoreItemActionOutput> Execute(plugin::RestoreItemActionInput input) override;
};

// velero.io/admission-webhook-configuration (mutating/validatingwebhookconfigurations): in
// admissionregistration.k8s.io/v1 objects, every webhooks[] entry whose sideEffects is not
// None/NoneOnDryRun (missing, Unknown, Some) gets None; entries that are not objects are dropped.
// Other versions are unchanged.
class AdmissionWebhookConfigurationAction : public plugin::RestoreItemAction {
 public:
  std::string Name() const override { return "velero.io/admission-webhook-configuration"; }
  plugin::ResourceSelector AppliesTo() const override;
  StatusOr<plugin::RestoreItemActionOutput> Execute(plugin::RestoreItemActionInput input) override;
};

// ---------------------------------------------------------------------------------------------
// Actions that read the cluster.

// velero.io/pvc (persistentvolumeclaims): removes the annotations pv.kubernetes.io/bind-completed,
// pv.kubernetes.io/bound-by-controller, volume.kubernetes.io/storage-provisioner,
// volume.beta.kubernetes.io/storage-provisioner, velero.io/volume-snapshot-name and
// velero.io/data-upload-name. The volume.kubernetes.io/selected-node annotation is mapped through
// the `velero.io/change-pvc-node-selector` plugin ConfigMap (old node -> new node) when it names
// the node, else removed when that node does not exist in the cluster (Velero ≥ 1.14). When the
// claim was Bound in the backup (status.phase of the backed-up item) with spec.volumeName, that
// PV is an additional item.
class PvcAction : public plugin::RestoreItemAction {
 public:
  // `client` is borrowed (may be null; then a claim with a selected-node annotation fails).
  PvcAction(kube::DynamicClient* client, const std::string& velero_namespace);
  // Tests: a fixed node-mapping ConfigMap.
  PvcAction(kube::DynamicClient* client, std::optional<PluginConfigMap> node_mapping);
  std::string Name() const override { return "velero.io/pvc"; }
  plugin::ResourceSelector AppliesTo() const override;
  StatusOr<plugin::RestoreItemActionOutput> Execute(plugin::RestoreItemActionInput input) override;

 private:
  Status MapSelectedNode(boost::json::object& annotations);
  PluginConfig node_mapping_;
  ExistenceCache nodes_;
};

// velero.io/secret (secrets): a kubernetes.io/service-account-token secret named
// `<sa>-token-*` for a ServiceAccount that exists in the cluster, in the namespace the secret is
// restored into, is skipped (the token controller made it); other token secrets lose the
// kubernetes.io/service-account.uid annotation and data.token / data["ca.crt"] (the controller
// fills them in). Other secrets are unchanged. The account list is read for each token secret.
class SecretAction : public plugin::RestoreItemAction {
 public:
  // `client` is borrowed (may be null; then a token secret fails with FailedPrecondition).
  explicit SecretAction(kube::DynamicClient* client) : client_(client) {}
  std::string Name() const override { return "velero.io/secret"; }
  plugin::ResourceSelector AppliesTo() const override;
  StatusOr<plugin::RestoreItemActionOutput> Execute(plugin::RestoreItemActionInput input) override;

 private:
  kube::DynamicClient* client_;
};

// velero.io/change-storage-class (persistentvolumeclaims, persistentvolumes, statefulsets): with
// the plugin ConfigMap `velero.io/change-storage-class` (data: old class -> new class), replaces
// spec.storageClassName of claims and volumes, and of each statefulset
// spec.volumeClaimTemplates[].spec. The new class must exist in the cluster (NotFound
// otherwise; each class is looked up once per restore). Items without a class or a mapping for
// it are unchanged; so is everything when there is no ConfigMap.
class ChangeStorageClassAction : public plugin::RestoreItemAction {
 public:
  ChangeStorageClassAction(kube::DynamicClient* client, const std::string& velero_namespace);
  // Tests: a fixed ConfigMap.
  ChangeStorageClassAction(kube::DynamicClient* client, std::optional<PluginConfigMap> config);
  std::string Name() const override { return "velero.io/change-storage-class"; }
  plugin::ResourceSelector AppliesTo() const override;
  StatusOr<plugin::RestoreItemActionOutput> Execute(plugin::RestoreItemActionInput input) override;

 private:
  // Replaces the string at spec.storageClassName of `spec` when mapped.
  Status ChangeClass(boost::json::object* spec, const PluginConfigMap& config);
  PluginConfig config_;
  ExistenceCache classes_;
};

// velero.io/change-image-name (deployments, statefulsets, daemonsets, replicasets,
// replicationcontrollers, jobs, cronjobs, pods): with the plugin ConfigMap
// `velero.io/change-image-name`, each data value "<old>,<new>" (split at the first comma, both
// parts trimmed) is a rule; the image of each container and init container (pods: spec;
// cronjobs: spec.jobTemplate.spec.template.spec; others: spec.template.spec) that contains some
// rule's <old> gets every occurrence replaced by <new>, trying rules in key order (Velero: Go
// map order) and using the first that matches. InvalidArgument naming the ConfigMap and key
// when a value has no comma or an empty part (Velero silently ignores some of these).
class ChangeImageNameAction : public plugin::RestoreItemAction {
 public:
  ChangeImageNameAction(kube::DynamicClient* client, const std::string& velero_namespace);
  // Tests: a fixed ConfigMap.
  explicit ChangeImageNameAction(std::optional<PluginConfigMap> config);
  std::string Name() const override { return "velero.io/change-image-name"; }
  plugin::ResourceSelector AppliesTo() const override;
  StatusOr<plugin::RestoreItemActionOutput> Execute(plugin::RestoreItemActionInput input) override;

 private:
  PluginConfig config_;
};

// ---------------------------------------------------------------------------------------------
// The CSI actions (Velero's pkg/restore/actions/csi): a PVC backed up with a CSI snapshot comes
// back as a new claim whose dataSource is a pre-provisioned VolumeSnapshot, bound to a
// pre-provisioned VolumeSnapshotContent of the backed-up snapshot handle. The restored
// VolumeSnapshot and VolumeSnapshotContent are both named CsiRestoreName(restore UID, original
// VolumeSnapshot name), so that several restores of one backup do not collide and the PVC, VS
// and VSC actions agree on the names without talking to each other.

// sha256 hex (64 lower-case digits) of "<restoreUid>/<vsName>" (Velero's
// GenerateSha256FromRestoreUIDAndVsName).
std::string CsiRestoreName(std::string_view restore_uid, std::string_view vs_name);

// velero.io/csi-pvc-restorer (persistentvolumeclaims): acts only on a claim whose backed-up copy
// has the annotation velero.io/volume-snapshot-name. If a claim of that name already exists in
// the (mapped) target namespace, the item is unchanged (the existing-resource policy decides).
// With restorePVs=false: spec.volumeName, spec.dataSource and spec.dataSourceRef are removed
// (the claim is provisioned empty). Otherwise spec.volumeName is removed and spec.dataSource and
// spec.dataSourceRef both become {apiGroup: snapshot.storage.k8s.io, kind: VolumeSnapshot, name:
// CsiRestoreName(uid, vs)}; the backed-up VolumeSnapshot (original namespace and name) is an
// additional item. Backups with snapshotMoveData (DataDownload) are not supported yet: such a
// claim has no velero.io/volume-snapshot-name annotation and is left alone.
class CsiPvcRestorerAction : public plugin::RestoreItemAction {
 public:
  // `client` is borrowed (may be null; then an annotated claim fails with FailedPrecondition).
  explicit CsiPvcRestorerAction(kube::DynamicClient* client) : client_(client) {}
  std::string Name() const override { return "velero.io/csi-pvc-restorer"; }
  plugin::ResourceSelector AppliesTo() const override;
  StatusOr<plugin::RestoreItemActionOutput> Execute(plugin::RestoreItemActionInput input) override;

 private:
  kube::DynamicClient* client_;
};

// velero.io/csi-volumesnapshot-restorer (volumesnapshots.snapshot.storage.k8s.io): skips the
// item with restorePVs=false. Otherwise renames it CsiRestoreName(uid, name), sets spec.source
// to {volumeSnapshotContentName: that same name} (pre-provisioned), drops
// spec.volumeSnapshotClassName, sets the annotation velero.io/csi-vsc-deletion-policy: Retain,
// and returns the VolumeSnapshotContent the backed-up snapshot was bound to
// (status.boundVolumeSnapshotContentName) as an additional item. InvalidArgument when the
// backed-up snapshot has no bound content.
class CsiVolumeSnapshotRestorerAction : public plugin::RestoreItemAction {
 public:
  std::string Name() const override { return "velero.io/csi-volumesnapshot-restorer"; }
  plugin::ResourceSelector AppliesTo() const override;
  StatusOr<plugin::RestoreItemActionOutput> Execute(plugin::RestoreItemActionInput input) override;
};

// velero.io/csi-volumesnapshotcontent-restorer (volumesnapshotcontents.snapshot.storage.k8s.io):
// skips the item with restorePVs=false. Otherwise renames it CsiRestoreName(uid,
// spec.volumeSnapshotRef.name); spec.volumeSnapshotRef gets that name and the mapped namespace
// (uid and resourceVersion removed); spec.deletionPolicy Retain; spec.source {snapshotHandle}
// from the backed-up status.snapshotHandle (else spec.source.snapshotHandle, for a content
// that was pre-provisioned already);
// spec.driver kept; spec.volumeSnapshotClassName = a VolumeSnapshotClass of the same driver in
// the cluster (the backed-up class if it exists with that driver, else the one labelled
// velero.io/csi-volumesnapshot-class=true, else the default-annotated one, else the first by
// name), removed when there is none. The deletion secret named by the annotations
// csi.storage.k8s.io/deletion-secret-name/-namespace is an additional item. InvalidArgument when
// no snapshot handle is known; the class list is read once per driver.
class CsiVolumeSnapshotContentRestorerAction : public plugin::RestoreItemAction {
 public:
  // `client` is borrowed (may be null; then Execute fails with FailedPrecondition).
  explicit CsiVolumeSnapshotContentRestorerAction(kube::DynamicClient* client) : client_(client) {}
  std::string Name() const override { return "velero.io/csi-volumesnapshotcontent-restorer"; }
  plugin::ResourceSelector AppliesTo() const override;
  StatusOr<plugin::RestoreItemActionOutput> Execute(plugin::RestoreItemActionInput input) override;

 private:
  // The class to use for `driver` ("" when none); `preferred` is the backed-up class.
  StatusOr<std::string> ClassFor(const std::string& driver, const std::string& preferred);
  kube::DynamicClient* client_;
  std::mutex mu_;
  std::optional<std::vector<boost::json::value>> classes_;  // listed once
};

// velero.io/csi-volumesnapshotclass-restorer (volumesnapshotclasses.snapshot.storage.k8s.io):
// skips the item with restorePVs=false; otherwise unchanged, with the list secret named by the
// annotations csi.storage.k8s.io/snapshotter-list-secret-name/-namespace as an additional item.
class CsiVolumeSnapshotClassRestorerAction : public plugin::RestoreItemAction {
 public:
  std::string Name() const override { return "velero.io/csi-volumesnapshotclass-restorer"; }
  plugin::ResourceSelector AppliesTo() const override;
  StatusOr<plugin::RestoreItemActionOutput> Execute(plugin::RestoreItemActionInput input) override;
};

}  // namespace lifeboat::restore
