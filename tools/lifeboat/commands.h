#pragma once

// The subcommands of the lifeboat binary. Each Add* registers its commands; the command runs
// from its callback and leaves its exit code in *exit_code.

#include <CLI/CLI.hpp>

namespace lifeboat::cli {

void AddBackupCommands(CLI::App& app, int* exit_code);
void AddRestoreCommands(CLI::App& app, int* exit_code);
void AddServerCommand(CLI::App& app, int* exit_code);

}  // namespace lifeboat::cli
