// lifeboat: one binary. For now one command, `lifeboat backup run`, which runs a backup
// in-process (no server needed) from a kubeconfig into a local-directory bucket — the embedded
// defaults of the demo, and a way to take a backup of a cluster with nothing installed in it.
// The server and the Velero-style client commands come with their issues.

#include <cstdio>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "lifeboat/api/backup.h"
#include "lifeboat/api/label_selector.h"
#include "lifeboat/backup/backupper.h"
#include "lifeboat/common/log.h"
#include "lifeboat/kube/config.h"
#include "lifeboat/kube/discovery.h"
#include "lifeboat/kube/dynamic_client.h"
#include "lifeboat/kube/pod_exec.h"
#include "lifeboat/storage/backup_store.h"
#include "lifeboat/storage/registry.h"
#include "src/backup/actions/builtin_actions.h"

namespace {

struct BackupRunOptions {
  std::string name, kubeconfig, context, bucket_dir, bucket = "lifeboat", prefix, selector;
  std::vector<std::string> include_namespaces, exclude_namespaces, include_resources, exclude_resources;
  std::string include_cluster_resources;  // "", "true", "false"
};

int RunBackup(const BackupRunOptions& o) {
  auto config = lifeboat::kube::LoadRestConfig({.explicit_path = o.kubeconfig, .context = o.context});
  if (!config.ok()) {
    std::fprintf(stderr, "lifeboat: %s\n", std::string(config.status().message()).c_str());
    return 1;
  }
  auto rest = lifeboat::kube::RestClient::Create(*config);
  if (!rest.ok()) {
    std::fprintf(stderr, "lifeboat: %s\n", std::string(rest.status().message()).c_str());
    return 1;
  }
  lifeboat::kube::Discovery discovery(rest->get());
  lifeboat::kube::DynamicClient client(rest->get(), &discovery);
  auto exec = lifeboat::kube::PodExecutor::Create(*config, nullptr);

  std::filesystem::create_directories(std::filesystem::path(o.bucket_dir) / o.bucket);
  lifeboat::storage::DriverParams params;
  params.config = {{"root", o.bucket_dir}};
  auto store = lifeboat::storage::NewObjectStore("local", params);
  if (!store.ok()) {
    std::fprintf(stderr, "lifeboat: %s\n", std::string(store.status().message()).c_str());
    return 1;
  }
  lifeboat::storage::BackupStore backups(std::shared_ptr<lifeboat::storage::ObjectStore>(std::move(*store)),
                                         o.bucket, o.prefix);
  lifeboat::api::Backup b;
  b.metadata.name = o.name;
  b.metadata.namespace_ = "velero";
  b.spec.storage_location = "default";
  b.spec.included_namespaces = o.include_namespaces;
  b.spec.excluded_namespaces = o.exclude_namespaces;
  b.spec.included_resources = o.include_resources;
  b.spec.excluded_resources = o.exclude_resources;
  if (!o.include_cluster_resources.empty()) b.spec.include_cluster_resources = o.include_cluster_resources == "true";
  if (!o.selector.empty()) {
    auto sel = lifeboat::api::LabelSelector::Parse(o.selector);
    if (!sel.ok()) {
      std::fprintf(stderr, "lifeboat: --selector: %s\n", std::string(sel.status().message()).c_str());
      return 1;
    }
    b.spec.label_selector = *sel;
  }
  lifeboat::backup::BackupperDeps deps;
  deps.client = &client;
  deps.discovery = &discovery;
  deps.exec = exec.ok() ? exec->get() : nullptr;
  deps.store = &backups;
  deps.actions = lifeboat::backup::BuiltinBackupItemActions(&client);
  auto done = lifeboat::backup::Backupper(deps).Run(std::move(b));
  const auto& s = done.status;
  std::printf("Backup %s: %s\n", done.metadata.name.c_str(), std::string(lifeboat::api::ToString(s.phase)).c_str());
  for (const auto& e : s.validation_errors) std::printf("  validation error: %s\n", e.c_str());
  if (!s.failure_reason.empty()) std::printf("  failure reason: %s\n", s.failure_reason.c_str());
  if (s.progress) std::printf("  items backed up: %lld\n", static_cast<long long>(s.progress->items_backed_up));
  std::printf("  warnings: %lld, errors: %lld\n", static_cast<long long>(s.warnings), static_cast<long long>(s.errors));
  std::printf("  stored in %s/%s/%sbackups/%s/\n", o.bucket_dir.c_str(), o.bucket.c_str(),
              o.prefix.empty() ? "" : (o.prefix + "/").c_str(), done.metadata.name.c_str());
  return s.phase == lifeboat::api::BackupPhase::kCompleted ? 0
         : s.phase == lifeboat::api::BackupPhase::kPartiallyFailed ? 3 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"lifeboat: Kubernetes backup and restore, speaking Velero's API and formats"};
  app.require_subcommand(1);
  std::string log_level = "warn";
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error")->capture_default_str();
  auto* backup = app.add_subcommand("backup", "Backups")->require_subcommand(1);
  BackupRunOptions o;
  auto* run = backup->add_subcommand("run", "Run a backup now, in this process, into a local-directory bucket");
  run->add_option("name", o.name, "Backup name")->required();
  run->add_option("--kubeconfig", o.kubeconfig, "kubeconfig file (default: KUBECONFIG, ~/.kube/config, in-cluster)");
  run->add_option("--context", o.context, "kubeconfig context");
  run->add_option("--bucket-dir", o.bucket_dir, "Directory holding the bucket (local provider root)")->required();
  run->add_option("--bucket", o.bucket, "Bucket (a directory under --bucket-dir)")->capture_default_str();
  run->add_option("--prefix", o.prefix, "Prefix inside the bucket");
  run->add_option("--include-namespaces", o.include_namespaces, "Namespaces to include (globs; default all)")->delimiter(',');
  run->add_option("--exclude-namespaces", o.exclude_namespaces, "Namespaces to exclude (globs)")->delimiter(',');
  run->add_option("--include-resources", o.include_resources, "Resources to include (default all)")->delimiter(',');
  run->add_option("--exclude-resources", o.exclude_resources, "Resources to exclude")->delimiter(',');
  run->add_option("--include-cluster-resources", o.include_cluster_resources, "true or false (default: Velero's rule)")
      ->check(CLI::IsMember({"true", "false"}));
  run->add_option("-l,--selector", o.selector, "Only objects matching this label selector");
  CLI11_PARSE(app, argc, argv);
  if (auto s = lifeboat::log::Init(log_level); !s.ok()) {
    std::fprintf(stderr, "lifeboat: %s\n", std::string(s.message()).c_str());
    return 2;
  }
  if (*run) return RunBackup(o);
  return 2;
}
