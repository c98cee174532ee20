#include "lifeboat/kube/discovery.h"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <thread>

#include "absl/strings/str_split.h"
#include "lifeboat/common/json.h"
#include "lifeboat/common/log.h"

namespace lifeboat::kube {

struct Discovery::Snapshot {
  struct Group {
    ApiGroup group;
    // Aligned with group.versions.
    std::vector<std::vector<ApiResource>> resources;
  };
  std::vector<Group> groups;  // core first, then /apis order
};

namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::vector<std::string> StringArray(const boost::json::object& o, std::string_view key) {
  std::vector<std::string> out;
  auto it = o.find(key);
  if (it == o.end() || !it->value().is_array()) return out;
  for (const auto& v : it->value().get_array()) {
    if (const auto* s = v.if_string()) out.emplace_back(*s);
  }
  return out;
}

std::string StringOf(const boost::json::object& o, std::string_view key) {
  auto it = o.find(key);
  if (it == o.end()) return {};
  const auto* s = it->value().if_string();
  return s == nullptr ? std::string() : std::string(*s);
}

StatusOr<boost::json::value> GetJson(RestClient* rest, const std::string& path) {
  RestRequest req;
  req.path = path;
  auto resp = rest->Do(req);
  if (!resp.ok()) return Annotate(resp.status(), "GET " + path);
  auto parsed = ParseJson(resp->body);
  if (!parsed.ok()) return Annotate(parsed.status(), "GET " + path);
  if (!parsed->is_object()) return absl::DataLossError("GET " + path + ": not a JSON object");
  return parsed;
}

// Parses an APIResourceList; subresources ("deployments/scale") are attached to their parent.
std::vector<ApiResource> ParseResourceList(const boost::json::value& list, const std::string& group,
                                           const std::string& version) {
  std::vector<ApiResource> out;
  std::vector<std::pair<std::string, std::string>> subs;  // parent, subresource
  const auto* res = JsonFind(list, {"resources"});
  if (res == nullptr || !res->is_array()) return out;
  for (const auto& r : res->get_array()) {
    const auto* o = r.if_object();
    if (o == nullptr) continue;
    std::string name = StringOf(*o, "name");
    if (name.empty()) continue;
    if (auto slash = name.find('/'); slash != std::string::npos) {
      subs.emplace_back(name.substr(0, slash), name.substr(slash + 1));
      continue;
    }
    ApiResource a;
    a.group = group;
    a.version = version;
    a.name = std::move(name);
    a.singular_name = StringOf(*o, "singularName");
    a.kind = StringOf(*o, "kind");
    if (auto it = o->find("namespaced"); it != o->end() && it->value().is_bool()) {
      a.namespaced = it->value().get_bool();
    }
    a.verbs = StringArray(*o, "verbs");
    a.short_names = StringArray(*o, "shortNames");
    a.categories = StringArray(*o, "categories");
    out.push_back(std::move(a));
  }
  for (auto& [parent, sub] : subs) {
    for (auto& a : out) {
      if (a.name == parent) a.subresources.push_back(sub);
    }
  }
  return out;
}

// One pending group/version fetch.
struct GroupVersionFetch {
  size_t group_index;
  size_t version_index;
  std::string path;
};

}  // namespace

std::string GroupVersionResource::GroupVersion() const {
  return group.empty() ? version : group + "/" + version;
}

std::string GroupVersionResource::ToString() const {
  std::string s = resource + "." + version;
  if (!group.empty()) s += "." + group;
  return s;
}

bool ApiResource::HasVerb(std::string_view verb) const {
  return std::find(verbs.begin(), verbs.end(), verb) != verbs.end();
}

bool ApiResource::HasSubresource(std::string_view sub) const {
  return std::find(subresources.begin(), subresources.end(), sub) != subresources.end();
}

Discovery::Discovery(RestClient* rest, DiscoveryOptions options)
    : rest_(rest), options_(options), clock_(options.clock ? options.clock : &RealClock()) {}

Discovery::~Discovery() = default;

