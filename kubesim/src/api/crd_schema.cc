#include "kubesim/src/api/crd_schema.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <regex>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace kubesim {
namespace {

namespace json = boost::json;

// ---------------------------------------------------------------------------------------------
// Schema accessors (tolerant of malformed schemas).

const json::object* AsObject(const json::value* v) { return v != nullptr ? v->if_object() : nullptr; }

const json::value* Get(const json::object* o, std::string_view key) {
  if (o == nullptr) return nullptr;
  auto it = o->find(key);
  return it == o->end() ? nullptr : &it->value();
}

const json::object* GetObject(const json::object* o, std::string_view key) { return AsObject(Get(o, key)); }

const json::array* GetArray(const json::object* o, std::string_view key) {
  const json::value* v = Get(o, key);
  return v != nullptr ? v->if_array() : nullptr;
}

std::string GetString(const json::object* o, std::string_view key) {
  const json::value* v = Get(o, key);
  if (v == nullptr || !v->is_string()) return "";
  return std::string(v->get_string());
}

bool GetBool(const json::object* o, std::string_view key) {
  const json::value* v = Get(o, key);
  return v != nullptr && v->is_bool() && v->get_bool();
}

bool GetNumber(const json::object* o, std::string_view key, double* out) {
  const json::value* v = Get(o, key);
  if (v == nullptr) return false;
  if (v->is_int64()) *out = static_cast<double>(v->get_int64());
  else if (v->is_uint64()) *out = static_cast<double>(v->get_uint64());
  else if (v->is_double()) *out = v->get_double();
  else return false;
  return true;
}

bool GetInt(const json::object* o, std::string_view key, int64_t* out) {
  double d = 0;
  if (!GetNumber(o, key, &d)) return false;
  *out = static_cast<int64_t>(d);
  return true;
}

bool IsNumber(const json::value& v) { return v.is_int64() || v.is_uint64() || v.is_double(); }

double ToDouble(const json::value& v) {
  if (v.is_int64()) return static_cast<double>(v.get_int64());
  if (v.is_uint64()) return static_cast<double>(v.get_uint64());
  if (v.is_double()) return v.get_double();
  return 0;
}

bool PreservesUnknown(const json::object* s) { return GetBool(s, "x-kubernetes-preserve-unknown-fields"); }
bool IsEmbedded(const json::object* s) { return GetBool(s, "x-kubernetes-embedded-resource"); }
bool IsIntOrString(const json::object* s) { return GetBool(s, "x-kubernetes-int-or-string"); }
bool IsNullable(const json::object* s) { return GetBool(s, "nullable"); }

// The schema of additionalProperties if it is a schema; additionalProperties: true is an empty
// schema (everything goes, nothing is pruned below it... as kube: Structural nil).
const json::value* AdditionalProperties(const json::object* s) { return Get(s, "additionalProperties"); }

const json::object* PropertySchema(const json::object* s, std::string_view name) {
  return GetObject(GetObject(s, "properties"), name);
}

bool IsMetaField(std::string_view k) { return k == "apiVersion" || k == "kind" || k == "metadata"; }

// ---------------------------------------------------------------------------------------------
// Go formatting of values, as field.Error.ErrorBody prints them.

std::string GoQuote(std::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      default:
        if (c < 0x20 || c == 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof(buf), "\\x%02x", c);
          out += buf;
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
  }
  out.push_back('"');
  return out;
}

// Go's %v for a float64: strconv 'g' with the shortest representation, which switches to the
// exponent form when the exponent is < -4 or >= 6 (fmt.Println(1e6) prints "1e+06").
std::string GoFloat(double d) {
  if (std::isnan(d)) return "NaN";
  if (std::isinf(d)) return d > 0 ? "+Inf" : "-Inf";
  if (d == 0) return std::signbit(d) ? "-0" : "0";
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof(buf), d, std::chars_format::scientific);
  std::string sci(buf, res.ptr);
  size_t e = sci.find('e');
  std::string mant = sci.substr(0, e);
  int exp = std::atoi(sci.c_str() + e + 1);
  bool neg = !mant.empty() && mant[0] == '-';
  if (neg) mant.erase(0, 1);
  std::string digits;
  for (char c : mant) {
    if (c != '.') digits.push_back(c);
  }
  std::string out;
  if (exp < -4 || exp >= 6) {
    out = digits.substr(0, 1);
    if (digits.size() > 1) out += "." + digits.substr(1);
    char eb[16];
    std::snprintf(eb, sizeof(eb), "e%c%02d", exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
    out += eb;
  } else if (exp < 0) {
    out = "0." + std::string(static_cast<size_t>(-exp - 1), '0') + digits;
  } else {
    size_t int_len = static_cast<size_t>(exp) + 1;
    if (digits.size() <= int_len) {
      out = digits + std::string(int_len - digits.size(), '0');
    } else {
      out = digits.substr(0, int_len) + "." + digits.substr(int_len);
    }
  }
  return neg ? "-" + out : out;
}

std::string GoNumber(const json::value& v) {
  if (v.is_int64()) return std::to_string(v.get_int64());
  if (v.is_uint64()) return std::to_string(v.get_uint64());
  return GoFloat(v.get_double());
}

// Go's %#v of an unstructured value nested in a map / slice.
std::string GoSharpV(const json::value& v) {
  switch (v.kind()) {
    case json::kind::null: return "interface {}(nil)";
    case json::kind::bool_: return v.get_bool() ? "true" : "false";
    case json::kind::int64:
    case json::kind::uint64:
    case json::kind::double_: return GoNumber(v);
    case json::kind::string: return GoQuote(v.get_string());
    case json::kind::array: {
      std::string out = "[]interface {}{";
      bool first = true;
      for (const auto& e : v.get_array()) {
        if (!first) out += ", ";
        first = false;
        out += GoSharpV(e);
      }
      return out + "}";
    }
    case json::kind::object: {
      std::vector<std::string_view> keys;
      for (const auto& kv : v.get_object()) keys.push_back(kv.key());
      std::sort(keys.begin(), keys.end());
      std::string out = "map[string]interface {}{";
      bool first = true;
      for (auto k : keys) {
        if (!first) out += ", ";
        first = false;
        out += GoQuote(k) + ":" + GoSharpV(v.get_object().at(k));
      }
      return out + "}";
    }
  }
  return "";
}

// The value part of "Invalid value: <v>" (ErrorBody).
std::string BadValue(const json::value& v) {
  switch (v.kind()) {
    case json::kind::null: return "\"null\"";
    case json::kind::bool_: return v.get_bool() ? "true" : "false";
    case json::kind::int64:
    case json::kind::uint64:
    case json::kind::double_: return GoNumber(v);
    case json::kind::string: return GoQuote(v.get_string());
    default: return GoSharpV(v);
  }
}

// ---------------------------------------------------------------------------------------------
// field.Error constructors.

