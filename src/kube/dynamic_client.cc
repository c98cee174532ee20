#include "lifeboat/kube/dynamic_client.h"

#include <cctype>
#include <optional>

#include <boost/json/stream_parser.hpp>

#include "lifeboat/common/json.h"
#include "lifeboat/common/log.h"
#include "lifeboat/kube/object.h"
#include "src/kube/continue_scanner.h"
#include "src/kube/lazy_list.h"
#include "src/kube/page_arena.h"

namespace lifeboat::kube {
namespace {

// Percent-encodes everything but RFC 3986 unreserved characters (names are DNS-like, but a
// name from outside must not be able to change the path).
std::string EscapeSegment(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

void AddWriteQuery(RestRequest& req, bool dry_run, const std::string& field_manager,
                   const std::string& field_validation) {
  if (dry_run) req.query.emplace_back("dryRun", "All");
  if (!field_manager.empty()) req.query.emplace_back("fieldManager", field_manager);
  if (!field_validation.empty()) req.query.emplace_back("fieldValidation", field_validation);
}

std::string DeleteOptionsBody(const DeleteOptions& o) {
  boost::json::object body;
  body["kind"] = "DeleteOptions";
  body["apiVersion"] = "v1";
  if (!o.propagation_policy.empty()) body["propagationPolicy"] = boost::json::string(o.propagation_policy);
  if (o.precondition_uid || o.precondition_resource_version) {
    boost::json::object pre;
    if (o.precondition_uid) pre["uid"] = boost::json::string(*o.precondition_uid);
    if (o.precondition_resource_version) {
      pre["resourceVersion"] = boost::json::string(*o.precondition_resource_version);
    }
    body["preconditions"] = std::move(pre);
  }
  if (o.grace_period_seconds) body["gracePeriodSeconds"] = *o.grace_period_seconds;
  if (o.dry_run) body["dryRun"] = boost::json::array{"All"};
  return boost::json::serialize(body);
}

const char* PatchContentType(PatchType type) {
  switch (type) {
    case PatchType::kMerge:
      return "application/merge-patch+json";
    case PatchType::kJson:
      return "application/json-patch+json";
    case PatchType::kStrategicMerge:
      return "application/strategic-merge-patch+json";
    case PatchType::kApply:
      return "application/apply-patch+yaml";
  }
  return "application/merge-patch+json";
}

std::string Describe(const GroupVersionResource& gvr, std::string_view ns, std::string_view name) {
  std::string s = gvr.ToString();
  if (!ns.empty() || !name.empty()) s += " ";
  if (!ns.empty()) s.append(ns).append("/");
  s.append(name);
  return s;
}

// Built-in list items come without apiVersion/kind (as from kube-apiserver); like client-go's
// unstructured decoding, fill them in from the list so every object is self-describing.
void FillItemTypes(ListPage& page) {
  std::string_view kind = page.kind;
  if (kind.size() <= 4 || kind.substr(kind.size() - 4) != "List") return;
  kind.remove_suffix(4);
  for (auto& item : page.items) {
    auto* o = item.if_object();
    if (o == nullptr) continue;
    const bool add_kind = !o->contains("kind");
    const bool add_api_version = !page.api_version.empty() && !o->contains("apiVersion");
    if (!add_kind && !add_api_version) continue;
    // One rehash, not one per key (the parser sized the object exactly).
    o->reserve(o->size() + (add_kind ? 1 : 0) + (add_api_version ? 1 : 0));
    // emplace builds the strings in the object's own storage (the page's arena).
    if (add_kind) o->emplace("kind", kind);
    if (add_api_version) o->emplace("apiVersion", std::string_view(page.api_version));
  }
}

}  // namespace

std::vector<std::pair<std::string, std::string>> ListQuery(const ListOptions& o) {
  std::vector<std::pair<std::string, std::string>> q;
  if (!o.label_selector.empty()) q.emplace_back("labelSelector", o.label_selector);
  if (!o.field_selector.empty()) q.emplace_back("fieldSelector", o.field_selector);
  if (!o.resource_version.empty()) q.emplace_back("resourceVersion", o.resource_version);
  if (!o.resource_version_match.empty()) q.emplace_back("resourceVersionMatch", o.resource_version_match);
  if (o.limit > 0) q.emplace_back("limit", std::to_string(o.limit));
  if (!o.continue_token.empty()) q.emplace_back("continue", o.continue_token);
  if (o.timeout_seconds) q.emplace_back("timeoutSeconds", std::to_string(*o.timeout_seconds));
  return q;
}

DynamicClient::DynamicClient(RestClient* rest, Discovery* discovery)
    : rest_(rest), discovery_(discovery) {}

StatusOr<std::string> DynamicClient::ResourcePath(const GroupVersionResource& gvr, std::string_view ns,
                                                  std::string_view name, std::string_view subresource) {
  if (gvr.version.empty() || gvr.resource.empty()) {
    return absl::InvalidArgumentError("incomplete resource \"" + gvr.ToString() + "\"");
  }
  bool namespaced = !ns.empty();
  if (discovery_ != nullptr) {
    LIFEBOAT_ASSIGN_OR_RETURN(ApiResource r, discovery_->ResourceFor(gvr));
    namespaced = r.namespaced;
    if (!r.namespaced && !ns.empty()) {
      return absl::InvalidArgumentError(gvr.ToString() + " is cluster-scoped; namespace \"" +
                                        std::string(ns) + "\" given");
    }
    if (!subresource.empty() && !r.HasSubresource(subresource)) {
      return absl::NotFoundError(gvr.ToString() + " has no subresource \"" + std::string(subresource) + "\"");
    }
  }
  if (!subresource.empty() && name.empty()) {
    return absl::InvalidArgumentError("a subresource needs an object name");
  }
  std::string path = gvr.group.empty() ? "/api/" + EscapeSegment(gvr.version)
                                       : "/apis/" + EscapeSegment(gvr.group) + "/" + EscapeSegment(gvr.version);
  if (namespaced && !ns.empty()) path += "/namespaces/" + EscapeSegment(ns);
  path += "/" + EscapeSegment(gvr.resource);
  if (!name.empty()) path += "/" + EscapeSegment(name);
  if (!subresource.empty()) path += "/" + EscapeSegment(subresource);
  return path;
}

StatusOr<boost::json::value> DynamicClient::DoJson(RestRequest request, std::string_view what) {
  auto resp = rest_->Do(request);
  if (!resp.ok()) return Annotate(resp.status(), what);
  for (const auto& w : resp->warnings) LB_LOG_WARN("{}: server warning: {}", what, w);
  auto parsed = ParseJson(resp->body);
  if (!parsed.ok()) return Annotate(parsed.status(), what);
  return parsed;
}

StatusOr<boost::json::value> DynamicClient::Get(const GroupVersionResource& gvr, std::string_view ns,
                                                std::string_view name, const GetOptions& options) {
  if (name.empty()) return absl::InvalidArgumentError("get " + gvr.ToString() + ": empty name");
  RestRequest req;
  LIFEBOAT_ASSIGN_OR_RETURN(req.path, ResourcePath(gvr, ns, name));
  if (!options.resource_version.empty()) req.query.emplace_back("resourceVersion", options.resource_version);
  req.cancel = options.cancel;
  return DoJson(std::move(req), "get " + Describe(gvr, ns, name));
}

namespace {

// Streams a list request's body into `sink` as it arrives (parse overlaps the transfer; no copy
// of the body): reports the continue token early (ListOptions::on_continue), bounds the page's
// size, and turns transport and parse failures into errors naming `what`. Sink: Reset(),
// Write(piece, ec) -> bool (false: malformed), Finish(bytes) -> Status.
template <typename Sink>
Status StreamList(RestClient& rest, RestRequest req, const ListOptions& options,
                  const std::string& what, Sink& sink) {
  boost::system::error_code parse_error;
  size_t parsed_bytes = 0;
  auto reset = [&] {
    sink.Reset();
    parse_error = {};
    parsed_bytes = 0;
  };
  reset();
  std::optional<ContinueScanner> scanner;
  if (options.on_continue) scanner.emplace();
  bool continue_reported = false;
  req.on_body = [&](std::string_view chunk) {
    if (scanner && !continue_reported) {
      if (std::optional<std::string> token = scanner->Feed(chunk)) {
        continue_reported = true;
        options.on_continue(*token);
      }
    }
    parsed_bytes += chunk.size();
    if (parsed_bytes > JsonLimits{}.max_bytes) {
      parse_error = boost::json::error::exception;  // replaced by a clear message below
      return false;
    }
    return sink.Write(chunk, parse_error);
  };
  req.on_body_restart = reset;
  req.finite_stream = true;
  auto resp = rest.Do(req);
  if (!resp.ok()) return Annotate(resp.status(), what);
  for (const auto& w : resp->warnings) LB_LOG_WARN("{}: server warning: {}", what, w);
  if (parsed_bytes > JsonLimits{}.max_bytes) {
    return absl::ResourceExhaustedError(what + ": page larger than " +
                                        std::to_string(JsonLimits{}.max_bytes) +
                                        " bytes; use a smaller page size");
  }
  if (parse_error) {
    return absl::InvalidArgumentError(what + ": invalid JSON near offset " +
                                      std::to_string(parsed_bytes) + ": " + parse_error.message());
  }
  if (Status finished = sink.Finish(parsed_bytes); !finished.ok()) {
    return Status(finished.code(), what + ": " + std::string(finished.message()));
  }
  return absl::OkStatus();
}

// A DOM: one arena per page (a list page is hundreds of small objects, and an arena turns their
// thousands of allocations into a few).
struct DomSink {
  DomSink(bool page_scoped) : page_scoped(page_scoped) {
    popts.max_depth = JsonLimits{}.max_depth;
  }
  void Reset() {
    parser.emplace(boost::json::storage_ptr(), popts);
    if (page_scoped) {
      arena = std::make_shared<PageArena>();
      parser->reset(boost::json::storage_ptr(arena.get()));
    } else {
      parser->reset(boost::json::make_shared_resource<PageArena>());
    }
  }
  bool Write(std::string_view piece, boost::system::error_code& ec) {
    parser->write(piece.data(), piece.size(), ec);
    return !ec;
  }
  Status Finish(size_t bytes) {
    boost::system::error_code ec;
    parser->finish(ec);
    if (!ec) return absl::OkStatus();
    return absl::InvalidArgumentError("invalid JSON near offset " + std::to_string(bytes) + ": " + ec.message());
  }

