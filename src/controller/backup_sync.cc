#include "src/controller/backup_sync.h"

#include <openssl/evp.h>

#include <array>
#include <boost/json.hpp>
#include <cstdio>
#include <optional>
#include <utility>
#include <vector>

#include "lifeboat/api/backup.h"
#include "lifeboat/api/time.h"
#include "lifeboat/common/json.h"
#include "lifeboat/common/log.h"
#include "lifeboat/controller/kinds.h"

namespace lifeboat::controller {

namespace json = boost::json;
using std::chrono::milliseconds;

namespace {

bool IsUnfinishedAsync(api::BackupPhase p) {
  using P = api::BackupPhase;
  return p == P::kWaitingForPluginOperations ||
         p == P::kWaitingForPluginOperationsPartiallyFailed || p == P::kFinalizing ||
         p == P::kFinalizingPartiallyFailed;
}

// What the source cluster set and this one must set anew.
void DropServerFields(json::object& meta) {
  for (const char* key :
       {"uid", "resourceVersion", "creationTimestamp", "generation", "managedFields", "selfLink",
        "deletionTimestamp", "deletionGracePeriodSeconds"}) {
    meta.erase(key);
  }
}

}  // namespace

std::string LabelValue(std::string_view value) {
  if (value.size() <= 63) return std::string(value);
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int len = 0;
  EVP_Digest(value.data(), value.size(), md.data(), &len, EVP_sha256(), nullptr);
  char hex[7];
  std::snprintf(hex, sizeof(hex), "%02x%02x%02x", md[0], md[1], md[2]);
  return std::string(value.substr(0, 57)) + hex;
}

BackupSyncReconciler::BackupSyncReconciler(const ServerContext& ctx) : ctx_(ctx) {}

milliseconds BackupSyncReconciler::Period(const api::BackupStorageLocation& bsl) const {
  milliseconds period = ctx_.options.backup_sync_period;
  if (bsl.spec.backup_sync_period) {
    const auto own = std::chrono::duration_cast<milliseconds>(*bsl.spec.backup_sync_period);
    if (own == milliseconds::zero()) return milliseconds::zero();  // Velero: 0 disables
    if (own > milliseconds::zero()) period = own;                  // negative: the default
  }
  return period > milliseconds::zero() ? period : milliseconds::zero();
}

StatusOr<Result> BackupSyncReconciler::Reconcile(const std::string& name,
                                                 const CancellationToken& cancel) {
  LIFEBOAT_ASSIGN_OR_RETURN(auto found, GetIfExists(*ctx_.client, kBackupStorageLocations,
                                                    ctx_.options.ns, name, cancel));
  if (!found) return Result{};
  auto bsl = api::BackupStorageLocationFromJson(*found);
  if (!bsl.ok()) {
    LB_LOG_ERROR("backup sync: cannot read backup storage location {}: {}", name,
                 bsl.status().ToString());
    return Result{};
  }
  const milliseconds period = Period(*bsl);
  if (period == milliseconds::zero()) {
    LB_LOG_DEBUG("backup sync: disabled for backup storage location {}", name);
    return Result{};
  }
  if (bsl->status.phase != api::BackupStorageLocationPhase::kAvailable) {
    // Its next validation changes the object, which queues it again; the requeue is a fallback.
    LB_LOG_DEBUG("backup sync: backup storage location {} is not Available, not syncing", name);
    return Result{period};
  }
  const auto now = ctx_.clock->Now();
  if (bsl->status.last_synced_time) {
    if (auto last = api::ParseRfc3339(*bsl->status.last_synced_time); last.ok()) {
      if (now < *last + period) {
        auto left = std::chrono::ceil<milliseconds>(*last + period - now);
        return Result{std::max(left, milliseconds(1))};
      }
    }
  }
  LIFEBOAT_ASSIGN_OR_RETURN(auto store, ctx_.stores->ForLocation(*bsl, cancel));
  LIFEBOAT_RETURN_IF_ERROR(Sync(*bsl, *store, cancel));
  if (cancel.IsCancelled()) return cancel.status();
  json::object status{{"lastSyncedTime", api::FormatRfc3339(ctx_.clock->Now())}};
  LIFEBOAT_RETURN_IF_ERROR(
      PatchStatus(*ctx_.client, kBackupStorageLocations, ctx_.options.ns, name, status, "", cancel)
          .status());
  return Result{period};
}

Status BackupSyncReconciler::Sync(const api::BackupStorageLocation& bsl,
                                  storage::BackupStore& store, const CancellationToken& cancel) {
  const std::string& location = bsl.metadata.name;
  auto listed = store.ListBackups();
  if (!listed.ok()) {
    return Annotate(listed.status(), "backup sync: listing the backups of location " + location);
  }
  const std::set<std::string> in_bucket(listed->begin(), listed->end());

  kube::ListOptions options;
  options.cancel = cancel;
  LIFEBOAT_ASSIGN_OR_RETURN(auto page, ctx_.client->List(kBackups, ctx_.options.ns, options));
  std::set<std::string> in_cluster;
  for (const auto& item : page.items) {
    if (auto n = JsonString(item, {"metadata", "name"})) in_cluster.insert(*n);
  }
  int missing = 0;
  for (const auto& backup : in_bucket) {
    if (cancel.IsCancelled()) return cancel.status();
    if (in_cluster.contains(backup)) continue;
    ++missing;
    SyncOne(bsl, store, backup, cancel);
  }
  if (missing > 0) {
    LB_LOG_INFO("backup sync: location {} holds {} backup(s) the cluster does not", location,
                missing);
  }
  DeleteOrphans(bsl, store, in_bucket, cancel);
  return absl::OkStatus();
}

void BackupSyncReconciler::SyncOne(const api::BackupStorageLocation& bsl,
                                   storage::BackupStore& store, const std::string& name,
                                   const CancellationToken& cancel) {
  const std::string& location = bsl.metadata.name;
  auto text = store.GetBackupMetadata(name);
  if (!text.ok()) {
    LB_LOG_ERROR("backup sync: location {}: reading backup {}: {}", location, name,
                 text.status().ToString());
    return;
  }
  auto parsed = ParseJson(*text);
  StatusOr<api::Backup> decoded =
      parsed.ok() ? api::BackupFromJson(*parsed) : StatusOr<api::Backup>(parsed.status());
  if (!decoded.ok()) {
    LB_LOG_WARN(
        "backup sync: location {}: skipping backup {}: its velero-backup.json cannot be "
        "decoded: {}",
        location, name, decoded.status().ToString());
    return;
  }
  api::Backup& backup = *decoded;
  if (backup.metadata.name.empty()) backup.metadata.name = name;
  if (backup.metadata.name != name) {
    LB_LOG_WARN(
        "backup sync: location {}: skipping backup {}: its velero-backup.json names "
        "backup {}",
        location, name, backup.metadata.name);
    return;
  }
  if (IsUnfinishedAsync(backup.status.phase)) {
    std::optional<api::TimePoint> expiration;
    if (backup.status.expiration) {
      if (auto t = api::ParseRfc3339(*backup.status.expiration); t.ok()) expiration = *t;
    }
    if (!expiration || *expiration > ctx_.clock->Now()) {
      LB_LOG_DEBUG("backup sync: skipping unfinished backup {} ({})", name,
                   api::ToString(backup.status.phase));
      return;
    }
    // Past its expiration: synced so that garbage collection can delete it.
    backup.status.phase = api::BackupPhase::kPartiallyFailed;
  }
  backup.metadata.namespace_ = ctx_.options.ns;
  backup.metadata.uid.clear();
  backup.metadata.resource_version.clear();
  backup.metadata.creation_timestamp.reset();
  backup.metadata.generation = 0;
  // The location may have another name here than in the cluster that made the backup.
  backup.spec.storage_location = location;
  backup.metadata.labels[std::string(kStorageLocationLabel)] = LabelValue(location);

  json::value obj = api::ToJson(backup);
  json::object& meta = obj.as_object()["metadata"].as_object();
  DropServerFields(meta);
  if (auto* refs = meta.if_contains("ownerReferences"); refs && refs->is_array()) {
    json::array kept;
    for (const auto& ref : refs->as_array()) {
      if (JsonString(ref, {"kind"}).value_or("") == "Schedule") {
        const std::string schedule = JsonString(ref, {"name"}).value_or("");
        auto got = GetIfExists(*ctx_.client, kSchedules, ctx_.options.ns, schedule, cancel);
        if (got.ok() &&
            (!*got || JsonString(**got, {"metadata", "uid"}) != JsonString(ref, {"uid"}))) {
          LB_LOG_WARN(
              "backup sync: backup {}: dropping the owner reference to schedule {}, "
              "which this cluster does not have",
              name, schedule);
          continue;
        }
      }
      kept.push_back(ref);
    }
    if (kept.empty()) {
      meta.erase("ownerReferences");
    } else {
      meta["ownerReferences"] = std::move(kept);
    }
  }
  kube::WriteOptions options;
  options.cancel = cancel;
  auto created = ctx_.client->Create(kBackups, ctx_.options.ns, obj, options);
  if (created.ok()) {
    LB_LOG_INFO("backup sync: synced backup {} from location {} into the cluster", name, location);
  } else if (absl::IsAlreadyExists(created.status())) {
    LB_LOG_DEBUG("backup sync: backup {} already exists in the cluster", name);
  } else {
    LB_LOG_ERROR("backup sync: location {}: creating backup {}: {}", location, name,
                 created.status().ToString());
  }
}

void BackupSyncReconciler::DeleteOrphans(const api::BackupStorageLocation& bsl,
                                         storage::BackupStore& store,
                                         const std::set<std::string>& in_bucket,
                                         const CancellationToken& cancel) {
  const std::string& location = bsl.metadata.name;
  kube::ListOptions options;
  options.cancel = cancel;
  options.label_selector = std::string(kStorageLocationLabel) + "=" + LabelValue(location);
  auto page = ctx_.client->List(kBackups, ctx_.options.ns, options);
  if (!page.ok()) {
    LB_LOG_ERROR("backup sync: location {}: listing its backups in the cluster: {}", location,
                 page.status().ToString());
    return;
  }
  // Candidates: finished backups (one still running has not uploaded its metadata yet) that the
  // bucket listing made before the cluster listing did not show.
  std::vector<const json::value*> candidates;
  for (const auto& item : page->items) {
    const std::string name = JsonString(item, {"metadata", "name"}).value_or("");
    const std::string phase = JsonString(item, {"status", "phase"}).value_or("");
    if (name.empty() || in_bucket.contains(name)) continue;
    if (phase != api::ToString(api::BackupPhase::kCompleted) &&
        phase != api::ToString(api::BackupPhase::kPartiallyFailed)) {
      continue;
    }
    candidates.push_back(&item);
  }
  if (candidates.empty()) return;
  // A backup can finish between the first bucket listing and the cluster listing: it was not
  // in the bucket then, and is Completed now. Its velero-backup.json was uploaded before it was
  // marked Completed, so a bucket listing made after the cluster listing shows it. Only
  // backups missing from that second listing are really gone.
  auto relisted = store.ListBackups();
  if (!relisted.ok()) {
    LB_LOG_ERROR("backup sync: location {}: listing its backups again: {}", location,
                 relisted.status().ToString());
    return;
  }
  const std::set<std::string> now_in_bucket(relisted->begin(), relisted->end());
  for (const json::value* item_ptr : candidates) {
    const json::value& item = *item_ptr;
    const std::string name = JsonString(item, {"metadata", "name"}).value_or("");
    if (now_in_bucket.contains(name)) continue;
    kube::DeleteOptions del;
    del.cancel = cancel;
    // Only the object as listed: one changed since (re-created, say) is left alone.
    if (auto uid = JsonString(item, {"metadata", "uid"})) del.precondition_uid = *uid;
    auto deleted = ctx_.client->Delete(kBackups, ctx_.options.ns, name, del);
    if (deleted.ok() || absl::IsNotFound(deleted.status())) {
      LB_LOG_INFO("backup sync: deleted backup {}: location {} no longer holds it", name, location);
    } else if (absl::IsAborted(deleted.status())) {
      LB_LOG_INFO("backup sync: backup {} changed while being checked; left alone", name);
    } else {
      LB_LOG_ERROR("backup sync: location {}: deleting orphaned backup {}: {}", location, name,
                   deleted.status().ToString());
    }
  }
}

}  // namespace lifeboat::controller
