// lifeboat: one binary. `lifeboat install` / `uninstall` set a cluster up (docs/install.md),
// `lifeboat server` runs the controllers (docs/server.md); `lifeboat backup run` and
// `lifeboat restore run` run the engines in-process (no server needed) between a kubeconfig's
// cluster and a local-directory bucket; the Velero-style client commands (`backup create`, `get`,
// `describe`, `logs`, ..., docs/cli.md) create objects for the server and read their status.

#include <cstdio>
#include <string>

#include <CLI/CLI.hpp>

#include "lifeboat/common/log.h"
#include "tools/lifeboat/client_commands.h"
#include "tools/lifeboat/commands.h"
#include "tools/lifeboat/install_command.h"

int main(int argc, char** argv) {
  CLI::App app{"lifeboat: Kubernetes backup and restore, speaking Velero's API and formats"};
  app.require_subcommand(1);
  std::string log_level = "warn";
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error")->capture_default_str();
  std::string log_format = "text";
  app.add_option("--log-format", log_format, "text or json (one JSON object per line)")
      ->capture_default_str()
      ->check(CLI::IsMember({"text", "json"}));
  app.parse_complete_callback([&] {
    if (auto s = lifeboat::log::Init(log_level, log_format); !s.ok()) {
      std::fprintf(stderr, "lifeboat: %s\n", std::string(s.message()).c_str());
      std::exit(2);
    }
  });
  int exit_code = 2;
  lifeboat::cli::AddBackupCommands(app, &exit_code);
  lifeboat::cli::AddRestoreCommands(app, &exit_code);
  lifeboat::cli::AddServerCommand(app, &exit_code);
  lifeboat::cli::AddInstallCommands(app, &exit_code);
  lifeboat::cli::AddClientCommands(app, &exit_code);  // after AddBackup/RestoreCommands
  CLI11_PARSE(app, argc, argv);
  return exit_code;
}
