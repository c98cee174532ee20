#pragma once

// `lifeboat completion bash|zsh|fish` (docs/cli.md): shell completion scripts generated from
// the CLI11 command tree, so every subcommand and flag at every level is offered, and the
// choices of flags with a fixed set of values (-o table|json|yaml, --access-mode, ...).
//
// Thread safety: pure functions of the (fully built) command tree.

#include <CLI/CLI.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "lifeboat/common/status.h"

namespace lifeboat::cli {

struct CompletionFlag {
  std::vector<std::string> names;  // "--output", "-o"
  std::string description;
  bool takes_value = false;
  std::vector<std::string> choices;  // from an IsMember check; empty: any value
};

struct CompletionNode {
  std::string path;                                              // "lifeboat backup create"
  std::vector<std::pair<std::string, std::string>> subcommands;  // name, description
  std::vector<CompletionFlag> flags;
  std::vector<std::string> arguments;  // choices of a positional with a fixed set (bash|zsh|fish)
};

// Every command of the tree under `root` (named `program`), parents before children. Hidden
// subcommands and options (empty group) and positionals are left out.
std::vector<CompletionNode> CompletionTree(const CLI::App& root, const std::string& program);

// The script for `shell` ("bash", "zsh" or "fish"); InvalidArgument for another shell.
StatusOr<std::string> CompletionScript(const CLI::App& root, std::string_view shell,
                                       const std::string& program = "lifeboat");

// Registers `completion SHELL` on `app` (the root: the script covers the whole tree).
void AddCompletionCommand(CLI::App& app, int* exit_code);

}  // namespace lifeboat::cli
