#include "lifeboat/api/validation.h"

#include <set>

#include "absl/strings/ascii.h"
#include "lifeboat/api/filters.h"

namespace lifeboat::api {
namespace {

constexpr char kOldNewMix[] =
    "include-resources, exclude-resources and include-cluster-resources are old filter "
    "parameters.\ninclude-cluster-scoped-resources, exclude-cluster-scoped-resources, "
    "include-namespace-scoped-resources and exclude-namespace-scoped-resources are new filter "
    "parameters.\nThey cannot be used together";

void AppendPrefixed(std::vector<std::string>* out, const std::string& prefix,
                    const std::vector<std::string>& errs) {
  for (const auto& e : errs) out->push_back(prefix + e);
}

void CheckNonNegative(std::vector<std::string>* out, const std::string& field, Duration d) {
  if (d.count() < 0) {
    out->push_back("invalid " + field + " \"" + FormatGoDuration(d) + "\": must not be negative");
  }
}

// Namespace names with Velero's wildcards replaced by a letter, so that Kubernetes' name rules
// apply to the rest of the pattern.
std::string ReplaceWildcards(std::string_view ns) {
  std::string out;
  for (size_t i = 0; i < ns.size(); ++i) {
    if (ns[i] == '*' || ns[i] == '?') {
      out += 'x';
    } else if (ns[i] == '[') {
      size_t close = ns.find(']', i);
      out += 'x';
      i = close == std::string_view::npos ? ns.size() : close;
    } else {
      out += ns[i];
    }
  }
  return out;
}

std::vector<std::string> ValidateNamespaceName(const std::string& ns) {
  std::vector<std::string> errs;
  if (ns.empty() || ns == "*") return errs;  // "" is "no namespace" for Velero
  if (std::optional<std::string> w = ValidateWildcardPattern(ns)) {
    errs.push_back("invalid namespace \"" + ns + "\": " + *w);
    return errs;
  }
  for (const auto& m : ValidateDns1123Label(ReplaceWildcards(ns))) {
    errs.push_back("invalid namespace \"" + ns + "\": " + m);
  }
  return errs;
}

void ValidateHookSelectors(std::vector<std::string>* out, const std::string& path,
                           const std::string& name, const std::vector<std::string>& inc_ns,
                           const std::vector<std::string>& exc_ns) {
  if (name.empty()) out->push_back(path + ".name: Required value");
  AppendPrefixed(out, path + ": Invalid included/excluded namespace lists: ",
                 ValidateNamespaceIncludesExcludes(inc_ns, exc_ns));
}

void ValidateBackupHooks(std::vector<std::string>* out, const BackupHooks& hooks) {
  for (size_t i = 0; i < hooks.resources.size(); ++i) {
    const auto& h = hooks.resources[i];
    const std::string path = "hooks.resources[" + std::to_string(i) + "]";
    ValidateHookSelectors(out, path, h.name, h.included_namespaces, h.excluded_namespaces);
    for (const auto* list : {&h.pre, &h.post}) {
      const std::string which = list == &h.pre ? ".pre[" : ".post[";
      for (size_t j = 0; j < list->size(); ++j) {
        const std::string p = path + which + std::to_string(j) + "]";
        const auto& hook = (*list)[j];
        if (!hook.exec) {
          out->push_back(p + ".exec: Required value");
        } else {
          if (hook.exec->command.empty()) out->push_back(p + ".exec.command: Required value");
          CheckNonNegative(out, p + ".exec.timeout", hook.exec->timeout);
        }
      }
    }
  }
}

}  // namespace

std::vector<std::string> ValidateIncludesExcludes(const std::vector<std::string>& includes_list,
                                                  const std::vector<std::string>& excludes_list) {
  std::vector<std::string> errs;
  std::set<std::string> includes(includes_list.begin(), includes_list.end());
  std::set<std::string> excludes(excludes_list.begin(), excludes_list.end());
  if (includes.size() > 1 && includes.count("*")) {
    errs.push_back("includes list must either contain '*' only, or a non-empty list of items");
  }
  if (excludes.count("*")) errs.push_back("excludes list cannot contain '*'");
  for (const auto& item : excludes) {
    if (includes.count(item)) {
      errs.push_back("excludes list cannot contain an item in the includes list: " + item);
    }
  }
  return errs;
}

std::vector<std::string> ValidateScopedIncludesExcludes(
    const std::vector<std::string>& includes_list, const std::vector<std::string>& excludes_list) {
  std::vector<std::string> errs;
  std::set<std::string> includes(includes_list.begin(), includes_list.end());
  std::set<std::string> excludes(excludes_list.begin(), excludes_list.end());
  if (includes.size() > 1 && includes.count("*")) {
    errs.push_back("includes list must either contain '*' only, or a non-empty list of items");
  }
  if (excludes.size() > 1 && excludes.count("*")) {
    errs.push_back("excludes list must either contain '*' only, or a non-empty list of items");
  }
  if (!includes.empty() && excludes.count("*")) {
    errs.push_back("when exclude is '*', include cannot have value");
  }
  for (const auto& item : excludes) {
    if (includes.count(item)) {
      errs.push_back("excludes list cannot contain an item in the includes list: " + item);
    }
  }
  return errs;
}

std::vector<std::string> ValidateNamespaceIncludesExcludes(
    const std::vector<std::string>& includes_list, const std::vector<std::string>& excludes_list) {
  std::vector<std::string> errs = ValidateIncludesExcludes(includes_list, excludes_list);
  for (const auto* list : {&includes_list, &excludes_list}) {
    std::set<std::string> sorted(list->begin(), list->end());
    for (const auto& ns : sorted) {
      for (auto& e : ValidateNamespaceName(ns)) errs.push_back(std::move(e));
    }
  }
  return errs;
}

std::vector<std::string> ValidateBackupSpec(const BackupSpec& s) {
  std::vector<std::string> errs;
  const bool any_old = !s.included_resources.empty() || !s.excluded_resources.empty() ||
                       s.include_cluster_resources.has_value();
  const bool any_new = !s.included_cluster_scoped_resources.empty() ||
                       !s.excluded_cluster_scoped_resources.empty() ||
                       !s.included_namespace_scoped_resources.empty() ||
                       !s.excluded_namespace_scoped_resources.empty();
  if (any_old && any_new) errs.push_back(kOldNewMix);
  AppendPrefixed(&errs, "Invalid included/excluded resource lists: ",
                 ValidateIncludesExcludes(s.included_resources, s.excluded_resources));
  AppendPrefixed(&errs, "Invalid cluster-scoped included/excluded resource lists: ",
                 ValidateScopedIncludesExcludes(s.included_cluster_scoped_resources,
                                                s.excluded_cluster_scoped_resources));
  AppendPrefixed(&errs, "Invalid namespace-scoped included/excluded resource lists: ",
                 ValidateScopedIncludesExcludes(s.included_namespace_scoped_resources,
                                                s.excluded_namespace_scoped_resources));
  AppendPrefixed(&errs, "Invalid included/excluded namespace lists: ",
                 ValidateNamespaceIncludesExcludes(s.included_namespaces, s.excluded_namespaces));
  if (s.label_selector.has_value() && !s.or_label_selectors.empty()) {
    errs.push_back(
        "encountered labelSelector as well as orLabelSelectors in backup spec, only one can be "
        "specified");
  }
  CheckNonNegative(&errs, "ttl", s.ttl);
  CheckNonNegative(&errs, "csiSnapshotTimeout", s.csi_snapshot_timeout);
  CheckNonNegative(&errs, "itemOperationTimeout", s.item_operation_timeout);
  if (s.resource_policy && absl::AsciiStrToLower(s.resource_policy->kind) != "configmap") {
    errs.push_back("unsupported resource policy kind \"" + s.resource_policy->kind +
                   "\": only configmap is supported");
  }
  if (!s.backup_type.empty() && s.backup_type != "Full" && s.backup_type != "Incremental") {
    errs.push_back("invalid backupType \"" + s.backup_type + "\": must be Full or Incremental");
  }
  ValidateBackupHooks(&errs, s.hooks);
  return errs;
}

const std::vector<std::string>& NonRestorableResources() {
  static const auto* list = new std::vector<std::string>{
      "nodes",
      "events",
      "events.events.k8s.io",
      "backups.velero.io",
      "restores.velero.io",
      "resticrepositories.velero.io",
      "csinodes.storage.k8s.io",
      "volumeattachments.storage.k8s.io",
      "backuprepositories.velero.io",
  };
  return *list;
}

std::vector<std::string> ValidateRestoreSpec(const RestoreSpec& s) {
  std::vector<std::string> errs;
  if (s.backup_name.empty() == s.schedule_name.empty()) {
    errs.push_back(
        "Either a backup or schedule must be specified as a source for the restore, but not "
        "both");
  }
  for (const auto& r : s.included_resources) {
    const auto& nr = NonRestorableResources();
    if (std::find(nr.begin(), nr.end(), absl::AsciiStrToLower(r)) != nr.end()) {
      errs.push_back(r + " are non-restorable resources");
    }
  }
  AppendPrefixed(&errs, "Invalid included/excluded resource lists: ",
                 ValidateIncludesExcludes(s.included_resources, s.excluded_resources));
  AppendPrefixed(&errs, "Invalid included/excluded namespace lists: ",
                 ValidateNamespaceIncludesExcludes(s.included_namespaces, s.excluded_namespaces));
  if (s.label_selector.has_value() && !s.or_label_selectors.empty()) {
    errs.push_back(
        "encountered labelSelector as well as orLabelSelectors in restore spec, only one can be "
        "specified");
  }
  if (!s.existing_resource_policy.empty() && s.existing_resource_policy != "none" &&
      s.existing_resource_policy != "update") {
    errs.push_back("Invalid ExistingResourcePolicy: " + s.existing_resource_policy);
  }
  CheckNonNegative(&errs, "itemOperationTimeout", s.item_operation_timeout);
  for (size_t i = 0; i < s.hooks.resources.size(); ++i) {
    const auto& h = s.hooks.resources[i];
    const std::string path = "hooks.resources[" + std::to_string(i) + "]";
    ValidateHookSelectors(&errs, path, h.name, h.included_namespaces, h.excluded_namespaces);
    for (size_t j = 0; j < h.post_hooks.size(); ++j) {
      const auto& hook = h.post_hooks[j];
      const std::string p = path + ".postHooks[" + std::to_string(j) + "]";
      if (hook.exec && hook.exec->command.empty()) {
        errs.push_back(p + ".exec.command: Required value");
      }
    }
  }
  return errs;
}

std::vector<std::string> ValidateScheduleSpec(const ScheduleSpec& s) {
  std::vector<std::string> errs;
  if (s.schedule.empty()) errs.push_back("invalid schedule: empty spec string");
  for (auto& e : ValidateBackupSpec(s.template_)) errs.push_back(std::move(e));
  return errs;
}

}  // namespace lifeboat::api
