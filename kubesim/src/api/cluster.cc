#include "kubesim/src/api/cluster.h"

#include "kubesim/src/api/cluster_internal.h"
#include "kubesim/src/api/crd_schema.h"
#include "kubesim/src/api/defaults.h"
#include "kubesim/src/api/object_util.h"
#include "kubesim/src/meta/validation.h"
#include "kubesim/src/patch/patch.h"

namespace kubesim {
namespace {

namespace json = boost::json;

std::string StorageKeyGr(const ResourceType& t) { return t.GroupResource(); }

// The type objects of `t` are stored as.
ResourceType StorageOf(Registry& reg, const ResourceType& t) {
  auto s = reg.StorageType(t.group, t.resource);
  return s ? s->type : t;
}

// Built-in types get apiVersion/kind from the URL when the body omits them, as
// kube-apiserver's typed decoder does (the Python client sends such bodies); custom resources
// are decoded as unstructured objects and must carry both.
Status CheckBody(const ResourceType& type, json::value& obj) {
  if (!obj.is_object()) return BadRequestError("the request body must be a JSON object");
  json::object& o = obj.as_object();
  if (!type.custom) {
    auto missing = [&](const char* k) {
      auto it = o.find(k);
      return it == o.end() || !it->value().is_string() || it->value().as_string().empty();
    };
    if (missing("kind") && missing("apiVersion")) {
      o["kind"] = json::string(type.kind);
      o["apiVersion"] = json::string(type.ApiVersion());
    }
  }
  auto kind = o.find("kind");
  auto api = o.find("apiVersion");
  if (kind == o.end() || !kind->value().is_string() || kind->value().as_string().empty()) {
    return BadRequestError("Object 'Kind' is missing in '" + json::serialize(obj).substr(0, 200) + "'");
  }
  if (api == o.end() || !api->value().is_string() || api->value().as_string().empty()) {
    return BadRequestError("Object 'apiVersion' is missing in '" + json::serialize(obj).substr(0, 200) + "'");
  }
  if (api->value().as_string() != type.ApiVersion()) {
    return BadRequestError("the API version in the data (" + std::string(api->value().as_string()) +
                           ") does not match the expected API version (" + type.ApiVersion() + ")");
  }
  if (kind->value().as_string() != type.kind) {
    return BadRequestError("the kind in the data (" + std::string(kind->value().as_string()) +
                           ") does not match the expected kind (" + type.kind + ")");
  }
  if (auto m = o.find("metadata"); m != o.end() && !m->value().is_object() && !m->value().is_null()) {
    return BadRequestError("metadata must be an object");
  }
  return absl::OkStatus();
}

Status CheckNamespace(Cluster& c, const ResourceType& type, json::value& obj, const std::string& ns,
                      bool creating) {
  json::object& meta = Meta(obj);
  if (!type.namespaced) {
    meta.erase("namespace");
    return absl::OkStatus();
  }
  std::string body_ns = MetaString(obj, "namespace");
  if (body_ns.empty()) {
    meta["namespace"] = ns;
  } else if (body_ns != ns) {
    return BadRequestError(
        "the namespace of the provided object does not match the namespace sent on the request");
  }
  if (!creating) return absl::OkStatus();
  ObjectPtr nsobj = c.store().Get("namespaces", "", ns);
  if (nsobj == nullptr) return NotFoundError({"", "namespaces"}, ns);
  if (!MetaString(nsobj->object, "deletionTimestamp").empty()) {
    json::object details{{"name", MetaString(obj, "name")}, {"kind", type.resource}, {"group", type.group}};
    details["causes"] = json::array{json::object{
        {"reason", "NamespaceTerminating"},
        {"message", "namespace " + ns + " is being terminated"},
        {"field", "metadata.namespace"}}};
    return ApiError(403, "Forbidden",
                    type.GroupResource() + " \"" + MetaString(obj, "name") +
                        "\" is forbidden: unable to create new content in namespace " + ns +
                        " because it is being terminated",
                    std::move(details));
  }
  return absl::OkStatus();
}

Status Validate(const ResourceType& type, const json::value& obj) {
  std::vector<FieldCause> causes = ValidateObjectMeta(obj, type.namespaced, NameRuleFor(type.group, type.resource));
  if (!causes.empty()) return InvalidError(type.group, type.kind, MetaString(obj, "name"), causes);
  return absl::OkStatus();
}

// A custom resource against its CRD's structural schema, in kube-apiserver's order: defaults,
// pruning of undeclared fields (an error with fieldValidation=Strict), then validation.
Status ApplyCrdSchema(const Registry& registry, const ResourceType& type, json::value& obj,
                      const WriteOptions& options) {
  if (!type.custom) return absl::OkStatus();
  std::optional<TypeInfo> info = registry.Find(type.group, type.version, type.resource);
  if (!info || !info->schema.is_object()) return absl::OkStatus();
  ApplyDefaults(obj, info->schema);
  std::vector<std::string> pruned;
  PruneUnknownFields(obj, info->schema, &pruned);
  if (!pruned.empty() && options.field_validation == "Strict") {
    std::string msg = "strict decoding error: ";
    for (size_t i = 0; i < pruned.size(); ++i) msg += (i ? ", " : "") + std::string("unknown field \"") + pruned[i] + "\"";
    return BadRequestError(msg);
  }
  if (!pruned.empty() && options.field_validation != "Ignore" && options.warnings != nullptr) {
    for (const std::string& f : pruned) options.warnings->push_back("unknown field \"" + f + "\"");
  }
  std::vector<FieldCause> causes = ValidateAgainstSchema(obj, info->schema);
  if (!causes.empty()) return InvalidError(type.group, type.kind, MetaString(obj, "name"), causes);
  return absl::OkStatus();
}

// Server-managed metadata of a stored object, carried over into its replacement.
void CarryServerMetadata(const json::value& old_obj, json::value& obj) {
  json::object& meta = Meta(obj);
  const json::object* old_meta = MetaIfAny(old_obj);
  for (const char* k : {"uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "generation"}) {
    meta.erase(k);
    if (old_meta != nullptr) {
      if (auto it = old_meta->find(k); it != old_meta->end()) meta[k] = it->value();
    }
  }
  meta.erase("selfLink");
}

bool ObjectsEqualIgnoringRv(const json::value& a, const json::value& b) {
  if (!a.is_object() || !b.is_object()) return a == b;
  json::value ca = a, cb = b;
  Meta(ca).erase("resourceVersion");
  Meta(cb).erase("resourceVersion");
  Meta(ca).erase("managedFields");
  Meta(cb).erase("managedFields");
  return ca == cb;
}

bool HasStatusSubresource(const ResourceType& t) { return t.HasSubresource("status"); }

// Whether kube-apiserver keeps metadata.generation for the type (its registry strategy sets it
// on create and bumps it on spec changes): custom resources and the workload-like built-ins,
// not ConfigMaps, Secrets, Pods, Services, Namespaces or volumes.
bool UsesGeneration(const ResourceType& t) {
  if (t.custom) return true;
  const std::string& g = t.group;
  const std::string& r = t.resource;
  if (g == "apps") return r != "controllerrevisions";
  if (g == "batch" || g == "autoscaling" || g == "policy" || g == "apiextensions.k8s.io" ||
      g == "admissionregistration.k8s.io" || g == "flowcontrol.apiserver.k8s.io") {
    return true;
  }
  if (g == "networking.k8s.io") return r == "networkpolicies" || r == "ingresses";
  return g.empty() && r == "replicationcontrollers";
}

// Whether a create of this type keeps a client-supplied status (kube-apiserver resets it for
// most types with a status subresource).
bool KeepsStatusOnCreate(const ResourceType& t) {
  return t.group.empty() && (t.resource == "nodes" || t.resource == "persistentvolumes");
}

std::string ManagerOf(const WriteOptions& o) {
  return o.field_manager.empty() ? std::string("kubesim") : o.field_manager;
}

}  // namespace

GroupResource GrOf(const ResourceType& t) { return GroupResource{t.group, t.resource}; }

Cluster::Cluster(Store* store, Registry* registry, Options options)
    : store_(store), registry_(registry), impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
  // CRDs stored before a restart define types again.
  store_->List("customresourcedefinitions.apiextensions.k8s.io", "", true, "", 0,
               [this](const StoredObject& o) {
                 RegisterCrd(*registry_, o.object);
                 return false;
               });
}

Cluster::~Cluster() = default;

Status Cluster::Bootstrap() {
  auto ns_type = registry_->StorageType("", "namespaces");
  if (!ns_type) return InternalError("namespaces type missing");
  for (const char* name : {"default", "kube-system", "kube-public", "kube-node-lease"}) {
    if (store_->Get("namespaces", "", name) != nullptr) continue;
    json::value ns = {{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", name}}}};
    auto r = Create(ns_type->type, "", std::move(ns), WriteOptions{.field_manager = "kube-apiserver"});
    if (!r.ok() && r.status().code() != absl::StatusCode::kAlreadyExists) return r.status();
  }
  auto svc_type = registry_->StorageType("", "services");
  if (svc_type && store_->Get("services", "default", "kubernetes") == nullptr) {
    json::value svc = json::parse(R"({"apiVersion":"v1","kind":"Service","metadata":{"name":"kubernetes",
      "namespace":"default","labels":{"component":"apiserver","provider":"kubernetes"}},
      "spec":{"clusterIP":"10.96.0.1","ports":[{"name":"https","port":443,"protocol":"TCP","targetPort":6443}]}})");
    auto r = Create(svc_type->type, "default", std::move(svc), WriteOptions{.field_manager = "kube-apiserver"});
    if (!r.ok() && r.status().code() != absl::StatusCode::kAlreadyExists) return r.status();
  }
  return absl::OkStatus();
}

StatusOr<json::value> Cluster::Get(const ResourceType& type, const std::string& ns,
                                   const std::string& name) {
  ObjectPtr o = store_->Get(StorageKeyGr(type), type.namespaced ? ns : "", name);
  if (o == nullptr) return NotFoundError(GrOf(type), name);
  return ConvertTo(type, o->object);
}

StatusOr<json::value> Cluster::Create(const ResourceType& type, const std::string& ns,
                                      json::value object, const WriteOptions& options,
                                      const std::string& subresource) {
  if (!subresource.empty()) {
    if (type.group.empty() && type.resource == "pods" && subresource == "binding") {
      return BindPod(ns, object, options);
    }
    return MethodNotSupportedError(GrOf(type), "create");
  }
  if (type.group.empty() && type.resource == "bindings") return BindPod(ns, object, options);
  LIFEBOAT_RETURN_IF_ERROR(CheckBody(type, object));
  LIFEBOAT_RETURN_IF_ERROR(CheckNamespace(*this, type, object, ns, true));
  json::object& meta = Meta(object);
  if (MetaString(object, "name").empty() && !MetaString(object, "generateName").empty()) {
    meta["name"] = MetaString(object, "generateName") + RandomSuffix();
  }
  for (const char* k : {"uid", "resourceVersion", "deletionTimestamp", "deletionGracePeriodSeconds", "selfLink"}) {
    meta.erase(k);
  }
  meta["uid"] = NewUid();
  meta["creationTimestamp"] = NowRfc3339();
  if (UsesGeneration(type)) {
    meta["generation"] = 1;
  } else {
    meta.erase("generation");
  }
  if (HasStatusSubresource(type) && !KeepsStatusOnCreate(type)) object.as_object().erase("status");
  ApplyDefaults(type, object, /*creating=*/true);
  LIFEBOAT_RETURN_IF_ERROR(Validate(type, object));
  LIFEBOAT_RETURN_IF_ERROR(ApplyCrdSchema(*registry_, type, object, options));
  LIFEBOAT_RETURN_IF_ERROR(Hooks::BeforeCreate(*this, type, object));
  const std::string name = MetaString(object, "name");
  const ResourceType storage = StorageOf(*registry_, type);
  LIFEBOAT_ASSIGN_OR_RETURN(json::value stored_form, ConvertTo(storage, std::move(object)));
  RecordUpdateManagedFields(nullptr, stored_form, ManagerOf(options), type.ApiVersion(), NowRfc3339());
  NormalizeKeyOrder(stored_form);
  auto stored = store_->Mutate(
      StorageKeyGr(type), type.namespaced ? ns : "", name,
      [&](const StoredObject* current, int64_t) -> StatusOr<Mutation> {
        if (current != nullptr) return AlreadyExistsError(GrOf(type), name);
        return Mutation{Mutation::Op::kPut, stored_form};
      },
      options.dry_run);
  if (!stored.ok()) return stored.status();
  if (type.group == "apiextensions.k8s.io" && type.resource == "customresourcedefinitions" && !options.dry_run) {
    RegisterCrd(*registry_, (*stored)->object);
  }
  return ConvertTo(type, (*stored)->object);
}

// The common path of update and patch: `obj` is the complete new object (in `type`'s version)
// proposed to replace `current`. Returns the mutation to store.
StatusOr<Mutation> Cluster::PrepareUpdate(const ResourceType& type, const StoredObject& current,
                                          json::value obj, const std::string& subresource,
                                          const WriteOptions& options) {
  LIFEBOAT_RETURN_IF_ERROR(CheckBody(type, obj));
  LIFEBOAT_ASSIGN_OR_RETURN(json::value old_obj, ConvertTo(type, current.object));
  if (std::string name = MetaString(obj, "name"); name != current.name) {
    return BadRequestError("the name of the object (" + name + ") does not match the name on the URL (" +
                           current.name + ")");
  }
  LIFEBOAT_RETURN_IF_ERROR(CheckNamespace(*this, type, obj, current.ns, false));
  if (std::string rv = MetaString(obj, "resourceVersion"); !rv.empty() && rv != std::to_string(current.rv)) {
    return ConflictError(GrOf(type), current.name,
                         "the object has been modified; please apply your changes to the latest "
                         "version and try again");
  }
  CarryServerMetadata(old_obj, obj);
  json::object& o = obj.as_object();
  if (subresource == "status") {
    // Only status changes through /status.
    json::value next = old_obj;
    if (auto s = o.find("status"); s != o.end()) next.as_object()["status"] = s->value();
    else next.as_object().erase("status");
    obj = std::move(next);
    LIFEBOAT_RETURN_IF_ERROR(ApplyCrdSchema(*registry_, type, obj, options));
  } else if (subresource == "finalize") {
    json::value next = old_obj;
    json::object& spec = next.as_object()["spec"].is_object() ? next.as_object()["spec"].as_object()
                                                               : (next.as_object()["spec"] = json::object()).as_object();
    if (auto s = o.find("spec"); s != o.end() && s->value().is_object() && s->value().as_object().contains("finalizers")) {
      spec["finalizers"] = s->value().as_object().at("finalizers");
    } else {
      spec.erase("finalizers");
    }
    obj = std::move(next);
  } else if (!subresource.empty()) {
    return MethodNotSupportedError(GrOf(type), "update");
  } else {
    if (HasStatusSubresource(type)) {
      const json::object& oo = old_obj.as_object();
      if (auto s = oo.find("status"); s != oo.end()) o["status"] = s->value();
      else o.erase("status");
    }
    if (type.group.empty() && type.resource == "namespaces") {
      // spec.finalizers changes only through /finalize.
      json::value spec = old_obj.as_object().contains("spec") ? old_obj.as_object().at("spec") : json::value();
      if (spec.is_null()) o.erase("spec");
      else o["spec"] = spec;
    }
    ApplyDefaults(type, obj, /*creating=*/false);
    LIFEBOAT_RETURN_IF_ERROR(Validate(type, obj));
    LIFEBOAT_RETURN_IF_ERROR(ApplyCrdSchema(*registry_, type, obj, options));
    LIFEBOAT_RETURN_IF_ERROR(Hooks::BeforeUpdate(*this, type, old_obj, obj));
  }
  // No new finalizers once deletion started.
  if (!MetaString(old_obj, "deletionTimestamp").empty()) {
    for (const auto& f : Finalizers(obj)) {
      if (!HasFinalizer(old_obj, f)) {
        return InvalidError(type.group, type.kind, current.name,
                            {FieldCause{"FieldValueForbidden",
                                        "Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers []string{\"" + f + "\"}",
                                        "metadata.finalizers"}});
      }
    }
  }
  if (UsesGeneration(type) && SpecChanged(old_obj, obj, HasStatusSubresource(type))) {
    int64_t gen = 0;
    if (const json::object* m = MetaIfAny(old_obj); m && m->contains("generation") && m->at("generation").is_int64()) {
      gen = m->at("generation").as_int64();
    }
    Meta(obj)["generation"] = gen + 1;
  }
  if (ObjectsEqualIgnoringRv(old_obj, obj)) return Mutation{Mutation::Op::kNone, {}};
  const ResourceType storage = StorageOf(*registry_, type);
  LIFEBOAT_ASSIGN_OR_RETURN(json::value stored_form, ConvertTo(storage, std::move(obj)));
  RecordUpdateManagedFields(&current.object, stored_form, ManagerOf(options), type.ApiVersion(), NowRfc3339());
  NormalizeKeyOrder(stored_form);
  // The last finalizer gone from an object being deleted: it goes now.
  if (!MetaString(stored_form, "deletionTimestamp").empty() && Finalizers(stored_form).empty() &&
      !(type.group.empty() && type.resource == "namespaces" && NamespaceHasSpecFinalizers(stored_form))) {
    return Mutation{Mutation::Op::kDelete, {}};
  }
  return Mutation{Mutation::Op::kPut, std::move(stored_form)};
}

StatusOr<ObjectPtr> Cluster::GuaranteedUpdate(
    const ResourceType& type, const std::string& ns, const std::string& name,
    const std::function<StatusOr<Mutation>(const StoredObject& current)>& fn, bool dry_run) {
  const std::string key_ns = type.namespaced ? ns : "";
  // Read, compute outside the store's lock (hooks may read the store), then write only if
  // nobody wrote in between; else start over — kube-apiserver's GuaranteedUpdate.
  for (int attempt = 0; attempt < 16; ++attempt) {
    ObjectPtr current = store_->Get(type.GroupResource(), key_ns, name);
    if (current == nullptr) return NotFoundError(GrOf(type), name);
    LIFEBOAT_ASSIGN_OR_RETURN(Mutation m, fn(*current));
    if (m.op == Mutation::Op::kNone) return current;
    bool raced = false;
    auto stored = store_->Mutate(
        type.GroupResource(), key_ns, name,
        [&](const StoredObject* now, int64_t) -> StatusOr<Mutation> {
          if (now == nullptr) return NotFoundError(GrOf(type), name);
          if (now->rv != current->rv) {
            raced = true;
            return Mutation{};
          }
          return std::move(m);
        },
        dry_run);
    if (!stored.ok() || !raced) return stored;
  }
  return ConflictError(GrOf(type), name, "the object is being modified too often; please try again");
}

StatusOr<json::value> Cluster::Update(const ResourceType& type, const std::string& ns,
                                      const std::string& name, json::value object,
                                      const WriteOptions& options, const std::string& subresource) {
  if (subresource == "scale") return UpdateScale(type, ns, name, std::move(object), options);
  if (!object.is_object()) return BadRequestError("the request body must be a JSON object");
  auto stored = GuaranteedUpdate(
      type, ns, name,
      [&](const StoredObject& current) { return PrepareUpdate(type, current, object, subresource, options); },
      options.dry_run);
  if (!stored.ok()) return stored.status();
  if (*stored == nullptr) return NotFoundError(GrOf(type), name);
  if (type.group == "apiextensions.k8s.io" && type.resource == "customresourcedefinitions" && !options.dry_run) {
    RegisterCrd(*registry_, (*stored)->object);
  }
  return ConvertTo(type, (*stored)->object);
}

StatusOr<json::value> Cluster::Patch(const ResourceType& type, const std::string& ns,
                                     const std::string& name, PatchType patch_type,
                                     const json::value& patch, const PatchOptions& options,
                                     const std::string& subresource) {
  if (patch_type == PatchType::kStrategic && !SupportsStrategicMerge(type.group, type.kind)) {
    return ApiError(415, "UnsupportedMediaType",
                    "strategic merge patch is not supported for " + type.GroupResource() +
                        "; use a JSON merge patch or JSON patch instead");
  }
  if (subresource == "scale") {
    LIFEBOAT_ASSIGN_OR_RETURN(json::value scale, GetScale(type, ns, name));
    StatusOr<json::value> patched = patch_type == PatchType::kJson ? ApplyJsonPatch(scale, patch)
                                                                   : ApplyMergePatch(scale, patch);
    if (!patched.ok()) return PatchError(patched.status());
    return UpdateScale(type, ns, name, std::move(*patched), options.write);
  }
  const std::string key_ns = type.namespaced ? ns : "";
  if (patch_type == PatchType::kApply && subresource.empty() &&
      store_->Get(type.GroupResource(), key_ns, name) == nullptr) {
    // Server-side apply of an object that does not exist creates it.
    auto obj = ServerSideApply(nullptr, patch, type.group, type.kind,
                               ApplyOptions{options.write.field_manager, options.force, type.ApiVersion(), NowRfc3339()});
    if (!obj.ok()) return PatchError(obj.status());
    if (obj->is_object() && MetaString(*obj, "name").empty()) Meta(*obj)["name"] = name;
    return Create(type, ns, std::move(*obj), options.write);
  }
  auto stored = GuaranteedUpdate(
      type, ns, name,
      [&](const StoredObject& current) -> StatusOr<Mutation> {
        LIFEBOAT_ASSIGN_OR_RETURN(json::value live, ConvertTo(type, current.object));
        StatusOr<json::value> patched = absl::InternalError("unset");
        switch (patch_type) {
          case PatchType::kJson: patched = ApplyJsonPatch(live, patch); break;
          case PatchType::kMerge: patched = ApplyMergePatch(live, patch); break;
          case PatchType::kStrategic: patched = ApplyStrategicMergePatch(live, patch, type.group, type.kind); break;
          case PatchType::kApply:
            patched = ServerSideApply(&live, patch, type.group, type.kind,
                                      ApplyOptions{options.write.field_manager, options.force, type.ApiVersion(), NowRfc3339()});
            break;
        }
        if (!patched.ok()) return PatchError(patched.status());
        // Only a patch that names a resourceVersion can conflict on it.
        if (patched->is_object() && MetaString(*patched, "resourceVersion") != std::to_string(current.rv)) {
          bool patch_sets_rv = patch.is_object() && !MetaString(patch, "resourceVersion").empty();
          if (!patch_sets_rv) Meta(*patched)["resourceVersion"] = std::to_string(current.rv);
        }
        return PrepareUpdate(type, current, std::move(*patched), subresource, options.write);
      },
      options.write.dry_run);
  if (!stored.ok()) return stored.status();
  if (*stored == nullptr) return NotFoundError(GrOf(type), name);
  if (type.group == "apiextensions.k8s.io" && type.resource == "customresourcedefinitions" && !options.write.dry_run) {
    RegisterCrd(*registry_, (*stored)->object);
  }
  return ConvertTo(type, (*stored)->object);
}

Status Cluster::PatchError(const Status& s) {
  switch (s.code()) {
    case absl::StatusCode::kInvalidArgument: return BadRequestError(std::string(s.message()));
    case absl::StatusCode::kFailedPrecondition:
      return ApiError(422, "Invalid", std::string(s.message()));
    case absl::StatusCode::kAborted: return ApiError(409, "Conflict", std::string(s.message()));
    default: return InternalError(std::string(s.message()));
  }
}

}  // namespace kubesim
