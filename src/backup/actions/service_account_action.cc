#include <algorithm>
#include <set>

#include "lifeboat/kube/object.h"
#include "src/backup/actions/actions.h"

namespace lifeboat::backup {
namespace {

namespace json = boost::json;

constexpr std::string_view kRbacGroup = "rbac.authorization.k8s.io";

std::string StringAt(const json::value& o, std::string_view key) {
  const json::object* obj = o.if_object();
  const json::value* v = obj != nullptr ? obj->if_contains(key) : nullptr;
  return v != nullptr && v->is_string() ? std::string(v->get_string()) : std::string();
}

ServiceAccountAction::Binding Summarize(const json::value& crb) {
  ServiceAccountAction::Binding b;
  b.name = std::string(kube::ObjectName(crb));
  const json::object* o = crb.if_object();
  if (const json::value* ref = o != nullptr ? o->if_contains("roleRef") : nullptr) {
    b.role = StringAt(*ref, "name");
  }
  const json::value* subjects = o != nullptr ? o->if_contains("subjects") : nullptr;
  if (subjects != nullptr && subjects->is_array()) {
    for (const json::value& s : subjects->get_array()) {
      if (StringAt(s, "kind") == "ServiceAccount") {
        b.accounts.emplace_back(StringAt(s, "namespace"), StringAt(s, "name"));
      }
    }
  }
  return b;
}

}  // namespace

plugin::ResourceSelector ServiceAccountAction::AppliesTo() const {
  plugin::ResourceSelector s;
  s.included_resources = {"serviceaccounts"};
  return s;
}

StatusOr<const std::vector<ServiceAccountAction::Binding>*> ServiceAccountAction::Bindings() {
  std::lock_guard<std::mutex> lock(mu_);
  if (bindings_.has_value()) return &*bindings_;
  if (client_ == nullptr) return absl::FailedPreconditionError("no Kubernetes client");
  StatusOr<std::string> version = client_->discovery()->PreferredVersion(kRbacGroup);
  if (absl::IsNotFound(version.status())) {
    // RBAC not served: no bindings (Velero's no-op lister).
    bindings_.emplace();
    return &*bindings_;
  }
  if (!version.ok()) return Annotate(version.status(), "discovering rbac.authorization.k8s.io");
  std::vector<Binding> list;
  kube::ListAllOptions options;
  options.on_restart = [&list] { list.clear(); };
  StatusOr<kube::ListAllResult> r =
      kube::ListAll(*client_, {std::string(kRbacGroup), *version, "clusterrolebindings"}, "",
                    options, [&list](json::value&& crb) {
                      list.push_back(Summarize(crb));
                      return absl::OkStatus();
                    });
  if (!r.ok()) return Annotate(r.status(), "listing clusterrolebindings");
  bindings_ = std::move(list);
  return &*bindings_;
}

StatusOr<plugin::ExecuteOutput> ServiceAccountAction::Execute(json::value item,
                                                              const plugin::BackupContext& backup) {
  if (!item.is_object()) {
    return absl::InvalidArgumentError("velero.io/service-account: the item is not an object");
  }
  LIFEBOAT_ASSIGN_OR_RETURN(const std::vector<Binding>* bindings, Bindings());
  const std::string ns(kube::ObjectNamespace(item));
  const std::string name(kube::ObjectName(item));
  std::set<std::string> names, roles;
  for (const Binding& b : *bindings) {
    bool subject = std::any_of(b.accounts.begin(), b.accounts.end(),
                               [&](const auto& a) { return a.first == ns && a.second == name; });
    if (!subject) continue;
    names.insert(b.name);
    if (!b.role.empty()) roles.insert(b.role);
  }
  plugin::ExecuteOutput out;
  for (const std::string& n : names) {
    out.additional_items.push_back({std::string(kRbacGroup), "clusterrolebindings", "", n});
  }
  for (const std::string& r : roles) {
    out.additional_items.push_back({std::string(kRbacGroup), "clusterroles", "", r});
  }
  out.item = std::move(item);
  return out;
}

}  // namespace lifeboat::backup
