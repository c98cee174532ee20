#pragma once

// The conformance suite every ObjectStore driver passes (after restic's
// internal/backend/test/suite.go and kopia's blobtesting/verify.go). A driver's test
// instantiates it with a setup function that returns a store and a fresh, empty bucket:
//
//   INSTANTIATE_TEST_SUITE_P(Azurite, ObjectStoreConformanceTest,
//                            ::testing::Values(ConformanceParam{
//                                .name = "Azurite", .setup = [] { return MakeTarget(); }}),
//                            ConformanceParamName);
//
// and links the CMake target `storage_conformance`, whose source is compiled into the test
// binary itself (so the TEST_Ps are always registered, whatever the linker keeps).
//
// A setup that returns Unimplemented makes each test GTEST_SKIP with its message (use it when
// an emulator binary is not installed); any other error fails the test.

#include <cstdint>
#include <functional>
#include <memory>
#include <ostream>
#include <string>

#include "gtest/gtest.h"
#include "lifeboat/common/status.h"
#include "lifeboat/storage/object_store.h"

namespace lifeboat::storage::testing {

struct ConformanceTarget {
  std::unique_ptr<ObjectStore> store;
  std::string bucket;
  // Runs after the test (stop an emulator, remove a temp dir); may be empty.
  std::function<void()> cleanup;
};

struct ConformanceParam {
  std::string name;                                    // gtest-safe: [A-Za-z0-9_]
  std::function<StatusOr<ConformanceTarget>()> setup;  // a store + an existing, EMPTY bucket
  int64_t large_object_bytes = 64 << 20;               // the large streaming put/get cases
  bool signed_url_fetchable = true;  // GET CreateSignedUrl's URL (file:// URLs: read the file)
  int many_keys = 1100;              // keys for the paging case (> 1,000: one S3 page)
};

// gtest prints the parameter's name (not its bytes) in test failures.
inline void PrintTo(const ConformanceParam& param, std::ostream* os) { *os << param.name; }

class ObjectStoreConformanceTest : public ::testing::TestWithParam<ConformanceParam> {
 protected:
  void SetUp() override;
  void TearDown() override;

  ObjectStore& store() { return *target_.store; }
  const std::string& bucket() const { return target_.bucket; }

  // Helpers that fail the test (ADD_FAILURE) and return an empty value on error.
  void Put(const std::string& key, const std::string& data);
  std::string Get(const std::string& key, const GetOptions& options = {});
  // The object fetched through CreateSignedUrl (HTTP GET or file read).
  StatusOr<std::string> FetchSignedUrl(const std::string& key);

  ConformanceTarget target_;
};

std::string ConformanceParamName(const ::testing::TestParamInfo<ConformanceParam>& info);

}  // namespace lifeboat::storage::testing
