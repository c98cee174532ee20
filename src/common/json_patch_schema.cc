// The schema table of lifeboat/common/json_patch.h: strategic-merge keys and server-side-apply
// list types of the built-in kinds.

#include <algorithm>
#include <deque>
#include <utility>

#include "lifeboat/common/json_patch.h"

namespace lifeboat::jsonpatch {
namespace {

using json = boost::json::value;
using ListType = SchemaNode::ListType;

// Builds the schema table once. Nodes live in an arena for the life of the process; builders
// mutate only nodes they created and have not yet shared.
class Builder {
 public:
  SchemaNode* New() { return &arena_.emplace_back(); }

  // The node at `path` (dot separated; a segment ending in "[]" steps into list items),
  // created on the way.
  SchemaNode* At(SchemaNode* root, std::string_view path) {
    SchemaNode* node = root;
    while (!path.empty()) {
      size_t dot = path.find('.');
      std::string_view seg = path.substr(0, dot);
      path = dot == std::string_view::npos ? std::string_view() : path.substr(dot + 1);
      bool items = seg.size() > 2 && seg.substr(seg.size() - 2) == "[]";
      if (items) seg.remove_suffix(2);
      node = Child(node, seg);
      if (items) node = ElemOf(node);
    }
    return node;
  }

  // Places an already built subtree at `path` (shared, not to be mutated afterwards).
  void Mount(SchemaNode* root, std::string_view path, const SchemaNode* sub) {
    size_t dot = path.rfind('.');
    SchemaNode* parent = dot == std::string_view::npos ? root : At(root, path.substr(0, dot));
    std::string_view name = dot == std::string_view::npos ? path : path.substr(dot + 1);
    parent->fields[std::string(name)] = sub;
  }

  // A list merged by key: strategic merge by `smp_key`, server-side apply by `ssa_keys`
  // (the same key when empty). Returns the item schema.
  SchemaNode* Keyed(SchemaNode* root, std::string_view path, std::string smp_key,
                    std::vector<ListMapKey> ssa_keys = {}) {
    SchemaNode* list = At(root, path);
    list->smp_merge = true;
    list->list_type = ListType::kMap;
    if (ssa_keys.empty()) ssa_keys.push_back(ListMapKey{smp_key, std::nullopt});
    list->smp_key = std::move(smp_key);
    std::sort(ssa_keys.begin(), ssa_keys.end(),
              [](const ListMapKey& a, const ListMapKey& b) { return a.name < b.name; });
    list->keys = std::move(ssa_keys);
    return ElemOf(list);
  }

  // A list of primitives merged as a set.
  void Set(SchemaNode* root, std::string_view path) {
    SchemaNode* list = At(root, path);
    list->smp_merge = true;
    list->list_type = ListType::kSet;
  }

  void AtomicMap(SchemaNode* root, std::string_view path) { At(root, path)->atomic_map = true; }

 private:
  SchemaNode* Child(SchemaNode* node, std::string_view name) {
    auto it = node->fields.find(name);
    if (it != node->fields.end())
      return const_cast<SchemaNode*>(it->second);  // arena-owned, built here
    SchemaNode* child = New();
    node->fields.emplace(std::string(name), child);
    return child;
  }
  SchemaNode* ElemOf(SchemaNode* node) {
    if (node->elem == nullptr) node->elem = New();
    return const_cast<SchemaNode*>(node->elem);
  }

  std::deque<SchemaNode> arena_;
};

ListMapKey Key(std::string name) { return ListMapKey{std::move(name), std::nullopt}; }
ListMapKey KeyDefault(std::string name, std::string def) {
  return ListMapKey{std::move(name), json(boost::json::string(def))};
}

const SchemaNode* BuildContainer(Builder& b) {
  SchemaNode* c = b.New();
  b.Keyed(c, "ports", "containerPort", {Key("containerPort"), KeyDefault("protocol", "TCP")});
  b.Keyed(c, "env", "name");
  b.Keyed(c, "volumeMounts", "mountPath");
  b.Keyed(c, "volumeDevices", "devicePath");
  return c;
}

const SchemaNode* BuildPodSpec(Builder& b) {
  SchemaNode* spec = b.New();
  const SchemaNode* container = BuildContainer(b);
  for (const char* list : {"containers", "initContainers", "ephemeralContainers"}) {
    SchemaNode* l = b.At(spec, list);
    l->smp_merge = true;
    l->smp_key = "name";
    l->list_type = ListType::kMap;
    l->keys = {Key("name")};
    l->elem = container;
  }
  b.Keyed(spec, "volumes", "name");
  b.Keyed(spec, "imagePullSecrets", "name");
  b.Keyed(spec, "hostAliases", "ip");
  b.Keyed(spec, "topologySpreadConstraints", "topologyKey",
          {Key("topologyKey"), Key("whenUnsatisfiable")});
  b.Keyed(spec, "schedulingGates", "name");
  b.Keyed(spec, "resourceClaims", "name");
  return spec;
}

struct Table {
  Builder b;
  const SchemaNode* untyped = nullptr;
  const SchemaNode* metadata = nullptr;
  const SchemaNode* generic = nullptr;
  std::map<std::string, const SchemaNode*, std::less<>> kinds;  // "group/kind"

