#pragma once

// The Velero-style client commands (src/cli, docs/cli.md): `backup create|get|describe|delete|
// logs` and `restore create|get|describe|delete|logs` under the existing `backup` / `restore`
// commands (AddBackupCommands / AddRestoreCommands must run first), `schedule ...`,
// `backup-location ...`, `snapshot-location ...`, `version`, `client config get|set` and
// `completion bash|zsh|fish` (which covers every command of `app`).

#include <CLI/CLI.hpp>

namespace lifeboat::cli {

void AddClientCommands(CLI::App& app, int* exit_code);

}  // namespace lifeboat::cli
