#include <algorithm>

#include "lifeboat/api/label_selector.h"
#include "lifeboat/plugin/backup_item_action.h"

namespace lifeboat::plugin {

bool SelectorApplies(const ResourceSelector& s, std::string_view gr, std::string_view ns,
                     const std::map<std::string, std::string>& labels) {
  auto contains = [](const std::vector<std::string>& list, std::string_view v) {
    return std::find(list.begin(), list.end(), v) != list.end();
  };
  auto listed = [&](const std::vector<std::string>& list, std::string_view v) {
    return contains(list, v) || contains(list, "*");
  };
  if (!s.included_resources.empty() && !listed(s.included_resources, gr)) return false;
  if (contains(s.excluded_resources, gr)) return false;
  if (!ns.empty()) {
    if (!s.included_namespaces.empty() && !listed(s.included_namespaces, ns)) return false;
    if (contains(s.excluded_namespaces, ns)) return false;
  }
  if (!s.label_selector.empty()) {
    auto sel = api::LabelSelector::Parse(s.label_selector);
    if (!sel.ok() || !sel->Matches(labels)) return false;
  }
  return true;
}

}  // namespace lifeboat::plugin
