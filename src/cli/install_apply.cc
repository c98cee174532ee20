// The cluster side of install.h: ApplyInstallObjects, WaitForDeploymentAvailable, Uninstall.

#include <optional>
#include <string>

#include "lifeboat/common/json.h"
#include "src/cli/install.h"

namespace lifeboat::cli {
namespace {

namespace json = boost::json;

const kube::GroupVersionResource kCrds{"apiextensions.k8s.io", "v1", "customresourcedefinitions"};
const kube::GroupVersionResource kNamespaces{"", "v1", "namespaces"};
const kube::GroupVersionResource kClusterRoles{"rbac.authorization.k8s.io", "v1", "clusterroles"};
const kube::GroupVersionResource kClusterRoleBindings{"rbac.authorization.k8s.io", "v1",
                                                      "clusterrolebindings"};
const kube::GroupVersionResource kDeployments{"apps", "v1", "deployments"};

std::string Str(const json::value& v, std::initializer_list<std::string_view> path) {
  return JsonString(v, path).value_or("");
}

std::string Id(const json::value& obj) {
  return Str(obj, {"kind"}) + "/" + Str(obj, {"metadata", "name"});
}

// Sleeps one poll interval; false when cancelled.
bool Pause(Clock& clock, std::chrono::milliseconds interval, const CancellationToken& cancel) {
  return clock.SleepFor(interval, cancel) && !cancel.IsCancelled();
}

bool ConditionTrue(const json::value& obj, std::string_view type) {
  const json::value* conds = JsonFind(obj, {"status", "conditions"});
  if (conds == nullptr || !conds->is_array()) return false;
  for (const auto& c : conds->as_array()) {
    if (Str(c, {"type"}) == type && Str(c, {"status"}) == "True") return true;
  }
  return false;
}

StatusOr<kube::ApiResource> ResourceOf(kube::DynamicClient& client, const json::value& obj) {
  std::string api_version = Str(obj, {"apiVersion"});
  size_t slash = api_version.find('/');
  std::string group = slash == std::string::npos ? "" : api_version.substr(0, slash);
  std::string version = slash == std::string::npos ? api_version : api_version.substr(slash + 1);
  return client.discovery()->ResourceForKind(group, version, Str(obj, {"kind"}));
}

// A ClusterRoleBinding's roleRef cannot change: one that points elsewhere (an install switching
// --rbac) is deleted before it is applied again.
StatusOr<bool> ReplaceIfRoleRefDiffers(kube::DynamicClient& client, const json::value& desired,
                                       const json::value& existing) {
  if (Str(desired, {"kind"}) != "ClusterRoleBinding") return false;
  const json::value* want = JsonFind(desired, {"roleRef"});
  const json::value* have = JsonFind(existing, {"roleRef"});
  if (want == nullptr || have == nullptr) return false;
  if (Str(*want, {"name"}) == Str(*have, {"name"}) &&
      Str(*want, {"kind"}) == Str(*have, {"kind"})) {
    return false;
  }
  auto deleted = client.Delete(kClusterRoleBindings, "", Str(desired, {"metadata", "name"}));
  if (!deleted.ok() && !absl::IsNotFound(deleted.status())) return deleted.status();
  return true;
}

// Applies one object; returns what happened ("created", "configured", "unchanged", "replaced").
StatusOr<std::string> ApplyOne(kube::DynamicClient& client, const json::value& obj,
                               const ApplyOptions& options) {
  LIFEBOAT_ASSIGN_OR_RETURN(kube::ApiResource res, ResourceOf(client, obj));
  std::string ns = res.namespaced ? Str(obj, {"metadata", "namespace"}) : "";
  std::string name = Str(obj, {"metadata", "name"});
  std::string before;
  bool replaced = false;
  auto existing = client.Get(res.gvr(), ns, name, {.cancel = options.cancel});
  if (existing.ok()) {
    LIFEBOAT_ASSIGN_OR_RETURN(replaced, ReplaceIfRoleRefDiffers(client, obj, *existing));
    if (!replaced) before = Str(*existing, {"metadata", "resourceVersion"});
  } else if (!absl::IsNotFound(existing.status())) {
    return existing.status();
  }
  kube::PatchOptions patch;
  patch.field_manager = kInstallFieldManager;
  patch.force = true;
  patch.cancel = options.cancel;
  LIFEBOAT_ASSIGN_OR_RETURN(
      json::value applied,
      client.Patch(res.gvr(), ns, name, kube::PatchType::kApply, json::serialize(obj), patch));
  if (replaced) return std::string("replaced (its roleRef changed)");
  if (before.empty()) return std::string("created");
  return std::string(Str(applied, {"metadata", "resourceVersion"}) == before ? "unchanged"
                                                                             : "configured");
}

Status WaitForCrds(kube::DynamicClient& client, const std::vector<std::string>& names,
                   std::ostream& out, const ApplyOptions& options) {
  if (names.empty()) return absl::OkStatus();
  Clock& clock = options.clock ? *options.clock : RealClock();
  out << "Waiting for the CustomResourceDefinitions to be established...\n" << std::flush;
  const auto deadline = clock.Now() + options.crd_timeout;
  for (const std::string& name : names) {
    while (true) {
      auto crd = client.Get(kCrds, "", name, {.cancel = options.cancel});
      if (!crd.ok() && !absl::IsNotFound(crd.status())) return crd.status();
      if (crd.ok() && ConditionTrue(*crd, "Established")) break;
      if (clock.Now() >= deadline) {
        return absl::DeadlineExceededError(
            "CustomResourceDefinition " + name + " is not Established after " +
            std::to_string(options.crd_timeout.count() / 1000) + "s");
      }
      if (!Pause(clock, options.poll_interval, options.cancel))
        return absl::CancelledError("cancelled");
    }
  }
  // The new kinds must be in discovery before their objects are applied.
  return client.discovery()->Refresh();
}

}  // namespace

Status ApplyInstallObjects(kube::DynamicClient& client, const std::vector<json::value>& objects,
                           std::ostream& out, const ApplyOptions& options) {
  std::vector<std::string> crds;
  bool waited = false;
  for (const json::value& obj : objects) {
    bool is_crd = Str(obj, {"kind"}) == "CustomResourceDefinition";
    if (!is_crd && !waited) {
      LIFEBOAT_RETURN_IF_ERROR(WaitForCrds(client, crds, out, options));
      waited = true;
    }
    auto result = ApplyOne(client, obj, options);
    if (!result.ok()) return Annotate(result.status(), "applying " + Id(obj));
    out << Id(obj) << ": " << *result << "\n" << std::flush;
    if (is_crd) crds.push_back(Str(obj, {"metadata", "name"}));
  }
  if (!waited) return WaitForCrds(client, crds, out, options);
  return absl::OkStatus();
}

Status WaitForDeploymentAvailable(kube::DynamicClient& client, const std::string& ns,
                                  const std::string& name, std::chrono::milliseconds timeout,
                                  std::ostream& out, const ApplyOptions& options) {
  Clock& clock = options.clock ? *options.clock : RealClock();
  const auto deadline = clock.Now() + timeout;
  std::string last = "not found";
  while (true) {
    auto d = client.Get(kDeployments, ns, name, {.cancel = options.cancel});
    if (d.ok()) {
      int64_t want = JsonInt(*d, {"spec", "replicas"}).value_or(1);
      int64_t generation = JsonInt(*d, {"metadata", "generation"}).value_or(0);
      int64_t observed = JsonInt(*d, {"status", "observedGeneration"}).value_or(0);
      int64_t updated = JsonInt(*d, {"status", "updatedReplicas"}).value_or(0);
      int64_t available = JsonInt(*d, {"status", "availableReplicas"}).value_or(0);
      if (observed >= generation && updated >= want && available >= want &&
          ConditionTrue(*d, "Available")) {
        out << "Deployment/" << name << ": available (" << available << "/" << want
            << " replicas)\n";
        return absl::OkStatus();
      }
      last = std::to_string(updated) + " of " + std::to_string(want) + " replicas updated, " +
             std::to_string(available) + " available";
    } else if (!absl::IsNotFound(d.status())) {
      return d.status();
    }
    if (clock.Now() >= deadline) {
      return absl::DeadlineExceededError(
          "Deployment " + ns + "/" + name + " is not available after " +
          std::to_string(timeout.count() / 1000) + "s (" + last + "); check `kubectl -n " + ns +
          " describe deployment/" + name + "` and `kubectl -n " + ns + " logs deployment/" + name +
          "`");
    }
    if (!Pause(clock, options.poll_interval, options.cancel))
      return absl::CancelledError("cancelled");
  }
}

namespace {

// Deletes one cluster object; false when it was not there.
StatusOr<bool> DeleteIfPresent(kube::DynamicClient& client, const kube::GroupVersionResource& gvr,
                               const std::string& name, const CancellationToken& cancel) {
  kube::DeleteOptions del;
  del.cancel = cancel;
  auto r = client.Delete(gvr, "", name, del);
  if (r.ok()) return true;
  if (absl::IsNotFound(r.status())) return false;
  return r.status();
}

Status DeleteNamespace(kube::DynamicClient& client, const std::string& ns, std::ostream& out,
                       const UninstallOptions& options) {
  Clock& clock = options.clock ? *options.clock : RealClock();
  LIFEBOAT_ASSIGN_OR_RETURN(bool present, DeleteIfPresent(client, kNamespaces, ns, options.cancel));
  if (!present) {
    out << "Namespace/" << ns << ": not found, skipping\n";
    return absl::OkStatus();
  }
  out << "Namespace/" << ns << ": deleting, waiting until it is gone...\n" << std::flush;
  const auto deadline = clock.Now() + options.namespace_timeout;
  while (true) {
    auto got = client.Get(kNamespaces, "", ns, {.cancel = options.cancel});
    if (absl::IsNotFound(got.status())) break;
    if (!got.ok()) return got.status();
    if (clock.Now() >= deadline) {
      return absl::DeadlineExceededError("namespace " + ns + " is still terminating after " +
                                         std::to_string(options.namespace_timeout.count() / 1000) +
                                         "s; the CRDs were kept (see `kubectl get namespace " + ns +
                                         " -o yaml` for what blocks it)");
    }
    if (!Pause(clock, options.poll_interval, options.cancel))
      return absl::CancelledError("cancelled");
  }
  out << "Namespace/" << ns << ": deleted\n";
  return absl::OkStatus();
}

}  // namespace

Status Uninstall(kube::DynamicClient& client, const std::string& ns, std::ostream& out,
                 const UninstallOptions& options) {
  // The CRDs go last: deleting them while their objects' namespace terminates can leave the
  // namespace stuck (Velero issue 3974).
  LIFEBOAT_RETURN_IF_ERROR(DeleteNamespace(client, ns, out, options));
  Status first = absl::OkStatus();
  auto keep = [&first](const Status& s) {
    if (first.ok() && !s.ok()) first = s;
  };
  const std::string rbac = ClusterRbacName(ns);
  auto crb = DeleteIfPresent(client, kClusterRoleBindings, rbac, options.cancel);
  if (!crb.ok()) {
    keep(Annotate(crb.status(), "deleting ClusterRoleBinding/" + rbac));
  } else {
    out << "ClusterRoleBinding/" << rbac << ": " << (*crb ? "deleted" : "not found, skipping")
        << "\n";
  }
  auto role = client.Get(kClusterRoles, "", rbac, {.cancel = options.cancel});
  if (role.ok()) {
    if (Str(*role, {"metadata", "labels", "component"}) == "velero") {
      auto r = DeleteIfPresent(client, kClusterRoles, rbac, options.cancel);
      if (!r.ok())
        keep(Annotate(r.status(), "deleting ClusterRole/" + rbac));
      else
        out << "ClusterRole/" << rbac << ": deleted\n";
    } else {
      out << "ClusterRole/" << rbac
          << ": kept (no component=velero label: not created by install)\n";
    }
  } else if (!absl::IsNotFound(role.status())) {
    keep(Annotate(role.status(), "reading ClusterRole/" + rbac));
  }
  kube::ListOptions list;
  list.label_selector = "component=velero";
  list.cancel = options.cancel;
  auto crds = client.List(kCrds, "", list);
  if (!crds.ok()) {
    keep(Annotate(crds.status(), "listing CustomResourceDefinitions"));
  } else if (crds->items.empty()) {
    out << "CustomResourceDefinitions labelled component=velero: none found, skipping\n";
  } else {
    for (const auto& item : crds->items) {
      std::string name = Str(item, {"metadata", "name"});
      auto r = DeleteIfPresent(client, kCrds, name, options.cancel);
      if (!r.ok()) {
        keep(Annotate(r.status(), "deleting CustomResourceDefinition/" + name));
      } else {
        out << "CustomResourceDefinition/" << name << ": "
            << (*r ? "deleted" : "not found, skipping") << "\n";
      }
    }
  }
  return first;
}

}  // namespace lifeboat::cli
