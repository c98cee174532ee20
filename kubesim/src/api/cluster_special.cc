// Kind-specific API behaviour: version conversion, generation, service address allocation,
// namespaces, CRDs, pods/binding, the scale subresource, and continue tokens.

#include <arpa/inet.h>

#include <set>

#include "kubesim/src/api/cluster.h"
#include "kubesim/src/api/crd_schema.h"
#include "kubesim/src/api/cluster_internal.h"
#include "kubesim/src/api/object_util.h"

namespace kubesim {
namespace {

namespace json = boost::json;

json::object& Child(json::object& o, std::string_view key) {
  auto& v = o[key];
  if (!v.is_object()) v = json::object();
  return v.as_object();
}

const json::value* At(const json::value& v, std::initializer_list<std::string_view> path) {
  const json::value* cur = &v;
  for (auto k : path) {
    if (!cur->is_object()) return nullptr;
    auto it = cur->as_object().find(k);
    if (it == cur->as_object().end()) return nullptr;
    cur = &it->value();
  }
  return cur;
}

// autoscaling/v1 <-> v2 HorizontalPodAutoscaler: only the CPU utilization target maps.
json::value HpaToV1(json::value obj) {
  json::object& o = obj.as_object();
  o["apiVersion"] = "autoscaling/v1";
  json::object& spec = Child(o, "spec");
  if (auto m = spec.find("metrics"); m != spec.end() && m->value().is_array()) {
    for (const auto& metric : m->value().as_array()) {
      const json::value* util = At(metric, {"resource", "target", "averageUtilization"});
      const json::value* name = At(metric, {"resource", "name"});
      if (util && name && *name == "cpu") spec["targetCPUUtilizationPercentage"] = *util;
    }
    spec.erase("metrics");
  }
  spec.erase("behavior");
  if (auto st = o.find("status"); st != o.end() && st->value().is_object()) {
    json::object& status = st->value().as_object();
    if (auto cm = status.find("currentMetrics"); cm != status.end() && cm->value().is_array()) {
      for (const auto& metric : cm->value().as_array()) {
        if (const json::value* u = At(metric, {"resource", "current", "averageUtilization"})) {
          status["currentCPUUtilizationPercentage"] = *u;
        }
      }
    }
    status.erase("currentMetrics");
    status.erase("conditions");
  }
  return obj;
}

json::value HpaToV2(json::value obj) {
  json::object& o = obj.as_object();
  o["apiVersion"] = "autoscaling/v2";
  json::object& spec = Child(o, "spec");
  if (auto t = spec.find("targetCPUUtilizationPercentage"); t != spec.end()) {
    spec["metrics"] = json::array{json::object{
        {"type", "Resource"},
        {"resource", json::object{{"name", "cpu"},
                                  {"target", json::object{{"type", "Utilization"}, {"averageUtilization", t->value()}}}}}}};
    spec.erase("targetCPUUtilizationPercentage");
  }
  if (auto st = o.find("status"); st != o.end() && st->value().is_object()) {
    json::object& status = st->value().as_object();
    if (auto c = status.find("currentCPUUtilizationPercentage"); c != status.end()) {
      status["currentMetrics"] = json::array{json::object{
          {"type", "Resource"},
          {"resource", json::object{{"name", "cpu"}, {"current", json::object{{"averageUtilization", c->value()}}}}}}};
      status.erase("currentCPUUtilizationPercentage");
    }
  }
  return obj;
}

uint32_t ParseIpv4(const std::string& s, bool& ok) {
  in_addr a{};
  ok = inet_pton(AF_INET, s.c_str(), &a) == 1;
  return ok ? ntohl(a.s_addr) : 0;
}

std::string FormatIpv4(uint32_t ip) {
  in_addr a{};
  a.s_addr = htonl(ip);
  char buf[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, &a, buf, sizeof(buf));
  return buf;
}

std::string Base64UrlEncode(std::string_view in) {
  static constexpr char kTable[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  uint32_t buf = 0;
  int bits = 0;
  for (unsigned char c : in) {
    buf = (buf << 8) | c;
    bits += 8;
    while (bits >= 6) {
      out.push_back(kTable[(buf >> (bits - 6)) & 63]);
      bits -= 6;
    }
  }
  if (bits > 0) out.push_back(kTable[(buf << (6 - bits)) & 63]);
  return out;
}

bool Base64UrlDecode(std::string_view in, std::string& out) {
  uint32_t buf = 0;
  int bits = 0;
  for (char c : in) {
    int v;
    if (c >= 'A' && c <= 'Z') v = c - 'A';
    else if (c >= 'a' && c <= 'z') v = c - 'a' + 26;
    else if (c >= '0' && c <= '9') v = c - '0' + 52;
    else if (c == '-' || c == '+') v = 62;
    else if (c == '_' || c == '/') v = 63;
    else if (c == '=') break;
    else return false;
    buf = (buf << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      out.push_back(static_cast<char>((buf >> (bits - 8)) & 0xff));
      bits -= 8;
    }
  }
  return true;
}

}  // namespace

StatusOr<json::value> ConvertTo(const ResourceType& to, json::value obj) {
  if (!obj.is_object()) return obj;
  json::object& o = obj.as_object();
  auto api = o.find("apiVersion");
  std::string from = api != o.end() && api->value().is_string() ? std::string(api->value().as_string()) : "";
  if (from == to.ApiVersion()) return obj;
  if (to.group == "autoscaling" && to.resource == "horizontalpodautoscalers") {
    return to.version == "v1" ? HpaToV1(std::move(obj)) : HpaToV2(std::move(obj));
  }
  // Custom resources (conversion strategy None) and same-schema versions.
  o["apiVersion"] = to.ApiVersion();
  NormalizeKeyOrder(obj);
  return obj;
}

bool SpecChanged(const json::value& a, const json::value& b, bool ignore_status) {
  if (!a.is_object() || !b.is_object()) return a != b;
  auto strip = [&](const json::object& o) {
    json::object c = o;
    c.erase("metadata");
    c.erase("apiVersion");
    c.erase("kind");
    if (ignore_status) c.erase("status");
    return c;
  };
  return strip(a.as_object()) != strip(b.as_object());
}

namespace {

ServiceAddresses::Held AddressesOf(const json::value& svc) {
  ServiceAddresses::Held h;
  if (const json::value* ip = At(svc, {"spec", "clusterIP"}); ip && ip->is_string()) {
    bool ok;
    uint32_t v = ParseIpv4(std::string(ip->as_string()), ok);
    if (ok) h.ip = v;
  }
  if (const json::value* ports = At(svc, {"spec", "ports"}); ports && ports->is_array()) {
    for (const auto& p : ports->as_array()) {
      if (const json::value* np = At(p, {"nodePort"}); np && np->is_int64()) h.ports.push_back(np->as_int64());
    }
  }
  return h;
}

void Forget(ServiceAddresses& index, const std::string& uid) {
  auto it = index.by_uid.find(uid);
  if (it == index.by_uid.end()) return;
  auto drop = [](auto& counts, auto key) {
    if (auto c = counts.find(key); c != counts.end() && --c->second <= 0) counts.erase(c);
  };
  if (it->second.ip != 0) drop(index.ips, it->second.ip);
  for (int64_t p : it->second.ports) drop(index.ports, p);
  index.by_uid.erase(it);
}

void Remember(ServiceAddresses& index, const std::string& uid, ServiceAddresses::Held h) {
  Forget(index, uid);
  if (h.ip != 0) ++index.ips[h.ip];
  for (int64_t p : h.ports) ++index.ports[p];
  index.by_uid[uid] = std::move(h);
}

// Brings the index up to the store's current state: the service events since it was last
// brought up to date, or a full scan when they have left the store's window.
void SyncServiceAddresses(Store& store, ServiceAddresses& index) {
  if (index.rv >= 0) {
    for (;;) {
      auto events = store.EventsSince(index.rv, 4096);
      if (!events.ok()) break;  // out of the window: rebuild below
      for (const StoreEvent& e : *events) {
        index.rv = e.rv;
        if (e.object == nullptr || e.object->gr != "services") continue;
        const std::string uid = MetaString(e.object->object, "uid");
        if (e.type == EventType::kDeleted) {
          Forget(index, uid);
        } else {
          Remember(index, uid, AddressesOf(e.object->object));
        }
      }
      if (events->size() < 4096) return;
    }
  }
  index = ServiceAddresses{};
  index.rv = store.revision();  // events after this one are applied again next time (idempotent)
  store.List("services", "", true, "", 0, [&](const StoredObject& s) {
    Remember(index, MetaString(s.object, "uid"), AddressesOf(s.object));
    return false;
  });
}

}  // namespace

Status AllocateServiceAddresses(Cluster& c, std::mutex& mu, ServiceAddresses& index,
                                const Cluster::Options& options, const json::value* old_obj,
                                json::value& obj) {
  std::lock_guard<std::mutex> lock(mu);
  SyncServiceAddresses(c.store(), index);
  // What the other services hold: this service's own addresses (on update) do not count.
  const std::string self_uid = MetaString(obj, "uid");
  const ServiceAddresses::Held* self = nullptr;
  if (auto it = index.by_uid.find(self_uid); it != index.by_uid.end()) self = &it->second;
  auto ip_used = [&](uint32_t v) {
    auto it = index.ips.find(v);
    int n = it == index.ips.end() ? 0 : it->second;
    if (self != nullptr && self->ip == v) --n;
    return n > 0;
  };
  std::set<int64_t> used_ports;
  auto port_used = [&](int64_t v) {
    if (used_ports.count(v)) return true;  // taken by another port of this very service
    auto it = index.ports.find(v);
    int n = it == index.ports.end() ? 0 : it->second;
    if (self != nullptr) n -= static_cast<int>(std::count(self->ports.begin(), self->ports.end(), v));
    return n > 0;
  };
  json::object& spec = Child(obj.as_object(), "spec");
  const std::string type = spec.contains("type") && spec.at("type").is_string() ? std::string(spec.at("type").as_string()) : "ClusterIP";
  std::string cidr = options.service_cidr;
  size_t slash = cidr.find('/');
  bool ok = false;
  uint32_t base = ParseIpv4(cidr.substr(0, slash), ok);
  int prefix = slash == std::string::npos ? 24 : std::stoi(cidr.substr(slash + 1));
  uint32_t size = prefix >= 32 ? 1u : (1u << (32 - prefix));
  std::string name = MetaString(obj, "name");
  if (type != "ExternalName") {
    std::string ip = spec.contains("clusterIP") && spec.at("clusterIP").is_string() ? std::string(spec.at("clusterIP").as_string()) : "";
    if (old_obj != nullptr && ip.empty()) {
      if (const json::value* old_ip = At(*old_obj, {"spec", "clusterIP"})) ip = old_ip->is_string() ? std::string(old_ip->as_string()) : "";
    }
    if (ip.empty()) {
      // Offsets 2 .. size-2, searched from where the last search ended, wrapping once.
      const uint32_t span = size > 3 ? size - 3 : 0;
      uint32_t start = index.next_offset >= 2 && index.next_offset + 1 < size ? index.next_offset : 2;
      for (uint32_t i = 0; i < span; ++i) {
        uint32_t off = 2 + (start - 2 + i) % span;
        if (!ip_used(base + off)) {
          ip = FormatIpv4(base + off);
          index.next_offset = off + 1;
          break;
        }
      }
      if (ip.empty()) return InternalError("failed to allocate a serviceIP: range is full");
    } else if (ip != "None") {
      bool valid = false;
      uint32_t v = ParseIpv4(ip, valid);
      if (!valid || v < base || v >= base + size) {
        return InvalidError("", "Service", name, {FieldCause{"FieldValueInvalid",
            "Invalid value: \"" + ip + "\": failed to allocate IP " + ip + ": the provided IP (" + ip +
                ") is not in the valid range. The range of valid IPs is " + options.service_cidr, "spec.clusterIPs"}});
      }
      if (ip_used(v)) {
        return InvalidError("", "Service", name, {FieldCause{"FieldValueInvalid",
            "Invalid value: []string{\"" + ip + "\"}: failed to allocate IP " + ip + ": provided IP is already allocated", "spec.clusterIPs"}});
      }
    }
    spec["clusterIP"] = ip;
    spec["clusterIPs"] = json::array{json::value(ip)};
  }
  if (type == "NodePort" || type == "LoadBalancer") {
    auto pit = spec.find("ports");
    if (pit != spec.end() && pit->value().is_array()) {
      int64_t next = options.node_port_min;
      size_t i = 0;
      for (auto& p : pit->value().as_array()) {
        if (!p.is_object()) continue;
        auto& po = p.as_object();
        if (auto np = po.find("nodePort"); np != po.end() && np->value().is_int64()) {
          int64_t v = np->value().as_int64();
          std::string field = "spec.ports[" + std::to_string(i) + "].nodePort";
          if (v < options.node_port_min || v > options.node_port_max) {
            return InvalidError("", "Service", name, {FieldCause{"FieldValueInvalid",
                "Invalid value: " + std::to_string(v) + ": provided port is not in the valid range. The range of valid ports is " +
                    std::to_string(options.node_port_min) + "-" + std::to_string(options.node_port_max), field}});
          }
          if (port_used(v)) {
            return InvalidError("", "Service", name, {FieldCause{"FieldValueInvalid",
                "Invalid value: " + std::to_string(v) + ": provided port is already allocated", field}});
          }
          used_ports.insert(v);
        } else {
          while (next <= options.node_port_max && port_used(next)) ++next;
          if (next > options.node_port_max) return InternalError("failed to allocate a nodePort: range is full");
          po["nodePort"] = next;
          used_ports.insert(next);
        }
        ++i;
      }
    }
  }
  return absl::OkStatus();
}

Status Hooks::BeforeCreate(Cluster& c, const ResourceType& type, json::value& obj) {
  json::object& o = obj.as_object();
  if (type.group.empty()) {
    if (type.resource == "namespaces") {
      Child(o, "spec")["finalizers"] = json::array{"kubernetes"};
      Child(o, "status")["phase"] = "Active";
    } else if (type.resource == "services") {
      return AllocateServiceAddresses(c, c.impl_->alloc_mu, c.impl_->addresses, c.impl_->options,
                                      nullptr, obj);
    } else if (type.resource == "pods") {
      json::object& status = Child(o, "status");
      status["phase"] = "Pending";
      status["qosClass"] = "BestEffort";
    } else if (type.resource == "persistentvolumeclaims") {
      json::object& spec = Child(o, "spec");
      if (!spec.contains("storageClassName")) {
        // The DefaultStorageClass admission plugin.
        std::string def;
        c.store().List("storageclasses.storage.k8s.io", "", true, "", 0, [&](const StoredObject& sc) {
          const json::value* a = At(sc.object, {"metadata", "annotations", "storageclass.kubernetes.io/is-default-class"});
          if (a && *a == "true" && def.empty()) def = sc.name;
          return false;
        });
        if (!def.empty()) spec["storageClassName"] = def;
      }
      Child(o, "status")["phase"] = "Pending";
    } else if (type.resource == "persistentvolumes") {
      if (!o.contains("status")) Child(o, "status")["phase"] = "Pending";
    }
  } else if (type.group == "apiextensions.k8s.io" && type.resource == "customresourcedefinitions") {
    return PrepareCrd(obj);
  }
  return absl::OkStatus();
}

Status Hooks::BeforeUpdate(Cluster& c, const ResourceType& type, const json::value& old_obj,
                           json::value& obj) {
  if (type.group.empty() && type.resource == "services") {
    const json::value* old_ip = At(old_obj, {"spec", "clusterIP"});
    const json::value* new_ip = At(obj, {"spec", "clusterIP"});
    if (old_ip && new_ip && *new_ip != "" && *old_ip != *new_ip) {
      return InvalidError("", "Service", MetaString(obj, "name"),
                          {FieldCause{"FieldValueInvalid", "Invalid value: \"" + std::string(new_ip->is_string() ? new_ip->as_string() : "") +
                                                               "\": field is immutable", "spec.clusterIPs[0]"}});
    }
    return AllocateServiceAddresses(c, c.impl_->alloc_mu, c.impl_->addresses, c.impl_->options,
                                    &old_obj, obj);
  }
  if (type.group.empty() && type.resource == "pods") {
    const json::value* old_node = At(old_obj, {"spec", "nodeName"});
    const json::value* new_node = At(obj, {"spec", "nodeName"});
    if (old_node && *old_node != "" && (!new_node || *new_node != *old_node)) {
      return InvalidError("", "Pod", MetaString(obj, "name"),
                          {FieldCause{"FieldValueForbidden", "Forbidden: pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)", "spec"}});
    }
  }
  if (type.group == "apiextensions.k8s.io" && type.resource == "customresourcedefinitions") {
    return PrepareCrd(obj);
  }
  return absl::OkStatus();
}

Status PrepareCrd(json::value& crd) {
  auto types = TypesFromCrd(crd);
  std::string name = MetaString(crd, "name");
  if (!types.ok()) {
    return InvalidError("apiextensions.k8s.io", "CustomResourceDefinition", name,
                        {FieldCause{"FieldValueInvalid", std::string(types.status().message()), "spec"}});
  }
  std::vector<FieldCause> causes;
  if (types->empty()) causes.push_back({"FieldValueRequired", "Required value: must have exactly one version marked as storage version", "spec.versions"});
  // apiextensions.k8s.io/v1 requires a structural schema for every version.
  if (const json::value* versions = At(crd, {"spec", "versions"}); versions != nullptr && versions->is_array()) {
    const json::array& vs = versions->as_array();
    for (size_t i = 0; i < vs.size(); ++i) {
      const json::value* schema = At(vs[i], {"schema", "openAPIV3Schema"});
      std::vector<FieldCause> c = ValidateStructuralSchema(schema != nullptr ? *schema : json::value(),
                                                           "spec.versions[" + std::to_string(i) + "].schema.openAPIV3Schema");
      causes.insert(causes.end(), c.begin(), c.end());
    }
  }
  int storage = 0;
  for (const auto& t : *types) storage += t.type.storage ? 1 : 0;
  if (!types->empty() && storage != 1) causes.push_back({"FieldValueInvalid", "Invalid value: must have exactly one version marked as storage version", "spec.versions"});
  if (!types->empty()) {
    const ResourceType& t = types->front().type;
    if (t.resource.empty() || t.kind.empty() || t.group.empty()) {
      causes.push_back({"FieldValueRequired", "Required value", "spec.names"});
    } else if (name != t.resource + "." + t.group) {
      causes.push_back({"FieldValueInvalid", "Invalid value: \"" + name + "\": must be spec.names.plural+\".\"+spec.group", "metadata.name"});
    }
  }
  if (!causes.empty()) return InvalidError("apiextensions.k8s.io", "CustomResourceDefinition", name, causes);
  json::object& o = crd.as_object();
  json::object& spec = Child(o, "spec");
  json::object& status = Child(o, "status");
  status["acceptedNames"] = spec["names"];
  json::array stored;
  for (const auto& t : *types) {
    if (t.type.storage) stored.emplace_back(t.type.version);
  }
  status["storedVersions"] = std::move(stored);
  std::string now = NowRfc3339();
  status["conditions"] = json::array{
      json::object{{"type", "NamesAccepted"}, {"status", "True"}, {"lastTransitionTime", now},
                   {"reason", "NoConflicts"}, {"message", "no conflicts found"}},
      json::object{{"type", "Established"}, {"status", "True"}, {"lastTransitionTime", now},
                   {"reason", "InitialNamesAccepted"}, {"message", "the initial names have been accepted"}}};
  return absl::OkStatus();
}

void RegisterCrd(Registry& registry, const json::value& crd) {
  auto types = TypesFromCrd(crd);
  std::string name = MetaString(crd, "name");
  if (!types.ok() || !MetaString(crd, "deletionTimestamp").empty()) {
    if (!types.ok()) registry.RemoveCustom(name);
    return;
  }
  registry.SetCustom(name, std::move(*types));
}

StatusOr<json::value> Cluster::BindPod(const std::string& ns, const json::value& binding,
                                       const WriteOptions& options) {
  const json::value* node = At(binding, {"target", "name"});
  std::string pod = MetaString(binding, "name");
  if (node == nullptr || !node->is_string() || node->as_string().empty() || pod.empty()) {
    return InvalidError("", "Binding", pod, {FieldCause{"FieldValueRequired", "Required value", "target.name"}});
  }
  auto stored = store_->Mutate(
      "pods", ns, pod,
      [&](const StoredObject* current, int64_t) -> StatusOr<Mutation> {
        if (current == nullptr) return NotFoundError({"", "pods"}, pod);
        if (const json::value* cur = At(current->object, {"spec", "nodeName"}); cur && *cur != "") {
          return ConflictError({"", "pods"}, pod,
                               "pod " + pod + " is already assigned to node \"" +
                                   std::string(cur->is_string() ? cur->as_string() : "") + "\"");
        }
        json::value obj = current->object;
        Child(obj.as_object(), "spec")["nodeName"] = *node;
        json::object& status = Child(obj.as_object(), "status");
        json::array conds;
        conds.push_back(json::object{{"type", "PodScheduled"}, {"status", "True"}, {"lastProbeTime", nullptr},
                                     {"lastTransitionTime", NowRfc3339()}});
        status["conditions"] = std::move(conds);
        return Mutation{Mutation::Op::kPut, std::move(obj)};
      },
      options.dry_run);
  if (!stored.ok()) return stored.status();
  return json::value(json::object{{"kind", "Status"}, {"apiVersion", "v1"}, {"metadata", json::object()},
                                  {"status", "Success"}, {"code", 201}});
}

StatusOr<json::value> Cluster::GetSubresource(const ResourceType& type, const std::string& ns,
                                              const std::string& name, const std::string& subresource) {
  if (subresource == "scale") return GetScale(type, ns, name);
  if (subresource == "status" && type.HasSubresource("status")) return Get(type, ns, name);
  return MethodNotSupportedError(GrOf(type), "get");
}

StatusOr<json::value> Cluster::GetScale(const ResourceType& type, const std::string& ns,
                                        const std::string& name) {
  if (!type.HasSubresource("scale")) return NotFoundError(GrOf(type), name);
  LIFEBOAT_ASSIGN_OR_RETURN(json::value obj, Get(type, ns, name));
  const json::object* meta = MetaIfAny(obj);
  json::object smeta;
  for (const char* k : {"name", "namespace", "uid", "resourceVersion", "creationTimestamp"}) {
    if (meta && meta->contains(k)) smeta[k] = meta->at(k);
  }
  const json::value* replicas = At(obj, {"spec", "replicas"});
  const json::value* cur = At(obj, {"status", "replicas"});
  std::string selector;
  if (const json::value* ml = At(obj, {"spec", "selector", "matchLabels"}); ml && ml->is_object()) {
    for (const auto& kv : ml->as_object()) {
      if (!selector.empty()) selector += ",";
      selector += std::string(kv.key()) + "=" + (kv.value().is_string() ? std::string(kv.value().as_string()) : "");
    }
  } else if (const json::value* sel = At(obj, {"spec", "selector"}); sel && sel->is_object()) {
    for (const auto& kv : sel->as_object()) {
      if (!kv.value().is_string()) continue;
      if (!selector.empty()) selector += ",";
      selector += std::string(kv.key()) + "=" + std::string(kv.value().as_string());
    }
  }
  json::object status{{"replicas", cur ? *cur : json::value(0)}};
  if (!selector.empty()) status["selector"] = selector;
  return json::value(json::object{{"kind", "Scale"}, {"apiVersion", "autoscaling/v1"}, {"metadata", std::move(smeta)},
                                  {"spec", json::object{{"replicas", replicas ? *replicas : json::value(0)}}},
                                  {"status", std::move(status)}});
}

StatusOr<json::value> Cluster::UpdateScale(const ResourceType& type, const std::string& ns,
                                           const std::string& name, json::value scale,
                                           const WriteOptions& options) {
  if (!type.HasSubresource("scale")) return NotFoundError(GrOf(type), name);
  const json::value* replicas = At(scale, {"spec", "replicas"});
  if (replicas == nullptr || !replicas->is_int64() || replicas->as_int64() < 0) {
    return InvalidError("autoscaling", "Scale", name,
                        {FieldCause{"FieldValueInvalid", "Invalid value: must be greater than or equal to 0", "spec.replicas"}});
  }
  // Read-modify-write of the current object (retried on races with controllers); a
  // resourceVersion in the Scale makes it conditional, as kube-apiserver's scale update.
  json::value patch = json::object{{"spec", json::object{{"replicas", *replicas}}}};
  if (std::string rv = MetaString(scale, "resourceVersion"); !rv.empty()) {
    patch.as_object()["metadata"] = json::object{{"resourceVersion", json::string(rv)}};
  }
  LIFEBOAT_RETURN_IF_ERROR(Patch(type, ns, name, PatchType::kMerge, patch, PatchOptions{options, false}).status());
  return GetScale(type, ns, name);
}

std::string EncodeContinue(int64_t rv, const std::string& key) {
  json::object o{{"v", "meta.k8s.io/v1"}, {"rv", rv}, {"start", key + std::string(1, '\0')}};
  return Base64UrlEncode(json::serialize(o));
}

Status DecodeContinue(const std::string& token, int64_t& rv, std::string& key) {
  std::string raw;
  auto bad = [&]() { return BadRequestError("continue key is not valid: " + token.substr(0, 64)); };
  if (!Base64UrlDecode(token, raw)) return bad();
  boost::system::error_code ec;
  json::value v = json::parse(raw, ec);
  if (ec || !v.is_object()) return bad();
  const json::object& o = v.as_object();
  auto r = o.find("rv");
  auto s = o.find("start");
  if (r == o.end() || !r->value().is_int64() || s == o.end() || !s->value().is_string() ||
      o.find("v") == o.end() || o.at("v") != "meta.k8s.io/v1") {
    return bad();
  }
  rv = r->value().as_int64();
  key = std::string(s->value().as_string());
  if (!key.empty() && key.back() == '\0') key.pop_back();
  if (key.find('/') == std::string::npos) return bad();
  return absl::OkStatus();
}

}  // namespace kubesim
