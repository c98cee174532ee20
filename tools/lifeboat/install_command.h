#pragma once

// `lifeboat install` and `lifeboat uninstall` (src/cli/install.h, docs/install.md). Like the other
// Add* functions of commands.h: registers the commands; each runs from its callback and leaves
// its exit code in *exit_code.

#include <CLI/CLI.hpp>

namespace lifeboat::cli {

void AddInstallCommands(CLI::App& app, int* exit_code);

}  // namespace lifeboat::cli
