#include "kubesim/src/server/table.h"

#include "kubesim/src/api/object_util.h"

namespace kubesim {

namespace json = boost::json;

bool WantsTable(const std::string& accept) { return accept.find("as=Table") != std::string::npos; }

std::string TableApiVersion(const std::string& accept) {
  return accept.find("as=Table;v=v1;") != std::string::npos || accept.find("v=v1;") != std::string::npos
             ? "meta.k8s.io/v1" : "meta.k8s.io/v1beta1";
}

json::value BuildTable(const TypeInfo& type, const std::vector<const json::value*>& objects,
                       const std::string& table_api_version, const std::string& include_object,
                       const std::string& resource_version, const std::string& continue_token,
                       std::optional<int64_t> remaining_item_count) {
  json::array cols{json::object{{"name", "Name"}, {"type", "string"}, {"format", "name"}, {"description", ""}, {"priority", 0}},
                   json::object{{"name", "Created At"}, {"type", "date"}, {"format", ""}, {"description", ""}, {"priority", 0}}};
  json::array rows;
  for (const json::value* o : objects) {
    json::object row{{"cells", json::array{json::value(MetaString(*o, "name")), json::value(MetaString(*o, "creationTimestamp"))}}};
    if (include_object == "Object") row["object"] = *o;
    else if (include_object != "None") {
      const json::object* meta = MetaIfAny(*o);
      row["object"] = json::object{{"kind", "PartialObjectMetadata"}, {"apiVersion", "meta.k8s.io/v1"},
                                   {"metadata", meta ? json::value(*meta) : json::value(json::object())}};
    }
    rows.push_back(std::move(row));
  }
  json::object meta{{"resourceVersion", resource_version}};
  if (!continue_token.empty()) meta["continue"] = continue_token;
  if (remaining_item_count) meta["remainingItemCount"] = *remaining_item_count;
  return json::object{{"kind", "Table"}, {"apiVersion", table_api_version}, {"metadata", std::move(meta)},
                      {"columnDefinitions", std::move(cols)}, {"rows", std::move(rows)}};
}

}  // namespace kubesim
