#pragma once

// metav1.LabelSelector: matchLabels AND matchExpressions (In, NotIn, Exists, DoesNotExist).
// An empty selector matches every object (as metav1.LabelSelectorAsSelector does); an absent
// selector is represented by std::optional<LabelSelector> in the owning spec.
//
// Thread safety: immutable value type; const methods are safe to call concurrently.

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json.hpp>

#include "lifeboat/common/status.h"

namespace lifeboat::api {

class LabelSelector {
 public:
  enum class Operator { kIn, kNotIn, kExists, kDoesNotExist };
  struct Requirement {
    std::string key;
    Operator op = Operator::kExists;
    std::vector<std::string> values;
    bool operator==(const Requirement&) const = default;
  };

  LabelSelector() = default;

  // From the JSON form. InvalidArgument with Kubernetes' messages for invalid keys, values,
  // unknown operators and value sets that do not fit the operator.
  static StatusOr<LabelSelector> FromJson(const boost::json::value& v);
  // From the kubectl / velero --selector form: "a=b,c!=d,e in (x,y),f notin (z),g,!h".
  // "=" and "==" become matchLabels, "!=" a NotIn requirement (metav1.ParseToLabelSelector).
  // InvalidArgument for syntax errors and for the unsupported ">" / "<" operators.
  static StatusOr<LabelSelector> Parse(std::string_view text);
  // Validated construction (same checks as FromJson).
  static StatusOr<LabelSelector> Make(std::map<std::string, std::string> match_labels,
                                      std::vector<Requirement> match_expressions = {});

  bool Matches(const std::map<std::string, std::string>& labels) const;
  bool Empty() const { return match_labels_.empty() && match_expressions_.empty(); }
  // Kubernetes' selector.String(): requirements sorted by key, values sorted, e.g.
  // "app=web,tier in (a,b),!legacy". Empty string for the empty selector.
  std::string ToString() const;
  // {"matchLabels": {...}, "matchExpressions": [...]} with empty parts omitted.
  boost::json::value ToJson() const;

  const std::map<std::string, std::string>& match_labels() const { return match_labels_; }
  const std::vector<Requirement>& match_expressions() const { return match_expressions_; }

  bool operator==(const LabelSelector&) const = default;

 private:
  std::map<std::string, std::string> match_labels_;
  std::vector<Requirement> match_expressions_;
};

std::string_view ToString(LabelSelector::Operator op);

// Kubernetes name checks used by selectors and by namespace validation. Each returns the list
// of Kubernetes' messages (empty when valid).
std::vector<std::string> ValidateQualifiedName(std::string_view key);
std::vector<std::string> ValidateLabelValue(std::string_view value);
std::vector<std::string> ValidateDns1123Label(std::string_view name);

}  // namespace lifeboat::api
