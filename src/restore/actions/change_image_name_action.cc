#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "src/restore/actions/actions.h"

namespace lifeboat::restore {

namespace json = boost::json;
using namespace actions_internal;

namespace {

constexpr char kPlugin[] = "velero.io/change-image-name";

struct Rule {
  std::string old_part;
  std::string new_part;
};

// "<old>,<new>" per value, split at the first comma, parts trimmed of ASCII white space.
StatusOr<std::vector<Rule>> ParseRules(const PluginConfigMap& config) {
  std::vector<Rule> rules;
  for (const auto& [key, value] : config.data) {  // key order: deterministic
    auto bad = [&](const std::string& why) {
      return absl::InvalidArgumentError(absl::StrCat(kPlugin, ": ConfigMap ", config.name,
                                                     ": data[\"", key, "\"] = \"", value,
                                                     "\": ", why, " (want \"<old>,<new>\")"));
    };
    const size_t comma = value.find(',');
    if (comma == std::string::npos) return bad("no comma");
    Rule r{std::string(absl::StripAsciiWhitespace(value.substr(0, comma))),
           std::string(absl::StripAsciiWhitespace(value.substr(comma + 1)))};
    if (r.old_part.empty()) return bad("the old part is empty");
    if (r.new_part.empty()) return bad("the new part is empty");
    rules.push_back(std::move(r));
  }
  return rules;
}

Status ReplaceImages(json::object* pod_spec, const std::string& key,
                     const std::vector<Rule>& rules) {
  LIFEBOAT_ASSIGN_OR_RETURN(
      json::array * containers,
      OptionalArray(pod_spec, key, kPlugin, absl::StrCat("the pod template's ", key)));
  if (containers == nullptr) return absl::OkStatus();
  for (json::value& c : *containers) {
    json::object* container = c.if_object();
    const std::string image = StringAt(container, "image");
    if (image.empty()) continue;
    for (const Rule& r : rules) {
      if (image.find(r.old_part) == std::string::npos) continue;
      (*container)["image"] = json::string(absl::StrReplaceAll(image, {{r.old_part, r.new_part}}));
      break;
    }
  }
  return absl::OkStatus();
}

}  // namespace

ChangeImageNameAction::ChangeImageNameAction(kube::DynamicClient* client,
                                             const std::string& velero_namespace)
    : config_(client, velero_namespace, kPlugin) {}

ChangeImageNameAction::ChangeImageNameAction(std::optional<PluginConfigMap> config)
    : config_(std::move(config)) {}

plugin::ResourceSelector ChangeImageNameAction::AppliesTo() const {
  return Resources({"deployments", "statefulsets", "daemonsets", "replicasets",
                    "replicationcontrollers", "jobs", "cronjobs", "pods"});
}

StatusOr<plugin::RestoreItemActionOutput> ChangeImageNameAction::Execute(
    plugin::RestoreItemActionInput input) {
  LIFEBOAT_ASSIGN_OR_RETURN(json::object * obj, ItemObject(input.item, Name()));
  LIFEBOAT_ASSIGN_OR_RETURN(const PluginConfigMap* config, config_.Get());
  if (config == nullptr || config->data.empty()) return Unchanged(std::move(input.item));
  LIFEBOAT_ASSIGN_OR_RETURN(std::vector<Rule> rules, ParseRules(*config));
  const std::string kind = StringAt(obj, "kind");
  json::object* pod_spec = nullptr;
  if (kind == "Pod") {
    pod_spec = ObjectAt(obj, "spec");
  } else if (kind == "CronJob") {
    pod_spec = ObjectAtPath(obj, {"spec", "jobTemplate", "spec", "template", "spec"});
  } else {
    pod_spec = ObjectAtPath(obj, {"spec", "template", "spec"});
  }
  LIFEBOAT_RETURN_IF_ERROR(ReplaceImages(pod_spec, "containers", rules));
  LIFEBOAT_RETURN_IF_ERROR(ReplaceImages(pod_spec, "initContainers", rules));
  return Unchanged(std::move(input.item));
}

}  // namespace lifeboat::restore
