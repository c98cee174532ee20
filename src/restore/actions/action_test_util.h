#pragma once

// Test-only helpers for the restore action tests: JSON from text, and one Execute with a
// Restore built from a few fields.

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "gtest/gtest.h"
#include "lifeboat/api/restore.h"
#include "lifeboat/common/json.h"
#include "lifeboat/plugin/restore_item_action.h"

namespace lifeboat::restore::testing {

inline boost::json::value Parse(std::string_view text) {
  auto v = ParseJson(text);
  EXPECT_TRUE(v.ok()) << v.status();
  return v.ok() ? *v : boost::json::value();
}

// A restore of backup "b1" with the given namespace mapping and preserveNodePorts.
using Mapping = std::map<std::string, std::string>;

struct RestoreFixture {
  api::Restore restore;
  plugin::RestoreContext context;

  explicit RestoreFixture(std::map<std::string, std::string> mapping = {},
                          std::optional<bool> preserve_node_ports = std::nullopt) {
    restore.metadata.name = "r1";
    restore.spec.backup_name = "b1";
    restore.spec.namespace_mapping = std::move(mapping);
    restore.spec.preserve_node_ports = preserve_node_ports;
    context.restore = &restore;
    context.restore_uid = "uid-1";
    context.velero_namespace = "velero";
    context.backup_name = "b1";
  }

  // Runs `action` on `item` (the backed-up item is `from_backup`, or the item itself).
  StatusOr<plugin::RestoreItemActionOutput> Run(plugin::RestoreItemAction& action,
                                                std::string_view item,
                                                std::string_view from_backup = "") {
    backed_up_ = Parse(from_backup.empty() ? item : from_backup);
    plugin::RestoreItemActionInput in{Parse(item), &backed_up_, &context};
    return action.Execute(std::move(in));
  }

 private:
  boost::json::value backed_up_;
};

}  // namespace lifeboat::restore::testing
