#include "src/backup/actions/actions.h"

namespace lifeboat::backup {
namespace {

namespace json = boost::json;

json::object* ObjectAt(json::object* o, std::string_view key) {
  if (o == nullptr) return nullptr;
  json::value* v = o->if_contains(key);
  return v != nullptr ? v->if_object() : nullptr;
}

std::string_view StringAt(const json::object* o, std::string_view key) {
  if (o == nullptr) return {};
  const json::value* v = o->if_contains(key);
  if (v == nullptr || !v->is_string()) return {};
  return std::string_view(v->get_string().data(), v->get_string().size());
}

// Removes the keys `drop` selects; an object left empty is removed from `parent` (Go's
// omitempty on the maps Velero round-trips the claim through).
template <typename Pred>
void EraseKeys(json::object& parent, std::string_view key, Pred drop) {
  json::object* m = ObjectAt(&parent, key);
  if (m == nullptr) return;
  for (auto it = m->begin(); it != m->end();) {
    if (drop(std::string_view(it->key()), it->value())) {
      it = m->erase(it);
    } else {
      ++it;
    }
  }
  if (m->empty()) parent.erase(key);
}

}  // namespace

plugin::ResourceSelector PvcAction::AppliesTo() const {
  plugin::ResourceSelector s;
  s.included_resources = {"persistentvolumeclaims"};
  return s;
}

StatusOr<plugin::ExecuteOutput> PvcAction::Execute(json::value item,
                                                   const plugin::BackupContext& backup) {
  json::object* pvc = item.if_object();
  if (pvc == nullptr) return absl::InvalidArgumentError("velero.io/pv: the item is not an object");
  plugin::ExecuteOutput out;
  json::object* spec = ObjectAt(pvc, "spec");
  const std::string volume(StringAt(spec, "volumeName"));
  if (StringAt(ObjectAt(pvc, "status"), "phase") != "Bound" || volume.empty()) {
    out.item = std::move(item);
    return out;
  }

  // A claim restored from a CSI snapshot names it; the restored claim must not.
  spec->erase("dataSource");
  spec->erase("dataSourceRef");
  // storageClassName "" asks for a pre-provisioned volume chosen by the selector: only then is
  // the selector kept; otherwise the restore provisions dynamically.
  const json::value* sc = spec->if_contains("storageClassName");
  const bool explicit_no_class = sc != nullptr && sc->is_string() && sc->get_string().empty();
  if (!explicit_no_class) {
    spec->erase("selector");
  } else if (json::object* selector = ObjectAt(spec, "selector")) {
    // Keys a Velero restore added to bind the claim to its restored PV.
    EraseKeys(*selector, "matchLabels",
              [](std::string_view k, const json::value&) { return k.starts_with("velero.io/"); });
  }
  if (json::object* metadata = ObjectAt(pvc, "metadata")) {
    const std::string& this_backup = backup.backup_name;
    EraseKeys(*metadata, "labels", [&](std::string_view k, const json::value& v) {
      if (k == "velero.io/restore-name" || k == "velero.io/volume-snapshot-name") return true;
      return k == "velero.io/backup-name" && !(v.is_string() && v.get_string() == this_backup);
    });
  }
  out.additional_items.push_back({"", "persistentvolumes", "", volume});
  out.item = std::move(item);
  return out;
}

}  // namespace lifeboat::backup
