// `lifeboat restore create|get|describe|delete|logs`: the commands (restore_commands.h).

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <memory>

#include "lifeboat/common/json.h"
#include "lifeboat/controller/kinds.h"
#include "src/cli/backup_commands.h"
#include "src/cli/client.h"
#include "src/cli/download.h"
#include "src/cli/output.h"
#include "src/cli/progress.h"
#include "src/cli/restore_commands.h"

namespace lifeboat::cli {
namespace json = boost::json;
using controller::kRestores;

namespace {

StatusOr<api::Restore> GetRestore(ApiClient& c, const std::string& name) {
  LIFEBOAT_ASSIGN_OR_RETURN(auto v, GetObject(c, kRestores, "restore", name));
  return api::RestoreFromJson(v);
}

int WaitForRestore(ApiClient& c, const std::string& name) {
  std::printf(
      "Waiting for restore to complete. You may safely press ctrl-c to stop waiting - "
      "your restore will continue in the background.\n");
  std::fflush(stdout);
  ProgressPrinter printer(stdout, isatty(fileno(stdout)) != 0, std::chrono::steady_clock::now());
  printer.SetStuckHint(
      "The restore is still New after 30s: nothing has picked it up. " + NoServerHint(c.ns),
      std::chrono::seconds(30), stderr);
  api::Restore last;
  auto done = WaitWithProgress(
      [&]() -> StatusOr<ProgressSnapshot> {
        LIFEBOAT_ASSIGN_OR_RETURN(last, GetRestore(c, name));
        ProgressSnapshot s;
        s.phase = RestoreStatusText(last);
        if (last.status.progress) {
          s.done = last.status.progress->items_restored;
          s.total = last.status.progress->total_items;
        }
        using P = api::RestorePhase;
        const P p = last.status.phase;
        s.final = p == P::kCompleted || p == P::kPartiallyFailed || p == P::kFailed ||
                  p == P::kFailedValidation;
        return s;
      },
      printer, std::chrono::milliseconds(1000));
  if (!done.ok()) return PrintError(std::string(done.status().message()));
  std::printf(
      "Restore completed with status: %s. You may check for more information using the "
      "commands `lifeboat restore describe %s` and `lifeboat restore logs %s`.\n",
      done->phase.c_str(), name.c_str(), name.c_str());
  if (!last.status.failure_reason.empty()) {
    std::fprintf(stderr, "Failure reason: %s\n", last.status.failure_reason.c_str());
  }
  if (!last.status.validation_errors.empty()) {
    std::fprintf(stderr, "Validation errors:\n");
    for (const auto& e : last.status.validation_errors) std::fprintf(stderr, "  %s\n", e.c_str());
  }
  if (last.status.errors > 0 || last.status.warnings > 0) {
    std::printf("Errors: %lld, warnings: %lld\n", static_cast<long long>(last.status.errors),
                static_cast<long long>(last.status.warnings));
  }
  return ExitCodeForPhase(done->phase);
}

int RunCreate(const RestoreCreateFlags& f, const ClientFlags& cf) {
  auto r = BuildRestore(f, cf.namespace_name, std::chrono::system_clock::now());
  if (!r.ok()) return PrintError(std::string(r.status().message()));
  if (!f.output.empty()) {
    auto text = FormatObjects({api::ToJson(*r)}, true, f.output);
    if (!text.ok()) return PrintError(std::string(text.status().message()));
    std::fputs(text->c_str(), stdout);
    return 0;
  }
  auto c = Connect(cf);
  if (!c.ok()) return PrintError(Explain(c.status(), "create", "restores", cf.namespace_name));
  if (!f.from_backup.empty()) {
    auto b = GetObject(**c, controller::kBackups, "backup", f.from_backup);
    if (!b.ok()) return PrintError(std::string(b.status().message()));
  } else {
    auto s = GetObject(**c, controller::kSchedules, "schedule", f.from_schedule);
    if (!s.ok()) return PrintError(std::string(s.status().message()));
  }
  auto created = (*c)->dyn().Create(kRestores, cf.namespace_name, api::ToJson(*r));
  if (!created.ok()) {
    if (absl::IsAlreadyExists(created.status())) {
      return PrintError("restore \"" + r->metadata.name + "\" already exists");
    }
    return PrintError(Explain(created.status(), "create", "restores", cf.namespace_name));
  }
  const std::string& name = r->metadata.name;
  std::printf("Restore request \"%s\" submitted successfully.\n", name.c_str());
  if (f.wait) return WaitForRestore(**c, name);
  std::printf(
      "Run `lifeboat restore describe %s` or `lifeboat restore logs %s` for more details.\n",
      name.c_str(), name.c_str());
  return 0;
}

struct ListFlags {
  std::vector<std::string> names;
  std::string selector, output = "table";
  bool details = false, confirm = false, all = false;
  int timeout_seconds = 60;
};

StatusOr<std::vector<json::value>> Select(ApiClient& c, const ListFlags& f) {
  std::vector<json::value> out;
  if (f.names.empty()) return ListObjects(c, kRestores, f.selector);
  for (const auto& n : f.names) {
    LIFEBOAT_ASSIGN_OR_RETURN(auto v, GetObject(c, kRestores, "restore", n));
    out.push_back(std::move(v));
  }
  return out;
}

std::vector<api::Restore> Decode(const std::vector<json::value>& objects) {
  std::vector<api::Restore> out;
  for (const auto& o : objects) {
    if (auto r = api::RestoreFromJson(o); r.ok()) out.push_back(std::move(*r));
  }
  return out;
}

int RunGet(const ListFlags& f, const ClientFlags& cf) {
  auto c = Connect(cf);
  if (!c.ok()) return PrintError(Explain(c.status(), "list", "restores", cf.namespace_name));
  auto objects = Select(**c, f);
  if (!objects.ok()) return PrintError(std::string(objects.status().message()));
  if (f.output != "table") {
    auto text = FormatObjects(*objects, f.names.size() == 1, f.output);
    if (!text.ok()) return PrintError(std::string(text.status().message()));
    std::fputs(text->c_str(), stdout);
    return 0;
  }
  std::fputs(RestoreTable(Decode(*objects)).c_str(), stdout);
  return 0;
}

int RunDescribe(const ListFlags& f, const ClientFlags& cf) {
  auto c = Connect(cf);
  if (!c.ok()) return PrintError(Explain(c.status(), "get", "restores", cf.namespace_name));
  auto objects = Select(**c, f);
  if (!objects.ok()) return PrintError(std::string(objects.status().message()));
  bool first = true;
  for (const auto& r : Decode(*objects)) {
    if (!first) std::printf("\n\n");
    first = false;
    std::string details;
    if (f.details) {
      auto res = DownloadText(**c, api::DownloadTargetKind::kRestoreResults, r.metadata.name,
                              std::chrono::seconds(f.timeout_seconds));
      auto parsed = res.ok() ? ParseJson(*res) : StatusOr<json::value>(res.status());
      details = parsed.ok() ? FormatResults(*parsed)
                            : "Errors and warnings:  <error getting results: " +
                                  std::string(parsed.status().message()) + ">\n";
    }
    std::fputs(DescribeRestore(r, details).c_str(), stdout);
  }
  return 0;
}

int RunDelete(const ListFlags& f, const ClientFlags& cf) {
  if (f.names.empty() && f.selector.empty() && !f.all) {
    return PrintError("give the names of the restores to delete, --selector or --all");
  }
  auto c = Connect(cf);
  if (!c.ok()) return PrintError(Explain(c.status(), "delete", "restores", cf.namespace_name));
  auto objects = Select(**c, f);
  if (!objects.ok()) return PrintError(std::string(objects.status().message()));
  auto restores = Decode(*objects);
  if (restores.empty()) {
    std::printf("No restores found\n");
    return 0;
  }
  if (!f.confirm && !Confirm("You are about to delete " + std::to_string(restores.size()) +
                             " restore(s) and their files in the bucket.")) {
    std::printf("Cancelled: nothing deleted (use --confirm to skip this question).\n");
    return 1;
  }
  int rc = 0;
  for (const auto& r : restores) {
    auto deleted = (*c)->dyn().Delete(kRestores, cf.namespace_name, r.metadata.name);
    if (!deleted.ok() && !absl::IsNotFound(deleted.status())) {
      rc = PrintError(Explain(deleted.status(), "delete", "restores", cf.namespace_name));
      continue;
    }
    std::printf(
        "Request to delete restore \"%s\" submitted successfully.\nThe restore will be "
        "fully deleted after all associated data (restore files in object storage) are "
        "removed.\n",
        r.metadata.name.c_str());
  }
  return rc;
}

int RunLogs(const ListFlags& f, const ClientFlags& cf) {
  auto c = Connect(cf);
  if (!c.ok()) return PrintError(Explain(c.status(), "get", "restores", cf.namespace_name));
  const std::string& name = f.names.at(0);
  auto r = GetRestore(**c, name);
  if (!r.ok()) return PrintError(std::string(r.status().message()));
  using P = api::RestorePhase;
  const P p = r->status.phase;
  if (p != P::kCompleted && p != P::kPartiallyFailed && p != P::kFailed) {
    return PrintError("logs for restore \"" + name +
                      "\" are not available until it's finished "
                      "processing (phase " +
                      RestoreStatusText(*r) +
                      "); wait until the restore "
                      "has a phase of Completed, PartiallyFailed or Failed and try again");
  }
  auto text = DownloadText(**c, api::DownloadTargetKind::kRestoreLog, name,
                           std::chrono::seconds(f.timeout_seconds));
  if (!text.ok()) return PrintError(std::string(text.status().message()));
  std::fwrite(text->data(), 1, text->size(), stdout);
  return 0;
}

void BindCreateFlags(CLI::App* cmd, RestoreCreateFlags* f) {
  const auto kBool = CLI::IsMember({"true", "false"});
  cmd->add_option("name", f->name, "the restore's name (default: <backup>-<timestamp>)");
  cmd->add_option("--from-backup", f->from_backup, "the backup to restore");
  cmd->add_option("--from-schedule", f->from_schedule, "restore the schedule's latest backup");
  cmd->add_option("--include-namespaces", f->include_namespaces,
                  "namespaces to restore (comma-separated; '*' for all)")
      ->delimiter(',')
      ->capture_default_str();
  cmd->add_option("--exclude-namespaces", f->exclude_namespaces, "namespaces not to restore")
      ->delimiter(',');
  cmd->add_option("--include-resources", f->include_resources, "resources to restore")
      ->delimiter(',');
  cmd->add_option("--exclude-resources", f->exclude_resources, "resources not to restore")
      ->delimiter(',');
  cmd->add_flag("--include-cluster-resources", f->include_cluster_resources,
                "restore cluster-scoped resources (true/false; default: when needed)")
      ->check(kBool);
  cmd->add_flag("--restore-volumes", f->restore_volumes, "restore PersistentVolumes from snapshots")
      ->check(kBool);
  cmd->add_flag("--preserve-nodeports", f->preserve_nodeports, "keep the node ports of Services")
      ->check(kBool);
  cmd->add_option("--namespace-mappings", f->namespace_mappings,
                  "restore namespaces under other names, src1:dst1,src2:dst2");
  cmd->add_option("--existing-resource-policy", f->existing_resource_policy,
                  "what to do with objects that already exist: none or update")
      ->check(CLI::IsMember({"none", "update"}));
  cmd->add_option("--status-include-resources", f->status_include_resources,
                  "resources whose status is restored")
      ->delimiter(',');
  cmd->add_option("--status-exclude-resources", f->status_exclude_resources,
                  "resources whose status is not restored")
      ->delimiter(',');
  cmd->add_option("--resource-modifier-configmap", f->resource_modifier_configmap,
                  "a ConfigMap of resource modifier rules");
  cmd->add_option("-l,--selector", f->selector,
                  "only restore objects matching this label selector");
  cmd->add_option("--or-selector", f->or_selector,
                  "objects matching any of these selectors, separated by ' or '");
  cmd->add_option("--labels", f->labels, "labels of the restore, k1=v1,k2=v2");
  cmd->add_option("--annotations", f->annotations, "annotations of the restore, k1=v1,k2=v2");
  cmd->add_option("--item-operation-timeout", f->item_operation_timeout,
                  "how long to wait for asynchronous item operations (e.g. 4h)");
  cmd->add_flag("-w,--wait", f->wait, "wait for the restore to finish, showing its progress");
  cmd->add_option("-o,--output", f->output,
                  "print the Restore as json or yaml instead of creating it")
      ->check(CLI::IsMember({"json", "yaml"}));
}

}  // namespace

void AddRestoreClientCommands(CLI::App* restore, int* exit_code) {
  {
    auto cf = std::make_shared<ClientFlags>();
    auto f = std::make_shared<RestoreCreateFlags>();
    auto* cmd = restore->add_subcommand("create", "Restore a backup (the server runs it)");
    BindCreateFlags(cmd, f.get());
    BindClientFlags(cmd, cf.get());
    cmd->callback([=] { *exit_code = RunCreate(*f, *cf); });
  }
  struct Spec {
    const char* name;
    const char* help;
    int (*run)(const ListFlags&, const ClientFlags&);
  };
  for (const Spec& spec : {Spec{"get", "List restores", &RunGet},
                           Spec{"describe", "Show a restore's spec and status", &RunDescribe},
                           Spec{"delete", "Delete restores", &RunDelete},
                           Spec{"logs", "Print a restore's log", &RunLogs}}) {
    auto cf = std::make_shared<ClientFlags>();
    auto f = std::make_shared<ListFlags>();
    auto* cmd = restore->add_subcommand(spec.name, spec.help);
    const std::string verb = spec.name;
    if (verb == "logs") {
      cmd->add_option("name", f->names, "the restore")->required()->expected(1);
    } else {
      cmd->add_option("names", f->names, "restores (default: all)");
      cmd->add_option("-l,--selector", f->selector, "only restores with these labels");
    }
    if (verb == "get") {
      cmd->add_option("-o,--output", f->output, "output format: table, json or yaml")
          ->check(CLI::IsMember({"table", "json", "yaml"}))
          ->capture_default_str();
    }
    if (verb == "describe") {
      cmd->add_flag("--details", f->details, "also show the errors and warnings");
    }
    if (verb == "describe" || verb == "logs") {
      cmd->add_option("--timeout", f->timeout_seconds,
                      "seconds to wait for the server to provide the file")
          ->capture_default_str();
    }
    if (verb == "delete") {
      cmd->add_flag("--all", f->all, "delete all restores");
      cmd->add_flag("--confirm", f->confirm, "do not ask for confirmation");
    }
    BindClientFlags(cmd, cf.get());
    auto run = spec.run;
    cmd->callback([=] { *exit_code = run(*f, *cf); });
  }
}

}  // namespace lifeboat::cli
