#pragma once

// The store's write-ahead log: length- and CRC-framed JSON records appended to one file.
// See docs/formats/kubesim-state.md.

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>

#include "lifeboat/common/status.h"

namespace kubesim {

using lifeboat::Status;
using lifeboat::StatusOr;

class Wal {
 public:
  // Opens `path` for appending (creating it).
  static StatusOr<std::unique_ptr<Wal>> Open(const std::filesystem::path& path, bool sync);
  ~Wal();

  Status Append(std::string_view payload);
  // Empties the log (after a checkpoint made its records redundant).
  Status Truncate();
  size_t size_bytes() const { return size_; }

  // Calls `fn` for each intact record of the log at `path`, in order. Stops at the first torn
  // or corrupt record (the tail a crash left) and reports how many bytes were dropped.
  static Status Replay(const std::filesystem::path& path,
                       const std::function<Status(std::string_view)>& fn, size_t* dropped_bytes);

 private:
  Wal(int fd, bool sync, size_t size) : fd_(fd), sync_(sync), size_(size) {}
  int fd_;
  bool sync_;
  size_t size_;
};

}  // namespace kubesim
