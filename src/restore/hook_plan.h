#pragma once

// What restore hooks apply to a pod (Velero internal/hook/item_hook_handler.go): the spec
// entries' selectors and the exec hooks planned from a pod's annotations or the spec. Private to
// the restore hooks (src/restore/hooks.h).
//
// Thread safety: HookSelectors is immutable after construction; the functions are pure apart
// from logging (BackupLog is thread-safe).

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json.hpp>

#include "lifeboat/api/filters.h"
#include "lifeboat/api/restore.h"
#include "src/engine/velero_log.h"

namespace lifeboat::restore {

inline constexpr std::string_view kExecContainerKey = "post.hook.restore.velero.io/container";
inline constexpr std::string_view kExecCommandKey = "post.hook.restore.velero.io/command";
inline constexpr std::string_view kExecOnErrorKey = "post.hook.restore.velero.io/on-error";
inline constexpr std::string_view kExecTimeoutKey = "post.hook.restore.velero.io/exec-timeout";
inline constexpr std::string_view kWaitTimeoutKey = "post.hook.restore.velero.io/wait-timeout";
inline constexpr std::string_view kWaitForReadyKey = "post.hook.restore.velero.io/wait-for-ready";
inline constexpr std::string_view kInitImageKey = "init.hook.restore.velero.io/container-image";
inline constexpr std::string_view kInitNameKey = "init.hook.restore.velero.io/container-name";
inline constexpr std::string_view kInitCommandKey = "init.hook.restore.velero.io/command";

// The spec.hooks.resources entries' selectors. Velero applies restore hooks to pods only: an
// entry's included/excluded resources are not consulted.
class HookSelectors {
 public:
  explicit HookSelectors(const api::RestoreSpec* spec);  // null: no entries
  // Whether entry `i` applies to a pod in namespace `ns` (the TARGET namespace) with `labels`.
  bool Applies(size_t i, std::string_view ns, const std::map<std::string, std::string>& labels) const;
  size_t size() const { return namespaces_.size(); }
  const api::RestoreResourceHookSpec& entry(size_t i) const { return spec_->hooks.resources[i]; }

 private:
  const api::RestoreSpec* spec_;
  std::vector<api::IncludesExcludes> namespaces_;
};

// One exec hook to run in a pod, with Velero's hook name ("<from-annotation>" or the spec
// entry's name) and source ("annotation" or "spec"). hook.container is filled in.
struct PlannedExecHook {
  std::string name;
  std::string_view source;
  api::ExecRestoreHook hook;
};

// The pod's exec hooks: the annotation hook if post.hook.restore.velero.io/command is set
// (unparsable timeouts and wait-for-ready are logged as warnings and ignored), else the `exec`
// hooks of every matching spec entry in spec order. Empty for a pod without containers.
std::vector<PlannedExecHook> PlanExecHooks(const HookSelectors& selectors,
                                           const boost::json::value& pod, engine::RestoreLog* log,
                                           const engine::LogFields& fields);

}  // namespace lifeboat::restore
