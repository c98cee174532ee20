#include "lifeboat/api/label_selector.h"

#include <algorithm>
#include <regex>
#include <set>

#include "absl/strings/str_join.h"
#include "src/api/json_codec.h"

namespace lifeboat::api {
namespace json = boost::json;
using Op = LabelSelector::Operator;

namespace {

// Kubernetes' RegexError text: examples joined with " or " after "', " (hence the double space).
std::string RegexMsg(std::string_view msg, std::string_view re,
                     std::initializer_list<std::string_view> examples) {
  std::string out(msg);
  out += " (e.g. ";
  bool first = true;
  for (std::string_view e : examples) {
    if (!first) out += " or ";
    first = false;
    out += "'" + std::string(e) + "', ";
  }
  out += "regex used for validation is '" + std::string(re) + "')";
  return out;
}

constexpr std::string_view kQualifiedNameFmt = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]";
constexpr std::string_view kLabelValueFmt = "(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?";
constexpr std::string_view kDns1123LabelFmt = "[a-z0-9]([-a-z0-9]*[a-z0-9])?";
constexpr std::string_view kDns1123SubdomainFmt =
    "[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*";

bool FullMatch(std::string_view s, std::string_view re) {
  return std::regex_match(s.begin(), s.end(), std::regex(std::string(re)));
}

std::vector<std::string> ValidateDns1123Subdomain(std::string_view v) {
  std::vector<std::string> errs;
  if (v.size() > 253) errs.push_back("must be no more than 253 characters");
  if (!FullMatch(v, kDns1123SubdomainFmt)) {
    errs.push_back(RegexMsg(
        "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' "
        "or '.', and must start and end with an alphanumeric character",
        kDns1123SubdomainFmt, {"example.com"}));
  }
  return errs;
}

std::optional<Op> ParseOperator(std::string_view s) {
  if (s == "In") return Op::kIn;
  if (s == "NotIn") return Op::kNotIn;
  if (s == "Exists") return Op::kExists;
  if (s == "DoesNotExist") return Op::kDoesNotExist;
  return std::nullopt;
}

// labels.NewRequirement's checks, with the field path of the requirement.
Status ValidateRequirement(const LabelSelector::Requirement& r, const std::string& path) {
  std::vector<std::string> errs;
  for (const auto& e : ValidateQualifiedName(r.key)) {
    errs.push_back(path + ".key: Invalid value: \"" + r.key + "\": " + e);
  }
  const std::string vals = "[" + absl::StrJoin(r.values, ",") + "]";
  if ((r.op == Op::kIn || r.op == Op::kNotIn) && r.values.empty()) {
    errs.push_back(path + ".values: Invalid value: " + vals +
                   ": for 'in', 'notin' operators, values set can't be empty");
  }
  if ((r.op == Op::kExists || r.op == Op::kDoesNotExist) && !r.values.empty()) {
    errs.push_back(path + ".values: Invalid value: " + vals +
                   ": values set must be empty for exists and does not exist");
  }
  for (size_t i = 0; i < r.values.size(); ++i) {
    for (const auto& e : ValidateLabelValue(r.values[i])) {
      errs.push_back(path + ".values[" + std::to_string(i) + "]: Invalid value: \"" +
                     r.values[i] + "\": " + e);
    }
  }
  if (errs.empty()) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrJoin(errs, "; "));
}

}  // namespace

std::vector<std::string> ValidateQualifiedName(std::string_view key) {
  std::vector<std::string> errs;
  std::string_view name = key;
  size_t slash = key.find('/');
  if (slash != std::string_view::npos) {
    if (key.find('/', slash + 1) != std::string_view::npos) {
      errs.push_back(RegexMsg(
          "a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must "
          "start and end with an alphanumeric character",
          kQualifiedNameFmt, {"MyName", "my.name", "123-abc"}) +
          " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')");
      return errs;
    }
    std::string_view prefix = key.substr(0, slash);
    name = key.substr(slash + 1);
    if (prefix.empty()) {
      errs.push_back("prefix part must be non-empty");
    } else {
      for (const auto& e : ValidateDns1123Subdomain(prefix)) errs.push_back("prefix part " + e);
    }
  }
  if (name.empty()) {
    errs.push_back("name part must be non-empty");
  } else if (name.size() > 63) {
    errs.push_back("name part must be no more than 63 characters");
  }
  if (!name.empty() && !FullMatch(name, kQualifiedNameFmt)) {
    errs.push_back(RegexMsg(
        "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and "
        "end with an alphanumeric character",
        kQualifiedNameFmt, {"MyName", "my.name", "123-abc"}));
  }
  return errs;
}

std::vector<std::string> ValidateLabelValue(std::string_view value) {
  std::vector<std::string> errs;
  if (value.size() > 63) errs.push_back("must be no more than 63 characters");
  if (!FullMatch(value, kLabelValueFmt)) {
    errs.push_back(RegexMsg(
        "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' "
        "or '.', and must start and end with an alphanumeric character",
        kLabelValueFmt, {"MyValue", "my_value", "12345"}));
  }
  return errs;
}

std::vector<std::string> ValidateDns1123Label(std::string_view name) {
  std::vector<std::string> errs;
  if (name.size() > 63) errs.push_back("must be no more than 63 characters");
  if (!FullMatch(name, kDns1123LabelFmt)) {
    errs.push_back(RegexMsg(
        "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "
        "and must start and end with an alphanumeric character",
        kDns1123LabelFmt, {"my-name", "123-abc"}));
  }
  return errs;
}

