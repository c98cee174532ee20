#include "src/server/server.h"

#include <thread>
#include <utility>
#include <vector>

#include "lifeboat/common/log.h"
#include "lifeboat/common/velero_metrics.h"
#include "lifeboat/controller/controller.h"
#include "lifeboat/controller/kinds.h"
#include "lifeboat/controller/locations.h"
#include "lifeboat/http/metrics_endpoint.h"
#include "lifeboat/kube/discovery.h"
#include "lifeboat/kube/dynamic_client.h"
#include "lifeboat/kube/informer.h"
#include "lifeboat/kube/leader_election.h"
#include "lifeboat/kube/pod_exec.h"
#include "lifeboat/kube/rest_client.h"
#include "lifeboat/volume/snapshotters.h"
#include "src/controller/backup_reconciler.h"
#include "src/controller/backup_sync.h"
#include "src/controller/bsl_reconciler.h"
#include "src/controller/delete_backup_reconciler.h"
#include "src/controller/download_request_reconciler.h"
#include "src/controller/gc_reconciler.h"
#include "src/controller/orphan_snapshot_reconciler.h"
#include "src/controller/restore_reconciler.h"
#include "src/controller/schedule_reconciler.h"
#include "src/controller/server_status_reconciler.h"

namespace lifeboat::server {

namespace json = boost::json;
using controller::Controller;
using controller::ControllerOptions;

namespace {

std::string Str(const Status& s) { return std::string(s.message()); }

// Everything that exists only while this process leads.
class LeaderWork {
 public:
  LeaderWork(const controller::ServerContext& ctx, const ServerConfig& config,
             std::atomic<bool>* synced)
      : ctx_(ctx), config_(config), synced_(synced) {}

  void Run(const CancellationToken& token) {
    auto& client = *ctx_.client;
    const std::string& ns = ctx_.options.ns;
    kube::InformerOptions io;
    io.resync_period = config_.resync_period;
    auto informer = [&](const kube::GroupVersionResource& gvr) {
      informers_.push_back(std::make_unique<kube::Informer>(&client, gvr, ns, io));
      return informers_.back().get();
    };
    kube::Informer* bsls = informer(controller::kBackupStorageLocations);
    kube::Informer* backups = informer(controller::kBackups);
    kube::Informer* restores = informer(controller::kRestores);
    kube::Informer* schedules = informer(controller::kSchedules);
    kube::Informer* dbrs = informer(controller::kDeleteBackupRequests);
    kube::Informer* downloads = informer(controller::kDownloadRequests);
    kube::Informer* statuses = informer(controller::kServerStatusRequests);

    controller::BackupStorageLocationReconciler bsl_r(ctx_);
    controller::BackupSyncReconciler sync_r(ctx_);
    controller::BackupReconciler backup_r(ctx_);
    controller::GcReconciler gc_r(ctx_);
    controller::RestoreReconciler restore_r(ctx_);
    controller::ScheduleReconciler schedule_r(
        ctx_, controller::ScheduleReconcilerOptions{.skip_immediately = config_.schedule_skip_immediately});
    controller::DeleteBackupReconciler dbr_r(ctx_);
    controller::DownloadRequestReconciler download_r(ctx_);
    controller::ServerStatusRequestReconciler status_r(ctx_);
    controller::OrphanSnapshotReconciler orphan_r(
        ctx_, controller::OrphanSnapshotOptions{.period = config_.orphan_snapshot_check_period});

    std::vector<std::unique_ptr<Controller>> controllers;
    auto add = [&](std::string name, controller::Reconciler* r, kube::Informer* watched,
                   int workers) {
      ControllerOptions o;
      o.name = std::move(name);
      o.workers = workers;
      controllers.push_back(std::make_unique<Controller>(o, r));
      controllers.back()->Watch(*watched);
    };
    add("backup-storage-location", &bsl_r, bsls, 1);
    add("backup-sync", &sync_r, bsls, 1);
    add("backup", &backup_r, backups, std::max(1, ctx_.options.concurrent_backups));
    add("gc", &gc_r, backups, 1);
    add("restore", &restore_r, restores, std::max(1, ctx_.options.concurrent_restores));
    add("schedule", &schedule_r, schedules, 1);
    add("delete-backup-request", &dbr_r, dbrs, 1);
    add("download-request", &download_r, downloads, 1);
    add("server-status-request", &status_r, statuses, 1);
    // The orphan check watches nothing: one key, requeued after each check.
    if (config_.orphan_snapshot_check_period.count() > 0) {
      ControllerOptions o;
      o.name = "orphan-snapshot-check";
      o.workers = 1;
      controllers.push_back(std::make_unique<Controller>(o, &orphan_r));
      controllers.back()->Enqueue(std::string(controller::OrphanSnapshotReconciler::kKey));
    }

    // Object counts for velero_backup_total / velero_restore_total.
    auto counts = [this, backups, restores] {
      ctx_.metrics->SetBackupTotal(static_cast<int64_t>(backups->size()));
      ctx_.metrics->SetRestoreTotal(static_cast<int64_t>(restores->size()));
    };
    backups->AddEventHandler({.on_add = [&](const json::value&) { counts(); },
                              .on_update = nullptr,
                              .on_delete = [&](const json::value&) { counts(); }});
    restores->AddEventHandler({.on_add = [&](const json::value&) { counts(); },
                               .on_update = nullptr,
                               .on_delete = [&](const json::value&) { counts(); }});

    for (auto& i : informers_) i->Start();
    bool all_synced = true;
    for (auto& i : informers_) {
      while (!token.IsCancelled() && !i->WaitForSync(std::chrono::milliseconds(500))) {
      }
      all_synced = all_synced && i->HasSynced();
    }
    if (all_synced) {
      synced_->store(true);
      LB_LOG_INFO("server: caches synced; starting {} controllers in namespace {}",
                  controllers.size(), ns);
      std::vector<std::thread> threads;
      for (auto& c : controllers) {
        threads.emplace_back([&c, &token] { c->Run(token); });
      }
      for (auto& t : threads) t.join();
    }
    synced_->store(false);
    for (auto& i : informers_) i->Stop();
    LB_LOG_INFO("server: controllers stopped");
  }

