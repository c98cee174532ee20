// `lifeboat server`: runs the controllers (src/server/server.h) until SIGTERM or SIGINT. Flags
// follow `velero server` where Velero has one (names, defaults, Go duration syntax), plus the
// connection flags a server outside the cluster needs (--kubeconfig, --context).

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <random>
#include <string>
#include <thread>

#include <absl/strings/str_split.h>

#include "lifeboat/api/duration.h"
#include "lifeboat/common/cancellation.h"
#include "lifeboat/common/log.h"
#include "lifeboat/kube/config.h"
#include "src/server/server.h"
#include "tools/lifeboat/commands.h"
#include "tools/lifeboat/local_run.h"

namespace lifeboat::cli {
namespace {

struct ServerFlags {
  std::string kubeconfig, context, ns = "velero", metrics_address = ":8085";
  std::string backup_sync_period = "1m", store_validation_frequency = "1m",
              garbage_collection_frequency = "1h", default_backup_ttl = "720h",
              download_request_ttl = "10m", backup_checkpoint_interval = "5s";
  std::string default_location = "default";
  std::string default_vsls;  // provider:name,provider:name
  std::string orphan_check = "1h";
  std::string temp_dir;
  double qps = 100;
  int burst = 200;
  int concurrent_backups = 1, concurrent_restores = 1;
  int64_t client_page_size = 500, client_page_bytes = int64_t{512} << 10;
  std::string backup_item_json = "as-served";
  bool leader_elect = true;
  bool schedule_skip_immediately = false;
  std::string lease_duration = "15s", renew_deadline = "10s", retry_period = "2s";
};

StatusOr<std::chrono::milliseconds> Millis(const std::string& flag, const std::string& text) {
  auto d = api::ParseGoDuration(text);
  if (!d.ok()) {
    return absl::InvalidArgumentError("--" + flag + ": " + std::string(d.status().message()));
  }
  if (d->count() < 0) return absl::InvalidArgumentError("--" + flag + " must not be negative");
  return std::chrono::duration_cast<std::chrono::milliseconds>(*d);
}

// The Lease identity: the pod name (HOSTNAME in a pod) and a random suffix, as client-go's.
std::string Identity() {
  char host[256] = {0};
  ::gethostname(host, sizeof(host) - 1);
  std::random_device rd;
  char suffix[16];
  std::snprintf(suffix, sizeof(suffix), "%08x", rd());
  return std::string(host[0] ? host : "lifeboat") + "_" + suffix;
}

// SIGTERM / SIGINT cancel `stop` from a thread that waits for them (no work in the handler).
void WatchSignals(CancellationSource* stop) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::thread([set, stop]() mutable {
    int sig = 0;
    if (sigwait(&set, &sig) == 0) {
      LB_LOG_INFO("server: received {}; stopping (running work is checkpointed for the next leader)",
                  sig == SIGTERM ? "SIGTERM" : "SIGINT");
      stop->Cancel();
    }
  }).detach();
}

int RunServer(const ServerFlags& f) {
  server::ServerConfig config;
  auto& o = config.options;
  o.ns = f.ns;
  o.identity = Identity();
  o.default_backup_storage_location = f.default_location;
  // Velero's --default-volume-snapshot-locations: provider:name pairs, comma separated.
  for (const auto& pair : absl::StrSplit(f.default_vsls, ',', absl::SkipWhitespace())) {
    const std::string p(pair);
    const size_t colon = p.find(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == p.size()) {
      return Fail(absl::InvalidArgumentError(
          "--default-volume-snapshot-locations: \"" + p +
          "\" is not provider:name (expected e.g. azure:default,aws:us-east)"));
    }
    o.default_volume_snapshot_locations[p.substr(0, colon)] = p.substr(colon + 1);
  }
  o.concurrent_backups = f.concurrent_backups;
  o.concurrent_restores = f.concurrent_restores;
  // Velero's 0 (no paging) lists whole collections into memory: Lifeboat pages anyway.
  o.client_page_size = f.client_page_size > 0 ? f.client_page_size : 500;
  o.client_page_bytes = f.client_page_bytes;
  o.backup_items_as_served = f.backup_item_json == "as-served";
  if (!f.temp_dir.empty()) o.temp_dir = f.temp_dir;
  struct {
    const char* flag;
    const std::string* text;
    std::chrono::milliseconds* out;
  } durations[] = {
      {"backup-sync-period", &f.backup_sync_period, &o.backup_sync_period},
      {"store-validation-frequency", &f.store_validation_frequency, &o.store_validation_frequency},
      {"garbage-collection-frequency", &f.garbage_collection_frequency, &o.gc_frequency},
      {"default-backup-ttl", &f.default_backup_ttl, &o.default_backup_ttl},
      {"download-request-ttl", &f.download_request_ttl, &o.download_request_ttl},
      {"backup-checkpoint-interval", &f.backup_checkpoint_interval, &o.backup_checkpoint_interval},
      {"orphan-snapshot-check-frequency", &f.orphan_check, &config.orphan_snapshot_check_period},
      {"lease-duration", &f.lease_duration, &config.lease_duration},
      {"renew-deadline", &f.renew_deadline, &config.renew_deadline},
      {"retry-period", &f.retry_period, &config.retry_period},
  };
  for (const auto& d : durations) {
    auto ms = Millis(d.flag, *d.text);
    if (!ms.ok()) return Fail(ms.status());
    *d.out = *ms;
  }
  config.metrics_address = f.metrics_address;
  config.client_qps = f.qps;
  config.client_burst = f.burst;
  config.leader_elect = f.leader_elect;
  config.schedule_skip_immediately = f.schedule_skip_immediately;
  auto rest = kube::LoadRestConfig({.explicit_path = f.kubeconfig, .context = f.context});
  if (!rest.ok()) return Fail(rest.status());
  CancellationSource stop;
  WatchSignals(&stop);
  LB_LOG_INFO("server: starting as {} in namespace {}", o.identity, o.ns);
  server::Server s(std::move(*rest), config);
  Status status = s.Run(stop.token());
  if (!status.ok()) return Fail(status, "server");
  return 0;
}

}  // namespace

