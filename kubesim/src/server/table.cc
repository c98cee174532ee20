#include "kubesim/src/server/table.h"

#include <chrono>
#include <cstdio>
#include <ctime>
#include <functional>
#include <map>

#include "kubesim/src/api/object_util.h"

// The columns kube-apiserver prints for the kinds people look at (pkg/printers/internalversion
// in Kubernetes), so that `kubectl get` against kubesim reads like it does against a cluster.
// Kinds without a printer get kube's default table (Name, Created At); custom resources get
// their CRD's additionalPrinterColumns (simple JSONPaths) or Age.

namespace kubesim {
namespace json = boost::json;
namespace {

using Cells = json::array;
using Printer = std::function<Cells(const json::value&)>;

struct Column {
  const char* name;
  const char* type;
  int priority;
  const char* format;
};

struct KindPrinter {
  std::vector<Column> columns;
  Printer print;
};

const json::value* At(const json::value& v, std::initializer_list<std::string_view> path) {
  const json::value* cur = &v;
  for (std::string_view k : path) {
    const json::object* o = cur->if_object();
    if (!o) return nullptr;
    auto it = o->find(k);
    if (it == o->end()) return nullptr;
    cur = &it->value();
  }
  return cur;
}

std::string Str(const json::value& v, std::initializer_list<std::string_view> path, std::string fallback = "") {
  const json::value* x = At(v, path);
  if (!x) return fallback;
  if (x->is_string()) return std::string(x->as_string());
  if (x->is_int64()) return std::to_string(x->as_int64());
  if (x->is_uint64()) return std::to_string(x->as_uint64());
  if (x->is_bool()) return x->as_bool() ? "true" : "false";
  if (x->is_double()) return json::serialize(*x);
  return fallback;
}

int64_t Int(const json::value& v, std::initializer_list<std::string_view> path) {
  const json::value* x = At(v, path);
  if (!x) return 0;
  if (x->is_int64()) return x->as_int64();
  if (x->is_uint64()) return static_cast<int64_t>(x->as_uint64());
  return 0;
}

const json::array* Arr(const json::value& v, std::initializer_list<std::string_view> path) {
  const json::value* x = At(v, path);
  return x ? x->if_array() : nullptr;
}

// Seconds since an RFC 3339 UTC timestamp, or -1 when it does not parse.
int64_t SecondsSince(const std::string& ts) {
  std::tm tm{};
  if (strptime(ts.c_str(), "%Y-%m-%dT%H:%M:%S", &tm) == nullptr) return -1;
  time_t t = timegm(&tm);
  return static_cast<int64_t>(std::time(nullptr) - t);
}

// k8s.io/apimachinery/pkg/util/duration.HumanDuration.
std::string HumanDuration(int64_t s) {
  char buf[32];
  if (s < -1) return "<invalid>";
  if (s < 0) return "0s";
  if (s < 120) {
    std::snprintf(buf, sizeof buf, "%llds", static_cast<long long>(s));
    return buf;
  }
  int64_t m = s / 60, h = s / 3600, d = h / 24;
  if (m < 10) {
    if (s % 60 == 0) std::snprintf(buf, sizeof buf, "%lldm", static_cast<long long>(m));
    else std::snprintf(buf, sizeof buf, "%lldm%llds", static_cast<long long>(m), static_cast<long long>(s % 60));
  } else if (m < 180) {
    std::snprintf(buf, sizeof buf, "%lldm", static_cast<long long>(m));
  } else if (h < 8) {
    if (m % 60 == 0) std::snprintf(buf, sizeof buf, "%lldh", static_cast<long long>(h));
    else std::snprintf(buf, sizeof buf, "%lldh%lldm", static_cast<long long>(h), static_cast<long long>(m % 60));
  } else if (h < 48) {
    std::snprintf(buf, sizeof buf, "%lldh", static_cast<long long>(h));
  } else if (h < 24 * 8) {
    if (h % 24 == 0) std::snprintf(buf, sizeof buf, "%lldd", static_cast<long long>(d));
    else std::snprintf(buf, sizeof buf, "%lldd%lldh", static_cast<long long>(d), static_cast<long long>(h % 24));
  } else if (h < 24 * 365 * 2) {
    std::snprintf(buf, sizeof buf, "%lldd", static_cast<long long>(d));
  } else if (h < 24 * 365 * 8) {
    int64_t y = d / 365;
    if (d % 365 == 0) std::snprintf(buf, sizeof buf, "%lldy", static_cast<long long>(y));
    else std::snprintf(buf, sizeof buf, "%lldy%lldd", static_cast<long long>(y), static_cast<long long>(d % 365));
  } else {
    std::snprintf(buf, sizeof buf, "%lldy", static_cast<long long>(d / 365));
  }
  return buf;
}

std::string Age(const json::value& o) {
  std::string ts = Str(o, {"metadata", "creationTimestamp"});
  return ts.empty() ? "<unknown>" : HumanDuration(SecondsSince(ts));
}

std::string Name(const json::value& o) { return Str(o, {"metadata", "name"}); }
std::string I(int64_t v) { return std::to_string(v); }
std::string OrNone(std::string s) { return s.empty() ? "<none>" : s; }

std::string Join(const std::vector<std::string>& parts, const char* sep = ",") {
  std::string out;
  for (const auto& p : parts) {
    if (!out.empty()) out += sep;
    out += p;
  }
  return out;
}

std::string ContainersField(const json::value& o, std::initializer_list<std::string_view> spec, const char* field) {
  std::vector<std::string> out;
  if (const json::array* cs = Arr(o, spec)) {
    for (const auto& c : *cs) out.push_back(Str(c, {field}));
  }
  return Join(out);
}

std::string SelectorString(const json::value* sel) {
  if (!sel || !sel->is_object()) return "<none>";
  std::vector<std::string> parts;
  if (const json::value* ml = At(*sel, {"matchLabels"}); ml && ml->is_object()) {
    for (const auto& kv : ml->as_object()) {
      parts.push_back(std::string(kv.key()) + "=" + (kv.value().is_string() ? std::string(kv.value().as_string()) : ""));
    }
  } else if (!At(*sel, {"matchExpressions"})) {
    for (const auto& kv : sel->as_object()) {
      if (kv.value().is_string()) parts.push_back(std::string(kv.key()) + "=" + std::string(kv.value().as_string()));
    }
  }
  return parts.empty() ? "<none>" : Join(parts);
}

std::string AccessModes(const json::array* modes) {
  std::vector<std::string> out;
  if (modes) {
    for (const auto& m : *modes) {
      std::string s = m.is_string() ? std::string(m.as_string()) : "";
      if (s == "ReadWriteOnce") out.push_back("RWO");
      else if (s == "ReadOnlyMany") out.push_back("ROX");
      else if (s == "ReadWriteMany") out.push_back("RWX");
      else if (s == "ReadWriteOncePod") out.push_back("RWOP");
    }
  }
  return Join(out);
}

Cells PodCells(const json::value& p) {
  int64_t total = 0, ready = 0, restarts = 0;
  std::string reason = Str(p, {"status", "reason"}, Str(p, {"status", "phase"}));
  if (const json::array* cs = Arr(p, {"spec", "containers"})) total = static_cast<int64_t>(cs->size());
  if (const json::array* st = Arr(p, {"status", "containerStatuses"})) {
    for (const auto& c : *st) {
      restarts += Int(c, {"restartCount"});
      if (At(c, {"ready"}) && At(c, {"ready"})->is_bool() && At(c, {"ready"})->as_bool()) ++ready;
      std::string waiting = Str(c, {"state", "waiting", "reason"});
      std::string terminated = Str(c, {"state", "terminated", "reason"});
      if (!waiting.empty()) reason = waiting;
      else if (!terminated.empty()) reason = terminated;
    }
  }
  if (reason.empty()) reason = "Pending";
  if (At(p, {"metadata", "deletionTimestamp"})) reason = "Terminating";
  return Cells{json::string(Name(p)), json::string(I(ready) + "/" + I(total)), json::string(reason), json::string(I(restarts)),
               json::string(Age(p)), json::string(OrNone(Str(p, {"status", "podIP"}))),
               json::string(OrNone(Str(p, {"spec", "nodeName"}))), json::string("<none>"), json::string("<none>")};
}

std::string ServicePorts(const json::value& s) {
  std::vector<std::string> out;
  if (const json::array* ports = Arr(s, {"spec", "ports"})) {
    for (const auto& p : *ports) {
      std::string e = Str(p, {"port"});
      if (int64_t np = Int(p, {"nodePort"}); np > 0) e += ":" + I(np);
      e += "/" + Str(p, {"protocol"}, "TCP");
      out.push_back(e);
    }
  }
  return out.empty() ? "<none>" : Join(out);
}

std::string JobStatus(const json::value& j) {
  if (const json::array* conds = Arr(j, {"status", "conditions"})) {
    for (const auto& c : *conds) {
      if (Str(c, {"status"}) != "True") continue;
      std::string t = Str(c, {"type"});
      if (t == "Complete") return "Complete";
      if (t == "Failed") return "Failed";
      if (t == "Suspended") return "Suspended";
    }
  }
  if (At(j, {"metadata", "deletionTimestamp"})) return "Terminating";
  return "Running";
}

const std::map<std::string, KindPrinter>& Printers() {
  static const auto* printers = new std::map<std::string, KindPrinter>{
      {"pods",
       {{{"Name", "string", 0, "name"}, {"Ready", "string", 0, ""}, {"Status", "string", 0, ""},
         {"Restarts", "string", 0, ""}, {"Age", "string", 0, ""}, {"IP", "string", 1, ""},
         {"Node", "string", 1, ""}, {"Nominated Node", "string", 1, ""}, {"Readiness Gates", "string", 1, ""}},
        PodCells}},
      {"namespaces",
       {{{"Name", "string", 0, "name"}, {"Status", "string", 0, ""}, {"Age", "string", 0, ""}},
        [](const json::value& o) {
          return Cells{json::string(Name(o)), json::string(Str(o, {"status", "phase"}, "Active")), json::string(Age(o))};
        }}},
      {"configmaps",
       {{{"Name", "string", 0, "name"}, {"Data", "integer", 0, ""}, {"Age", "string", 0, ""}},
        [](const json::value& o) {
          int64_t n = 0;
          if (const json::value* d = At(o, {"data"}); d && d->is_object()) n += static_cast<int64_t>(d->as_object().size());
          if (const json::value* d = At(o, {"binaryData"}); d && d->is_object()) n += static_cast<int64_t>(d->as_object().size());
          return Cells{json::string(Name(o)), n, json::string(Age(o))};
        }}},
      {"secrets",
       {{{"Name", "string", 0, "name"}, {"Type", "string", 0, ""}, {"Data", "string", 0, ""}, {"Age", "string", 0, ""}},
        [](const json::value& o) {
          int64_t n = 0;
          if (const json::value* d = At(o, {"data"}); d && d->is_object()) n = static_cast<int64_t>(d->as_object().size());
          return Cells{json::string(Name(o)), json::string(Str(o, {"type"}, "Opaque")), json::string(I(n)), json::string(Age(o))};
        }}},
      {"serviceaccounts",
       {{{"Name", "string", 0, "name"}, {"Secrets", "string", 0, ""}, {"Age", "string", 0, ""}},
        [](const json::value& o) {
          const json::array* s = Arr(o, {"secrets"});
          return Cells{json::string(Name(o)), json::string(I(s ? static_cast<int64_t>(s->size()) : 0)), json::string(Age(o))};
        }}},
      {"services",
       {{{"Name", "string", 0, "name"}, {"Type", "string", 0, ""}, {"Cluster-IP", "string", 0, ""},
         {"External-IP", "string", 0, ""}, {"Port(s)", "string", 0, ""}, {"Age", "string", 0, ""},
         {"Selector", "string", 1, ""}},
        [](const json::value& o) {
          return Cells{json::string(Name(o)), json::string(Str(o, {"spec", "type"}, "ClusterIP")),
                       json::string(OrNone(Str(o, {"spec", "clusterIP"}))), json::string("<none>"),
                       json::string(ServicePorts(o)), json::string(Age(o)),
                       json::string(SelectorString(At(o, {"spec", "selector"})))};
        }}},
      {"nodes",
       {{{"Name", "string", 0, "name"}, {"Status", "string", 0, ""}, {"Roles", "string", 0, ""},
         {"Age", "string", 0, ""}, {"Version", "string", 0, ""}},
        [](const json::value& o) {
          std::string status = "Unknown";
          if (const json::array* conds = Arr(o, {"status", "conditions"})) {
            for (const auto& c : *conds) {
              if (Str(c, {"type"}) == "Ready") status = Str(c, {"status"}) == "True" ? "Ready" : "NotReady";
            }
          }
          return Cells{json::string(Name(o)), json::string(status), json::string("<none>"), json::string(Age(o)),
                       json::string(Str(o, {"status", "nodeInfo", "kubeletVersion"}))};
        }}},
      {"deployments.apps",
       {{{"Name", "string", 0, "name"}, {"Ready", "string", 0, ""}, {"Up-to-date", "integer", 0, ""},
         {"Available", "integer", 0, ""}, {"Age", "string", 0, ""}, {"Containers", "string", 1, ""},
         {"Images", "string", 1, ""}, {"Selector", "string", 1, ""}},
        [](const json::value& o) {
          return Cells{json::string(Name(o)),
                       json::string(I(Int(o, {"status", "readyReplicas"})) + "/" + I(Int(o, {"spec", "replicas"}))),
                       Int(o, {"status", "updatedReplicas"}), Int(o, {"status", "availableReplicas"}),
                       json::string(Age(o)), json::string(ContainersField(o, {"spec", "template", "spec", "containers"}, "name")),
                       json::string(ContainersField(o, {"spec", "template", "spec", "containers"}, "image")),
                       json::string(SelectorString(At(o, {"spec", "selector"})))};
        }}},
      {"replicasets.apps",
       {{{"Name", "string", 0, "name"}, {"Desired", "integer", 0, ""}, {"Current", "integer", 0, ""},
         {"Ready", "integer", 0, ""}, {"Age", "string", 0, ""}, {"Containers", "string", 1, ""},
         {"Images", "string", 1, ""}, {"Selector", "string", 1, ""}},
        [](const json::value& o) {
          return Cells{json::string(Name(o)), Int(o, {"spec", "replicas"}), Int(o, {"status", "replicas"}),
                       Int(o, {"status", "readyReplicas"}), json::string(Age(o)),
                       json::string(ContainersField(o, {"spec", "template", "spec", "containers"}, "name")),
                       json::string(ContainersField(o, {"spec", "template", "spec", "containers"}, "image")),
                       json::string(SelectorString(At(o, {"spec", "selector"})))};
        }}},
      {"statefulsets.apps",
       {{{"Name", "string", 0, "name"}, {"Ready", "string", 0, ""}, {"Age", "string", 0, ""},
         {"Containers", "string", 1, ""}, {"Images", "string", 1, ""}},
        [](const json::value& o) {
          return Cells{json::string(Name(o)),
                       json::string(I(Int(o, {"status", "readyReplicas"})) + "/" + I(Int(o, {"spec", "replicas"}))),
                       json::string(Age(o)), json::string(ContainersField(o, {"spec", "template", "spec", "containers"}, "name")),
                       json::string(ContainersField(o, {"spec", "template", "spec", "containers"}, "image"))};
        }}},
      {"daemonsets.apps",
       {{{"Name", "string", 0, "name"}, {"Desired", "integer", 0, ""}, {"Current", "integer", 0, ""},
         {"Ready", "integer", 0, ""}, {"Up-to-date", "integer", 0, ""}, {"Available", "integer", 0, ""},
         {"Node Selector", "string", 0, ""}, {"Age", "string", 0, ""}},
        [](const json::value& o) {
          return Cells{json::string(Name(o)), Int(o, {"status", "desiredNumberScheduled"}),
                       Int(o, {"status", "currentNumberScheduled"}), Int(o, {"status", "numberReady"}),
                       Int(o, {"status", "updatedNumberScheduled"}), Int(o, {"status", "numberAvailable"}),
                       json::string(SelectorString(At(o, {"spec", "template", "spec", "nodeSelector"}))), json::string(Age(o))};
        }}},
      {"jobs.batch",
       {{{"Name", "string", 0, "name"}, {"Status", "string", 0, ""}, {"Completions", "string", 0, ""},
         {"Duration", "string", 0, ""}, {"Age", "string", 0, ""}},
        [](const json::value& o) {
          std::string completions = I(Int(o, {"status", "succeeded"})) + "/" +
                                    (At(o, {"spec", "completions"}) ? I(Int(o, {"spec", "completions"})) : "1");
          std::string start = Str(o, {"status", "startTime"}), end = Str(o, {"status", "completionTime"});
          std::string duration;
          if (!start.empty()) {
            int64_t since_start = SecondsSince(start);
            duration = HumanDuration(end.empty() ? since_start : since_start - SecondsSince(end));
          }
          return Cells{json::string(Name(o)), json::string(JobStatus(o)), json::string(completions),
                       json::string(duration), json::string(Age(o))};
        }}},
      {"cronjobs.batch",
       {{{"Name", "string", 0, "name"}, {"Schedule", "string", 0, ""}, {"Timezone", "string", 0, ""},
         {"Suspend", "boolean", 0, ""}, {"Active", "integer", 0, ""}, {"Last Schedule", "string", 0, ""},
         {"Age", "string", 0, ""}},
        [](const json::value& o) {
          const json::array* active = Arr(o, {"status", "active"});
          std::string last = Str(o, {"status", "lastScheduleTime"});
          const json::value* suspend = At(o, {"spec", "suspend"});
          return Cells{json::string(Name(o)), json::string(Str(o, {"spec", "schedule"})),
                       json::string(OrNone(Str(o, {"spec", "timeZone"}))),
                       suspend && suspend->is_bool() ? suspend->as_bool() : false,
                       static_cast<int64_t>(active ? active->size() : 0),
                       json::string(last.empty() ? "<none>" : HumanDuration(SecondsSince(last))), json::string(Age(o))};
        }}},
      {"persistentvolumeclaims",
       {{{"Name", "string", 0, "name"}, {"Status", "string", 0, ""}, {"Volume", "string", 0, ""},
         {"Capacity", "string", 0, ""}, {"Access Modes", "string", 0, ""}, {"StorageClass", "string", 0, ""},
         {"VolumeAttributesClass", "string", 0, ""}, {"Age", "string", 0, ""}, {"VolumeMode", "string", 1, ""}},
        [](const json::value& o) {
          return Cells{json::string(Name(o)), json::string(Str(o, {"status", "phase"}, "Pending")),
                       json::string(Str(o, {"spec", "volumeName"})), json::string(Str(o, {"status", "capacity", "storage"})),
                       json::string(AccessModes(Arr(o, {"status", "accessModes"}))),
                       json::string(Str(o, {"spec", "storageClassName"})), json::string("<unset>"), json::string(Age(o)),
                       json::string(Str(o, {"spec", "volumeMode"}, "Filesystem"))};
        }}},
      {"persistentvolumes",
       {{{"Name", "string", 0, "name"}, {"Capacity", "string", 0, ""}, {"Access Modes", "string", 0, ""},
         {"Reclaim Policy", "string", 0, ""}, {"Status", "string", 0, ""}, {"Claim", "string", 0, ""},
         {"StorageClass", "string", 0, ""}, {"VolumeAttributesClass", "string", 0, ""}, {"Reason", "string", 0, ""},
         {"Age", "string", 0, ""}, {"VolumeMode", "string", 1, ""}},
        [](const json::value& o) {
          std::string claim;
          if (At(o, {"spec", "claimRef"})) {
            claim = Str(o, {"spec", "claimRef", "namespace"}) + "/" + Str(o, {"spec", "claimRef", "name"});
          }
          return Cells{json::string(Name(o)), json::string(Str(o, {"spec", "capacity", "storage"})),
                       json::string(AccessModes(Arr(o, {"spec", "accessModes"}))),
                       json::string(Str(o, {"spec", "persistentVolumeReclaimPolicy"})),
                       json::string(Str(o, {"status", "phase"})), json::string(claim),
                       json::string(Str(o, {"spec", "storageClassName"})), json::string("<unset>"),
                       json::string(Str(o, {"status", "reason"})), json::string(Age(o)),
                       json::string(Str(o, {"spec", "volumeMode"}, "Filesystem"))};
        }}},
      {"storageclasses.storage.k8s.io",
       {{{"Name", "string", 0, "name"}, {"Provisioner", "string", 0, ""}, {"ReclaimPolicy", "string", 0, ""},
         {"VolumeBindingMode", "string", 0, ""}, {"AllowVolumeExpansion", "string", 0, ""}, {"Age", "string", 0, ""}},
        [](const json::value& o) {
          std::string name = Name(o);
          if (Str(o, {"metadata", "annotations", "storageclass.kubernetes.io/is-default-class"}) == "true") name += " (default)";
          return Cells{json::string(name), json::string(Str(o, {"provisioner"})),
                       json::string(Str(o, {"reclaimPolicy"}, "Delete")),
                       json::string(Str(o, {"volumeBindingMode"}, "Immediate")),
                       json::string(Str(o, {"allowVolumeExpansion"}, "false")), json::string(Age(o))};
        }}},
      {"endpoints",
       {{{"Name", "string", 0, "name"}, {"Endpoints", "string", 0, ""}, {"Age", "string", 0, ""}},
        [](const json::value& o) {
          std::vector<std::string> eps;
          if (const json::array* subsets = Arr(o, {"subsets"})) {
            for (const auto& s : *subsets) {
              const json::array* addrs = Arr(s, {"addresses"});
              const json::array* ports = Arr(s, {"ports"});
              if (!addrs) continue;
              for (const auto& a : *addrs) {
                if (ports && !ports->empty()) {
                  for (const auto& p : *ports) eps.push_back(Str(a, {"ip"}) + ":" + Str(p, {"port"}));
                } else {
                  eps.push_back(Str(a, {"ip"}));
                }
              }
            }
          }
          return Cells{json::string(Name(o)), json::string(eps.empty() ? "<none>" : Join(eps)), json::string(Age(o))};
        }}},
      {"events",
       {{{"Last Seen", "string", 0, ""}, {"Type", "string", 0, ""}, {"Reason", "string", 0, ""},
         {"Object", "string", 0, ""}, {"Message", "string", 0, ""}},
        [](const json::value& o) {
          std::string last = Str(o, {"lastTimestamp"}, Str(o, {"eventTime"}));
          std::string object = Str(o, {"involvedObject", "kind"});
          for (auto& ch : object) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
          object += "/" + Str(o, {"involvedObject", "name"});
          return Cells{json::string(last.empty() ? "<unknown>" : HumanDuration(SecondsSince(last))),
                       json::string(Str(o, {"type"})), json::string(Str(o, {"reason"})), json::string(object),
                       json::string(Str(o, {"message"}))};
        }}},
  };
  return *printers;
}

// A CRD printer column's JSONPath, limited to what additionalPrinterColumns use in practice:
// `.a.b.c` (no filters or wildcards). Values are printed as kube prints them.
json::value ColumnCell(const json::value& o, const json::object& col) {
  std::string path = col.contains("jsonPath") && col.at("jsonPath").is_string()
                         ? std::string(col.at("jsonPath").as_string()) : "";
  std::string type = col.contains("type") && col.at("type").is_string() ? std::string(col.at("type").as_string()) : "";
  const json::value* cur = &o;
  size_t pos = 0;
  while (cur && pos < path.size()) {
    if (path[pos] == '.') ++pos;
    size_t end = path.find('.', pos);
    std::string key = path.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
    const json::object* obj = cur->if_object();
    cur = obj && obj->contains(key) ? &obj->at(key) : nullptr;
    pos = end == std::string::npos ? path.size() : end;
  }
  if (!cur || cur->is_null()) return nullptr;
  if (type == "date" && cur->is_string()) return json::string(HumanDuration(SecondsSince(std::string(cur->as_string()))));
  if (cur->is_string()) return *cur;
  if (type == "string") return json::string(json::serialize(*cur));
  return *cur;
}

json::object ColumnDef(const char* name, const char* type, int priority, const char* format) {
  return json::object{{"name", name}, {"type", type}, {"format", format}, {"description", ""}, {"priority", priority}};
}

}  // namespace

bool WantsTable(const std::string& accept) { return accept.find("as=Table") != std::string::npos; }

std::string TableApiVersion(const std::string& accept) {
  return accept.find("as=Table;v=v1;") != std::string::npos || accept.find("v=v1;") != std::string::npos
             ? "meta.k8s.io/v1" : "meta.k8s.io/v1beta1";
}

json::value BuildTable(const TypeInfo& type, const std::vector<const json::value*>& objects,
                       const std::string& table_api_version, const std::string& include_object,
                       const std::string& resource_version, const std::string& continue_token,
                       std::optional<int64_t> remaining_item_count) {
  json::array cols;
  std::function<Cells(const json::value&)> print;
  const auto& printers = Printers();
  if (auto it = printers.find(type.type.custom ? "" : type.type.GroupResource()); it != printers.end()) {
    for (const Column& c : it->second.columns) cols.push_back(ColumnDef(c.name, c.type, c.priority, c.format));
    print = it->second.print;
  } else if (type.type.custom) {
    cols.push_back(ColumnDef("Name", "string", 0, "name"));
    std::vector<json::object> custom;
    for (const auto& c : type.printer_columns) {
      if (!c.is_object()) continue;
      const json::object& col = c.as_object();
      std::string name = col.contains("name") && col.at("name").is_string() ? std::string(col.at("name").as_string()) : "";
      json::object def{{"name", name},
                       {"type", col.contains("type") ? col.at("type") : json::value("string")},
                       {"format", col.contains("format") ? col.at("format") : json::value("")},
                       {"description", col.contains("description") ? col.at("description") : json::value("")},
                       {"priority", col.contains("priority") ? col.at("priority") : json::value(0)}};
      cols.push_back(std::move(def));
      custom.push_back(col);
    }
    if (custom.empty()) {
      cols.push_back(ColumnDef("Age", "date", 0, ""));
      custom.push_back(json::object{{"jsonPath", ".metadata.creationTimestamp"}, {"type", "date"}});
    }
    print = [custom](const json::value& o) {
      Cells cells{json::string(Name(o))};
      for (const auto& col : custom) cells.push_back(ColumnCell(o, col));
      return cells;
    };
  } else {
    cols.push_back(ColumnDef("Name", "string", 0, "name"));
    cols.push_back(ColumnDef("Created At", "date", 0, ""));
    print = [](const json::value& o) {
      return Cells{json::string(Name(o)), json::string(Str(o, {"metadata", "creationTimestamp"}))};
    };
  }

  json::array rows;
  for (const json::value* o : objects) {
    json::object row{{"cells", print(*o)}};
    if (include_object == "Object") {
      row["object"] = *o;
    } else if (include_object != "None") {
      const json::object* meta = MetaIfAny(*o);
      row["object"] = json::object{{"kind", "PartialObjectMetadata"}, {"apiVersion", "meta.k8s.io/v1"},
                                   {"metadata", meta ? json::value(*meta) : json::value(json::object())}};
    }
    rows.push_back(std::move(row));
  }
  json::object meta{{"resourceVersion", resource_version}};
  if (!continue_token.empty()) meta["continue"] = continue_token;
  if (remaining_item_count) meta["remainingItemCount"] = *remaining_item_count;
  return json::object{{"kind", "Table"}, {"apiVersion", table_api_version}, {"metadata", std::move(meta)},
                      {"columnDefinitions", std::move(cols)}, {"rows", std::move(rows)}};
}

}  // namespace kubesim
