#pragma once

// Validation of what every object shares (ObjectMeta), with kube-apiserver's rules and
// messages (k8s.io/apimachinery/pkg/api/validation, pkg/util/validation).

#include <string>
#include <string_view>
#include <vector>

#include <boost/json.hpp>

namespace kubesim {

// One cause of a 422 Invalid: reason "FieldValueInvalid" / "FieldValueRequired" /
// "FieldValueForbidden" / "FieldValueTooLong" / "FieldValueNotSupported" / "FieldValueDuplicate";
// message as kube words it, starting with the error type ("Invalid value: \"Bad_Name\": a
// lowercase RFC 1123 subdomain must consist of ..."); field path ("metadata.name").
struct FieldCause {
  std::string reason;
  std::string message;
  std::string field;
};

// How names of a resource are validated.
enum class NameRule {
  kSubdomain,     // DNS-1123 subdomain, ≤253 (most resources)
  kLabel,         // DNS-1123 label, ≤63 (namespaces, services)
  kPathSegment,   // anything but "." / ".." / containing "/" or "%" (RBAC roles and bindings, ...)
  kConfigMapKey,  // not used for names; kept for completeness of the table
};

// kube's choice per resource: namespaces and services -> kLabel; roles, clusterroles,
// rolebindings, clusterrolebindings (rbac.authorization.k8s.io) -> kPathSegment; everything
// else (custom resources included) -> kSubdomain.
NameRule NameRuleFor(const std::string& group, const std::string& resource);

// Validates metadata of `object` for create/update: name or generateName present (Required
// value), name valid for `rule`, namespace present iff namespaced (and a valid DNS label),
// labels (qualified keys, values ≤63 valid label values), annotations (qualified keys, total
// size ≤256 KiB), finalizers (qualified names), ownerReferences (apiVersion, kind, name, uid
// required; at most one controller). Returns every problem, in field order.
std::vector<FieldCause> ValidateObjectMeta(const boost::json::value& object, bool namespaced, NameRule rule);

// `<Kind> "<name>" is invalid: <field>: <message>`, and for several causes
// `<Kind> "<name>" is invalid: [<field>: <message>, <field>: <message>]`, as
// k8s.io/apimachinery/pkg/api/errors.NewInvalid words it. `qualified_kind` is "ConfigMap" or
// "Deployment.apps" (kind.group for non-core groups).
std::string FormatInvalidMessage(std::string_view qualified_kind, std::string_view name,
                                 const std::vector<FieldCause>& causes);

}  // namespace kubesim