std::string_view ToString(Op op) {
  switch (op) {
    case Op::kIn:
      return "In";
    case Op::kNotIn:
      return "NotIn";
    case Op::kExists:
      return "Exists";
    case Op::kDoesNotExist:
      return "DoesNotExist";
  }
  return "";
}

StatusOr<LabelSelector> LabelSelector::Make(std::map<std::string, std::string> match_labels,
                                            std::vector<Requirement> match_expressions) {
  std::vector<std::string> errs;
  for (const auto& [k, v] : match_labels) {
    for (const auto& e : ValidateQualifiedName(k)) {
      errs.push_back("matchLabels: Invalid value: \"" + k + "\": " + e);
    }
    for (const auto& e : ValidateLabelValue(v)) {
      errs.push_back("matchLabels." + k + ": Invalid value: \"" + v + "\": " + e);
    }
  }
  for (size_t i = 0; i < match_expressions.size(); ++i) {
    Status s = ValidateRequirement(match_expressions[i],
                                   "matchExpressions[" + std::to_string(i) + "]");
    if (!s.ok()) errs.emplace_back(s.message());
  }
  if (!errs.empty()) return absl::InvalidArgumentError(absl::StrJoin(errs, "; "));
  LabelSelector sel;
  sel.match_labels_ = std::move(match_labels);
  sel.match_expressions_ = std::move(match_expressions);
  return sel;
}

StatusOr<LabelSelector> LabelSelector::FromJson(const json::value& v) {
  LIFEBOAT_ASSIGN_OR_RETURN(internal::Reader r, internal::Reader::Make(&v, ""));
  std::map<std::string, std::string> labels;
  LIFEBOAT_RETURN_IF_ERROR(r.StrMap("matchLabels", &labels));
  std::vector<internal::Reader> exprs;
  LIFEBOAT_RETURN_IF_ERROR(r.Objects("matchExpressions", &exprs));
  std::vector<Requirement> reqs;
  for (const auto& e : exprs) {
    Requirement req;
    std::string op;
    LIFEBOAT_RETURN_IF_ERROR(e.Str("key", &req.key));
    LIFEBOAT_RETURN_IF_ERROR(e.Str("operator", &op));
    LIFEBOAT_RETURN_IF_ERROR(e.StrList("values", &req.values));
    std::optional<Op> parsed = ParseOperator(op);
    if (!parsed) {
      return absl::InvalidArgumentError("\"" + op + "\" is not a valid label selector operator");
    }
    req.op = *parsed;
    reqs.push_back(std::move(req));
  }
  return Make(std::move(labels), std::move(reqs));
}

bool LabelSelector::Matches(const std::map<std::string, std::string>& labels) const {
  for (const auto& [k, v] : match_labels_) {
    auto it = labels.find(k);
    if (it == labels.end() || it->second != v) return false;
  }
  for (const auto& r : match_expressions_) {
    auto it = labels.find(r.key);
    bool has = it != labels.end();
    bool in = has && std::find(r.values.begin(), r.values.end(), it->second) != r.values.end();
    switch (r.op) {
      case Op::kIn:
        if (!in) return false;
        break;
      case Op::kNotIn:
        if (in) return false;
        break;
      case Op::kExists:
        if (!has) return false;
        break;
      case Op::kDoesNotExist:
        if (has) return false;
        break;
    }
  }
  return true;
}

std::string LabelSelector::ToString() const {
  std::vector<std::pair<std::string, std::string>> parts;  // (key, text), stable by key
  for (const auto& [k, v] : match_labels_) parts.emplace_back(k, k + "=" + v);
  for (const auto& r : match_expressions_) {
    std::set<std::string> vals(r.values.begin(), r.values.end());
    std::string joined = absl::StrJoin(vals, ",");
    switch (r.op) {
      case Op::kIn:
        parts.emplace_back(r.key, r.key + " in (" + joined + ")");
        break;
      case Op::kNotIn:
        parts.emplace_back(r.key, r.key + " notin (" + joined + ")");
        break;
      case Op::kExists:
        parts.emplace_back(r.key, r.key);
        break;
      case Op::kDoesNotExist:
        parts.emplace_back(r.key, "!" + r.key);
        break;
    }
  }
  std::stable_sort(parts.begin(), parts.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<std::string> texts;
  for (auto& p : parts) texts.push_back(std::move(p.second));
  return absl::StrJoin(texts, ",");
}

json::value LabelSelector::ToJson() const {
  json::object o;
  if (!match_labels_.empty()) {
    json::object l;
    for (const auto& [k, v] : match_labels_) l[k] = json::string(v);
    o["matchLabels"] = std::move(l);
  }
  if (!match_expressions_.empty()) {
    json::array a;
    for (const auto& r : match_expressions_) {
      json::object e;
      e["key"] = json::string(r.key);
      e["operator"] = json::string(api::ToString(r.op));
      if (!r.values.empty()) {
        json::array vals;
        for (const auto& v : r.values) vals.emplace_back(json::string(v));
        e["values"] = std::move(vals);
      }
      a.push_back(std::move(e));
    }
    o["matchExpressions"] = std::move(a);
  }
  return o;
}

}  // namespace lifeboat::api
