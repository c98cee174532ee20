#include "src/volume/azure/testing/arm_server.h"

#include <algorithm>
#include <array>
#include <cctype>

#include "lifeboat/common/json.h"

namespace lifeboat::volume::azure::testing {
namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::vector<std::string> SplitPath(const std::string& path) {
  std::vector<std::string> out;
  size_t start = 1;
  while (start <= path.size()) {
    size_t slash = path.find('/', start);
    if (slash == std::string::npos) slash = path.size();
    out.push_back(path.substr(start, slash - start));
    start = slash + 1;
  }
  if (!out.empty() && out.back().empty()) out.pop_back();
  return out;
}

std::map<std::string, std::string> ParseForm(const std::string& body) {
  std::map<std::string, std::string> out;
  size_t start = 0;
  while (start <= body.size()) {
    size_t amp = body.find('&', start);
    if (amp == std::string::npos) amp = body.size();
    std::string pair = body.substr(start, amp - start);
    size_t eq = pair.find('=');
    if (eq != std::string::npos) {
      auto k = http::PercentDecode(pair.substr(0, eq), true);
      auto v = http::PercentDecode(pair.substr(eq + 1), true);
      if (k.ok() && v.ok()) out[*k] = *v;
    }
    start = amp + 1;
  }
  return out;
}

const http::Headers kJson = {{"Content-Type", "application/json; charset=utf-8"}};

void SendJson(http::ResponseWriter& w, int status, const boost::json::value& body,
              http::Headers headers = kJson) {
  headers["Content-Type"] = "application/json; charset=utf-8";
  (void)w.Send(status, headers, boost::json::serialize(body));
}

void SendError(http::ResponseWriter& w, int status, const std::string& code,
               const std::string& message, http::Headers headers = kJson) {
  SendJson(
      w, status,
      boost::json::object{{"error", boost::json::object{{"code", code}, {"message", message}}}},
      std::move(headers));
}

bool ValidName(const std::string& name) {
  if (name.empty() || name.size() > 80) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
  });
}

const std::set<std::string> kDiskSkus = {"Standard_LRS", "Premium_LRS", "StandardSSD_LRS",
                                         "UltraSSD_LRS", "Premium_ZRS", "StandardSSD_ZRS",
                                         "PremiumV2_LRS"};

std::string Key(const std::string& sub, const std::string& rg, const std::string& kind,
                const std::string& name) {
  return Lower(sub + "|" + rg + "|" + kind + "|" + name);
}

std::string ResourceId(const std::string& sub, const std::string& rg, const std::string& kind,
                       const std::string& name) {
  return "/subscriptions/" + sub + "/resourceGroups/" + rg + "/providers/Microsoft.Compute/" +
         kind + "/" + name;
}

// {sub, rg, kind, name} of a Compute resource ID, or nullopt.
std::optional<std::array<std::string, 4>> ParseId(const std::string& id) {
  auto seg = SplitPath(id);
  if (seg.size() != 8 || Lower(seg[0]) != "subscriptions" || Lower(seg[2]) != "resourcegroups" ||
      Lower(seg[4]) != "providers" || Lower(seg[5]) != "microsoft.compute") {
    return std::nullopt;
  }
  return std::array<std::string, 4>{seg[1], seg[3], Lower(seg[6]), seg[7]};
}

}  // namespace

StatusOr<std::unique_ptr<ArmServer>> ArmServer::Start(Options options) {
  std::unique_ptr<ArmServer> s(new ArmServer());
  s->options_ = std::move(options);
  ArmServer* self = s.get();
  http::ServerOptions so;
  so.listen = "127.0.0.1:0";
  LIFEBOAT_ASSIGN_OR_RETURN(
      s->server_, http::Server::Start(so, [self](http::Request& r, http::ResponseWriter& w) {
        self->Handle(r, w);
      }));
  return s;
}

