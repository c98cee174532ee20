// ListAll / ListAllPages: client-go's pager (k8s.io/client-go/tools/pager) with one difference:
// when a continue token expires, client-go falls back to one unpaged list; Lifeboat restarts the
// paged list (memory stays bounded) and skips objects already delivered.

#include <unordered_set>

#include "lifeboat/common/log.h"
#include "lifeboat/kube/dynamic_client.h"
#include "lifeboat/kube/object.h"

namespace lifeboat::kube {

StatusOr<ListAllResult> ListAllPages(DynamicClient& client, const GroupVersionResource& gvr,
                                     std::string_view ns, const ListAllOptions& options,
                                     const PageCallback& on_page) {
  ListAllResult result;
  const bool dedupe = !options.on_restart;
  std::unordered_set<std::string> delivered;
  ListOptions lo = options.list;
  lo.limit = options.page_size > 0 ? options.page_size : 500;
  lo.continue_token.clear();
  while (true) {
    if (lo.cancel.IsCancelled()) return lo.cancel.status();
    auto page = client.List(gvr, ns, lo);
    if (!page.ok()) {
      bool expired = page.status().code() == absl::StatusCode::kOutOfRange && !lo.continue_token.empty();
      if (expired && !result.restarted) {
        LB_LOG_WARN("list {}: continue token expired after {} items; restarting the list ({})",
                    gvr.ToString(), result.items, page.status().ToString());
        result.restarted = true;
        lo.continue_token.clear();
        // The old snapshot is gone: restart from the most recent state.
        lo.resource_version.clear();
        lo.resource_version_match.clear();
        if (options.on_restart) options.on_restart();
        continue;
      }
      return page.status();
    }
    ++result.pages;
    result.resource_version = page->resource_version;
    boost::json::array& items = page->items;
    if (dedupe) {
      boost::json::array fresh;
      fresh.reserve(items.size());
      for (auto& item : items) {
        if (delivered.insert(ObjectKey(item)).second) {
          fresh.push_back(std::move(item));
        } else {
          ++result.skipped_duplicates;
        }
      }
      items = std::move(fresh);
    }
    result.items += static_cast<int64_t>(items.size());
    if (!items.empty()) LIFEBOAT_RETURN_IF_ERROR(on_page(items));
    if (page->continue_token.empty()) break;
    lo.continue_token = std::move(page->continue_token);
  }
  if (result.skipped_duplicates > 0) {
    LB_LOG_INFO("list {}: skipped {} objects already delivered before the restart", gvr.ToString(),
                result.skipped_duplicates);
  }
  return result;
}

StatusOr<ListAllResult> ListAll(DynamicClient& client, const GroupVersionResource& gvr,
                                std::string_view ns, const ListAllOptions& options,
                                const ItemCallback& on_item) {
  return ListAllPages(client, gvr, ns, options, [&](boost::json::array& items) -> Status {
    for (auto& item : items) LIFEBOAT_RETURN_IF_ERROR(on_item(std::move(item)));
    return absl::OkStatus();
  });
}

}  // namespace lifeboat::kube
