#pragma once

// Strict streaming gzip decoder for the archive reader: any number of concatenated members,
// nothing else. Private to module `archive`.

#include <zlib.h>

#include <cstdint>
#include <vector>

#include "lifeboat/archive/reader.h"
#include "lifeboat/common/byte_stream.h"
#include "lifeboat/common/status.h"

namespace lifeboat::archive {

class GzipStream {
 public:
  GzipStream(ByteSource* source, const ReaderLimits& limits);
  ~GzipStream();
  GzipStream(const GzipStream&) = delete;
  GzipStream& operator=(const GzipStream&) = delete;

  // Up to `n` decompressed bytes; 0 only after the last member ended exactly at the end of
  // the source. DataLoss for an empty or non-gzip source, a corrupt or truncated member,
  // bytes after a member that do not start another member, more than
  // max_total_bytes, or an expansion ratio over the limit (checked once past 1 MiB).
  StatusOr<size_t> Read(char* out, size_t n);

  int64_t compressed() const { return read_ - static_cast<int64_t>(z_.avail_in); }
  int64_t decompressed() const { return produced_; }

 private:
  enum class State { kStart, kInMember, kBetween, kEnd };
  // Reads more compressed bytes; false at the end of the source.
  StatusOr<bool> Fill();
  // At a member boundary: starts the next member, or ends the stream.
  Status StartMember();
  Status CheckLimits() const;

  ByteSource* source_;
  ReaderLimits limits_;
  z_stream z_{};
  bool z_ready_ = false;
  std::vector<char> in_;
  State state_ = State::kStart;
  bool source_eof_ = false;
  int64_t read_ = 0;
  int64_t produced_ = 0;
  int64_t members_ = 0;
};

}  // namespace lifeboat::archive