ArmServer::~ArmServer() {
  if (server_) server_->Stop();
}

std::string ArmServer::endpoint() const { return "http://" + server_->address(); }

void ArmServer::AddResourceGroup(const std::string& subscription,
                                 const std::string& resource_group) {
  std::lock_guard<std::mutex> l(mu_);
  resource_groups_.insert(Lower(subscription + "|" + resource_group));
}

void ArmServer::AddDisk(const std::string& subscription, const std::string& resource_group,
                        const std::string& name, const std::string& location,
                        const std::string& sku, const std::map<std::string, std::string>& tags,
                        const std::vector<std::string>& zones) {
  boost::json::object tag_obj;
  for (const auto& [k, v] : tags) tag_obj[k] = v;
  boost::json::array zone_arr;
  for (const auto& z : zones) zone_arr.emplace_back(z);
  boost::json::object disk{
      {"id", ResourceId(subscription, resource_group, "disks", name)},
      {"name", name},
      {"type", "Microsoft.Compute/disks"},
      {"location", location},
      {"sku", boost::json::object{{"name", sku}, {"tier", sku.substr(0, sku.find('_'))}}},
      {"properties", boost::json::object{{"creationData", {{"createOption", "Empty"}}},
                                         {"diskSizeGB", 32},
                                         {"diskState", "Attached"},
                                         {"provisioningState", "Succeeded"}}}};
  if (!tag_obj.empty()) disk["tags"] = std::move(tag_obj);
  if (!zone_arr.empty()) disk["zones"] = std::move(zone_arr);
  std::lock_guard<std::mutex> l(mu_);
  resource_groups_.insert(Lower(subscription + "|" + resource_group));
  resources_[Key(subscription, resource_group, "disks", name)] = std::move(disk);
}

void ArmServer::AddSnapshot(const std::string& subscription, const std::string& resource_group,
                            const std::string& name, const std::string& location,
                            const std::string& source_disk_id,
                            const std::map<std::string, std::string>& tags) {
  boost::json::object tag_obj;
  for (const auto& [k, v] : tags) tag_obj[k] = v;
  boost::json::object snap{
      {"id", ResourceId(subscription, resource_group, "snapshots", name)},
      {"name", name},
      {"type", "Microsoft.Compute/snapshots"},
      {"location", location},
      {"sku", boost::json::object{{"name", "Standard_LRS"}, {"tier", "Standard"}}},
      {"properties",
       boost::json::object{
           {"creationData",
            boost::json::object{{"createOption", "Copy"}, {"sourceResourceId", source_disk_id}}},
           {"diskSizeGB", 32},
           {"timeCreated", "2026-01-01T00:00:00.0000000+00:00"},
           {"provisioningState", "Succeeded"}}}};
  if (!tag_obj.empty()) snap["tags"] = std::move(tag_obj);
  std::lock_guard<std::mutex> l(mu_);
  resource_groups_.insert(Lower(subscription + "|" + resource_group));
  resources_[Key(subscription, resource_group, "snapshots", name)] = std::move(snap);
}

boost::json::value ArmServer::State() const {
  boost::json::array disks, snapshots, groups;
  {
    std::lock_guard<std::mutex> l(mu_);
    for (const auto& [k, v] : resources_) {
      (JsonString(v, {"type"}).value_or("") == "Microsoft.Compute/disks" ? disks : snapshots)
          .push_back(v);
    }
    for (const auto& g : resource_groups_) {
      std::string slash = g;
      std::replace(slash.begin(), slash.end(), '|', '/');
      groups.emplace_back(slash);
    }
  }
  return boost::json::object{{"disks", std::move(disks)},
                             {"snapshots", std::move(snapshots)},
                             {"resourceGroups", std::move(groups)},
                             {"armRequests", arm_requests_.load()},
                             {"faultsAnswered", faults_answered_.load()},
                             {"tokensIssued", tokens_issued_.load()}};
}

