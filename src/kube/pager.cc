// ListAll / ListAllPages: client-go's pager (k8s.io/client-go/tools/pager) with one difference:
// when a continue token expires, client-go falls back to one unpaged list; Lifeboat restarts the
// paged list (memory stays bounded) and skips objects already delivered.
//
// Skipping needs no set of everything delivered: the API server returns a paged list in key
// order (namespace, then name: etcd's order), so the objects delivered before the restart are
// exactly those at or before the last delivered key. The pager checks that order as it goes;
// if a server breaks it, a restart delivers everything again and says so.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>

#include "lifeboat/common/log.h"
#include "lifeboat/kube/dynamic_client.h"
#include "lifeboat/kube/object.h"
#include "src/kube/lazy_list.h"

namespace lifeboat::kube {
namespace {

// An object's position in list order, borrowed from the object (valid while it lives).
struct KeyView {
  std::string_view ns, name;
  auto operator<=>(const KeyView&) const = default;
};

KeyView KeyOf(const boost::json::value& item) { return {ObjectNamespace(item), ObjectName(item)}; }
// One pass over the item's metadata for both keys.
KeyView KeyOf(const LazyItem& item) {
  KeyView key;
  item.node().Find("metadata").ForEachMember([&](std::string_view k, JsonNode v) {
    if (k == "name") key.name = v.String().value_or(std::string_view());
    if (k == "namespace") key.ns = v.String().value_or(std::string_view());
  });
  return key;
}

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
template <typename Items>
Status Dedupe(const GroupVersionResource& gvr, Items& items, ListAllResult& result,
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
  items.erase(items.begin() + static_cast<std::ptrdiff_t>(keep), items.end());
  if (keep > 0) last.Assign(KeyOf(items[keep - 1]));
  return absl::OkStatus();
}

}  // namespace

namespace {

// The threads page fetches run on, kept between pages and between lists. A thread per page
// (std::async) cost more CPU than parsing the page: each new thread maps and faults in a stack
// and, on a virtual machine, every page fault is expensive. A thread is started only when no
// idle one is left for a task (so fetches never wait for each other), and one idle for a
// while ends.
class FetchThreads {
 public:
  static FetchThreads& Get() {
    static FetchThreads* threads = new FetchThreads();  // never destroyed: threads may outlive main
    return *threads;
  }

  void Run(std::function<void()> task) {
    std::lock_guard lock(mu_);
    tasks_.push_back(std::move(task));
    if (tasks_.size() > idle_) {
      std::thread([this] { Loop(); }).detach();
    } else {
      cv_.notify_one();
    }
  }

 private:
  void Loop() {
    std::unique_lock lock(mu_);
    while (true) {
      ++idle_;
      const bool woke = cv_.wait_for(lock, std::chrono::seconds(30), [&] { return !tasks_.empty(); });
      --idle_;
      if (!woke) return;
      std::function<void()> task = std::move(tasks_.front());
      tasks_.pop_front();
      lock.unlock();
      task();
      task = nullptr;  // its captures die on this thread, before it waits again
      lock.lock();
    }
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> tasks_;
  size_t idle_ = 0;
};

// One page being fetched on a fetch thread, and its continue token, known as soon as it has
// streamed in (before the page is parsed).
template <typename Page>
struct Fetch {
  std::shared_ptr<CancellationSource> cancel;
  std::future<std::string> token;
  std::future<StatusOr<Page>> page;
  int64_t limit = 0;  // asked for
  size_t bytes = 0;   // the body's size when known as the fetch starts (lazy pages), else 0

