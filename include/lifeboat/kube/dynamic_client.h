#pragma once

// client-go's dynamic client: every verb for any group/version/resource over unstructured
// objects (boost::json::value as the API server sends them), plus a pager (ListAll) that streams
// a large list page by page in bounded memory.
//
// Paths come from discovery: /api/v1/... for the core group, /apis/<group>/<version>/...
// otherwise, with /namespaces/<ns>/ for namespaced resources. A namespaced resource with an
// empty namespace means all namespaces (list, watch, deletecollection only); a namespace given
// for a cluster-scoped resource is InvalidArgument. A resource the server does not serve is
// NotFound (after discovery's refresh-on-miss).
//
// Errors are RestClient's (rest_client.h: NotFound, AlreadyExists, Aborted for conflicts,
// InvalidArgument with the Status causes, ...), annotated with the verb and object.
//
// Thread safety: all methods may be called from any thread. The RestClient and Discovery must
// outlive the client.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json.hpp>

#include "lifeboat/common/cancellation.h"
#include "lifeboat/common/json_tape.h"
#include "lifeboat/common/status.h"
#include "lifeboat/kube/discovery.h"
#include "lifeboat/kube/rest_client.h"

namespace lifeboat::kube {

// Options shared by writes (create, update, patch, subresource updates).
struct WriteOptions {
  bool dry_run = false;         // dryRun=All
  std::string field_manager;    // fieldManager
  std::string field_validation; // fieldValidation: "", "Ignore", "Warn", "Strict"
  CancellationToken cancel;
};

struct GetOptions {
  std::string resource_version;
  CancellationToken cancel;
};

struct ListOptions {
  std::string label_selector;
  std::string field_selector;
  std::string resource_version;
  std::string resource_version_match;  // "NotOlderThan", "Exact"
  int64_t limit = 0;                   // 0: no limit
  std::string continue_token;
  std::optional<int64_t> timeout_seconds;
  CancellationToken cancel;
  // List only: called at most once, on the thread doing the request, as soon as the page's
  // metadata.continue has streamed in ("" on the last page) — before the items are parsed. Not
  // called when a server sends items before metadata. The pager uses it to ask for the next
  // page early.
  std::function<void(const std::string& continue_token)> on_continue;
  // List only. false (the default): every item holds a counted reference to the page's memory
  // arena, so items may be moved, copied and kept anywhere, for as long as wanted. true: items
  // are parsed into the arena without reference counting (a list costs about a quarter less
  // CPU) and are valid only while ListPage::arena lives. Moving the page, or keeping a copy of
  // `arena`, keeps them valid; a copy of an item shares the arena too, so an item kept beyond
  // that must be copied out: boost::json::value(item, boost::json::storage_ptr()).
  bool page_scoped = false;
  // ListLazy (and ListAllLazyPages) only: keep the page's text, so that LazyItem::Raw gives
  // each item's bytes as the server sent them (one more SIMD pass over the page).
  bool raw_items = false;
};

enum class PatchType {
  kMerge,           // application/merge-patch+json
  kJson,            // application/json-patch+json
  kStrategicMerge,  // application/strategic-merge-patch+json
  kApply,           // application/apply-patch+yaml (server-side apply; JSON is YAML)
};

struct PatchOptions {
  bool dry_run = false;
  std::string field_manager;  // required by the server for kApply
  std::string field_validation;
  bool force = false;         // kApply only: take ownership of conflicting fields
  CancellationToken cancel;
};

struct DeleteOptions {
  std::string propagation_policy;  // "", "Orphan", "Background", "Foreground"
  std::optional<std::string> precondition_uid;
  std::optional<std::string> precondition_resource_version;
  std::optional<int64_t> grace_period_seconds;
  bool dry_run = false;
  CancellationToken cancel;
};

// One page of a list. The items of a page share one memory arena (boost::json storage), freed
// when the last of them is destroyed: a caller that keeps a few items of many pages for long
// should copy them out (`boost::json::value(item, boost::json::storage_ptr())`).
struct ListPage {
  boost::json::array items;
  std::string resource_version;  // the list's metadata.resourceVersion
  std::string continue_token;    // empty on the last page
  std::optional<int64_t> remaining_item_count;
  std::string kind;              // "ConfigMapList"
  std::string api_version;
  // ListOptions::page_scoped only: owns the memory of `items` (null otherwise).
  std::shared_ptr<const void> arena;
};

// A list page read as a JsonTape (DynamicClient::ListLazy, ListAllLazyPages): every item is
// fully parsed and validated, but kept as tape nodes instead of a boost::json::value DOM, which
// costs a fraction of the DOM. Metadata reads in place; Json() builds an item's DOM on demand
// and Canonical() writes its Go json.Marshal form straight from the tape.
//
// Built-in list items come without kind/apiVersion; like ListPage's items (and client-go's
// unstructured decoding) they read as the list's kind without "List" and its apiVersion.
//
// An item is valid while its page's `tape` lives (moving the page or copying `tape` keeps it).
class LazyItem {
 public:
  // The shared part of a page: the tape and the kind/apiVersion items inherit.
  struct Source {
    std::shared_ptr<const JsonTape> tape;
    std::string kind, api_version;  // filled in where an item has none ("" = none)
    // Both as JSON members, for AppendAsServed: {"apiVersion":"v1","kind":"ConfigMap",
    std::string fill_head;
  };

