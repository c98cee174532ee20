#pragma once

// Streaming writer of Velero-compatible backup tarballs (docs/formats/backup-archive.md).
//
// The tar stream is what Go's archive/tar writes for Velero's headers (USTAR, with the USTAR
// prefix field or a PAX "path" record for names longer than 100 bytes). The gzip layer is a
// series of complete gzip members (pigz-style): the tar stream is cut every
// WriterOptions::member_bytes bytes and each piece is compressed on one of `threads` worker
// threads; members are written to the sink in order. gzip -d, Go's gzip.Reader (Velero's
// restore) and Python's gzip/tarfile read multi-member files as one stream.
//
// The tar stream is a pure function of the entries in order and `mtime`: the same cluster state
// gives the same archive content. With Compressor::kLibdeflate the output bytes are a pure
// function of (entries in order, options, the points where Checkpoint was called); with
// kFastest they are for a given build and CPU type (ISA-L picks its code by CPU features).
// Checkpoint changes only the gzip framing, never the tar stream.
//
// Checkpoints (crash safety, docs/backup.md "Checkpoints and resume"): after Checkpoint() the
// sink holds a complete multi-member gzip file whose content is a tar stream cut at an entry
// boundary (no end-of-archive blocks). A writer created later on a sink that appends to such a
// prefix continues the same tar stream; its Finish writes the end blocks, and the whole file
// reads as one archive.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "lifeboat/common/byte_stream.h"
#include "lifeboat/common/status.h"

namespace lifeboat::archive {

// The DEFLATE encoder of the gzip members (any of them reads back the same way).
enum class Compressor {
  // libdeflate at WriterOptions::level.
  kLibdeflate,
  // Intel ISA-L's igzip at its level 1 when Lifeboat was built with it (libisal-dev; see
  // FastCompressorAvailable): on backup tar streams about 5x less CPU than libdeflate at
  // level 6, output about 30% larger. Without ISA-L, libdeflate at WriterOptions::level.
  kFastest,
};

// True when Compressor::kFastest uses ISA-L in this build.
bool FastCompressorAvailable();

struct WriterOptions {
  // libdeflate compression level, 1 (fastest) .. 12 (smallest).
  int level = 6;
  Compressor compressor = Compressor::kLibdeflate;
  // Worker threads compressing members in parallel (>= 1).
  int threads = 2;
  // Uncompressed bytes per gzip member (>= 512). Memory is bounded by about
  // (threads + 1) * member_bytes * 2, independent of the archive size.
  size_t member_bytes = 1 << 20;
  // Modification time written in every tar header (rounded to whole seconds like Go's tar
  // writer). The backup engine passes the backup's start time, so archives are reproducible.
  std::chrono::system_clock::time_point mtime;
  // When continuing an archive whose prefix (ended by Checkpoint) the sink already holds: the
  // prefix's entries() and uncompressed_bytes(), so the counters go on from there.
  int64_t prior_entries = 0;
  int64_t prior_uncompressed_bytes = 0;
};

class ArchiveWriter {
 public:
  // `sink` is borrowed: it must outlive the writer, and only the calling thread writes to it
  // (from Add and Finish). InvalidArgument for options out of range.
  static StatusOr<std::unique_ptr<ArchiveWriter>> Create(ByteSink* sink, WriterOptions options);
  virtual ~ArchiveWriter() = default;

  // Appends a regular file entry (mode 0755, uid/gid 0, like Velero). `path` must be a clean
  // relative path (no leading '/', no empty, "." or ".." segments, no '\\' or NUL): otherwise
  // InvalidArgument and nothing is written. Errors from the sink are returned as they are;
  // after any error the writer is broken and every later call fails (FailedPrecondition).
  // Not thread-safe: one caller at a time.
  virtual Status Add(std::string_view path, std::string_view data) = 0;
  // The same, for a file whose data is `head` followed by `body` (no copy to join them).
  virtual Status Add(std::string_view path, std::string_view head, std::string_view body) = 0;

  // Writes the tar end-of-archive blocks and the last gzip member(s) and waits for the
  // workers. Does not Close the sink. Calling Add after Finish is FailedPrecondition.
  virtual Status Finish() = 0;

  // Ends the current gzip member and waits until every member has been written to the sink, in
  // order: the sink then holds a complete gzip file of the tar stream so far (see the top of
  // this file). The caller makes it durable (fsync) if it needs to. Cheap when nothing was
  // added since the last one. Errors as for Add; FailedPrecondition after Finish.
  virtual Status Checkpoint() = 0;

  // Entries added so far, and the tar stream's size (headers, data, padding) so far.
  virtual int64_t entries() const = 0;
  virtual int64_t uncompressed_bytes() const = 0;
};

}  // namespace lifeboat::archive
