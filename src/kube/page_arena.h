#pragma once

// The memory arena of one list page (dynamic_client.cc): a bump allocator over fixed-size blocks
// that come from, and go back to, a small process-wide pool.
//
// Why not boost::json::monotonic_resource: a fresh monotonic_resource per page mallocs new
// blocks that grow to hundreds of KiB, which glibc serves with mmap and returns with munmap, so
// every page of a large list paid for page faults on fresh memory (zeroed by the kernel) and
// for the unmapping — about a third of the list path's CPU time on a busy 2-core machine. A
// PageArena takes blocks that earlier pages already touched and gives them back when the last
// item of its page is destroyed (it is held through boost::json::make_shared_resource, so the
// items' contract is unchanged: the arena lives as long as any of them).
//
// The pool keeps at most kMaxPooledBlocks free blocks (kBlockSize each, 8 MiB in all); blocks
// beyond that, and allocations larger than a block, go back to malloc. Thread safety: one arena
// is used by one thread at a time (the parser's, then the caller's); the pool is locked.

#include <cstddef>
#include <cstdint>
#include <vector>

#include <boost/json/memory_resource.hpp>

namespace lifeboat::kube {

class PageArena final : public boost::json::memory_resource {
 public:
  static constexpr std::size_t kBlockSize = 256 * 1024;
  static constexpr std::size_t kMaxPooledBlocks = 32;

  PageArena() = default;
  ~PageArena() override;
  PageArena(const PageArena&) = delete;
  PageArena& operator=(const PageArena&) = delete;

  // Bytes taken from blocks so far (tests).
  std::size_t allocated() const { return allocated_; }
  // Free blocks in the process-wide pool (tests).
  static std::size_t PooledBlocks();

 private:
  // The common case (fits in the current block) is a few instructions; the rest is in Refill.
  void* do_allocate(std::size_t n, std::size_t align) override {
    if ((align & (align - 1)) == 0 && align != 0) {
      const std::uintptr_t p = (reinterpret_cast<std::uintptr_t>(cur_) + align - 1) & ~(align - 1);
      if (cur_ != nullptr && p <= end_ && n <= end_ - p) {
        cur_ = reinterpret_cast<char*>(p + n);
        allocated_ += n;
        return reinterpret_cast<void*>(p);
      }
    }
    return Refill(n, align);
  }
  void* Refill(std::size_t n, std::size_t align);
  void do_deallocate(void*, std::size_t, std::size_t) override {}  // freed with the arena
  bool do_is_equal(const boost::json::memory_resource& other) const noexcept override {
    return this == &other;
  }

  std::vector<char*> blocks_;  // pool-sized blocks, returned to the pool
  std::vector<char*> large_;   // larger than a block: freed
  char* cur_ = nullptr;
  std::uintptr_t end_ = 0;  // of the current block
  std::size_t allocated_ = 0;
};

}  // namespace lifeboat::kube

namespace boost::json {
// Deallocation is a no-op: values in a PageArena skip their destructors' frees.
template <>
struct is_deallocate_trivial<lifeboat::kube::PageArena> {
  static constexpr bool value = true;
};
}  // namespace boost::json
