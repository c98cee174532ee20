// Parsing and validation of Velero's resource modifiers document (internal/resourcemodifiers in
// Velero): strict fields, version v1, one patch kind per rule. Problems Velero would only hit
// while restoring (a regex or selector that does not compile, a value that is not valid JSON)
// are reported here, all at once.

#include <algorithm>
#include <cctype>
#include <initializer_list>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_join.h"
#include "lifeboat/common/json.h"
#include "lifeboat/common/yaml.h"
#include "src/restore/resource_modifiers.h"

namespace lifeboat::restore {
namespace {

namespace json = boost::json;
using Rule = ResourceModifiers::Rule;

class Problems {
 public:
  void Add(const std::string& where, const std::string& what) {
    list_.push_back(where + ": " + what);
  }
  bool empty() const { return list_.empty(); }
  Status ToStatus() const {
    return absl::InvalidArgumentError("invalid resource modifiers: " + absl::StrJoin(list_, "; "));
  }

 private:
  std::vector<std::string> list_;
};

// Strict decoding, as Velero's yaml.UnmarshalStrict: unknown fields are errors.
const json::object* ObjectWithFields(const json::value& v, const std::string& where,
                                     std::initializer_list<std::string_view> known,
                                     Problems& problems) {
  if (!v.is_object()) {
    problems.Add(where, "must be an object");
    return nullptr;
  }
  for (const auto& kv : v.get_object()) {
    if (std::find(known.begin(), known.end(), std::string_view(kv.key())) == known.end()) {
      problems.Add(where, "unknown field \"" + std::string(kv.key()) + "\"");
    }
  }
  return &v.get_object();
}

// A string field as sigs.k8s.io/yaml fills one: YAML scalars of other types become their text
// (`value: 3` is "3"), null leaves it empty; maps and lists are errors.
std::optional<std::string> StringField(const json::object& obj, std::string_view key,
                                       const std::string& where, Problems& problems) {
  auto it = obj.find(key);
  if (it == obj.end() || it->value().is_null()) return std::string();
  const json::value& v = it->value();
  if (v.is_string()) return std::string(v.get_string());
  if (v.is_object() || v.is_array()) {
    problems.Add(where + "." + std::string(key),
                 "must be a string (write JSON values as a quoted string)");
    return std::nullopt;
  }
  return CanonicalJson(v);
}

const json::array* ListField(const json::object& obj, std::string_view key,
                             const std::string& where, Problems& problems) {
  auto it = obj.find(key);
  if (it == obj.end() || it->value().is_null()) return nullptr;
  if (!it->value().is_array()) {
    problems.Add(where + "." + std::string(key), "must be a list");
    return nullptr;
  }
  return &it->value().get_array();
}

// Whether Go's strconv.ParseFloat(s, 64) accepts `s` (decimal or hex floats, inf, nan).
bool GoParsesAsFloat(std::string_view s) {
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) s.remove_prefix(1);
  std::string lower = absl::AsciiStrToLower(std::string(s));
  if (lower == "inf" || lower == "infinity" || lower == "nan") return true;
  if (lower.size() > 2 && lower[0] == '0' && lower[1] == 'x') return true;  // hex float
  size_t i = 0, digits = 0;
  while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i, ++digits;
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i, ++digits;
  }
  if (digits == 0) return false;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    size_t exp_digits = 0;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i, ++exp_digits;
    if (exp_digits == 0) return false;
  }
  return i == s.size();
}

// Velero splices a string between double quotes into the JSON patch text; this is the JSON
// string that text decodes to (so `\n` is a newline), or an error when it does not decode.
StatusOr<json::value> QuotedText(std::string_view text) {
  auto v = ParseJson("\"" + std::string(text) + "\"");
  if (!v.ok() || !v->is_string()) {
    return absl::InvalidArgumentError("\"" + std::string(text) +
                                      "\" is not valid inside a JSON string");
  }
  return *v;
}

