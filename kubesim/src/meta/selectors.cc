#include "kubesim/src/meta/selectors.h"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <map>
#include <set>

namespace kubesim {
namespace {

namespace json = boost::json;
using Op = LabelSelector::Op;

bool IsAlnum(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; }

// ([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9], at most 63 characters.
std::string QualifiedNamePartError(std::string_view s) {
  if (s.empty()) return "name part must be non-empty";
  if (s.size() > 63) return "name part must be no more than 63 characters";
  bool ok = IsAlnum(s.front()) && IsAlnum(s.back());
  for (char c : s) ok = ok && (IsAlnum(c) || c == '-' || c == '_' || c == '.');
  if (!ok) {
    return "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
           "alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is "
           "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
  }
  return "";
}

bool IsDns1123Subdomain(std::string_view s) {
  if (s.empty() || s.size() > 253) return false;
  size_t start = 0;
  while (start <= s.size()) {
    size_t dot = s.find('.', start);
    std::string_view label = s.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (label.empty() || !IsAlnum(label.front()) || !IsAlnum(label.back())) return false;
    for (char c : label) {
      if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
    }
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return true;
}

// Empty when `key` is a valid qualified name, the problem otherwise.
std::string KeyError(std::string_view key) {
  size_t slash = key.find('/');
  if (slash == std::string_view::npos) return QualifiedNamePartError(key);
  std::string_view prefix = key.substr(0, slash);
  std::string_view name = key.substr(slash + 1);
  if (name.find('/') != std::string_view::npos) {
    return "a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end "
           "with an alphanumeric character with an optional DNS subdomain prefix and '/' (e.g. "
           "'example.com/MyName')";
  }
  if (prefix.empty()) return "prefix part must be non-empty";
  if (!IsDns1123Subdomain(prefix)) {
    return "prefix part a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' "
           "or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for "
           "validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
  }
  return QualifiedNamePartError(name);
}

std::string ValueError(std::string_view v) {
  if (v.empty()) return "";
  if (v.size() > 63) return "must be no more than 63 characters";
  bool ok = IsAlnum(v.front()) && IsAlnum(v.back());
  for (char c : v) ok = ok && (IsAlnum(c) || c == '-' || c == '_' || c == '.');
  if (!ok) {
    return "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and "
           "must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex "
           "used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";
  }
  return "";
}

Status InvalidKey(std::string_view key, const std::string& why) {
  return absl::InvalidArgumentError("unable to parse requirement: key: Invalid value: \"" + std::string(key) +
                                    "\": " + why);
}
// kube reports the value's index in the sorted set and the value itself as the path key
// (`values[0][bad-]`).
Status InvalidValue(std::string_view value, const std::string& why, size_t index = 0) {
  return absl::InvalidArgumentError("unable to parse requirement: values[" + std::to_string(index) + "][" +
                                    std::string(value) + "]: Invalid value: \"" + std::string(value) + "\": " + why);
}

// strconv.ParseInt(s, 10, 64): optional sign, decimal digits.
bool ParseInt64(std::string_view s, int64_t& out) {
  if (s.size() > 1 && s[0] == '+' && s[1] != '-') s.remove_prefix(1);
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && ptr == s.data() + s.size();
}

// The lexer of k8s.io/apimachinery/pkg/labels: identifiers and the operator tokens.
enum class Tok { kEnd, kIdent, kComma, kOpenPar, kClosedPar, kEq, kDoubleEq, kNotEq, kIn, kNotIn, kBang, kGt, kLt };

struct Token {
  Tok tok;
  std::string text;
};

bool IsSpecial(char c) { return c == '!' || c == '(' || c == ')' || c == ',' || c == '=' || c == '<' || c == '>'; }
bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

std::vector<Token> Lex(std::string_view s) {
  std::vector<Token> out;
  size_t i = 0;
  while (true) {
    while (i < s.size() && IsSpace(s[i])) ++i;
    if (i >= s.size()) break;
    char c = s[i];
    if (IsSpecial(c)) {
      std::string op(1, c);
      if (i + 1 < s.size() && IsSpecial(s[i + 1])) {
        std::string two = op + s[i + 1];
        if (two == "==" || two == "!=") {
          op = two;
        }
      }
      i += op.size();
      Tok t = Tok::kEnd;
      if (op == ",") t = Tok::kComma;
      else if (op == "(") t = Tok::kOpenPar;
      else if (op == ")") t = Tok::kClosedPar;
      else if (op == "=") t = Tok::kEq;
      else if (op == "==") t = Tok::kDoubleEq;
      else if (op == "!=") t = Tok::kNotEq;
      else if (op == "!") t = Tok::kBang;
      else if (op == ">") t = Tok::kGt;
      else if (op == "<") t = Tok::kLt;
      out.push_back({t, op});
      continue;
    }
    size_t start = i;
    while (i < s.size() && !IsSpace(s[i]) && !IsSpecial(s[i])) ++i;
    std::string word(s.substr(start, i - start));
    Tok t = word == "in" ? Tok::kIn : word == "notin" ? Tok::kNotIn : Tok::kIdent;
    out.push_back({t, std::move(word)});
  }
  out.push_back({Tok::kEnd, ""});
  return out;
}

// kube quotes the token's literal, which is empty at the end of the string.
std::string Describe(const Token& t) { return "'" + t.text + "'"; }

class Parser {
 public:
  explicit Parser(std::string_view s) : toks_(Lex(s)) {}

  StatusOr<std::vector<LabelSelector::Requirement>> Parse() {
    std::vector<LabelSelector::Requirement> reqs;
    if (Peek().tok == Tok::kEnd) return reqs;
    while (true) {
      LIFEBOAT_ASSIGN_OR_RETURN(LabelSelector::Requirement r, ParseRequirement());
      reqs.push_back(std::move(r));
      const Token& t = Next();
      if (t.tok == Tok::kEnd) return reqs;
      if (t.tok != Tok::kComma) {
        return absl::InvalidArgumentError("found " + Describe(t) + ", expected: ',' or 'end of string'");
      }
      if (Peek().tok != Tok::kIdent && Peek().tok != Tok::kBang && Peek().tok != Tok::kIn &&
          Peek().tok != Tok::kNotIn) {
        return absl::InvalidArgumentError("found " + Describe(Peek()) + ", expected: identifier after ','");
      }
    }
  }

 private:
  const Token& Peek() const { return toks_[pos_]; }
  const Token& Next() { return toks_[pos_ < toks_.size() - 1 ? pos_++ : pos_]; }

  StatusOr<LabelSelector::Requirement> ParseRequirement() {
    LabelSelector::Requirement r;
    bool negated = false;
    if (Peek().tok == Tok::kBang) {
      Next();
      negated = true;
    }
    const Token& key = Next();
    if (key.tok != Tok::kIdent) {
      return absl::InvalidArgumentError("found " + Describe(key) + ", expected: identifier");
    }
    if (std::string why = KeyError(key.text); !why.empty()) return InvalidKey(key.text, why);
    r.key = key.text;
    const Token& next = Peek();
    if (negated || next.tok == Tok::kComma || next.tok == Tok::kEnd) {
      r.op = negated ? Op::kDoesNotExist : Op::kExists;
      if (negated && next.tok != Tok::kComma && next.tok != Tok::kEnd) {
        return absl::InvalidArgumentError("found " + Describe(next) + ", expected: ',' or 'end of string'");
      }
      return r;
    }
    const Token& op = Next();
    switch (op.tok) {
      case Tok::kEq:
      case Tok::kDoubleEq:
        r.op = Op::kEquals;
        break;
      case Tok::kNotEq:
        r.op = Op::kNotEquals;
        break;
      case Tok::kIn:
        r.op = Op::kIn;
        break;
      case Tok::kNotIn:
        r.op = Op::kNotIn;
        break;
      case Tok::kGt:
        r.op = Op::kGreaterThan;
        break;
      case Tok::kLt:
        r.op = Op::kLessThan;
        break;
      default:
        return absl::InvalidArgumentError("found " + Describe(op) +
                                          ", expected: =, !=, ==, in, notin, <, > (label selector operator)");
    }
    if (r.op == Op::kIn || r.op == Op::kNotIn) {
      const Token& open = Next();
      if (open.tok != Tok::kOpenPar) {
        return absl::InvalidArgumentError("found " + Describe(open) + ", expected: '('");
      }
      std::set<std::string> values;
      while (true) {
        const Token& t = Peek();
        if (t.tok == Tok::kClosedPar) {  // "()" or a trailing empty value
          Next();
          values.insert("");
          break;
        }
        if (t.tok != Tok::kIdent && t.tok != Tok::kIn && t.tok != Tok::kNotIn && t.tok != Tok::kComma) {
          return absl::InvalidArgumentError("found " + Describe(t) + ", expected: ',', ')' or identifier");
        }
        std::string value;
        if (t.tok != Tok::kComma) value = Next().text;
        values.insert(value);
        const Token& sep = Next();
        if (sep.tok == Tok::kClosedPar) break;
        if (sep.tok != Tok::kComma) {
          return absl::InvalidArgumentError("found " + Describe(sep) + ", expected: ',' or ')'");
        }
        if (Peek().tok == Tok::kClosedPar) {
          Next();
          values.insert("");
          break;
        }
      }
      r.values.assign(values.begin(), values.end());
      for (size_t i = 0; i < r.values.size(); ++i) {
        if (std::string why = ValueError(r.values[i]); !why.empty()) return InvalidValue(r.values[i], why, i);
      }
      return r;
    }
    // A single value (may be empty: "a=").
    std::string value;
    if (Peek().tok == Tok::kIdent || Peek().tok == Tok::kIn || Peek().tok == Tok::kNotIn) value = Next().text;
    else if (Peek().tok != Tok::kComma && Peek().tok != Tok::kEnd) {
      return absl::InvalidArgumentError("found " + Describe(Peek()) + ", expected: identifier");
    }
    // Anything after the value is reported by the requirement loop ("expected: ',' or ...").
    if (r.op == Op::kGreaterThan || r.op == Op::kLessThan) {
      int64_t unused = 0;
      if (!ParseInt64(value, unused)) {
        return absl::InvalidArgumentError("unable to parse requirement: values[0]: Invalid value: \"" + value +
                                          "\": for 'Gt', 'Lt' operators, the value must be an integer");
      }
    }
    if (std::string why = ValueError(value); !why.empty()) {
      return InvalidValue(value, why);
    }
    r.values = {value};
    return r;
  }

  std::vector<Token> toks_;
  size_t pos_ = 0;
};

const std::string* LabelValue(const json::object* labels, const std::string& key, std::string& scratch) {
  if (labels == nullptr) return nullptr;
  auto it = labels->find(key);
  if (it == labels->end()) return nullptr;
  if (it->value().is_string()) {
    scratch = std::string(it->value().get_string());
    return &scratch;
  }
  return nullptr;
}

bool Contains(const std::vector<std::string>& sorted, const std::string& v) {
  return std::binary_search(sorted.begin(), sorted.end(), v);
}

void SortByKey(std::vector<LabelSelector::Requirement>& reqs) {
  std::stable_sort(reqs.begin(), reqs.end(),
                   [](const LabelSelector::Requirement& a, const LabelSelector::Requirement& b) { return a.key < b.key; });
}

}  // namespace

StatusOr<LabelSelector> LabelSelector::Parse(std::string_view text) {
  Parser p(text);
  LIFEBOAT_ASSIGN_OR_RETURN(std::vector<Requirement> reqs, p.Parse());
  SortByKey(reqs);
  LabelSelector s;
  s.requirements_ = std::move(reqs);
  return s;
}

StatusOr<LabelSelector> LabelSelector::FromJson(const boost::json::value* selector) {
  LabelSelector s;
  if (selector == nullptr || selector->is_null()) return s;
  if (!selector->is_object()) return absl::InvalidArgumentError("label selector must be an object");
  const json::object& o = selector->get_object();
  if (auto it = o.find("matchLabels"); it != o.end() && !it->value().is_null()) {
    if (!it->value().is_object()) return absl::InvalidArgumentError("matchLabels must be an object");
    for (const auto& kv : it->value().get_object()) {
      if (!kv.value().is_string()) {
        return absl::InvalidArgumentError("matchLabels[" + std::string(kv.key()) + "] must be a string");
      }
      std::string key(kv.key());
      std::string value(kv.value().get_string());
      if (std::string why = KeyError(key); !why.empty()) return InvalidKey(key, why);
      if (std::string why = ValueError(value); !why.empty()) return InvalidValue(value, why);
      s.requirements_.push_back({key, Op::kEquals, {value}});
    }
  }
  if (auto it = o.find("matchExpressions"); it != o.end() && !it->value().is_null()) {
    if (!it->value().is_array()) return absl::InvalidArgumentError("matchExpressions must be a list");
    for (const auto& e : it->value().get_array()) {
      if (!e.is_object()) return absl::InvalidArgumentError("matchExpressions items must be objects");
      const json::object& eo = e.get_object();
      std::string key = eo.contains("key") && eo.at("key").is_string() ? std::string(eo.at("key").get_string()) : "";
      std::string op = eo.contains("operator") && eo.at("operator").is_string()
                           ? std::string(eo.at("operator").get_string())
                           : "";
      std::vector<std::string> values;
      if (auto vi = eo.find("values"); vi != eo.end() && vi->value().is_array()) {
        for (const auto& v : vi->value().get_array()) {
          if (!v.is_string()) return absl::InvalidArgumentError("matchExpressions values must be strings");
          values.emplace_back(v.get_string());
        }
      }
      if (std::string why = KeyError(key); !why.empty()) return InvalidKey(key, why);
      Requirement r{key, Op::kExists, {}};
      if (op == "In" || op == "NotIn") {
        if (values.empty()) {
          return absl::InvalidArgumentError("values: Invalid value: []string(nil): for 'in', 'notin' operators, "
                                            "values set can't be empty");
        }
        r.op = op == "In" ? Op::kIn : Op::kNotIn;
      } else if (op == "Exists" || op == "DoesNotExist") {
        if (!values.empty()) {
          return absl::InvalidArgumentError("values: Invalid value: values set must be empty for exists and does "
                                            "not exist");
        }
        r.op = op == "Exists" ? Op::kExists : Op::kDoesNotExist;
      } else {
        return absl::InvalidArgumentError("\"" + op + "\" is not a valid label selector operator");
      }
      for (const auto& v : values) {
        if (std::string why = ValueError(v); !why.empty()) return InvalidValue(v, why);
      }
      std::sort(values.begin(), values.end());
      values.erase(std::unique(values.begin(), values.end()), values.end());
      r.values = std::move(values);
      s.requirements_.push_back(std::move(r));
    }
  }
  SortByKey(s.requirements_);
  return s;
}

bool LabelSelector::Matches(const boost::json::object* labels) const {
  std::string scratch;
  for (const auto& r : requirements_) {
    const std::string* v = LabelValue(labels, r.key, scratch);
    switch (r.op) {
      case Op::kEquals:
      case Op::kIn:
        if (v == nullptr || !Contains(r.values, *v)) return false;
        break;
      case Op::kNotEquals:
      case Op::kNotIn:
        if (v != nullptr && Contains(r.values, *v)) return false;
        break;
      case Op::kExists:
        if (v == nullptr) return false;
        break;
      case Op::kDoesNotExist:
        if (v != nullptr) return false;
        break;
      case Op::kGreaterThan:
      case Op::kLessThan: {
        int64_t have = 0, want = 0;
        if (v == nullptr || r.values.size() != 1 || !ParseInt64(*v, have) || !ParseInt64(r.values[0], want)) {
          return false;
        }
        if (r.op == Op::kGreaterThan ? !(have > want) : !(have < want)) return false;
        break;
      }
    }
  }
  return true;
}

std::string LabelSelector::ToString() const {
  std::string out;
  for (const auto& r : requirements_) {
    if (!out.empty()) out += ",";
    auto joined = [&] {
      std::string s;
      for (size_t i = 0; i < r.values.size(); ++i) s += (i ? "," : "") + r.values[i];
      return s;
    };
    switch (r.op) {
      case Op::kEquals:
        out += r.key + "=" + joined();
        break;
      case Op::kNotEquals:
        out += r.key + "!=" + joined();
        break;
      case Op::kIn:
        out += r.key + " in (" + joined() + ")";
        break;
      case Op::kNotIn:
        out += r.key + " notin (" + joined() + ")";
        break;
      case Op::kExists:
        out += r.key;
        break;
      case Op::kDoesNotExist:
        out += "!" + r.key;
        break;
      case Op::kGreaterThan:
        out += r.key + ">" + joined();
        break;
      case Op::kLessThan:
        out += r.key + "<" + joined();
        break;
    }
  }
  return out;
}

// ---- field selectors ----

namespace {

// Splits on unescaped commas, keeping escapes in place.
std::vector<std::string> SplitTerms(std::string_view s) {
  std::vector<std::string> out;
  std::string cur;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 1 < s.size()) {
      cur.push_back(s[i]);
      cur.push_back(s[++i]);
    } else if (s[i] == ',') {
      out.push_back(std::move(cur));
      cur.clear();
    } else {
      cur.push_back(s[i]);
    }
  }
  out.push_back(std::move(cur));
  return out;
}

StatusOr<std::string> Unescape(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '\\') {
      if (s[i] == '=' || s[i] == ',') {
        return absl::InvalidArgumentError("invalid field selector: unescaped " + std::string(1, s[i]) +
                                          " in value " + std::string(s));
      }
      out.push_back(s[i]);
      continue;
    }
    if (i + 1 >= s.size()) return absl::InvalidArgumentError("invalid field selector: invalid escape sequence: \\");
    char c = s[++i];
    if (c != '\\' && c != ',' && c != '=') {
      return absl::InvalidArgumentError(std::string("invalid field selector: invalid escape sequence: \\") + c);
    }
    out.push_back(c);
  }
  return out;
}

