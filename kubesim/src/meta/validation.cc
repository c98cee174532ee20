#include "kubesim/src/meta/validation.h"

#include <algorithm>
#include <cctype>
#include <string>

namespace kubesim {
namespace {

namespace json = boost::json;

constexpr size_t kTotalAnnotationSizeLimit = 256 * 1024;

const char kSubdomainMsg[] =
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must "
    "start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is "
    "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const char kLabelMsg[] =
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and "
    "end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is "
    "'[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const char kQualifiedNameMsg[] =
    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
    "alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is "
    "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
const char kLabelValueMsg[] =
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must "
    "start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for "
    "validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";

bool IsLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool IsAlnum(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; }

bool IsDnsLabel(std::string_view s) {
  if (s.empty() || s.size() > 63 || !IsLowerAlnum(s.front()) || !IsLowerAlnum(s.back())) return false;
  for (char c : s) {
    if (!IsLowerAlnum(c) && c != '-') return false;
  }
  return true;
}

bool IsDnsSubdomainSyntax(std::string_view s) {
  if (s.empty()) return false;
  size_t start = 0;
  while (true) {
    size_t dot = s.find('.', start);
    std::string_view label = s.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (label.empty() || !IsLowerAlnum(label.front()) || !IsLowerAlnum(label.back())) return false;
    for (char c : label) {
      if (!IsLowerAlnum(c) && c != '-') return false;
    }
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

// Problems with a DNS-1123 subdomain (kube returns each as a separate message).
std::vector<std::string> SubdomainErrors(std::string_view s) {
  std::vector<std::string> out;
  if (s.size() > 253) out.push_back("must be no more than 253 characters");
  if (!IsDnsSubdomainSyntax(s)) out.push_back(kSubdomainMsg);
  return out;
}

std::vector<std::string> LabelErrors(std::string_view s) {
  std::vector<std::string> out;
  if (s.size() > 63) out.push_back("must be no more than 63 characters");
  bool syntax = !s.empty() && IsLowerAlnum(s.front()) && IsLowerAlnum(s.back());
  for (char c : s) syntax = syntax && (IsLowerAlnum(c) || c == '-');
  if (!syntax) out.push_back(kLabelMsg);
  return out;
}

std::vector<std::string> PathSegmentErrors(std::string_view s) {
  std::vector<std::string> out;
  if (s == "." || s == "..") out.push_back("may not be '" + std::string(s) + "'");
  if (s.find('/') != std::string_view::npos) out.push_back("may not contain '/'");
  if (s.find('%') != std::string_view::npos) out.push_back("may not contain '%'");
  return out;
}

// Qualified names (label/annotation keys, finalizers): [prefix/]name.
std::vector<std::string> QualifiedNameErrors(std::string_view s) {
  std::vector<std::string> out;
  std::string_view name = s;
  size_t slash = s.find('/');
  if (slash != std::string_view::npos) {
    std::string_view prefix = s.substr(0, slash);
    name = s.substr(slash + 1);
    if (name.find('/') != std::string_view::npos) {
      out.push_back(
          "a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with "
          "an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is "
          "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. "
          "'example.com/MyName')");
      return out;
    }
    if (prefix.empty()) {
      out.push_back("prefix part must be non-empty");
    } else {
      for (const std::string& e : SubdomainErrors(prefix)) out.push_back("prefix part " + e);
    }
  }
  if (name.empty()) out.push_back("name part must be non-empty");
  if (name.size() > 63) out.push_back("name part must be no more than 63 characters");
  bool syntax = !name.empty() && IsAlnum(name.front()) && IsAlnum(name.back());
  for (char c : name) syntax = syntax && (IsAlnum(c) || c == '-' || c == '_' || c == '.');
  if (!syntax) out.push_back(kQualifiedNameMsg);
  return out;
}

std::vector<std::string> LabelValueErrors(std::string_view s) {
  std::vector<std::string> out;
  if (s.empty()) return out;
  if (s.size() > 63) out.push_back("must be no more than 63 characters");
  bool syntax = IsAlnum(s.front()) && IsAlnum(s.back());
  for (char c : s) syntax = syntax && (IsAlnum(c) || c == '-' || c == '_' || c == '.');
  if (!syntax) out.push_back(kLabelValueMsg);
  return out;
}

std::string Quote(std::string_view s) {
  // Go's %q for the simple strings names are: escape quotes and backslashes.
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

void Invalid(std::vector<FieldCause>& out, const std::string& field, std::string_view value, const std::string& why) {
  out.push_back({"FieldValueInvalid", "Invalid value: " + Quote(value) + ": " + why, field});
}

const json::value* Find(const json::object& o, std::string_view key) {
  auto it = o.find(key);
  return it == o.end() ? nullptr : &it->value();
}

std::string StringOf(const json::object& o, std::string_view key) {
  const json::value* v = Find(o, key);
  return v != nullptr && v->is_string() ? std::string(v->get_string()) : std::string();
}

}  // namespace

NameRule NameRuleFor(const std::string& group, const std::string& resource) {
  if (group.empty() && (resource == "namespaces" || resource == "services")) return NameRule::kLabel;
  if (group == "rbac.authorization.k8s.io") return NameRule::kPathSegment;
  return NameRule::kSubdomain;
}

std::vector<FieldCause> ValidateObjectMeta(const boost::json::value& object, bool namespaced, NameRule rule) {
  std::vector<FieldCause> out;
  static const json::object kEmpty;
  const json::object* meta = &kEmpty;
  if (object.is_object()) {
    if (const json::value* m = Find(object.get_object(), "metadata"); m != nullptr && m->is_object()) {
      meta = &m->get_object();
    }
  }
  std::string name = StringOf(*meta, "name");
  std::string generate = StringOf(*meta, "generateName");
  // As kube: generateName (when set) first, validated as a prefix with its trailing dash
  // masked (maskTrailingDash: "abc-" -> "aba"); then name, required when generateName is empty.
  auto check_name = [&](const std::string& value, bool prefix, const std::string& field) {
    std::string checked = value;
    if (prefix && checked.size() > 1 && checked.back() == '-') {
      checked = checked.substr(0, checked.size() - 2) + "a";
    }
    std::vector<std::string> errs;
    switch (rule) {
      case NameRule::kLabel:
        errs = LabelErrors(checked);
        break;
      case NameRule::kPathSegment:
        errs = PathSegmentErrors(checked);
        break;
      case NameRule::kSubdomain:
      case NameRule::kConfigMapKey:
        errs = SubdomainErrors(checked);
        break;
    }
    for (const std::string& e : errs) Invalid(out, field, value, e);
  };
  if (!generate.empty()) check_name(generate, true, "metadata.generateName");
  if (name.empty()) {
    if (generate.empty()) {
      out.push_back({"FieldValueRequired", "Required value: name or generateName is required", "metadata.name"});
    }
  } else {
    check_name(name, false, "metadata.name");
  }

  std::string ns = StringOf(*meta, "namespace");
  if (namespaced) {
    if (ns.empty()) {
      out.push_back({"FieldValueRequired", "Required value", "metadata.namespace"});
    } else if (!IsDnsLabel(ns)) {
      for (const std::string& e : LabelErrors(ns)) Invalid(out, "metadata.namespace", ns, e);
    }
  } else if (!ns.empty()) {
    out.push_back({"FieldValueForbidden", "Forbidden: not allowed on this type", "metadata.namespace"});
  }

  if (const json::value* labels = Find(*meta, "labels"); labels != nullptr && !labels->is_null()) {
    if (!labels->is_object()) {
      out.push_back({"FieldValueInvalid", "Invalid value: must be a map of strings", "metadata.labels"});
    } else {
      for (const auto& kv : labels->get_object()) {
        for (const std::string& e : QualifiedNameErrors(kv.key())) Invalid(out, "metadata.labels", kv.key(), e);
        if (!kv.value().is_string()) {
          out.push_back({"FieldValueInvalid", "Invalid value: label values must be strings", "metadata.labels"});
          continue;
        }
        for (const std::string& e : LabelValueErrors(kv.value().get_string())) {
          Invalid(out, "metadata.labels", kv.value().get_string(), e);
        }
      }
    }
  }

  if (const json::value* ann = Find(*meta, "annotations"); ann != nullptr && !ann->is_null()) {
    if (!ann->is_object()) {
      out.push_back({"FieldValueInvalid", "Invalid value: must be a map of strings", "metadata.annotations"});
    } else {
      size_t total = 0;
      for (const auto& kv : ann->get_object()) {
        // The rule is QualifiedName except that case does not matter.
        std::string lower(kv.key());
        for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        for (const std::string& e : QualifiedNameErrors(lower)) {
          Invalid(out, "metadata.annotations", kv.key(), e);
        }
        total += kv.key().size();
        if (kv.value().is_string()) total += kv.value().get_string().size();
      }
      if (total > kTotalAnnotationSizeLimit) {
        out.push_back({"FieldValueTooLong", "Too long: must have at most 262144 bytes", "metadata.annotations"});
      }
    }
  }

  if (const json::value* refs = Find(*meta, "ownerReferences"); refs != nullptr && refs->is_array()) {
    int controllers = 0;
    for (const auto& r : refs->get_array()) {
      if (!r.is_object()) {
        out.push_back({"FieldValueInvalid", "Invalid value: must be an object", "metadata.ownerReferences"});
        continue;
      }
      const json::object& ro = r.get_object();
      std::string api_version = StringOf(ro, "apiVersion");
      if (api_version.empty()) {
        Invalid(out, "metadata.ownerReferences.apiVersion", api_version, "version must not be empty");
      }
      std::string kind = StringOf(ro, "kind");
      if (kind.empty()) Invalid(out, "metadata.ownerReferences.kind", kind, "kind must not be empty");
      std::string ref_name = StringOf(ro, "name");
      if (ref_name.empty()) Invalid(out, "metadata.ownerReferences.name", ref_name, "name must not be empty");
      std::string uid = StringOf(ro, "uid");
      if (uid.empty()) Invalid(out, "metadata.ownerReferences.uid", uid, "uid must not be empty");
      if (const json::value* c = Find(ro, "controller"); c != nullptr && c->is_bool() && c->get_bool()) ++controllers;
    }
    if (controllers > 1) {
      out.push_back({"FieldValueInvalid",
                     "Invalid value: \"ownerReferences\": Only one reference can have Controller set to true",
                     "metadata.ownerReferences"});
    }
  }
  if (const json::value* fins = Find(*meta, "finalizers"); fins != nullptr && fins->is_array()) {
    const json::array& a = fins->get_array();
    for (size_t i = 0; i < a.size(); ++i) {
      std::string field = "metadata.finalizers";  // kube reports the list, not the index
      if (!a[i].is_string()) {
        out.push_back({"FieldValueInvalid", "Invalid value: must be a string", field});
        continue;
      }
      for (const std::string& e : QualifiedNameErrors(a[i].get_string())) Invalid(out, field, a[i].get_string(), e);
    }
  }

  return out;
}

std::string FormatInvalidMessage(std::string_view qualified_kind, std::string_view name,
                                 const std::vector<FieldCause>& causes) {
  std::string msg = std::string(qualified_kind) + " " + Quote(name) + " is invalid";
  if (causes.empty()) return msg;
  auto one = [](const FieldCause& c) { return c.field.empty() ? c.message : c.field + ": " + c.message; };
  // ErrorList.ToAggregate drops repeated messages.
  std::vector<std::string> parts;
  for (const FieldCause& c : causes) {
    std::string m = one(c);
    if (std::find(parts.begin(), parts.end(), m) == parts.end()) parts.push_back(std::move(m));
  }
  if (parts.size() == 1) return msg + ": " + parts[0];
  msg += ": [";
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i > 0) msg += ", ";
    msg += parts[i];
  }
  return msg + "]";
}

}  // namespace kubesim
