#pragma once

// `lifeboat server`: the controllers of every velero.io kind in one namespace, behind a Lease so
// that of several replicas only one acts, with /metrics, /healthz and /readyz served throughout.
//
// Run() blocks: it starts the monitoring endpoint, campaigns for the Lease
// (coordination.k8s.io/v1 `lifeboat-server` in the server namespace), and while leading runs
// one informer per kind and these controllers:
//   backup-storage-location, backup-sync          (BackupStorageLocations)
//   backup, gc                                    (Backups)
//   restore                                       (Restores)
//   schedule                                      (Schedules)
//   delete-backup-request, download-request,      (their kinds)
//   server-status-request
// When `stop` fires (SIGTERM) or leadership is lost, every controller's token is cancelled:
// running backups and restores stop and stay InProgress, which the next leader resumes
// (docs/server.md, "Crash safety"); the Lease is released so a successor starts at once. A lost
// Lease (not a stop) makes Run campaign again.
//
// Thread safety: Run once per Server.

#include <atomic>
#include <chrono>
#include <memory>
#include <string>

#include "lifeboat/common/cancellation.h"
#include "lifeboat/common/status.h"
#include "lifeboat/controller/context.h"
#include "lifeboat/kube/config.h"

namespace lifeboat::server {

struct ServerConfig {
  controller::ServerOptions options;   // namespace, identity, periods, concurrency
  std::string metrics_address = ":8085";  // Velero's default; "" disables the endpoint
  double client_qps = 100;
  int client_burst = 200;
  bool leader_elect = true;
  bool schedule_skip_immediately = false;  // Velero's --schedule-skip-immediately
  // --orphan-snapshot-check-frequency: how often snapshots no backup references are looked for
  // (docs/server/volume-snapshots.md); 0 disables the check.
  std::chrono::milliseconds orphan_snapshot_check_period{std::chrono::hours(1)};
  std::chrono::milliseconds lease_duration{15000};
  std::chrono::milliseconds renew_deadline{10000};
  std::chrono::milliseconds retry_period{2000};
  // Informer resync: every object is reconciled again this often even without a change.
  std::chrono::milliseconds resync_period{std::chrono::minutes(5)};
};

class Server {
 public:
  Server(kube::RestConfig rest_config, ServerConfig config);
  ~Server();

  // Blocks until `stop` fires. Errors: the cluster cannot be reached at start, the metrics
  // address cannot be bound, a bad configuration.
  Status Run(const CancellationToken& stop);

  // The metrics endpoint's port once Run has bound it (0 before; tests use port 0).
  uint16_t metrics_port() const { return metrics_port_.load(); }

 private:
  struct Impl;
  kube::RestConfig rest_config_;
  ServerConfig config_;
  std::atomic<uint16_t> metrics_port_{0};
};

}  // namespace lifeboat::server
