// Server-side apply and managedFields (k8s.io/apiserver/pkg/endpoints/handlers/fieldmanager and
// sigs.k8s.io/structured-merge-diff), on the schema facts of lifeboat/common/json_patch.h.
//
// A field set is kept in its wire form, fieldsV1: a JSON object tree whose keys are path
// elements — "f:<field>", "k:<json of the list-map keys>", "v:<json of a set item>" — and "."
// for "the list item itself". A leaf is a path whose node is empty, or that ends in ".".

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "kubesim/src/patch/patch.h"
#include "lifeboat/common/json_patch.h"

namespace kubesim {
namespace {

namespace json = boost::json;
using lifeboat::jsonpatch::JsonEqual;
using lifeboat::jsonpatch::SchemaNode;
using ListType = SchemaNode::ListType;

using Path = std::vector<std::string>;

// Fields the API server sets or that identify the object: never owned by a manager.
bool IsIgnoredTopLevel(std::string_view key) { return key == "apiVersion" || key == "kind"; }
bool IsIgnoredMeta(std::string_view key) {
  return key == "name" || key == "namespace" || key == "creationTimestamp" || key == "managedFields" ||
         key == "resourceVersion" || key == "uid" || key == "generation" || key == "selfLink" ||
         key == "deletionTimestamp" || key == "deletionGracePeriodSeconds" || key == "generateName";
}

json::value KeyValue(const json::object& item, const lifeboat::jsonpatch::ListMapKey& key) {
  auto it = item.find(key.name);
  if (it != item.end()) return it->value();
  if (key.default_value) return *key.default_value;
  return json::value(nullptr);
}

// "k:{...}" for a list-map item: its key fields (sorted by name), defaults filled in.
std::string ItemKeyElement(const json::value& item, const SchemaNode* list) {
  json::object keys;
  if (item.is_object()) {
    for (const auto& k : list->keys) {
      json::value v = KeyValue(item.get_object(), k);
      if (!v.is_null()) keys[k.name] = std::move(v);
    }
  }
  return "k:" + json::serialize(keys);
}

bool ItemMatches(const json::value& item, const json::object& keys, const SchemaNode* list) {
  if (!item.is_object()) return false;
  for (const auto& k : list->keys) {
    json::value have = KeyValue(item.get_object(), k);
    auto want = keys.find(k.name);
    if (want == keys.end()) {
      if (!have.is_null()) return false;
      continue;
    }
    if (!JsonEqual(have, want->value())) return false;
  }
  return true;
}

void BuildFieldSet(const json::value& v, const SchemaNode* schema, json::object& out, int depth);

void BuildChild(const json::value& v, const SchemaNode* schema, json::object& node, int depth) {
  if (v.is_object() && !schema->atomic_map && !v.get_object().empty()) {
    BuildFieldSet(v, schema, node, depth + 1);
  } else if (v.is_array() && schema->list_type == ListType::kMap) {
    const SchemaNode* elem = schema->Elem();
    for (const auto& item : v.get_array()) {
      json::object child;
      child["."] = json::object();
      if (item.is_object()) BuildFieldSet(item, elem, child, depth + 1);
      node[ItemKeyElement(item, schema)] = std::move(child);
    }
  } else if (v.is_array() && schema->list_type == ListType::kSet) {
    for (const auto& item : v.get_array()) node["v:" + json::serialize(item)] = json::object();
  }
}

// The field set of `v` (an object) under `schema`.
void BuildFieldSet(const json::value& v, const SchemaNode* schema, json::object& out, int depth) {
  for (const auto& kv : v.get_object()) {
    if (depth == 0 && IsIgnoredTopLevel(kv.key())) continue;
    if (kv.value().is_null()) continue;
    json::object node;
    const SchemaNode* child_schema = schema->Field(kv.key());
    if (depth == 0 && kv.key() == "metadata" && kv.value().is_object()) {
      for (const auto& m : kv.value().get_object()) {
        if (IsIgnoredMeta(m.key()) || m.value().is_null()) continue;
        json::object mnode;
        BuildChild(m.value(), child_schema->Field(m.key()), mnode, depth + 1);
        node["f:" + std::string(m.key())] = std::move(mnode);
      }
      if (node.empty()) continue;
    } else {
      BuildChild(kv.value(), child_schema, node, depth);
    }
    out["f:" + std::string(kv.key())] = std::move(node);
  }
}

json::object FieldSetOf(const json::value& obj, const SchemaNode* root) {
  json::object out;
  if (obj.is_object()) BuildFieldSet(obj, root, out, 0);
  return out;
}

void CollectLeaves(const json::object& set, Path& prefix, std::vector<Path>& out) {
  for (const auto& kv : set) {
    if (kv.key() == ".") {
      Path p = prefix;
      p.emplace_back(".");
      out.push_back(std::move(p));
      continue;
    }
    prefix.emplace_back(kv.key());
    if (!kv.value().is_object() || kv.value().get_object().empty()) {
      out.push_back(prefix);
    } else {
      CollectLeaves(kv.value().get_object(), prefix, out);
    }
    prefix.pop_back();
  }
}

std::vector<Path> Leaves(const json::object& set) {
  std::vector<Path> out;
  Path prefix;
  CollectLeaves(set, prefix, out);
  return out;
}

bool SetContains(const json::object& set, const Path& path) {
  const json::object* node = &set;
  for (size_t i = 0; i < path.size(); ++i) {
    auto it = node->find(path[i]);
    if (it == node->end() || !it->value().is_object()) return false;
    node = &it->value().get_object();
    if (i + 1 == path.size()) return path[i] == "." || node->empty();
  }
  return false;
}

// Whether the set owns anything at or under `prefix`.
bool SetHasUnder(const json::object& set, const Path& prefix) {
  const json::object* node = &set;
  for (const auto& e : prefix) {
    auto it = node->find(e);
    if (it == node->end() || !it->value().is_object()) return false;
    node = &it->value().get_object();
  }
  return true;
}

void SetInsert(json::object& set, const Path& path) {
  json::object* node = &set;
  for (const auto& e : path) {
    json::value& child = (*node)[e];
    if (!child.is_object()) child = json::object();
    node = &child.as_object();
  }
}

// Removes `path` and then every parent left empty.
bool SetRemoveRec(json::object& node, const Path& path, size_t i) {
  auto it = node.find(path[i]);
  if (it == node.end()) return false;
  if (i + 1 == path.size()) {
    if (path[i] == "." || !it->value().is_object() || it->value().get_object().empty()) {
      node.erase(it);
      return true;
    }
    return false;
  }
  if (!it->value().is_object()) return false;
  bool removed = SetRemoveRec(it->value().as_object(), path, i + 1);
  if (removed && it->value().get_object().empty()) node.erase(it);
  return removed;
}

void SetRemove(json::object& set, const Path& path) {
  if (!path.empty()) SetRemoveRec(set, path, 0);
}

// The value at a field path, or nullptr. For a path ending in ".", the list item itself.
const json::value* ValueAt(const json::value& obj, const Path& path, const SchemaNode* schema) {
  const json::value* cur = &obj;
  const SchemaNode* node = schema;
  for (const auto& e : path) {
    if (e == ".") return cur;
    if (e.rfind("f:", 0) == 0) {
      if (!cur->is_object()) return nullptr;
      std::string_view name = std::string_view(e).substr(2);
      auto it = cur->get_object().find(name);
      if (it == cur->get_object().end()) return nullptr;
      cur = &it->value();
      node = node->Field(name);
    } else if (e.rfind("k:", 0) == 0) {
      if (!cur->is_array()) return nullptr;
      boost::system::error_code ec;
      json::value keys = json::parse(std::string_view(e).substr(2), ec);
      if (ec || !keys.is_object()) return nullptr;
      const json::value* found = nullptr;
      for (const auto& item : cur->get_array()) {
        if (ItemMatches(item, keys.get_object(), node)) {
          found = &item;
          break;
        }
      }
      if (found == nullptr) return nullptr;
      cur = found;
      node = node->Elem();
    } else if (e.rfind("v:", 0) == 0) {
      if (!cur->is_array()) return nullptr;
      boost::system::error_code ec;
      json::value want = json::parse(std::string_view(e).substr(2), ec);
      if (ec) return nullptr;
      const json::value* found = nullptr;
      for (const auto& item : cur->get_array()) {
        if (JsonEqual(item, want)) {
          found = &item;
          break;
        }
      }
      if (found == nullptr) return nullptr;
      cur = found;
    } else {
      return nullptr;
    }
  }
  return cur;
}

// Removes the field (or list item, for "." and "v:" paths) at `path` from `obj`.
void DeleteAt(json::value& obj, const Path& path, const SchemaNode* schema) {
  if (path.empty()) return;
  json::value* cur = &obj;
  const SchemaNode* node = schema;
  size_t last = path.size() - 1;
  if (path[last] == ".") --last;  // delete the item the "." stands for
  for (size_t i = 0; i <= last; ++i) {
    const std::string& e = path[i];
    bool final = i == last;
    if (e.rfind("f:", 0) == 0) {
      if (!cur->is_object()) return;
      std::string_view name = std::string_view(e).substr(2);
      if (final) {
        cur->as_object().erase(name);
        return;
      }
      auto it = cur->as_object().find(name);
      if (it == cur->as_object().end()) return;
      cur = &it->value();
      node = node->Field(name);
    } else if (e.rfind("k:", 0) == 0 || e.rfind("v:", 0) == 0) {
      if (!cur->is_array()) return;
      boost::system::error_code ec;
      json::value want = json::parse(std::string_view(e).substr(2), ec);
      if (ec) return;
      json::array& arr = cur->as_array();
      bool keyed = e[0] == 'k';
      for (size_t j = 0; j < arr.size(); ++j) {
        bool match = keyed ? want.is_object() && ItemMatches(arr[j], want.get_object(), node) : JsonEqual(arr[j], want);
        if (!match) continue;
        if (final) {
          arr.erase(arr.begin() + static_cast<std::ptrdiff_t>(j));
          return;
        }
        cur = &arr[j];
        node = node->Elem();
        break;
      }
      if (!final && cur->is_array()) return;  // no match
    } else {
      return;
    }
  }
}

// kube's rendering of a field path in conflict messages: .spec.replicas,
// .spec.containers[name="app"].image, .metadata.finalizers[="x"].
std::string PathString(const Path& path) {
  std::string out;
  for (const auto& e : path) {
    if (e == ".") continue;
    if (e.rfind("f:", 0) == 0) {
      out += "." + e.substr(2);
    } else if (e.rfind("k:", 0) == 0) {
      boost::system::error_code ec;
      json::value keys = json::parse(std::string_view(e).substr(2), ec);
      out += "[";
      if (!ec && keys.is_object()) {
        bool first = true;
        for (const auto& kv : keys.get_object()) {
          if (!first) out += ",";
          first = false;
          out += std::string(kv.key()) + "=" + json::serialize(kv.value());
        }
      }
      out += "]";
    } else if (e.rfind("v:", 0) == 0) {
      out += "[=" + e.substr(2) + "]";
    }
  }
  return out;
}

// The SSA merge of an applied configuration into the live object.
json::value MergeApplied(const json::value* live, const json::value& applied, const SchemaNode* schema) {
  if (applied.is_object() && !schema->atomic_map) {
    json::object out = live != nullptr && live->is_object() ? live->get_object() : json::object();
    for (const auto& kv : applied.get_object()) {
      if (kv.value().is_null()) {
        out.erase(kv.key());
        continue;
      }
      auto it = out.find(kv.key());
      const json::value* live_child = it == out.end() ? nullptr : &it->value();
      out[kv.key()] = MergeApplied(live_child, kv.value(), schema->Field(kv.key()));
    }
    return out;
  }
  if (applied.is_array() && live != nullptr && live->is_array() && schema->list_type == ListType::kMap) {
    json::array out = live->get_array();
    const SchemaNode* elem = schema->Elem();
    for (const auto& item : applied.get_array()) {
      json::object keys;
      if (item.is_object()) {
        for (const auto& k : schema->keys) {
          json::value v = KeyValue(item.get_object(), k);
          if (!v.is_null()) keys[k.name] = std::move(v);
        }
      }
      bool merged = false;
      for (auto& existing : out) {
        if (ItemMatches(existing, keys, schema)) {
          existing = MergeApplied(&existing, item, elem);
          merged = true;
          break;
        }
      }
      if (!merged) out.push_back(MergeApplied(nullptr, item, elem));
    }
    return out;
  }
  if (applied.is_array() && live != nullptr && live->is_array() && schema->list_type == ListType::kSet) {
    json::array out = live->get_array();
    for (const auto& item : applied.get_array()) {
      bool present = false;
      for (const auto& e : out) present = present || JsonEqual(e, item);
      if (!present) out.push_back(item);
    }
    return out;
  }
  return applied;
}

struct ManagerEntry {
  json::object entry;  // the managedFields item
  json::object set;    // its fieldsV1
};

std::vector<ManagerEntry> ReadManagedFields(const json::value* obj) {
  std::vector<ManagerEntry> out;
  if (obj == nullptr || !obj->is_object()) return out;
  auto m = obj->get_object().find("metadata");
  if (m == obj->get_object().end() || !m->value().is_object()) return out;
  auto mf = m->value().get_object().find("managedFields");
  if (mf == m->value().get_object().end() || !mf->value().is_array()) return out;
  for (const auto& e : mf->value().get_array()) {
    if (!e.is_object()) continue;
    ManagerEntry me;
    me.entry = e.get_object();
    if (auto f = me.entry.find("fieldsV1"); f != me.entry.end() && f->value().is_object()) me.set = f->value().get_object();
    out.push_back(std::move(me));
  }
  return out;
}

std::string EntryString(const json::object& e, std::string_view key) {
  auto it = e.find(key);
  return it != e.end() && it->value().is_string() ? std::string(it->value().get_string()) : std::string();
}

json::array WriteManagedFields(std::vector<ManagerEntry>& entries) {
  json::array out;
  for (auto& me : entries) {
    if (me.set.empty()) continue;
    me.entry["fieldsType"] = "FieldsV1";
    me.entry["fieldsV1"] = me.set;
    // kube's key order: manager, operation, apiVersion, time, fieldsType, fieldsV1, subresource.
    json::object ordered;
    for (const char* k : {"manager", "operation", "apiVersion", "time", "fieldsType", "fieldsV1", "subresource"}) {
      if (auto it = me.entry.find(k); it != me.entry.end()) ordered[k] = it->value();
    }
    out.push_back(std::move(ordered));
  }
  return out;
}

json::object& MetaOf(json::value& obj) {
  json::value& m = obj.as_object()["metadata"];
  if (!m.is_object()) m = json::object();
  return m.as_object();
}

void SetManagedFields(json::value& obj, std::vector<ManagerEntry>& entries) {
  json::array mf = WriteManagedFields(entries);
  json::object& meta = MetaOf(obj);
  if (mf.empty()) {
    meta.erase("managedFields");
  } else {
    meta["managedFields"] = std::move(mf);
  }
}

// Drops from every entry what no longer exists in `obj`.
void PruneToExisting(std::vector<ManagerEntry>& entries, const json::value& obj, const SchemaNode* root) {
  for (auto& me : entries) {
    for (const Path& p : Leaves(me.set)) {
      if (ValueAt(obj, p, root) == nullptr) SetRemove(me.set, p);
    }
  }
}

}  // namespace

StatusOr<boost::json::value> ServerSideApply(const boost::json::value* live, const boost::json::value& applied,
                                             std::string_view group, std::string_view kind,
                                             const ApplyOptions& options) {
  if (options.field_manager.empty()) {
    return absl::InvalidArgumentError("PATCH, application/apply-patch+yaml requires fieldManager to be set");
  }
  if (!applied.is_object()) {
    return absl::InvalidArgumentError("error decoding patch: apply patch must be an object");
  }
  const json::object& ao = applied.get_object();
  for (const char* required : {"apiVersion", "kind"}) {
    auto it = ao.find(required);
    if (it == ao.end() || !it->value().is_string() || it->value().get_string().empty()) {
      return absl::InvalidArgumentError(std::string(required) + " must be set in an apply patch");
    }
  }
  if (auto m = ao.find("metadata"); m != ao.end() && m->value().is_object()) {
    if (m->value().get_object().contains("managedFields")) {
      return absl::InvalidArgumentError("metadata.managedFields must be nil in an apply patch");
    }
  }
  const SchemaNode* root = lifeboat::jsonpatch::RootSchema(group, kind);
  json::object applied_set = FieldSetOf(applied, root);
  std::vector<Path> applied_leaves = Leaves(applied_set);

  std::vector<ManagerEntry> entries = ReadManagedFields(live);
  ManagerEntry* self = nullptr;
  for (auto& me : entries) {
    if (EntryString(me.entry, "manager") == options.field_manager && EntryString(me.entry, "operation") == "Apply" &&
        !me.entry.contains("subresource")) {
      self = &me;
    }
  }
  json::object previous = self != nullptr ? self->set : json::object();

  json::value base = live != nullptr ? *live : json::value(json::object());
  if (live != nullptr) {
    // Conflicts: fields another manager owns whose value this apply would change.
    std::map<std::string, std::vector<std::string>> conflicts;  // "manager\0apiVersion" -> paths
    std::vector<std::pair<ManagerEntry*, Path>> to_take;
    size_t conflict_count = 0;
    for (auto& me : entries) {
      if (&me == self) continue;
      for (const Path& p : applied_leaves) {
        if (p.back() == "." || !SetContains(me.set, p)) continue;
        const json::value* have = ValueAt(*live, p, root);
        const json::value* want = ValueAt(applied, p, root);
        bool same = (have == nullptr && want == nullptr) ||
                    (have != nullptr && want != nullptr && JsonEqual(*have, *want));
        if (same) continue;
        to_take.emplace_back(&me, p);
        conflicts[EntryString(me.entry, "manager") + '\0' + EntryString(me.entry, "apiVersion")].push_back(
            PathString(p));
        ++conflict_count;
      }
    }
    if (conflict_count > 0 && !options.force) {
      std::string msg = "Apply failed with " + std::to_string(conflict_count) +
                        (conflict_count == 1 ? " conflict: " : " conflicts: ");
      bool first = true;
      for (const auto& [who, paths] : conflicts) {
        std::string manager = who.substr(0, who.find('\0'));
        std::string api_version = who.substr(who.find('\0') + 1);
        if (!first) msg += "\n";
        first = false;
        if (paths.size() == 1 && conflict_count == 1) {
          msg += "conflict with \"" + manager + "\" using " + api_version + ": " + paths[0];
        } else {
          msg += "conflicts with \"" + manager + "\" using " + api_version + ":";
          for (const auto& p : paths) msg += "\n- " + p;
        }
      }
      return absl::AbortedError(msg);
    }
    for (auto& [me, p] : to_take) SetRemove(me->set, p);

    // Fields this manager applied before and no longer applies go, unless someone else owns them.
    std::vector<Path> removed;
    for (const Path& p : Leaves(previous)) {
      if (!SetContains(applied_set, p)) removed.push_back(p);
    }
    // Deepest first, so removing an item does not hide its fields' removal decisions.
    std::sort(removed.begin(), removed.end(), [](const Path& a, const Path& b) { return a.size() > b.size(); });
    for (const Path& p : removed) {
      bool owned_elsewhere = false;
      for (const auto& me : entries) {
        if (&me == self) continue;
        if (p.back() == ".") {
          Path item(p.begin(), p.end() - 1);
          owned_elsewhere = owned_elsewhere || SetHasUnder(me.set, item);
        } else {
          owned_elsewhere = owned_elsewhere || SetContains(me.set, p);
        }
      }
      if (p.back() == "." && SetHasUnder(applied_set, Path(p.begin(), p.end() - 1))) owned_elsewhere = true;
      if (!owned_elsewhere) DeleteAt(base, p, root);
    }
  }

  json::value merged = MergeApplied(&base, applied, root);
  if (!merged.is_object()) return absl::InvalidArgumentError("apply patch must be an object");
  if (self == nullptr) {
    entries.push_back(ManagerEntry{});
    self = &entries.back();
  }
  self->entry["manager"] = json::string(options.field_manager);
  self->entry["operation"] = "Apply";
  self->entry["apiVersion"] = json::string(options.api_version);
  self->entry["time"] = json::string(options.time);
  self->set = applied_set;
  PruneToExisting(entries, merged, root);
  SetManagedFields(merged, entries);
  return merged;
}

void RecordUpdateManagedFields(const boost::json::value* old, boost::json::value& updated, std::string_view manager,
                               std::string_view api_version, std::string_view time) {
  if (!updated.is_object()) return;
  json::object& meta = MetaOf(updated);
  std::string group, kind;
  if (auto it = updated.get_object().find("kind"); it != updated.get_object().end() && it->value().is_string()) {
    kind = std::string(it->value().get_string());
  }
  if (auto it = updated.get_object().find("apiVersion");
      it != updated.get_object().end() && it->value().is_string()) {
    std::string_view av = it->value().get_string();
    size_t slash = av.find('/');
    if (slash != std::string_view::npos) group = std::string(av.substr(0, slash));
  }
  const SchemaNode* root = lifeboat::jsonpatch::RootSchema(group, kind);

  std::vector<ManagerEntry> entries;
  if (auto mf = meta.find("managedFields"); mf != meta.end()) {
    if (mf->value().is_array() && mf->value().get_array().empty()) {
      meta.erase(mf);  // the writer reset them
      return;
    }
    const json::value* old_mf = nullptr;
    if (old != nullptr && old->is_object()) {
      auto om = old->get_object().find("metadata");
      if (om != old->get_object().end() && om->value().is_object()) {
        auto it = om->value().get_object().find("managedFields");
        if (it != om->value().get_object().end()) old_mf = &it->value();
      }
    }
    if (old_mf == nullptr || !JsonEqual(*old_mf, mf->value())) {
      // The writer set managedFields explicitly (or server-side apply computed them): keep them.
      return;
    }
    entries = ReadManagedFields(&updated);
  } else {
    entries = ReadManagedFields(old);
  }

  json::object changed;
  json::object all = FieldSetOf(updated, root);
  for (const Path& p : Leaves(all)) {
    const json::value* now = ValueAt(updated, p, root);
    const json::value* before = old != nullptr ? ValueAt(*old, p, root) : nullptr;
    if (p.back() == ".") {
      if (before == nullptr) SetInsert(changed, p);
      continue;
    }
    if (before == nullptr || now == nullptr || !JsonEqual(*before, *now)) SetInsert(changed, p);
  }
  std::vector<Path> changed_leaves = Leaves(changed);
  ManagerEntry* self = nullptr;
  for (auto& me : entries) {
    if (EntryString(me.entry, "manager") == manager && EntryString(me.entry, "operation") == "Update" &&
        EntryString(me.entry, "apiVersion") == api_version && !me.entry.contains("subresource")) {
      self = &me;
    }
  }
  if (!changed_leaves.empty()) {
    for (auto& me : entries) {
      if (&me == self) continue;
      for (const Path& p : changed_leaves) {
        if (p.back() != ".") SetRemove(me.set, p);
      }
    }
    if (self == nullptr) {
      entries.push_back(ManagerEntry{});
      self = &entries.back();
      self->entry["manager"] = json::string(manager);
      self->entry["operation"] = "Update";
      self->entry["apiVersion"] = json::string(api_version);
    }
    for (const Path& p : changed_leaves) SetInsert(self->set, p);
    self->entry["time"] = json::string(time);
  }
  PruneToExisting(entries, updated, root);
  SetManagedFields(updated, entries);
}

}  // namespace kubesim