std::string FieldValue(const json::value& object, std::string_view path) {
  const json::value* cur = &object;
  while (!path.empty()) {
    size_t dot = path.find('.');
    std::string_view seg = path.substr(0, dot);
    path = dot == std::string_view::npos ? std::string_view() : path.substr(dot + 1);
    if (!cur->is_object()) return "";
    auto it = cur->get_object().find(seg);
    if (it == cur->get_object().end()) return "";
    cur = &it->value();
  }
  switch (cur->kind()) {
    case json::kind::string:
      return std::string(cur->get_string());
    case json::kind::bool_:
      return cur->get_bool() ? "true" : "false";
    case json::kind::int64:
      return std::to_string(cur->get_int64());
    case json::kind::uint64:
      return std::to_string(cur->get_uint64());
    case json::kind::null:
      return "";
    default:
      return json::serialize(*cur);
  }
}

const std::map<std::string, std::set<std::string>, std::less<>>& SupportedFields() {
  static const std::map<std::string, std::set<std::string>, std::less<>> table = {
      {"pods",
       {"spec.nodeName", "spec.restartPolicy", "spec.schedulerName", "spec.serviceAccountName", "spec.hostNetwork",
        "status.phase", "status.podIP", "status.podIPs", "status.nominatedNodeName"}},
      {"events",
       {"involvedObject.kind", "involvedObject.namespace", "involvedObject.name", "involvedObject.uid",
        "involvedObject.apiVersion", "involvedObject.resourceVersion", "involvedObject.fieldPath", "reason",
        "reportingComponent", "source", "type"}},
      {"events.events.k8s.io",
       {"regarding.kind", "regarding.namespace", "regarding.name", "regarding.uid", "regarding.apiVersion",
        "regarding.resourceVersion", "regarding.fieldPath", "reason", "reportingController", "type"}},
      {"secrets", {"type"}},
      {"namespaces", {"status.phase"}},
      {"nodes", {"spec.unschedulable"}},
      {"replicasets.apps", {"status.replicas"}},
      {"replicationcontrollers", {"status.replicas"}},
      {"jobs.batch", {"status.successful"}},
      {"certificatesigningrequests.certificates.k8s.io", {"spec.signerName"}},
  };
  return table;
}

}  // namespace

