#include "src/restore/hook_plan.h"

#include <optional>
#include <string>

#include "lifeboat/api/duration.h"
#include "lifeboat/kube/object.h"
#include "src/engine/hook_exec.h"

namespace lifeboat::restore {
namespace {

namespace json = boost::json;

// Go's strconv.ParseBool.
std::optional<bool> ParseGoBool(std::string_view s) {
  if (s == "1" || s == "t" || s == "T" || s == "true" || s == "TRUE" || s == "True") return true;
  if (s == "0" || s == "f" || s == "F" || s == "false" || s == "FALSE" || s == "False") {
    return false;
  }
  return std::nullopt;
}

// The names of the pod's containers, in order.
std::vector<std::string> ContainerNames(const json::value& pod) {
  std::vector<std::string> names;
  const json::object* o = pod.if_object();
  const json::value* spec = o != nullptr ? o->if_contains("spec") : nullptr;
  const json::value* list = spec != nullptr && spec->is_object()
                                ? spec->get_object().if_contains("containers")
                                : nullptr;
  if (list == nullptr || !list->is_array()) return names;
  for (const json::value& c : list->get_array()) {
    const json::value* n = c.is_object() ? c.get_object().if_contains("name") : nullptr;
    names.push_back(n != nullptr && n->is_string() ? std::string(n->get_string()) : "");
  }
  return names;
}

// A duration annotation, or 0 with a warning when it does not parse (Velero ignores it).
api::Duration DurationAnnotation(const std::map<std::string, std::string>& annotations,
                                 std::string_view key, std::string_view what,
                                 engine::RestoreLog* log, const engine::LogFields& fields) {
  auto it = annotations.find(std::string(key));
  if (it == annotations.end() || it->second.empty()) return api::Duration(0);
  StatusOr<api::Duration> d = api::ParseGoDuration(it->second);
  if (d.ok()) return *d;
  const absl::string_view why = d.status().message();
  log->Warn("Unable to parse " + std::string(what) + " " + it->second +
                ", ignoring: " + std::string(why.data(), why.size()),
            fields);
  return api::Duration(0);
}

std::optional<api::ExecRestoreHook> FromAnnotations(
    const std::map<std::string, std::string>& annotations, engine::RestoreLog* log,
    const engine::LogFields& fields) {
  auto get = [&](std::string_view key) -> std::string {
    auto it = annotations.find(std::string(key));
    return it == annotations.end() ? std::string() : it->second;
  };
  const std::string command = get(kExecCommandKey);
  if (command.empty()) return std::nullopt;
  api::ExecRestoreHook hook;
  hook.container = get(kExecContainerKey);
  hook.command = engine::ParseHookCommand(command);
  const std::string on_error = get(kExecOnErrorKey);
  if (on_error == "Continue") hook.on_error = api::HookErrorMode::kContinue;
  if (on_error == "Fail") hook.on_error = api::HookErrorMode::kFail;
  hook.exec_timeout = DurationAnnotation(annotations, kExecTimeoutKey, "exec timeout", log, fields);
  hook.wait_timeout = DurationAnnotation(annotations, kWaitTimeoutKey, "wait timeout", log, fields);
  hook.wait_for_ready = false;
  if (const std::string ready = get(kWaitForReadyKey); !ready.empty()) {
    std::optional<bool> b = ParseGoBool(ready);
    if (b.has_value()) {
      hook.wait_for_ready = *b;
    } else {
      log->Warn("Unable to parse wait for ready " + ready + ", ignoring", fields);
    }
  }
  return hook;
}

}  // namespace

HookSelectors::HookSelectors(const api::RestoreSpec* spec) : spec_(spec) {
  if (spec_ == nullptr) return;
  for (const api::RestoreResourceHookSpec& rh : spec_->hooks.resources) {
    namespaces_.emplace_back(rh.included_namespaces, rh.excluded_namespaces);
  }
}

bool HookSelectors::Applies(size_t i, std::string_view ns,
                            const std::map<std::string, std::string>& labels) const {
  const api::RestoreResourceHookSpec& rh = entry(i);
  if (!namespaces_[i].ShouldInclude(ns)) return false;
  return !rh.label_selector.has_value() || rh.label_selector->Matches(labels);
}

std::vector<PlannedExecHook> PlanExecHooks(const HookSelectors& selectors, const json::value& pod,
                                           engine::RestoreLog* log,
                                           const engine::LogFields& fields) {
  std::vector<PlannedExecHook> plan;
  const std::vector<std::string> containers = ContainerNames(pod);
  if (containers.empty()) return plan;
  std::optional<api::ExecRestoreHook> annotated =
      FromAnnotations(kube::ObjectAnnotations(pod), log, fields);
  if (annotated.has_value()) {
    if (annotated->container.empty()) annotated->container = containers.front();
    plan.push_back({"<from-annotation>", "annotation", std::move(*annotated)});
    return plan;
  }
  if (selectors.size() == 0) return plan;
  const std::map<std::string, std::string> labels = kube::ObjectLabels(pod);
  for (size_t i = 0; i < selectors.size(); ++i) {
    if (!selectors.Applies(i, fields.ns, labels)) continue;
    const api::RestoreResourceHookSpec& rh = selectors.entry(i);
    for (const api::RestoreResourceHook& h : rh.post_hooks) {
      if (!h.exec.has_value()) continue;
      PlannedExecHook p{rh.name, "spec", *h.exec};
      if (!p.hook.wait_for_ready.has_value()) p.hook.wait_for_ready = false;
      if (p.hook.container.empty()) p.hook.container = containers.front();
      plan.push_back(std::move(p));
    }
  }
  return plan;
}

}  // namespace lifeboat::restore
