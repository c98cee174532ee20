// velero.io/service: a restored service gets fresh cluster IPs and, unless they were chosen by
// a user, fresh node ports (the old ones may be taken in the target cluster).

#include <set>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "lifeboat/common/json.h"
#include "src/restore/actions/actions.h"

namespace lifeboat::restore {

namespace json = boost::json;
using namespace actions_internal;

namespace {

constexpr char kLastApplied[] = "kubectl.kubernetes.io/last-applied-configuration";
constexpr char kAction[] = "velero.io/service";

Status Invalid(const std::string& what) {
  return absl::InvalidArgumentError(absl::StrCat(kAction, ": ", what));
}

// A port number as Velero reads it from unstructured JSON: a number (truncated) or a decimal
// string; anything else counts as 0.
StatusOr<int64_t> PortNumber(const json::value* v) {
  if (v == nullptr) return 0;
  if (v->is_int64()) return v->get_int64();
  if (v->is_uint64()) return static_cast<int64_t>(v->get_uint64());
  if (v->is_double()) return static_cast<int64_t>(v->get_double());
  if (v->is_string()) {
    int64_t n = 0;
    if (!absl::SimpleAtoi(absl::string_view(v->get_string().data(), v->get_string().size()), &n)) {
      return Invalid(absl::StrCat(kLastApplied, ": nodePort \"", std::string(v->get_string()),
                                  "\" is not a number"));
    }
    return n;
  }
  return 0;
}

// The annotation parsed, nullopt when absent. InvalidArgument when it is not a JSON object.
StatusOr<std::optional<json::value>> LastApplied(const json::object& svc) {
  const json::object* annotations = ObjectAt(ObjectAt(&svc, "metadata"), "annotations");
  const json::value* text =
      annotations != nullptr ? annotations->if_contains(kLastApplied) : nullptr;
  if (text == nullptr || !text->is_string()) return std::optional<json::value>();
  auto parsed = ParseJson(std::string_view(text->get_string()));
  if (!parsed.ok())
    return Invalid(absl::StrCat("annotation ", kLastApplied, ": ", parsed.status().message()));
  if (!parsed->is_object())
    return Invalid(absl::StrCat("annotation ", kLastApplied, " is not an object"));
  return std::optional<json::value>(std::move(*parsed));
}

// The fieldsV1 objects of metadata.managedFields. InvalidArgument when one is not an object.
StatusOr<std::vector<const json::object*>> ManagedFields(const json::object& svc) {
  std::vector<const json::object*> out;
  const json::object* meta = ObjectAt(&svc, "metadata");
  const json::value* entries = meta != nullptr ? meta->if_contains("managedFields") : nullptr;
  if (entries == nullptr || !entries->is_array()) return out;
  for (const json::value& e : entries->get_array()) {
    const json::value* f = e.is_object() ? e.get_object().if_contains("fieldsV1") : nullptr;
    if (f == nullptr || f->is_null()) continue;
    if (!f->is_object()) return Invalid("metadata.managedFields[].fieldsV1 is not an object");
    out.push_back(&f->get_object());
  }
  return out;
}

// fieldsV1["f:spec"][key] when present: nullptr when absent, InvalidArgument when f:spec is
// not an object (unstructured.NestedMap fails there too).
StatusOr<const json::value*> SpecField(const json::object& fields, std::string_view key) {
  const json::value* spec = fields.if_contains("f:spec");
  if (spec == nullptr) return nullptr;
  if (!spec->is_object()) return Invalid("managedFields: f:spec is not an object");
  return spec->get_object().if_contains(key);
}

// Node ports kept by the last-applied configuration: named ports by name, unnamed by value.
Status KeepLastAppliedNodePorts(const json::value& applied, json::array& ports) {
  std::set<std::string> names;
  std::set<int64_t> unnamed;
  const json::value* spec = applied.get_object().if_contains("spec");
  if (spec != nullptr && !spec->is_null() && !spec->is_object()) {
    return Invalid(absl::StrCat(kLastApplied, ": spec is not an object"));
  }
  const json::value* list =
      spec != nullptr && spec->is_object() ? spec->get_object().if_contains("ports") : nullptr;
  if (list != nullptr && !list->is_null() && !list->is_array()) {
    return Invalid(absl::StrCat(kLastApplied, ": spec.ports is not an array"));
  }
  if (list != nullptr && list->is_array()) {
    for (const json::value& p : list->get_array()) {
      if (!p.is_object()) continue;
      const json::value* node_port = p.get_object().if_contains("nodePort");
      if (node_port == nullptr) continue;
      LIFEBOAT_ASSIGN_OR_RETURN(int64_t n, PortNumber(node_port));
      if (n <= 0) continue;
      if (const json::value* name = p.get_object().if_contains("name"); name != nullptr) {
        if (name->is_string()) names.insert(std::string(name->get_string()));
      } else {
        unnamed.insert(n);
      }
    }
  }
  for (json::value& p : ports) {
    json::object* port = p.if_object();
    if (port == nullptr) continue;
    const std::string name = StringAt(port, "name");
    bool keep = false;
    if (!name.empty()) {
      keep = names.contains(name);
    } else {
      LIFEBOAT_ASSIGN_OR_RETURN(int64_t n, PortNumber(port->if_contains("nodePort")));
      keep = unnamed.contains(n);
    }
    if (!keep) port->erase("nodePort");
  }
  return absl::OkStatus();
}

// Node ports kept because a manager owns them:
// f:spec/f:ports/k:{"port":P,"protocol":"T"}/f:nodePort.
Status KeepManagedNodePorts(const json::object& svc, json::array& ports) {
  std::set<std::string> owned;
  LIFEBOAT_ASSIGN_OR_RETURN(auto entries, ManagedFields(svc));
  for (const json::object* fields : entries) {
    LIFEBOAT_ASSIGN_OR_RETURN(const json::value* f_ports, SpecField(*fields, "f:ports"));
    if (f_ports == nullptr) continue;
    if (!f_ports->is_object()) return Invalid("managedFields: f:spec.f:ports is not an object");
    for (const auto& kv : f_ports->get_object()) {
      if (kv.value().is_object() && kv.value().get_object().contains("f:nodePort")) {
        owned.insert(std::string(kv.key()));
      }
    }
  }
  for (json::value& p : ports) {
    json::object* port = p.if_object();
    if (port == nullptr) continue;
    LIFEBOAT_ASSIGN_OR_RETURN(int64_t number, PortNumber(port->if_contains("port")));
    const std::string key =
        absl::StrCat("k:{\"port\":", number, ",\"protocol\":\"", StringAt(port, "protocol"), "\"}");
    if (!owned.contains(key)) port->erase("nodePort");
  }
  return absl::OkStatus();
}

Status DeleteNodePorts(json::object& svc, const std::optional<json::value>& applied) {
  json::object* spec = ObjectAt(&svc, "spec");
  if (spec == nullptr || StringAt(spec, "type") == "ExternalName") return absl::OkStatus();
  LIFEBOAT_ASSIGN_OR_RETURN(json::array * ports,
                            OptionalArray(spec, "ports", kAction, "spec.ports"));
  if (ports == nullptr) return absl::OkStatus();
  // When the annotation exists it alone decides (Velero does not look at managedFields then).
  if (applied.has_value()) return KeepLastAppliedNodePorts(*applied, *ports);
  return KeepManagedNodePorts(svc, *ports);
}

Status DeleteHealthCheckNodePort(json::object& svc, const std::optional<json::value>& applied) {
  json::object* spec = ObjectAt(&svc, "spec");
  if (spec == nullptr || StringAt(spec, "type") != "LoadBalancer" ||
      StringAt(spec, "externalTrafficPolicy") != "Local") {
    return absl::OkStatus();
  }
  LIFEBOAT_ASSIGN_OR_RETURN(int64_t current, PortNumber(spec->if_contains("healthCheckNodePort")));
  if (current == 0) return absl::OkStatus();
  if (applied.has_value()) {
    const json::value* v = JsonFind(*applied, {"spec", "healthCheckNodePort"});
    if (v != nullptr && !v->is_null()) {
      if (!v->is_number())
        return Invalid(absl::StrCat(kLastApplied, ": spec.healthCheckNodePort is not a number"));
      LIFEBOAT_ASSIGN_OR_RETURN(int64_t n, PortNumber(v));
      if (n != 0) return absl::OkStatus();
    }
  }
  LIFEBOAT_ASSIGN_OR_RETURN(auto entries, ManagedFields(svc));
  for (const json::object* fields : entries) {
    LIFEBOAT_ASSIGN_OR_RETURN(const json::value* owned,
                              SpecField(*fields, "f:healthCheckNodePort"));
    if (owned != nullptr) return absl::OkStatus();
  }
  spec->erase("healthCheckNodePort");
  return absl::OkStatus();
}

}  // namespace

plugin::ResourceSelector ServiceAction::AppliesTo() const { return Resources({"services"}); }

StatusOr<plugin::RestoreItemActionOutput> ServiceAction::Execute(
    plugin::RestoreItemActionInput input) {
  LIFEBOAT_ASSIGN_OR_RETURN(json::object * svc, ItemObject(input.item, Name()));
  if (json::object* spec = ObjectAt(svc, "spec");
      spec != nullptr && StringAt(spec, "clusterIP") != "None") {
    spec->erase("clusterIP");
    spec->erase("clusterIPs");
  }
  const plugin::RestoreContext* context = input.context;
  const bool preserve = context != nullptr && context->restore != nullptr &&
                        context->restore->spec.preserve_node_ports.value_or(false);
  // ExternalName services have no node ports (and Velero does not read the annotation then).
  if (!preserve && StringAt(ObjectAt(svc, "spec"), "type") != "ExternalName") {
    LIFEBOAT_ASSIGN_OR_RETURN(std::optional<json::value> applied, LastApplied(*svc));
    LIFEBOAT_RETURN_IF_ERROR(DeleteNodePorts(*svc, applied));
    LIFEBOAT_RETURN_IF_ERROR(DeleteHealthCheckNodePort(*svc, applied));
  }
  return Unchanged(std::move(input.item));
}

}  // namespace lifeboat::restore