  // Finds metadata, and in one pass over it the name and namespace every consumer reads.
  // `raw`: the item's text as the server sent it, when known.
  LazyItem(JsonNode node, const Source* source, std::string_view raw = {})
      : node_(node), meta_(node.Find("metadata")), source_(source), raw_(raw) {
    meta_.ForEachMember([this](std::string_view key, JsonNode value) {
      if (key == "name") name_ = value.String().value_or(std::string_view());
      if (key == "namespace") namespace_ = value.String().value_or(std::string_view());
    });
  }

  // The item as parsed (without the kind/apiVersion fill).
  JsonNode node() const { return node_; }
  std::string_view Name() const { return name_; }
  std::string_view Namespace() const { return namespace_; }
  std::string_view Uid() const { return Meta("uid"); }
  std::string_view ResourceVersion() const { return Meta("resourceVersion"); }
  std::string_view Kind() const;
  std::string_view ApiVersion() const;
  // metadata.labels / metadata.annotations (invalid nodes when absent).
  JsonNode Labels() const { return meta_.Find("labels"); }
  JsonNode Annotations() const { return meta_.Find("annotations"); }
  // metadata (an invalid node when absent).
  JsonNode Metadata() const { return meta_; }

  // A DOM of the item (kind/apiVersion filled in) in `storage`.
  boost::json::value Json(boost::json::storage_ptr storage = {}) const;
  // CanonicalJson(Json()), written from the tape without a DOM.
  std::string Canonical() const;
  // The same, appended to `out`.
  void AppendCanonical(std::string& out) const;

  // The item's bytes as the API server sent them (without the kind/apiVersion fill), when the
  // page was listed with ListOptions::raw_items; "" otherwise.
  std::string_view Raw() const { return raw_; }
  // Appends the item as the API server sent it, with the kind/apiVersion it lacks put first
  // ({"apiVersion":"v1","kind":"ConfigMap",<the rest as sent>}); the same value as Json(), in
  // the server's key order and number spelling. Without Raw(), AppendCanonical.
  void AppendAsServed(std::string& out) const;
  // The same bytes in two pieces, without copying the item: `head` (the fill, in the page's
  // memory or in `scratch`) then `body` (the rest of Raw()). Both empty without Raw().
  struct Pieces {
    std::string_view head, body;
  };
  Pieces AsServed(std::string& scratch) const;

 private:
  std::string_view Meta(std::string_view key) const {
    return meta_.Find(key).String().value_or(std::string_view());
  }

