#pragma once

// Label and field selectors with kube-apiserver's syntax and semantics
// (k8s.io/apimachinery/pkg/labels and pkg/fields).

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json.hpp>

#include "lifeboat/common/status.h"

namespace kubesim {

using lifeboat::Status;
using lifeboat::StatusOr;

// A label selector: requirements joined by commas, all of which must match.
//   a=b  a==b  a!=b  a in (x,y)  a notin (x,y)  a  !a  a>3  a<3 (gt/lt: integer values)
// Keys: optional DNS-subdomain prefix "/" name (≤63 chars, [A-Za-z0-9][-A-Za-z0-9_.]*); values
// ≤63 chars. A default-constructed selector (or Parse("")) matches everything.
class LabelSelector {
 public:
  enum class Op { kEquals, kNotEquals, kIn, kNotIn, kExists, kDoesNotExist, kGreaterThan, kLessThan };
  struct Requirement {
    std::string key;
    Op op = Op::kExists;
    std::vector<std::string> values;  // sorted
  };

  // InvalidArgument with kube's wording (e.g. `found '=', expected: identifier`) when malformed.
  static StatusOr<LabelSelector> Parse(std::string_view text);
  // A metav1.LabelSelector object ({matchLabels, matchExpressions} with operators In, NotIn,
  // Exists, DoesNotExist). A null/absent selector -> matches everything; `{}` too.
  static StatusOr<LabelSelector> FromJson(const boost::json::value* selector);

  // `labels` is metadata.labels (nullptr when the object has none).
  bool Matches(const boost::json::object* labels) const;
  bool Empty() const { return requirements_.empty(); }
  const std::vector<Requirement>& requirements() const { return requirements_; }
  // Canonical text form (requirements sorted by key), as labels.Selector.String() gives.
  std::string ToString() const;

 private:
  std::vector<Requirement> requirements_;
};

// A field selector: `path=value`, `path==value`, `path!=value`, comma-joined. Paths are
// dotted JSON paths of the object (metadata.name, metadata.namespace, spec.nodeName,
// status.phase, ...); a missing field compares as "". Values may escape `\,` `\=` `\\`.
class FieldSelector {
 public:
  struct Requirement {
    std::string field;
    bool equals = true;
    std::string value;
  };
  static StatusOr<FieldSelector> Parse(std::string_view text);
  bool Matches(const boost::json::value& object) const;
  // Which fields a resource supports, as kube-apiserver: every resource supports
  // metadata.name and metadata.namespace; pods also spec.nodeName, spec.restartPolicy,
  // spec.schedulerName, spec.serviceAccountName, spec.hostNetwork, status.phase, status.podIP,
  // status.podIPs, status.nominatedNodeName; events involvedObject.*, reason, source, type,
  // reportingComponent; secrets type; namespaces status.phase; nodes spec.unschedulable;
  // replicasets/replicationcontrollers status.replicas; jobs status.successful;
  // certificatesigningrequests spec.signerName. InvalidArgument
  // `field label not supported: <field>` otherwise.
  Status ValidateFor(std::string_view group, std::string_view resource) const;
  bool Empty() const { return requirements_.empty(); }
  const std::vector<Requirement>& requirements() const { return requirements_; }

 private:
  std::vector<Requirement> requirements_;
};

}  // namespace kubesim