std::optional<boost::json::value> ArmServer::Resource(const std::string& subscription,
                                                      const std::string& resource_group,
                                                      const std::string& kind,
                                                      const std::string& name) const {
  std::lock_guard<std::mutex> l(mu_);
  auto it = resources_.find(Key(subscription, resource_group, kind, name));
  if (it == resources_.end()) return std::nullopt;
  return it->second;
}

std::vector<std::string> ArmServer::ResourceNames(const std::string& subscription,
                                                  const std::string& resource_group,
                                                  const std::string& kind) const {
  std::lock_guard<std::mutex> l(mu_);
  std::string prefix = Lower(subscription + "|" + resource_group + "|" + kind + "|");
  std::vector<std::string> out;
  for (const auto& [k, v] : resources_) {
    if (k.starts_with(prefix)) out.push_back(JsonString(v, {"name"}).value_or(""));
  }
  return out;
}

void ArmServer::AddFault(Fault fault) {
  std::lock_guard<std::mutex> l(mu_);
  faults_.push_back(std::move(fault));
}

void ArmServer::FailNextOperation(const std::string& code, const std::string& message,
                                  const std::string& status) {
  std::lock_guard<std::mutex> l(mu_);
  Operation op;
  op.outcome = status;
  op.error_code = code;
  op.error_message = message;
  next_failure_ = op;
}

std::vector<std::string> ArmServer::RequestLog() const {
  std::lock_guard<std::mutex> l(mu_);
  return log_;
}

std::optional<boost::json::value> ArmServer::PutBody(const std::string& kind,
                                                     const std::string& name) const {
  std::lock_guard<std::mutex> l(mu_);
  auto it = put_bodies_.find(Lower(kind + "/" + name));
  if (it == put_bodies_.end()) return std::nullopt;
  return it->second;
}

std::vector<std::string> ArmServer::Secrets() const {
  std::lock_guard<std::mutex> l(mu_);
  std::vector<std::string> out = secrets_;
  out.push_back(options_.client_secret);
  if (!options_.client_assertion.empty()) out.push_back(options_.client_assertion);
  return out;
}

void ArmServer::Handle(http::Request& req, http::ResponseWriter& w) {
  if (options_.test_handler && options_.test_handler(req, w)) return;
  if (req.path == "/" + options_.tenant + "/oauth2/v2.0/token") return HandleToken(req, w);
  HandleArm(req, w);
}

void ArmServer::HandleToken(http::Request& req, http::ResponseWriter& w) {
  auto fail = [&](int status, const std::string& code, const std::string& desc) {
    SendJson(w, status, boost::json::object{{"error", code}, {"error_description", desc}});
  };
  if (req.method != "POST") return fail(405, "invalid_request", "AADSTS900561: POST required");
  auto form = ParseForm(req.body);
  if (form["grant_type"] != "client_credentials") {
    return fail(400, "unsupported_grant_type", "AADSTS70003: unsupported grant type");
  }
  if (form["scope"] != endpoint() + "/.default") {
    return fail(400, "invalid_scope", "AADSTS70011: the provided scope is not valid");
  }
  if (form["client_id"] != options_.client_id) {
    return fail(400, "unauthorized_client", "AADSTS700016: application not found in directory");
  }
  bool secret_ok =
      !form["client_secret"].empty() && form["client_secret"] == options_.client_secret;
  bool assertion_ok =
      !options_.client_assertion.empty() &&
      form["client_assertion_type"] == "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" &&
      form["client_assertion"] == options_.client_assertion;
  if (!secret_ok && !assertion_ok) {
    return fail(401, "invalid_client", "AADSTS7000215: Invalid client secret provided.");
  }
  int n = ++tokens_issued_;
  std::string token = "arm-token-" + std::to_string(n) + "-" + options_.tenant + "-opaque";
  {
    std::lock_guard<std::mutex> l(mu_);
    tokens_.insert(token);
    secrets_.push_back(token);
  }
  SendJson(w, 200,
           boost::json::object{{"token_type", "Bearer"},
                               {"expires_in", 3599},
                               {"ext_expires_in", 3599},
                               {"access_token", token}});
}