// The JSON value of a patch or match `value`, as Velero builds it: "" and "\"...\"" are
// strings; null, true/false, numbers, and text starting with { or [ are JSON; anything else is
// a string.
StatusOr<json::value> PatchValue(std::string_view text) {
  if (text.empty()) return json::value(json::string());
  if (text.front() == '"' && text.back() == '"') {
    text.remove_prefix(1);
    if (!text.empty()) text.remove_suffix(1);
    return QuotedText(text);
  }
  if (text == "null") return json::value(nullptr);
  std::string lower = absl::AsciiStrToLower(std::string(text));
  if (lower == "true" || lower == "false") return json::value(lower == "true");
  bool raw = text.front() == '{' || text.front() == '[' || GoParsesAsFloat(text);
  if (!raw) return QuotedText(text);
  auto v = ParseJson(text);
  if (!v.ok()) {
    return absl::InvalidArgumentError("\"" + std::string(text) +
                                      "\" is used as JSON (it starts with { or [, or is a number) "
                                      "but is not valid JSON: " +
                                      std::string(v.status().message()));
  }
  return *v;
}

bool IsSupportedOperation(std::string_view op) {
  for (std::string_view known : {"add", "remove", "replace", "test", "move", "copy"}) {
    if (op == known) return true;
  }
  return false;
}

// A JSON pointer, decoded as Velero's string splicing decodes it. Problems when empty or not
// starting with "/".
std::optional<std::string> Pointer(const std::string& text, const std::string& where,
                                   Problems& problems) {
  if (text.empty()) {
    problems.Add(where, "path cannot be empty");
    return std::nullopt;
  }
  auto decoded = QuotedText(text);
  if (!decoded.ok()) {
    problems.Add(where, std::string(decoded.status().message()));
    return std::nullopt;
  }
  std::string ptr(decoded->get_string());
  if (ptr[0] != '/') {
    problems.Add(where, "\"" + ptr + "\" is not a JSON pointer (it must start with /)");
    return std::nullopt;
  }
  return ptr;
}

// One `{path, value}` of conditions.matches, as an RFC 6902 `test` operation.
void ParseMatch(const json::value& v, const std::string& where, Rule& rule, Problems& problems) {
  const json::object* m = ObjectWithFields(v, where, {"path", "value"}, problems);
  if (m == nullptr) return;
  auto path_text = StringField(*m, "path", where, problems);
  auto value_text = StringField(*m, "value", where, problems);
  if (!path_text || !value_text) return;
  if (path_text->empty()) {
    problems.Add(where + ".path", "path is required for match rule");
    return;
  }
  auto path = Pointer(*path_text, where + ".path", problems);
  auto value = PatchValue(*value_text);
  if (!value.ok()) problems.Add(where + ".value", std::string(value.status().message()));
  if (!path || !value.ok()) return;
  rule.match_tests.push_back(json::object{{"op", "test"}, {"path", *path}, {"value", *value}});
}

