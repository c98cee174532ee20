// `lifeboat restore run`: a restore in-process (no server needed) from a backup in a
// local-directory bucket into the cluster of a kubeconfig — the same engine the server runs.

#include <algorithm>
#include <cstdio>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "lifeboat/api/backup.h"
#include "lifeboat/api/label_selector.h"
#include "lifeboat/api/restore.h"
#include "lifeboat/common/json.h"
#include "lifeboat/restore/restorer.h"
#include "tools/lifeboat/commands.h"
#include "tools/lifeboat/local_run.h"

namespace lifeboat::cli {

void AddLocalFlags(CLI::App* cmd, ClusterFlags* cluster, BucketFlags* bucket);

namespace {

struct RestoreRunFlags {
  std::string name, from_backup, from_schedule, selector, existing_resource_policy;
  ClusterFlags cluster;
  BucketFlags bucket;
  std::vector<std::string> include_namespaces, exclude_namespaces, include_resources,
      exclude_resources, namespace_mappings, status_include_resources;
  std::string include_cluster_resources, restore_volumes, preserve_nodeports;  // "", true, false
  std::string priorities;  // Velero's --restore-resource-priorities form
  int workers = 16;
};

StatusOr<api::Restore> BuildRestore(const RestoreRunFlags& o) {
  api::Restore r;
  r.metadata.name = !o.name.empty()          ? o.name
                    : !o.from_backup.empty() ? o.from_backup + "-restore"
                                             : o.from_schedule + "-restore";
  r.metadata.namespace_ = "velero";
  // No API object, so no server-made uid: make one, since names derived from it (the CSI
  // VolumeSnapshots a restore creates) must differ between two runs.
  {
    std::random_device rd;
    std::mt19937_64 gen((static_cast<uint64_t>(rd()) << 32) ^ rd());
    const uint64_t a = gen(), b = gen();
    char buf[37];
    std::snprintf(buf, sizeof(buf), "%08x-%04x-4%03x-%04x-%012llx",
                  static_cast<unsigned>(a >> 32), static_cast<unsigned>((a >> 16) & 0xffff),
                  static_cast<unsigned>(a & 0xfff),
                  static_cast<unsigned>(0x8000 | ((b >> 48) & 0x3fff)),
                  static_cast<unsigned long long>(b & 0xffffffffffffULL));
    r.metadata.uid = buf;
  }
  api::RestoreSpec& s = r.spec;
  s.backup_name = o.from_backup;
  s.schedule_name = o.from_schedule;
  s.included_namespaces = o.include_namespaces;
  s.excluded_namespaces = o.exclude_namespaces;
  s.included_resources = o.include_resources;
  s.excluded_resources = o.exclude_resources;
  s.existing_resource_policy = o.existing_resource_policy;
  for (const std::string& m : o.namespace_mappings) {
    std::vector<std::string> parts = absl::StrSplit(m, ':');
    if (parts.size() != 2 || parts[0].empty() || parts[1].empty()) {
      return absl::InvalidArgumentError("--namespace-mappings: \"" + m +
                                        "\" is not of the form src:dst");
    }
    s.namespace_mapping[parts[0]] = parts[1];
  }
  auto tristate = [](const std::string& v) -> std::optional<bool> {
    if (v.empty()) return std::nullopt;
    return v == "true";
  };
  s.include_cluster_resources = tristate(o.include_cluster_resources);
  s.restore_pvs = tristate(o.restore_volumes);
  s.preserve_node_ports = tristate(o.preserve_nodeports);
  if (!o.status_include_resources.empty()) {
    s.restore_status = api::RestoreStatusSpec{o.status_include_resources, {}};
  }
  if (!o.selector.empty()) {
    LIFEBOAT_ASSIGN_OR_RETURN(auto sel, api::LabelSelector::Parse(o.selector));
    s.label_selector = sel;
  }
  return r;
}

int RunRestore(const RestoreRunFlags& o) {
  auto restore = BuildRestore(o);
  if (!restore.ok()) return Fail(restore.status());
  auto cluster = ConnectCluster(o.cluster);
  if (!cluster.ok()) return Fail(cluster.status());
  auto store = OpenLocalBucket(o.bucket);
  if (!store.ok()) return Fail(store.status());
  // A restore's files are written once (object-lock buckets refuse rewrites): its name is new.
  auto restores = (*store)->ListRestores();
  if (!restores.ok()) return Fail(restores.status(), "listing the bucket's restores");
  if (std::find(restores->begin(), restores->end(), restore->metadata.name) != restores->end()) {
    return Fail(absl::AlreadyExistsError("restore " + restore->metadata.name +
                                         " already exists in the bucket; choose another name"));
  }
  auto backup = restore::FindBackupToRestore(**store, restore->spec);
  if (!backup.ok()) return Fail(backup.status(), "finding the backup to restore");

  restore::RestorerDeps deps;
  deps.client = cluster->client.get();
  deps.discovery = cluster->discovery.get();
  deps.exec = cluster->exec.get();
  deps.store = store->get();
  restore::RestorerOptions options;
  options.workers = o.workers;
  if (!o.priorities.empty()) {
    restore::ParsePriorities(o.priorities, &options.high_priorities, &options.low_priorities);
  }
  auto done = restore::Restorer(deps, options).Run(std::move(*restore), *backup);
  const auto& s = done.status;
  std::printf("Restore %s: %s\n", done.metadata.name.c_str(),
              std::string(api::ToString(s.phase)).c_str());
  for (const auto& e : s.validation_errors) std::printf("  validation error: %s\n", e.c_str());
  if (!s.failure_reason.empty()) std::printf("  failure reason: %s\n", s.failure_reason.c_str());
  if (s.progress) {
    std::printf("  items restored: %lld of %lld\n",
                static_cast<long long>(s.progress->items_restored),
                static_cast<long long>(s.progress->total_items));
  }
  std::printf("  warnings: %lld, errors: %lld\n", static_cast<long long>(s.warnings),
              static_cast<long long>(s.errors));
  std::printf("  log and results in %s/%s/%srestores/%s/\n", o.bucket.bucket_dir.c_str(),
              o.bucket.bucket.c_str(), o.bucket.prefix.empty() ? "" : (o.bucket.prefix + "/").c_str(),
              done.metadata.name.c_str());
  return s.phase == api::RestorePhase::kCompleted        ? 0
         : s.phase == api::RestorePhase::kPartiallyFailed ? 3
                                                          : 1;
}

}  // namespace

void AddRestoreCommands(CLI::App& app, int* exit_code) {
  auto* restore = app.add_subcommand("restore", "Restores")->require_subcommand(1);
  auto o = std::make_shared<RestoreRunFlags>();
  auto* run = restore->add_subcommand(
      "run", "Restore a backup now, in this process, from a local-directory bucket");
  run->add_option("name", o->name, "Restore name (default: <backup>-restore)");
  auto* from_backup = run->add_option("--from-backup", o->from_backup, "Backup to restore");
  auto* from_schedule = run->add_option(
      "--from-schedule", o->from_schedule, "Restore the latest Completed backup of this schedule");
  from_backup->excludes(from_schedule);
  AddLocalFlags(run, &o->cluster, &o->bucket);
  run->add_option("--include-namespaces", o->include_namespaces,
                  "Namespaces to restore (globs; default all)")
      ->delimiter(',');
  run->add_option("--exclude-namespaces", o->exclude_namespaces, "Namespaces not to restore")
      ->delimiter(',');
  run->add_option("--include-resources", o->include_resources, "Resources to restore (default all)")
      ->delimiter(',');
  run->add_option("--exclude-resources", o->exclude_resources, "Resources not to restore")
      ->delimiter(',');
  run->add_option("--namespace-mappings", o->namespace_mappings,
                  "src1:dst1,src2:dst2: restore namespace src into dst")
      ->delimiter(',');
  run->add_option("--existing-resource-policy", o->existing_resource_policy,
                  "none (default: keep existing objects) or update")
      ->check(CLI::IsMember({"none", "update"}));
  run->add_option("--include-cluster-resources", o->include_cluster_resources,
                  "true or false (default: Velero's rule)")
      ->check(CLI::IsMember({"true", "false"}));
  run->add_option("--restore-volumes", o->restore_volumes,
                  "true or false: restore volumes from snapshots (default true)")
      ->check(CLI::IsMember({"true", "false"}));
  run->add_option("--preserve-nodeports", o->preserve_nodeports,
                  "true or false: keep services' node ports")
      ->check(CLI::IsMember({"true", "false"}));
  run->add_option("--status-include-resources", o->status_include_resources,
                  "Resources whose status is restored")
      ->delimiter(',');
  run->add_option("-l,--selector", o->selector, "Only objects matching this label selector");
  run->add_option("--workers", o->workers, "Items created at once")->capture_default_str();
  run->add_option("--restore-resource-priorities", o->priorities,
                  "Restore order: high priorities, then '-' and low priorities "
                  "(default: Velero's list)");
  run->callback([o, exit_code] {
    if (o->from_backup.empty() == o->from_schedule.empty()) {
      std::fprintf(stderr, "lifeboat: give exactly one of --from-backup and --from-schedule\n");
      *exit_code = 2;
      return;
    }
    *exit_code = RunRestore(*o);
  });
}

}  // namespace lifeboat::cli