void ArmServer::HandleArm(http::Request& req, http::ResponseWriter& w) {
  ++arm_requests_;
  std::string auth = req.Header("Authorization");
  std::string token = auth.starts_with("Bearer ") ? auth.substr(7) : "";
  {
    std::lock_guard<std::mutex> l(mu_);
    log_.push_back(req.method + " " + req.path);
  }
  bool authorized;
  std::optional<Fault> fault;
  {
    std::lock_guard<std::mutex> l(mu_);
    authorized = tokens_.count(token) > 0;
    for (auto& f : faults_) {
      if (f.times <= 0) continue;
      if (!f.method.empty() && f.method != req.method) continue;
      if (!f.path_contains.empty() && req.path.find(f.path_contains) == std::string::npos) {
        continue;
      }
      --f.times;
      fault = f;
      break;
    }
  }
  if (!authorized) {
    http::Headers h = kJson;
    h["WWW-Authenticate"] = "Bearer authorization_uri=\"" + endpoint() + "/" + options_.tenant +
                            "\", error=\"invalid_token\"";
    return SendError(w, 401, auth.empty() ? "AuthenticationFailed" : "InvalidAuthenticationToken",
                     auth.empty() ? "Authentication failed. The 'Authorization' header is missing."
                                  : "The access token is invalid.",
                     h);
  }
  if (fault) {
    ++faults_answered_;
    http::Headers h = kJson;
    if (fault->retry_after_seconds >= 0) {
      h["Retry-After"] = std::to_string(fault->retry_after_seconds);
    }
    if (fault->status == 429) {
      return SendError(w, 429, "OperationNotAllowed",
                       "The server rejected the request because too many requests have been "
                       "received for this subscription.",
                       h);
    }
    if (fault->status == 401) {
      return SendError(w, 401, "ExpiredAuthenticationToken",
                       "The access token expiry UTC time is earlier than current UTC time.", h);
    }
    if (fault->status == 403) {
      return SendError(w, 403, "AuthorizationFailed",
                       "The client does not have authorization to perform this action.", h);
    }
    return SendError(w, fault->status, "InternalServerError",
                     "Encountered internal server error. Please try again.", h);
  }
  if (!req.HasQuery("api-version")) {
    return SendError(w, 400, "MissingApiVersionParameter",
                     "The api-version query parameter (?api-version=) is required for all "
                     "requests.");
  }
  auto seg = SplitPath(req.path);
  // /subscriptions/{sub}/providers/Microsoft.Compute/locations/{loc}/DiskOperations/{id}
  if (seg.size() == 8 && Lower(seg[0]) == "subscriptions" && Lower(seg[2]) == "providers" &&
      Lower(seg[3]) == "microsoft.compute" && Lower(seg[4]) == "locations" &&
      Lower(seg[6]) == "diskoperations" && req.method == "GET") {
    return HandleOperation(seg[7], req.HasQuery("monitor"), w);
  }
  if ((seg.size() == 7 || seg.size() == 8) && Lower(seg[0]) == "subscriptions" &&
      Lower(seg[2]) == "resourcegroups" && Lower(seg[4]) == "providers" &&
      Lower(seg[5]) == "microsoft.compute" &&
      (Lower(seg[6]) == "disks" || Lower(seg[6]) == "snapshots")) {
    const std::string sub = seg[1], rg = seg[3], kind = Lower(seg[6]);
    bool rg_exists;
    {
      std::lock_guard<std::mutex> l(mu_);
      rg_exists = resource_groups_.count(Lower(sub + "|" + rg)) > 0;
    }
    if (!rg_exists) {
      return SendError(w, 404, "ResourceGroupNotFound",
                       "Resource group '" + rg + "' could not be found.");
    }
    if (seg.size() == 7) {
      if (req.method != "GET") return SendError(w, 405, "MethodNotAllowed", "Method not allowed.");
      return HandleList(req, sub, rg, kind, w);
    }
    return HandleResource(req, sub, rg, kind, seg[7], w);
  }
  SendError(w, 404, "InvalidResourceType",
            "The resource type could not be found in the namespace 'Microsoft.Compute'.");
}