FieldCause Required(const std::string& field, const std::string& detail = "") {
  return {"FieldValueRequired", detail.empty() ? "Required value" : "Required value: " + detail, field};
}

FieldCause Forbidden(const std::string& field, const std::string& detail) {
  return {"FieldValueForbidden", detail.empty() ? "Forbidden" : "Forbidden: " + detail, field};
}

FieldCause InvalidRaw(const std::string& field, const std::string& value, const std::string& detail) {
  return {"FieldValueInvalid", "Invalid value: " + value + (detail.empty() ? "" : ": " + detail), field};
}

FieldCause Invalid(const std::string& field, const json::value& value, const std::string& detail) {
  return InvalidRaw(field, BadValue(value), detail);
}

FieldCause InvalidString(const std::string& field, std::string_view value, const std::string& detail) {
  return InvalidRaw(field, GoQuote(value), detail);
}

FieldCause TypeInvalid(const std::string& field, const json::value& value, const std::string& detail) {
  return {"FieldValueTypeInvalid", "Invalid value: " + BadValue(value) + ": " + detail, field};
}

FieldCause NotSupported(const std::string& field, const std::string& value, const std::vector<std::string>& values) {
  std::string msg = "Unsupported value: " + value;
  if (!values.empty()) {
    msg += ": supported values: ";
    for (size_t i = 0; i < values.size(); ++i) {
      if (i > 0) msg += ", ";
      msg += GoQuote(values[i]);
    }
  }
  return {"FieldValueNotSupported", msg, field};
}

FieldCause TooMany(const std::string& field, int64_t actual, int64_t max) {
  std::string msg = "Too many: " + std::to_string(actual) + ": must have at most " + std::to_string(max) +
                    (max == 1 ? " item" : " items");
  return {"FieldValueTooMany", msg, field};
}

FieldCause Duplicate(const std::string& field, const json::value& value) {
  return {"FieldValueDuplicate", "Duplicate value: " + BadValue(value), field};
}

// field.Path helpers.
std::string Child(const std::string& path, std::string_view name) {
  return path.empty() ? std::string(name) : path + "." + std::string(name);
}
std::string Key(const std::string& path, std::string_view key) { return path + "[" + std::string(key) + "]"; }
std::string Index(const std::string& path, size_t i) { return path + "[" + std::to_string(i) + "]"; }

// ---------------------------------------------------------------------------------------------
// ValidateStructuralSchema.

enum class Level { kRoot, kItem, kField };

const std::set<std::string, std::less<>> kOpenAPIV3Types = {"array", "boolean", "integer", "number", "object",
                                                            "string"};

bool IsIntOrStringAnyOf(const json::array* any_of) {
  if (any_of == nullptr || any_of->size() != 2) return false;
  const json::object* a = (*any_of)[0].if_object();
  const json::object* b = (*any_of)[1].if_object();
  return a != nullptr && b != nullptr && a->size() == 1 && b->size() == 1 && GetString(a, "type") == "integer" &&
         GetString(b, "type") == "string";
}

bool IsIntOrStringAllOf(const json::object* s) {
  const json::array* all_of = GetArray(s, "allOf");
  if (all_of == nullptr || all_of->empty()) return false;
  return IsIntOrStringAnyOf(GetArray((*all_of)[0].if_object(), "anyOf"));
}

std::string RegexError(const std::string& pattern) {
  try {
    std::regex re(pattern, std::regex::ECMAScript);
    return "";
  } catch (const std::exception& e) {
    return e.what();
  }
}

void ValidateValueValidation(const json::object* s, bool skip_any_of, bool skip_first_all_of_any_of, Level lvl,
                             const std::string& path, std::vector<FieldCause>& out);

// validateNestedValueValidation: a schema below allOf/anyOf/oneOf/not.
void ValidateNested(const json::object* v, bool skip_any_of, Level lvl, const std::string& path,
                    std::vector<FieldCause>& out) {
  if (v == nullptr) return;
  ValidateValueValidation(v, skip_any_of, false, lvl, path, out);
  ValidateNested(GetObject(v, "items"), false, lvl, Child(path, "items"), out);
  if (const json::object* props = GetObject(v, "properties")) {
    for (const auto& kv : *props) {
      ValidateNested(kv.value().if_object(), false, Level::kField, Key(Child(path, "properties"), kv.key()), out);
    }
  }
  if (!GetString(v, "type").empty()) out.push_back(Forbidden(Child(path, "type"), "must be empty to be structural"));
  if (Get(v, "additionalProperties") != nullptr) {
    out.push_back(Forbidden(Child(path, "additionalProperties"), "must be undefined to be structural"));
  }
  if (Get(v, "default") != nullptr) out.push_back(Forbidden(Child(path, "default"), "must be undefined to be structural"));
  if (!GetString(v, "title").empty()) out.push_back(Forbidden(Child(path, "title"), "must be empty to be structural"));
  if (!GetString(v, "description").empty()) {
    out.push_back(Forbidden(Child(path, "description"), "must be empty to be structural"));
  }
  if (GetBool(v, "nullable")) out.push_back(Forbidden(Child(path, "nullable"), "must be false to be structural"));
  if (PreservesUnknown(v)) {
    out.push_back(Forbidden(Child(path, "x-kubernetes-preserve-unknown-fields"), "must be false to be structural"));
  }
  if (IsEmbedded(v)) {
    out.push_back(Forbidden(Child(path, "x-kubernetes-embedded-resource"), "must be false to be structural"));
  }
  if (IsIntOrString(v)) {
    out.push_back(Forbidden(Child(path, "x-kubernetes-int-or-string"), "must be false to be structural"));
  }
  const json::array* keys = GetArray(v, "x-kubernetes-list-map-keys");
  if (keys != nullptr && !keys->empty()) {
    out.push_back(Forbidden(Child(path, "x-kubernetes-list-map-keys"), "must be empty to be structural"));
  }
  if (Get(v, "x-kubernetes-list-type") != nullptr) {
    out.push_back(Forbidden(Child(path, "x-kubernetes-list-type"), "must be undefined to be structural"));
  }
  if (PropertySchema(v, "metadata") != nullptr) {
    out.push_back(Forbidden(Key(Child(path, "properties"), "metadata"), "must not be specified in a nested context"));
  }
}