  const bool page_scoped;
  boost::json::parse_options popts;
  // page_scoped: a plain pointer to the arena (no reference counts: Boost.JSON counts every
  // value's storage_ptr copy atomically, which was a quarter of a list's CPU), the arena owned
  // by the page. Declared before the parser, so it outlives the values the parser holds.
  std::shared_ptr<PageArena> arena;
  std::optional<boost::json::stream_parser> parser;
};

}  // namespace

StatusOr<ListPage> DynamicClient::List(const GroupVersionResource& gvr, std::string_view ns,
                                       const ListOptions& options) {
  RestRequest req;
  LIFEBOAT_ASSIGN_OR_RETURN(req.path, ResourcePath(gvr, ns));
  req.query = ListQuery(options);
  req.cancel = options.cancel;
  const std::string what = "list " + Describe(gvr, ns, "");
  DomSink sink(options.page_scoped);
  LIFEBOAT_RETURN_IF_ERROR(StreamList(*rest_, std::move(req), options, what, sink));
  boost::json::value list = sink.parser->release();
  auto* o = list.if_object();
  if (o == nullptr) return absl::DataLossError(what + ": answer is not an object");
  boost::json::array items(list.storage());  // same storage: the assignment below moves
  if (auto it = o->find("items"); it != o->end()) {
    if (it->value().is_array()) {
      items = std::move(it->value().get_array());
    } else if (!it->value().is_null()) {
      return absl::DataLossError(what + ": items is not an array");
    }
  }
  // Move-constructed, not assigned: the items stay in the page's arena (assigning across
  // storages would copy every object to the heap).
  ListPage page{.items = std::move(items)};
  page.arena = std::move(sink.arena);
  page.resource_version = JsonString(list, {"metadata", "resourceVersion"}).value_or("");
  page.continue_token = JsonString(list, {"metadata", "continue"}).value_or("");
  page.remaining_item_count = JsonInt(list, {"metadata", "remainingItemCount"});
  page.kind = JsonString(list, {"kind"}).value_or("");
  page.api_version = JsonString(list, {"apiVersion"}).value_or("");
  FillItemTypes(page);
  return page;
}

namespace {

// The body gathered for a later parse (lazy_list.h).
struct RawSink {
  void Reset() { body->Reset(); }
  bool Write(std::string_view piece, boost::system::error_code& ec) {
    if (body->Write(piece).ok()) return true;
    ec = boost::json::error::exception;  // only past JsonLimits::max_bytes, reported by StreamList
    return false;
  }
  Status Finish(size_t n) {
    bytes = n;
    return absl::OkStatus();
  }
  std::unique_ptr<JsonTapeBuilder> body = std::make_unique<JsonTapeBuilder>();
  size_t bytes = 0;
};

}  // namespace

StatusOr<RawListPage> FetchListPage(DynamicClient& client, const GroupVersionResource& gvr,
                                    std::string_view ns, const ListOptions& options) {
  RestRequest req;
  LIFEBOAT_ASSIGN_OR_RETURN(req.path, client.ResourcePath(gvr, ns));
  req.query = ListQuery(options);
  req.cancel = options.cancel;
  RawListPage raw;
  raw.what = "list " + Describe(gvr, ns, "");
  raw.raw_items = options.raw_items;
  ListOptions o = options;
  o.on_continue = [&](const std::string& token) {
    raw.continue_token = token;
    if (options.on_continue) options.on_continue(token);
  };
  RawSink sink;
  LIFEBOAT_RETURN_IF_ERROR(StreamList(*client.rest(), std::move(req), o, raw.what, sink));
  raw.body = std::move(sink.body);
  raw.bytes = sink.bytes;
  return raw;
}

StatusOr<LazyPage> ParseListPage(RawListPage raw) {
  const std::string& what = raw.what;
  auto tape = raw.body->Finish(/*keep_text=*/raw.raw_items);
  if (!tape.ok()) return Status(tape.status().code(), what + ": " + std::string(tape.status().message()));
  auto source = std::make_shared<LazyItem::Source>();
  source->tape = *std::move(tape);
  const JsonNode list = source->tape->root();
  if (!list.is_object()) return absl::DataLossError(what + ": answer is not an object");
  const JsonNode items = list.Find("items");
  if (items.valid() && !items.is_array() && items.type() != JsonType::kNull) {
    return absl::DataLossError(what + ": items is not an array");
  }
  LazyPage page;
  auto text = [&](std::initializer_list<std::string_view> path) {
    return std::string(list.Find(path).String().value_or(std::string_view()));
  };
  page.resource_version = text({"metadata", "resourceVersion"});
  page.continue_token = text({"metadata", "continue"});
  page.remaining_item_count = list.Find({"metadata", "remainingItemCount"}).Int();
  page.kind = text({"kind"});
  page.api_version = text({"apiVersion"});
  // The fill FillItemTypes does for DOM pages, applied as items are read.
  if (page.kind.size() > 4 && page.kind.ends_with("List")) {
    source->kind = page.kind.substr(0, page.kind.size() - 4);
    source->api_version = page.api_version;
    source->fill_head = "{";
    if (!source->api_version.empty()) {
      source->fill_head += "\"apiVersion\":" + boost::json::serialize(boost::json::string_view(source->api_version)) + ",";
    }
    source->fill_head += "\"kind\":" + boost::json::serialize(boost::json::string_view(source->kind)) + ",";
  }
  // The items' text, when asked for. A page whose spans are not known (JsonTape::RawElements:
  // integers beyond 64 bits, an escaped "items" key) is given without: Go's form for its items.
  std::vector<std::string_view> raw_items;
  if (raw.raw_items && items.is_array()) {
    auto spans = source->tape->RawElements("items");
    if (spans.ok()) raw_items = *std::move(spans);
  }
  page.items.reserve(items.size());
  items.ForEachElement([&](JsonNode item) {
    const size_t k = page.items.size();
    page.items.emplace_back(item, source.get(), k < raw_items.size() ? raw_items[k] : std::string_view());
  });
  page.source = std::move(source);
  return page;
}

StatusOr<LazyPage> DynamicClient::ListLazy(const GroupVersionResource& gvr, std::string_view ns,
                                           const ListOptions& options) {
  LIFEBOAT_ASSIGN_OR_RETURN(RawListPage raw, FetchListPage(*this, gvr, ns, options));
  return ParseListPage(std::move(raw));
}

// ---------------------------------------------------------------------------------------------
// LazyItem.

std::string_view LazyItem::Kind() const {
  const JsonNode own = node_.Find("kind");
  if (own.valid() || !node_.is_object()) return own.String().value_or(std::string_view());
  return source_->kind;
}

std::string_view LazyItem::ApiVersion() const {
  const JsonNode own = node_.Find("apiVersion");
  if (own.valid() || !node_.is_object()) return own.String().value_or(std::string_view());
  return source_->api_version;
}

boost::json::value LazyItem::Json(boost::json::storage_ptr storage) const {
  boost::json::value v = node_.ToValue(std::move(storage));
  if (auto* o = v.if_object()) {
    if (!source_->kind.empty() && !o->contains("kind")) o->emplace("kind", source_->kind);
    if (!source_->api_version.empty() && !o->contains("apiVersion")) {
      o->emplace("apiVersion", source_->api_version);
    }
  }
  return v;
}

std::string LazyItem::Canonical() const {
  std::string out;
  AppendCanonical(out);
  return out;
}

void LazyItem::AppendCanonical(std::string& out) const {
  if (source_->kind.empty()) {
    AppendCanonicalJson(node_, out);
  } else if (source_->api_version.empty()) {
    AppendCanonicalJson(node_, out, {{"kind", source_->kind}});
  } else {
    AppendCanonicalJson(node_, out, {{"kind", source_->kind}, {"apiVersion", source_->api_version}});
  }
}

LazyItem::Pieces LazyItem::AsServed(std::string& scratch) const {
  if (raw_.empty()) return {};
  const bool lacks_kind = !source_->kind.empty() && node_.is_object() && !node_.Find("kind").valid();
  const bool lacks_version =
      !source_->api_version.empty() && node_.is_object() && !node_.Find("apiVersion").valid();
  if (!lacks_kind && !lacks_version) return {{}, raw_};
  // raw_ is an object: "{", the members (if any), "}".
  const std::string_view rest = raw_.substr(1);
  const size_t first = rest.find_first_not_of(" \t\r\n");
  const bool empty = first != std::string_view::npos && rest[first] == '}';
  if (lacks_kind && lacks_version && !empty) return {source_->fill_head, rest};
  scratch = "{";
  if (lacks_version) {
    scratch += "\"apiVersion\":" + boost::json::serialize(boost::json::string_view(source_->api_version));
  }
  if (lacks_kind) {
    if (lacks_version) scratch += ',';
    scratch += "\"kind\":" + boost::json::serialize(boost::json::string_view(source_->kind));
  }
  if (!empty) scratch += ',';
  return {scratch, rest};
}

void LazyItem::AppendAsServed(std::string& out) const {
  if (raw_.empty()) return AppendCanonical(out);
  std::string scratch;
  const Pieces p = AsServed(scratch);
  out.append(p.head);
  out.append(p.body);
}

StatusOr<boost::json::value> DynamicClient::Create(const GroupVersionResource& gvr, std::string_view ns,
                                                   const boost::json::value& obj, const WriteOptions& options) {
  std::string_view target_ns = ns.empty() ? ObjectNamespace(obj) : ns;
  RestRequest req;
  req.method = "POST";
  LIFEBOAT_ASSIGN_OR_RETURN(req.path, ResourcePath(gvr, target_ns));
  AddWriteQuery(req, options.dry_run, options.field_manager, options.field_validation);
  req.content_type = "application/json";
  req.body = boost::json::serialize(obj);
  req.cancel = options.cancel;
  return DoJson(std::move(req), "create " + Describe(gvr, target_ns, ObjectName(obj)));
}

StatusOr<boost::json::value> DynamicClient::Update(const GroupVersionResource& gvr, std::string_view ns,
                                                   const boost::json::value& obj, const WriteOptions& options) {
  std::string_view name = ObjectName(obj);
  if (name.empty()) return absl::InvalidArgumentError("update " + gvr.ToString() + ": object has no name");
  return UpdateSubresource(gvr, ns.empty() ? ObjectNamespace(obj) : ns, name, "", obj, options);
}

StatusOr<boost::json::value> DynamicClient::UpdateStatus(const GroupVersionResource& gvr, std::string_view ns,
                                                         const boost::json::value& obj,
                                                         const WriteOptions& options) {
  std::string_view name = ObjectName(obj);
  if (name.empty()) return absl::InvalidArgumentError("update status: object has no name");
  return UpdateSubresource(gvr, ns.empty() ? ObjectNamespace(obj) : ns, name, "status", obj, options);
}

StatusOr<boost::json::value> DynamicClient::Patch(const GroupVersionResource& gvr, std::string_view ns,
                                                  std::string_view name, PatchType type,
                                                  std::string_view patch, const PatchOptions& options,
                                                  std::string_view subresource) {
  if (name.empty()) return absl::InvalidArgumentError("patch " + gvr.ToString() + ": empty name");
  if (type == PatchType::kApply && options.field_manager.empty()) {
    return absl::InvalidArgumentError("server-side apply needs a field manager");
  }
  RestRequest req;
  req.method = "PATCH";
  LIFEBOAT_ASSIGN_OR_RETURN(req.path, ResourcePath(gvr, ns, name, subresource));
  AddWriteQuery(req, options.dry_run, options.field_manager, options.field_validation);
  if (options.force && type == PatchType::kApply) req.query.emplace_back("force", "true");
  req.content_type = PatchContentType(type);
  req.body = std::string(patch);
  req.cancel = options.cancel;
  return DoJson(std::move(req), "patch " + Describe(gvr, ns, name));
}

StatusOr<boost::json::value> DynamicClient::Delete(const GroupVersionResource& gvr, std::string_view ns,
                                                   std::string_view name, const DeleteOptions& options) {
  if (name.empty()) return absl::InvalidArgumentError("delete " + gvr.ToString() + ": empty name");
  RestRequest req;
  req.method = "DELETE";
  LIFEBOAT_ASSIGN_OR_RETURN(req.path, ResourcePath(gvr, ns, name));
  if (options.dry_run) req.query.emplace_back("dryRun", "All");
  req.content_type = "application/json";
  req.body = DeleteOptionsBody(options);
  req.cancel = options.cancel;
  return DoJson(std::move(req), "delete " + Describe(gvr, ns, name));
}

StatusOr<boost::json::value> DynamicClient::DeleteCollection(const GroupVersionResource& gvr,
                                                             std::string_view ns,
                                                             const DeleteOptions& options,
                                                             const ListOptions& list_options) {
  RestRequest req;
  req.method = "DELETE";
  LIFEBOAT_ASSIGN_OR_RETURN(req.path, ResourcePath(gvr, ns));
  req.query = ListQuery(list_options);
  if (options.dry_run) req.query.emplace_back("dryRun", "All");
  req.content_type = "application/json";
  req.body = DeleteOptionsBody(options);
  req.cancel = options.cancel;
  return DoJson(std::move(req), "deletecollection " + Describe(gvr, ns, ""));
}

StatusOr<boost::json::value> DynamicClient::GetSubresource(const GroupVersionResource& gvr,
                                                           std::string_view ns, std::string_view name,
                                                           std::string_view subresource,
                                                           const GetOptions& options) {
  RestRequest req;
  LIFEBOAT_ASSIGN_OR_RETURN(req.path, ResourcePath(gvr, ns, name, subresource));
  if (!options.resource_version.empty()) req.query.emplace_back("resourceVersion", options.resource_version);
  req.cancel = options.cancel;
  return DoJson(std::move(req), "get " + Describe(gvr, ns, name) + "/" + std::string(subresource));
}

StatusOr<boost::json::value> DynamicClient::UpdateSubresource(const GroupVersionResource& gvr,
                                                              std::string_view ns, std::string_view name,
                                                              std::string_view subresource,
                                                              const boost::json::value& obj,
                                                              const WriteOptions& options) {
  if (name.empty()) return absl::InvalidArgumentError("update " + gvr.ToString() + ": empty name");
  RestRequest req;
  req.method = "PUT";
  LIFEBOAT_ASSIGN_OR_RETURN(req.path, ResourcePath(gvr, ns, name, subresource));
  AddWriteQuery(req, options.dry_run, options.field_manager, options.field_validation);
  req.content_type = "application/json";
  req.body = boost::json::serialize(obj);
  req.cancel = options.cancel;
  std::string what = "update " + Describe(gvr, ns, name);
  if (!subresource.empty()) what += "/" + std::string(subresource);
  return DoJson(std::move(req), what);
}

}  // namespace lifeboat::kube
