#include "lifeboat/common/yaml.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <set>
#include <string>

#include <yaml-cpp/yaml.h>

namespace lifeboat {
namespace {

namespace json = boost::json;

// The type a plain YAML 1.1 scalar resolves to (go-yaml v2's resolve table, which
// sigs.k8s.io/yaml uses).
enum class Plain { kString, kNull, kTrue, kFalse, kInt, kUint, kFloat };

struct Resolved {
  Plain type = Plain::kString;
  int64_t i = 0;
  uint64_t u = 0;
  double d = 0;
};

bool OneOf(std::string_view s, std::initializer_list<std::string_view> options) {
  for (std::string_view o : options) {
    if (s == o) return true;
  }
  return false;
}

// Integer syntax as Go's strconv.ParseInt(s, 0, 64) after removing underscores: optional
// sign, then 0x/0X hex, 0o/0O or leading-0 octal, 0b/0B binary, or decimal.
bool ParseInteger(std::string_view text, Resolved& out) {
  std::string s;
  for (char c : text) {
    if (c != '_') s.push_back(c);
  }
  if (s.empty()) return false;
  bool negative = false;
  size_t pos = 0;
  if (s[0] == '+' || s[0] == '-') {
    negative = s[0] == '-';
    pos = 1;
  }
  std::string_view digits(s.data() + pos, s.size() - pos);
  if (digits.empty()) return false;
  int base = 10;
  if (digits.size() > 2 && digits[0] == '0' && (digits[1] == 'x' || digits[1] == 'X')) {
    base = 16;
    digits.remove_prefix(2);
  } else if (digits.size() > 2 && digits[0] == '0' && (digits[1] == 'o' || digits[1] == 'O')) {
    base = 8;
    digits.remove_prefix(2);
  } else if (digits.size() > 2 && digits[0] == '0' && (digits[1] == 'b' || digits[1] == 'B')) {
    base = 2;
    digits.remove_prefix(2);
  } else if (digits.size() > 1 && digits[0] == '0') {
    base = 8;
    digits.remove_prefix(1);
  }
  if (digits.empty()) return false;
  uint64_t magnitude = 0;
  auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), magnitude, base);
  if (ec != std::errc() || ptr != digits.data() + digits.size()) return false;
  if (negative) {
    if (magnitude > static_cast<uint64_t>(INT64_MAX) + 1) return false;
    out.type = Plain::kInt;
    out.i = magnitude == static_cast<uint64_t>(INT64_MAX) + 1 ? INT64_MIN : -static_cast<int64_t>(magnitude);
    return true;
  }
  if (magnitude <= static_cast<uint64_t>(INT64_MAX)) {
    out.type = Plain::kInt;
    out.i = static_cast<int64_t>(magnitude);
  } else {
    out.type = Plain::kUint;
    out.u = magnitude;
  }
  return true;
}

// YAML 1.1 float: [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?  (underscores allowed).
bool ParseFloat(std::string_view text, Resolved& out) {
  std::string s;
  for (char c : text) {
    if (c != '_') s.push_back(c);
  }
  size_t i = 0;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
  size_t int_digits = 0, frac_digits = 0;
  while (i < s.size() && isdigit(static_cast<unsigned char>(s[i]))) ++i, ++int_digits;
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && isdigit(static_cast<unsigned char>(s[i]))) ++i, ++frac_digits;
  }
  if (int_digits == 0 && frac_digits == 0) return false;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    size_t exp_digits = 0;
    while (i < s.size() && isdigit(static_cast<unsigned char>(s[i]))) ++i, ++exp_digits;
    if (exp_digits == 0) return false;
  }
  if (i != s.size()) return false;
  std::string_view body(s);
  if (!body.empty() && body[0] == '+') body.remove_prefix(1);
  double d = 0;
  auto [ptr, ec] = std::from_chars(body.data(), body.data() + body.size(), d);
  if (ec != std::errc() || ptr != body.data() + body.size() || !std::isfinite(d)) return false;
  out.type = Plain::kFloat;
  out.d = d;
  return true;
}