void ParseConditions(const json::object& r, const std::string& rule_where, Rule& rule,
                     Problems& problems) {
  const std::string where = rule_where + ".conditions";
  auto it = r.find("conditions");
  if (it == r.end() || it->value().is_null()) {
    problems.Add(where + ".groupResource", "groupResource cannot be empty");
    return;
  }
  const json::object* c = ObjectWithFields(
      it->value(), where,
      {"namespaces", "groupResource", "resourceNameRegex", "labelSelector", "matches"}, problems);
  if (c == nullptr) return;
  auto gr = StringField(*c, "groupResource", where, problems);
  if (gr && gr->empty()) problems.Add(where + ".groupResource", "groupResource cannot be empty");
  if (gr) rule.group_resource = *gr;
  if (const json::array* nss = ListField(*c, "namespaces", where, problems)) {
    for (size_t i = 0; i < nss->size(); ++i) {
      if (!(*nss)[i].is_string()) {
        problems.Add(where + ".namespaces[" + std::to_string(i) + "]", "must be a string");
        continue;
      }
      rule.namespaces.emplace_back((*nss)[i].get_string());
    }
  }
  auto regex = StringField(*c, "resourceNameRegex", where, problems);
  if (regex && !regex->empty()) {
    rule.name_regex_text = *regex;
    std::string pattern = *regex;
    auto flags = std::regex::ECMAScript;
    if (pattern.rfind("(?i)", 0) == 0) {  // RE2's case-insensitive flag, common in Go patterns
      pattern.erase(0, 4);
      flags |= std::regex::icase;
    }
    try {
      rule.name_regex.emplace(pattern, flags);
    } catch (const std::regex_error& e) {
      problems.Add(where + ".resourceNameRegex",
                   "invalid regular expression \"" + *regex + "\": " + e.what());
    }
  }
  auto sel = c->find("labelSelector");
  if (sel != c->end() && !sel->value().is_null()) {
    auto selector = api::LabelSelector::FromJson(sel->value());
    if (!selector.ok()) {
      problems.Add(where + ".labelSelector", std::string(selector.status().message()));
    } else {
      rule.label_selector = *selector;
    }
  }
  if (const json::array* matches = ListField(*c, "matches", where, problems)) {
    for (size_t i = 0; i < matches->size(); ++i) {
      ParseMatch((*matches)[i], where + ".matches[" + std::to_string(i) + "]", rule, problems);
    }
  }
}

void ParseJsonPatchOp(const json::value& v, const std::string& where, Rule& rule,
                      Problems& problems) {
  const json::object* p =
      ObjectWithFields(v, where, {"operation", "from", "path", "value"}, problems);
  if (p == nullptr) return;
  auto op_text = StringField(*p, "operation", where, problems);
  auto path_text = StringField(*p, "path", where, problems);
  auto from_text = StringField(*p, "from", where, problems);
  auto value_text = StringField(*p, "value", where, problems);
  if (!op_text || !path_text || !from_text || !value_text) return;
  std::string op = absl::AsciiStrToLower(*op_text);
  bool ok = true;
  if (op.empty()) {
    problems.Add(where + ".operation", "operation cannot be empty");
    ok = false;
  } else if (!IsSupportedOperation(op)) {
    problems.Add(where + ".operation", "unsupported operation " + *op_text);
    ok = false;
  }
  auto path = Pointer(*path_text, where + ".path", problems);
  std::optional<std::string> from;
  if (op == "move" || op == "copy") {
    from = Pointer(*from_text, where + ".from", problems);
    if (!from) ok = false;
  }
  auto value = PatchValue(*value_text);
  if (!value.ok()) problems.Add(where + ".value", std::string(value.status().message()));
  if (!ok || !path || !value.ok()) return;
  json::object out{{"op", op}, {"path", *path}, {"value", *value}};
  if (from) out["from"] = *from;
  rule.json_patch.push_back(std::move(out));
}

// mergePatches / strategicPatches: `patchData` holds a YAML or JSON object.
void ParsePatchDocs(const json::array& list, const std::string& where, Rule& rule,
                    Problems& problems) {
  for (size_t i = 0; i < list.size(); ++i) {
    const std::string at = where + "[" + std::to_string(i) + "]";
    const json::object* p = ObjectWithFields(list[i], at, {"patchData"}, problems);
    if (p == nullptr) continue;
    auto data = StringField(*p, "patchData", at, problems);
    if (!data) continue;
    auto doc = YamlToJson(*data);
    if (!doc.ok()) {
      problems.Add(at + ".patchData", "not YAML or JSON: " + std::string(doc.status().message()));
    } else if (!doc->is_object()) {
      problems.Add(at + ".patchData", "must be a YAML or JSON object");
    } else {
      rule.patch_docs.push_back(std::move(*doc));
    }
  }
}