  // Stops the fetch and waits for its thread.
  void Abandon() {
    if (!page.valid()) return;
    cancel->Cancel("list abandoned");
    page.wait();
  }
};

StatusOr<ListPage> FetchPage(DynamicClient& client, const GroupVersionResource& gvr,
                             std::string_view ns, const ListOptions& o, ListPage*) {
  return client.List(gvr, ns, o);
}

template <typename Page>
Fetch<Page> StartFetch(DynamicClient& client, const GroupVersionResource& gvr, std::string ns,
                       ListOptions o, const CancellationToken& parent) {
  Fetch<Page> f;
  f.cancel = std::make_shared<CancellationSource>(CancellationSource::ChildOf(parent));
  f.limit = o.limit;
  auto promise = std::make_shared<std::promise<std::string>>();
  auto told = std::make_shared<std::atomic<bool>>(false);
  f.token = promise->get_future();
  o.cancel = f.cancel->token();
  o.on_continue = [promise, told](const std::string& t) {
    if (!told->exchange(true)) promise->set_value(t);
  };
  auto result = std::make_shared<std::promise<StatusOr<Page>>>();
  f.page = result->get_future();
  FetchThreads::Get().Run([&client, gvr, ns = std::move(ns), o, promise, told, result] {
    StatusOr<Page> page = FetchPage(client, gvr, ns, o, static_cast<Page*>(nullptr));
    if (!told->exchange(true)) promise->set_value(page.ok() ? page->continue_token : std::string());
    result->set_value(std::move(page));
  });
  return f;
}

// Lazy pages: the body is fetched on this (the pager's) thread and parsed on a fetch thread,
// so the pager fetches page k+1 while page k is parsed. The DOM pages' way (fetch and parse
// together on a fetch thread, page k+1 requested from the pager's thread once page k's
// continue token is known) costs more thread handoffs than a lazy page's parse takes.
template <>
Fetch<LazyPage> StartFetch<LazyPage>(DynamicClient& client, const GroupVersionResource& gvr,
                                     std::string ns, ListOptions o, const CancellationToken& parent) {
  Fetch<LazyPage> f;
  f.cancel = std::make_shared<CancellationSource>(CancellationSource::ChildOf(parent));
  f.limit = o.limit;
  o.cancel = f.cancel->token();
  std::promise<std::string> token;
  f.token = token.get_future();
  auto result = std::make_shared<std::promise<StatusOr<LazyPage>>>();
  f.page = result->get_future();
  StatusOr<RawListPage> raw = FetchListPage(client, gvr, ns, o);
  if (!raw.ok()) {
    token.set_value("");
    result->set_value(raw.status());
    return f;
  }
  f.bytes = raw->bytes;
  // Unknown (a server that sends items before metadata): the pager asks once the page is parsed.
  const std::string next = raw->continue_token.value_or("");
  token.set_value(next);
  if (next.empty()) {
    // No page to fetch meanwhile (the last page, or its token is not known yet): parsed here.
    // A handoff costs more than a small page's parse, and most lists (a namespace's, a small
    // collection's) are one page.
    result->set_value(ParseListPage(*std::move(raw)));
    return f;
  }
  auto body = std::make_shared<RawListPage>(*std::move(raw));
  FetchThreads::Get().Run([body, result] { result->set_value(ParseListPage(std::move(*body))); });
  return f;
}

}  // namespace

namespace {

template <typename Page>
StatusOr<ListAllResult> ListPaged(DynamicClient& client, const GroupVersionResource& gvr,
                                  std::string_view ns, const ListAllOptions& options,
                                  bool page_scoped, const std::function<Status(Page&)>& on_page) {
  ListAllResult result;
  const bool dedupe = !options.on_restart;
  LastKey last;          // last key delivered
  LastKey previous;      // last key seen (delivered or skipped), for the order check
  bool ordered = true;   // every key so far was after the one before it
  bool skipping = false; // after a restart: drop keys up to `last`
  ListOptions lo = options.list;
  const int64_t page_size = options.page_size > 0 ? options.page_size : 500;
  // Only a lazy page's size is known when the next request starts (ListAllOptions::page_bytes).
  const int64_t page_bytes = std::is_same_v<Page, LazyPage> ? options.page_bytes : 0;
  lo.limit = FirstPageLimit(page_bytes, page_size);
  lo.continue_token.clear();
  lo.page_scoped = page_scoped;
  // Pages are fetched one ahead: page k+1 is requested as soon as page k's continue token has
  // streamed in, so the server prepares it while page k is parsed and delivered. At most two
  // pages exist at once.
  Fetch<Page> current = StartFetch<Page>(client, gvr, std::string(ns), lo, options.list.cancel);
  Fetch<Page> next;
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
      lo.limit = NextPageLimit(current.limit > 0 ? current.limit : lo.limit, current.bytes,
                               page_bytes, page_size);
      ListOptions o = lo;
      o.continue_token = next_token;
      next = StartFetch<Page>(client, gvr, std::string(ns), o, options.list.cancel);
    }
    auto page = current.page.get();
    if (!page.ok()) {
      next.Abandon();
      next = Fetch<Page>{};
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
        current = StartFetch<Page>(client, gvr, std::string(ns), lo, options.list.cancel);
        continue;
      }
      return page.status();
    }
    ++result.pages;
    result.resource_version = page->resource_version;
    auto& items = page->items;
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
    next = Fetch<Page>{};
    if (!current.page.valid()) {  // the early token was "" but the page has one: fetch it now
      ListOptions o = lo;
      o.continue_token = page_token;
      current = StartFetch<Page>(client, gvr, std::string(ns), o, options.list.cancel);
    }
  }
  if (result.skipped_duplicates > 0) {
    LB_LOG_INFO("list {}: skipped {} objects already delivered before the restart", gvr.ToString(),
                result.skipped_duplicates);
  }
  return result;
}

}  // namespace

int64_t FirstPageLimit(int64_t page_bytes, int64_t page_size) {
  if (page_bytes <= 0) return page_size;
  return std::clamp<int64_t>(page_bytes / kFirstPageItemBytes, 1, page_size);
}

int64_t NextPageLimit(int64_t limit, size_t bytes, int64_t page_bytes, int64_t page_size) {
  if (page_bytes <= 0 || bytes == 0 || limit <= 0) return limit;
  // as many items of the page's average size (bytes / limit) as fit in page_bytes
  const long double fit = static_cast<long double>(page_bytes) * static_cast<long double>(limit) /
                          static_cast<long double>(bytes);
  if (fit >= static_cast<long double>(page_size)) return page_size;
  return std::max<int64_t>(1, static_cast<int64_t>(fit));
}

StatusOr<ListAllResult> ListAllPages(DynamicClient& client, const GroupVersionResource& gvr,
                                     std::string_view ns, const ListAllOptions& options,
                                     const PageCallback& on_page) {
  return ListPaged<ListPage>(client, gvr, ns, options, /*page_scoped=*/false,
                             [&](ListPage& page) { return on_page(page.items); });
}

StatusOr<ListAllResult> ListAllScopedPages(DynamicClient& client, const GroupVersionResource& gvr,
                                           std::string_view ns, const ListAllOptions& options,
                                           const ScopedPageCallback& on_page) {
  return ListPaged<ListPage>(client, gvr, ns, options, /*page_scoped=*/true, on_page);
}

StatusOr<ListAllResult> ListAllLazyPages(DynamicClient& client, const GroupVersionResource& gvr,
                                         std::string_view ns, const ListAllOptions& options,
                                         const LazyPageCallback& on_page) {
  return ListPaged<LazyPage>(client, gvr, ns, options, /*page_scoped=*/false, on_page);
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