 private:
  controller::ServerContext ctx_;
  const ServerConfig& config_;
  std::atomic<bool>* synced_;
  std::vector<std::unique_ptr<kube::Informer>> informers_;
};

}  // namespace

Server::Server(kube::RestConfig rest_config, ServerConfig config)
    : rest_config_(std::move(rest_config)), config_(std::move(config)) {}

Server::~Server() = default;

Status Server::Run(const CancellationToken& stop) {
  auto& options = config_.options;
  if (options.identity.empty()) return absl::InvalidArgumentError("the server needs an identity");
  kube::RestClientOptions rest_options;
  rest_options.qps = config_.client_qps;
  rest_options.burst = config_.client_burst;
  LIFEBOAT_ASSIGN_OR_RETURN(auto rest, kube::RestClient::Create(rest_config_, rest_options));
  kube::Discovery discovery(rest.get());
  kube::DynamicClient client(rest.get(), &discovery);
  // The elector has a client of its own so heavy listing cannot starve renewals.
  LIFEBOAT_ASSIGN_OR_RETURN(auto elector_rest, kube::RestClient::Create(rest_config_, kube::RestClientOptions{}));
  kube::Discovery elector_discovery(elector_rest.get());
  kube::DynamicClient elector_client(elector_rest.get(), &elector_discovery);
  std::unique_ptr<kube::PodExecutor> exec;
  if (auto e = kube::PodExecutor::Create(rest_config_, nullptr); e.ok()) {
    exec = std::move(*e);
  } else {
    LB_LOG_WARN("server: pod exec unavailable ({}); exec hooks will fail", Str(e.status()));
  }
  // Fail fast when the cluster cannot be reached or the CRDs are missing.
  if (auto s = discovery.Refresh(); !s.ok()) {
    return Annotate(s, "cannot reach the Kubernetes API server");
  }
  if (auto r = discovery.ResourceFor(controller::kBackups); !r.ok()) {
    return absl::FailedPreconditionError(
        "the velero.io CRDs are not installed (backups.velero.io/v1 is not served): " + Str(r.status()));
  }

  metrics::ServerMetrics server_metrics;
  std::atomic<bool> leading{false};
  std::atomic<bool> synced{false};
  std::unique_ptr<http::Server> metrics_server;
  if (!config_.metrics_address.empty()) {
    http::MetricsEndpointOptions mo;
    mo.listen = config_.metrics_address;
    mo.ready = [&]() -> Status {
      if (!config_.leader_elect || leading.load()) {
        return synced.load() ? absl::OkStatus() : absl::UnavailableError("caches not synced yet");
      }
      return absl::OkStatus();  // a standby replica is ready: it waits for the lease
    };
    LIFEBOAT_ASSIGN_OR_RETURN(metrics_server,
                              http::StartMetricsServer(mo, server_metrics.registry()));
    metrics_port_.store(metrics_server->port());
    LB_LOG_INFO("server: serving /metrics, /healthz and /readyz on port {}", metrics_server->port());
  }

  controller::LocationStoresOptions so;
  so.ns = options.ns;
  so.credentials_dir = options.temp_dir / ("lifeboat-credentials-" + std::to_string(::getpid()));
  controller::LocationStores stores(&client, so);
  controller::ServerContext ctx;
  ctx.client = &client;
  ctx.discovery = &discovery;
  ctx.exec = exec.get();
  ctx.stores = &stores;
  ctx.snapshotters = volume::BuiltinVolumeSnapshotters();
  ctx.metrics = &server_metrics;
  ctx.clock = &RealClock();
  ctx.options = options;

  auto lead = [&](CancellationToken token) {
    leading.store(true);
    LB_LOG_INFO("server: {} leads; starting controllers", options.identity);
    LeaderWork(ctx, config_, &synced).Run(token);
    leading.store(false);
  };
  Status result = absl::OkStatus();
  if (!config_.leader_elect) {
    lead(stop);
  } else {
    while (!stop.IsCancelled()) {
      kube::LeaderElectionConfig lc;
      lc.ns = options.ns;
      lc.name = "lifeboat-server";
      lc.identity = options.identity;
      lc.lease_duration = config_.lease_duration;
      lc.renew_deadline = config_.renew_deadline;
      lc.retry_period = config_.retry_period;
      kube::LeaderElector elector(&elector_client, lc);
      LB_LOG_INFO("server: {} campaigning for lease {}/{}", options.identity, lc.ns, lc.name);
      Status s = elector.Run(stop, lead, [] { LB_LOG_INFO("server: stopped leading"); });
      if (s.ok()) break;
      if (!absl::IsAborted(s)) {
        result = s;
        break;
      }
      LB_LOG_WARN("server: {}; campaigning again", Str(s));
    }
  }
  if (metrics_server) metrics_server->Stop();
  LB_LOG_INFO("server: stopped");
  return result;
}

}  // namespace lifeboat::server