void ValidateValueValidation(const json::object* s, bool skip_any_of, bool skip_first_all_of_any_of, Level lvl,
                             const std::string& path, std::vector<FieldCause>& out) {
  if (s == nullptr) return;
  if (!skip_any_of) {
    if (const json::array* a = GetArray(s, "anyOf")) {
      for (size_t i = 0; i < a->size(); ++i) ValidateNested((*a)[i].if_object(), false, lvl, Index(Child(path, "anyOf"), i), out);
    }
  }
  if (const json::array* a = GetArray(s, "allOf")) {
    for (size_t i = 0; i < a->size(); ++i) {
      ValidateNested((*a)[i].if_object(), skip_first_all_of_any_of && i == 0, lvl, Index(Child(path, "allOf"), i), out);
    }
  }
  if (const json::array* a = GetArray(s, "oneOf")) {
    for (size_t i = 0; i < a->size(); ++i) ValidateNested((*a)[i].if_object(), false, lvl, Index(Child(path, "oneOf"), i), out);
  }
  ValidateNested(GetObject(s, "not"), false, lvl, Child(path, "not"), out);
  std::string pattern = GetString(s, "pattern");
  if (!pattern.empty()) {
    std::string err = RegexError(pattern);
    if (!err.empty()) {
      out.push_back(InvalidString(Child(path, "pattern"), pattern,
                                  "must be a valid regular expression, but isn't: " + err));
    }
  }
}

// validateStructuralInvariants.
void ValidateInvariants(const json::object* s, Level lvl, const std::string& path, std::vector<FieldCause>& out) {
  if (s == nullptr) return;
  std::string type = GetString(s, "type");
  if (type == "array" && Get(s, "items") == nullptr) out.push_back(Required(Child(path, "items"), "must be specified"));
  ValidateInvariants(GetObject(s, "items"), Level::kItem, Child(path, "items"), out);
  const json::object* props = GetObject(s, "properties");
  if (props != nullptr) {
    for (const auto& kv : *props) {
      ValidateInvariants(kv.value().if_object(), Level::kField, Key(Child(path, "properties"), kv.key()), out);
    }
  }
  // validateGeneric
  if (const json::value* ap = AdditionalProperties(s)) {
    if (lvl == Level::kRoot) out.push_back(Forbidden(Child(path, "additionalProperties"), "must not be used at the root"));
    ValidateInvariants(ap->if_object(), Level::kField, Child(path, "additionalProperties"), out);
  }
  // validateExtensions
  if (IsIntOrString(s) && PreservesUnknown(s)) {
    out.push_back(Invalid(Child(path, "x-kubernetes-preserve-unknown-fields"), json::value(true),
                          "must be false if x-kubernetes-int-or-string is true"));
  }
  if (IsIntOrString(s) && IsEmbedded(s)) {
    out.push_back(Invalid(Child(path, "x-kubernetes-embedded-resource"), json::value(true),
                          "must be false if x-kubernetes-int-or-string is true"));
  }
  ValidateValueValidation(s, IsIntOrStringAnyOf(GetArray(s, "anyOf")), IsIntOrStringAllOf(s), lvl, path, out);

  bool check_metadata = lvl == Level::kRoot || IsEmbedded(s);
  if (IsEmbedded(s) && type != "object") {
    if (type.empty()) {
      out.push_back(Required(Child(path, "type"), "must be object if x-kubernetes-embedded-resource is true"));
    } else {
      out.push_back(InvalidString(Child(path, "type"), type, "must be object if x-kubernetes-embedded-resource is true"));
    }
  } else if (type.empty() && !IsIntOrString(s) && !PreservesUnknown(s)) {
    switch (lvl) {
      case Level::kRoot: out.push_back(Required(Child(path, "type"), "must not be empty at the root")); break;
      case Level::kItem: out.push_back(Required(Child(path, "type"), "must not be empty for specified array items")); break;
      case Level::kField:
        out.push_back(Required(Child(path, "type"), "must not be empty for specified object fields"));
        break;
    }
  }
  if (IsEmbedded(s) && AdditionalProperties(s) != nullptr) {
    out.push_back(Forbidden(Child(path, "additionalProperties"), "must not be used if x-kubernetes-embedded-resource is set"));
  }
  if (lvl == Level::kRoot && !type.empty() && type != "object") {
    out.push_back(InvalidString(Child(path, "type"), type, "must be object at the root"));
  }
  if (check_metadata) {
    for (const char* name : {"kind", "apiVersion"}) {
      if (const json::object* p = PropertySchema(s, name)) {
        std::string t = GetString(p, "type");
        if (t != "string") {
          out.push_back(InvalidString(Child(Key(Child(path, "properties"), name), "type"), t, "must be string"));
        }
      }
    }
    if (const json::object* m = PropertySchema(s, "metadata")) {
      std::string t = GetString(m, "type");
      if (t != "object") {
        out.push_back(InvalidString(Child(Key(Child(path, "properties"), "metadata"), "type"), t, "must be object"));
      }
    }
  }
  if (lvl == Level::kRoot) {
    if (const json::object* m = PropertySchema(s, "metadata")) {
      // Only restrictions of name and generateName are allowed.
      bool ok = true;
      for (const auto& kv : *m) {
        std::string_view k = kv.key();
        if (k == "type" || k == "description") continue;
        if (k == "properties") {
          const json::object* mp = kv.value().if_object();
          if (mp == nullptr) continue;
          for (const auto& p : *mp) {
            if (p.key() != "name" && p.key() != "generateName") ok = false;
          }
          continue;
        }
        ok = false;
      }
      if (!ok) {
        out.push_back(Forbidden(Key(Child(path, "properties"), "metadata"),
                                "must not specify anything other than name and generateName, but metadata is "
                                "implicitly specified"));
      }
    }
  }
  if (IsEmbedded(s) && !PreservesUnknown(s) && (props == nullptr || props->empty())) {
    out.push_back(Required(Child(path, "properties"),
                           "must not be empty if x-kubernetes-embedded-resource is true without "
                           "x-kubernetes-preserve-unknown-fields"));
  }
}

