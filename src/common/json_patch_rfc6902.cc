// RFC 6902 JSON patch over RFC 6901 pointers. Error wording follows the json-patch library
// kube-apiserver uses, closely enough for clients that show it.

#include <optional>
#include <string>
#include <vector>

#include "absl/strings/cord.h"
#include "lifeboat/common/json_patch.h"

namespace lifeboat::jsonpatch {
namespace {

namespace json = boost::json;

Status Malformed(const std::string& msg) { return absl::InvalidArgumentError(msg); }
Status CannotApply(const std::string& msg) { return absl::FailedPreconditionError(msg); }

// Marks a failed `test` so that callers can tell it from other failures without parsing the
// message (Velero's resource modifiers skip a rule whose `test` fails).
constexpr char kTestFailedPayload[] = "lifeboat.jsonpatch/test-failed";

Status TestFailed(const std::string& path) {
  Status s = CannotApply("testing value " + path + " failed: test failed");
  s.SetPayload(kTestFailedPayload, absl::Cord("1"));
  return s;
}

// RFC 6901: "" is the whole document; otherwise "/"-separated tokens with ~1 -> "/", ~0 -> "~".
StatusOr<std::vector<std::string>> ParsePointer(std::string_view ptr) {
  std::vector<std::string> tokens;
  if (ptr.empty()) return tokens;
  if (ptr[0] != '/')
    return CannotApply("invalid JSON pointer \"" + std::string(ptr) + "\": must start with /");
  std::string cur;
  for (size_t i = 1; i <= ptr.size(); ++i) {
    if (i == ptr.size() || ptr[i] == '/') {
      tokens.push_back(std::move(cur));
      cur.clear();
      continue;
    }
    if (ptr[i] == '~') {
      if (i + 1 < ptr.size() && (ptr[i + 1] == '0' || ptr[i + 1] == '1')) {
        cur += ptr[i + 1] == '0' ? '~' : '/';
        ++i;
        continue;
      }
      return CannotApply("invalid JSON pointer \"" + std::string(ptr) + "\": bad escape");
    }
    cur += ptr[i];
  }
  return tokens;
}

// An array index token: digits without a leading zero. nullopt when not one.
std::optional<size_t> ParseIndex(const std::string& tok) {
  if (tok.empty() || tok.size() > 18 || (tok.size() > 1 && tok[0] == '0')) return std::nullopt;
  size_t v = 0;
  for (char c : tok) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<size_t>(c - '0');
  }
  return v;
}

Status InvalidIndex(const std::string& tok) {
  return CannotApply("Unable to access invalid index: " + tok + ": invalid index referenced");
}

// The value a pointer names, or null when it does not exist.
json::value* Resolve(json::value& doc, const std::vector<std::string>& tokens) {
  json::value* cur = &doc;
  for (const std::string& tok : tokens) {
    if (cur->is_object()) {
      auto it = cur->get_object().find(tok);
      if (it == cur->get_object().end()) return nullptr;
      cur = &it->value();
    } else if (cur->is_array()) {
      std::optional<size_t> idx = ParseIndex(tok);
      if (!idx || *idx >= cur->get_array().size()) return nullptr;
      cur = &cur->get_array()[*idx];
    } else {
      return nullptr;
    }
  }
  return cur;
}

// The container holding the last token, or null.
json::value* Parent(json::value& doc, const std::vector<std::string>& tokens) {
  return Resolve(doc, std::vector<std::string>(tokens.begin(), tokens.end() - 1));
}

Status Add(json::value& doc, const std::vector<std::string>& tokens, json::value v,
           const std::string& path, const char* op = "add") {
  if (tokens.empty()) {
    doc = std::move(v);
    return absl::OkStatus();
  }
  json::value* parent = Parent(doc, tokens);
  if (parent == nullptr || !(parent->is_object() || parent->is_array())) {
    return CannotApply(std::string(op) + " operation does not apply: doc is missing path: \"" +
                       path + "\": missing value");
  }
  const std::string& last = tokens.back();
  if (parent->is_object()) {
    parent->get_object()[last] = std::move(v);
    return absl::OkStatus();
  }
  json::array& arr = parent->get_array();
  if (last == "-") {
    arr.push_back(std::move(v));
    return absl::OkStatus();
  }
  std::optional<size_t> idx = ParseIndex(last);
  if (!idx || *idx > arr.size()) return InvalidIndex(last);
  arr.insert(arr.begin() + static_cast<std::ptrdiff_t>(*idx), std::move(v));
  return absl::OkStatus();
}

// Removes and returns the value at `tokens`.
StatusOr<json::value> Remove(json::value& doc, const std::vector<std::string>& tokens,
                             const std::string& path, const char* op) {
  json::value* parent = tokens.empty() ? nullptr : Parent(doc, tokens);
  const std::string missing = std::string(op) +
                              " operation does not apply: doc is missing path: \"" + path +
                              "\": missing value";
  if (parent == nullptr) return CannotApply(missing);
  const std::string& last = tokens.back();
  if (parent->is_object()) {
    auto it = parent->get_object().find(last);
    if (it == parent->get_object().end()) return CannotApply(missing);
    json::value out = std::move(it->value());
    parent->get_object().erase(it);
    return out;
  }
  if (parent->is_array()) {
    json::array& arr = parent->get_array();
    std::optional<size_t> idx = ParseIndex(last);
    if (!idx || *idx >= arr.size()) return InvalidIndex(last);
    json::value out = std::move(arr[*idx]);
    arr.erase(arr.begin() + static_cast<std::ptrdiff_t>(*idx));
    return out;
  }
  return CannotApply(missing);
}

const json::value* Member(const json::object& op, std::string_view name) {
  auto it = op.find(name);
  return it == op.end() ? nullptr : &it->value();
}

StatusOr<std::string> StringMember(const json::object& op, std::string_view name,
                                   const std::string& kind) {
  const json::value* v = Member(op, name);
  if (v == nullptr || !v->is_string()) {
    return CannotApply(kind + " operation missing or invalid \"" + std::string(name) + "\"");
  }
  return std::string(v->get_string());
}

Status ApplyOne(json::value& doc, const json::object& op) {
  const json::value* opv = Member(op, "op");
  if (opv == nullptr || !opv->is_string())
    return CannotApply("Unexpected kind: " + (opv ? json::serialize(*opv) : "unknown"));
  const std::string kind(opv->get_string());
  LIFEBOAT_ASSIGN_OR_RETURN(std::string path, StringMember(op, "path", kind));
  LIFEBOAT_ASSIGN_OR_RETURN(std::vector<std::string> tokens, ParsePointer(path));
  if (kind == "add" || kind == "replace" || kind == "test") {
    const json::value* value = Member(op, "value");
    if (value == nullptr) return CannotApply(kind + " operation missing \"value\"");
    if (kind == "add") return Add(doc, tokens, *value, path);
    json::value* target = Resolve(doc, tokens);
    if (kind == "test") {
      if (target == nullptr || !JsonEqual(*target, *value)) {
        return TestFailed(path);
      }
      return absl::OkStatus();
    }
    if (target == nullptr) {
      return CannotApply("replace operation does not apply: doc is missing key: " + path +
                         ": missing value");
    }
    *target = *value;
    return absl::OkStatus();
  }
  if (kind == "remove") {
    if (tokens.empty())
      return CannotApply("remove operation does not apply: cannot remove the whole document");
    return Remove(doc, tokens, path, "remove").status();
  }
  if (kind == "move" || kind == "copy") {
    LIFEBOAT_ASSIGN_OR_RETURN(std::string from, StringMember(op, "from", kind));
    LIFEBOAT_ASSIGN_OR_RETURN(std::vector<std::string> from_tokens, ParsePointer(from));
    if (kind == "move") {
      if (from == path) {
        if (Resolve(doc, from_tokens) == nullptr) {
          return CannotApply("move operation does not apply: doc is missing from path: " + from +
                             ": missing value");
        }
        return absl::OkStatus();
      }
      if (path.size() > from.size() && path.compare(0, from.size(), from) == 0 &&
          path[from.size()] == '/') {
        return CannotApply("move operation does not apply: cannot move " + from +
                           " into its own child " + path);
      }
      if (from_tokens.empty())
        return CannotApply("move operation does not apply: cannot move the whole document");
      if (Resolve(doc, from_tokens) == nullptr) {
        return CannotApply("move operation does not apply: doc is missing from path: " + from +
                           ": missing value");
      }
      LIFEBOAT_ASSIGN_OR_RETURN(json::value v, Remove(doc, from_tokens, from, "move"));
      return Add(doc, tokens, std::move(v), path, "move");
    }
    json::value* src = Resolve(doc, from_tokens);
    if (src == nullptr) {
      return CannotApply("copy operation does not apply: doc is missing from path: " + from +
                         ": missing value");
    }
    json::value copy = *src;
    return Add(doc, tokens, std::move(copy), path, "copy");
  }
  return CannotApply("Unexpected kind: " + kind);
}

}  // namespace

bool IsJsonPatchTestFailure(const Status& status) {
  return status.code() == absl::StatusCode::kFailedPrecondition &&
         status.GetPayload(kTestFailedPayload).has_value();
}

StatusOr<boost::json::value> ApplyJsonPatch(const boost::json::value& target,
                                            const boost::json::value& patch) {
  if (!patch.is_array()) {
    return Malformed("json: cannot unmarshal " +
                     std::string(patch.is_object() ? "object" : "value") +
                     " into Go value of type jsonpatch.Patch");
  }
  for (const json::value& op : patch.get_array()) {
    if (!op.is_object())
      return Malformed("json: cannot unmarshal " + json::serialize(op) +
                       " into Go value of type jsonpatch.Operation");
  }
  json::value doc = target;
  for (const json::value& op : patch.get_array()) {
    LIFEBOAT_RETURN_IF_ERROR(ApplyOne(doc, op.get_object()));
  }
  return doc;
}

}  // namespace lifeboat::jsonpatch
