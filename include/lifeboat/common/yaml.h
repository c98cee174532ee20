#pragma once

// YAML <-> JSON conversion on yaml-cpp, with the rules Kubernetes' sigs.k8s.io/yaml applies:
// YAML 1.1 scalars resolve to JSON types (true/false/null/~, integers, floats; quoted scalars
// stay strings), mapping keys become strings, anchors/aliases are expanded (bounded, so alias
// bombs fail instead of exhausting memory). Never throws: yaml-cpp exceptions become
// InvalidArgument with the line and column.

#include <string>
#include <string_view>
#include <vector>

#include <boost/json.hpp>

#include "lifeboat/common/status.h"

namespace lifeboat {

struct YamlLimits {
  size_t max_nodes = 10'000'000;  // after alias expansion
  size_t max_depth = 1000;
};

// One YAML (or JSON, a subset) document. An empty document is null.
StatusOr<boost::json::value> YamlToJson(std::string_view text, const YamlLimits& limits = {});

// Every document of a `---`-separated stream, empty documents skipped (as kubectl does).
StatusOr<std::vector<boost::json::value>> YamlToJsonDocuments(std::string_view text,
                                                              const YamlLimits& limits = {});

// Block-style YAML for a JSON value, keys in the object's order; strings quoted where a plain
// scalar would read back as another type. YamlToJson(JsonToYaml(v)) == v.
std::string JsonToYaml(const boost::json::value& value);

}  // namespace lifeboat
