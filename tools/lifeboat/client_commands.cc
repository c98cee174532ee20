#include "tools/lifeboat/client_commands.h"

#include "src/cli/backup_commands.h"
#include "src/cli/client_config.h"
#include "src/cli/completion.h"
#include "src/cli/location_commands.h"
#include "src/cli/restore_commands.h"
#include "src/cli/schedule_commands.h"

namespace lifeboat::cli {

void AddClientCommands(CLI::App& app, int* exit_code) {
  AddBackupClientCommands(app.get_subcommand("backup"), exit_code);
  AddRestoreClientCommands(app.get_subcommand("restore"), exit_code);
  AddScheduleCommands(app, exit_code);
  AddLocationCommands(app, exit_code);
  AddVersionCommand(app, exit_code);
  AddClientConfigCommands(app, exit_code);
  // The script is generated from the whole tree when the command runs, so every command
  // registered anywhere (before or after this call) is covered.
  AddCompletionCommand(app, exit_code);
}

}  // namespace lifeboat::cli
