#include "src/backup/hooks.h"

#include <algorithm>
#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_join.h"
#include "lifeboat/api/duration.h"
#include "lifeboat/api/filters.h"
#include "lifeboat/kube/object.h"

namespace lifeboat::backup {
namespace {

namespace json = boost::json;

// Velero's defaults (pkg/podexec): onError Fail, 30 s.
constexpr std::chrono::seconds kDefaultHookTimeout{30};

constexpr std::string_view kContainerKey = "hook.backup.velero.io/container";
constexpr std::string_view kCommandKey = "hook.backup.velero.io/command";
constexpr std::string_view kOnErrorKey = "hook.backup.velero.io/on-error";
constexpr std::string_view kTimeoutKey = "hook.backup.velero.io/timeout";

std::string_view PhaseName(HookPhase phase) { return phase == HookPhase::kPre ? "pre" : "post"; }

// Concatenation over std::string_view (Debian's absl::StrCat takes absl::string_view only).
std::string Cat(std::initializer_list<std::string_view> parts) {
  std::string out;
  for (std::string_view p : parts) out.append(p);
  return out;
}

const json::object* FindObject(const json::value& v, std::string_view key) {
  const json::object* o = v.if_object();
  if (o == nullptr) return nullptr;
  const json::value* f = o->if_contains(key);
  return f != nullptr ? f->if_object() : nullptr;
}

std::string_view StringField(const json::object* o, std::string_view key) {
  if (o == nullptr) return {};
  const json::value* f = o->if_contains(key);
  if (f == nullptr || !f->is_string()) return {};
  const json::string& s = f->get_string();
  return std::string_view(s.data(), s.size());
}

// Velero resolves a hook spec's resources through discovery; only pods are hooked, so only the
// names that resolve to pods ("pods", "pod", "po", "Pod") and "*" can select one.
bool NamesPods(std::string resource) {
  resource = absl::AsciiStrToLower(resource);
  return resource == "*" || resource == "pods" || resource == "pod" || resource == "po";
}

// The names that resolve to pods become "pods"; the rest stay as given (they never name pods).
std::vector<std::string> PodResourceNames(const std::vector<std::string>& names) {
  std::vector<std::string> out;
  for (const std::string& n : names) out.push_back(NamesPods(n) && n != "*" ? "pods" : n);
  return out;
}


}  // namespace

HookRunner::HookRunner(const api::BackupSpec* spec, kube::PodExecutor* exec, BackupLog* log,
                       CancellationToken cancel)
    : spec_(spec), exec_(exec), log_(log), cancel_(std::move(cancel)) {
  if (spec_ == nullptr) return;
  for (const api::BackupResourceHookSpec& rh : spec_->hooks.resources) {
    selectors_.push_back(
        {api::IncludesExcludes(rh.included_namespaces, rh.excluded_namespaces),
         api::IncludesExcludes::ForResources(PodResourceNames(rh.included_resources),
                                             PodResourceNames(rh.excluded_resources))});
  }
}

std::optional<api::ExecHook> HookRunner::FromAnnotations(
    const std::map<std::string, std::string>& annotations, std::string_view prefix,
    const LogFields& fields) {
  auto get = [&](std::string_view key) -> std::string {
    auto it = annotations.find(Cat({prefix, key}));
    return it == annotations.end() ? std::string() : it->second;
  };
  std::string command = get(kCommandKey);
  if (command.empty()) return std::nullopt;
  api::ExecHook hook;
  hook.container = get(kContainerKey);
  hook.command = ParseHookCommand(command);
  // Anything but Continue or Fail reads as unset (then Fail).
  std::string on_error = get(kOnErrorKey);
  if (on_error == "Continue") hook.on_error = api::HookErrorMode::kContinue;
  if (on_error == "Fail") hook.on_error = api::HookErrorMode::kFail;
  std::string timeout = get(kTimeoutKey);
  if (!timeout.empty()) {
    StatusOr<api::Duration> d = api::ParseGoDuration(timeout);
    if (d.ok()) {
      hook.timeout = *d;
    } else {
      const absl::string_view why = d.status().message();
      log_->Warn(Cat({"Unable to parse provided timeout ", timeout,
                      ", using default: ", std::string_view(why.data(), why.size())}),
                 fields);
    }
  }
  return hook;
}

std::vector<HookRunner::Planned> HookRunner::Plan(HookPhase phase, const json::value& pod,
                                                  const LogFields& fields) {
  std::vector<Planned> plan;
  const std::map<std::string, std::string> annotations = kube::ObjectAnnotations(pod);
  std::string prefix = Cat({PhaseName(phase), "."});
  std::optional<api::ExecHook> annotated = FromAnnotations(annotations, prefix, fields);
  // The un-prefixed (legacy) set is a pre hook when no pre. one exists.
  if (!annotated && phase == HookPhase::kPre) annotated = FromAnnotations(annotations, "", fields);
  if (annotated) {
    plan.push_back({"<from-annotation>", "annotation", std::move(*annotated)});
    return plan;
  }
  if (spec_ == nullptr) return plan;
  const std::map<std::string, std::string> labels = kube::ObjectLabels(pod);
  for (size_t i = 0; i < spec_->hooks.resources.size(); ++i) {
    const api::BackupResourceHookSpec& rh = spec_->hooks.resources[i];
    // Velero's ResourceHookSelector.applicableTo.
    if (!selectors_[i].namespaces.ShouldInclude(fields.ns) ||
        !selectors_[i].resources.ShouldInclude("pods") ||
        (rh.label_selector.has_value() && !rh.label_selector->Matches(labels))) {
      continue;
    }
    for (const api::BackupResourceHook& h : phase == HookPhase::kPre ? rh.pre : rh.post) {
      if (h.exec.has_value()) plan.push_back({rh.name, "backupSpec", *h.exec});
    }
  }
  return plan;
}

bool HookRunner::Run(HookPhase phase, const json::value& pod, std::string* failure) {
  const LogFields fields{"pods", std::string(kube::ObjectNamespace(pod)),
                         std::string(kube::ObjectName(pod))};
  std::string_view pod_phase = StringField(FindObject(pod, "status"), "phase");
  if (pod_phase == "Succeeded" || pod_phase == "Failed") {
    log_->Info(Cat({"Skipping ", PhaseName(phase), " hooks: pod is in phase ", pod_phase}), fields);
    return true;
  }
  for (Planned& hook : Plan(phase, pod, fields)) {
    attempted_.fetch_add(1);
    Status st = Execute(phase, pod, fields, hook);
    if (st.ok()) continue;
    failed_.fetch_add(1);
    // Velero's message and error text, so the results read as Velero's; which hook it was is in
    // the "running exec hook" line before it (or, for a hook that never ran, the error says).
    log_->Error("Error executing hook", fields,
                std::string_view(st.message().data(), st.message().size()));
    if (hook.exec.on_error != api::HookErrorMode::kContinue) {
      if (failure != nullptr) {
        *failure = Cat({"hook \"", hook.name, "\" (", hook.source, "): ",
                        std::string_view(st.message().data(), st.message().size())});
      }
      return false;
    }
  }
  return true;
}

Status HookRunner::Execute(HookPhase phase, const json::value& pod, const LogFields& fields,
                           Planned& hook) {
  api::ExecHook& h = hook.exec;
  const json::object* spec = FindObject(pod, "spec");
  const json::value* containers = spec != nullptr ? spec->if_contains("containers") : nullptr;
  const json::array* list = containers != nullptr ? containers->if_array() : nullptr;
  auto name_of = [](const json::value& c) {
    return std::string(StringField(c.if_object(), "name"));
  };
  if (h.container.empty()) {
    if (list == nullptr || list->empty())
      return absl::InvalidArgumentError("need at least 1 container");
    h.container = name_of(list->front());
  } else if (list == nullptr || std::none_of(list->begin(), list->end(), [&](const json::value& c) {
               return name_of(c) == h.container;
             })) {
    return absl::InvalidArgumentError(Cat({"no such container: \"", h.container, "\""}));
  }
  if (h.command.empty()) return absl::InvalidArgumentError("command is required");
  if (h.on_error == api::HookErrorMode::kUnset) h.on_error = api::HookErrorMode::kFail;
  if (h.timeout.count() <= 0) h.timeout = kDefaultHookTimeout;

  // BackupLog has no free-form fields: Velero's hook fields go into the message.
  log_->Info(Cat({"running exec hook hookName=", hook.name, " hookContainer=", h.container,
                  " hookCommand=", GoStringSlice(h.command), " hookOnError=", api::ToString(h.on_error),
                  " hookTimeout=", api::FormatGoDuration(h.timeout),
                  " hookPhase=", PhaseName(phase), " hookSource=", hook.source}),
             fields);
  return ExecHookCommand(exec_, log_, fields, h.container, h.command, h.timeout, cancel_);
}

}  // namespace lifeboat::backup