// ValidateCustomResourceDefinitionOpenAPISchema (the parts that apply without CEL).
void ValidateOpenAPISchema(const json::object* s, const std::string& path, bool is_root, bool inside_meta,
                           const std::string& forbid_defaults_reason, bool defaults_forbidden,
                           std::vector<FieldCause>& out) {
  if (s == nullptr) return;
  // specStandardValidatorV3.validate
  std::string type = GetString(s, "type");
  if (!type.empty() && kOpenAPIV3Types.count(type) == 0) {
    out.push_back(NotSupported(Child(path, "type"), GoQuote(type),
                               std::vector<std::string>(kOpenAPIV3Types.begin(), kOpenAPIV3Types.end())));
  }
  if (Get(s, "default") != nullptr && defaults_forbidden) {
    std::string detail = "must not be set";
    if (!forbid_defaults_reason.empty()) detail += " " + forbid_defaults_reason;
    out.push_back(Forbidden(Child(path, "default"), detail));
  }
  if (!GetString(s, "id").empty()) out.push_back(Forbidden(Child(path, "id"), "id is not supported"));
  if (Get(s, "additionalItems") != nullptr) {
    out.push_back(Forbidden(Child(path, "additionalItems"), "additionalItems is not supported"));
  }
  const json::object* pp = GetObject(s, "patternProperties");
  if (pp != nullptr && !pp->empty()) {
    out.push_back(Forbidden(Child(path, "patternProperties"), "patternProperties is not supported"));
  }
  const json::object* defs = GetObject(s, "definitions");
  if (defs != nullptr && !defs->empty()) {
    out.push_back(Forbidden(Child(path, "definitions"), "definitions is not supported"));
  }
  if (Get(s, "dependencies") != nullptr) {
    out.push_back(Forbidden(Child(path, "dependencies"), "dependencies is not supported"));
  }
  if (Get(s, "$ref") != nullptr) out.push_back(Forbidden(Child(path, "$ref"), "$ref is not supported"));
  if (type == "null") {
    out.push_back(Forbidden(Child(path, "type"), "type cannot be set to null, use nullable as an alternative"));
  }
  const json::value* items = Get(s, "items");
  if (items != nullptr && items->is_array()) {
    out.push_back(Forbidden(Child(path, "items"), "items must be a schema object and not an array"));
  }
  if (inside_meta && IsEmbedded(s)) {
    out.push_back(Forbidden(Child(path, "x-kubernetes-embedded-resource"), "must not be used inside of resource meta"));
  }

  if (GetBool(s, "uniqueItems")) {
    out.push_back(Forbidden(Child(path, "uniqueItems"),
                            "uniqueItems cannot be set to true since the runtime complexity becomes quadratic"));
  }
  const json::object* props = GetObject(s, "properties");
  if (const json::value* ap = AdditionalProperties(s)) {
    if (props != nullptr && !props->empty()) {
      bool allows_everything = ap->is_bool() && ap->get_bool();
      if (!allows_everything) {
        out.push_back(Forbidden(Child(path, "additionalProperties"), "additionalProperties and properties are mutual exclusive"));
      }
    }
    bool sub_forbidden = defaults_forbidden;
    std::string sub_reason = forbid_defaults_reason;
    if (inside_meta) {
      sub_forbidden = true;
      sub_reason = "inside additionalProperties applying to object metadata";
    }
    ValidateOpenAPISchema(ap->if_object(), Child(path, "additionalProperties"), false, inside_meta, sub_reason,
                          sub_forbidden, out);
  }
  if (props != nullptr) {
    for (const auto& kv : *props) {
      bool sub_meta = inside_meta;
      bool sub_forbidden = defaults_forbidden;
      std::string sub_reason = forbid_defaults_reason;
      if ((is_root || IsEmbedded(s)) && IsMetaField(kv.key())) {
        sub_meta = true;
        if (is_root) {
          sub_forbidden = true;
          sub_reason = "in top-level " + std::string(kv.key());
        }
      }
      ValidateOpenAPISchema(kv.value().if_object(), Key(Child(path, "properties"), kv.key()), false, sub_meta, sub_reason,
                            sub_forbidden, out);
    }
  }
  ValidateOpenAPISchema(GetObject(s, "not"), Child(path, "not"), false, inside_meta, forbid_defaults_reason,
                        defaults_forbidden, out);
  for (const char* junctor : {"allOf", "oneOf", "anyOf"}) {
    if (const json::array* a = GetArray(s, junctor)) {
      for (size_t i = 0; i < a->size(); ++i) {
        ValidateOpenAPISchema((*a)[i].if_object(), Index(Child(path, junctor), i), false, inside_meta,
                              forbid_defaults_reason, defaults_forbidden, out);
      }
    }
  }
  const json::object* item_schema = AsObject(items);
  ValidateOpenAPISchema(item_schema, Child(path, "items"), false, inside_meta, forbid_defaults_reason, defaults_forbidden,
                        out);

  const json::value* preserve = Get(s, "x-kubernetes-preserve-unknown-fields");
  if (preserve != nullptr && preserve->is_bool() && !preserve->get_bool()) {
    out.push_back(Invalid(Child(path, "x-kubernetes-preserve-unknown-fields"), json::value(false), "must be true or undefined"));
  }
  const json::value* map_type_v = Get(s, "x-kubernetes-map-type");
  if (map_type_v != nullptr && map_type_v->is_string()) {
    std::string map_type(map_type_v->get_string());
    if (type != "object") {
      if (type.empty()) {
        out.push_back(Required(Child(path, "type"), "must be object if x-kubernetes-map-type is specified"));
      } else {
        out.push_back(InvalidString(Child(path, "type"), type, "must be object if x-kubernetes-map-type is specified"));
      }
    }
    if (map_type != "atomic" && map_type != "granular") {
      out.push_back(NotSupported(Child(path, "x-kubernetes-map-type"), GoQuote(map_type), {"atomic", "granular"}));
    }
  }
  const json::value* list_type_v = Get(s, "x-kubernetes-list-type");
  std::string list_type = list_type_v != nullptr && list_type_v->is_string() ? std::string(list_type_v->get_string()) : "";
  bool has_list_type = list_type_v != nullptr && list_type_v->is_string();
  if (has_list_type && type != "array") {
    if (type.empty()) {
      out.push_back(Required(Child(path, "type"), "must be array if x-kubernetes-list-type is specified"));
    } else {
      out.push_back(InvalidString(Child(path, "type"), type, "must be array if x-kubernetes-list-type is specified"));
    }
  }
  if (has_list_type && list_type != "atomic" && list_type != "set" && list_type != "map") {
    out.push_back(NotSupported(Child(path, "x-kubernetes-list-type"), GoQuote(list_type), {"atomic", "set", "map"}));
  }
  const json::array* map_keys = GetArray(s, "x-kubernetes-list-map-keys");
  if (map_keys != nullptr && !map_keys->empty()) {
    if (!has_list_type) {
      out.push_back(Required(Child(path, "x-kubernetes-list-type"), "must be map if x-kubernetes-list-map-keys is non-empty"));
    } else if (list_type != "map") {
      out.push_back(InvalidString(Child(path, "x-kubernetes-list-type"), list_type,
                                  "must be map if x-kubernetes-list-map-keys is non-empty"));
    }
  }
  if (has_list_type && list_type == "map") {
    if (map_keys == nullptr || map_keys->empty()) {
      out.push_back(Required(Child(path, "x-kubernetes-list-map-keys"), "must not be empty if x-kubernetes-list-type is map"));
    }
    if (items == nullptr) {
      out.push_back(Required(Child(path, "items"), "must have a schema if x-kubernetes-list-type is map"));
    } else if (item_schema != nullptr) {
      std::string item_type = GetString(item_schema, "type");
      if (item_type != "object") {
        out.push_back(InvalidString(Child(Child(path, "items"), "type"), item_type,
                                    "must be object if parent array's x-kubernetes-list-type is map"));
      } else if (map_keys != nullptr) {
        std::set<std::string> seen;
        for (const auto& kv : *map_keys) {
          std::string k = kv.is_string() ? std::string(kv.get_string()) : "";
          const json::object* ks = PropertySchema(item_schema, k);
          if (ks != nullptr) {
            std::string kt = GetString(ks, "type");
            if (kt == "array" || kt == "object") {
              out.push_back(InvalidString(Child(Key(Child(Child(path, "items"), "properties"), k), "type"), item_type,
                                          "must be a scalar type if parent array's x-kubernetes-list-type is map"));
            }
          } else {
            out.push_back(InvalidRaw(Child(path, "x-kubernetes-list-map-keys"), GoSharpV(*map_keys),
                                     "entries must all be names of item properties"));
          }
          if (!seen.insert(k).second) {
            out.push_back(InvalidRaw(Child(path, "x-kubernetes-list-map-keys"), GoSharpV(*map_keys),
                                     "must not contain duplicate entries"));
          }
        }
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Pruning.

const std::set<std::string, std::less<>> kObjectMetaFields = {
    "name",         "generateName",      "namespace",         "selfLink",
    "uid",          "resourceVersion",   "generation",        "creationTimestamp",
    "deletionTimestamp", "deletionGracePeriodSeconds", "labels", "annotations",
    "ownerReferences", "finalizers",     "managedFields"};

struct Pruner {
  std::vector<std::string>* pruned;
  // Whether the value at the empty path is a whole resource (apiVersion, kind, metadata kept).
  bool root_is_resource = true;

  void Record(const std::string& path, std::string_view key) {
    if (pruned != nullptr) pruned->push_back(Child(path, key));
  }

  // ObjectMeta coercion: unknown metadata fields are dropped.
  void PruneMeta(json::value& meta, const std::string& path) {
    json::object* m = meta.if_object();
    if (m == nullptr) return;
    for (auto it = m->begin(); it != m->end();) {
      if (kObjectMetaFields.count(it->key()) == 0) {
        Record(path, it->key());
        it = m->erase(it);
      } else {
        ++it;
      }
    }
  }

  // `path` is empty only at the resource root, which kube treats as an embedded resource
  // (apiVersion, kind and metadata are never pruned by the schema).
  void Prune(json::value& x, const json::object* s, const std::string& path) {
    if (s != nullptr && PreservesUnknown(s)) {
      SkipPrune(x, s, path);
      return;
    }
    if (json::object* o = x.if_object()) {
      if (s == nullptr) {
        for (const auto& kv : *o) Record(path, kv.key());
        o->clear();
        return;
      }
      bool embedded = IsEmbedded(s) || (path.empty() && root_is_resource);
      const json::value* ap = AdditionalProperties(s);
      for (auto it = o->begin(); it != o->end();) {
        std::string_view k = it->key();
        if (embedded && IsMetaField(k)) {
          if (k == "metadata") PruneMeta(it->value(), Child(path, k));
          ++it;
          continue;
        }
        if (const json::object* prop = PropertySchema(s, k)) {
          Prune(it->value(), prop, Child(path, k));
          ++it;
        } else if (ap != nullptr) {
          // additionalProperties: true is a nil structural schema in kube: objects below are emptied.
          Prune(it->value(), AsObject(ap), Child(path, k));
          ++it;
        } else {
          Record(path, k);
          it = o->erase(it);
        }
      }
    } else if (json::array* a = x.if_array()) {
      const json::object* items = s != nullptr ? GetObject(s, "items") : nullptr;
      for (size_t i = 0; i < a->size(); ++i) Prune((*a)[i], items, Index(path, i));
    }
  }

  void SkipPrune(json::value& x, const json::object* s, const std::string& path) {
    if (s == nullptr) return;
    if (json::object* o = x.if_object()) {
      bool embedded = IsEmbedded(s) || (path.empty() && root_is_resource);
      const json::value* ap = AdditionalProperties(s);
      for (auto& kv : *o) {
        std::string_view k = kv.key();
        if (embedded && IsMetaField(k)) {
          if (k == "metadata") PruneMeta(kv.value(), Child(path, k));
          continue;
        }
        if (const json::object* prop = PropertySchema(s, k)) {
          Prune(kv.value(), prop, Child(path, k));
        } else if (ap != nullptr) {
          Prune(kv.value(), AsObject(ap), Child(path, k));
        }
      }
    } else if (json::array* a = x.if_array()) {
      const json::object* items = GetObject(s, "items");
      for (size_t i = 0; i < a->size(); ++i) SkipPrune((*a)[i], items, Index(path, i));
    }
  }
};

// ---------------------------------------------------------------------------------------------
// Defaulting.

bool IsNonNullableNull(const json::value& x, const json::object* s) { return x.is_null() && s != nullptr && !IsNullable(s); }

void Default(json::value& x, const json::object* s) {
  if (s == nullptr) return;
  if (json::object* o = x.if_object()) {
    if (const json::object* props = GetObject(s, "properties")) {
      for (const auto& kv : *props) {
        const json::object* prop = kv.value().if_object();
        const json::value* def = Get(prop, "default");
        if (def == nullptr) continue;
        auto it = o->find(kv.key());
        if (it == o->end() || IsNonNullableNull(it->value(), prop)) (*o)[kv.key()] = *def;  // deep copy
      }
    }
    const json::value* ap = AdditionalProperties(s);
    const json::object* aps = AsObject(ap);
    for (auto& kv : *o) {
      if (const json::object* prop = PropertySchema(s, kv.key())) {
        Default(kv.value(), prop);
      } else if (aps != nullptr) {
        const json::value* def = Get(aps, "default");
        if (def != nullptr && IsNonNullableNull(kv.value(), aps)) kv.value() = *def;
        Default(kv.value(), aps);
      }
    }
  } else if (json::array* a = x.if_array()) {
    const json::object* items = GetObject(s, "items");
    for (auto& e : *a) {
      const json::value* def = Get(items, "default");
      if (def != nullptr && IsNonNullableNull(e, items)) e = *def;
      Default(e, items);
    }
  }
}

// PruneNonNullableNullsWithoutDefaults.
void PruneNulls(json::value& x, const json::object* s) {
  if (s == nullptr) return;
  if (json::object* o = x.if_object()) {
    // Only declared properties lose their nulls; additionalProperties values are recursed into.
    const json::object* aps = AsObject(AdditionalProperties(s));
    for (auto it = o->begin(); it != o->end();) {
      const json::object* prop = PropertySchema(s, it->key());
      if (prop != nullptr && it->value().is_null() && Get(prop, "default") == nullptr && !IsNullable(prop)) {
        it = o->erase(it);
        continue;
      }
      PruneNulls(it->value(), prop != nullptr ? prop : aps);
      ++it;
    }
  } else if (json::array* a = x.if_array()) {
    const json::object* items = GetObject(s, "items");
    for (auto& e : *a) PruneNulls(e, items);
  }
}

// ---------------------------------------------------------------------------------------------
// Validation (kube-openapi validate semantics).

// "<name> in body"; kube-openapi prints " in body" (leading blank) for the root value.
std::string InBody(const std::string& name) { return name.empty() ? "in body" : name + " in body"; }

std::string TrimDot(const std::string& p) { return !p.empty() && p[0] == '.' ? p.substr(1) : p; }

std::string JsonType(const json::value& v) {
  switch (v.kind()) {
    case json::kind::null: return "null";
    case json::kind::bool_: return "boolean";
    case json::kind::int64:
    case json::kind::uint64: return "integer";
    case json::kind::double_: {
      return "number";
    }
    case json::kind::string: return "string";
    case json::kind::array: return "array";
    case json::kind::object: return "object";
  }
  return "";
}

bool IsWholeNumber(double d) { return std::isfinite(d) && std::floor(d) == d; }

bool JsonEqual(const json::value& a, const json::value& b) {
  if (IsNumber(a) && IsNumber(b)) return ToDouble(a) == ToDouble(b);
  if (a.kind() != b.kind()) return false;
  if (a.is_array()) {
    const auto& x = a.get_array();
    const auto& y = b.get_array();
    if (x.size() != y.size()) return false;
    for (size_t i = 0; i < x.size(); ++i) {
      if (!JsonEqual(x[i], y[i])) return false;
    }
    return true;
  }
  if (a.is_object()) {
    const auto& x = a.get_object();
    const auto& y = b.get_object();
    if (x.size() != y.size()) return false;
    for (const auto& kv : x) {
      auto it = y.find(kv.key());
      if (it == y.end() || !JsonEqual(kv.value(), it->value())) return false;
    }
    return true;
  }
  return a == b;
}

size_t RuneCount(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s) {
    if ((c & 0xC0) != 0x80) ++n;
  }
  return n;
}

bool Matches(const std::string& re, std::string_view s) {
  try {
    return std::regex_search(s.begin(), s.end(), std::regex(re, std::regex::ECMAScript));
  } catch (const std::exception&) {
    return true;  // an invalid pattern was rejected with the CRD; tolerate it
  }
}

bool IsDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool ValidDate(std::string_view s) {
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') return false;
  if (!IsDigits(s.substr(0, 4)) || !IsDigits(s.substr(5, 2)) || !IsDigits(s.substr(8, 2))) return false;
  int month = std::stoi(std::string(s.substr(5, 2)));
  int day = std::stoi(std::string(s.substr(8, 2)));
  return month >= 1 && month <= 12 && day >= 1 && day <= 31;
}

bool ValidDateTime(std::string_view s) {
  static const std::regex kRe(
      R"(^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$)", std::regex::ECMAScript);
  if (!std::regex_match(s.begin(), s.end(), kRe)) return false;
  if (!ValidDate(s.substr(0, 10))) return false;
  int h = std::stoi(std::string(s.substr(11, 2)));
  int m = std::stoi(std::string(s.substr(14, 2)));
  int sec = std::stoi(std::string(s.substr(17, 2)));
  return h < 24 && m < 60 && sec < 61;
}

bool ValidFormat(const std::string& format, std::string_view s) {
  auto re_match = [&](const char* pattern) {
    return std::regex_match(s.begin(), s.end(), std::regex(pattern, std::regex::ECMAScript | std::regex::icase));
  };
  try {
    if (format == "date-time" || format == "datetime") return ValidDateTime(s);
    if (format == "date") return ValidDate(s);
    if (format == "uuid") return re_match(R"(^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$)");
    if (format == "uuid3") return re_match(R"(^[0-9a-f]{8}-?[0-9a-f]{4}-?3[0-9a-f]{3}-?[0-9a-f]{4}-?[0-9a-f]{12}$)");
    if (format == "uuid4") {
      return re_match(R"(^[0-9a-f]{8}-?[0-9a-f]{4}-?4[0-9a-f]{3}-?[89ab][0-9a-f]{3}-?[0-9a-f]{12}$)");
    }
    if (format == "uuid5") {
      return re_match(R"(^[0-9a-f]{8}-?[0-9a-f]{4}-?5[0-9a-f]{3}-?[89ab][0-9a-f]{3}-?[0-9a-f]{12}$)");
    }
    if (format == "ipv4") {
      return re_match(R"(^((25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$)");
    }
    if (format == "ipv6") return s.find(':') != std::string_view::npos && re_match(R"(^[0-9a-f:.]+$)");
    if (format == "cidr") {
      size_t slash = s.find('/');
      return slash != std::string_view::npos && IsDigits(s.substr(slash + 1)) &&
             (ValidFormat("ipv4", s.substr(0, slash)) || ValidFormat("ipv6", s.substr(0, slash)));
    }
    if (format == "mac") return re_match(R"(^([0-9a-f]{2}[:-]){5}[0-9a-f]{2}$)");
    if (format == "hostname") {
      return s.size() <= 255 &&
             re_match(R"(^([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*\.?$)");
    }
    if (format == "email") return re_match(R"(^[^@\s]+@[^@\s]+$)");
    if (format == "byte") {
      return s.size() % 4 == 0 && re_match(R"(^[A-Za-z0-9+/]*={0,2}$)");
    }
    if (format == "hexcolor") return re_match(R"(^#([0-9a-f]{3}|[0-9a-f]{6})$)");
    if (format == "bsonobjectid") return re_match(R"(^[0-9a-f]{24}$)");
  } catch (const std::exception&) {
    return true;
  }
  // Formats kube strips (int32, int64, float, double, ...) or does not check here.
  return true;
}

struct Validator {
  std::vector<FieldCause> out;
  // Errors of the whole-schema combinators (anyOf/oneOf/allOf/not) are reported at the root
  // path by kube (they are not *Validation errors).
  void Add(FieldCause c) { out.push_back(std::move(c)); }

  // Whether `x` is valid against `s` (used by anyOf/oneOf/not).
  static bool IsValid(const json::value& x, const json::object* s, const std::string& path) {
    Validator v;
    v.Validate(x, s, path);
    return v.out.empty();
  }

  void ValidateType(const json::value& x, const json::object* s, const std::string& path, bool* type_ok) {
    *type_ok = true;
    std::vector<std::string> types;
    if (IsIntOrString(s)) {
      types = {"integer", "string"};
    } else {
      std::string t = GetString(s, "type");
      if (!t.empty()) types = {t};
    }
    if (types.empty()) return;
    std::string joined;
    for (const auto& t : types) joined += (joined.empty() ? "" : ",") + t;
    std::string name = TrimDot(path);
    if (x.is_null()) {
      if (!IsNullable(s)) {
        *type_ok = false;
        Add(TypeInvalid(name, json::value(json::string("null")),
                        InBody(name) + " must be of type " + joined + ": \"null\""));
      }
      return;
    }
    std::string actual = JsonType(x);
    auto contains = [&](const char* t) { return std::find(types.begin(), types.end(), t) != types.end(); };
    bool ok = contains(actual.c_str()) || (actual == "number" && IsWholeNumber(x.get_double()) && contains("integer")) ||
              (actual == "integer" && contains("number"));
    if (!ok) {
      *type_ok = false;
      Add(TypeInvalid(name, json::value(json::string(actual)),
                      InBody(name) + " must be of type " + joined + ": " + GoQuote(actual)));
    }
  }

  void ValidateEnum(const json::value& x, const json::object* s, const std::string& path) {
    const json::array* e = GetArray(s, "enum");
    if (e == nullptr || e->empty()) return;
    for (const auto& v : *e) {
      if (JsonEqual(v, x)) return;
    }
    std::vector<std::string> values;
    for (const auto& v : *e) values.push_back(v.is_string() ? std::string(v.get_string()) : json::serialize(v));
    Add(NotSupported(TrimDot(path), BadValue(x), values));
  }

  void ValidateCombinators(const json::value& x, const json::object* s, const std::string& path) {
    std::string q = GoQuote(TrimDot(path));
    if (const json::array* all = GetArray(s, "allOf")) {
      bool all_ok = true;
      for (const auto& sub : *all) {
        Validator v;
        v.Validate(x, sub.if_object(), path);
        if (!v.out.empty()) all_ok = false;
        for (auto& c : v.out) Add(std::move(c));
      }
      if (!all_ok) Add(InvalidString("", "", q + " must validate all the schemas (allOf)"));
    }
    if (const json::array* any = GetArray(s, "anyOf")) {
      if (!any->empty()) {
        bool ok = false;
        std::vector<FieldCause> best;
        bool have_best = false;
        for (const auto& sub : *any) {
          Validator v;
          v.Validate(x, sub.if_object(), path);
          if (v.out.empty()) {
            ok = true;
            break;
          }
          if (!have_best || v.out.size() < best.size()) {
            best = std::move(v.out);
            have_best = true;
          }
        }
        if (!ok) {
          Add(InvalidString("", "", q + " must validate at least one schema (anyOf)"));
          for (auto& c : best) Add(std::move(c));
        }
      }
    }
    if (const json::array* one = GetArray(s, "oneOf")) {
      if (!one->empty()) {
        int valid = 0;
        std::vector<FieldCause> best;
        bool have_best = false;
        for (const auto& sub : *one) {
          Validator v;
          v.Validate(x, sub.if_object(), path);
          if (v.out.empty()) {
            ++valid;
          } else if (!have_best || v.out.size() < best.size()) {
            best = std::move(v.out);
            have_best = true;
          }
        }
        if (valid == 0) {
          Add(InvalidString("", "", q + " must validate one and only one schema (oneOf)"));
          for (auto& c : best) Add(std::move(c));
        } else if (valid > 1) {
          Add(InvalidString("", "", q + " must validate one and only one schema (oneOf). Found " +
                                        std::to_string(valid) + " valid alternatives"));
        }
      }
    }
    if (const json::object* n = GetObject(s, "not")) {
      if (IsValid(x, n, path)) Add(InvalidString("", "", q + " must not validate the schema (not)"));
    }
  }

  void ValidateString(const std::string& x, const json::object* s, const std::string& path) {
    std::string name = TrimDot(path);
    int64_t n = 0;
    size_t len = RuneCount(x);
    if (GetInt(s, "maxLength", &n) && static_cast<int64_t>(len) > n) {
      Add({"FieldValueTooLong", "Too long: may not be longer than " + std::to_string(n), name});
    }
    if (GetInt(s, "minLength", &n) && static_cast<int64_t>(len) < n) {
      Add(InvalidString(name, x, InBody(name) + " should be at least " + std::to_string(n) + " chars long"));
    }
    std::string pattern = GetString(s, "pattern");
    if (!pattern.empty() && !Matches(pattern, x)) {
      Add(InvalidString(name, x, InBody(name) + " should match '" + pattern + "'"));
    }
    std::string format = GetString(s, "format");
    if (!format.empty() && !ValidFormat(format, x)) {
      json::value v = json::string(x);
      Add(TypeInvalid(name, v, InBody(name) + " must be of type " + format + ": " + GoQuote(x)));
    }
  }

  void ValidateNumber(const json::value& x, const json::object* s, const std::string& path) {
    std::string name = TrimDot(path);
    double d = ToDouble(x);
    double limit = 0;
    if (GetNumber(s, "multipleOf", &limit) && limit > 0) {
      double q = d / limit;
      if (!IsWholeNumber(q)) Add(Invalid(name, x, InBody(name) + " should be a multiple of " + GoFloat(limit)));
    }
    if (GetNumber(s, "maximum", &limit)) {
      bool excl = GetBool(s, "exclusiveMaximum");
      if (excl ? d >= limit : d > limit) {
        Add(Invalid(name, x,
                    InBody(name) + " should be less than " + (excl ? "" : "or equal to ") + GoFloat(limit)));
      }
    }
    if (GetNumber(s, "minimum", &limit)) {
      bool excl = GetBool(s, "exclusiveMinimum");
      if (excl ? d <= limit : d < limit) {
        Add(Invalid(name, x,
                    InBody(name) + " should be greater than " + (excl ? "" : "or equal to ") + GoFloat(limit)));
      }
    }
  }

  void ValidateArray(const json::array& a, const json::object* s, const std::string& path) {
    std::string name = TrimDot(path);
    int64_t n = 0;
    int64_t size = static_cast<int64_t>(a.size());
    if (GetInt(s, "minItems", &n) && size < n) {
      Add(Invalid(name, json::value(size), InBody(name) + " should have at least " + std::to_string(n) + " items"));
    }
    if (GetInt(s, "maxItems", &n) && size > n) Add(TooMany(name, size, n));
    if (GetBool(s, "uniqueItems")) {
      bool dup = false;
      for (size_t i = 0; i < a.size() && !dup; ++i) {
        for (size_t j = i + 1; j < a.size() && !dup; ++j) dup = JsonEqual(a[i], a[j]);
      }
      if (dup) Add(InvalidString(name, "", InBody(name) + " shouldn't contain duplicates"));
    }
    if (const json::object* items = GetObject(s, "items")) {
      for (size_t i = 0; i < a.size(); ++i) Validate(a[i], items, Index(path, i));
    }
  }

  void ValidateObject(const json::object& o, const json::object* s, const std::string& path) {
    std::string name = TrimDot(path);
    int64_t n = 0;
    int64_t size = static_cast<int64_t>(o.size());
    if (GetInt(s, "maxProperties", &n) && size > n) Add(TooMany(name, size, n));
    if (GetInt(s, "minProperties", &n) && size < n) {
      Add(Invalid(name, json::value(size), InBody(name) + " should have at least " + std::to_string(n) + " properties"));
    }
    if (const json::array* req = GetArray(s, "required")) {
      for (const auto& r : *req) {
        if (!r.is_string()) continue;
        if (o.find(r.get_string()) == o.end()) Add(Required(TrimDot(path + "." + std::string(r.get_string()))));
      }
    }
    const json::object* props = GetObject(s, "properties");
    const json::value* ap = AdditionalProperties(s);
    if (props != nullptr) {
      for (const auto& kv : *props) {
        auto it = o.find(kv.key());
        if (it != o.end()) Validate(it->value(), kv.value().if_object(), path + "." + std::string(kv.key()));
      }
    }
    if (ap != nullptr) {
      for (const auto& kv : o) {
        if (props != nullptr && props->contains(kv.key())) continue;
        if (const json::object* aps = ap->if_object()) {
          Validate(kv.value(), aps, path + "." + std::string(kv.key()));
        } else if (ap->is_bool() && !ap->get_bool()) {
          Add(InvalidString(name, kv.key(), name + "." + std::string(kv.key()) + " in body is a forbidden property"));
        }
      }
    }
  }

  // x-kubernetes-list-type: set / map uniqueness (pkg/apiserver/schema/listtype).
  void ValidateListType(const json::array& a, const json::object* s, const std::string& path) {
    std::string list_type = GetString(s, "x-kubernetes-list-type");
    std::string name = TrimDot(path);
    if (list_type == "set") {
      for (size_t i = 0; i < a.size(); ++i) {
        for (size_t j = 0; j < i; ++j) {
          if (JsonEqual(a[i], a[j])) {
            Add(Duplicate(Index(name, i), a[i]));
            break;
          }
        }
      }
    } else if (list_type == "map") {
      const json::array* keys = GetArray(s, "x-kubernetes-list-map-keys");
      if (keys == nullptr) return;
      auto key_of = [&](const json::value& item) {
        json::object k;
        if (const json::object* io = item.if_object()) {
          for (const auto& key : *keys) {
            if (!key.is_string()) continue;
            auto it = io->find(key.get_string());
            if (it != io->end()) k[key.get_string()] = it->value();
          }
        }
        return json::value(std::move(k));
      };
      std::vector<json::value> seen;
      for (size_t i = 0; i < a.size(); ++i) {
        json::value k = key_of(a[i]);
        bool dup = false;
        for (const auto& prev : seen) {
          if (JsonEqual(prev, k)) dup = true;
        }
        if (dup) Add(Duplicate(Index(name, i), k));
        seen.push_back(std::move(k));
      }
    }
  }

  void Validate(const json::value& x, const json::object* s, const std::string& path) {
    if (s == nullptr) return;
    bool type_ok = true;
    ValidateType(x, s, path, &type_ok);
    if (x.is_null()) {
      ValidateEnum(x, s, path);
      return;
    }
    ValidateCombinators(x, s, path);
    if (x.is_string()) ValidateString(std::string(x.get_string()), s, path);
    if (IsNumber(x)) ValidateNumber(x, s, path);
    if (const json::array* a = x.if_array()) ValidateArray(*a, s, path);
    ValidateEnum(x, s, path);
    if (const json::object* o = x.if_object()) ValidateObject(*o, s, path);
  }

  void WalkListTypes(const json::value& x, const json::object* s, const std::string& path) {
    if (s == nullptr) return;
    if (const json::object* o = x.if_object()) {
      const json::value* ap = AdditionalProperties(s);
      for (const auto& kv : *o) {
        const json::object* sub = PropertySchema(s, kv.key());
        if (sub == nullptr) sub = AsObject(ap);
        WalkListTypes(kv.value(), sub, path + "." + std::string(kv.key()));
      }
    } else if (const json::array* a = x.if_array()) {
      ValidateListType(*a, s, path);
      const json::object* items = GetObject(s, "items");
      for (size_t i = 0; i < a->size(); ++i) WalkListTypes((*a)[i], items, Index(path, i));
    }
  }
};

// structuraldefaulting.ValidateDefaults: every default (outside top-level metadata, where
// defaults are forbidden anyway) must be pruned and valid against its own schema.
void ValidateDefaults(const json::object* s, const std::string& path, bool is_root, std::vector<FieldCause>& out) {
  if (s == nullptr) return;
  if (const json::value* def = Get(s, "default")) {
    json::value pruned = *def;
    Pruner p{nullptr, IsEmbedded(s)};
    p.Prune(pruned, s, "");
    std::string def_path = Child(path, "default");
    if (pruned != *def) out.push_back(Invalid(def_path, *def, "must not have unknown fields"));
    Validator v;
    v.Validate(*def, s, "");
    v.WalkListTypes(*def, s, "");
    for (auto& c : v.out) {
      c.field = c.field.empty() ? def_path : (c.field[0] == '[' ? def_path + c.field : Child(def_path, c.field));
      out.push_back(std::move(c));
    }
  }
  if (const json::object* props = GetObject(s, "properties")) {
    for (const auto& kv : *props) {
      if (is_root && IsMetaField(kv.key())) continue;
      ValidateDefaults(kv.value().if_object(), Key(Child(path, "properties"), kv.key()), false, out);
    }
  }
  ValidateDefaults(GetObject(s, "items"), Child(path, "items"), false, out);
  ValidateDefaults(AsObject(AdditionalProperties(s)), Child(path, "additionalProperties"), false, out);
}

}  // namespace

std::vector<FieldCause> ValidateStructuralSchema(const json::value& schema, const std::string& field_path) {
  std::vector<FieldCause> out;
  const json::object* s = schema.if_object();
  if (s == nullptr) {
    out.push_back(Required(field_path, "schemas are required"));
    return out;
  }
  ValidateInvariants(s, Level::kRoot, field_path, out);
  // kube sorts the structural errors by their Error() text.
  std::stable_sort(out.begin(), out.end(), [](const FieldCause& a, const FieldCause& b) {
    return a.field + ": " + a.message < b.field + ": " + b.message;
  });
  // Defaults are only checked once the schema is structural.
  if (out.empty()) ValidateDefaults(s, field_path, true, out);
  ValidateOpenAPISchema(s, field_path, true, false, "", false, out);
  return out;
}

void PruneUnknownFields(json::value& obj, const json::value& schema, std::vector<std::string>* pruned) {
  static const json::object kEmpty;
  const json::object* s = schema.if_object();
  if (s == nullptr) s = &kEmpty;
  if (!obj.is_object()) return;
  size_t first = pruned != nullptr ? pruned->size() : 0;
  Pruner p{pruned};
  p.Prune(obj, s, "");
  if (pruned != nullptr) std::sort(pruned->begin() + static_cast<std::ptrdiff_t>(first), pruned->end());
}

void ApplyDefaults(json::value& obj, const json::value& schema) {
  const json::object* s = schema.if_object();
  if (s == nullptr) return;
  Default(obj, s);
  PruneNulls(obj, s);
}

std::vector<FieldCause> ValidateAgainstSchema(const json::value& obj, const json::value& schema) {
  const json::object* s = schema.if_object();
  if (s == nullptr) return {};
  Validator v;
  v.Validate(obj, s, "");
  v.WalkListTypes(obj, s, "");
  return std::move(v.out);
}

}  // namespace kubesim
