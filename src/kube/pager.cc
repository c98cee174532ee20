// ListAll / ListAllPages: client-go's pager (k8s.io/client-go/tools/pager) with one difference:
// when a continue token expires, client-go falls back to one unpaged list; Lifeboat restarts the
// paged list (memory stays bounded) and skips objects already delivered.
//
// Skipping needs no set of everything delivered: the API server returns a paged list in key
// order (namespace, then name: etcd's order), so the objects delivered before the restart are
// exactly those at or before the last delivered key. The pager checks that order as it goes;
// if a server breaks it, a restart delivers everything again and says so.

#include <atomic>
#include <future>
#include <memory>
#include <string>
#include <utility>

#include "lifeboat/common/log.h"
#include "lifeboat/kube/dynamic_client.h"
#include "lifeboat/kube/object.h"

namespace lifeboat::kube {
namespace {

// An object's position in list order, borrowed from the object (valid while it lives).
struct KeyView {
  std::string_view ns, name;
  auto operator<=>(const KeyView&) const = default;
};

KeyView KeyOf(const boost::json::value& item) { return {ObjectNamespace(item), ObjectName(item)}; }

// The last key delivered, owned (the items themselves move on to the caller).
struct LastKey {
  std::string ns, name;
  bool set = false;
  KeyView view() const { return {ns, name}; }
  void Assign(KeyView k) {
    ns.assign(k.ns);
    name.assign(k.name);
    set = true;
  }
};

// Drops the items of a page already delivered before a restart (by key order) and checks that
// the server lists in key order. FailedPrecondition when the order breaks after a restart.
Status Dedupe(const GroupVersionResource& gvr, boost::json::array& items, ListAllResult& result,
              LastKey& last, LastKey& previous, bool& ordered, bool& skipping) {
  KeyView prev = previous.view();
  bool have_prev = previous.set;
  size_t keep = 0;
  for (size_t i = 0; i < items.size(); ++i) {
    KeyView key = KeyOf(items[i]);
    if (have_prev && !(prev < key)) {
      if (result.restarted && ordered) {
        // Skipping by order after the restart would be wrong: give up rather than lose or
        // repeat objects silently.
        return absl::FailedPreconditionError(
            "list " + gvr.ToString() + ": the server's list is not in key order, so the " +
            "expired list cannot be resumed exactly; list again");
      }
      ordered = false;
    }
    prev = key;
    have_prev = true;
    if (skipping && key <= last.view()) {
      ++result.skipped_duplicates;
      continue;
    }
    skipping = false;
    if (keep != i) items[keep] = std::move(items[i]);
    ++keep;
  }
  // `prev` still points into the page's last item (moved or not, its strings stay put).
  if (have_prev) previous.Assign(prev);
  items.resize(keep);
  if (keep > 0) last.Assign(KeyOf(items[keep - 1]));
  return absl::OkStatus();
}

}  // namespace

namespace {

// One page being fetched on its own thread, and its continue token, known as soon as it has
// streamed in (before the page is parsed).
struct Fetch {
  std::shared_ptr<CancellationSource> cancel;
  std::future<std::string> token;
  std::future<StatusOr<ListPage>> page;

