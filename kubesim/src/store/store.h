#pragma once

// kubesim's storage: what etcd is to kube-apiserver. A versioned key-value store of objects
// (one global revision counter, which becomes every object's resourceVersion), a window of
// recent change events for watches, and crash-safe persistence (snapshot + write-ahead log)
// in the data directory.
//
// Keys are (group-resource, namespace, name); cluster-scoped objects have namespace "".
// Objects are immutable once stored (shared_ptr<const>), so readers never block writers for
// long and list pages can be serialized outside the lock.
//
// Thread safety: every method may be called from any thread.

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include <boost/json.hpp>
#include <ext/pb_ds/assoc_container.hpp>
#include <ext/pb_ds/tree_policy.hpp>

#include "lifeboat/common/status.h"

namespace kubesim {

using lifeboat::Status;
using lifeboat::StatusOr;
using lifeboat::Annotate;

class Wal;

struct StoredObject {
  std::string gr;  // "deployments.apps"
  std::string ns;
  std::string name;
  int64_t rv = 0;
  boost::json::value object;  // with metadata.resourceVersion == rv
  std::string json;           // `object` serialized
};
using ObjectPtr = std::shared_ptr<const StoredObject>;

enum class EventType { kAdded, kModified, kDeleted };

struct StoreEvent {
  int64_t rv = 0;
  EventType type = EventType::kAdded;
  ObjectPtr object;  // the new state; for kDeleted the last state, stamped with the delete's rv
  ObjectPtr prev;    // the state before (null for kAdded): watches with selectors need it
};

// What a mutation function decides.
struct Mutation {
  enum class Op { kPut, kDelete, kNone };
  Op op = Op::kNone;
  boost::json::value object;  // for kPut: the object to store (resourceVersion is set by the store)
};

struct ListPage {
  std::vector<ObjectPtr> items;
  int64_t rv = 0;             // the store revision the page was read at
  std::string continue_key;   // "" when there is nothing more; else the last key returned
  int64_t remaining = 0;      // objects after this page, before filtering
};

class Store {
 public:
  struct Options {
    std::filesystem::path dir;  // empty: memory only
    bool fresh = false;         // discard existing state in `dir`
    bool sync = false;          // fdatasync every write (survives machine crashes, not only process crashes)
    size_t event_window = 50000;  // events kept for watches
  };

  // Opens (and recovers) the store. DataLoss when the snapshot is corrupt; a torn record at
  // the end of the log (a crash mid-write) is dropped with a warning.
  static StatusOr<std::unique_ptr<Store>> Open(const Options& options);
  ~Store();

  int64_t revision() const;
  // Revision at or below which history is gone (continue tokens and watches from before it
  // get 410).
  int64_t compacted_revision() const;

  ObjectPtr Get(const std::string& gr, const std::string& ns, const std::string& name) const;

  // Objects of `gr` (in namespace `ns`, or all namespaces if `all_namespaces`) whose key is
  // greater than `after_key`, in key order, that pass `filter`, at most `limit` (0 = no limit).
  ListPage List(const std::string& gr, const std::string& ns, bool all_namespaces,
                const std::string& after_key, size_t limit,
                const std::function<bool(const StoredObject&)>& filter) const;
  // The same page as the store was at revision `at_rv` (<= revision()): objects changed since
  // are taken back to their state then, from the event window, as etcd's MVCC serves every
  // page of a paginated list at its first page's revision. OutOfRange when the window no
  // longer reaches back to `at_rv` (compacted). Costs O(page + changes since at_rv), not
  // O(objects): `remaining` comes from an order-statistics count.
  StatusOr<ListPage> ListAt(const std::string& gr, const std::string& ns, bool all_namespaces,
                            const std::string& after_key, size_t limit,
                            const std::function<bool(const StoredObject&)>& filter,
                            int64_t at_rv) const;
  size_t Count(const std::string& gr) const;

  // Atomic read-modify-write of one key. `fn` sees the current object (nullptr if absent) and
  // the revision the write will get, and returns what to do or an error (returned as is).
  // With `dry_run` nothing is stored or emitted. Returns the stored object (for kDelete, the
  // last state stamped with the deletion revision; for kNone, the current object).
  StatusOr<ObjectPtr> Mutate(
      const std::string& gr, const std::string& ns, const std::string& name,
      const std::function<StatusOr<Mutation>(const StoredObject* current, int64_t next_rv)>& fn,
      bool dry_run = false);

  // Events with rv > `after_rv`, at most `max`. OutOfRange (410 to clients) if some of them
  // have left the window.
  StatusOr<std::vector<StoreEvent>> EventsSince(int64_t after_rv, size_t max) const;
  // Waits until an event with rv > `after_rv` exists or `timeout` passes.
  void WaitForEvents(int64_t after_rv, std::chrono::milliseconds timeout) const;

  // Forgets history: events and continue tokens from before now expire (tests use this to
  // provoke 410 responses; kube-apiserver compacts every 5 minutes).
  void Compact();
  // Writes a fresh snapshot and truncates the log.
  Status Checkpoint();

  // Every group-resource with at least one object.
  std::vector<std::string> GroupResources() const;

 private:
  explicit Store(const Options& options);
  Status Recover();
  Status ApplyRecovered(const boost::json::object& record, bool from_snapshot);
  Status CheckpointLocked();
  // OutOfRange unless events after `after_rv` are all still in the window. Caller holds mu_.
  Status CheckWindowLocked(int64_t after_rv) const;
  StatusOr<ListPage> ListAtLocked(const std::string& gr, const std::string& ns,
                                  bool all_namespaces, const std::string& after_key, size_t limit,
                                  const std::function<bool(const StoredObject&)>& filter,
                                  int64_t at_rv) const;

  // "ns/name" -> object, in key order, with O(log n) rank queries (order_of_key) so that a
  // page's remainingItemCount costs no scan of the rest of the collection.
  using Bucket = __gnu_pbds::tree<std::string, ObjectPtr, std::less<std::string>,
                                  __gnu_pbds::rb_tree_tag,
                                  __gnu_pbds::tree_order_statistics_node_update>;

  Options options_;
  mutable std::shared_mutex mu_;
  mutable std::condition_variable_any events_cv_;
  int64_t rv_ = 0;
  int64_t compacted_rv_ = 0;
  // gr -> "ns/name" -> object
  std::unordered_map<std::string, Bucket> objects_;
  std::deque<StoreEvent> events_;
  std::unique_ptr<Wal> wal_;
};

// "ns/name" (or "/name" for cluster-scoped): the key order lists are returned in.
std::string ObjectKey(const std::string& ns, const std::string& name);

}  // namespace kubesim
