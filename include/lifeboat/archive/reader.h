#pragma once

// Streaming, defensive reader of backup tarballs (tar inside one or more gzip members), for
// archives written by Lifeboat, Velero (Go archive/tar), GNU tar or Python's tarfile.
//
// Anything hostile or corrupt is DataLoss with a message naming the entry (or the offset when
// there is no name yet): absolute paths, ".." / "." / empty segments, backslashes, NUL,
// symlinks, hard links, devices, FIFOs and other special entries, entries or totals over the
// limits, compression bombs, bad checksums, malformed numbers, truncated headers/data/gzip,
// a missing end-of-archive marker, and any non-zero byte after it or any byte after the last
// gzip member. Directory entries are accepted and skipped. docs/formats/backup-archive.md
// lists the rules.

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "lifeboat/common/byte_stream.h"
#include "lifeboat/common/status.h"

namespace lifeboat::archive {

struct ReaderLimits {
  int64_t max_entry_bytes = 256 << 20;          // one entry's data
  int64_t max_total_bytes = int64_t{64} << 30;  // the whole decompressed tar stream
  double max_expansion_ratio = 1000;            // decompressed / compressed bytes
  int64_t max_entries = 50'000'000;             // headers, directories included
};

// One regular file of the archive; its data is held whole (at most max_entry_bytes).
struct Entry {
  std::string path;
  std::string data;
};

class ArchiveReader {
 public:
  // `source` is borrowed and must outlive the reader; it is read from its current position,
  // in bounded chunks. Open reads nothing yet (errors surface from Next).
  static StatusOr<std::unique_ptr<ArchiveReader>> Open(ByteSource* source,
                                                       ReaderLimits limits = {});
  virtual ~ArchiveReader() = default;

  // The next regular file, or nullopt after the end-of-archive marker once the whole gzip
  // stream has been checked. DataLoss for a hostile or corrupt archive; errors of the source
  // are returned as they are. After an error every later call returns the same error.
  // Only the returned entry is held in memory. Not thread-safe.
  virtual StatusOr<std::optional<Entry>> Next() = 0;

  // Statistics so far: compressed bytes consumed and tar bytes produced.
  virtual int64_t compressed_bytes() const = 0;
  virtual int64_t uncompressed_bytes() const = 0;
};

// Extracts every regular file under `dir` (created if missing; 0700 directories, 0600 files,
// since items include Secrets). Never writes outside `dir`: each path is opened component by
// component with O_NOFOLLOW relative to `dir`, so pre-existing symlinks are refused rather
// than followed (FailedPrecondition), files are created with O_EXCL, and a duplicate entry
// replaces the earlier regular file (the last one wins, as in Velero). DataLoss for a hostile
// archive (files extracted before the problem was found stay: extract into a fresh directory
// and remove it on error); Internal/PermissionDenied etc. for file system errors.
Status ExtractTo(ByteSource& source, const std::filesystem::path& dir, ReaderLimits limits = {});

}  // namespace lifeboat::archive
