// Reads of collections: list with selectors, pagination and resourceVersion semantics, and
// watch.

#include <deque>
#include <limits>
#include <map>

#include "kubesim/src/api/cluster.h"
#include "kubesim/src/api/cluster_internal.h"
#include "kubesim/src/api/object_util.h"
#include "kubesim/src/meta/selectors.h"

namespace kubesim {
namespace {

namespace json = boost::json;

constexpr char kExpiredContinue[] =
    "The provided continue parameter is too old to display a consistent list result. You can "
    "start a new list without the continue parameter, or use the continue token in this response "
    "to retrieve the remainder of the results. Continuing with the provided token results in an "
    "inconsistent list - objects that were created, modified, or deleted between the time the "
    "first chunk was returned and now may show up in the list.";

struct Filters {
  LabelSelector labels;
  FieldSelector fields;
  bool Match(const StoredObject& o) const {
    return labels.Matches(Labels(o.object)) && fields.Matches(o.object);
  }
};

StatusOr<Filters> ParseFilters(const ResourceType& type, const std::string& label,
                               const std::string& field) {
  Filters f;
  auto ls = LabelSelector::Parse(label);
  if (!ls.ok()) return BadRequestError("unable to parse requirement: " + std::string(ls.status().message()));
  f.labels = std::move(*ls);
  auto fs = FieldSelector::Parse(field);
  if (!fs.ok()) return BadRequestError(std::string(fs.status().message()));
  if (Status s = fs->ValidateFor(type.group, type.resource); !s.ok()) {
    return BadRequestError(std::string(s.message()));
  }
  f.fields = std::move(*fs);
  return f;
}

StatusOr<int64_t> ParseRv(const std::string& rv) {
  try {
    size_t used = 0;
    long long v = std::stoll(rv, &used);
    if (used == rv.size() && v >= 0) return static_cast<int64_t>(v);
  } catch (...) {
  }
  return BadRequestError("invalid resource version \"" + rv + "\"");
}

Status TooLargeRv(int64_t asked, int64_t current) {
  json::object d;
  d["causes"] = json::array{json::object{{"reason", "ResourceVersionTooLarge"},
                                         {"message", "Too large resource version"}}};
  d["retryAfterSeconds"] = 1;
  return ApiError(504, "Timeout",
                  "Too large resource version: " + std::to_string(asked) + ", current: " +
                      std::to_string(current),
                  std::move(d));
}

class WatchImpl : public Watch {
 public:
  WatchImpl(Store* store, ResourceType type, std::string ns, Filters filters, int64_t from,
            bool bookmarks)
      : store_(store), type_(std::move(type)), gr_(type_.GroupResource()), ns_(std::move(ns)),
        filters_(std::move(filters)), last_rv_(from), bookmarks_(bookmarks),
        last_sent_(std::chrono::steady_clock::now()) {}

  void AddInitial(WatchEvent ev) { pending_.push_back(std::move(ev)); }

  std::vector<WatchEvent> Next(std::chrono::milliseconds timeout) override {
    std::vector<WatchEvent> out;
    if (done_) return out;
    while (!pending_.empty() && out.size() < 500) {
      out.push_back(std::move(pending_.front()));
      pending_.pop_front();
    }
    if (!out.empty()) return out;
    store_->WaitForEvents(last_rv_, timeout);
    auto events = store_->EventsSince(last_rv_, 1000);
    if (!events.ok()) {
      done_ = true;
      out.push_back(WatchEvent{"ERROR", StatusBody(ExpiredError(std::string(events.status().message())))});
      return out;
    }
    for (const StoreEvent& ev : *events) {
      last_rv_ = ev.rv;
      if (ev.object->gr != gr_) continue;
      if (type_.namespaced && !ns_.empty() && ev.object->ns != ns_) continue;
      bool now = ev.type != EventType::kDeleted && filters_.Match(*ev.object);
      bool before = ev.prev != nullptr && filters_.Match(*ev.prev);
      if (ev.type == EventType::kDeleted) before = filters_.Match(*ev.object);
      const char* kind = nullptr;
      if (now && before) kind = "MODIFIED";
      else if (now) kind = "ADDED";
      else if (before) kind = "DELETED";
      if (kind == nullptr) continue;
      auto obj = ItemInVersion(type_, *ev.object);
      if (!obj.ok()) continue;
      out.push_back(WatchEvent{kind, std::move(*obj)});
    }
    auto now = std::chrono::steady_clock::now();
    if (!out.empty()) {
      last_sent_ = now;
    } else if (bookmarks_ && now - last_sent_ > std::chrono::seconds(10)) {
      out.push_back(Bookmark(false));
      last_sent_ = now;
    }
    return out;
  }

  bool done() const override { return done_; }

  WatchEvent Bookmark(bool initial_events_end) const {
    json::object meta{{"resourceVersion", std::to_string(last_rv_)}};
    if (initial_events_end) meta["annotations"] = json::object{{"k8s.io/initial-events-end", "true"}};
    return WatchEvent{"BOOKMARK", json::object{{"kind", type_.kind}, {"apiVersion", type_.ApiVersion()},
                                               {"metadata", std::move(meta)}}};
  }

