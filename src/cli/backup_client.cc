// `lifeboat backup create|get|describe|delete|logs`: the commands (backup_commands.h).

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>

#include "lifeboat/api/backup_storage_location.h"
#include "lifeboat/api/delete_backup_request.h"
#include "lifeboat/api/download_request.h"
#include "lifeboat/common/json.h"
#include "lifeboat/controller/kinds.h"
#include "src/cli/backup_commands.h"
#include "src/cli/download.h"
#include "src/cli/output.h"
#include "src/cli/progress.h"
#include "src/cli/volume_info.h"

namespace lifeboat::cli {
namespace json = boost::json;
using controller::kBackups;

namespace {

api::TimePoint Now() { return std::chrono::system_clock::now(); }

// Warns (stderr) when the location the backup goes to (named, else the one marked default) is
// not Available, with the reason the server recorded; NotFound when a named one does not exist.
Status CheckLocation(ApiClient& c, std::string name) {
  if (name.empty()) {
    // The server will use the location marked default: warn about that one.
    kube::ListAllOptions lo;
    auto listed = kube::ListAll(c.dyn(), controller::kBackupStorageLocations, c.ns, lo,
                                [&](boost::json::value&& item) {
                                  auto bsl = api::BackupStorageLocationFromJson(item);
                                  if (bsl.ok() && bsl->spec.default_ && name.empty()) {
                                    name = bsl->metadata.name;
                                  }
                                  return absl::OkStatus();
                                });
    if (!listed.ok() || name.empty()) return absl::OkStatus();  // the server decides
  }
  auto got = GetObject(c, controller::kBackupStorageLocations, "backup storage location", name);
  if (!got.ok()) {
    if (absl::IsNotFound(got.status())) {
      return absl::NotFoundError(std::string(got.status().message()) +
                                 " (list them with `kubectl -n " + c.ns +
                                 " get backupstoragelocations`)");
    }
    return got.status();
  }
  auto bsl = api::BackupStorageLocationFromJson(*got);
  if (bsl.ok() && bsl->status.phase == api::BackupStorageLocationPhase::kUnavailable) {
    std::fprintf(stderr, "Warning: backup storage location \"%s\" is Unavailable%s\n", name.c_str(),
                 bsl->status.message.empty() ? "" : (": " + bsl->status.message).c_str());
  }
  return absl::OkStatus();
}

StatusOr<api::Backup> GetBackup(ApiClient& c, const std::string& name) {
  LIFEBOAT_ASSIGN_OR_RETURN(auto v, GetObject(c, kBackups, "backup", name));
  return api::BackupFromJson(v);
}

// Waits for a final phase with the progress line; prints the outcome; returns the exit code.
int WaitForBackup(ApiClient& c, const std::string& name) {
  std::printf(
      "Waiting for backup to complete. You may safely press ctrl-c to stop waiting - "
      "your backup will continue in the background.\n");
  std::fflush(stdout);
  ProgressPrinter printer(stdout, isatty(fileno(stdout)) != 0, std::chrono::steady_clock::now());
  printer.SetStuckHint(
      "The backup is still New after 30s: nothing has picked it up. " + NoServerHint(c.ns),
      std::chrono::seconds(30), stderr);
  api::Backup last;
  auto done = WaitWithProgress(
      [&]() -> StatusOr<ProgressSnapshot> {
        LIFEBOAT_ASSIGN_OR_RETURN(last, GetBackup(c, name));
        ProgressSnapshot s;
        s.phase = BackupStatusText(last);
        if (last.status.progress) {
          s.done = last.status.progress->items_backed_up;
          s.total = last.status.progress->total_items;
        }
        using P = api::BackupPhase;
        const P p = last.status.phase;
        s.final = p == P::kCompleted || p == P::kPartiallyFailed || p == P::kFailed ||
                  p == P::kFailedValidation;
        return s;
      },
      printer, std::chrono::milliseconds(1000));
  if (!done.ok()) return PrintError(std::string(done.status().message()));
  std::printf(
      "Backup completed with status: %s. You may check for more information using the "
      "commands `lifeboat backup describe %s` and `lifeboat backup logs %s`.\n",
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

int RunCreate(const BackupCreateFlags& f, const ClientFlags& cf) {
  // Flags are checked before connecting, so a bad value is reported as such.
  StatusOr<api::Backup> b = absl::UnknownError("unset");
  std::unique_ptr<ApiClient> c;
  if (f.from_schedule.empty()) {
    b = BuildBackup(f, cf.namespace_name, Now(), nullptr);
    if (!b.ok()) return PrintError(std::string(b.status().message()));
  }
  if (f.output.empty() || !f.from_schedule.empty()) {
    auto connected = Connect(cf);
    if (!connected.ok()) {
      return PrintError(Explain(connected.status(), "create", "backups", cf.namespace_name));
    }
    c = std::move(*connected);
  }
  if (!f.from_schedule.empty()) {
    auto v = GetObject(*c, controller::kSchedules, "schedule", f.from_schedule);
    if (!v.ok()) return PrintError(std::string(v.status().message()));
    auto schedule = api::ScheduleFromJson(*v);
    if (!schedule.ok()) return PrintError(std::string(schedule.status().message()));
    b = BuildBackup(f, cf.namespace_name, Now(), &*schedule);
    if (!b.ok()) return PrintError(std::string(b.status().message()));
  }
  if (!f.output.empty()) {
    auto text = FormatObjects({api::ToJson(*b)}, true, f.output);
    if (!text.ok()) return PrintError(std::string(text.status().message()));
    std::fputs(text->c_str(), stdout);
    return 0;
  }
  if (auto s = CheckLocation(*c, b->spec.storage_location); !s.ok()) {
    return PrintError(std::string(s.message()));
  }
  auto created = c->dyn().Create(kBackups, cf.namespace_name, api::ToJson(*b));
  if (!created.ok()) {
    if (absl::IsAlreadyExists(created.status())) {
      return PrintError("backup \"" + b->metadata.name + "\" already exists");
    }
    return PrintError(Explain(created.status(), "create", "backups", cf.namespace_name));
  }
  const std::string& name = b->metadata.name;
  std::printf("Backup request \"%s\" submitted successfully.\n", name.c_str());
  if (f.wait) return WaitForBackup(*c, name);
  std::printf("Run `lifeboat backup describe %s` or `lifeboat backup logs %s` for more details.\n",
              name.c_str(), name.c_str());
  return 0;
}

struct GetFlags {
  std::vector<std::string> names;
  std::string selector, output = "table";
};

int RunGet(const GetFlags& f, const ClientFlags& cf) {
  auto c = Connect(cf);
  if (!c.ok()) return PrintError(Explain(c.status(), "list", "backups", cf.namespace_name));
  std::vector<json::value> objects;
  if (!f.names.empty()) {
    for (const auto& n : f.names) {
      auto v = GetObject(**c, kBackups, "backup", n);
      if (!v.ok()) return PrintError(std::string(v.status().message()));
      objects.push_back(std::move(*v));
    }
  } else {
    auto list = ListObjects(**c, kBackups, f.selector);
    if (!list.ok()) return PrintError(std::string(list.status().message()));
    objects = std::move(*list);
  }
  if (f.output != "table") {
    auto text = FormatObjects(objects, f.names.size() == 1, f.output);
    if (!text.ok()) return PrintError(std::string(text.status().message()));
    std::fputs(text->c_str(), stdout);
    return 0;
  }
  std::vector<api::Backup> backups;
  for (const auto& o : objects) {
    auto b = api::BackupFromJson(o);
    if (b.ok()) backups.push_back(std::move(*b));
  }
  std::fputs(BackupTable(std::move(backups), Now()).c_str(), stdout);
  return 0;
}

struct DescribeFlags {
  std::vector<std::string> names;
  std::string selector;
  bool details = false;
  int timeout_seconds = 60;
};

std::string FetchDetails(ApiClient& c, api::DownloadTargetKind results,
                         api::DownloadTargetKind resource_list, const std::string& name,
                         std::chrono::milliseconds timeout) {
  std::string o;
  auto r = DownloadText(c, resource_list, name, timeout);
  auto list = r.ok() ? ParseJson(*r) : StatusOr<json::value>(r.status());
  o += list.ok() ? FormatResourceList(*list)
                 : "Resource List:  <error getting resource list: " +
                       std::string(list.status().message()) + ">\n";
  o += "\n";
  auto res = DownloadText(c, results, name, timeout);
  auto parsed = res.ok() ? ParseJson(*res) : StatusOr<json::value>(res.status());
  o += parsed.ok() ? FormatResults(*parsed)
                   : "Errors and warnings:  <error getting results: " +
                         std::string(parsed.status().message()) + ">\n";
  return o;
}

// The "Backup Volumes:" section. The volume info file exists once the backup's data is
// uploaded; it is fetched (through a DownloadRequest the server answers) with --details or when
// the status says volumes were snapshotted or backed up, otherwise the section says none were.
std::string DescribeVolumes(ApiClient& c, const api::Backup& b, bool details,
                            std::chrono::milliseconds timeout) {
  using P = api::BackupPhase;
  const P p = b.status.phase;
  const bool uploaded = p == P::kCompleted || p == P::kPartiallyFailed || p == P::kFailed ||
                        p == P::kWaitingForPluginOperations ||
                        p == P::kWaitingForPluginOperationsPartiallyFailed || p == P::kFinalizing ||
                        p == P::kFinalizingPartiallyFailed;
  const auto& st = b.status;
  const bool has_volumes = st.volume_snapshots_attempted > 0 ||
                           st.csi_volume_snapshots_attempted > 0 ||
                           st.backup_item_operations_attempted > 0 ||
                           b.spec.default_volumes_to_fs_backup.value_or(false);
  if (!uploaded || !(details || has_volumes)) return FormatBackupVolumes(nullptr, details);
  auto text =
      DownloadText(c, api::DownloadTargetKind::kBackupVolumeInfos, b.metadata.name, timeout);
  if (!text.ok()) {
    // A backup written without the file (older servers, or no volumes): nothing to list.
    // An object store answers a signed URL of a missing object with 404.
    if (absl::IsNotFound(text.status()) ||
        std::string(text.status().message()).find("returned HTTP 404") != std::string::npos) {
      return FormatBackupVolumes(nullptr, details);
    }
    return "Backup Volumes:  <error getting volume info: " + std::string(text.status().message()) +
           ">\n";
  }
  auto parsed = ParseJson(*text);
  if (!parsed.ok()) {
    return "Backup Volumes:  <error getting volume info: " +
           std::string(parsed.status().message()) + ">\n";
  }
  return FormatBackupVolumes(&*parsed, details);
}

int RunDescribe(const DescribeFlags& f, const ClientFlags& cf) {
  auto c = Connect(cf);
  if (!c.ok()) return PrintError(Explain(c.status(), "get", "backups", cf.namespace_name));
  std::vector<api::Backup> backups;
  if (!f.names.empty()) {
    for (const auto& n : f.names) {
      auto b = GetBackup(**c, n);
      if (!b.ok()) return PrintError(std::string(b.status().message()));
      backups.push_back(std::move(*b));
    }
  } else {
    auto list = ListObjects(**c, kBackups, f.selector);
    if (!list.ok()) return PrintError(std::string(list.status().message()));
    for (const auto& o : *list) {
      if (auto b = api::BackupFromJson(o); b.ok()) backups.push_back(std::move(*b));
    }
  }
  bool first = true;
  for (const auto& b : backups) {
    if (!first) std::printf("\n\n");
    first = false;
    std::string details =
        DescribeVolumes(**c, b, f.details, std::chrono::seconds(f.timeout_seconds));
    if (f.details) {
      details += "\n" + FetchDetails(**c, api::DownloadTargetKind::kBackupResults,
                                     api::DownloadTargetKind::kBackupResourceList, b.metadata.name,
                                     std::chrono::seconds(f.timeout_seconds));
    }
    std::fputs(DescribeBackup(b, Now(), details).c_str(), stdout);
  }
  return 0;
}

struct DeleteFlags {
  std::vector<std::string> names;
  std::string selector;
  bool all = false, confirm = false;
};

int RunDelete(const DeleteFlags& f, const ClientFlags& cf) {
  if (f.names.empty() && f.selector.empty() && !f.all) {
    return PrintError("give the names of the backups to delete, --selector or --all");
  }
  auto c = Connect(cf);
  if (!c.ok()) return PrintError(Explain(c.status(), "delete", "backups", cf.namespace_name));
  std::vector<api::Backup> backups;
  if (!f.names.empty()) {
    for (const auto& n : f.names) {
      auto b = GetBackup(**c, n);
      if (!b.ok()) return PrintError(std::string(b.status().message()));
      backups.push_back(std::move(*b));
    }
  } else {
    auto list = ListObjects(**c, kBackups, f.selector);
    if (!list.ok()) return PrintError(std::string(list.status().message()));
    for (const auto& o : *list) {
      if (auto b = api::BackupFromJson(o); b.ok()) backups.push_back(std::move(*b));
    }
  }
  if (backups.empty()) {
    std::printf("No backups found\n");
    return 0;
  }
  if (!f.confirm &&
      !Confirm("You are about to delete " + std::to_string(backups.size()) +
               " backup(s) and all their data (backup files, snapshots, restores).")) {
    std::printf("Cancelled: nothing deleted (use --confirm to skip this question).\n");
    return 1;
  }
  int rc = 0;
  for (const auto& b : backups) {
    api::DeleteBackupRequest dbr;
    dbr.metadata.namespace_ = cf.namespace_name;
    dbr.metadata.generate_name = b.metadata.name.substr(0, 57) + "-";
    dbr.metadata.labels["velero.io/backup-name"] = b.metadata.name.substr(0, 63);
    if (!b.metadata.uid.empty()) dbr.metadata.labels["velero.io/backup-uid"] = b.metadata.uid;
    dbr.spec.backup_name = b.metadata.name;
    auto created =
        (*c)->dyn().Create(controller::kDeleteBackupRequests, cf.namespace_name, api::ToJson(dbr));
    if (!created.ok()) {
      rc = PrintError(
          Explain(created.status(), "create", "deletebackuprequests", cf.namespace_name));
      continue;
    }
    std::printf(
        "Request to delete backup \"%s\" submitted successfully.\nThe backup will be fully "
        "deleted after all associated data (disk snapshots, backup files, restores) are "
        "removed.\n",
        b.metadata.name.c_str());
  }
  return rc;
}

struct LogsFlags {
  std::string name;
  int timeout_seconds = 60;
};

int RunLogs(const LogsFlags& f, const ClientFlags& cf) {
  auto c = Connect(cf);
  if (!c.ok()) return PrintError(Explain(c.status(), "get", "backups", cf.namespace_name));
  auto b = GetBackup(**c, f.name);
  if (!b.ok()) return PrintError(std::string(b.status().message()));
  using P = api::BackupPhase;
  const P p = b->status.phase;
  if (p != P::kCompleted && p != P::kPartiallyFailed && p != P::kFailed) {
    return PrintError("logs for backup \"" + f.name +
                      "\" are not available until it's finished "
                      "processing (phase " +
                      BackupStatusText(*b) +
                      "); wait until the backup has "
                      "a phase of Completed, PartiallyFailed or Failed and try again");
  }
  auto text = DownloadText(**c, api::DownloadTargetKind::kBackupLog, f.name,
                           std::chrono::seconds(f.timeout_seconds));
  if (!text.ok()) return PrintError(std::string(text.status().message()));
  std::fwrite(text->data(), 1, text->size(), stdout);
  return 0;
}

struct DownloadFlags {
  std::string name, output;
  bool force = false;
  int timeout_seconds = 60;
};

// Velero's `backup download`: the backup's tarball as stored, to NAME-data.tar.gz.
int RunDownload(const DownloadFlags& f, const ClientFlags& cf) {
  const std::string path = f.output.empty() ? f.name + "-data.tar.gz" : f.output;
  if (!f.force && std::filesystem::exists(path)) {
    return PrintError("file \"" + path + "\" already exists; remove it or use --force");
  }
  auto c = Connect(cf);
  if (!c.ok()) return PrintError(Explain(c.status(), "get", "backups", cf.namespace_name));
  auto b = GetBackup(**c, f.name);
  if (!b.ok()) return PrintError(std::string(b.status().message()));
  auto data = DownloadBytes(**c, api::DownloadTargetKind::kBackupContents, f.name,
                            std::chrono::seconds(f.timeout_seconds));
  if (!data.ok()) return PrintError(std::string(data.status().message()));
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(data->data(), static_cast<std::streamsize>(data->size()));
  out.close();
  if (!out) return PrintError("writing \"" + path + "\" failed");
  std::printf("Backup %s has been successfully downloaded to %s\n", f.name.c_str(),
              std::filesystem::absolute(path).c_str());
  return 0;
}

void AddOutputFlag(CLI::App* cmd, std::string* output) {
  cmd->add_option("-o,--output", *output, "output format: table, json or yaml")
      ->check(CLI::IsMember({"table", "json", "yaml"}))
      ->capture_default_str();
}

}  // namespace

void AddBackupClientCommands(CLI::App* backup, int* exit_code) {
  {
    auto cf = std::make_shared<ClientFlags>();
    auto f = std::make_shared<BackupCreateFlags>();
    auto* cmd = backup->add_subcommand("create", "Create a backup (the server runs it)");
    cmd->add_option("name", f->name,
                    "the backup's name (default with --from-schedule: "
                    "<schedule>-<timestamp>)");
    BindClientFlags(cmd, cf.get());
    BindBackupTemplateFlags(cmd, &f->spec);
    cmd->add_option("--from-schedule", f->from_schedule,
                    "create the backup from this schedule's template");
    cmd->add_option("--labels", f->labels, "labels of the backup, k1=v1,k2=v2");
    cmd->add_option("--annotations", f->annotations, "annotations of the backup, k1=v1,k2=v2");
    cmd->add_flag("-w,--wait", f->wait, "wait for the backup to finish, showing its progress");
    cmd->add_option("-o,--output", f->output,
                    "print the Backup as json or yaml instead of creating it")
        ->check(CLI::IsMember({"json", "yaml"}));
    cmd->callback([=] { *exit_code = RunCreate(*f, *cf); });
  }
  {
    auto cf = std::make_shared<ClientFlags>();
    auto f = std::make_shared<GetFlags>();
    auto* cmd = backup->add_subcommand("get", "List backups");
    cmd->add_option("names", f->names, "backups to show (default: all)");
    cmd->add_option("-l,--selector", f->selector, "only backups with these labels");
    AddOutputFlag(cmd, &f->output);
    BindClientFlags(cmd, cf.get());
    cmd->callback([=] { *exit_code = RunGet(*f, *cf); });
  }
  {
    auto cf = std::make_shared<ClientFlags>();
    auto f = std::make_shared<DescribeFlags>();
    auto* cmd = backup->add_subcommand("describe", "Show a backup's spec and status");
    cmd->add_option("names", f->names, "backups to describe (default: all)");
    cmd->add_option("-l,--selector", f->selector, "only backups with these labels");
    cmd->add_flag("--details", f->details,
                  "also show the resource list and the errors and warnings");
    cmd->add_option("--timeout", f->timeout_seconds,
                    "seconds to wait for the server to provide the details")
        ->capture_default_str();
    BindClientFlags(cmd, cf.get());
    cmd->callback([=] { *exit_code = RunDescribe(*f, *cf); });
  }
  {
    auto cf = std::make_shared<ClientFlags>();
    auto f = std::make_shared<DeleteFlags>();
    auto* cmd = backup->add_subcommand("delete", "Delete backups and all their data");
    cmd->add_option("names", f->names, "backups to delete");
    cmd->add_option("-l,--selector", f->selector, "delete the backups with these labels");
    cmd->add_flag("--all", f->all, "delete all backups");
    cmd->add_flag("--confirm", f->confirm, "do not ask for confirmation");
    BindClientFlags(cmd, cf.get());
    cmd->callback([=] { *exit_code = RunDelete(*f, *cf); });
  }
  {
    auto cf = std::make_shared<ClientFlags>();
    auto f = std::make_shared<LogsFlags>();
    auto* cmd = backup->add_subcommand("logs", "Print a backup's log");
    cmd->add_option("name", f->name, "the backup")->required();
    cmd->add_option("--timeout", f->timeout_seconds,
                    "seconds to wait for the server to provide the log")
        ->capture_default_str();
    BindClientFlags(cmd, cf.get());
    cmd->callback([=] { *exit_code = RunLogs(*f, *cf); });
  }
  {
    auto cf = std::make_shared<ClientFlags>();
    auto f = std::make_shared<DownloadFlags>();
    auto* cmd = backup->add_subcommand("download", "Download a backup's tarball");
    cmd->add_option("name", f->name, "the backup")->required();
    cmd->add_option("-o,--output", f->output, "the file to write (default: NAME-data.tar.gz)");
    cmd->add_flag("--force", f->force, "overwrite an existing file");
    cmd->add_option("--timeout", f->timeout_seconds,
                    "seconds to wait for the server to provide the tarball")
        ->capture_default_str();
    BindClientFlags(cmd, cf.get());
    cmd->callback([=] { *exit_code = RunDownload(*f, *cf); });
  }
}

}  // namespace lifeboat::cli