  // Stops the fetch and waits for its thread.
  void Abandon() {
    if (!page.valid()) return;
    cancel->Cancel("list abandoned");
    page.wait();
  }
};

Fetch StartFetch(DynamicClient& client, const GroupVersionResource& gvr, std::string ns,
                 ListOptions o, const CancellationToken& parent) {
  Fetch f;
  f.cancel = std::make_shared<CancellationSource>(CancellationSource::ChildOf(parent));
  auto promise = std::make_shared<std::promise<std::string>>();
  auto told = std::make_shared<std::atomic<bool>>(false);
  f.token = promise->get_future();
  o.cancel = f.cancel->token();
  o.on_continue = [promise, told](const std::string& t) {
    if (!told->exchange(true)) promise->set_value(t);
  };
  f.page = std::async(std::launch::async, [&client, gvr, ns = std::move(ns), o, promise, told] {
    StatusOr<ListPage> page = client.List(gvr, ns, o);
    if (!told->exchange(true)) promise->set_value(page.ok() ? page->continue_token : std::string());
    return page;
  });
  return f;
}

}  // namespace

namespace {

StatusOr<ListAllResult> ListPaged(DynamicClient& client, const GroupVersionResource& gvr,
                                  std::string_view ns, const ListAllOptions& options,
                                  bool page_scoped, const ScopedPageCallback& on_page) {
  ListAllResult result;
  const bool dedupe = !options.on_restart;
  LastKey last;          // last key delivered
  LastKey previous;      // last key seen (delivered or skipped), for the order check
  bool ordered = true;   // every key so far was after the one before it
  bool skipping = false; // after a restart: drop keys up to `last`
  ListOptions lo = options.list;
  lo.limit = options.page_size > 0 ? options.page_size : 500;
  lo.continue_token.clear();
  lo.page_scoped = page_scoped;
  // Pages are fetched one ahead: page k+1 is requested as soon as page k's continue token has
  // streamed in, so the server prepares it while page k is parsed and delivered. At most two
  // pages exist at once.
  Fetch current = StartFetch(client, gvr, std::string(ns), lo, options.list.cancel);
  Fetch next;
  auto abandon = [&] {
    current.Abandon();
    next.Abandon();
  };
  while (true) {
    if (lo.cancel.IsCancelled()) {
      abandon();
      return lo.cancel.status();
    }
    const std::string next_token = current.token.get();
    if (!next_token.empty()) {
      ListOptions o = lo;
      o.continue_token = next_token;
      next = StartFetch(client, gvr, std::string(ns), o, options.list.cancel);
    }
    auto page = current.page.get();
    if (!page.ok()) {
      next.Abandon();
      next = Fetch{};
      const bool expired = page.status().code() == absl::StatusCode::kOutOfRange && result.pages > 0;
      if (expired && !result.restarted) {
        LB_LOG_WARN("list {}: continue token expired after {} items; restarting the list ({})",
                    gvr.ToString(), result.items, page.status().ToString());
        result.restarted = true;
        // The old snapshot is gone: restart from the most recent state.
        lo.continue_token.clear();
        lo.resource_version.clear();
        lo.resource_version_match.clear();
        if (options.on_restart) options.on_restart();
        if (dedupe && !ordered) {
          LB_LOG_WARN("list {}: the server's list was not in key order; objects delivered "
                      "before the restart will be delivered again", gvr.ToString());
          result.possible_duplicates = true;
        }
        skipping = dedupe && ordered && last.set;
        previous = LastKey{};
        current = StartFetch(client, gvr, std::string(ns), lo, options.list.cancel);
        continue;
      }
      return page.status();
    }
    ++result.pages;
    result.resource_version = page->resource_version;
    boost::json::array& items = page->items;
    if (dedupe) {
      Status order = Dedupe(gvr, items, result, last, previous, ordered, skipping);
      if (!order.ok()) {
        next.Abandon();
        return order;
      }
    }
    result.items += static_cast<int64_t>(items.size());
    const bool last_page = page->continue_token.empty();
    const std::string page_token = page->continue_token;
    if (!items.empty()) {
      // (The callback may move the page away: only the copies above are used after it.)
      if (Status s = on_page(*page); !s.ok()) {
        next.Abandon();
        return s;
      }
    }
    if (last_page) break;
    current = std::move(next);
    next = Fetch{};
    if (!current.page.valid()) {  // the early token was "" but the page has one: fetch it now
      ListOptions o = lo;
      o.continue_token = page_token;
      current = StartFetch(client, gvr, std::string(ns), o, options.list.cancel);
    }
  }
  if (result.skipped_duplicates > 0) {
    LB_LOG_INFO("list {}: skipped {} objects already delivered before the restart", gvr.ToString(),
                result.skipped_duplicates);
  }
  return result;
}

}  // namespace

StatusOr<ListAllResult> ListAllPages(DynamicClient& client, const GroupVersionResource& gvr,
                                     std::string_view ns, const ListAllOptions& options,
                                     const PageCallback& on_page) {
  return ListPaged(client, gvr, ns, options, /*page_scoped=*/false,
                   [&](ListPage& page) { return on_page(page.items); });
}

StatusOr<ListAllResult> ListAllScopedPages(DynamicClient& client, const GroupVersionResource& gvr,
                                           std::string_view ns, const ListAllOptions& options,
                                           const ScopedPageCallback& on_page) {
  return ListPaged(client, gvr, ns, options, /*page_scoped=*/true, on_page);
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
