#include "src/cli/completion.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace lifeboat::cli {
namespace {

// A small tree shaped like lifeboat's.
struct TestApp {
  CLI::App app{"test"};
  std::string output = "table", ns, secret;
  bool wait = false;
  TestApp() {
    app.add_option("--log-level", ns, "level");
    auto* backup = app.add_subcommand("backup", "Backups");
    auto* create = backup->add_subcommand("create", "Create a backup");
    create->add_option("name", ns, "the name");
    create->add_flag("-w,--wait", wait, "wait for it");
    create->add_option("-o,--output", output, "format")->check(CLI::IsMember({"json", "yaml"}));
    backup->add_subcommand("get", "List backups");
    app.add_subcommand("backup-location", "Locations")->add_subcommand("delete", "Delete");
    app.add_subcommand("secret", "hidden")->group("");
    auto* completion = app.add_subcommand("completion", "Scripts");
    completion->add_option("shell", secret, "shell")->check(CLI::IsMember({"bash", "zsh", "fish"}));
    app.add_option("--hidden-flag", secret, "x")->group("");
  }
};

const CompletionNode* Find(const std::vector<CompletionNode>& tree, const std::string& path) {
  for (const auto& n : tree) {
    if (n.path == path) return &n;
  }
  return nullptr;
}

TEST(CompletionTreeTest, EveryLevelWithFlagsAndChoices) {
  TestApp t;
  auto tree = CompletionTree(t.app, "lifeboat");
  ASSERT_EQ(tree.front().path, "lifeboat");
  std::vector<std::string> subs;
  for (const auto& [name, desc] : tree.front().subcommands) subs.push_back(name);
  EXPECT_EQ(subs, (std::vector<std::string>{"backup", "backup-location",
                                            "completion"}));  // hidden left out
  for (const auto& f : tree.front().flags) {
    EXPECT_EQ(std::find(f.names.begin(), f.names.end(), "--hidden-flag"), f.names.end());
  }
  const auto* create = Find(tree, "lifeboat backup create");
  ASSERT_NE(create, nullptr);
  bool saw_output = false, saw_wait = false;
  for (const auto& f : create->flags) {
    if (f.names == std::vector<std::string>{"--output", "-o"}) {
      saw_output = true;
      EXPECT_TRUE(f.takes_value);
      EXPECT_EQ(f.choices, (std::vector<std::string>{"json", "yaml"}));
    }
    if (f.names == std::vector<std::string>{"--wait", "-w"}) {
      saw_wait = true;
      EXPECT_FALSE(f.takes_value);
    }
  }
  EXPECT_TRUE(saw_output && saw_wait);
  ASSERT_NE(Find(tree, "lifeboat backup-location delete"), nullptr);
  EXPECT_EQ(Find(tree, "lifeboat secret"), nullptr);
  EXPECT_EQ(Find(tree, "lifeboat completion")->arguments,
            (std::vector<std::string>{"bash", "zsh", "fish"}));
}

TEST(CompletionScriptTest, ShellsAndErrors) {
  TestApp t;
  auto bash = CompletionScript(t.app, "bash");
  ASSERT_TRUE(bash.ok());
  EXPECT_NE(bash->find("'lifeboat backup') echo 'create get' ;;"), std::string::npos) << *bash;
  EXPECT_NE(
      bash->find(
          "'lifeboat backup create|--output'|'lifeboat backup create|-o') echo 'json yaml' ;;"),
      std::string::npos)
      << *bash;
  EXPECT_NE(bash->find("complete -o default -F _lifeboat lifeboat"), std::string::npos);
  auto zsh = CompletionScript(t.app, "zsh");
  ASSERT_TRUE(zsh.ok());
  EXPECT_EQ(zsh->rfind("#compdef lifeboat\n", 0), 0u);
  EXPECT_NE(zsh->find("'create:Create a backup'"), std::string::npos);
  auto fish = CompletionScript(t.app, "fish");
  ASSERT_TRUE(fish.ok());
  EXPECT_NE(
      fish->find("complete -c lifeboat -n '__lifeboat_at \\'lifeboat backup\\'' -f -a 'create' "
                 "-d 'Create a backup'"),
      std::string::npos)
      << *fish;
  EXPECT_NE(fish->find("-l 'output' -s 'o' -x -a 'json yaml' -d 'format'"), std::string::npos);
  auto bad = CompletionScript(t.app, "powershell");
  EXPECT_TRUE(absl::IsInvalidArgument(bad.status()));
  EXPECT_NE(std::string(bad.status().message()).find("bash, zsh, fish"), std::string::npos);
}

}  // namespace
}  // namespace lifeboat::cli