Resolved ResolvePlain(std::string_view s) {
  Resolved r;
  if (OneOf(s, {"", "~", "null", "Null", "NULL"})) {
    r.type = Plain::kNull;
  } else if (OneOf(s, {"y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"})) {
    r.type = Plain::kTrue;
  } else if (OneOf(s, {"n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF"})) {
    r.type = Plain::kFalse;
  } else if (!ParseInteger(s, r) && !ParseFloat(s, r)) {
    r.type = Plain::kString;
  }
  return r;
}

// Special floats have no JSON form; they stay strings only when quoted, so report them.
bool IsSpecialFloat(std::string_view s) {
  return OneOf(s, {".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", "-.inf", "-.Inf", "-.INF", ".nan", ".NaN",
                   ".NAN"});
}

// strconv.FormatFloat(d, 'g', -1, 32), which sigs.k8s.io/yaml uses for float keys.
std::string GoFormatFloat32(double d) {
  char buf[64];
  auto [ptr, ec] = std::to_chars(buf, buf + sizeof(buf), static_cast<float>(d), std::chars_format::scientific);
  if (ec != std::errc()) return std::to_string(d);
  std::string sci(buf, ptr);  // [-]d[.ddd]e[+-]dd
  bool negative = !sci.empty() && sci[0] == '-';
  if (negative) sci.erase(0, 1);
  size_t e = sci.find('e');
  std::string digits = sci.substr(0, e);
  digits.erase(std::remove(digits.begin(), digits.end(), '.'), digits.end());
  int exp = std::stoi(sci.substr(e + 1));
  while (digits.size() > 1 && digits.back() == '0') digits.pop_back();
  std::string out = negative ? "-" : "";
  if (digits == "0") return out + "0";
  if (exp < -4 || exp >= 6) {
    out += digits[0];
    if (digits.size() > 1) out += "." + digits.substr(1);
    out += exp < 0 ? "e-" : "e+";
    std::string ed = std::to_string(exp < 0 ? -exp : exp);
    if (ed.size() < 2) ed = "0" + ed;
    return out + ed;
  }
  int dp = exp + 1;  // digits before the decimal point
  if (dp <= 0) {
    out += "0." + std::string(static_cast<size_t>(-dp), '0') + digits;
  } else if (static_cast<size_t>(dp) >= digits.size()) {
    out += digits + std::string(static_cast<size_t>(dp) - digits.size(), '0');
  } else {
    out += digits.substr(0, static_cast<size_t>(dp)) + "." + digits.substr(static_cast<size_t>(dp));
  }
  return out;
}

class Converter {
 public:
  explicit Converter(const YamlLimits& limits) : limits_(limits) {}

  StatusOr<json::value> Convert(const YAML::Node& node, size_t depth) {
    if (++nodes_ > limits_.max_nodes) {
      return absl::InvalidArgumentError("yaml: document expands to more than " + std::to_string(limits_.max_nodes) +
                                        " nodes (alias bomb?)");
    }
    if (depth > limits_.max_depth) {
      return absl::InvalidArgumentError("yaml: document nested deeper than " + std::to_string(limits_.max_depth) +
                                        " levels");
    }
    switch (node.Type()) {
      case YAML::NodeType::Undefined:
      case YAML::NodeType::Null:
        return json::value(nullptr);
      case YAML::NodeType::Scalar:
        return Scalar(node);
      case YAML::NodeType::Sequence: {
        json::array out;
        out.reserve(node.size());
        for (const auto& item : node) {
          LIFEBOAT_ASSIGN_OR_RETURN(json::value v, Convert(item, depth + 1));
          out.push_back(std::move(v));
        }
        return json::value(std::move(out));
      }
      case YAML::NodeType::Map: {
        json::object out;
        std::set<std::string> explicit_keys;
        // Merge keys ("<<") first lose to explicit keys, whatever their position.
        // (Held by value: the iterator's pair is a temporary.)
        std::vector<YAML::Node> merges;
        for (const auto& kv : node) {
          if (kv.first.IsScalar() && kv.first.Tag() == "?" && kv.first.Scalar() == "<<") {
            merges.push_back(kv.second);
            continue;
          }
          LIFEBOAT_ASSIGN_OR_RETURN(std::string key, Key(kv.first));
          if (!explicit_keys.insert(key).second) {
            return absl::InvalidArgumentError(Where(kv.first) + "mapping key \"" + key + "\" already defined");
          }
          LIFEBOAT_ASSIGN_OR_RETURN(json::value v, Convert(kv.second, depth + 1));
          out[key] = std::move(v);
        }
        for (const YAML::Node& merge_node : merges) {
          const YAML::Node* merge = &merge_node;
          std::vector<YAML::Node> sources;
          if (merge->IsMap()) {
            sources.push_back(*merge);
          } else if (merge->IsSequence()) {
            for (const auto& m : *merge) sources.push_back(m);
          } else {
            return absl::InvalidArgumentError(Where(*merge) + "map merge requires map or sequence of maps as the value");
          }
          for (const auto& src : sources) {
            if (!src.IsMap()) {
              return absl::InvalidArgumentError(Where(src) + "map merge requires map or sequence of maps as the value");
            }
            LIFEBOAT_ASSIGN_OR_RETURN(json::value merged, Convert(src, depth + 1));
            for (auto& kv : merged.get_object()) {
              if (!out.contains(kv.key())) out[kv.key()] = std::move(kv.value());
            }
          }
        }
        return json::value(std::move(out));
      }
    }
    return json::value(nullptr);
  }

