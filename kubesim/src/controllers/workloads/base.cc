#include "kubesim/src/controllers/workloads/base.h"

#include <exception>

#include "kubesim/src/api/object_util.h"
#include "lifeboat/common/log.h"

namespace kubesim::workloads {

Writer::Writer(Cluster* cluster, std::string manager)
    : cluster_(cluster), manager_(std::move(manager)) {}

const ResourceType* Writer::Type(const std::string& group, const std::string& resource) {
  const std::string key = group + "/" + resource;
  if (auto it = types_.find(key); it != types_.end()) return &it->second;
  auto info = cluster_->registry().StorageType(group, resource);
  if (!info) return nullptr;
  return &types_.emplace(key, info->type).first->second;
}

WriteOptions Writer::Options() const {
  WriteOptions o;
  o.field_manager = manager_;
  o.user = "system:" + manager_;
  return o;
}

StatusOr<json::value> Writer::Create(const ResourceType& type, const std::string& ns, json::value obj,
                                     const std::string& subresource) {
  return cluster_->Create(type, ns, std::move(obj), Options(), subresource);
}

Status Writer::Delete(const ResourceType& type, const std::string& ns, const std::string& name,
                      const std::string& uid, const std::string& propagation) {
  DeleteOptions o;
  o.propagation_policy = propagation;
  if (!uid.empty()) o.precondition_uid = uid;
  auto r = cluster_->Delete(type, ns, name, o);
  if (!r.ok() && r.status().code() != absl::StatusCode::kNotFound) return r.status();
  return absl::OkStatus();
}

Status Writer::Update(const ResourceType& type, const std::string& ns, const std::string& name,
                      const std::function<bool(json::value&)>& mutate, const std::string& subresource) {
  Status last = absl::OkStatus();
  for (int attempt = 0; attempt < 8; ++attempt) {
    ObjectPtr cur = store().Get(type.GroupResource(), type.namespaced ? ns : "", name);
    if (cur == nullptr) return NotFoundError({type.group, type.resource}, name);
    json::value obj = cur->object;
    if (!obj.is_object() || !mutate(obj)) return absl::OkStatus();
    Meta(obj)["resourceVersion"] = std::to_string(cur->rv);
    auto r = cluster_->Update(type, ns, name, std::move(obj), Options(), subresource);
    if (r.ok()) return absl::OkStatus();
    last = r.status();
    if (last.code() != absl::StatusCode::kAborted) return last;
  }
  return last;
}

void KeyedController::OnEvent(const StoreEvent& event) {
  if (event.object == nullptr) return;
  std::set<Key> keys;
  try {
    KeysFor(event, keys);
  } catch (const std::exception& e) {
    LB_LOG_DEBUG("kubesim: {}: skipping event on {}/{}: {}", name(), event.object->ns,
                 event.object->name, e.what());
    return;
  }
  for (const Key& k : keys) SafeReconcile(k);
}

void KeyedController::Resync() {
  std::vector<Key> keys;
  try {
    keys = AllKeys();
  } catch (const std::exception& e) {
    LB_LOG_DEBUG("kubesim: {}: resync failed: {}", name(), e.what());
    return;
  }
  for (const Key& k : keys) SafeReconcile(k);
}

void KeyedController::SafeReconcile(const Key& key) {
  try {
    Reconcile(key);
  } catch (const std::exception& e) {
    // Malformed objects from users make boost::json throw; skip them.
    LB_LOG_DEBUG("kubesim: {}: skipping {}/{}: {}", name(), key.ns, key.name, e.what());
  }
}

std::vector<Key> AllKeysOf(const Store& store, const std::string& gr) {
  std::vector<Key> keys;
  store.List(gr, "", true, "", 0, [&](const StoredObject& o) {
    keys.push_back({o.ns, o.name});
    return false;
  });
  return keys;
}

namespace {

void OwnerKeysOf(const Store& store, const StoredObject& dep, const std::string& kind,
                 const std::string& owner_gr,
                 const std::function<std::optional<Selector>(const json::value&)>& selector_of,
                 std::set<Key>& keys) {
  if (auto ref = ControllerOf(dep.object)) {
    if (ref->kind == kind && !ref->name.empty()) keys.insert({dep.ns, ref->name});
    return;
  }
  const StringMap labels = LabelsOf(dep.object);
  store.List(owner_gr, dep.ns, false, "", 0, [&](const StoredObject& owner) {
    auto sel = selector_of(owner.object);
    if (sel && sel->Matches(labels)) keys.insert({owner.ns, owner.name});
    return false;
  });
}

}  // namespace

void OwnerKeys(const Store& store, const StoreEvent& event, const std::string& kind,
               const std::string& owner_gr,
               const std::function<std::optional<Selector>(const json::value&)>& selector_of,
               std::set<Key>& keys) {
  OwnerKeysOf(store, *event.object, kind, owner_gr, selector_of, keys);
  if (event.prev != nullptr) OwnerKeysOf(store, *event.prev, kind, owner_gr, selector_of, keys);
}

namespace {

bool Adopt(json::value& obj, const json::object& ref) {
  if (ControllerOf(obj).has_value() || IsDeleting(obj)) return false;
  json::value& refs = Meta(obj)["ownerReferences"];
  if (!refs.is_array()) refs = json::array();
  refs.as_array().push_back(ref);
  return true;
}

bool Release(json::value& obj, const std::string& uid) {
  json::value& refs = Meta(obj)["ownerReferences"];
  if (!refs.is_array()) return false;
  json::array kept;
  for (const json::value& r : refs.as_array()) {
    if (GetString(r, {"uid"}) != uid) kept.push_back(r);
  }
  if (kept.size() == refs.as_array().size()) return false;
  if (kept.empty()) {
    Meta(obj).erase("ownerReferences");
  } else {
    refs = std::move(kept);
  }
  return true;
}

}  // namespace

std::vector<ObjectPtr> ClaimObjects(Writer& w, const ResourceType& type, const json::value& owner,
                                    const std::string& owner_api_version,
                                    const std::string& owner_kind, const Selector& selector) {
  const std::string ns = MetaString(owner, "namespace");
  const std::string uid = MetaString(owner, "uid");
  const bool owner_deleting = IsDeleting(owner);
  std::vector<ObjectPtr> out;
  std::vector<ObjectPtr> candidates = ListObjects(w.store(), type.GroupResource(), ns, [&](const StoredObject& o) {
    auto ref = ControllerOf(o.object);
    return ref ? ref->uid == uid : (!owner_deleting && selector.Matches(LabelsOf(o.object)));
  });
  const json::object ref = NewControllerRef(owner, owner_api_version, owner_kind);
  for (ObjectPtr& o : candidates) {
    const bool matches = selector.Matches(LabelsOf(o->object));
    if (IsControlledBy(o->object, uid)) {
      if (matches || IsDeleting(o->object)) {
        out.push_back(std::move(o));
        continue;
      }
      Status s = w.Update(type, o->ns, o->name, [&](json::value& obj) { return Release(obj, uid); });
      if (!s.ok()) LB_LOG_DEBUG("kubesim: releasing {}/{}: {}", o->ns, o->name, s.ToString());
      continue;
    }
    if (IsDeleting(o->object)) continue;
    Status s = w.Update(type, o->ns, o->name, [&](json::value& obj) { return Adopt(obj, ref); });
    if (!s.ok()) {
      LB_LOG_DEBUG("kubesim: adopting {}/{}: {}", o->ns, o->name, s.ToString());
      continue;
    }
    if (ObjectPtr now = w.store().Get(type.GroupResource(), o->ns, o->name); now && IsControlledBy(now->object, uid)) {
      out.push_back(std::move(now));
    }
  }
  return out;
}

}  // namespace kubesim::workloads