  JsonNode node_;
  JsonNode meta_;  // found once: every backup looks at it several times
  const Source* source_;
  std::string_view raw_;               // in the tape's text
  std::string_view name_, namespace_;  // in the tape's strings
};

struct LazyPage {
  std::vector<LazyItem> items;
  std::string resource_version;
  std::string continue_token;  // empty on the last page
  std::optional<int64_t> remaining_item_count;
  std::string kind;            // "ConfigMapList"
  std::string api_version;
  // Owns what `items` read (their tape): items are valid while it lives.
  std::shared_ptr<const LazyItem::Source> source;
};

class DynamicClient {
 public:
  DynamicClient(RestClient* rest, Discovery* discovery);

  StatusOr<boost::json::value> Get(const GroupVersionResource& gvr, std::string_view ns,
                                   std::string_view name, const GetOptions& options = {});
  // One page (set options.limit / continue_token for paging, or use ListAll).
  StatusOr<ListPage> List(const GroupVersionResource& gvr, std::string_view ns,
                          const ListOptions& options = {});
  // List, with the page read as a JsonTape (LazyPage) instead of a DOM. options.page_scoped
  // does not apply (a LazyPage always owns its memory).
  StatusOr<LazyPage> ListLazy(const GroupVersionResource& gvr, std::string_view ns,
                              const ListOptions& options = {});
  // `ns` empty: the object's metadata.namespace (for namespaced resources).
  StatusOr<boost::json::value> Create(const GroupVersionResource& gvr, std::string_view ns,
                                      const boost::json::value& obj, const WriteOptions& options = {});
  // PUT to the object's name; Aborted on a resourceVersion conflict.
  StatusOr<boost::json::value> Update(const GroupVersionResource& gvr, std::string_view ns,
                                      const boost::json::value& obj, const WriteOptions& options = {});
  StatusOr<boost::json::value> UpdateStatus(const GroupVersionResource& gvr, std::string_view ns,
                                            const boost::json::value& obj,
                                            const WriteOptions& options = {});
  // `patch` is the body as sent; `subresource` "" or e.g. "status".
  StatusOr<boost::json::value> Patch(const GroupVersionResource& gvr, std::string_view ns,
                                     std::string_view name, PatchType type, std::string_view patch,
                                     const PatchOptions& options = {}, std::string_view subresource = "");
  // Returns what the server answers: the object (with deletionTimestamp when finalizers keep
  // it) or a Status. Aborted when a precondition fails.
  StatusOr<boost::json::value> Delete(const GroupVersionResource& gvr, std::string_view ns,
                                      std::string_view name, const DeleteOptions& options = {});
  StatusOr<boost::json::value> DeleteCollection(const GroupVersionResource& gvr, std::string_view ns,
                                                const DeleteOptions& options = {},
                                                const ListOptions& list_options = {});
  // "scale", "status", ...; NotFound when discovery lists no such subresource.
  StatusOr<boost::json::value> GetSubresource(const GroupVersionResource& gvr, std::string_view ns,
                                              std::string_view name, std::string_view subresource,
                                              const GetOptions& options = {});
  StatusOr<boost::json::value> UpdateSubresource(const GroupVersionResource& gvr, std::string_view ns,
                                                 std::string_view name, std::string_view subresource,
                                                 const boost::json::value& obj,
                                                 const WriteOptions& options = {});

  // The escaped path of a collection (name empty), an object, or an object's subresource.
  StatusOr<std::string> ResourcePath(const GroupVersionResource& gvr, std::string_view ns,
                                     std::string_view name = "", std::string_view subresource = "");

  RestClient* rest() const { return rest_; }
  Discovery* discovery() const { return discovery_; }

 private:
  StatusOr<boost::json::value> DoJson(RestRequest request, std::string_view what);

