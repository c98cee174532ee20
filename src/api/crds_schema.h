#pragma once

// A small declarative language for OpenAPI v3 (structural) schemas, the one source of truth
// from which Lifeboat's CRDs are generated (src/api/crds_kinds.cc describes the kinds with it):
//
//   Object({{"includedNamespaces", Array(String()).Nullable()},
//           {"ttl", String()}}).Required({"ttl"})
//
// Each builder returns a value; modifiers return a modified copy, so shared pieces
// (LabelSelector(), BackupSpec()) are plain functions. ToJson() renders the schema with keys in
// alphabetical order (as controller-gen writes them), so the output is deterministic.
// Thread-safe: values only, no shared state.

#include <boost/json.hpp>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace lifeboat::api::crd {

class Schema;
using Field = std::pair<std::string, Schema>;

class Schema {
 public:
  // Empty schema (no type): only valid together with PreserveUnknownFields() or IntOrString().
  Schema() = default;

  Schema Doc(std::string description) const;
  Schema Nullable() const;
  Schema Format(std::string format) const;
  Schema Enum(std::vector<std::string> values) const;
  Schema Required(std::vector<std::string> names) const;
  Schema MinItems(int64_t n) const;
  Schema Default(boost::json::value v) const;
  // x-kubernetes-map-type: atomic on objects, x-kubernetes-list-type: atomic on arrays.
  Schema Atomic() const;
  Schema PreserveUnknownFields() const;
  Schema IntOrString() const;

  boost::json::object ToJson() const;

 private:
  friend Schema Typed(std::string type);
  friend Schema Object(std::vector<Field> properties);
  friend Schema Array(Schema items);
  friend Schema Map(Schema values);
  Schema With(std::string key, boost::json::value v) const;

  std::map<std::string, boost::json::value> keywords_;  // type, format, enum, nullable, ...
  std::vector<Field> properties_;
  std::vector<Schema> items_;       // 0 or 1 element
  std::vector<Schema> additional_;  // 0 or 1 element
};

Schema Typed(std::string type);
Schema String();
Schema Integer();
Schema Boolean();
// An object with the given properties (rendered sorted by name). Object({}) is a bare
// `type: object` (anything inside is pruned by the API server).
Schema Object(std::vector<Field> properties);
Schema Array(Schema items);
// type: object with additionalProperties (a map[string]T).
Schema Map(Schema values);
// A nullable RFC 3339 timestamp (metav1.Time pointers).
Schema Timestamp();
// Velero's duration strings ("1h0m0s"): plain strings in the schema.
Schema Duration();

// One kubectl column (additionalPrinterColumns entry).
struct PrinterColumn {
  std::string name;
  std::string type;  // string, integer, boolean, date
  std::string json_path;
  std::string description;  // may be empty
};

// Everything a CRD says about one kind besides the fixed parts (group velero.io, version v1,
// Namespaced, no subresources).
struct KindDefinition {
  std::string kind;    // "Backup"
  std::string plural;  // "backups"
  std::vector<std::string> short_names;
  std::vector<PrinterColumn> columns;
  Schema schema;  // the openAPIV3Schema (root object)
};

// The velero.io/v1 kinds, in the order Velero installs them (alphabetical by plural).
std::vector<KindDefinition> VeleroKinds();

}  // namespace lifeboat::api::crd
