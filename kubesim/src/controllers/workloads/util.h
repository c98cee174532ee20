#pragma once

// Helpers shared by kubesim's workload controllers: tolerant readers over object JSON (objects
// come from users, so every field may be missing or of the wrong type), label selectors,
// owner references, pod state, template hashes and conditions.

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json.hpp>

#include "kubesim/src/store/store.h"

namespace kubesim::workloads {

namespace json = boost::json;

using StringMap = std::map<std::string, std::string>;

// The value at `path` (object keys), or nullptr if any step is missing or not an object.
const json::value* Find(const json::value& v, std::initializer_list<std::string_view> path);
std::string GetString(const json::value& v, std::initializer_list<std::string_view> path,
                      std::string_view fallback = "");
// Integers also accepted as unsigned or integral doubles; `fallback` otherwise.
int64_t GetInt(const json::value& v, std::initializer_list<std::string_view> path, int64_t fallback);
bool GetBool(const json::value& v, std::initializer_list<std::string_view> path, bool fallback);
// The array at `path`, or an empty one.
const json::array& GetArray(const json::value& v, std::initializer_list<std::string_view> path);
// o[key] as an object, replacing whatever else was there.
json::object& Child(json::object& o, std::string_view key);

// An object of strings (labels, annotations, nodeSelector); non-string values are skipped.
StringMap ToStringMap(const json::value* v);
json::object FromStringMap(const StringMap& m);
StringMap LabelsOf(const json::value& obj);
StringMap AnnotationsOf(const json::value& obj);

// A metav1.LabelSelector (matchLabels + matchExpressions) or a plain map selector (core v1).
class Selector {
 public:
  // nullopt if `sel` is malformed (unknown operator, values of the wrong type). An absent or
  // empty selector matches nothing here: the workload APIs require one, and adopting every pod
  // in a namespace would be worse than doing nothing.
  static std::optional<Selector> FromLabelSelector(const json::value* sel);
  static Selector FromMap(const StringMap& m);
  bool Matches(const StringMap& labels) const;
  bool empty() const { return requirements_.empty(); }

 private:
  struct Requirement {
    std::string key;
    std::string op;  // In, NotIn, Exists, DoesNotExist
    std::vector<std::string> values;
  };
  std::vector<Requirement> requirements_;
};

// Owner references.
struct OwnerRef {
  std::string api_version, kind, name, uid;
};
std::optional<OwnerRef> ControllerOf(const json::value& obj);
bool IsControlledBy(const json::value& obj, std::string_view uid);
// {apiVersion, kind, name, uid, controller: true, blockOwnerDeletion: true}.
json::object NewControllerRef(const json::value& owner, std::string_view api_version,
                              std::string_view kind);
bool IsDeleting(const json::value& obj);

// Pods.
std::string PodPhase(const json::value& pod);
// Neither Succeeded nor Failed nor being deleted (k8s controller.IsPodActive).
bool IsPodActive(const json::value& pod);
bool IsPodReady(const json::value& pod);
// Ready for at least `min_ready_seconds` (k8s podutil.IsPodAvailable).
bool IsPodAvailable(const json::value& pod, int64_t min_ready_seconds, int64_t now_unix);
// A pod (no name) made from a pod template: labels, annotations, finalizers, spec, the owner.
json::value PodFromTemplate(const json::value& tmpl, const std::string& ns,
                            const json::object& controller_ref);
// `name` + "-", cut so that generated names stay within 63 characters (k8s
// names.SimpleNameGenerator).
std::string GenerateNamePrefix(std::string_view name);

// Deterministic serialization (object keys sorted) and the hashes controllers name things by:
// FNV-1a 32 of it (plus the collision count), as a decimal string in k8s' safe alphabet.
std::string CanonicalJson(const json::value& v);
std::string ComputeHash(const json::value& v, std::optional<int64_t> collision_count);
std::string SafeEncode(std::string_view s);

// Conditions (arrays of {type, status, reason, message, lastTransitionTime...}).
const json::object* FindCondition(const json::value& obj_status, std::string_view type);
// Sets condition `cond` (with "type" and "status") in `conds`. When status, reason and message are
// unchanged nothing changes (the old times stay); when only the status is unchanged the old
// lastTransitionTime is kept. A changed condition moves to the end. Returns true if `conds` changed.
bool SetCondition(json::array& conds, json::object cond);

// Times.
std::string Now();
// Seconds since the epoch of an RFC 3339 time, or nullopt.
std::optional<int64_t> ParseTime(std::string_view rfc3339);
int64_t NowUnix();

// Objects of `gr` in `ns` ("" with `all`: every namespace) that pass `keep`.
std::vector<ObjectPtr> ListObjects(const Store& store, const std::string& gr, const std::string& ns,
                                   const std::function<bool(const StoredObject&)>& keep,
                                   bool all = false);

// A name usable as one path component under the data dir: not empty, not "." or "..", no '/',
// no NUL, at most 253 bytes.
bool IsSafePathComponent(std::string_view s);

// Resolves an IntOrString like "25%" or 1 against `total` (round up or down for percents).
int64_t ScaledValue(const json::value* v, int64_t total, bool round_up, int64_t fallback);

}  // namespace kubesim::workloads
