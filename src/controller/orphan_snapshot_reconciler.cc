#include "src/controller/orphan_snapshot_reconciler.h"

#include <algorithm>
#include <memory>
#include <utility>

#include "lifeboat/api/volume_snapshot_location.h"
#include "lifeboat/common/json.h"
#include "lifeboat/common/log.h"
#include "lifeboat/controller/kinds.h"
#include "lifeboat/controller/snapshot_locations.h"
#include "lifeboat/kube/object.h"
#include "lifeboat/plugin/volume_snapshotter.h"
#include "src/controller/backup_reconciler.h"
#include "src/controller/delete_backup_reconciler.h"

namespace lifeboat::controller {

namespace json = boost::json;

namespace {

constexpr char kCsi[] = "csi";
constexpr char kNative[] = "native";

// The tag key as Velero gives it, and as providers that cannot store "/" in a tag key (Azure)
// keep it.
std::string BackupTag(const std::map<std::string, std::string>& tags) {
  for (const char* key : {"velero.io/backup", "velero.io-backup"}) {
    if (auto it = tags.find(key); it != tags.end()) return it->second;
  }
  return "";
}

struct NativeLocation {
  std::string name;
  std::unique_ptr<plugin::VolumeSnapshotter> snapshotter;
  plugin::SnapshotLister* lister = nullptr;  // into snapshotter
};

}  // namespace

OrphanSnapshotReconciler::OrphanSnapshotReconciler(const ServerContext& ctx,
                                                   OrphanSnapshotOptions options)
    : ctx_(ctx), options_(options) {}

StatusOr<Result> OrphanSnapshotReconciler::Reconcile(const std::string& name,
                                                     const CancellationToken& cancel) {
  if (name != kKey) return Result{};
  LIFEBOAT_RETURN_IF_ERROR(Check(cancel).status());
  return Result{options_.period};
}

StatusOr<std::vector<OrphanedSnapshot>> OrphanSnapshotReconciler::Check(
    const CancellationToken& cancel) {
  std::lock_guard<std::mutex> lock(mu_);
  const std::string& ns = ctx_.options.ns;

  // 1. CSI candidates: contents labelled with a backup name.
  std::vector<OrphanedSnapshot> csi;
  {
    kube::ListAllOptions lo;
    lo.list.label_selector = std::string(kBackupNameLabel);
    lo.list.cancel = cancel;
    auto listed =
        kube::ListAll(*ctx_.client, kCsiSnapshotContents, "", lo, [&](json::value&& item) {
          // Being deleted (its driver is deleting the snapshot): not an orphan.
          if (JsonFind(item, {"metadata", "deletionTimestamp"}) != nullptr) return absl::OkStatus();
          OrphanedSnapshot o;
          o.kind = kCsi;
          o.id = std::string(kube::ObjectName(item));
          o.location = JsonString(item, {"spec", "driver"}).value_or("");
          o.handle = JsonString(item, {"status", "snapshotHandle"}).value_or("");
          const auto labels = kube::ObjectLabels(item);
          auto it = labels.find(std::string(kBackupNameLabel));
          o.backup = it == labels.end() ? "" : it->second;
          csi.push_back(std::move(o));
          return absl::OkStatus();
        });
    // NotFound: snapshot.storage.k8s.io is not served, so there are no CSI snapshots.
    if (!listed.ok() && !absl::IsNotFound(listed.status())) {
      return absl::Status(listed.status().code(), "listing VolumeSnapshotContents: " +
                                                      std::string(listed.status().message()));
    }
  }

  // 2. Native candidates, per location that can list its snapshots.
  std::vector<NativeLocation> locations;
  std::vector<OrphanedSnapshot> native;
  std::set<std::string> vsl_names;
  {
    kube::ListAllOptions lo;
    lo.list.cancel = cancel;
    std::vector<api::VolumeSnapshotLocation> vsls;
    auto listed =
        kube::ListAll(*ctx_.client, kVolumeSnapshotLocations, ns, lo, [&](json::value&& item) {
          auto vsl = api::VolumeSnapshotLocationFromJson(item);
          vsl_names.emplace(kube::ObjectName(item));
          if (vsl.ok()) vsls.push_back(std::move(*vsl));
          return absl::OkStatus();
        });
    if (!listed.ok()) return listed.status();
    for (auto& vsl : vsls) {
      if (!ctx_.snapshotters) break;
      const std::string& name = vsl.metadata.name;
      auto resolved = ResolveSnapshotLocation(ctx_, vsl, cancel);  // with its credential
      if (!resolved.ok()) {
        LB_LOG_WARN("orphan check: volume snapshot location {} skipped: {}", name,
                    resolved.status().ToString());
        continue;
      }
      auto made = ctx_.snapshotters(resolved->provider, resolved->config);
      if (!made.ok() || *made == nullptr) {
        if (!absl::IsNotFound(made.status())) {
          LB_LOG_WARN("orphan check: volume snapshot location {} (provider {}) skipped: {}", name,
                      vsl.spec.provider, made.ok() ? "no snapshotter" : made.status().ToString());
        }
        continue;
      }
      auto* lister = dynamic_cast<plugin::SnapshotLister*>(made->get());
      if (lister == nullptr) continue;  // this provider cannot enumerate its snapshots
      auto snaps = lister->ListSnapshots({});
      if (!snaps.ok()) {
        LB_LOG_WARN("orphan check: cannot list the snapshots of volume snapshot location {}: {}",
                    name, snaps.status().ToString());
        continue;
      }
      for (const auto& snap : *snaps) {
        const std::string backup = BackupTag(snap.tags);
        if (backup.empty()) continue;  // not Velero's
        native.push_back({kNative, snap.snapshot_id, name, backup, ""});
      }
      locations.push_back({name, std::move(*made), lister});
    }
  }

  // Nothing claims a backup: nothing to check against the backups (so an unreachable bucket
  // does not fail a check that has nothing to report).
  if (!csi.empty() || !native.empty()) {
    // 3. The backups that exist: objects in the cluster, then every bucket.
    std::set<std::string> backups;
    auto add_backup = [&](const std::string& b) {
      backups.insert(b);
      backups.insert(LabelSafe(b));
    };
    {
      kube::ListAllOptions lo;
      lo.list.cancel = cancel;
      auto listed = kube::ListAll(*ctx_.client, kBackups, ns, lo, [&](json::value&& item) {
        add_backup(std::string(kube::ObjectName(item)));
        return absl::OkStatus();
      });
      if (!listed.ok()) return listed.status();
    }
    std::vector<std::string> bsls;
    {
      kube::ListAllOptions lo;
      lo.list.cancel = cancel;
      auto listed =
          kube::ListAll(*ctx_.client, kBackupStorageLocations, ns, lo, [&](json::value&& item) {
            bsls.emplace_back(kube::ObjectName(item));
            return absl::OkStatus();
          });
      if (!listed.ok()) return listed.status();
    }
    std::vector<std::pair<std::shared_ptr<storage::BackupStore>, std::string>> in_buckets;
    for (const auto& bsl : bsls) {
      auto loc = ctx_.stores->Get(bsl, cancel);
      if (!loc.ok()) {
        return absl::Status(loc.status().code(),
                            "orphan check: backup storage location " + bsl +
                                " cannot be read, so its backups are unknown: " +
                                std::string(loc.status().message()));
      }
      auto names = loc->store->ListBackups();
      if (!names.ok()) {
        return absl::Status(names.status().code(),
                            "orphan check: cannot list the backups of backup storage location " +
                                bsl + ": " + std::string(names.status().message()));
      }
      for (const auto& n : *names) {
        add_backup(n);
        in_buckets.emplace_back(loc->store, n);
      }
    }

    // 4. Candidates whose backup is gone; then what existing backups record.
    auto claimed = [&](const OrphanedSnapshot& o) { return backups.count(o.backup) > 0; };
    std::erase_if(csi, claimed);
    std::erase_if(native, claimed);
    if (!csi.empty() || !native.empty()) {
      std::set<std::string> vscs, ids;
      for (const auto& [store, b] : in_buckets) {
        if (cancel.IsCancelled()) return absl::AbortedError("cancelled");
        auto rec = ReadRecordedSnapshots(*store, b);
        if (!rec.ok()) {
          LB_LOG_WARN("orphan check: {}", rec.status().ToString());
          continue;
        }
        for (const auto& c : rec->csi) vscs.insert(c.vsc_name);
        for (const auto& n : rec->native) ids.insert(n.snapshot_id);
      }
      std::erase_if(csi, [&](const OrphanedSnapshot& o) { return vscs.count(o.id) > 0; });
      std::erase_if(native, [&](const OrphanedSnapshot& o) { return ids.count(o.id) > 0; });
    }
    // Still there? (A backup deleted during the check has its snapshots deleted first.)
    std::erase_if(csi, [&](const OrphanedSnapshot& o) {
      auto got = GetIfExists(*ctx_.client, kCsiSnapshotContents, "", o.id, cancel);
      return got.ok() && (!got->has_value() ||
                          JsonFind(**got, {"metadata", "deletionTimestamp"}) != nullptr);
    });
    std::set<std::string> listed_again_failed;
    std::map<std::string, std::set<std::string>> present;  // location -> snapshot IDs
    for (auto& loc : locations) {
      if (!std::any_of(native.begin(), native.end(),
                       [&](const OrphanedSnapshot& o) { return o.location == loc.name; })) {
        continue;
      }
      auto snaps = loc.lister->ListSnapshots({});
      if (!snaps.ok()) {
        listed_again_failed.insert(loc.name);
        continue;
      }
      for (const auto& s : *snaps) present[loc.name].insert(s.snapshot_id);
    }
    std::erase_if(native, [&](const OrphanedSnapshot& o) {
      return !listed_again_failed.count(o.location) && !present[o.location].count(o.id);
    });

  }

  // Report.
  std::map<std::string, int64_t> csi_counts, native_counts;
  for (const auto& o : csi) {
    LB_LOG_WARN(
        "orphaned CSI snapshot: VolumeSnapshotContent {} (driver {}{}) claims backup {}, which "
        "exists neither in the cluster nor in any backup storage location",
        o.id, o.location, o.handle.empty() ? "" : ", snapshot handle " + o.handle, o.backup);
    ++csi_counts[o.location];
  }
  for (const auto& loc : locations) native_counts[loc.name] = 0;
  for (const auto& o : native) {
    LB_LOG_WARN(
        "orphaned volume snapshot: snapshot {} in volume snapshot location {} claims backup {}, "
        "which exists neither in the cluster nor in any backup storage location",
        o.id, o.location, o.backup);
    ++native_counts[o.location];
  }
  // Locations that could not be listed keep their last value (while they still exist).
  for (const auto& [loc, n] : last_native_) {
    if (!native_counts.count(loc) && vsl_names.count(loc)) native_counts[loc] = n;
  }
  last_native_ = native_counts;
  ctx_.metrics->SetOrphanedVolumeSnapshots(metrics::SnapshotKind::kCsi, csi_counts);
  ctx_.metrics->SetOrphanedVolumeSnapshots(metrics::SnapshotKind::kNative, native_counts);
  LB_LOG_INFO("orphan check: {} orphaned CSI snapshot(s), {} orphaned native snapshot(s)",
              csi.size(), native.size());

  std::vector<OrphanedSnapshot> all = std::move(csi);
  all.insert(all.end(), native.begin(), native.end());
  return all;
}

}  // namespace lifeboat::controller
