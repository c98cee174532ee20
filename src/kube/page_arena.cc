#include "src/kube/page_arena.h"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <mutex>
#include <new>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
// A pooled block is poisoned: under ASan, an item used after its page's arena died (a
// ListOptions::page_scoped item kept too long) is reported, not silently read from a reused block.
#define LB_POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define LB_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define LB_POISON(p, n) ((void)(p), (void)(n))
#define LB_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

namespace lifeboat::kube {
namespace {

struct BlockPool {
  std::mutex mu;
  std::vector<char*> free;

  char* Take() {
    {
      std::lock_guard lock(mu);
      if (!free.empty()) {
        char* b = free.back();
        free.pop_back();
        LB_UNPOISON(b, PageArena::kBlockSize);
        return b;
      }
    }
    void* p = std::malloc(PageArena::kBlockSize);
    if (p == nullptr) throw std::bad_alloc();
    return static_cast<char*>(p);
  }

  void Give(std::vector<char*>& blocks) {
    std::unique_lock lock(mu);
    while (!blocks.empty() && free.size() < PageArena::kMaxPooledBlocks) {
      LB_POISON(blocks.back(), PageArena::kBlockSize);
      free.push_back(blocks.back());
      blocks.pop_back();
    }
    lock.unlock();
    for (char* b : blocks) std::free(b);
    blocks.clear();
  }
};

BlockPool& Pool() {
  static BlockPool* pool = new BlockPool;  // never destroyed: arenas may outlive main()
  return *pool;
}

}  // namespace

PageArena::~PageArena() {
  Pool().Give(blocks_);
  for (char* b : large_) std::free(b);
}

std::size_t PageArena::PooledBlocks() {
  std::lock_guard lock(Pool().mu);
  return Pool().free.size();
}

void* PageArena::Refill(std::size_t n, std::size_t align) {
  if (align == 0 || (align & (align - 1)) != 0) align = alignof(std::max_align_t);
  if (n + align > kBlockSize / 4) {
    // Large (a big string or a long array's storage): its own allocation, so the current block
    // keeps serving small ones.
    const std::size_t a = std::max(align, alignof(std::max_align_t));
    large_.reserve(large_.size() + 1);
    void* p = std::aligned_alloc(a, (n + a - 1) / a * a);  // size: a multiple of the alignment
    if (p == nullptr) throw std::bad_alloc();
    large_.push_back(static_cast<char*>(p));
    allocated_ += n;
    return p;
  }
  blocks_.reserve(blocks_.size() + 1);  // before taking the block: nothing to leak on throw
  char* block = Pool().Take();
  blocks_.push_back(block);
  cur_ = block;
  end_ = reinterpret_cast<std::uintptr_t>(block) + kBlockSize;
  // A fresh block is aligned for max_align_t and n + align fits in it.
  const std::uintptr_t p = (reinterpret_cast<std::uintptr_t>(cur_) + align - 1) & ~(align - 1);
  cur_ = reinterpret_cast<char*>(p + n);
  allocated_ += n;
  return reinterpret_cast<void*>(p);
}

}  // namespace lifeboat::kube
