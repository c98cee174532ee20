// `lifeboat schedule ...` and `lifeboat version`: the commands (schedule_commands.h).

#include <chrono>
#include <cstdio>
#include <memory>
#include <thread>

#include "lifeboat/api/server_status_request.h"
#include "lifeboat/controller/kinds.h"
#include "src/cli/client.h"
#include "src/cli/output.h"
#include "src/cli/schedule_commands.h"

namespace lifeboat::cli {
namespace json = boost::json;
using controller::kSchedules;

namespace {

api::TimePoint Now() { return std::chrono::system_clock::now(); }

struct ListFlags {
  std::vector<std::string> names;
  std::string selector, output = "table";
  bool confirm = false, all = false;
};

StatusOr<std::vector<api::Schedule>> Select(ApiClient& c, const ListFlags& f,
                                            std::vector<json::value>* raw = nullptr) {
  std::vector<json::value> objects;
  if (f.names.empty()) {
    LIFEBOAT_ASSIGN_OR_RETURN(objects, ListObjects(c, kSchedules, f.selector));
  } else {
    for (const auto& n : f.names) {
      LIFEBOAT_ASSIGN_OR_RETURN(auto v, GetObject(c, kSchedules, "schedule", n));
      objects.push_back(std::move(v));
    }
  }
  std::vector<api::Schedule> out;
  for (const auto& o : objects) {
    if (auto s = api::ScheduleFromJson(o); s.ok()) out.push_back(std::move(*s));
  }
  if (raw) *raw = std::move(objects);
  return out;
}

int RunCreate(const ScheduleCreateFlags& f, const ClientFlags& cf) {
  auto s = BuildSchedule(f, cf.namespace_name);
  if (!s.ok()) return PrintError(std::string(s.status().message()));
  if (!f.output.empty()) {
    auto text = FormatObjects({api::ToJson(*s)}, true, f.output);
    if (!text.ok()) return PrintError(std::string(text.status().message()));
    std::fputs(text->c_str(), stdout);
    return 0;
  }
  auto c = Connect(cf);
  if (!c.ok()) return PrintError(Explain(c.status(), "create", "schedules", cf.namespace_name));
  auto created = (*c)->dyn().Create(kSchedules, cf.namespace_name, api::ToJson(*s));
  if (!created.ok()) {
    if (absl::IsAlreadyExists(created.status())) {
      return PrintError("schedule \"" + f.name + "\" already exists");
    }
    return PrintError(Explain(created.status(), "create", "schedules", cf.namespace_name));
  }
  std::printf("Schedule \"%s\" created successfully.\n", f.name.c_str());
  return 0;
}

int RunGet(const ListFlags& f, const ClientFlags& cf) {
  auto c = Connect(cf);
  if (!c.ok()) return PrintError(Explain(c.status(), "list", "schedules", cf.namespace_name));
  std::vector<json::value> raw;
  auto s = Select(**c, f, &raw);
  if (!s.ok()) return PrintError(std::string(s.status().message()));
  if (f.output != "table") {
    auto text = FormatObjects(raw, f.names.size() == 1, f.output);
    if (!text.ok()) return PrintError(std::string(text.status().message()));
    std::fputs(text->c_str(), stdout);
    return 0;
  }
  std::fputs(ScheduleTable(std::move(*s), Now()).c_str(), stdout);
  return 0;
}

int RunDescribe(const ListFlags& f, const ClientFlags& cf) {
  auto c = Connect(cf);
  if (!c.ok()) return PrintError(Explain(c.status(), "get", "schedules", cf.namespace_name));
  auto s = Select(**c, f);
  if (!s.ok()) return PrintError(std::string(s.status().message()));
  bool first = true;
  for (const auto& one : *s) {
    if (!first) std::printf("\n\n");
    first = false;
    std::fputs(DescribeSchedule(one, Now()).c_str(), stdout);
  }
  return 0;
}

int RunDelete(const ListFlags& f, const ClientFlags& cf) {
  if (f.names.empty() && f.selector.empty() && !f.all) {
    return PrintError("give the names of the schedules to delete, --selector or --all");
  }
  auto c = Connect(cf);
  if (!c.ok()) return PrintError(Explain(c.status(), "delete", "schedules", cf.namespace_name));
  auto s = Select(**c, f);
  if (!s.ok()) return PrintError(std::string(s.status().message()));
  if (s->empty()) {
    std::printf("No schedules found\n");
    return 0;
  }
  if (!f.confirm && !Confirm("You are about to delete " + std::to_string(s->size()) +
                             " schedule(s) (their backups are kept).")) {
    std::printf("Cancelled: nothing deleted (use --confirm to skip this question).\n");
    return 1;
  }
  int rc = 0;
  for (const auto& one : *s) {
    auto deleted = (*c)->dyn().Delete(kSchedules, cf.namespace_name, one.metadata.name);
    if (!deleted.ok() && !absl::IsNotFound(deleted.status())) {
      rc = PrintError(Explain(deleted.status(), "delete", "schedules", cf.namespace_name));
      continue;
    }
    std::printf("Schedule deleted: %s\n", one.metadata.name.c_str());
  }
  return rc;
}

int RunPause(const ListFlags& f, const ClientFlags& cf, bool pause) {
  if (f.names.empty() && f.selector.empty() && !f.all) {
    return PrintError(std::string("give the names of the schedules to ") +
                      (pause ? "pause" : "unpause") + ", --selector or --all");
  }
  auto c = Connect(cf);
  if (!c.ok()) return PrintError(Explain(c.status(), "patch", "schedules", cf.namespace_name));
  auto s = Select(**c, f);
  if (!s.ok()) return PrintError(std::string(s.status().message()));
  int rc = 0;
  for (const auto& one : *s) {
    const std::string& name = one.metadata.name;
    if (one.spec.paused == pause) {
      std::printf("Schedule \"%s\" is already %s, skipping.\n", name.c_str(),
                  pause ? "paused" : "unpaused");
      continue;
    }
    auto patched = controller::MergePatch((*c)->dyn(), kSchedules, cf.namespace_name, name,
                                          json::object{{"spec", json::object{{"paused", pause}}}});
    if (!patched.ok()) {
      rc = PrintError(Explain(patched.status(), "patch", "schedules", cf.namespace_name));
      continue;
    }
    std::printf("Schedule \"%s\" %s successfully.\n", name.c_str(), pause ? "paused" : "unpaused");
  }
  return rc;
}

struct VersionFlags {
  bool client_only = false;
  int timeout_seconds = 5;
};

int RunVersion(const VersionFlags& f, const ClientFlags& cf) {
  std::printf("Client:\n\tVersion: %s\n", ClientVersion().c_str());
  std::fflush(stdout);
  if (f.client_only) return 0;
  auto c = Connect(cf);
  if (!c.ok()) {
    return PrintError("getting the server version: " +
                      Explain(c.status(), "create", "serverstatusrequests", cf.namespace_name));
  }
  api::ServerStatusRequest req;
  req.metadata.namespace_ = cf.namespace_name;
  req.metadata.generate_name = "lifeboat-cli-";
  auto created =
      (*c)->dyn().Create(controller::kServerStatusRequests, cf.namespace_name, api::ToJson(req));
  if (!created.ok()) {
    return PrintError("getting the server version: " + Explain(created.status(), "create",
                                                               "serverstatusrequests",
                                                               cf.namespace_name));
  }
  const std::string name(created->at("metadata").at("name").as_string());
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(f.timeout_seconds);
  std::optional<api::ServerStatusRequest> answered;
  while (true) {
    auto got = controller::GetIfExists((*c)->dyn(), controller::kServerStatusRequests,
                                       cf.namespace_name, name);
    if (got.ok() && *got) {
      auto ssr = api::ServerStatusRequestFromJson(**got);
      if (ssr.ok() && ssr->status.phase == api::ServerStatusRequestPhase::kProcessed) {
        answered = std::move(*ssr);
        break;
      }
    }
    if (std::chrono::steady_clock::now() >= deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  (void)(*c)->dyn().Delete(controller::kServerStatusRequests, cf.namespace_name, name);
  if (!answered) {
    std::printf("Server:\n\tVersion: <unknown>\n");
    return PrintError("no lifeboat server answered in namespace \"" + cf.namespace_name +
                      "\" within " + std::to_string(f.timeout_seconds) + "s. " +
                      NoServerHint(cf.namespace_name));
  }
  std::printf("Server:\n\tVersion: %s\n", answered->status.server_version.c_str());
  return 0;
}

}  // namespace

void AddScheduleCommands(CLI::App& app, int* exit_code) {
  auto* schedule = app.add_subcommand("schedule", "Create and manage backup schedules");
  schedule->require_subcommand(1);
  {
    auto cf = std::make_shared<ClientFlags>();
    auto f = std::make_shared<ScheduleCreateFlags>();
    auto* cmd = schedule->add_subcommand("create", "Create a schedule of backups");
    cmd->add_option("name", f->name, "the schedule's name")->required();
    cmd->add_option("--schedule", f->schedule,
                    "when to back up: a cron expression in UTC (\"0 1 * * *\") or \"@every 6h\"")
        ->required();
    BindBackupTemplateFlags(cmd, &f->spec);
    cmd->add_option("--labels", f->labels, "labels of the schedule and its backups, k1=v1,k2=v2");
    cmd->add_option("--annotations", f->annotations, "annotations of the schedule, k1=v1,k2=v2");
    cmd->add_flag("--paused", f->paused, "create the schedule paused");
    cmd->add_flag("--skip-immediately", f->skip_immediately,
                  "skip the backup a new or unpaused schedule would take at once")
        ->check(CLI::IsMember({"true", "false"}));
    cmd->add_flag("--use-owner-references-in-backup", f->use_owner_references_in_backup,
                  "make the schedule the owner of its backups (deleting it deletes them)");
    cmd->add_option("-o,--output", f->output,
                    "print the Schedule as json or yaml instead of creating it")
        ->check(CLI::IsMember({"json", "yaml"}));
    BindClientFlags(cmd, cf.get());
    cmd->callback([=] { *exit_code = RunCreate(*f, *cf); });
  }
  struct Spec {
    const char* name;
    const char* help;
    int mode;  // 0 get, 1 describe, 2 delete, 3 pause, 4 unpause
  };
  for (const Spec& spec :
       {Spec{"get", "List schedules", 0}, Spec{"describe", "Show a schedule's spec and status", 1},
        Spec{"delete", "Delete schedules (their backups are kept)", 2},
        Spec{"pause", "Pause schedules", 3}, Spec{"unpause", "Unpause schedules", 4}}) {
    auto cf = std::make_shared<ClientFlags>();
    auto f = std::make_shared<ListFlags>();
    auto* cmd = schedule->add_subcommand(spec.name, spec.help);
    cmd->add_option("names", f->names, "schedules (default: all for get and describe)");
    cmd->add_option("-l,--selector", f->selector, "only schedules with these labels");
    if (spec.mode == 0) {
      cmd->add_option("-o,--output", f->output, "output format: table, json or yaml")
          ->check(CLI::IsMember({"table", "json", "yaml"}))
          ->capture_default_str();
    }
    if (spec.mode >= 2) cmd->add_flag("--all", f->all, "all schedules");
    if (spec.mode == 2) cmd->add_flag("--confirm", f->confirm, "do not ask for confirmation");
    BindClientFlags(cmd, cf.get());
    const int mode = spec.mode;
    cmd->callback([=] {
      switch (mode) {
        case 0:
          *exit_code = RunGet(*f, *cf);
          break;
        case 1:
          *exit_code = RunDescribe(*f, *cf);
          break;
        case 2:
          *exit_code = RunDelete(*f, *cf);
          break;
        default:
          *exit_code = RunPause(*f, *cf, mode == 3);
          break;
      }
    });
  }
}

void AddVersionCommand(CLI::App& app, int* exit_code) {
  auto cf = std::make_shared<ClientFlags>();
  auto f = std::make_shared<VersionFlags>();
  auto* cmd = app.add_subcommand("version", "Print the client's and the server's versions");
  cmd->add_flag("--client-only", f->client_only, "only the client's version");
  cmd->add_option("--timeout", f->timeout_seconds, "seconds to wait for the server to answer")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  BindClientFlags(cmd, cf.get());
  cmd->callback([=] { *exit_code = RunVersion(*f, *cf); });
}

}  // namespace lifeboat::cli