StatusOr<FieldSelector> FieldSelector::Parse(std::string_view text) {
  FieldSelector s;
  bool all_blank = true;
  for (char c : text) all_blank = all_blank && IsSpace(c);
  if (all_blank) return s;
  for (const std::string& term : SplitTerms(text)) {
    if (term.empty()) continue;
    // The first unescaped operator: "!=", "==" or "=".
    size_t pos = std::string::npos;
    size_t len = 0;
    bool equals = true;
    for (size_t i = 0; i < term.size(); ++i) {
      if (term[i] == '\\') {
        ++i;
        continue;
      }
      if (term[i] == '!' && i + 1 < term.size() && term[i + 1] == '=') {
        pos = i, len = 2, equals = false;
        break;
      }
      if (term[i] == '=') {
        pos = i;
        len = i + 1 < term.size() && term[i + 1] == '=' ? 2 : 1;
        break;
      }
    }
    if (pos == std::string::npos) {
      return absl::InvalidArgumentError("invalid selector: '" + std::string(text) +
                                        "'; can't understand '" + term + "'");
    }
    LIFEBOAT_ASSIGN_OR_RETURN(std::string value, Unescape(std::string_view(term).substr(pos + len)));
    std::string field = term.substr(0, pos);
    s.requirements_.push_back({field, equals, std::move(value)});
  }
  return s;
}

bool FieldSelector::Matches(const boost::json::value& object) const {
  for (const auto& r : requirements_) {
    bool eq = FieldValue(object, r.field) == r.value;
    if (eq != r.equals) return false;
  }
  return true;
}

Status FieldSelector::ValidateFor(std::string_view group, std::string_view resource) const {
  std::string gr = group.empty() ? std::string(resource) : std::string(resource) + "." + std::string(group);
  const auto& table = SupportedFields();
  auto it = table.find(gr);
  for (const auto& r : requirements_) {
    if (r.field == "metadata.name" || r.field == "metadata.namespace") continue;
    if (it != table.end() && it->second.contains(r.field)) continue;
    return absl::InvalidArgumentError("field label not supported: " + r.field);
  }
  return absl::OkStatus();
}

}  // namespace kubesim