  SchemaNode* Root(std::string group, std::string kind) {
    SchemaNode* root = b.New();
    root->fields["metadata"] = metadata;
    kinds[group + "/" + kind] = root;
    return root;
  }

  Table() {
    untyped = b.New();
    SchemaNode* meta = b.New();
    b.Set(meta, "finalizers");
    b.Keyed(meta, "ownerReferences", "uid");
    metadata = meta;
    SchemaNode* g = b.New();
    g->fields["metadata"] = metadata;
    generic = g;

    const SchemaNode* pod_spec = BuildPodSpec(b);
    SchemaNode* pod_template = b.New();  // PodTemplateSpec
    pod_template->fields["metadata"] = metadata;
    pod_template->fields["spec"] = pod_spec;

    SchemaNode* pod = Root("", "Pod");
    b.Mount(pod, "spec", pod_spec);
    b.Keyed(pod, "status.conditions", "type");
    b.Keyed(pod, "status.podIPs", "ip");
    b.Keyed(pod, "status.hostIPs", "ip");
    b.Mount(Root("", "PodTemplate"), "template", pod_template);

    SchemaNode* rc = Root("", "ReplicationController");
    b.Mount(rc, "spec.template", pod_template);
    b.Keyed(rc, "status.conditions", "type");

    for (const char* kind : {"Deployment", "ReplicaSet", "StatefulSet", "DaemonSet"}) {
      SchemaNode* w = Root("apps", kind);
      b.Mount(w, "spec.template", pod_template);
      b.AtomicMap(w, "spec.selector");
      b.Keyed(w, "status.conditions", "type");
    }
    SchemaNode* job = Root("batch", "Job");
    b.Mount(job, "spec.template", pod_template);
    b.AtomicMap(job, "spec.selector");
    b.Keyed(job, "status.conditions", "type");
    SchemaNode* cron = Root("batch", "CronJob");
    b.Mount(cron, "spec.jobTemplate.spec.template", pod_template);
    b.AtomicMap(cron, "spec.jobTemplate.spec.selector");

    SchemaNode* svc = Root("", "Service");
    b.Keyed(svc, "spec.ports", "port", {Key("port"), KeyDefault("protocol", "TCP")});
    b.Keyed(svc, "status.conditions", "type");
    SchemaNode* node = Root("", "Node");
    b.Set(node, "spec.podCIDRs");
    b.Keyed(node, "status.conditions", "type");
    SchemaNode* addresses =
        b.At(node, "status.addresses");  // strategic merge by type, apply: atomic
    addresses->smp_merge = true;
    addresses->smp_key = "type";
    b.Keyed(Root("", "Namespace"), "status.conditions", "type");
    b.Keyed(Root("", "PersistentVolumeClaim"), "status.conditions", "type");
    b.Keyed(Root("", "ServiceAccount"), "secrets", "name");
    SchemaNode* pdb = Root("policy", "PodDisruptionBudget");
    b.AtomicMap(pdb, "spec.selector");
    b.Keyed(pdb, "status.conditions", "type");
    b.Keyed(Root("autoscaling", "HorizontalPodAutoscaler"), "status.conditions", "type");
    b.Keyed(Root("apiextensions.k8s.io", "CustomResourceDefinition"), "status.conditions", "type");
    b.Keyed(Root("apiregistration.k8s.io", "APIService"), "status.conditions", "type");
    b.Keyed(Root("certificates.k8s.io", "CertificateSigningRequest"), "status.conditions", "type");
  }
};

const Table& GetTable() {
  static const Table* table = new Table();
  return *table;
}

}  // namespace

const SchemaNode* SchemaNode::Field(std::string_view name) const {
  auto it = fields.find(name);
  return it == fields.end() ? UntypedNode() : it->second;
}

const SchemaNode* SchemaNode::Elem() const { return elem == nullptr ? UntypedNode() : elem; }

const SchemaNode* UntypedNode() { return GetTable().untyped; }

const SchemaNode* RootSchema(std::string_view group, std::string_view kind) {
  const Table& t = GetTable();
  auto it = t.kinds.find(std::string(group) + "/" + std::string(kind));
  if (it != t.kinds.end()) return it->second;
  return t.generic;
}

bool IsBuiltinGroup(std::string_view group) {
  static constexpr std::string_view kGroups[] = {"",
                                                 "apps",
                                                 "batch",
                                                 "autoscaling",
                                                 "policy",
                                                 "extensions",
                                                 "rbac.authorization.k8s.io",
                                                 "networking.k8s.io",
                                                 "storage.k8s.io",
                                                 "apiextensions.k8s.io",
                                                 "apiregistration.k8s.io",
                                                 "coordination.k8s.io",
                                                 "scheduling.k8s.io",
                                                 "discovery.k8s.io",
                                                 "events.k8s.io",
                                                 "certificates.k8s.io",
                                                 "admissionregistration.k8s.io",
                                                 "node.k8s.io",
                                                 "flowcontrol.apiserver.k8s.io",
                                                 "authentication.k8s.io",
                                                 "authorization.k8s.io",
                                                 "resource.k8s.io",
                                                 "internal.apiserver.k8s.io",
                                                 "storagemigration.k8s.io"};
  for (std::string_view g : kGroups) {
    if (g == group) return true;
  }
  return false;
}

}  // namespace lifeboat::jsonpatch