 private:
  Store* store_;
  ResourceType type_;
  std::string gr_;
  std::string ns_;
  Filters filters_;
  int64_t last_rv_;
  bool bookmarks_;
  bool done_ = false;
  std::deque<WatchEvent> pending_;
  std::chrono::steady_clock::time_point last_sent_;
};

}  // namespace

bool NeedsConversion(const ResourceType& requested, const StoredObject& item) {
  const json::object* o = item.object.if_object();
  if (o == nullptr) return false;
  auto it = o->find("apiVersion");
  return it == o->end() || !it->value().is_string() || it->value().as_string() != requested.ApiVersion();
}

StatusOr<json::value> ItemInVersion(const ResourceType& requested, const StoredObject& item) {
  return ConvertTo(requested, item.object);
}

StatusOr<ListResult> Cluster::List(const ResourceType& type, const std::string& ns,
                                   const ListOptions& options) {
  LIFEBOAT_ASSIGN_OR_RETURN(Filters filters, ParseFilters(type, options.label_selector, options.field_selector));
  const int64_t current = store_->revision();
  std::string after_key;
  if (!options.continue_token.empty()) {
    if (!options.resource_version.empty() && options.resource_version != "0") {
      return BadRequestError("specifying resource version is not allowed when using continue");
    }
    int64_t token_rv = 0;
    LIFEBOAT_RETURN_IF_ERROR(DecodeContinue(options.continue_token, token_rv, after_key));
    if (token_rv < store_->compacted_revision()) return ExpiredError(kExpiredContinue);
  } else if (!options.resource_version.empty() && options.resource_version != "0") {
    LIFEBOAT_ASSIGN_OR_RETURN(int64_t rv, ParseRv(options.resource_version));
    if (rv > current) return TooLargeRv(rv, current);
    if (options.resource_version_match == "Exact" && rv < store_->compacted_revision()) {
      return ExpiredError("too old resource version: " + std::to_string(rv) + " (" +
                          std::to_string(store_->compacted_revision()) + ")");
    }
  }
  if (!options.resource_version_match.empty() && options.resource_version_match != "NotOlderThan" &&
      options.resource_version_match != "Exact") {
    return BadRequestError("resourceVersionMatch: Unsupported value: \"" + options.resource_version_match + "\"");
  }
  if (options.limit < 0) return BadRequestError("limit must not be negative");
  const bool all_ns = !type.namespaced || ns.empty();
  // Every page of a paginated list shows the state of the first page's revision, as
  // kube-apiserver serves it from etcd's MVCC; once the history is gone the token has expired
  // (410), as after an etcd compaction.
  auto match = [&](const StoredObject& o) { return filters.Match(o); };
  ListPage page;
  if (!options.continue_token.empty()) {
    int64_t token_rv = 0;
    std::string ignored;
    (void)DecodeContinue(options.continue_token, token_rv, ignored);
    auto at = store_->ListAt(type.GroupResource(), ns, all_ns, after_key,
                             static_cast<size_t>(options.limit), match, token_rv);
    if (!at.ok()) return ExpiredError(kExpiredContinue);
    page = std::move(*at);
  } else {
    page = store_->List(type.GroupResource(), ns, all_ns, after_key,
                        static_cast<size_t>(options.limit), match);
  }
  ListResult out;
  out.requested = type;
  out.items = std::move(page.items);
  out.resource_version = std::to_string(page.rv);
  if (!page.continue_key.empty()) {
    int64_t token_rv = page.rv;
    if (!options.continue_token.empty()) {
      std::string ignored;
      (void)DecodeContinue(options.continue_token, token_rv, ignored);
      out.resource_version = std::to_string(token_rv);
    }
    out.continue_token = EncodeContinue(token_rv, page.continue_key);
    if (options.label_selector.empty() && options.field_selector.empty()) {
      out.remaining_item_count = page.remaining;
    }
  }
  return out;
}

StatusOr<std::unique_ptr<Watch>> Cluster::StartWatch(const ResourceType& type, const std::string& ns,
                                                     const WatchOptions& options) {
  LIFEBOAT_ASSIGN_OR_RETURN(Filters filters, ParseFilters(type, options.label_selector, options.field_selector));
  const std::string watch_ns = type.namespaced ? ns : "";
  if (options.resource_version.empty() || options.resource_version == "0" || options.send_initial_events) {
    ListPage page = store_->List(type.GroupResource(), watch_ns, watch_ns.empty(), "", 0,
                                 [&](const StoredObject& o) { return filters.Match(o); });
    auto w = std::make_unique<WatchImpl>(store_, type, watch_ns, filters, page.rv, options.allow_bookmarks);
    for (const auto& item : page.items) {
      auto obj = ItemInVersion(type, *item);
      if (obj.ok()) w->AddInitial(WatchEvent{"ADDED", std::move(*obj)});
    }
    if (options.send_initial_events && options.allow_bookmarks) w->AddInitial(w->Bookmark(true));
    return std::unique_ptr<Watch>(std::move(w));
  }
  LIFEBOAT_ASSIGN_OR_RETURN(int64_t rv, ParseRv(options.resource_version));
  if (rv < store_->compacted_revision()) {
    // kube-apiserver accepts the request and then sends a 410 ERROR event.
    auto w = std::make_unique<WatchImpl>(store_, type, watch_ns, filters, rv, false);
    return std::unique_ptr<Watch>(std::move(w));
  }
  return std::unique_ptr<Watch>(
      std::make_unique<WatchImpl>(store_, type, watch_ns, std::move(filters), rv, options.allow_bookmarks));
}

}  // namespace kubesim
