// RestoreRun's construction and its parts that come from other libraries of the module: the
// built-in restore item actions, resource modifiers and restore hooks.

#include <algorithm>

#include "src/restore/actions/builtin_actions.h"
#include "src/restore/hooks.h"
#include "src/restore/resource_modifiers.h"
#include "src/restore/restore_run.h"

namespace lifeboat::restore {

RestoreRun::RestoreRun(const RestorerDeps& deps, const RestorerOptions& options,
                       api::Restore& restore, const api::Backup& backup, BackupContents contents,
                       engine::RestoreLog& log, CancellationToken cancel)
    : deps_(deps),
      options_(options),
      restore_(restore),
      backup_(backup),
      contents_(std::move(contents)),
      log_(log),
      cancel_(std::move(cancel)),
      clock_(deps.clock != nullptr ? deps.clock : &RealClock()) {}

RestoreRun::~RestoreRun() = default;

Status RestoreRun::PrepareActionsModifiersHooks() {
  // Velero's built-in actions, the init-container hooks among them, run in name order (its
  // plugin server lists them sorted); then the caller's.
  std::vector<std::shared_ptr<plugin::RestoreItemAction>> actions =
      BuiltinRestoreItemActions(deps_.client, options_.velero_namespace);
  actions.push_back(std::make_shared<InitRestoreHookAction>());
  std::stable_sort(actions.begin(), actions.end(),
                   [](const auto& a, const auto& b) { return a->Name() < b->Name(); });
  for (const auto& a : deps_.actions) actions.push_back(a);
  // Selectors name resources as users do ("rolebindings"); match them as Velero does, through
  // discovery, against canonical group-resources ("rolebindings.rbac.authorization.k8s.io").
  auto canonical = [&](std::vector<std::string>& names) {
    for (std::string& n : names) {
      if (n == "*") continue;
      if (auto r = deps_.discovery->Lookup(n); r.ok()) {
        n = r->group.empty() ? r->name : r->name + "." + r->group;
      }
    }
  };
  for (const auto& a : actions) {
    plugin::ResourceSelector selector = a->AppliesTo();
    canonical(selector.included_resources);
    canonical(selector.excluded_resources);
    actions_.emplace_back(a, std::move(selector));
  }

  // Exec hooks wait for their pods at most this long when a hook sets no waitTimeout.
  hooks_ = std::make_unique<RestoreExecHooks>(&restore_, deps_.client, deps_.exec, &log_, clock_,
                                              cancel_, options_.resource_timeout);
  return absl::OkStatus();
}

StatusOr<std::unique_ptr<ResourceModifiers>> LoadModifiersFor(const api::Restore& restore,
                                                              kube::DynamicClient* client,
                                                              const std::string& ns) {
  const auto& ref = restore.spec.resource_modifier;
  if (!ref.has_value()) return std::unique_ptr<ResourceModifiers>();
  if (ref->kind != "configmap" && ref->kind != "ConfigMap") {
    return absl::InvalidArgumentError("resourceModifier must name a ConfigMap (kind configmap), not " +
                                      ref->kind);
  }
  LIFEBOAT_ASSIGN_OR_RETURN(ResourceModifiers modifiers,
                            LoadResourceModifiers(*client, ns, ref->name));
  return std::make_unique<ResourceModifiers>(std::move(modifiers));
}

Status RestoreRun::ApplyModifiers(boost::json::value& obj, const std::string& gr) {
  return modifiers_ == nullptr ? absl::OkStatus() : modifiers_->Apply(obj, gr);
}

void RestoreRun::PodRestored(const boost::json::value& created) { hooks_->PodRestored(created); }
void RestoreRun::WaitForHooks() {
  if (hooks_) hooks_->Wait();
}
int64_t RestoreRun::hooks_attempted() const { return hooks_ ? hooks_->attempted() : 0; }
int64_t RestoreRun::hooks_failed() const { return hooks_ ? hooks_->failed() : 0; }

}  // namespace lifeboat::restore