void ArmServer::HandleList(http::Request& req, const std::string& sub, const std::string& rg,
                           const std::string& kind, http::ResponseWriter& w) {
  size_t skip = 0;
  if (std::string t = req.Query("$skiptoken"); !t.empty()) skip = std::stoul(t);
  boost::json::array page;
  size_t total = 0;
  {
    std::lock_guard<std::mutex> l(mu_);
    std::string prefix = Lower(sub + "|" + rg + "|" + kind + "|");
    for (const auto& [k, v] : resources_) {
      if (!k.starts_with(prefix)) continue;
      if (total >= skip && page.size() < static_cast<size_t>(options_.page_size)) {
        page.push_back(v);
      }
      ++total;
    }
  }
  boost::json::object body{{"value", std::move(page)}};
  size_t next = skip + static_cast<size_t>(options_.page_size);
  if (next < total) {
    body["nextLink"] = endpoint() + "/subscriptions/" + sub + "/resourceGroups/" + rg +
                       "/providers/Microsoft.Compute/" + kind +
                       "?api-version=" + req.Query("api-version") +
                       "&$skiptoken=" + std::to_string(next);
  }
  SendJson(w, 200, body);
}

void ArmServer::HandleResource(http::Request& req, const std::string& sub, const std::string& rg,
                               const std::string& kind, const std::string& name,
                               http::ResponseWriter& w) {
  const std::string key = Key(sub, rg, kind, name);
  const std::string not_found = "The Resource 'Microsoft.Compute/" + kind + "/" + name +
                                "' under resource group '" + rg + "' was not found.";
  if (req.method == "GET") {
    std::optional<boost::json::value> r;
    {
      std::lock_guard<std::mutex> l(mu_);
      auto it = resources_.find(key);
      if (it != resources_.end()) r = it->second;
    }
    if (!r) return SendError(w, 404, "ResourceNotFound", not_found);
    return SendJson(w, 200, *r);
  }
  if (req.method == "DELETE") {
    std::string op_id;
    {
      std::lock_guard<std::mutex> l(mu_);
      if (!resources_.count(key)) {
        (void)w.Send(204, {}, "");
        return;
      }
      op_id = StartOperation("delete", key, ResourceId(sub, rg, kind, name));
    }
    (void)w.Send(202, MonitorHeaders(sub, op_id, false, true), "");
    return;
  }
  if (req.method == "PUT") return HandlePut(req, sub, rg, kind, name, w);
  SendError(w, 405, "MethodNotAllowed", "The requested method is not allowed.");
}

