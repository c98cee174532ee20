#pragma once

// Lists many (resource, namespace, selector) collections with a few workers at once and hands
// their pages to one consumer in task order, so the archive is the same whatever the timing
// while the API server is kept busy. Memory is bounded: a worker runs at most `workers` tasks
// ahead of the consumer and holds at most `queue_pages` pages per task.
//
// Tasks ahead of the consumer's help only while the CPU has room for them: against an API
// server far away the listing waits on the network and a second list in flight fills the wait;
// when the machine's CPUs are busy (an API server on the same cores, or a throttled cgroup) it
// only competes with the consumer and holds more pages. So, with `while_cpu_idle`, the lister
// starts with one task at a time and allows one more (up to `workers`) each time, ~every
// 100 ms, the consumer waited for pages while at least 30% of the CPU time was idle, and one
// fewer when less than 20% was.

#include <boost/json.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "lifeboat/common/cancellation.h"
#include "lifeboat/common/status.h"
#include "lifeboat/kube/discovery.h"
#include "lifeboat/kube/dynamic_client.h"

namespace lifeboat::backup {

struct ListTask {
  kube::ApiResource resource;
  std::string ns;              // "" lists across namespaces (or a cluster-scoped resource)
  std::string label_selector;  // pushed down to the API server
};

struct OrderedListerOptions {
  int workers = 4;
  int64_t page_size = 500;
  int queue_pages = 2;
  // Run on the listing threads for each item before it is queued (e.g. its serialization), so
  // that work is spread over the workers instead of the single consumer: appends the item's
  // result to `out`. The results travel with the page (Page::prepared(k)), all in one buffer.
  std::function<void(const kube::LazyItem& item, std::string& out)> prepare;
  bool while_cpu_idle = true;  // see above; false: always `workers` tasks at once
  // Pages keep their text: LazyItem::Raw (kube::ListOptions::raw_items).
  bool raw_items = false;
  int64_t page_bytes = 0;  // kube::ListAllOptions::page_bytes
};

// The while_cpu_idle policy: how many tasks at once after a sample of the CPU's idle share
// (nullopt: unknown) during which the consumer waited for pages (`starved`) or not.
size_t NextAllowance(size_t allowed, size_t most, std::optional<double> idle, bool starved);

// Lazy items (kube::ListAllLazyPages): valid while the Page (or a copy of `source`) lives. Keep
// an item longer only as a DOM (item.Json()).
struct Page {
  std::vector<kube::LazyItem> items;
  std::shared_ptr<const kube::LazyItem::Source> source;
  // What OrderedListerOptions::prepare wrote for items[k] ("" when it is not set).
  std::string_view prepared(size_t k) const {
    if (prepared_ends.empty()) return {};
    const size_t begin = k == 0 ? 0 : prepared_ends[k - 1];
    return std::string_view(prepared_bytes).substr(begin, prepared_ends[k] - begin);
  }
  std::string prepared_bytes;          // every item's result, one after the other
  std::vector<size_t> prepared_ends;   // where items[k]'s ends
};

// Called on the thread that called ListInOrder, for every page of every task, in task order
// then page order. A task whose list fails is reported once with `items` empty and `error` set
// (the other tasks go on); an error returned by the callback stops everything and is returned.
using PageHandler = std::function<Status(size_t task, Page& page, const Status& error)>;

Status ListInOrder(kube::DynamicClient& client, const std::vector<ListTask>& tasks,
                   const OrderedListerOptions& options, const PageHandler& on_page,
                   const CancellationToken& cancel);

}  // namespace lifeboat::backup