  RestClient* rest_;
  Discovery* discovery_;
};

// The query parameters of a list or watch request (shared by List, ListAll and Watch).
std::vector<std::pair<std::string, std::string>> ListQuery(const ListOptions& options);

// ---------------------------------------------------------------------------------------------
// Pager.

struct ListAllOptions {
  ListOptions list;        // selectors; limit/continue_token are set by the pager
  int64_t page_size = 500;
  // Lazy pages (ListAllLazyPages) only, 0 = off: pages of about this many bytes at most. The
  // first request asks for FirstPageLimit items, each later one for as many as fit by the size
  // of the page before it (NextPageLimit), between 1 and page_size, so that a collection of
  // large objects (Helm's release secrets are up to 1 MiB each) is listed in pages of bounded
  // memory, not of 500 such objects.
  int64_t page_bytes = 0;
  // Called when a continue token expired (410) and the list restarts from the beginning. If
  // set, the caller takes care of duplicates itself (e.g. discards what it got so far) and every
  // item of the new list is delivered; if not set, items at or before the last key delivered
  // (lists come in namespace/name order) are skipped, so each object is delivered once per call
  // in bounded memory.
  std::function<void()> on_restart;
};

// The first request of a list in pages of about `page_bytes` bytes knows nothing of the objects'
// size: it asks for as many as fit at kFirstPageItemBytes each (32 for 512 KiB), between 1 and
// page_size (page_size when page_bytes is 0). Objects are at most ~1.5 MiB (etcd's limit), so a
// first page holds at most ~48 MiB at 512 KiB; for small objects the next pages are full.
inline constexpr int64_t kFirstPageItemBytes = 16 * 1024;
int64_t FirstPageLimit(int64_t page_bytes, int64_t page_size);
// The limit of the next request of a list in pages of about `page_bytes` bytes, after a page of
// `bytes` bytes asked for `limit` items: as many items of that page's average size as fit,
// between 1 and `page_size` (limit unchanged when page_bytes is 0 or the page was empty).
int64_t NextPageLimit(int64_t limit, size_t bytes, int64_t page_bytes, int64_t page_size);

struct ListAllResult {
  std::string resource_version;  // of the (last) list: start a watch from here
  int64_t items = 0;             // delivered
  int64_t pages = 0;
  bool restarted = false;        // a continue token expired and the list was restarted
  int64_t skipped_duplicates = 0;
  // A restart happened after a list that was not in key order, so objects delivered before it
  // were delivered again (never seen with etcd-backed resources; see pager.cc).
  bool possible_duplicates = false;
};

// Called with each page's items (the caller may move them out); an error stops the list and is
// returned.
using PageCallback = std::function<Status(boost::json::array& items)>;
using ItemCallback = std::function<Status(boost::json::value&& item)>;

// Lists everything in pages of `page_size`, delivering one page at a time. A continue token
// that expires (410, OutOfRange) restarts the list once per call (logged at warn); a second
// expiry is returned as OutOfRange. Other errors are returned as List returns them.
StatusOr<ListAllResult> ListAllPages(DynamicClient& client, const GroupVersionResource& gvr,
                                     std::string_view ns, const ListAllOptions& options,
                                     const PageCallback& on_page);
// ListAllPages for callers that finish with (or hand on) each page as a whole: pages are listed
// with ListOptions::page_scoped, so `page.items` are valid while `page` (or `page.arena`) lives.
// The callback may move the ListPage out to keep it. page.continue_token and the other
// metadata are the page's; options.list.page_scoped is ignored (always true).
using ScopedPageCallback = std::function<Status(ListPage& page)>;
StatusOr<ListAllResult> ListAllScopedPages(DynamicClient& client, const GroupVersionResource& gvr,
                                           std::string_view ns, const ListAllOptions& options,
                                           const ScopedPageCallback& on_page);
// ListAllPages over ListLazy: the cheapest way to read a large list when most items are only
// looked at or written out (a backup). The callback may move the page out to keep it.
using LazyPageCallback = std::function<Status(LazyPage& page)>;
StatusOr<ListAllResult> ListAllLazyPages(DynamicClient& client, const GroupVersionResource& gvr,
                                         std::string_view ns, const ListAllOptions& options,
                                         const LazyPageCallback& on_page);
StatusOr<ListAllResult> ListAll(DynamicClient& client, const GroupVersionResource& gvr,
                                std::string_view ns, const ListAllOptions& options,
                                const ItemCallback& on_item);

}  // namespace lifeboat::kube
