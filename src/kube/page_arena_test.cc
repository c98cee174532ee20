#include "src/kube/page_arena.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include <boost/json.hpp>

#include "gtest/gtest.h"

namespace lifeboat::kube {
namespace {

namespace json = boost::json;

TEST(PageArenaTest, ParsesIntoTheArenaAndItemsKeepItAlive) {
  std::optional<json::value> item;
  {
    json::storage_ptr sp = json::make_shared_resource<PageArena>();
    EXPECT_TRUE(sp.is_deallocate_trivial());
    json::value list = json::parse(
        R"({"items":[{"metadata":{"name":"a","labels":{"x":"y"}}},{"metadata":{"name":"b"}}]})", sp);
    // (sp.get() is Boost's shared_resource_impl holding the arena, not a PageArena: the arena's
    // own counters are checked in the tests below.)
    EXPECT_EQ(list.storage().get(), sp.get());
    // Move-constructed: the item keeps the page's storage (moved, not copied).
    item.emplace(std::move(list.at("items").as_array()[1]));
    EXPECT_EQ(item->storage().get(), sp.get());
  }
  // The list and the storage_ptr are gone; the item still owns the arena.
  EXPECT_EQ(item->at("metadata").at("name").as_string(), "b");
  EXPECT_EQ(item->at("metadata").at("name").storage().get(), item->storage().get());
}

TEST(PageArenaTest, AlignsAndServesLargeAllocations) {
  PageArena arena;
  for (size_t align : {1, 2, 8, 16, 64}) {
    void* p = arena.allocate(3, align);
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(p) % align, 0u) << align;
  }
  // Larger than a block: its own allocation, fully writable.
  const size_t big = PageArena::kBlockSize * 3;
  char* p = static_cast<char*>(arena.allocate(big, 16));
  p[0] = 1;
  p[big - 1] = 2;
  // Many small allocations cross block boundaries without overlapping.
  char* prev = nullptr;
  for (int i = 0; i < 100000; ++i) {
    char* q = static_cast<char*>(arena.allocate(24, 8));
    q[0] = static_cast<char>(i);
    q[23] = static_cast<char>(i);
    if (prev != nullptr) {
      EXPECT_NE(prev, q);
    }
    prev = q;
  }
  EXPECT_GE(arena.allocated(), big + 100000u * 24);
}

TEST(PageArenaTest, BlocksGoBackToABoundedPool) {
  {
    PageArena a;
    for (int i = 0; i < 100; ++i) a.allocate(PageArena::kBlockSize / 8, 8);  // ~13 blocks
  }
  const size_t pooled = PageArena::PooledBlocks();
  EXPECT_GE(pooled, 12u);
  {
    // Reuses pooled blocks: the pool shrinks while the arena lives.
    PageArena a;
    a.allocate(64, 8);
    EXPECT_EQ(PageArena::PooledBlocks(), pooled - 1);
  }
  EXPECT_EQ(PageArena::PooledBlocks(), pooled);
  {
    PageArena a;
    // Four allocations per block: twice as many blocks as the pool keeps, whatever it held.
    for (size_t i = 0; i < 8 * PageArena::kMaxPooledBlocks; ++i) {
      a.allocate(PageArena::kBlockSize / 4 - 64, 8);
    }
  }
  EXPECT_EQ(PageArena::PooledBlocks(), PageArena::kMaxPooledBlocks);
}

TEST(PageArenaTest, PlainStoragePtrSkipsCountsAndDestructors) {
  auto arena = std::make_shared<PageArena>();
  json::storage_ptr sp(arena.get());
  EXPECT_FALSE(sp.is_shared());
  EXPECT_TRUE(sp.is_deallocate_trivial());
  json::value list = json::parse(R"({"items":[{"metadata":{"name":"a"}}]})", sp);
  json::value item = std::move(list.at("items").as_array()[0]);
  EXPECT_EQ(item.storage().get(), arena.get());
  const json::value& shared_copy = item;  // (a copy would share the arena, uncounted)
  EXPECT_EQ(shared_copy.at("metadata").at("name").as_string(), "a");
}

#if defined(__SANITIZE_ADDRESS__)
// Under ASan, pooled blocks are poisoned: a page-scoped item used after its arena died is
// reported instead of reading a block another page reuses.
TEST(PageArenaDeathTest, UseAfterTheArenaDiedIsReportedUnderAsan) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        const char* p = nullptr;
        {
          PageArena arena;
          char* q = static_cast<char*>(arena.allocate(16, 8));
          q[0] = 'x';
          p = q;
        }
        volatile char c = *p;
        (void)c;
      },
      "use-after-poison");
}
#endif

}  // namespace
}  // namespace lifeboat::kube
