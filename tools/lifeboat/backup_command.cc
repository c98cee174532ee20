// `lifeboat backup run`: a backup in-process (no server needed) from a kubeconfig into a
// local-directory bucket — the embedded defaults of the demo, and a way to take a backup of a
// cluster with nothing installed in it.

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "lifeboat/api/backup.h"
#include "lifeboat/api/label_selector.h"
#include "lifeboat/backup/backupper.h"
#include "src/backup/actions/builtin_actions.h"
#include "tools/lifeboat/commands.h"
#include "tools/lifeboat/local_run.h"

namespace lifeboat::cli {
namespace {

struct BackupRunFlags {
  std::string name, selector;
  ClusterFlags cluster;
  BucketFlags bucket;
  std::vector<std::string> include_namespaces, exclude_namespaces, include_resources,
      exclude_resources;
  std::string include_cluster_resources;  // "", "true", "false"
};

int RunBackup(const BackupRunFlags& o) {
  auto cluster = ConnectCluster(o.cluster);
  if (!cluster.ok()) return Fail(cluster.status());
  auto store = OpenLocalBucket(o.bucket);
  if (!store.ok()) return Fail(store.status());
  api::Backup b;
  b.metadata.name = o.name;
  b.metadata.namespace_ = "velero";
  b.spec.storage_location = "default";
  b.spec.included_namespaces = o.include_namespaces;
  b.spec.excluded_namespaces = o.exclude_namespaces;
  b.spec.included_resources = o.include_resources;
  b.spec.excluded_resources = o.exclude_resources;
  if (!o.include_cluster_resources.empty()) {
    b.spec.include_cluster_resources = o.include_cluster_resources == "true";
  }
  if (!o.selector.empty()) {
    auto sel = api::LabelSelector::Parse(o.selector);
    if (!sel.ok()) return Fail(sel.status(), "--selector");
    b.spec.label_selector = *sel;
  }
  backup::BackupperDeps deps;
  deps.client = cluster->client.get();
  deps.discovery = cluster->discovery.get();
  deps.exec = cluster->exec.get();
  deps.store = store->get();
  deps.actions = backup::BuiltinBackupItemActions(cluster->client.get());
  auto done = backup::Backupper(deps).Run(std::move(b));
  const auto& s = done.status;
  std::printf("Backup %s: %s\n", done.metadata.name.c_str(),
              std::string(api::ToString(s.phase)).c_str());
  for (const auto& e : s.validation_errors) std::printf("  validation error: %s\n", e.c_str());
  if (!s.failure_reason.empty()) std::printf("  failure reason: %s\n", s.failure_reason.c_str());
  if (s.progress) {
    std::printf("  items backed up: %lld\n", static_cast<long long>(s.progress->items_backed_up));
  }
  std::printf("  warnings: %lld, errors: %lld\n", static_cast<long long>(s.warnings),
              static_cast<long long>(s.errors));
  std::printf("  stored in %s/%s/%sbackups/%s/\n", o.bucket.bucket_dir.c_str(),
              o.bucket.bucket.c_str(), o.bucket.prefix.empty() ? "" : (o.bucket.prefix + "/").c_str(),
              done.metadata.name.c_str());
  return s.phase == api::BackupPhase::kCompleted        ? 0
         : s.phase == api::BackupPhase::kPartiallyFailed ? 3
                                                         : 1;
}

}  // namespace

void AddLocalFlags(CLI::App* cmd, ClusterFlags* cluster, BucketFlags* bucket) {
  cmd->add_option("--kubeconfig", cluster->kubeconfig,
                  "kubeconfig file (default: KUBECONFIG, ~/.kube/config, in-cluster)");
  cmd->add_option("--context", cluster->context, "kubeconfig context");
  cmd->add_option("--client-qps", cluster->qps,
                  "Requests per second to the API server (0: no limit)")
      ->capture_default_str();
  cmd->add_option("--client-burst", cluster->burst, "Requests allowed in a burst")
      ->capture_default_str();
  cmd->add_option("--bucket-dir", bucket->bucket_dir,
                  "Directory holding the bucket (local provider root)")
      ->required();
  cmd->add_option("--bucket", bucket->bucket, "Bucket (a directory under --bucket-dir)")
      ->capture_default_str();
  cmd->add_option("--prefix", bucket->prefix, "Prefix inside the bucket");
}

void AddBackupCommands(CLI::App& app, int* exit_code) {
  auto* backup = app.add_subcommand("backup", "Backups")->require_subcommand(1);
  auto o = std::make_shared<BackupRunFlags>();
  auto* run = backup->add_subcommand(
      "run", "Run a backup now, in this process, into a local-directory bucket");
  run->add_option("name", o->name, "Backup name")->required();
  AddLocalFlags(run, &o->cluster, &o->bucket);
  run->add_option("--include-namespaces", o->include_namespaces,
                  "Namespaces to include (globs; default all)")
      ->delimiter(',');
  run->add_option("--exclude-namespaces", o->exclude_namespaces, "Namespaces to exclude (globs)")
      ->delimiter(',');
  run->add_option("--include-resources", o->include_resources, "Resources to include (default all)")
      ->delimiter(',');
  run->add_option("--exclude-resources", o->exclude_resources, "Resources to exclude")
      ->delimiter(',');
  run->add_option("--include-cluster-resources", o->include_cluster_resources,
                  "true or false (default: Velero's rule)")
      ->check(CLI::IsMember({"true", "false"}));
  run->add_option("-l,--selector", o->selector, "Only objects matching this label selector");
  run->callback([o, exit_code] { *exit_code = RunBackup(*o); });
}

}  // namespace lifeboat::cli
