// The node controller: kubesim's simulated nodes kubesim-node-1..N always exist, each looking
// like a healthy kubelet registered it (labels, capacity, a Ready condition, addresses and node
// info). A deleted node is registered again, as a restarted kubelet would.

#include <algorithm>

#include "kubesim/src/api/object_util.h"
#include "kubesim/src/controllers/workloads/base.h"
#include "kubesim/src/controllers/workloads/workloads_internal.h"
#include "lifeboat/common/log.h"

namespace kubesim::workloads {
namespace {

constexpr char kNodePrefix[] = "kubesim-node-";

json::object Resources() {
  return json::object{{"cpu", "8"}, {"ephemeral-storage", "100Gi"}, {"memory", "32Gi"}, {"pods", "110"}};
}

json::array NodeConditions(const std::string& now) {
  auto cond = [&](const char* type, const char* status, const char* reason, const char* message) {
    return json::object{{"type", type},           {"status", status},          {"lastHeartbeatTime", now},
                        {"lastTransitionTime", now}, {"reason", reason},          {"message", message}};
  };
  return json::array{
      cond("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
      cond("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
      cond("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
      cond("Ready", "True", "KubeletReady", "kubelet is posting ready status")};
}

json::object NodeStatus(int index, const std::string& name) {
  const std::string now = Now();
  return json::object{
      {"capacity", Resources()},
      {"allocatable", Resources()},
      {"conditions", NodeConditions(now)},
      {"addresses", json::array{json::object{{"type", "InternalIP"}, {"address", "10.0.0." + std::to_string(index)}},
                                json::object{{"type", "Hostname"}, {"address", name}}}},
      {"daemonEndpoints", json::object{{"kubeletEndpoint", json::object{{"Port", 10250}}}}},
      {"nodeInfo", json::object{{"machineID", SafeEncode(name) + std::to_string(index)},
                                {"systemUUID", "00000000-0000-0000-0000-00000000000" + std::to_string(index % 10)},
                                {"bootID", "kubesim-boot-" + std::to_string(index)},
                                {"kernelVersion", "6.1.0-kubesim"},
                                {"osImage", "Debian GNU/Linux 12 (bookworm)"},
                                {"containerRuntimeVersion", "kubesim://1"},
                                {"kubeletVersion", "v1.32.0"},
                                {"kubeProxyVersion", "v1.32.0"},
                                {"operatingSystem", "linux"},
                                {"architecture", "amd64"}}},
      {"phase", "Running"}};
}

json::value NewNode(int index) {
  const std::string name = kNodePrefix + std::to_string(index);
  json::object labels{{"kubernetes.io/hostname", name},
                      {"kubernetes.io/os", "linux"},
                      {"kubernetes.io/arch", "amd64"},
                      {"beta.kubernetes.io/os", "linux"},
                      {"beta.kubernetes.io/arch", "amd64"}};
  return json::object{
      {"apiVersion", "v1"},
      {"kind", "Node"},
      {"metadata", json::object{{"name", name},
                                {"labels", std::move(labels)},
                                {"annotations", json::object{{"node.alpha.kubernetes.io/ttl", "0"},
                                                             {"volumes.kubernetes.io/controller-managed-attach-detach", "true"}}}}},
      {"spec", json::object{{"podCIDR", "10.244." + std::to_string(index) + ".0/24"},
                            {"podCIDRs", json::array{"10.244." + std::to_string(index) + ".0/24"}}}},
      {"status", NodeStatus(index, name)}};
}

// The index of one of our nodes ("kubesim-node-3" -> 3), or 0.
int NodeIndex(const std::string& name, int nodes) {
  const std::string prefix = kNodePrefix;
  if (name.size() <= prefix.size() || name.compare(0, prefix.size(), prefix) != 0) return 0;
  std::string digits = name.substr(prefix.size());
  if (digits.size() > 6 || !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return 0;
  }
  int i = std::stoi(digits);
  return i >= 1 && i <= nodes && std::to_string(i) == digits ? i : 0;
}

class NodeController : public KeyedController {
 public:
  explicit NodeController(const ControllerContext& ctx)
      : w_(ctx.cluster, "kubelet"), nodes_(std::max(0, ctx.nodes)) {}

  std::string name() const override { return "node"; }
  std::vector<std::string> Watches() const override { return {"nodes"}; }

 protected:
  void KeysFor(const StoreEvent& e, std::set<Key>& keys) override {
    if (NodeIndex(e.object->name, nodes_) > 0) keys.insert({"", e.object->name});
  }

  std::vector<Key> AllKeys() override {
    std::vector<Key> keys;
    for (int i = 1; i <= nodes_; ++i) keys.push_back({"", kNodePrefix + std::to_string(i)});
    return keys;
  }

  void Reconcile(const Key& key) override {
    const int index = NodeIndex(key.name, nodes_);
    const ResourceType* type = w_.Type("", "nodes");
    if (index == 0 || type == nullptr) return;
    ObjectPtr node = w_.store().Get("nodes", "", key.name);
    if (node == nullptr) {
      auto r = w_.Create(*type, "", NewNode(index));
      if (!r.ok() && r.status().code() != absl::StatusCode::kAlreadyExists) {
        LB_LOG_DEBUG("kubesim: registering node {}: {}", key.name, r.status().ToString());
      }
      return;
    }
    if (IsDeleting(node->object)) return;
    // A node whose status lost its Ready condition (a user replaced it) gets it back.
    const json::value* status = Find(node->object, {"status"});
    if (status != nullptr && FindCondition(*status, "Ready") != nullptr &&
        Find(*status, {"allocatable"}) != nullptr) {
      return;
    }
    Status s = w_.Update(*type, "", key.name, [&](json::value& obj) {
      json::object fresh = NodeStatus(index, key.name);
      json::object& st = Child(obj.as_object(), "status");
      bool changed = false;
      for (auto& kv : fresh) {
        if (!st.contains(kv.key()) || (kv.key() == "conditions" && FindCondition(json::value(st), "Ready") == nullptr)) {
          st[kv.key()] = kv.value();
          changed = true;
        }
      }
      return changed;
    }, "status");
    if (!s.ok()) LB_LOG_DEBUG("kubesim: node {} status: {}", key.name, s.ToString());
  }

 private:
  Writer w_;
  int nodes_;
};

}  // namespace

std::unique_ptr<Controller> NewNodeController(const ControllerContext& ctx) {
  return std::make_unique<NodeController>(ctx);
}

}  // namespace kubesim::workloads
