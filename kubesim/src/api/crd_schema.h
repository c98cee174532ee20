#pragma once

// Structural-schema behaviour of kube-apiserver for custom resources
// (k8s.io/apiextensions-apiserver/pkg/apiserver/schema and .../apis/apiextensions/validation,
// k8s.io/kube-openapi/pkg/validation/validate): checking that a CRD's openAPIV3Schema is
// structural, pruning unknown fields, applying defaults and validating objects against the
// schema, with kube's field paths and messages.
//
// Every function is total: it never throws, and a malformed schema (one kube would have
// rejected at CRD creation) is tolerated: the parts that make no sense are ignored.
//
// Order kube-apiserver applies them to a custom resource on create/update (decode ->
// default -> prune; then validate):
//   ApplyDefaults(obj, schema);
//   PruneUnknownFields(obj, schema, &unknown);   // "unknown field \"<path>\"" warnings
//   ValidateAgainstSchema(obj, schema);          // 422 causes

#include <string>
#include <vector>

#include <boost/json.hpp>

#include "kubesim/src/meta/validation.h"

namespace kubesim {

// The checks apiextensions-apiserver makes on an apiextensions.k8s.io/v1 CRD version's
// openAPIV3Schema. `field_path` is where the schema sits, e.g.
// "spec.versions[0].schema.openAPIV3Schema"; causes are reported below it
// ("spec.versions[0].schema.openAPIV3Schema.properties[spec].type: Required value: must not be
// empty for specified object fields"). A null / missing / non-object schema gives
// "<field_path>: Required value: schemas are required".
//
// Covered: structurality (type everywhere unless x-kubernetes-int-or-string or
// x-kubernetes-preserve-unknown-fields; items for arrays; root type object; no
// additionalProperties at the root; value validations under allOf/anyOf/oneOf/not must not set
// type/default/description/nullable/x-kubernetes-*; no metadata in nested contexts; the
// int-or-string anyOf patterns), root metadata restricted to name/generateName,
// embedded-resource rules, additionalProperties with properties, uniqueItems, $ref / id /
// definitions / dependencies / patternProperties / additionalItems, type null, unsupported
// types, x-kubernetes-preserve-unknown-fields false, list-type / map-type / list-map-keys rules,
// invalid patterns, defaults in top-level apiVersion/kind/metadata.
std::vector<FieldCause> ValidateStructuralSchema(const boost::json::value& schema, const std::string& field_path);

// Structural pruning (pkg/apiserver/schema/pruning) of a whole custom resource `obj` (the
// schema is the CRD's openAPIV3Schema). Fields not in `properties` are dropped unless
// x-kubernetes-preserve-unknown-fields is true or additionalProperties is set (then values
// follow the additionalProperties schema). At the root and in x-kubernetes-embedded-resource
// objects apiVersion, kind and metadata are kept; metadata is coerced to ObjectMeta (unknown
// metadata fields are dropped, standard ObjectMeta fields kept). The dropped paths are appended
// to `pruned` (if not null) sorted, in kube's form: "spec.foo", "spec.items[0].bar",
// "metadata.foo" (kube warns `unknown field "spec.foo"`).
void PruneUnknownFields(boost::json::value& obj, const boost::json::value& schema, std::vector<std::string>* pruned);

// Structural defaulting (pkg/apiserver/schema/defaulting): missing properties with a `default`
// get a deep copy of it, recursively (also inside additionalProperties and array items, and
// inside freshly defaulted values); null values of non-nullable properties / items /
// additionalProperties with a default are replaced by the default. Then, as kube's
// PruneNonNullableNullsWithoutDefaults, null values of non-nullable declared properties without
// a default are removed (nulls in maps and arrays stay, and fail validation unless nullable).
void ApplyDefaults(boost::json::value& obj, const boost::json::value& schema);

// Validation of a custom resource against its schema as kube-openapi validate does it, turned
// into causes as apiextensions-apiserver does (kubeOpenAPIResultToFieldErrors), followed by the
// x-kubernetes-list-type set/map uniqueness errors. Field paths "spec.replicas",
// "spec.items[0].name". Reasons: FieldValueTypeInvalid (type and format mismatch: `Invalid
// value: "string": spec.replicas in body must be of type integer: "string"`),
// FieldValueRequired, FieldValueNotSupported (enum), FieldValueTooLong (maxLength),
// FieldValueTooMany (maxItems, maxProperties), FieldValueDuplicate (list-type set/map) and
// FieldValueInvalid for the rest (`Invalid value: 0: spec.replicas in body should be greater
// than or equal to 1`).
std::vector<FieldCause> ValidateAgainstSchema(const boost::json::value& obj, const boost::json::value& schema);

}  // namespace kubesim