Status Discovery::Refresh() {
  std::lock_guard<std::mutex> refresh_lock(refresh_mu_);
  {
    std::lock_guard<std::mutex> lock(mu_);
    last_refresh_ = clock_->Now();
  }
  auto snap = std::make_shared<Snapshot>();
  LIFEBOAT_ASSIGN_OR_RETURN(boost::json::value core, GetJson(rest_, "/api"));
  {
    Snapshot::Group g;
    for (const auto& v : StringArray(core.get_object(), "versions")) g.group.versions.push_back(v);
    if (!g.group.versions.empty()) {
      g.group.preferred_version = g.group.versions.front();
      snap->groups.push_back(std::move(g));
    }
  }
  LIFEBOAT_ASSIGN_OR_RETURN(boost::json::value apis, GetJson(rest_, "/apis"));
  if (const auto* groups = JsonFind(apis, {"groups"}); groups != nullptr && groups->is_array()) {
    for (const auto& gv : groups->get_array()) {
      if (!gv.is_object()) continue;
      Snapshot::Group g;
      g.group.name = StringOf(gv.get_object(), "name");
      g.group.preferred_version = JsonString(gv, {"preferredVersion", "version"}).value_or("");
      if (!g.group.preferred_version.empty()) g.group.versions.push_back(g.group.preferred_version);
      if (const auto* vs = JsonFind(gv, {"versions"}); vs != nullptr && vs->is_array()) {
        for (const auto& v : vs->get_array()) {
          auto version = JsonString(v, {"version"});
          if (!version || *version == g.group.preferred_version) continue;
          g.group.versions.push_back(*version);
        }
      }
      if (g.group.preferred_version.empty() && !g.group.versions.empty()) {
        g.group.preferred_version = g.group.versions.front();
      }
      if (g.group.name.empty() || g.group.versions.empty()) continue;
      snap->groups.push_back(std::move(g));
    }
  }
  // Fetch every group/version in parallel (as client-go does); one failing is not fatal.
  std::vector<GroupVersionFetch> fetches;
  for (size_t gi = 0; gi < snap->groups.size(); ++gi) {
    auto& g = snap->groups[gi];
    g.resources.resize(g.group.versions.size());
    for (size_t vi = 0; vi < g.group.versions.size(); ++vi) {
      std::string path = g.group.name.empty() ? "/api/" + g.group.versions[vi]
                                              : "/apis/" + g.group.name + "/" + g.group.versions[vi];
      fetches.push_back({gi, vi, path});
    }
  }
  // At most 8 at a time, as a sliding window: each thread takes the next group/version as soon
  // as its last one is answered, so one slow aggregated API (a metrics server timing out) holds
  // back only its own thread, not a whole batch.
  constexpr size_t kParallel = 8;
  std::vector<StatusOr<boost::json::value>> results(fetches.size(), absl::UnknownError(""));
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t i = next.fetch_add(1); i < fetches.size(); i = next.fetch_add(1)) {
      results[i] = GetJson(rest_, fetches[i].path);
    }
  };
  {
    std::vector<std::jthread> threads;
    for (size_t t = 1; t < std::min(kParallel, fetches.size()); ++t) threads.emplace_back(work);
    work();
  }
  std::vector<DiscoveryFailure> failures;
  for (size_t i = 0; i < fetches.size(); ++i) {
    auto& f = fetches[i];
    auto& g = snap->groups[f.group_index];
    const std::string& version = g.group.versions[f.version_index];
    auto& list = results[i];
    if (!list.ok()) {
      std::string gv = g.group.name.empty() ? version : g.group.name + "/" + version;
      LB_LOG_WARN("discovery: skipping {}: {}", gv, list.status().ToString());
      failures.push_back({gv, list.status()});
      continue;
    }
    g.resources[f.version_index] = ParseResourceList(*list, g.group.name, version);
  }
  std::lock_guard<std::mutex> lock(mu_);
  snapshot_ = std::move(snap);
  failures_ = std::move(failures);
  return absl::OkStatus();
}

StatusOr<std::shared_ptr<const Discovery::Snapshot>> Discovery::Current() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (snapshot_) return snapshot_;
  }
  LIFEBOAT_RETURN_IF_ERROR(Refresh());
  std::lock_guard<std::mutex> lock(mu_);
  return snapshot_;
}

bool Discovery::RefreshOnMiss() {
  {
    // Claim the refresh, so that concurrent misses do not all reload.
    std::lock_guard<std::mutex> lock(mu_);
    const auto now = clock_->Now();
    if (last_refresh_ && now - *last_refresh_ < options_.min_refresh_interval) return false;
    last_refresh_ = now;
  }
  Status s = Refresh();
  if (!s.ok()) LB_LOG_WARN("discovery: refresh after a lookup miss failed: {}", s.ToString());
  return s.ok();
}

StatusOr<std::vector<ApiGroup>> Discovery::Groups() {
  LIFEBOAT_ASSIGN_OR_RETURN(auto snap, Current());
  std::vector<ApiGroup> out;
  for (const auto& g : snap->groups) out.push_back(g.group);
  return out;
}

StatusOr<std::vector<ApiResource>> Discovery::Resources() {
  LIFEBOAT_ASSIGN_OR_RETURN(auto snap, Current());
  std::vector<ApiResource> out;
  for (const auto& g : snap->groups) {
    for (const auto& rs : g.resources) out.insert(out.end(), rs.begin(), rs.end());
  }
  return out;
}

std::vector<DiscoveryFailure> Discovery::failures() const {
  std::lock_guard<std::mutex> lock(mu_);
  return failures_;
}