void ArmServer::HandlePut(http::Request& req, const std::string& sub, const std::string& rg,
                          const std::string& kind, const std::string& name,
                          http::ResponseWriter& w) {
  if (!ValidName(name)) {
    return SendError(w, 400, "InvalidParameter",
                     "The entity name '" + name +
                         "' is invalid: supported characters are "
                         "a-z, A-Z, 0-9, _ and -, at most 80 characters.");
  }
  auto parsed = ParseJson(req.body);
  if (!parsed.ok() || !parsed->is_object()) {
    return SendError(w, 400, "InvalidRequestContent", "The request content was invalid.");
  }
  boost::json::value body = *std::move(parsed);
  {
    std::lock_guard<std::mutex> l(mu_);
    put_bodies_[Lower(kind + "/" + name)] = body;
  }
  std::string location = JsonString(body, {"location"}).value_or("");
  if (location.empty()) {
    return SendError(w, 400, "LocationRequired",
                     "The location property is required for this definition.");
  }
  std::string option =
      JsonString(body, {"properties", "creationData", "createOption"}).value_or("");
  std::string source =
      JsonString(body, {"properties", "creationData", "sourceResourceId"}).value_or("");
  if (option != "Copy") {
    return SendError(w, 400, "InvalidParameter",
                     "Only createOption 'Copy' is implemented by this test server.");
  }
  auto src = ParseId(source);
  const std::string want_kind = kind == "snapshots" ? "disks" : "snapshots";
  if (!src || (*src)[2] != want_kind) {
    return SendError(w, 400, "InvalidParameter",
                     "Parameter 'sourceResourceId' is not a valid " + want_kind + " resource ID.");
  }
  if (const auto* inc = JsonFind(body, {"properties", "incremental"}); inc && !inc->is_bool()) {
    return SendError(w, 400, "InvalidRequestContent", "properties.incremental must be a boolean.");
  }
  if (const auto* tags = JsonFind(body, {"tags"}); tags != nullptr) {
    if (!tags->is_object()) {
      return SendError(w, 400, "InvalidRequestContent", "tags must be an object.");
    }
    for (const auto& [k, v] : tags->as_object()) {
      std::string tk(k);
      if (tk.find_first_of("<>%&\\?/") != std::string::npos) {
        return SendError(w, 400, "InvalidTagNameCharacters",
                         "The tag names '" + tk + "' have reserved characters '<,>,%,&,\\,?,/'.");
      }
      if (!v.is_string()) {
        return SendError(w, 400, "InvalidRequestContent", "tag values must be strings.");
      }
    }
  }
  if (kind == "disks") {
    std::string sku = JsonString(body, {"sku", "name"}).value_or("Standard_LRS");
    if (!kDiskSkus.count(sku)) {
      return SendError(w, 400, "InvalidParameter",
                       "The value '" + sku + "' of sku.name is invalid.");
    }
    if (const auto* zones = JsonFind(body, {"zones"}); zones != nullptr) {
      if (!zones->is_array() || zones->as_array().size() != 1 ||
          !zones->as_array()[0].is_string()) {
        return SendError(w, 400, "InvalidParameter", "zones must hold exactly one zone.");
      }
    }
  }

  std::string op_id;
  boost::json::value stored;
  {
    std::lock_guard<std::mutex> l(mu_);
    auto src_it = resources_.find(Key((*src)[0], (*src)[1], (*src)[2], (*src)[3]));
    if (src_it == resources_.end()) {
      SendError(w, 404, "NotFound", "Resource " + source + " is not found.");
      return;
    }
    if (JsonString(src_it->second, {"location"}).value_or("") != location) {
      SendError(w, 400, "InvalidParameter",
                "The source resource is in another location than '" + location + "'.");
      return;
    }
    boost::json::object r = body.as_object();
    r["id"] = ResourceId(sub, rg, kind, name);
    r["name"] = name;
    r["type"] = "Microsoft.Compute/" + kind;
    boost::json::object& props = r["properties"].as_object();
    props["timeCreated"] = "2026-01-01T00:00:00.0000000+00:00";
    props["diskSizeGB"] = 32;
    props["provisioningState"] = options_.put_status == 200 ? "Succeeded" : "Creating";
    if (kind == "snapshots") {
      r["sku"] = boost::json::object{{"name", "Standard_LRS"}, {"tier", "Standard"}};
    } else if (!r.contains("sku")) {
      r["sku"] = boost::json::object{{"name", "Standard_LRS"}, {"tier", "Standard"}};
    }
    const std::string key = Key(sub, rg, kind, name);
    resources_[key] = r;
    stored = r;
    if (options_.put_status != 200)
      op_id = StartOperation("put", key, ResourceId(sub, rg, kind, name));
  }
  if (options_.put_status == 200) return SendJson(w, 200, stored);
  http::Headers h = MonitorHeaders(sub, op_id, options_.put_async_header, true);
  if (options_.put_status == 201) return SendJson(w, 201, stored, h);
  (void)w.Send(202, h, "");
}

