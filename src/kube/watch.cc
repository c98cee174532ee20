#include "lifeboat/kube/watch.h"

#include <algorithm>
#include <random>

#include "lifeboat/common/json.h"
#include "lifeboat/common/log.h"
#include "lifeboat/kube/object.h"

namespace lifeboat::kube {

std::string_view WatchEventTypeName(WatchEventType type) {
  switch (type) {
    case WatchEventType::kAdded:
      return "ADDED";
    case WatchEventType::kModified:
      return "MODIFIED";
    case WatchEventType::kDeleted:
      return "DELETED";
    case WatchEventType::kBookmark:
      return "BOOKMARK";
    case WatchEventType::kError:
      return "ERROR";
  }
  return "UNKNOWN";
}

namespace {

std::optional<WatchEventType> ParseType(std::string_view s) {
  if (s == "ADDED") return WatchEventType::kAdded;
  if (s == "MODIFIED") return WatchEventType::kModified;
  if (s == "DELETED") return WatchEventType::kDeleted;
  if (s == "BOOKMARK") return WatchEventType::kBookmark;
  if (s == "ERROR") return WatchEventType::kError;
  return std::nullopt;
}

boost::json::parse_options ParseOptions() {
  boost::json::parse_options opts;
  opts.max_depth = 1000;  // the default (32) is too shallow for CRD schemas and managedFields
  return opts;
}

StatusOr<WatchEvent> ToEvent(boost::json::value v) {
  auto* o = v.if_object();
  if (o == nullptr) return absl::DataLossError("watch stream: an event is not a JSON object");
  auto t = o->find("type");
  auto obj = o->find("object");
  if (t == o->end() || !t->value().is_string() || obj == o->end()) {
    return absl::DataLossError("watch stream: an event without type or object");
  }
  auto type = ParseType(t->value().get_string());
  if (!type) {
    return absl::DataLossError("watch stream: unknown event type \"" +
                               std::string(t->value().get_string()) + "\"");
  }
  return WatchEvent{*type, std::move(obj->value())};
}

}  // namespace

struct WatchDecoder::Impl {
  Impl() : parser(boost::json::storage_ptr(), ParseOptions()) {}
  boost::json::stream_parser parser;
  bool in_value = false;  // non-whitespace fed since the last complete value
};

WatchDecoder::WatchDecoder() : impl_(std::make_unique<Impl>()) {}
WatchDecoder::~WatchDecoder() = default;

Status WatchDecoder::Feed(std::string_view chunk, const std::function<bool(WatchEvent&&)>& on_event) {
  const char* p = chunk.data();
  size_t n = chunk.size();
  while (n > 0) {
    if (!impl_->in_value) {
      while (n > 0 && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')) {
        ++p;
        --n;
      }
      if (n == 0) break;
      impl_->in_value = true;
    }
    boost::system::error_code ec;
    size_t used = impl_->parser.write_some(p, n, ec);
    if (ec) return absl::DataLossError("watch stream: malformed JSON: " + ec.message());
    p += used;
    n -= used;
    if (!impl_->parser.done()) continue;
    boost::json::value v;
    try {
      v = impl_->parser.release();
    } catch (const std::exception& e) {
      return absl::DataLossError(std::string("watch stream: ") + e.what());
    }
    impl_->parser.reset();
    impl_->in_value = false;
    LIFEBOAT_ASSIGN_OR_RETURN(WatchEvent event, ToEvent(std::move(v)));
    if (!on_event(std::move(event))) return absl::CancelledError("watch handler stopped");
  }
  return absl::OkStatus();
}

Status WatchDecoder::Finish() const {
  if (impl_->in_value) return absl::DataLossError("watch stream: ended inside an event");
  return absl::OkStatus();
}

int WatchErrorCode(const WatchEvent& event) {
  if (event.type != WatchEventType::kError) return 0;
  return static_cast<int>(JsonInt(event.object, {"code"}).value_or(0));
}

Status Watch(DynamicClient& client, const GroupVersionResource& gvr, std::string_view ns,
             const WatchOptions& options, const std::function<bool(WatchEvent&&)>& handler) {
  RestRequest req;
  LIFEBOAT_ASSIGN_OR_RETURN(req.path, client.ResourcePath(gvr, ns));
  ListOptions lo;
  lo.label_selector = options.label_selector;
  lo.field_selector = options.field_selector;
  lo.resource_version = options.resource_version;
  lo.timeout_seconds = options.timeout_seconds;
  req.query.emplace_back("watch", "true");
  if (options.allow_watch_bookmarks) req.query.emplace_back("allowWatchBookmarks", "true");
  for (auto& q : ListQuery(lo)) req.query.push_back(std::move(q));
  req.cancel = options.cancel;
  WatchDecoder decoder;
  Status decode_status;
  bool stopped = false;
  req.on_body = [&](std::string_view chunk) {
    Status s = decoder.Feed(chunk, [&](WatchEvent&& e) {
      if (handler(std::move(e))) return true;
      stopped = true;
      return false;
    });
    if (s.ok()) return true;
    if (!stopped) decode_status = s;
    return false;
  };
  auto resp = client.rest()->Do(req);
  if (stopped) return absl::OkStatus();
  std::string what = "watch " + gvr.ToString() + (ns.empty() ? "" : " in " + std::string(ns));
  if (!decode_status.ok()) return Annotate(decode_status, what);
  if (options.cancel.IsCancelled()) return options.cancel.status();
  if (!resp.ok()) return Annotate(resp.status(), what);
  return Annotate(decoder.Finish(), what);
}

// ---------------------------------------------------------------------------------------------
// Reflector.

Reflector::Reflector(DynamicClient* client, GroupVersionResource gvr, std::string ns,
                     ReflectorStore* store, ReflectorOptions options)
    : client_(client),
      gvr_(std::move(gvr)),
      ns_(std::move(ns)),
      store_(store),
      options_(options),
      clock_(options.clock ? options.clock : &RealClock()) {}

std::string Reflector::last_resource_version() const {
  std::lock_guard<std::mutex> lock(mu_);
  return last_rv_;
}

void Reflector::SetLastResourceVersion(const std::string& rv) {
  std::lock_guard<std::mutex> lock(mu_);
  last_rv_ = rv;
}

StatusOr<std::string> Reflector::ListIntoStore(const CancellationToken& cancel) {
  std::vector<boost::json::value> items;
  ListAllOptions lo;
  lo.list.label_selector = options_.label_selector;
  lo.list.field_selector = options_.field_selector;
  lo.list.cancel = cancel;
  lo.page_size = options_.page_size;
  // After a restart the whole new list is the truth: start collecting again.
  lo.on_restart = [&] { items.clear(); };
  LIFEBOAT_ASSIGN_OR_RETURN(ListAllResult result,
                            ListAll(*client_, gvr_, ns_, lo, [&](boost::json::value&& item) {
                              // Copied out of the page's arena: the store keeps objects
                              // for long and replaces them one by one.
                              items.emplace_back(item, boost::json::storage_ptr());
                              return absl::OkStatus();
                            }));
  ++list_count_;
  store_->Replace(std::move(items), result.resource_version);
  SetLastResourceVersion(result.resource_version);
  return result.resource_version;
}

Status Reflector::WatchFrom(std::string& rv, const CancellationToken& cancel, bool& delivered) {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  const int64_t min_timeout = std::max<int64_t>(1, options_.min_watch_timeout.count());
  WatchOptions wo;
  wo.label_selector = options_.label_selector;
  wo.field_selector = options_.field_selector;
  wo.resource_version = rv;
  wo.allow_watch_bookmarks = true;
  wo.timeout_seconds = min_timeout + static_cast<int64_t>(rng() % static_cast<uint64_t>(min_timeout));
  wo.cancel = cancel;
  bool gone = false;
  Status event_error;
  Status s = Watch(*client_, gvr_, ns_, wo, [&](WatchEvent&& e) {
    if (e.type == WatchEventType::kError) {
      if (WatchErrorCode(e) == 410) {
        gone = true;
      } else {
        event_error = absl::UnavailableError("watch error event: " +
                                             JsonString(e.object, {"message"}).value_or("(no message)"));
      }
      return false;
    }
    std::string new_rv(ObjectResourceVersion(e.object));
    switch (e.type) {
      case WatchEventType::kAdded:
        store_->Add(std::move(e.object));
        break;
      case WatchEventType::kModified:
        store_->Update(std::move(e.object));
        break;
      case WatchEventType::kDeleted:
        store_->Delete(std::move(e.object));
        break;
      default:
        break;
    }
    delivered = true;
    if (!new_rv.empty()) {
      rv = std::move(new_rv);
      SetLastResourceVersion(rv);
    }
    return true;
  });
  if (gone) return absl::OutOfRangeError("watch: resourceVersion " + rv + " is too old (410 Gone)");
  if (!event_error.ok()) return event_error;
  return s;
}

Status Reflector::Run(const CancellationToken& cancel) {
  auto backoff = options_.initial_backoff;
  auto fail = [&](const Status& s, std::string_view what) {
    LB_LOG_WARN("reflector {}: {} failed, retrying in {} ms: {}", gvr_.ToString(), what,
                backoff.count(), s.ToString());
    clock_->SleepFor(backoff, cancel);
    backoff = std::min(backoff * 2, options_.max_backoff);
  };
  while (!cancel.IsCancelled()) {
    auto listed = ListIntoStore(cancel);
    if (cancel.IsCancelled()) break;
    if (!listed.ok()) {
      fail(listed.status(), "list");
      continue;
    }
    std::string rv = *listed;
    while (!cancel.IsCancelled()) {
      bool delivered = false;
      Status s = WatchFrom(rv, cancel, delivered);
      if (cancel.IsCancelled()) break;
      if (delivered) backoff = options_.initial_backoff;
      if (s.code() == absl::StatusCode::kOutOfRange) {
        LB_LOG_INFO("reflector {}: {}; listing again", gvr_.ToString(), std::string(s.message()));
        break;
      }
      if (s.ok()) {
        // The server ended the watch (timeout or a dropped stream): resume from rv. A stream
        // that ended without any event waits a little so a server closing at once is not hammered.
        LB_LOG_DEBUG("reflector {}: watch ended; resuming from resourceVersion {}", gvr_.ToString(), rv);
        if (!delivered) clock_->SleepFor(options_.initial_backoff / 4, cancel);
        continue;
      }
      fail(s, "watch");
    }
  }
  return absl::OkStatus();
}

}  // namespace lifeboat::kube
