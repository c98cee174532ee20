#pragma once

// What every reconciler of `lifeboat server` is given: the cluster, the server's namespace, the
// location stores, the metrics, the clock and the server's options. Borrowed pointers; the
// server owns them and outlives its controllers.

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "lifeboat/common/clock.h"
#include "lifeboat/common/velero_metrics.h"
#include "lifeboat/controller/locations.h"
#include "lifeboat/kube/discovery.h"
#include "lifeboat/kube/dynamic_client.h"
#include "lifeboat/kube/pod_exec.h"
#include "lifeboat/plugin/volume_snapshotter.h"

namespace lifeboat::controller {

struct ServerOptions {
  std::string ns = "velero";                 // --namespace
  std::string identity;                      // this server process (leader election identity)
  std::string server_version = "lifeboat";   // reported by ServerStatusRequests and logs
  // --default-backup-storage-location: used by backups that name no location, and marked
  // spec.default when no location is.
  std::string default_backup_storage_location = "default";
  // --default-volume-snapshot-locations: provider -> location name, for providers with several.
  std::map<std::string, std::string> default_volume_snapshot_locations;
  std::chrono::milliseconds default_backup_ttl{std::chrono::hours(720)};     // --default-backup-ttl
  std::chrono::milliseconds store_validation_frequency{std::chrono::minutes(1)};  // BSL default
  std::chrono::milliseconds backup_sync_period{std::chrono::minutes(1)};     // --backup-sync-period
  std::chrono::milliseconds gc_frequency{std::chrono::hours(1)};             // --garbage-collection-frequency
  std::chrono::milliseconds download_request_ttl{std::chrono::minutes(10)};  // signed URL lifetime
  std::filesystem::path temp_dir = std::filesystem::temp_directory_path();
  // Backup crash safety (docs/server.md "Shutdown and crash safety"): checkpoint journals live
  // in journal_dir (empty: <temp_dir>/lifeboat-journal), one checkpoint at most every
  // backup_checkpoint_interval (--backup-checkpoint-interval).
  std::filesystem::path journal_dir;
  std::chrono::milliseconds backup_checkpoint_interval{5000};
  int concurrent_backups = 1;  // backups run at once (their namespaces must not overlap)
  // A backup's LIST pages: at most client_page_size items (--client-page-size) and about
  // client_page_bytes bytes (--client-page-bytes; 0: no bound), backup::BackupperOptions.
  int64_t client_page_size = 500;
  int64_t client_page_bytes = int64_t{512} << 10;
  // How listed items are written into a backup's tarball (--backup-item-json): as the API
  // server sent them (true, the default) or in Go's json.Marshal form, byte for byte Velero's
  // (false; ~10% more CPU). backup::BackupperOptions::items_as_served.
  bool backup_items_as_served = true;
  int concurrent_restores = 1;
};

struct ServerContext {
  kube::DynamicClient* client = nullptr;
  kube::Discovery* discovery = nullptr;
  kube::PodExecutor* exec = nullptr;  // null: hooks fail
  LocationStores* stores = nullptr;
  // Native snapshot providers by VolumeSnapshotLocation provider name (the backup, restore,
  // delete and orphan-check paths create snapshotters with it); null: no native snapshots.
  plugin::VolumeSnapshotterFactory snapshotters;
  metrics::ServerMetrics* metrics = nullptr;
  Clock* clock = nullptr;  // never null once the server built it
  ServerOptions options;
};

}  // namespace lifeboat::controller