namespace {

using Matcher = std::function<bool(const ApiResource&)>;

// First resource (core group first, preferred version first) for which `match` holds, among
// groups accepted by `group` (nullopt: any) and versions accepted by `version` (empty: any).
const ApiResource* FindIn(const Discovery::Snapshot& snap, const std::optional<std::string>& group,
                          std::string_view version, const Matcher& match) {
  for (const auto& g : snap.groups) {
    if (group && !EqualsIgnoreCase(g.group.name, *group)) continue;
    for (size_t vi = 0; vi < g.resources.size(); ++vi) {
      if (!version.empty() && g.group.versions[vi] != version) continue;
      for (const auto& r : g.resources[vi]) {
        if (match(r)) return &r;
      }
    }
  }
  return nullptr;
}

bool LooksLikeVersion(std::string_view s) {
  return s.size() >= 2 && s[0] == 'v' && std::isdigit(static_cast<unsigned char>(s[1]));
}

const ApiResource* LookupIn(const Discovery::Snapshot& snap, const std::string& lower) {
  struct Candidate {
    std::string resource;
    std::optional<std::string> group;
    std::string version;
  };
  std::vector<Candidate> candidates;
  std::vector<std::string> parts = absl::StrSplit(lower, '.');
  if (parts.size() >= 3 && LooksLikeVersion(parts[1])) {
    std::string group = lower.substr(parts[0].size() + parts[1].size() + 2);
    candidates.push_back({parts[0], group, parts[1]});
  }
  if (parts.size() >= 2) candidates.push_back({parts[0], lower.substr(parts[0].size() + 1), ""});
  candidates.push_back({lower, std::nullopt, ""});
  for (const auto& c : candidates) {
    const std::string& r = c.resource;
    auto by_name = [&](const ApiResource& a) {
      if (EqualsIgnoreCase(a.name, r) || EqualsIgnoreCase(a.singular_name, r)) return true;
      return std::any_of(a.short_names.begin(), a.short_names.end(),
                         [&](const std::string& s) { return EqualsIgnoreCase(s, r); });
    };
    if (const auto* found = FindIn(snap, c.group, c.version, by_name)) return found;
    auto by_kind = [&](const ApiResource& a) { return EqualsIgnoreCase(a.kind, r); };
    if (const auto* found = FindIn(snap, c.group, c.version, by_kind)) return found;
  }
  return nullptr;
}

}  // namespace

StatusOr<ApiResource> Discovery::ResourceFor(const GroupVersionResource& gvr) {
  auto match = [&](const ApiResource& a) { return a.name == gvr.resource; };
  for (int attempt = 0; attempt < 2; ++attempt) {
    LIFEBOAT_ASSIGN_OR_RETURN(auto snap, Current());
    if (const auto* r = FindIn(*snap, gvr.group, gvr.version, match)) return *r;
    if (attempt == 0 && !RefreshOnMiss()) break;
  }
  return absl::NotFoundError("the server does not serve resource " + gvr.ToString());
}

StatusOr<ApiResource> Discovery::Lookup(std::string_view name) {
  if (name.empty()) return absl::InvalidArgumentError("empty resource name");
  std::string lower = Lower(name);
  for (int attempt = 0; attempt < 2; ++attempt) {
    LIFEBOAT_ASSIGN_OR_RETURN(auto snap, Current());
    if (const auto* r = LookupIn(*snap, lower)) return *r;
    if (attempt == 0 && !RefreshOnMiss()) break;
  }
  return absl::NotFoundError("the server doesn't have a resource type \"" + std::string(name) + "\"");
}

StatusOr<ApiResource> Discovery::ResourceForKind(std::string_view group, std::string_view version,
                                                 std::string_view kind) {
  auto match = [&](const ApiResource& a) { return a.kind == kind; };
  for (int attempt = 0; attempt < 2; ++attempt) {
    LIFEBOAT_ASSIGN_OR_RETURN(auto snap, Current());
    if (const auto* r = FindIn(*snap, std::string(group), version, match)) return *r;
    if (attempt == 0 && !RefreshOnMiss()) break;
  }
  std::string gv = group.empty() ? std::string(version) : std::string(group) + "/" + std::string(version);
  return absl::NotFoundError("no resource for kind " + std::string(kind) + " in " +
                             (gv.empty() ? std::string("the core group") : gv));
}

StatusOr<std::string> Discovery::PreferredVersion(std::string_view group) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    LIFEBOAT_ASSIGN_OR_RETURN(auto snap, Current());
    for (const auto& g : snap->groups) {
      if (g.group.name == group) return g.group.preferred_version;
    }
    if (attempt == 0 && !RefreshOnMiss()) break;
  }
  return absl::NotFoundError("the server does not serve API group \"" + std::string(group) + "\"");
}

}  // namespace lifeboat::kube
