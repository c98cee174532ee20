#include "lifeboat/storage/registry.h"

#include <cstdlib>
#include <algorithm>
#include <filesystem>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace lifeboat::storage {
namespace {

namespace fs = std::filesystem;
using ::testing::Contains;
using ::testing::HasSubstr;

class RegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "lifeboat-registry-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    root_ = pattern;
    fs::create_directory(root_ / "bucket");
  }
  void TearDown() override { fs::remove_all(root_); }
  fs::path root_;
};

TEST_F(RegistryTest, CreatesTheLocalDriverWithOrWithoutVeleroPrefix) {
  for (std::string_view provider : {"local", "velero.io/local"}) {
    auto store = NewObjectStore(provider, {.config = {{"root", root_.string()}}});
    ASSERT_TRUE(store.ok()) << provider << ": " << store.status();
    ASSERT_TRUE(PutString(**store, "bucket", "k", std::string(provider)).ok());
    EXPECT_EQ(*GetString(**store, "bucket", "k"), provider);
  }
}

TEST_F(RegistryTest, UnknownProviderNamesTheKnownOnes) {
  auto store = NewObjectStore("velero.io/dropbox", {});
  EXPECT_EQ(store.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(store.status().message()), HasSubstr("\"velero.io/dropbox\""));
  EXPECT_THAT(std::string(store.status().message()), HasSubstr("local"));
  EXPECT_EQ(NewObjectStore("", {}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(NewObjectStore("velero.io/", {}).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(RegistryTest, DriverConfigErrorsAreAnnotatedWithTheProvider) {
  auto store = NewObjectStore("local", {.config = {{"nope", "x"}}});
  EXPECT_EQ(store.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(store.status().message()), HasSubstr("provider local"));
  EXPECT_THAT(std::string(store.status().message()), HasSubstr("nope"));
}

TEST_F(RegistryTest, KnownProvidersAreSortedAndIncludeLocal) {
  std::vector<std::string> known = KnownProviders();
  EXPECT_THAT(known, Contains("local"));
  EXPECT_TRUE(std::is_sorted(known.begin(), known.end()));
  for (const std::string& name : known) {
    EXPECT_FALSE(name.starts_with("velero.io/")) << name;
  }
}

TEST(ProcessEnvTest, ReadsTheProcessEnvironment) {
  ::setenv("LIFEBOAT_REGISTRY_TEST_VAR", "value-1", 1);
  EnvLookup env = ProcessEnv();
  EXPECT_EQ(env("LIFEBOAT_REGISTRY_TEST_VAR"), "value-1");
  ::unsetenv("LIFEBOAT_REGISTRY_TEST_VAR");
  EXPECT_EQ(env("LIFEBOAT_REGISTRY_TEST_VAR"), std::nullopt);
}

}  // namespace
}  // namespace lifeboat::storage
