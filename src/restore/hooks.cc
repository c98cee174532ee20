// InitRestoreHookAction (Velero's InitContainerRestoreHookHandler). RestoreExecHooks is in
// hook_exec.cc.

#include "src/restore/hooks.h"

#include <cstdio>
#include <random>
#include <string>
#include <utility>

#include "lifeboat/kube/object.h"
#include "src/engine/hook_exec.h"

namespace lifeboat::restore {
namespace {

namespace json = boost::json;

// The init container the pod-volume restore puts first; restore hooks' init containers follow.
constexpr std::string_view kRestoreWaitContainer = "restore-wait";

// Velero names an unnamed annotation init container after the first 8 hex digits of a random
// UUID.
std::string RandomHex8() {
  thread_local std::mt19937 rng{std::random_device{}()};
  char buf[9];
  std::snprintf(buf, sizeof(buf), "%08x", static_cast<unsigned>(rng()));
  return buf;
}

bool NonEmptyString(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v != nullptr && v->is_string() && !v->get_string().empty();
}

// Velero's ValidateContainer: a Container with a name, an image and a command.
Status ValidateInitContainer(const json::value& c, const std::string& hook_name) {
  const json::object* o = c.if_object();
  const json::value* command = o != nullptr ? o->if_contains("command") : nullptr;
  bool ok = o != nullptr && NonEmptyString(*o, "name") && NonEmptyString(*o, "image") &&
            command != nullptr && command->is_array() && !command->get_array().empty();
  if (ok) {
    for (const json::value& arg : command->get_array()) ok = ok && arg.is_string();
  }
  if (ok) return absl::OkStatus();
  return absl::InvalidArgumentError(
      "restore hook \"" + hook_name +
      "\": invalid InitContainer in restore hook, it doesn't have Command, Name or Image field");
}

// The init container the pod's annotations define, if any.
std::optional<json::object> FromAnnotations(const std::map<std::string, std::string>& annotations) {
  auto get = [&](std::string_view key) -> std::string {
    auto it = annotations.find(std::string(key));
    return it == annotations.end() ? std::string() : it->second;
  };
  const std::string image = get(kInitImageKey);
  if (image.empty()) return std::nullopt;
  std::string name = get(kInitNameKey);
  if (name.empty()) name = "velero-restore-init-" + RandomHex8();
  json::object c{{"name", name}, {"image", image}};
  // Without a command the image's entrypoint runs (Velero logs as much).
  if (const std::string command = get(kInitCommandKey); !command.empty()) {
    json::array argv;
    for (const std::string& a : engine::ParseHookCommand(command)) argv.emplace_back(a);
    c["command"] = std::move(argv);
  }
  return c;
}

}  // namespace

plugin::ResourceSelector InitRestoreHookAction::AppliesTo() const {
  plugin::ResourceSelector s;
  s.included_resources = {"pods"};
  return s;
}

StatusOr<plugin::RestoreItemActionOutput> InitRestoreHookAction::Execute(
    plugin::RestoreItemActionInput input) {
  plugin::RestoreItemActionOutput out;
  json::object* pod = input.item.if_object();
  json::value* spec_v = pod != nullptr ? pod->if_contains("spec") : nullptr;
  if (spec_v == nullptr || !spec_v->is_object()) {
    return absl::InvalidArgumentError("init restore hooks: the pod has no spec object");
  }
  json::object& spec = spec_v->get_object();
  json::array own;
  if (const json::value* existing = spec.if_contains("initContainers");
      existing != nullptr && !existing->is_null()) {
    if (!existing->is_array()) {
      return absl::InvalidArgumentError("init restore hooks: spec.initContainers is not a list");
    }
    own = existing->get_array();
  }
  json::array added;
  if (!own.empty() && own.front().is_object() &&
      own.front().get_object().if_contains("name") != nullptr &&
      own.front().get_object().at("name") == json::value(kRestoreWaitContainer)) {
    added.push_back(std::move(own.front()));
    own.erase(own.begin());
  }
  const size_t before = added.size();
  if (std::optional<json::object> c = FromAnnotations(kube::ObjectAnnotations(input.item))) {
    added.emplace_back(std::move(*c));
  } else if (input.context != nullptr && input.context->restore != nullptr) {
    const HookSelectors selectors(&input.context->restore->spec);
    // Velero matches spec entries against the namespace the pod is restored into.
    const std::string ns = input.context->MapNamespace(std::string(kube::ObjectNamespace(input.item)));
    const std::map<std::string, std::string> labels = kube::ObjectLabels(input.item);
    for (size_t i = 0; i < selectors.size(); ++i) {
      if (!selectors.Applies(i, ns, labels)) continue;
      for (const api::RestoreResourceHook& h : selectors.entry(i).post_hooks) {
        if (!h.init.has_value()) continue;
        for (const json::value& c : h.init->init_containers) {
          LIFEBOAT_RETURN_IF_ERROR(ValidateInitContainer(c, selectors.entry(i).name));
          added.push_back(c);
        }
      }
    }
  }
  if (added.size() > before) {
    for (json::value& c : own) added.push_back(std::move(c));
    spec["initContainers"] = std::move(added);
  }
  out.item = std::move(input.item);
  return out;
}

}  // namespace lifeboat::restore
