#include "src/cli/client_config.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "lifeboat/common/json.h"

namespace lifeboat::cli {
namespace {

class ClientConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("lifeboat-client-config-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    path_ = (dir_ / ".config" / "velero" / "config.json").string();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;
  std::string path_;
};

TEST_F(ClientConfigTest, PathIsVelerosUnderHome) {
  const char* old = std::getenv("HOME");
  const std::string saved = old ? old : "";
  ::setenv("HOME", "/home/someone", 1);
  EXPECT_EQ(ClientConfigPath(), "/home/someone/.config/velero/config.json");
  ::setenv("HOME", saved.c_str(), 1);
}

TEST_F(ClientConfigTest, MissingFileIsEmpty) {
  auto c = LoadClientConfig(path_);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_TRUE(c->empty());
}

TEST_F(ClientConfigTest, SaveThenLoadRoundTripsAsJsonObject) {
  ASSERT_TRUE(
      SaveClientConfig(path_, {{"namespace", "backup-system"}, {"features", "EnableCSI"}}).ok());
  std::ifstream in(path_);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto parsed = ParseJson(text);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->at("namespace"), "backup-system");  // Velero reads the same file
  auto c = LoadClientConfig(path_);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->at("namespace"), "backup-system");
  EXPECT_EQ(c->at("features"), "EnableCSI");
}

TEST_F(ClientConfigTest, NonStringValuesKeptAsJsonText) {
  std::filesystem::create_directories(std::filesystem::path(path_).parent_path());
  std::ofstream(path_) << R"({"colorized": false, "namespace": "x"})";
  auto c = LoadClientConfig(path_);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->at("colorized"), "false");
}

TEST_F(ClientConfigTest, CorruptFileNamesTheFile) {
  std::filesystem::create_directories(std::filesystem::path(path_).parent_path());
  std::ofstream(path_) << "[1, 2";
  auto c = LoadClientConfig(path_);
  EXPECT_TRUE(absl::IsInvalidArgument(c.status()));
  EXPECT_NE(std::string(c.status().message()).find(path_), std::string::npos);
}

TEST(ApplyConfigAssignmentsTest, SetsRemovesAndWarns) {
  std::map<std::string, std::string> c{{"features", "EnableCSI"}};
  std::vector<std::string> warnings;
  ASSERT_TRUE(
      ApplyConfigAssignments({"namespace=ops", "features=", "colour=yes"}, &c, &warnings).ok());
  EXPECT_EQ(c, (std::map<std::string, std::string>{{"colour", "yes"}, {"namespace", "ops"}}));
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("\"colour\""), std::string::npos);
}

TEST(ApplyConfigAssignmentsTest, BadArgumentChangesNothing) {
  std::map<std::string, std::string> c{{"namespace", "a"}};
  auto s = ApplyConfigAssignments({"namespace=b", "oops"}, &c, nullptr);
  EXPECT_TRUE(absl::IsInvalidArgument(s));
  EXPECT_NE(std::string(s.message()).find("\"oops\""), std::string::npos);
  EXPECT_EQ(c.at("namespace"), "a");
  EXPECT_FALSE(ApplyConfigAssignments({"=x"}, &c, nullptr).ok());
  EXPECT_FALSE(ApplyConfigAssignments({}, &c, nullptr).ok());
}

TEST(FormatClientConfigTest, VelerosFormat) {
  std::map<std::string, std::string> c{{"namespace", "ops"}, {"features", "EnableCSI"}};
  EXPECT_EQ(FormatClientConfig(c, {}), "features: EnableCSI\nnamespace: ops\n");
  EXPECT_EQ(FormatClientConfig(c, {"namespace", "cacert"}), "namespace: ops\ncacert: <NOT SET>\n");
}

}  // namespace
}  // namespace lifeboat::cli