 private:
  static std::string Where(const YAML::Node& node) {
    YAML::Mark m = node.Mark();
    if (m.is_null()) return "yaml: ";
    return "yaml: line " + std::to_string(m.line + 1) + ": ";
  }

  StatusOr<std::string> Key(const YAML::Node& key) {
    if (key.IsScalar()) {
      // Plain keys resolve like values, then sigs.k8s.io/yaml turns bools and numbers back
      // into strings: `yes:` -> "true", `0x10:` -> "16", `1e3:` -> "1000".
      if (key.Tag() != "?") return key.Scalar();
      Resolved r = ResolvePlain(key.Scalar());
      switch (r.type) {
        case Plain::kTrue:
          return std::string("true");
        case Plain::kFalse:
          return std::string("false");
        case Plain::kInt:
          return std::to_string(r.i);
        case Plain::kUint:
          return std::to_string(r.u);
        case Plain::kFloat:
          return GoFormatFloat32(r.d);
        case Plain::kNull:
          return std::string("null");
        case Plain::kString:
          break;
      }
      return key.Scalar();
    }
    if (key.IsNull()) return std::string("null");
    return absl::InvalidArgumentError(Where(key) + "mapping keys must be scalars");
  }

  StatusOr<json::value> Scalar(const YAML::Node& node) {
    const std::string& text = node.Scalar();
    const std::string& tag = node.Tag();
    if (tag == "!" || tag == "tag:yaml.org,2002:str") return json::value(json::string(text));
    if (tag == "tag:yaml.org,2002:binary") return json::value(json::string(text));
    Resolved r = ResolvePlain(text);
    if (tag == "tag:yaml.org,2002:int" && r.type != Plain::kInt && r.type != Plain::kUint) {
      return absl::InvalidArgumentError(Where(node) + "cannot decode !!str `" + text + "` as a !!int");
    }
    if (tag == "tag:yaml.org,2002:float" && r.type == Plain::kInt) {
      return json::value(static_cast<double>(r.i));
    }
    if (tag == "tag:yaml.org,2002:bool" && r.type != Plain::kTrue && r.type != Plain::kFalse) {
      return absl::InvalidArgumentError(Where(node) + "cannot decode !!str `" + text + "` as a !!bool");
    }
    if (r.type == Plain::kString && IsSpecialFloat(text)) {
      return absl::InvalidArgumentError(Where(node) + "infinity and NaN (" + text + ") cannot be represented in JSON");
    }
    switch (r.type) {
      case Plain::kNull:
        return json::value(nullptr);
      case Plain::kTrue:
        return json::value(true);
      case Plain::kFalse:
        return json::value(false);
      case Plain::kInt:
        return json::value(r.i);
      case Plain::kUint:
        return json::value(r.u);
      case Plain::kFloat:
        return json::value(r.d);
      case Plain::kString:
        break;
    }
    return json::value(json::string(text));
  }

