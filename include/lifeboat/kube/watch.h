#pragma once

// Watches (client-go's watch + tools/cache Reflector):
//  - Watch(): one watch request; events are decoded from the streamed body as they arrive
//    (the API server writes one JSON object per event; chunk boundaries fall anywhere).
//  - Reflector: list, then watch from the list's resourceVersion; when the stream ends or fails,
//    watch again from the last resourceVersion seen (events and bookmarks); on 410 Gone (HTTP
//    410 or an ERROR event with code 410) list again; back off between failures; stop when
//    cancelled.
//
// Thread safety: Watch() is reentrant. A Reflector's Run() is called from one thread; its
// store is called from that thread only.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json.hpp>

#include "lifeboat/common/cancellation.h"
#include "lifeboat/common/clock.h"
#include "lifeboat/common/status.h"
#include "lifeboat/kube/dynamic_client.h"

namespace lifeboat::kube {

enum class WatchEventType { kAdded, kModified, kDeleted, kBookmark, kError };

std::string_view WatchEventTypeName(WatchEventType type);

struct WatchEvent {
  WatchEventType type = WatchEventType::kAdded;
  // The object (for kError: the metav1.Status).
  boost::json::value object;
};

// Incremental decoder of a watch stream: feed chunks, get whole events. Accepts events with or
// without newlines between them.
class WatchDecoder {
 public:
  WatchDecoder();
  ~WatchDecoder();
  WatchDecoder(const WatchDecoder&) = delete;
  WatchDecoder& operator=(const WatchDecoder&) = delete;

  // Decodes what `chunk` completes and calls `on_event` for each event, in order. Returns
  // DataLoss for malformed JSON or an object that is not a watch event; Cancelled when
  // `on_event` returns false (decoding stops there).
  Status Feed(std::string_view chunk, const std::function<bool(WatchEvent&&)>& on_event);
  // DataLoss if the stream ended inside an event.
  Status Finish() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

struct WatchOptions {
  std::string label_selector;
  std::string field_selector;
  std::string resource_version;  // "" : from now (with synthetic ADDED events for existing objects)
  bool allow_watch_bookmarks = true;
  std::optional<int64_t> timeout_seconds;  // the server ends the watch after this long
  CancellationToken cancel;
};

// Runs one watch until the server closes the stream (OK), `handler` returns false (OK), the
// token is cancelled (Cancelled), or an error: RestClient's codes (OutOfRange for HTTP 410),
// DataLoss for a malformed stream. ERROR events are passed to the handler like any other.
Status Watch(DynamicClient& client, const GroupVersionResource& gvr, std::string_view ns,
             const WatchOptions& options, const std::function<bool(WatchEvent&&)>& handler);

// The HTTP code in an ERROR event's Status object (0 if none).
int WatchErrorCode(const WatchEvent& event);

// What a Reflector feeds (an Informer, or a test's recorder). Called from the Reflector's thread.
class ReflectorStore {
 public:
  virtual ~ReflectorStore() = default;
  // The complete state after a (re-)list, at `resource_version`.
  virtual void Replace(std::vector<boost::json::value> items, const std::string& resource_version) = 0;
  virtual void Add(boost::json::value obj) = 0;
  virtual void Update(boost::json::value obj) = 0;
  virtual void Delete(boost::json::value obj) = 0;
};

struct ReflectorOptions {
  std::string label_selector;
  std::string field_selector;
  int64_t page_size = 500;
  // Each watch asks the server to end after a random duration in [min, 2*min), as client-go.
  std::chrono::seconds min_watch_timeout{300};
  // Backoff after failures: initial, doubled up to max; reset after a watch that delivered.
  std::chrono::milliseconds initial_backoff{800};
  std::chrono::milliseconds max_backoff{30'000};
  Clock* clock = nullptr;  // nullptr: RealClock()
};

class Reflector {
 public:
  Reflector(DynamicClient* client, GroupVersionResource gvr, std::string ns, ReflectorStore* store,
            ReflectorOptions options = {});

  // Lists and watches until `cancel` is cancelled (returns OK then). Errors are retried with
  // backoff; only cancellation ends it.
  Status Run(const CancellationToken& cancel);

  // The resourceVersion of the last list, event or bookmark seen (any thread).
  std::string last_resource_version() const;
  // Number of (re-)lists done so far (any thread; tests and metrics).
  int64_t list_count() const { return list_count_.load(); }

 private:
  // Lists into the store. Returns the list's resourceVersion.
  StatusOr<std::string> ListIntoStore(const CancellationToken& cancel);
  // Watches from `rv` until the stream ends; updates rv. OutOfRange means "re-list".
  Status WatchFrom(std::string& rv, const CancellationToken& cancel, bool& delivered);
  void SetLastResourceVersion(const std::string& rv);

  DynamicClient* client_;
  GroupVersionResource gvr_;
  std::string ns_;
  ReflectorStore* store_;
  ReflectorOptions options_;
  Clock* clock_;
  mutable std::mutex mu_;
  std::string last_rv_;
  std::atomic<int64_t> list_count_{0};
};

}  // namespace lifeboat::kube
