#include "src/kube/page_arena.h"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <mutex>
#include <new>

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

void* PageArena::do_allocate(std::size_t n, std::size_t align) {
  if (align == 0 || (align & (align - 1)) != 0) align = alignof(std::max_align_t);
  auto fits = [&]() -> void* {
    if (cur_ == nullptr) return nullptr;
    const std::uintptr_t p = reinterpret_cast<std::uintptr_t>(cur_);
    const std::size_t pad = (align - (p & (align - 1))) & (align - 1);
    if (pad > left_ || n > left_ - pad) return nullptr;
    char* out = cur_ + pad;
    cur_ = out + n;
    left_ -= pad + n;
    allocated_ += n;
    return out;
  };
  if (void* p = fits()) return p;
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
  cur_ = Pool().Take();
  left_ = kBlockSize;
  blocks_.push_back(cur_);
  void* p = fits();
  if (p == nullptr) throw std::bad_alloc();  // unreachable: n + align <= kBlockSize / 4
  return p;
}

}  // namespace lifeboat::kube
