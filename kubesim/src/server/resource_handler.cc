#include "kubesim/src/server/resource_handler.h"

#include <algorithm>
#include <chrono>

#include "kubesim/src/api/cluster_internal.h"
#include "kubesim/src/api/object_util.h"
#include "kubesim/src/server/table.h"
#include "kubesim/src/server/wire.h"
#include "lifeboat/common/yaml.h"

namespace kubesim {
namespace {

namespace json = boost::json;
using lifeboat::http::Request;

std::string MediaType(const std::string& content_type) {
  std::string t = content_type.substr(0, content_type.find(';'));
  t.erase(std::remove_if(t.begin(), t.end(), ::isspace), t.end());
  std::transform(t.begin(), t.end(), t.begin(), ::tolower);
  return t;
}

StatusOr<json::value> DecodeBody(const Request& req, bool yaml) {
  if (req.body.empty()) return BadRequestError("the request body is empty");
  if (yaml) {
    auto v = lifeboat::YamlToJson(req.body);
    if (!v.ok()) return BadRequestError("error decoding YAML: " + std::string(v.status().message()));
    return std::move(*v);
  }
  boost::system::error_code ec;
  json::value v = json::parse(req.body, ec);
  if (ec) return BadRequestError("couldn't get version/kind; json parse error: " + ec.message());
  return v;
}

// Decodes a create/update body: JSON or YAML; anything else is 415.
StatusOr<json::value> DecodeObjectBody(const Request& req) {
  std::string mt = MediaType(req.Header("Content-Type"));
  if (mt.empty() || mt == "application/json" || mt == "*/*") return DecodeBody(req, false);
  if (mt == "application/yaml" || mt == "application/x-yaml" || mt == "text/yaml") return DecodeBody(req, true);
  return ApiError(415, "UnsupportedMediaType",
                  "the body of the request was in an unknown format - accepted media types include: "
                  "application/json, application/yaml");
}

Status DryRun(const Request& req, bool& dry_run) {
  dry_run = false;
  auto range = req.query.equal_range("dryRun");
  for (auto it = range.first; it != range.second; ++it) {
    if (it->second == "All") dry_run = true;
    else if (!it->second.empty()) {
      return InvalidError("meta.k8s.io", "CreateOptions", "",
                          {FieldCause{"FieldValueNotSupported",
                                      "Unsupported value: \"" + it->second + "\": supported values: \"All\"",
                                      "dryRun"}});
    }
  }
  return absl::OkStatus();
}

std::string FieldManager(const Request& req) {
  std::string m = req.Query("fieldManager");
  if (!m.empty()) return m;
  std::string ua = req.Header("User-Agent");
  return ua.substr(0, ua.find('/'));
}

StatusOr<WriteOptions> WriteOpts(const Request& req, const UserInfo& user) {
  WriteOptions o;
  LIFEBOAT_RETURN_IF_ERROR(DryRun(req, o.dry_run));
  o.field_manager = FieldManager(req);
  if (o.field_manager.size() > 128) {
    return InvalidError("meta.k8s.io", "PatchOptions", "",
                        {FieldCause{"FieldValueTooLong", "Too long: may not be more than 128 bytes", "fieldManager"}});
  }
  o.user = user.name;
  o.field_validation = req.Query("fieldValidation");
  o.warnings = std::make_shared<std::vector<std::string>>();
  if (!o.field_validation.empty() && o.field_validation != "Ignore" && o.field_validation != "Warn" &&
      o.field_validation != "Strict") {
    return BadRequestError("fieldValidation must be one of Ignore, Warn or Strict, got \"" + o.field_validation + "\"");
  }
  return o;
}

ListOptions ListOpts(const Request& req) {
  ListOptions o;
  o.label_selector = req.Query("labelSelector");
  o.field_selector = req.Query("fieldSelector");
  std::string limit = req.Query("limit");
  if (!limit.empty()) {
    try {
      o.limit = std::stoll(limit);
    } catch (...) {
      o.limit = -1;
    }
  }
  o.continue_token = req.Query("continue");
  o.resource_version = req.Query("resourceVersion");
  o.resource_version_match = req.Query("resourceVersionMatch");
  return o;
}

// Serializes an item of a list: built-in list items carry no apiVersion/kind (as kube-apiserver
// encodes typed lists); custom resources keep theirs.
void AppendItem(std::string& out, const ListResult& list, const StoredObject& item) {
  if (NeedsConversion(list.requested, item)) {
    auto v = ItemInVersion(list.requested, item);
    if (!v.ok()) return;
    if (!list.requested.custom && v->is_object()) {
      v->as_object().erase("apiVersion");
      v->as_object().erase("kind");
    }
    out += json::serialize(*v);
    return;
  }
  if (!list.requested.custom) {
    size_t meta = item.json.find("\"metadata\"");
    if (meta != std::string::npos) {
      out += '{';
      out.append(item.json, meta, std::string::npos);
      return;
    }
  }
  out += item.json;
}

std::string ListBody(const ListResult& list) {
  std::string out;
  size_t guess = 128;
  for (const auto& i : list.items) guess += i->json.size() + 1;
  out.reserve(guess);
  json::object meta{{"resourceVersion", list.resource_version}};
  if (!list.continue_token.empty()) meta["continue"] = list.continue_token;
  if (list.remaining_item_count) meta["remainingItemCount"] = *list.remaining_item_count;
  out += "{\"kind\":" + json::serialize(json::value(list.requested.list_kind)) +
         ",\"apiVersion\":" + json::serialize(json::value(list.requested.ApiVersion())) +
         ",\"metadata\":" + json::serialize(meta) + ",\"items\":[";
  bool first = true;
  for (const auto& item : list.items) {
    if (!first) out += ',';
    first = false;
    AppendItem(out, list, *item);
  }
  out += "]}";
  return out;
}

void SendTable(ResourceRequest& r, const TypeInfo& type, const std::vector<json::value>& objects,
               const std::string& rv, const std::string& cont, std::optional<int64_t> remaining) {
  std::vector<const json::value*> ptrs;
  for (const auto& o : objects) ptrs.push_back(&o);
  std::string accept = r.req.Header("Accept");
  SendJson(r.w, 200, BuildTable(type, ptrs, TableApiVersion(accept), r.req.Query("includeObject"), rv, cont, remaining));
}

void ServeList(ResourceRequest& r, const TypeInfo& type) {
  auto list = r.cluster->List(type.type, r.info.namespace_, ListOpts(r.req));
  if (!list.ok()) return SendStatus(r.w, list.status());
  if (WantsTable(r.req.Header("Accept"))) {
    std::vector<json::value> objects;
    for (const auto& item : list->items) {
      auto v = ItemInVersion(type.type, *item);
      if (v.ok()) objects.push_back(std::move(*v));
    }
    return SendTable(r, type, objects, list->resource_version, list->continue_token, list->remaining_item_count);
  }
  SendRawJson(r.w, 200, ListBody(*list));
}

void ServeGet(ResourceRequest& r, const TypeInfo& type) {
  StatusOr<json::value> obj = r.info.subresource.empty()
                                  ? r.cluster->Get(type.type, r.info.namespace_, r.info.name)
                                  : r.cluster->GetSubresource(type.type, r.info.namespace_, r.info.name, r.info.subresource);
  if (!obj.ok()) return SendStatus(r.w, obj.status());
  if (r.info.subresource.empty() && WantsTable(r.req.Header("Accept"))) {
    return SendTable(r, type, {*obj}, MetaString(*obj, "resourceVersion"), "", std::nullopt);
  }
  SendJson(r.w, 200, *obj);
}

void ServeWatch(ResourceRequest& r, const TypeInfo& type) {
  WatchOptions wo;
  wo.label_selector = r.req.Query("labelSelector");
  wo.field_selector = r.req.Query("fieldSelector");
  wo.resource_version = r.req.Query("resourceVersion");
  wo.allow_bookmarks = QueryTrue(r.req.Query("allowWatchBookmarks"));
  wo.send_initial_events = QueryTrue(r.req.Query("sendInitialEvents"));
  auto watch = r.cluster->StartWatch(type.type, r.info.namespace_, wo);
  if (!watch.ok()) return SendStatus(r.w, watch.status());
  using Clock = std::chrono::steady_clock;
  auto timeout = std::chrono::seconds(1800);
  if (std::string t = r.req.Query("timeoutSeconds"); !t.empty()) {
    try {
      timeout = std::chrono::seconds(std::max(0LL, std::stoll(t)));
    } catch (...) {
    }
  }
  auto deadline = Clock::now() + timeout;
  if (r.options.faults.watch_drop_after.count() > 0) {
    deadline = std::min(deadline, Clock::now() + std::chrono::duration_cast<Clock::duration>(r.options.faults.watch_drop_after));
  }
  const bool table = WantsTable(r.req.Header("Accept"));
  if (!r.w.BeginStream(200, {{"Content-Type", "application/json"}, {"Transfer-Encoding", "chunked"}}).ok()) return;
  while (Clock::now() < deadline && !(*watch)->done()) {
    std::vector<WatchEvent> events = (*watch)->Next(std::chrono::milliseconds(500));
    std::string chunk;
    for (auto& ev : events) {
      json::value obj = std::move(ev.object);
      if (table && ev.type != "ERROR" && ev.type != "BOOKMARK") {
        obj = BuildTable(type, {&obj}, TableApiVersion(r.req.Header("Accept")), r.req.Query("includeObject"), "", "", std::nullopt);
      }
      chunk += json::serialize(json::object{{"type", ev.type}, {"object", std::move(obj)}});
      chunk += '\n';
    }
    if (!chunk.empty() && !r.w.WriteChunk(chunk).ok()) return;
    if (r.w.PeerClosed()) return;
  }
  (void)r.w.EndStream();
}

PatchType PatchTypeFor(const std::string& media, bool& ok) {
  ok = true;
  if (media == "application/json-patch+json") return PatchType::kJson;
  if (media == "application/merge-patch+json") return PatchType::kMerge;
  if (media == "application/strategic-merge-patch+json") return PatchType::kStrategic;
  if (media == "application/apply-patch+yaml") return PatchType::kApply;
  ok = false;
  return PatchType::kMerge;
}

// Warnings of a write as kube-apiserver sends them: `Warning: 299 - "<text>"` (several joined
// with ", ", which clients split again).
Headers WarningHeaders(const WriteOptions& o) {
  Headers h;
  if (o.warnings == nullptr || o.warnings->empty()) return h;
  std::string value;
  for (const std::string& w : *o.warnings) {
    std::string quoted;
    for (char c : w) {
      if (c == '"' || c == '\\') quoted.push_back('\\');
      quoted.push_back(c);
    }
    value += (value.empty() ? "" : ", ") + std::string("299 - \"") + quoted + "\"";
  }
  h["Warning"] = value;
  return h;
}

void ServePatch(ResourceRequest& r, const TypeInfo& type) {
  std::string media = MediaType(r.req.Header("Content-Type"));
  bool ok;
  PatchType pt = PatchTypeFor(media, ok);
  if (!ok) return SendStatus(r.w, UnsupportedMediaTypeError(media));
  auto body = DecodeBody(r.req, pt == PatchType::kApply);
  if (!body.ok()) return SendStatus(r.w, body.status());
  auto wo = WriteOpts(r.req, r.user);
  if (!wo.ok()) return SendStatus(r.w, wo.status());
  PatchOptions po{*wo, QueryTrue(r.req.Query("force"))};
  if (pt == PatchType::kApply && r.req.Query("fieldManager").empty()) {
    return SendStatus(r.w, BadRequestError("PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch"));
  }
  if (pt != PatchType::kApply && r.req.HasQuery("force")) {
    return SendStatus(r.w, InvalidError("meta.k8s.io", "PatchOptions", "",
                                        {FieldCause{"FieldValueForbidden", "Forbidden: may not be specified for non-apply patch", "force"}}));
  }
  bool existed = r.cluster->store().Get(type.type.GroupResource(), type.type.namespaced ? r.info.namespace_ : "", r.info.name) != nullptr;
  auto obj = r.cluster->Patch(type.type, r.info.namespace_, r.info.name, pt, *body, po, r.info.subresource);
  if (!obj.ok()) return SendStatus(r.w, obj.status());
  SendJson(r.w, existed || pt != PatchType::kApply ? 200 : 201, *obj, WarningHeaders(po.write));
}

DeleteOptions DeleteOpts(const Request& req, Status& status) {
  DeleteOptions o;
  status = DryRun(req, o.dry_run);
  o.propagation_policy = req.Query("propagationPolicy");
  if (std::string g = req.Query("gracePeriodSeconds"); !g.empty()) {
    try {
      o.grace_period_seconds = std::stoll(g);
    } catch (...) {
    }
  }
  if (!req.body.empty()) {
    boost::system::error_code ec;
    json::value b = json::parse(req.body, ec);
    if (ec || !b.is_object()) {
      status = BadRequestError("the body of a delete must be a DeleteOptions object");
      return o;
    }
    const json::object& bo = b.as_object();
    if (auto p = bo.find("propagationPolicy"); p != bo.end() && p->value().is_string()) {
      o.propagation_policy = std::string(p->value().as_string());
    }
    if (auto od = bo.find("orphanDependents"); od != bo.end() && od->value().is_bool() && o.propagation_policy.empty()) {
      o.propagation_policy = od->value().as_bool() ? "Orphan" : "Background";
    }
    if (auto pre = bo.find("preconditions"); pre != bo.end() && pre->value().is_object()) {
      const json::object& p = pre->value().as_object();
      if (auto u = p.find("uid"); u != p.end() && u->value().is_string()) o.precondition_uid = std::string(u->value().as_string());
      if (auto rv = p.find("resourceVersion"); rv != p.end() && rv->value().is_string()) {
        o.precondition_resource_version = std::string(rv->value().as_string());
      }
    }
    if (auto dr = bo.find("dryRun"); dr != bo.end() && dr->value().is_array()) {
      for (const auto& v : dr->value().as_array()) {
        if (v == "All") o.dry_run = true;
      }
    }
  }
  return o;
}

void ServeDelete(ResourceRequest& r, const TypeInfo& type) {
  Status st;
  DeleteOptions opts = DeleteOpts(r.req, st);
  if (!st.ok()) return SendStatus(r.w, st);
  if (r.info.verb == "deletecollection") {
    auto list = r.cluster->DeleteCollection(type.type, r.info.namespace_, ListOpts(r.req), opts);
    if (!list.ok()) return SendStatus(r.w, list.status());
    return SendRawJson(r.w, 200, ListBody(*list));
  }
  auto out = r.cluster->Delete(type.type, r.info.namespace_, r.info.name, opts);
  if (!out.ok()) return SendStatus(r.w, out.status());
  SendJson(r.w, 200, *out);
}

void ServeWrite(ResourceRequest& r, const TypeInfo& type) {
  auto body = DecodeObjectBody(r.req);
  if (!body.ok()) return SendStatus(r.w, body.status());
  auto wo = WriteOpts(r.req, r.user);
  if (!wo.ok()) return SendStatus(r.w, wo.status());
  if (r.info.verb == "create") {
    auto obj = r.cluster->Create(type.type, r.info.namespace_, std::move(*body), *wo, r.info.subresource);
    if (!obj.ok()) return SendStatus(r.w, obj.status());
    return SendJson(r.w, 201, *obj, WarningHeaders(*wo));
  }
  auto obj = r.cluster->Update(type.type, r.info.namespace_, r.info.name, std::move(*body), *wo, r.info.subresource);
  if (!obj.ok()) return SendStatus(r.w, obj.status());
  SendJson(r.w, 200, *obj, WarningHeaders(*wo));
}

bool VerbAllowed(const ResourceType& t, const std::string& verb) {
  return std::find(t.verbs.begin(), t.verbs.end(), verb) != t.verbs.end();
}

}  // namespace

void ServeResource(ResourceRequest& r) {
  const RequestInfo& info = r.info;
  auto type = r.cluster->registry().Find(info.group, info.version, info.resource);
  if (!type) {
    return SendStatus(r.w, ApiError(404, "NotFound", "the server could not find the requested resource"));
  }
  const ResourceType& t = type->type;
  if (!t.namespaced && !info.namespace_.empty() && info.resource != "namespaces") {
    return SendStatus(r.w, ApiError(404, "NotFound", "the server could not find the requested resource"));
  }
  if (t.namespaced && info.namespace_.empty() && info.verb != "list" && info.verb != "watch") {
    return SendStatus(r.w, ApiError(404, "NotFound", "the server could not find the requested resource"));
  }
  if (!info.subresource.empty() && !t.HasSubresource(info.subresource)) {
    return SendStatus(r.w, ApiError(404, "NotFound", "the server could not find the requested resource"));
  }
  RequestAttributes attrs{info.verb, info.group, info.resource, info.subresource, info.namespace_, info.name};
  if (Status s = r.authz->Authorize(r.user, attrs); !s.ok()) {
    return SendStatus(r.w, ApiError(403, "Forbidden", std::string(s.message()),
                                    json::object{{"name", info.name}, {"group", info.group}, {"kind", info.resource}}));
  }
  if (info.subresource == "exec" || info.subresource == "attach" || info.subresource == "log") {
    if (!r.options.exec) return SendStatus(r.w, MethodNotSupportedError(GrOf(t), info.verb));
    return r.options.exec(r.req, r.w, info.namespace_, info.name);
  }
  if (info.subresource.empty() && !VerbAllowed(t, info.verb == "watch" ? "watch" : info.verb)) {
    return SendStatus(r.w, MethodNotSupportedError(GrOf(t), info.verb));
  }
  const std::string& verb = info.verb;
  if (verb == "list") return ServeList(r, *type);
  if (verb == "get") return ServeGet(r, *type);
  if (verb == "watch") return ServeWatch(r, *type);
  if (verb == "create" || verb == "update") return ServeWrite(r, *type);
  if (verb == "patch") return ServePatch(r, *type);
  if (verb == "delete" || verb == "deletecollection") return ServeDelete(r, *type);
  SendStatus(r.w, MethodNotSupportedError(GrOf(t), verb));
}

}  // namespace kubesim
