// Deletion: preconditions, finalizers and deletionTimestamp, propagation policies (the garbage
// collector controller does the cascading), namespaces' two-phase deletion.

#include "kubesim/src/api/cluster.h"
#include "kubesim/src/api/cluster_internal.h"
#include "kubesim/src/api/object_util.h"

namespace kubesim {
namespace {

namespace json = boost::json;

bool IsNamespace(const ResourceType& t) { return t.group.empty() && t.resource == "namespaces"; }
bool IsCrd(const ResourceType& t) {
  return t.group == "apiextensions.k8s.io" && t.resource == "customresourcedefinitions";
}

constexpr char kCrdCleanupFinalizer[] = "customresourcecleanup.apiextensions.k8s.io";

// What kube-apiserver answers for an immediate delete (no ReturnDeletedObject).
json::value SuccessStatus(const ResourceType& type, const json::value& obj) {
  json::object details{{"name", MetaString(obj, "name")}, {"group", type.group},
                       {"kind", type.resource}, {"uid", MetaString(obj, "uid")}};
  return json::object{{"kind", "Status"}, {"apiVersion", "v1"}, {"metadata", json::object()},
                      {"status", "Success"}, {"details", std::move(details)}};
}

}  // namespace

bool NamespaceHasSpecFinalizers(const json::value& ns) {
  if (!ns.is_object()) return false;
  auto spec = ns.as_object().find("spec");
  if (spec == ns.as_object().end() || !spec->value().is_object()) return false;
  auto f = spec->value().as_object().find("finalizers");
  return f != spec->value().as_object().end() && f->value().is_array() && !f->value().as_array().empty();
}

StatusOr<json::value> Cluster::Delete(const ResourceType& type, const std::string& ns,
                                      const std::string& name, const DeleteOptions& options) {
  const std::string key_ns = type.namespaced ? ns : "";
  if (options.propagation_policy != "" && options.propagation_policy != "Background" &&
      options.propagation_policy != "Foreground" && options.propagation_policy != "Orphan") {
    return InvalidError("meta.k8s.io", "DeleteOptions", "",
                        {FieldCause{"FieldValueNotSupported",
                                    "Unsupported value: \"" + options.propagation_policy +
                                        "\": supported values: \"Foreground\", \"Background\", \"Orphan\"",
                                    "propagationPolicy"}});
  }
  bool deferred = false;
  auto stored = store_->Mutate(
      type.GroupResource(), key_ns, name,
      [&](const StoredObject* current, int64_t) -> StatusOr<Mutation> {
        if (current == nullptr) return NotFoundError(GrOf(type), name);
        const std::string uid = MetaString(current->object, "uid");
        if (options.precondition_uid && *options.precondition_uid != uid) {
          return ConflictError(GrOf(type), name,
                               "Precondition failed: UID in precondition: " + *options.precondition_uid +
                                   ", UID in object meta: " + uid);
        }
        if (options.precondition_resource_version &&
            *options.precondition_resource_version != std::to_string(current->rv)) {
          return ConflictError(GrOf(type), name,
                               "Precondition failed: ResourceVersion in precondition: " +
                                   *options.precondition_resource_version +
                                   ", ResourceVersion in object meta: " + std::to_string(current->rv));
        }
        json::value obj = current->object;
        std::vector<std::string> finalizers = Finalizers(obj);
        const bool already_deleting = !MetaString(obj, "deletionTimestamp").empty();
        auto add = [&](const char* f) {
          if (std::find(finalizers.begin(), finalizers.end(), f) == finalizers.end()) finalizers.push_back(f);
        };
        if (!already_deleting) {
          if (options.propagation_policy == "Foreground") add("foregroundDeletion");
          if (options.propagation_policy == "Orphan") add("orphan");
          if (IsCrd(type)) add(kCrdCleanupFinalizer);
        }
        bool keep = !finalizers.empty() || (IsNamespace(type) && NamespaceHasSpecFinalizers(obj));
        if (!keep) return Mutation{Mutation::Op::kDelete, {}};
        deferred = true;
        if (already_deleting) return Mutation{Mutation::Op::kNone, {}};
        SetFinalizers(obj, finalizers);
        json::object& meta = Meta(obj);
        meta["deletionTimestamp"] = NowRfc3339();
        meta["deletionGracePeriodSeconds"] = 0;
        if (IsNamespace(type)) {
          auto& status = obj.as_object()["status"];
          if (!status.is_object()) status = json::object();
          status.as_object()["phase"] = "Terminating";
        }
        return Mutation{Mutation::Op::kPut, std::move(obj)};
      },
      options.dry_run);
  if (!stored.ok()) return stored.status();
  if (*stored == nullptr) return NotFoundError(GrOf(type), name);
  if (IsCrd(type) && !options.dry_run) RemoveCrdInstances((*stored)->object);
  LIFEBOAT_ASSIGN_OR_RETURN(json::value out, ConvertTo(type, (*stored)->object));
  if (deferred) return out;
  return SuccessStatus(type, out);
}

StatusOr<ListResult> Cluster::DeleteCollection(const ResourceType& type, const std::string& ns,
                                               const ListOptions& list,
                                               const DeleteOptions& options) {
  ListOptions all = list;
  all.limit = 0;
  all.continue_token.clear();
  LIFEBOAT_ASSIGN_OR_RETURN(ListResult matched, List(type, ns, all));
  ListResult out;
  out.resource_version = matched.resource_version;
  out.requested = type;
  for (auto& item : matched.items) {
    auto r = Delete(type, item->ns, item->name, options);
    if (!r.ok() && r.status().code() != absl::StatusCode::kNotFound) return r.status();
    if (r.ok()) out.items.push_back(item);
  }
  return out;
}

// A deleted CRD takes its custom resources with it; then its cleanup finalizer goes and the
// CRD with it, and its types leave discovery.
void Cluster::RemoveCrdInstances(const json::value& crd) {
  auto types = TypesFromCrd(crd);
  if (!types.ok() || types->empty()) return;
  const ResourceType& t = types->front().type;
  const std::string gr = t.GroupResource();
  for (;;) {
    ListPage page = store_->List(gr, "", true, "", 500, nullptr);
    if (page.items.empty()) break;
    for (const auto& o : page.items) {
      (void)store_->Mutate(gr, o->ns, o->name, [](const StoredObject* cur, int64_t) -> StatusOr<Mutation> {
        return Mutation{cur ? Mutation::Op::kDelete : Mutation::Op::kNone, {}};
      });
    }
  }
  const std::string crd_name = MetaString(crd, "name");
  registry_->RemoveCustom(crd_name);
  (void)store_->Mutate("customresourcedefinitions.apiextensions.k8s.io", "", crd_name,
                       [](const StoredObject* cur, int64_t) -> StatusOr<Mutation> {
                         if (cur == nullptr) return Mutation{};
                         std::vector<std::string> f = Finalizers(cur->object);
                         f.erase(std::remove(f.begin(), f.end(), kCrdCleanupFinalizer), f.end());
                         if (f.empty()) return Mutation{Mutation::Op::kDelete, {}};
                         json::value obj = cur->object;
                         SetFinalizers(obj, f);
                         return Mutation{Mutation::Op::kPut, std::move(obj)};
                       });
}

}  // namespace kubesim