void AddServerCommand(CLI::App& app, int* exit_code) {
  auto f = std::make_shared<ServerFlags>();
  auto* cmd = app.add_subcommand("server", "Run the Lifeboat server (the controllers)");
  cmd->add_option("--kubeconfig", f->kubeconfig,
                  "kubeconfig file (default: KUBECONFIG, ~/.kube/config, in-cluster)");
  cmd->add_option("--context", f->context, "kubeconfig context");
  cmd->add_option("-n,--namespace", f->ns, "Namespace of the velero.io objects the server acts on")
      ->capture_default_str();
  cmd->add_option("--metrics-address", f->metrics_address,
                  "host:port of /metrics, /healthz and /readyz (\"\" disables)")
      ->capture_default_str();
  cmd->add_option("--backup-sync-period", f->backup_sync_period,
                  "How often backups in the locations are synced into the cluster (0 disables)")
      ->capture_default_str();
  cmd->add_option("--store-validation-frequency", f->store_validation_frequency,
                  "How often backup storage locations are validated, unless they say otherwise")
      ->capture_default_str();
  cmd->add_option("--garbage-collection-frequency", f->garbage_collection_frequency,
                  "How often expired backups are looked for")
      ->capture_default_str();
  cmd->add_option("--default-backup-ttl", f->default_backup_ttl,
                  "How long backups are kept when they do not say")
      ->capture_default_str();
  cmd->add_option("--download-request-ttl", f->download_request_ttl,
                  "Lifetime of the signed URLs of download requests")
      ->capture_default_str();
  cmd->add_option("--default-backup-storage-location", f->default_location,
                  "Location used by backups that name none")
      ->capture_default_str();
  cmd->add_option("--orphan-snapshot-check-frequency", f->orphan_check,
                  "How often to look for volume snapshots no backup references (reported in "
                  "logs and lifeboat_orphaned_volume_snapshots, never deleted); 0 disables it")
      ->capture_default_str();
  cmd->add_option("--default-volume-snapshot-locations", f->default_vsls,
                  "provider:name,... the VolumeSnapshotLocation a backup uses for a provider "
                  "with several locations when it names none");
  cmd->add_option("--client-qps", f->qps, "Requests per second to the API server")
      ->capture_default_str();
  cmd->add_option("--client-burst", f->burst, "Requests allowed in a burst")->capture_default_str();
  cmd->add_option("--client-page-size", f->client_page_size,
                  "Items per LIST page of a backup at most (0: the default; an unpaged list would "
                  "hold a whole collection in memory)")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{0}, int64_t{1} << 20));
  cmd->add_option("--client-page-bytes", f->client_page_bytes,
                  "About how many bytes a backup's LIST page holds at most: fewer items per page "
                  "for large objects (0: no bound)")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{0}, int64_t{256} << 20));
  cmd->add_option("--backup-item-json", f->backup_item_json,
                  "How listed items are written into a backup's tarball: as-served (the API "
                  "server's text) or go (Go's json.Marshal form, keys sorted: byte for byte "
                  "what Velero writes, for ~10% more CPU)")
      ->capture_default_str()
      ->check(CLI::IsMember({"as-served", "go"}));
  cmd->add_option("--concurrent-backups", f->concurrent_backups,
                  "Backups run at once (their namespaces never overlap)")
      ->capture_default_str()
      ->check(CLI::Range(1, 64));
  cmd->add_option("--concurrent-restores", f->concurrent_restores, "Restores run at once")
      ->capture_default_str()
      ->check(CLI::Range(1, 64));
  cmd->add_option("--schedule-skip-immediately", f->schedule_skip_immediately,
                  "Whether schedules that do not say skip the run already due when first seen")
      ->capture_default_str();
  cmd->add_option("--temp-dir", f->temp_dir,
                  "Directory for archives being written or read, and for the checkpoint journals "
                  "of running backups (keep it on a volume that survives a container restart)");
  cmd->add_option("--backup-checkpoint-interval", f->backup_checkpoint_interval,
                  "How often a running backup records a checkpoint it can resume from after a "
                  "restart")
      ->capture_default_str();
  cmd->add_option("--leader-elect", f->leader_elect,
                  "Take a Lease before acting (several replicas never both act)")
      ->capture_default_str();
  cmd->add_option("--leader-elect-lease-duration", f->lease_duration)->capture_default_str();
  cmd->add_option("--leader-elect-renew-deadline", f->renew_deadline)->capture_default_str();
  cmd->add_option("--leader-elect-retry-period", f->retry_period)->capture_default_str();
  cmd->callback([f, exit_code] { *exit_code = RunServer(*f); });
}

}  // namespace lifeboat::cli
