#include "kubesim/src/controllers/workloads/revision.h"

#include <algorithm>

#include "kubesim/src/api/object_util.h"
#include "lifeboat/common/log.h"

namespace kubesim::workloads {

json::value RevisionData(const json::value& owner) {
  json::value tmpl = json::object();
  if (const json::value* t = Find(owner, {"spec", "template"}); t && t->is_object()) tmpl = *t;
  tmpl.as_object()["$patch"] = "replace";
  return json::object{{"spec", json::object{{"template", std::move(tmpl)}}}};
}

json::value TemplateOfRevision(const json::value& revision) {
  const json::value* t = Find(revision, {"data", "spec", "template"});
  if (t == nullptr || !t->is_object()) return nullptr;
  json::value out = *t;
  out.as_object().erase("$patch");
  return out;
}

std::vector<ObjectPtr> OwnedRevisions(Writer& w, const json::value& owner) {
  const std::string uid = MetaString(owner, "uid");
  return ListObjects(w.store(), "controllerrevisions.apps", MetaString(owner, "namespace"),
                     [&](const StoredObject& o) { return IsControlledBy(o.object, uid); });
}

namespace {

// The owner's revisions, after adopting orphans its selector matches, as the real controllers'
// ClaimControllerRevisions does (a restore brings revisions back without owner references).
std::vector<ObjectPtr> ClaimRevisions(Writer& w, const ResourceType& type, const json::value& owner,
                                      const std::string& kind) {
  if (auto selector = Selector::FromLabelSelector(Find(owner, {"spec", "selector"}))) {
    return ClaimObjects(w, type, owner, "apps/v1", kind, *selector);
  }
  return OwnedRevisions(w, owner);
}

}  // namespace

StatusOr<RevisionInfo> EnsureRevision(Writer& w, const json::value& owner, const std::string& kind) {
  const ResourceType* type = w.Type("apps", "controllerrevisions");
  if (type == nullptr) return absl::UnimplementedError("controllerrevisions.apps is not served");
  const std::string ns = MetaString(owner, "namespace");
  const json::value data = RevisionData(owner);
  const std::string canonical = CanonicalJson(data);
  std::vector<ObjectPtr> owned = ClaimRevisions(w, *type, owner, kind);
  int64_t max_rev = 0;
  ObjectPtr equal;
  for (const ObjectPtr& r : owned) {
    max_rev = std::max(max_rev, GetInt(r->object, {"revision"}, 0));
    const json::value* d = Find(r->object, {"data"});
    if (d != nullptr && CanonicalJson(*d) == canonical) equal = r;
  }
  if (equal != nullptr) {
    RevisionInfo info{equal->name, GetString(equal->object, {"metadata", "labels", kRevisionHashLabel}),
                      GetInt(equal->object, {"revision"}, 0)};
    if (info.revision < max_rev) {
      info.revision = max_rev + 1;
      LIFEBOAT_RETURN_IF_ERROR(w.Update(*type, ns, equal->name, [&](json::value& obj) {
        obj.as_object()["revision"] = info.revision;
        return true;
      }));
    }
    return info;
  }
  std::optional<int64_t> collisions = GetInt(owner, {"status", "collisionCount"}, 0);
  const std::string hash = ComputeHash(data, collisions);
  std::string prefix = MetaString(owner, "name").substr(0, 223);
  StringMap labels = ToStringMap(Find(owner, {"spec", "template", "metadata", "labels"}));
  labels[kRevisionHashLabel] = hash;
  RevisionInfo info{prefix + "-" + hash, hash, max_rev + 1};
  json::value rev = json::object{
      {"apiVersion", "apps/v1"},
      {"kind", "ControllerRevision"},
      {"metadata", json::object{{"name", info.name},
                                {"namespace", ns},
                                {"labels", FromStringMap(labels)},
                                {"ownerReferences", json::array{NewControllerRef(owner, "apps/v1", kind)}}}},
      {"data", data},
      {"revision", info.revision}};
  auto r = w.Create(*type, ns, std::move(rev));
  if (!r.ok()) return r.status();
  return info;
}

void TruncateHistory(Writer& w, const json::value& owner, const std::vector<std::string>& live) {
  const ResourceType* type = w.Type("apps", "controllerrevisions");
  if (type == nullptr) return;
  const int64_t limit = std::max<int64_t>(0, GetInt(owner, {"spec", "revisionHistoryLimit"}, 10));
  std::vector<ObjectPtr> idle;
  for (ObjectPtr& r : OwnedRevisions(w, owner)) {
    if (std::find(live.begin(), live.end(), r->name) == live.end()) idle.push_back(std::move(r));
  }
  if (static_cast<int64_t>(idle.size()) <= limit) return;
  std::sort(idle.begin(), idle.end(), [](const ObjectPtr& a, const ObjectPtr& b) {
    return GetInt(a->object, {"revision"}, 0) < GetInt(b->object, {"revision"}, 0);
  });
  for (size_t i = 0; i < idle.size() - static_cast<size_t>(limit); ++i) {
    Status s = w.Delete(*type, idle[i]->ns, idle[i]->name, MetaString(idle[i]->object, "uid"));
    if (!s.ok()) LB_LOG_DEBUG("kubesim: deleting revision {}: {}", idle[i]->name, s.ToString());
  }
}

}  // namespace kubesim::workloads