std::string ArmServer::StartOperation(const std::string& kind, const std::string& key,
                                      const std::string& resource_path) {
  Operation op;
  if (next_failure_) {
    op = *next_failure_;
    next_failure_.reset();
  }
  op.kind = kind;
  op.key = key;
  op.resource_path = resource_path;
  op.polls_left = options_.operation_polls;
  std::string id = "0b1c2d3e-0000-4000-8000-" + std::to_string(100000000000 + ++next_op_);
  operations_[id] = op;
  return id;
}

http::Headers ArmServer::MonitorHeaders(const std::string& sub, const std::string& op_id,
                                        bool async, bool location) const {
  http::Headers h;
  std::string base = endpoint() + "/subscriptions/" + sub +
                     "/providers/Microsoft.Compute/locations/westeurope/DiskOperations/" + op_id +
                     "?p=" + op_id + "&api-version=2023-04-02";
  if (async) h["Azure-AsyncOperation"] = base;
  if (location) h["Location"] = base + "&monitor=true";
  if (options_.retry_after_seconds > 0) {
    h["Retry-After"] = std::to_string(options_.retry_after_seconds);
  }
  return h;
}

void ArmServer::Finish(Operation& op) {
  if (op.done) return;
  op.done = true;
  auto it = resources_.find(op.key);
  if (op.kind == "delete") {
    if (op.outcome == "Succeeded" && it != resources_.end()) resources_.erase(it);
    return;
  }
  if (it == resources_.end()) return;
  if (op.outcome == "Succeeded") {
    it->second.as_object()["properties"].as_object()["provisioningState"] = "Succeeded";
  } else {
    // A failed create leaves nothing usable behind.
    resources_.erase(it);
  }
}

void ArmServer::HandleOperation(const std::string& op_id, bool location_monitor,
                                http::ResponseWriter& w) {
  std::string status, code, message, kind, key;
  std::optional<boost::json::value> resource;
  {
    std::lock_guard<std::mutex> l(mu_);
    auto it = operations_.find(op_id);
    if (it == operations_.end()) {
      SendError(w, 404, "OperationNotFound", "The operation '" + op_id + "' was not found.");
      return;
    }
    Operation& op = it->second;
    if (op.polls_left > 0) {
      --op.polls_left;
      status = "InProgress";
    } else {
      Finish(op);
      status = op.outcome;
    }
    code = op.error_code;
    message = op.error_message;
    kind = op.kind;
    if (auto r = resources_.find(op.key); r != resources_.end()) resource = r->second;
  }
  http::Headers h = kJson;
  if (options_.retry_after_seconds > 0)
    h["Retry-After"] = std::to_string(options_.retry_after_seconds);
  if (location_monitor) {
    if (status == "InProgress") {
      (void)w.Send(202, h, "");
      return;
    }
    if (status == "Succeeded") {
      if (kind == "delete" || !resource) {
        (void)w.Send(204, {}, "");
        return;
      }
      return SendJson(w, 200, *resource);
    }
    return SendError(w, 400, code.empty() ? status : code, message);
  }
  boost::json::object body{
      {"name", op_id}, {"status", status}, {"startTime", "2026-01-01T00:00:00.0000000+00:00"}};
  if (status != "InProgress") body["endTime"] = "2026-01-01T00:00:05.0000000+00:00";
  if (status == "Failed" || status == "Canceled") {
    body["error"] = boost::json::object{{"code", code}, {"message", message}};
  }
  SendJson(w, 200, body, h);
}

}  // namespace lifeboat::volume::azure::testing
