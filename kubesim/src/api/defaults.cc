#include "kubesim/src/api/defaults.h"

#include "kubesim/src/api/object_util.h"

namespace kubesim {
namespace {

namespace json = boost::json;

json::object& Child(json::object& o, std::string_view key) {
  auto& v = o[key];
  if (!v.is_object()) v = json::object();
  return v.as_object();
}

void SetIfMissing(json::object& o, std::string_view key, json::value v) {
  if (!o.contains(key) || o.at(key).is_null()) o[key] = std::move(v);
}

std::string ImagePullPolicyFor(std::string_view image) {
  size_t slash = image.rfind('/');
  std::string_view last = slash == std::string_view::npos ? image : image.substr(slash + 1);
  if (last.find('@') != std::string_view::npos) return "IfNotPresent";
  size_t colon = last.find(':');
  if (colon == std::string_view::npos || last.substr(colon + 1) == "latest") return "Always";
  return "IfNotPresent";
}

void DefaultContainers(json::object& spec, std::string_view key) {
  auto it = spec.find(key);
  if (it == spec.end() || !it->value().is_array()) return;
  for (auto& c : it->value().as_array()) {
    if (!c.is_object()) continue;
    auto& co = c.as_object();
    SetIfMissing(co, "terminationMessagePath", "/dev/termination-log");
    SetIfMissing(co, "terminationMessagePolicy", "File");
    SetIfMissing(co, "resources", json::object());
    std::string image = co.contains("image") && co.at("image").is_string() ? std::string(co.at("image").as_string()) : "";
    SetIfMissing(co, "imagePullPolicy", json::string(ImagePullPolicyFor(image)));
    if (auto p = co.find("ports"); p != co.end() && p->value().is_array()) {
      for (auto& port : p->value().as_array()) {
        if (port.is_object()) SetIfMissing(port.as_object(), "protocol", "TCP");
      }
    }
  }
}

void DefaultPodSpec(json::object& spec) {
  SetIfMissing(spec, "restartPolicy", "Always");
  SetIfMissing(spec, "terminationGracePeriodSeconds", 30);
  SetIfMissing(spec, "dnsPolicy", "ClusterFirst");
  SetIfMissing(spec, "securityContext", json::object());
  SetIfMissing(spec, "schedulerName", "default-scheduler");
  DefaultContainers(spec, "containers");
  DefaultContainers(spec, "initContainers");
  if (auto v = spec.find("volumes"); v != spec.end() && v->value().is_array()) {
    for (auto& vol : v->value().as_array()) {
      if (!vol.is_object()) continue;
      for (const char* src : {"configMap", "secret"}) {
        if (auto s = vol.as_object().find(src); s != vol.as_object().end() && s->value().is_object()) {
          SetIfMissing(s->value().as_object(), "defaultMode", 420);
        }
      }
    }
  }
}

void DefaultPod(json::object& o) {
  json::object& spec = Child(o, "spec");
  DefaultPodSpec(spec);
  SetIfMissing(spec, "serviceAccountName", "default");
  spec["serviceAccount"] = spec["serviceAccountName"];
  SetIfMissing(spec, "enableServiceLinks", true);
  SetIfMissing(spec, "preemptionPolicy", "PreemptLowerPriority");
  SetIfMissing(spec, "priority", 0);
  SetIfMissing(spec, "tolerations",
               json::array{json::object{{"key", "node.kubernetes.io/not-ready"}, {"operator", "Exists"},
                                        {"effect", "NoExecute"}, {"tolerationSeconds", 300}},
                           json::object{{"key", "node.kubernetes.io/unreachable"}, {"operator", "Exists"},
                                        {"effect", "NoExecute"}, {"tolerationSeconds", 300}}});
}

void DefaultTemplate(json::object& spec) {
  json::object& tmpl = Child(spec, "template");
  DefaultPodSpec(Child(tmpl, "spec"));
  SetIfMissing(spec, "revisionHistoryLimit", 10);
}

void DefaultDeployment(json::object& o) {
  json::object& spec = Child(o, "spec");
  SetIfMissing(spec, "replicas", 1);
  SetIfMissing(spec, "progressDeadlineSeconds", 600);
  SetIfMissing(spec, "strategy", json::object{{"type", "RollingUpdate"},
                                              {"rollingUpdate", json::object{{"maxUnavailable", "25%"},
                                                                             {"maxSurge", "25%"}}}});
  DefaultTemplate(spec);
}

void DefaultStatefulSet(json::object& o) {
  json::object& spec = Child(o, "spec");
  SetIfMissing(spec, "replicas", 1);
  SetIfMissing(spec, "podManagementPolicy", "OrderedReady");
  SetIfMissing(spec, "updateStrategy", json::object{{"type", "RollingUpdate"},
                                                    {"rollingUpdate", json::object{{"partition", 0}}}});
  SetIfMissing(spec, "persistentVolumeClaimRetentionPolicy",
               json::object{{"whenDeleted", "Retain"}, {"whenScaled", "Retain"}});
  DefaultTemplate(spec);
  if (auto t = spec.find("volumeClaimTemplates"); t != spec.end() && t->value().is_array()) {
    for (auto& pvc : t->value().as_array()) {
      if (!pvc.is_object()) continue;
      SetIfMissing(pvc.as_object(), "apiVersion", "v1");
      SetIfMissing(pvc.as_object(), "kind", "PersistentVolumeClaim");
      SetIfMissing(Child(pvc.as_object(), "spec"), "volumeMode", "Filesystem");
    }
  }
}

void DefaultDaemonSet(json::object& o) {
  json::object& spec = Child(o, "spec");
  SetIfMissing(spec, "updateStrategy",
               json::object{{"type", "RollingUpdate"},
                            {"rollingUpdate", json::object{{"maxUnavailable", 1}, {"maxSurge", 0}}}});
  DefaultTemplate(spec);
}

void DefaultJobSpec(json::object& spec, const std::string& uid, bool set_selector) {
  SetIfMissing(spec, "parallelism", 1);
  SetIfMissing(spec, "completions", 1);
  SetIfMissing(spec, "backoffLimit", 6);
  SetIfMissing(spec, "completionMode", "NonIndexed");
  SetIfMissing(spec, "suspend", false);
  SetIfMissing(spec, "podReplacementPolicy", "TerminatingOrFailed");
  json::object& tmpl = Child(spec, "template");
  json::object& pod_spec = Child(tmpl, "spec");
  DefaultPodSpec(pod_spec);
  bool manual = spec.contains("manualSelector") && spec.at("manualSelector") == true;
  if (set_selector && !manual && !uid.empty()) {
    // The API server generates the selector from the Job's uid (batch/v1 semantics).
    spec["selector"] = json::object{{"matchLabels", json::object{{"batch.kubernetes.io/controller-uid", uid}}}};
    json::object& labels = Child(Child(tmpl, "metadata"), "labels");
    labels["batch.kubernetes.io/controller-uid"] = uid;
    labels["controller-uid"] = uid;
  }
}

void DefaultService(json::object& o) {
  json::object& spec = Child(o, "spec");
  SetIfMissing(spec, "type", "ClusterIP");
  SetIfMissing(spec, "sessionAffinity", "None");
  if (spec.at("type") != "ExternalName") {
    SetIfMissing(spec, "ipFamilies", json::array{"IPv4"});
    SetIfMissing(spec, "ipFamilyPolicy", "SingleStack");
    SetIfMissing(spec, "internalTrafficPolicy", "Cluster");
  }
  if (spec.at("type") == "NodePort" || spec.at("type") == "LoadBalancer") {
    SetIfMissing(spec, "externalTrafficPolicy", "Cluster");
  }
  if (auto p = spec.find("ports"); p != spec.end() && p->value().is_array()) {
    for (auto& port : p->value().as_array()) {
      if (!port.is_object()) continue;
      auto& po = port.as_object();
      SetIfMissing(po, "protocol", "TCP");
      if (po.contains("port")) SetIfMissing(po, "targetPort", po.at("port"));
    }
  }
}

// stringData is write-only: merged into data (base64) as kube-apiserver does.
void MergeStringData(json::object& o) {
  auto it = o.find("stringData");
  if (it == o.end()) return;
  if (it->value().is_object()) {
    json::object& data = Child(o, "data");
    for (const auto& kv : it->value().as_object()) {
      if (kv.value().is_string()) data[kv.key()] = Base64Encode(kv.value().as_string());
    }
  }
  o.erase("stringData");
}

}  // namespace

std::string Base64Encode(std::string_view in) {
  static constexpr char kTable[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    uint32_t n = (static_cast<uint8_t>(in[i]) << 16) | (static_cast<uint8_t>(in[i + 1]) << 8) |
                 static_cast<uint8_t>(in[i + 2]);
    for (int s = 18; s >= 0; s -= 6) out.push_back(kTable[(n >> s) & 63]);
  }
  if (i < in.size()) {
    uint32_t n = static_cast<uint8_t>(in[i]) << 16;
    if (i + 1 < in.size()) n |= static_cast<uint8_t>(in[i + 1]) << 8;
    out.push_back(kTable[(n >> 18) & 63]);
    out.push_back(kTable[(n >> 12) & 63]);
    out.push_back(i + 1 < in.size() ? kTable[(n >> 6) & 63] : '=');
    out.push_back('=');
  }
  return out;
}

void ApplyDefaults(const ResourceType& type, boost::json::value& obj, bool creating) {
  if (!obj.is_object() || type.custom) return;
  json::object& o = obj.as_object();
  const std::string& g = type.group;
  const std::string& r = type.resource;
  if (g.empty()) {
    if (r == "pods") DefaultPod(o);
    else if (r == "services") DefaultService(o);
    else if (r == "secrets") {
      MergeStringData(o);
      SetIfMissing(o, "type", "Opaque");
    } else if (r == "persistentvolumeclaims") SetIfMissing(Child(o, "spec"), "volumeMode", "Filesystem");
    else if (r == "persistentvolumes") {
      json::object& spec = Child(o, "spec");
      SetIfMissing(spec, "volumeMode", "Filesystem");
      SetIfMissing(spec, "persistentVolumeReclaimPolicy", "Retain");
    } else if (r == "replicationcontrollers") {
      json::object& spec = Child(o, "spec");
      SetIfMissing(spec, "replicas", 1);
      DefaultPodSpec(Child(Child(spec, "template"), "spec"));
    } else if (r == "namespaces") {
      Child(Meta(obj), "labels")["kubernetes.io/metadata.name"] = MetaString(obj, "name");
    }
  } else if (g == "apps") {
    if (r == "deployments") DefaultDeployment(o);
    else if (r == "statefulsets") DefaultStatefulSet(o);
    else if (r == "daemonsets") DefaultDaemonSet(o);
    else if (r == "replicasets") {
      SetIfMissing(Child(o, "spec"), "replicas", 1);
      DefaultPodSpec(Child(Child(Child(o, "spec"), "template"), "spec"));
    }
  } else if (g == "batch") {
    if (r == "jobs") DefaultJobSpec(Child(o, "spec"), MetaString(obj, "uid"), creating);
    if (r == "cronjobs") {
      json::object& spec = Child(o, "spec");
      SetIfMissing(spec, "concurrencyPolicy", "Allow");
      SetIfMissing(spec, "suspend", false);
      SetIfMissing(spec, "successfulJobsHistoryLimit", 3);
      SetIfMissing(spec, "failedJobsHistoryLimit", 1);
      DefaultJobSpec(Child(Child(spec, "jobTemplate"), "spec"), "", false);
    }
  } else if (g == "storage.k8s.io" && r == "storageclasses") {
    SetIfMissing(o, "reclaimPolicy", "Delete");
    SetIfMissing(o, "volumeBindingMode", "Immediate");
  }
}

}  // namespace kubesim
