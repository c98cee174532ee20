#include "kubesim/src/controllers/workloads/util.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>

#include "kubesim/src/api/object_util.h"

namespace kubesim::workloads {

const json::value* Find(const json::value& v, std::initializer_list<std::string_view> path) {
  const json::value* cur = &v;
  for (std::string_view k : path) {
    if (!cur->is_object()) return nullptr;
    const json::object& o = cur->as_object();
    auto it = o.find(k);
    if (it == o.end()) return nullptr;
    cur = &it->value();
  }
  return cur;
}

std::string GetString(const json::value& v, std::initializer_list<std::string_view> path,
                      std::string_view fallback) {
  const json::value* f = Find(v, path);
  if (f == nullptr || !f->is_string()) return std::string(fallback);
  return std::string(f->as_string());
}

int64_t GetInt(const json::value& v, std::initializer_list<std::string_view> path, int64_t fallback) {
  const json::value* f = Find(v, path);
  if (f == nullptr) return fallback;
  if (f->is_int64()) return f->as_int64();
  if (f->is_uint64() && f->as_uint64() <= static_cast<uint64_t>(INT64_MAX)) {
    return static_cast<int64_t>(f->as_uint64());
  }
  if (f->is_double()) {
    double d = f->as_double();
    if (d >= -9e15 && d <= 9e15 && d == static_cast<double>(static_cast<int64_t>(d))) {
      return static_cast<int64_t>(d);
    }
  }
  return fallback;
}

bool GetBool(const json::value& v, std::initializer_list<std::string_view> path, bool fallback) {
  const json::value* f = Find(v, path);
  return f != nullptr && f->is_bool() ? f->as_bool() : fallback;
}

const json::array& GetArray(const json::value& v, std::initializer_list<std::string_view> path) {
  static const json::array kEmpty;
  const json::value* f = Find(v, path);
  return f != nullptr && f->is_array() ? f->as_array() : kEmpty;
}

json::object& Child(json::object& o, std::string_view key) {
  json::value& v = o[key];
  if (!v.is_object()) v = json::object();
  return v.as_object();
}

StringMap ToStringMap(const json::value* v) {
  StringMap out;
  if (v == nullptr || !v->is_object()) return out;
  for (const auto& kv : v->as_object()) {
    if (kv.value().is_string()) out[std::string(kv.key())] = std::string(kv.value().as_string());
  }
  return out;
}

json::object FromStringMap(const StringMap& m) {
  json::object o;
  for (const auto& [k, v] : m) o[k] = v;
  return o;
}

StringMap LabelsOf(const json::value& obj) { return ToStringMap(Find(obj, {"metadata", "labels"})); }

StringMap AnnotationsOf(const json::value& obj) {
  return ToStringMap(Find(obj, {"metadata", "annotations"}));
}

std::optional<Selector> Selector::FromLabelSelector(const json::value* sel) {
  Selector out;
  if (sel == nullptr || sel->is_null()) return out;
  if (!sel->is_object()) return std::nullopt;
  if (const json::value* ml = Find(*sel, {"matchLabels"}); ml != nullptr && !ml->is_null()) {
    if (!ml->is_object()) return std::nullopt;
    for (const auto& kv : ml->as_object()) {
      if (!kv.value().is_string()) return std::nullopt;
      out.requirements_.push_back({std::string(kv.key()), "In", {std::string(kv.value().as_string())}});
    }
  }
  const json::value* exprs = Find(*sel, {"matchExpressions"});
  if (exprs == nullptr || exprs->is_null()) return out;
  if (!exprs->is_array()) return std::nullopt;
  for (const json::value& e : exprs->as_array()) {
    Requirement r{GetString(e, {"key"}), GetString(e, {"operator"}), {}};
    for (const json::value& v : GetArray(e, {"values"})) {
      if (!v.is_string()) return std::nullopt;
      r.values.emplace_back(v.as_string());
    }
    bool with_values = r.op == "In" || r.op == "NotIn";
    bool without_values = r.op == "Exists" || r.op == "DoesNotExist";
    if (r.key.empty() || (!with_values && !without_values)) return std::nullopt;
    if ((with_values && r.values.empty()) || (without_values && !r.values.empty())) return std::nullopt;
    out.requirements_.push_back(std::move(r));
  }
  return out;
}

Selector Selector::FromMap(const StringMap& m) {
  Selector out;
  for (const auto& [k, v] : m) out.requirements_.push_back({k, "In", {v}});
  return out;
}

bool Selector::Matches(const StringMap& labels) const {
  if (requirements_.empty()) return false;
  for (const Requirement& r : requirements_) {
    auto it = labels.find(r.key);
    bool has = it != labels.end();
    bool in = has && std::find(r.values.begin(), r.values.end(), it->second) != r.values.end();
    if (r.op == "In" && !in) return false;
    if (r.op == "NotIn" && in) return false;
    if (r.op == "Exists" && !has) return false;
    if (r.op == "DoesNotExist" && has) return false;
  }
  return true;
}

std::optional<OwnerRef> ControllerOf(const json::value& obj) {
  for (const json::value& ref : GetArray(obj, {"metadata", "ownerReferences"})) {
    if (!GetBool(ref, {"controller"}, false)) continue;
    return OwnerRef{GetString(ref, {"apiVersion"}), GetString(ref, {"kind"}), GetString(ref, {"name"}),
                    GetString(ref, {"uid"})};
  }
  return std::nullopt;
}

bool IsControlledBy(const json::value& obj, std::string_view uid) {
  auto ref = ControllerOf(obj);
  return ref.has_value() && !uid.empty() && ref->uid == uid;
}

json::object NewControllerRef(const json::value& owner, std::string_view api_version,
                              std::string_view kind) {
  return json::object{{"apiVersion", api_version},
                      {"kind", kind},
                      {"name", MetaString(owner, "name")},
                      {"uid", MetaString(owner, "uid")},
                      {"controller", true},
                      {"blockOwnerDeletion", true}};
}

bool IsDeleting(const json::value& obj) { return !MetaString(obj, "deletionTimestamp").empty(); }

std::string PodPhase(const json::value& pod) { return GetString(pod, {"status", "phase"}); }

bool IsPodActive(const json::value& pod) {
  std::string phase = PodPhase(pod);
  return phase != "Succeeded" && phase != "Failed" && !IsDeleting(pod);
}

bool IsPodReady(const json::value& pod) {
  const json::value* status = Find(pod, {"status"});
  const json::object* ready = status ? FindCondition(*status, "Ready") : nullptr;
  if (ready == nullptr) return false;
  auto it = ready->find("status");
  return it != ready->end() && it->value() == "True";
}

bool IsPodAvailable(const json::value& pod, int64_t min_ready_seconds, int64_t now_unix) {
  if (!IsPodReady(pod)) return false;
  if (min_ready_seconds <= 0) return true;
  const json::value* status = Find(pod, {"status"});
  const json::object* ready = status ? FindCondition(*status, "Ready") : nullptr;
  std::string since = ready ? GetString(json::value(*ready), {"lastTransitionTime"}) : "";
  std::optional<int64_t> t = ParseTime(since);
  return t.has_value() && *t + min_ready_seconds <= now_unix;
}

json::value PodFromTemplate(const json::value& tmpl, const std::string& ns,
                            const json::object& controller_ref) {
  json::object meta{{"namespace", ns}};
  for (const char* k : {"labels", "annotations"}) {
    if (const json::value* v = Find(tmpl, {"metadata", k}); v != nullptr && v->is_object()) meta[k] = *v;
  }
  if (const json::value* f = Find(tmpl, {"metadata", "finalizers"}); f != nullptr && f->is_array()) {
    meta["finalizers"] = *f;
  }
  meta["ownerReferences"] = json::array{controller_ref};
  json::value spec = json::object();
  if (const json::value* s = Find(tmpl, {"spec"}); s != nullptr && s->is_object()) spec = *s;
  return json::object{{"apiVersion", "v1"}, {"kind", "Pod"}, {"metadata", std::move(meta)},
                      {"spec", std::move(spec)}};
}

std::string GenerateNamePrefix(std::string_view name) {
  constexpr size_t kMaxPrefix = 63 - 5;
  std::string prefix = std::string(name) + "-";
  if (prefix.size() > kMaxPrefix) prefix.resize(kMaxPrefix);
  return prefix;
}

namespace {

void Canonical(const json::value& v, std::string& out) {
  if (v.is_object()) {
    std::vector<std::pair<std::string_view, const json::value*>> items;
    for (const auto& kv : v.as_object()) items.emplace_back(kv.key(), &kv.value());
    std::sort(items.begin(), items.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    out.push_back('{');
    for (size_t i = 0; i < items.size(); ++i) {
      if (i > 0) out.push_back(',');
      out += json::serialize(json::string(items[i].first));
      out.push_back(':');
      Canonical(*items[i].second, out);
    }
    out.push_back('}');
  } else if (v.is_array()) {
    out.push_back('[');
    const json::array& a = v.as_array();
    for (size_t i = 0; i < a.size(); ++i) {
      if (i > 0) out.push_back(',');
      Canonical(a[i], out);
    }
    out.push_back(']');
  } else {
    out += json::serialize(v);
  }
}

}  // namespace

std::string CanonicalJson(const json::value& v) {
  std::string out;
  Canonical(v, out);
  return out;
}

std::string SafeEncode(std::string_view s) {
  // k8s.io/apimachinery/pkg/util/rand's alphabet: no vowels, no confusable characters.
  static constexpr char kAlphabet[] = "bcdfghjklmnpqrstvwxz2456789";
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) out.push_back(kAlphabet[c % (sizeof(kAlphabet) - 1)]);
  return out;
}

std::string ComputeHash(const json::value& v, std::optional<int64_t> collision_count) {
  uint32_t h = 2166136261u;
  auto mix = [&h](std::string_view bytes) {
    for (unsigned char c : bytes) {
      h ^= c;
      h *= 16777619u;
    }
  };
  mix(CanonicalJson(v));
  if (collision_count.has_value()) {
    uint32_t c = static_cast<uint32_t>(*collision_count);
    char b[4] = {static_cast<char>(c >> 24), static_cast<char>(c >> 16), static_cast<char>(c >> 8),
                 static_cast<char>(c)};
    mix(std::string_view(b, 4));
  }
  return SafeEncode(std::to_string(h));
}

const json::object* FindCondition(const json::value& obj_status, std::string_view type) {
  for (const json::value& c : GetArray(obj_status, {"conditions"})) {
    if (c.is_object() && GetString(c, {"type"}) == type) return &c.as_object();
  }
  return nullptr;
}

bool SetCondition(json::array& conds, json::object cond) {
  json::value probe = cond;
  const std::string type = GetString(probe, {"type"});
  for (json::value& c : conds) {
    if (!c.is_object() || GetString(c, {"type"}) != type) continue;
    const bool same_status = GetString(c, {"status"}) == GetString(probe, {"status"});
    if (same_status && GetString(c, {"reason"}) == GetString(probe, {"reason"}) &&
        GetString(c, {"message"}) == GetString(probe, {"message"})) {
      return false;
    }
    if (same_status) {
      if (const json::value* t = Find(c, {"lastTransitionTime"})) cond["lastTransitionTime"] = *t;
    }
    // A changed condition moves to the end, as k8s' Set*Condition helpers append it.
    conds.erase(conds.begin() + (&c - conds.data()));
    conds.emplace_back(std::move(cond));
    return true;
  }
  conds.emplace_back(std::move(cond));
  return true;
}

std::string Now() { return NowRfc3339(); }

int64_t NowUnix() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::optional<int64_t> ParseTime(std::string_view rfc3339) {
  if (rfc3339.size() < 19) return std::nullopt;
  std::string s(rfc3339.substr(0, 19));
  std::tm tm{};
  int consumed = 0;
  if (std::sscanf(s.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                  &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &consumed) != 6 ||
      consumed != 19) {
    return std::nullopt;
  }
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return static_cast<int64_t>(timegm(&tm));
}

std::vector<ObjectPtr> ListObjects(const Store& store, const std::string& gr, const std::string& ns,
                                   const std::function<bool(const StoredObject&)>& keep, bool all) {
  ListPage page = store.List(gr, ns, all, "", 0, keep);
  return std::move(page.items);
}

bool IsSafePathComponent(std::string_view s) {
  if (s.empty() || s.size() > 253 || s == "." || s == "..") return false;
  return s.find('/') == std::string_view::npos && s.find('\0') == std::string_view::npos;
}

int64_t ScaledValue(const json::value* v, int64_t total, bool round_up, int64_t fallback) {
  if (v == nullptr) return fallback;
  if (v->is_int64()) return std::max<int64_t>(0, v->as_int64());
  if (!v->is_string()) return fallback;
  std::string s(v->as_string());
  if (s.size() < 2 || s.back() != '%') return fallback;
  int64_t pct = 0;
  for (size_t i = 0; i + 1 < s.size(); ++i) {
    if (s[i] < '0' || s[i] > '9' || pct > 100000) return fallback;
    pct = pct * 10 + (s[i] - '0');
  }
  int64_t scaled = total * pct;
  return round_up ? (scaled + 99) / 100 : scaled / 100;
}

}  // namespace kubesim::workloads
