#include "src/restore/object_util.h"

#include <openssl/evp.h>

#include <array>
#include <cstdio>

namespace lifeboat::restore {
namespace json = boost::json;

json::value ResetMetadataAndStatus(json::value& item) {
  json::value status;
  if (!item.is_object()) return status;
  json::object& obj = item.as_object();
  if (json::value* md = obj.if_contains("metadata"); md != nullptr && md->is_object()) {
    for (std::string_view k : {"generateName", "selfLink", "uid", "resourceVersion", "generation",
                               "creationTimestamp", "deletionTimestamp",
                               "deletionGracePeriodSeconds", "ownerReferences"}) {
      md->as_object().erase(k);
    }
  }
  if (json::value* s = obj.if_contains("status")) {
    status = std::move(*s);
    obj.erase("status");
  }
  return status;
}

std::string LabelSafe(std::string_view value) {
  if (value.size() <= 63) return std::string(value);
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int len = 0;
  EVP_Digest(value.data(), value.size(), md.data(), &len, EVP_sha256(), nullptr);
  char hex[7];
  std::snprintf(hex, sizeof(hex), "%02x%02x%02x", md[0], md[1], md[2]);
  return std::string(value.substr(0, 57)) + hex;
}

void AddRestoreLabels(json::value& item, std::string_view backup, std::string_view restore) {
  if (!item.is_object()) return;
  json::value& md = item.as_object()["metadata"];
  if (!md.is_object()) md = json::object();
  json::value& labels = md.as_object()["labels"];
  if (!labels.is_object()) labels = json::object();
  labels.as_object()["velero.io/backup-name"] = json::string(LabelSafe(backup));
  labels.as_object()["velero.io/restore-name"] = json::string(LabelSafe(restore));
}

json::object CreateMergePatch(const json::value& from, const json::value& to) {
  json::object patch;
  if (!from.is_object() || !to.is_object()) return patch;
  const json::object& a = from.as_object();
  const json::object& b = to.as_object();
  for (const auto& [key, value] : a) {
    if (!b.contains(key)) patch[key] = nullptr;
  }
  for (const auto& [key, value] : b) {
    const json::value* old = a.if_contains(key);
    if (old != nullptr && *old == value) continue;
    if (old != nullptr && old->is_object() && value.is_object()) {
      json::object sub = CreateMergePatch(*old, value);
      if (!sub.empty()) patch[key] = std::move(sub);
    } else {
      patch[key] = value;
    }
  }
  return patch;
}

json::value MergeServiceAccounts(const json::value& live, const json::value& backed_up) {
  json::value out = live;
  if (!out.is_object() || !backed_up.is_object()) return out;
  for (std::string_view list : {"secrets", "imagePullSecrets"}) {
    const json::value* from = backed_up.as_object().if_contains(list);
    if (from == nullptr || !from->is_array()) continue;
    json::value& to = out.as_object()[list];
    if (!to.is_array()) to = json::array();
    for (const json::value& ref : from->as_array()) {
      const json::value* name = ref.is_object() ? ref.as_object().if_contains("name") : nullptr;
      bool present = false;
      for (const json::value& have : to.as_array()) {
        const json::value* n = have.is_object() ? have.as_object().if_contains("name") : nullptr;
        if (n != nullptr && name != nullptr && *n == *name) present = true;
      }
      if (!present) to.as_array().push_back(ref);
    }
  }
  const json::value* md = backed_up.as_object().if_contains("metadata");
  for (std::string_view map : {"labels", "annotations"}) {
    const json::value* from =
        md != nullptr && md->is_object() ? md->as_object().if_contains(map) : nullptr;
    if (from == nullptr || !from->is_object()) continue;
    json::value& out_md = out.as_object()["metadata"];
    if (!out_md.is_object()) out_md = json::object();
    json::value& to = out_md.as_object()[map];
    if (!to.is_object()) to = json::object();
    for (const auto& [k, v] : from->as_object()) {
      if (!to.as_object().contains(k)) to.as_object()[k] = v;
    }
  }
  return out;
}

void SetNamespace(json::value& item, std::string_view ns) {
  if (!item.is_object()) return;
  json::value& md = item.as_object()["metadata"];
  if (!md.is_object()) md = json::object();
  if (ns.empty()) {
    md.as_object().erase("namespace");
  } else {
    md.as_object()["namespace"] = json::string(ns);
  }
}

}  // namespace lifeboat::restore
