#include "src/storage/testing/in_memory_object_store.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "src/storage/testing/object_store_conformance.h"

namespace lifeboat::storage::testing {
namespace {

INSTANTIATE_TEST_SUITE_P(
    InMemory, ObjectStoreConformanceTest,
    ::testing::Values(ConformanceParam{
        .name = "InMemory",
        .setup = []() -> StatusOr<ConformanceTarget> {
          return ConformanceTarget{std::make_unique<InMemoryObjectStore>(
                                       std::initializer_list<std::string>{"bucket"}),
                                   "bucket"};
        },
        .large_object_bytes = 8 << 20,
        .signed_url_fetchable = false,
    }),
    ConformanceParamName);

TEST(InMemoryObjectStoreTest, MissingBucketIsFailedPrecondition) {
  InMemoryObjectStore store;
  EXPECT_EQ(PutString(store, "nope", "k", "v").code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(store.Exists("nope", "k").status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(store.ListObjects("nope", "").status().code(),
            absl::StatusCode::kFailedPrecondition);
  std::string out;
  auto sink = StringSink(&out);
  EXPECT_EQ(store.Get("nope", "k", *sink).code(), absl::StatusCode::kFailedPrecondition);
}

TEST(InMemoryObjectStoreTest, ContentsShowsEveryObject) {
  InMemoryObjectStore store({"b"});
  ASSERT_TRUE(PutString(store, "b", "x/1", "one").ok());
  ASSERT_TRUE(PutString(store, "b", "x/2", "two").ok());
  EXPECT_THAT(store.Contents("b"),
              ::testing::ElementsAre(::testing::Pair("x/1", "one"), ::testing::Pair("x/2", "two")));
  EXPECT_TRUE(store.Contents("other").empty());
}

}  // namespace
}  // namespace lifeboat::storage::testing