std::optional<Rule> ParseRule(const json::value& v, size_t index, Problems& problems) {
  const std::string where = "resourceModifierRules[" + std::to_string(index) + "]";
  const json::object* r = ObjectWithFields(
      v, where, {"conditions", "patches", "mergePatches", "strategicPatches"}, problems);
  if (r == nullptr) return std::nullopt;
  Rule rule;
  rule.index = index;
  ParseConditions(*r, where, rule, problems);
  const json::array* patches = ListField(*r, "patches", where, problems);
  const json::array* merge = ListField(*r, "mergePatches", where, problems);
  const json::array* strategic = ListField(*r, "strategicPatches", where, problems);
  int kinds = (patches && !patches->empty()) + (merge && !merge->empty()) +
              (strategic && !strategic->empty());
  if (kinds > 1) {
    problems.Add(where, "only one of patches, mergePatches, strategicPatches can be specified");
  } else if (kinds == 0) {
    problems.Add(
        where, "no patch data found (one of patches, mergePatches, strategicPatches is required)");
  } else if (patches && !patches->empty()) {
    rule.kind = Rule::Kind::kJsonPatch;
    for (size_t i = 0; i < patches->size(); ++i) {
      ParseJsonPatchOp((*patches)[i], where + ".patches[" + std::to_string(i) + "]", rule,
                       problems);
    }
  } else if (merge && !merge->empty()) {
    rule.kind = Rule::Kind::kMergePatch;
    ParsePatchDocs(*merge, where + ".mergePatches", rule, problems);
  } else {
    rule.kind = Rule::Kind::kStrategicPatch;
    ParsePatchDocs(*strategic, where + ".strategicPatches", rule, problems);
  }
  return rule;
}

}  // namespace

StatusOr<ResourceModifiers> ResourceModifiers::Parse(std::string_view yaml_or_json) {
  auto doc = YamlToJson(yaml_or_json);
  if (!doc.ok()) {
    return absl::InvalidArgumentError("invalid resource modifiers: not YAML or JSON: " +
                                      std::string(doc.status().message()));
  }
  Problems problems;
  const json::object* top =
      ObjectWithFields(*doc, "resource modifiers", {"version", "resourceModifierRules"}, problems);
  if (top == nullptr) return problems.ToStatus();
  auto version = StringField(*top, "version", "resource modifiers", problems);
  if (version && absl::AsciiStrToLower(*version) != "v1") {
    problems.Add("version",
                 "unsupported resource modifier version " + *version + " (supported: v1)");
  }
  ResourceModifiers out;
  const json::array* rules =
      ListField(*top, "resourceModifierRules", "resource modifiers", problems);
  if (rules == nullptr || rules->empty()) {
    problems.Add("resourceModifierRules", "resource modifier rules cannot be empty");
  } else {
    for (size_t i = 0; i < rules->size(); ++i) {
      if (auto rule = ParseRule((*rules)[i], i, problems)) out.rules_.push_back(std::move(*rule));
    }
  }
  if (!problems.empty()) return problems.ToStatus();
  return out;
}

StatusOr<ResourceModifiers> ResourceModifiers::FromConfigMap(const boost::json::value& configmap) {
  std::string id = JsonString(configmap, {"metadata", "namespace"}).value_or("") + "/" +
                   JsonString(configmap, {"metadata", "name"}).value_or("");
  const json::value* data = JsonFind(configmap, {"data"});
  size_t keys = data != nullptr && data->is_object() ? data->get_object().size() : 0;
  if (keys != 1) {
    return absl::InvalidArgumentError("illegal resource modifiers " + id +
                                      " configmap: want exactly one key in " + "data, found " +
                                      std::to_string(keys));
  }
  const json::value& text = data->get_object().begin()->value();
  if (!text.is_string()) {
    return absl::InvalidArgumentError("illegal resource modifiers " + id +
                                      " configmap: data value is not a string");
  }
  auto parsed = Parse(text.get_string());
  if (!parsed.ok()) return Annotate(parsed.status(), "resource modifiers configmap " + id);
  return parsed;
}

}  // namespace lifeboat::restore
