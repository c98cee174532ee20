// The restore engine's benchmark (issue 6): restores the newest backup of a local-directory
// bucket into the cluster of a kubeconfig (an empty kubesim, in bench/restore_bench.sh) and
// prints one JSON line: items restored, seconds, objects/s, warnings, errors and peak RSS.
//
//   restore_bench --kubeconfig K --bucket-root DIR [--workers 16]

#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>

#include <CLI/CLI.hpp>

#include "lifeboat/api/backup.h"
#include "lifeboat/common/json.h"
#include "lifeboat/common/log.h"
#include "lifeboat/kube/config.h"
#include "lifeboat/restore/restorer.h"
#include "lifeboat/storage/backup_store.h"
#include "lifeboat/storage/registry.h"

namespace {

int64_t PeakRssKib() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stoll(line.substr(6));
  }
  return -1;
}

int Fail(const lifeboat::Status& s) {
  std::fprintf(stderr, "%s\n", s.ToString().c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"restore engine benchmark"};
  std::string kubeconfig, root;
  int workers = 16;
  app.add_option("--kubeconfig", kubeconfig)->required();
  app.add_option("--bucket-root", root)->required();
  app.add_option("--workers", workers);
  CLI11_PARSE(app, argc, argv);
  lifeboat::log::Init("warn").IgnoreError();
  auto config = lifeboat::kube::LoadKubeconfig({.explicit_path = kubeconfig});
  if (!config.ok()) return Fail(config.status());
  lifeboat::kube::RestClientOptions ro;
  ro.qps = 0;  // no client-side limit: kubesim is the bottleneck being measured
  auto rest = lifeboat::kube::RestClient::Create(*config, ro);
  if (!rest.ok()) return Fail(rest.status());
  lifeboat::kube::Discovery discovery(rest->get());
  lifeboat::kube::DynamicClient client(rest->get(), &discovery);

  lifeboat::storage::DriverParams params;
  params.config = {{"root", root}};
  auto store = lifeboat::storage::NewObjectStore("local", params);
  if (!store.ok()) return Fail(store.status());
  lifeboat::storage::BackupStore bs(
      std::shared_ptr<lifeboat::storage::ObjectStore>(std::move(*store)), "bucket", "");
  auto names = bs.ListBackups();
  if (!names.ok()) return Fail(names.status());
  if (names->empty()) return Fail(absl::NotFoundError("no backup in " + root + "/bucket"));
  auto metadata = bs.GetBackupMetadata(names->back());
  if (!metadata.ok()) return Fail(metadata.status());
  auto backup = lifeboat::api::BackupFromJson(*lifeboat::ParseJson(*metadata));
  if (!backup.ok()) return Fail(backup.status());

  lifeboat::restore::RestorerDeps deps;
  deps.client = &client;
  deps.discovery = &discovery;
  deps.store = &bs;
  lifeboat::restore::RestorerOptions options;
  options.workers = workers;
  options.temp_dir = root;
  lifeboat::api::Restore r;
  r.metadata.name = "bench-restore";
  r.metadata.namespace_ = "velero";
  r.spec.backup_name = backup->metadata.name;
  const auto start = std::chrono::steady_clock::now();
  auto done = lifeboat::restore::Restorer(deps, options).Run(std::move(r), *backup);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const int64_t items = done.status.progress ? done.status.progress->items_restored : 0;
  std::printf(
      "{\"mode\":\"restore\",\"phase\":\"%s\",\"items\":%lld,\"warnings\":%lld,\"errors\":%lld,"
      "\"seconds\":%.3f,\"objects_per_second\":%.0f,\"peak_rss_mib\":%.1f,\"failure\":\"%s\"}\n",
      std::string(lifeboat::api::ToString(done.status.phase)).c_str(),
      static_cast<long long>(items), static_cast<long long>(done.status.warnings),
      static_cast<long long>(done.status.errors), seconds, items / seconds,
      PeakRssKib() / 1024.0, done.status.failure_reason.c_str());
  return done.status.phase == lifeboat::api::RestorePhase::kFailed ? 1 : 0;
}