  const YamlLimits& limits_;
  size_t nodes_ = 0;
};

Status FromException(const YAML::Exception& e) {
  if (e.mark.is_null()) return absl::InvalidArgumentError(std::string("yaml: ") + e.msg);
  return absl::InvalidArgumentError("yaml: line " + std::to_string(e.mark.line + 1) + ", column " +
                                    std::to_string(e.mark.column + 1) + ": " + e.msg);
}

// Whether a string must be quoted to read back as the same string.
bool NeedsQuotes(std::string_view s) {
  if (s.empty()) return true;
  if (ResolvePlain(s).type != Plain::kString || IsSpecialFloat(s)) return true;
  if (s == "<<") return true;
  // Document markers read back as the end of the document when they start a line.
  if (s.starts_with("---") || s.starts_with("...")) return true;
  return false;
}

void FormatDouble(double d, std::string& out) {
  char buf[64];
  auto [ptr, ec] = std::to_chars(buf, buf + sizeof(buf), d);
  std::string s(buf, ec == std::errc() ? ptr : buf);
  if (s.find_first_of(".eEn") == std::string::npos) s += ".0";
  out = s;
}

void Emit(YAML::Emitter& e, const json::value& v) {
  switch (v.kind()) {
    case json::kind::null:
      e << YAML::Null;
      break;
    case json::kind::bool_:
      e << (v.get_bool() ? "true" : "false");
      break;
    case json::kind::int64:
      e << std::to_string(v.get_int64());
      break;
    case json::kind::uint64:
      e << std::to_string(v.get_uint64());
      break;
    case json::kind::double_: {
      std::string s;
      FormatDouble(v.get_double(), s);
      e << s;
      break;
    }
    case json::kind::string: {
      std::string s(v.get_string());
      if (NeedsQuotes(s)) {
        e << YAML::DoubleQuoted << s;
      } else {
        e << s;
      }
      break;
    }
    case json::kind::array:
      if (v.get_array().empty()) {
        e << YAML::Flow << YAML::BeginSeq << YAML::EndSeq;
        break;
      }
      e << YAML::BeginSeq;
      for (const auto& item : v.get_array()) Emit(e, item);
      e << YAML::EndSeq;
      break;
    case json::kind::object:
      if (v.get_object().empty()) {
        e << YAML::Flow << YAML::BeginMap << YAML::EndMap;
        break;
      }
      e << YAML::BeginMap;
      for (const auto& kv : v.get_object()) {
        std::string key(kv.key());
        e << YAML::Key;
        if (NeedsQuotes(key)) {
          e << YAML::DoubleQuoted << key;
        } else {
          e << key;
        }
        e << YAML::Value;
        Emit(e, kv.value());
      }
      e << YAML::EndMap;
      break;
  }
}

}  // namespace

StatusOr<boost::json::value> YamlToJson(std::string_view text, const YamlLimits& limits) {
  try {
    YAML::Node node = YAML::Load(std::string(text));
    Converter c(limits);
    return c.Convert(node, 0);
  } catch (const YAML::Exception& e) {
    return FromException(e);
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(std::string("yaml: ") + e.what());
  }
}

StatusOr<std::vector<boost::json::value>> YamlToJsonDocuments(std::string_view text, const YamlLimits& limits) {
  try {
    std::vector<YAML::Node> docs = YAML::LoadAll(std::string(text));
    std::vector<json::value> out;
    Converter c(limits);
    for (const auto& d : docs) {
      LIFEBOAT_ASSIGN_OR_RETURN(json::value v, c.Convert(d, 0));
      if (v.is_null()) continue;
      out.push_back(std::move(v));
    }
    return out;
  } catch (const YAML::Exception& e) {
    return FromException(e);
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(std::string("yaml: ") + e.what());
  }
}

std::string JsonToYaml(const boost::json::value& value) {
  YAML::Emitter e;
  e.SetIndent(2);
  e.SetSeqFormat(YAML::Block);
  e.SetMapFormat(YAML::Block);
  Emit(e, value);
  std::string out = e.c_str();
  if (!out.empty() && out.back() != '\n') out.push_back('\n');
  return out;
}

}  // namespace lifeboat
