#pragma once

// Byte streams (sources and sinks that move data in bounded chunks, so archives and object
// bodies are never held whole in memory) and small, safe file helpers.

#include <cstddef>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "lifeboat/common/status.h"

namespace lifeboat {

// A readable stream. Read returns the number of bytes read, 0 only at the end.
class ByteSource {
 public:
  virtual ~ByteSource() = default;
  virtual StatusOr<size_t> Read(std::span<char> buffer) = 0;
  // Rewinds to the start when the source can (a retrying uploader re-sends bodies from it);
  // Unimplemented otherwise.
  virtual Status Rewind() { return absl::UnimplementedError("stream cannot be rewound"); }
  // Total size when known in advance, -1 otherwise.
  virtual int64_t Size() const { return -1; }
  // A file the store may take over (hard-link into place) instead of copying it: the caller
  // has finished writing it and never writes to it again (see TakeableFileSource). nullptr
  // for every other source.
  virtual const std::filesystem::path* TakeableFile() const { return nullptr; }
};

// A writable stream. Close flushes and makes the data durable where that applies; data
// written to a sink that is destroyed without a successful Close is discarded.
class ByteSink {
 public:
  virtual ~ByteSink() = default;
  virtual Status Write(std::string_view data) = 0;
  virtual Status Close() = 0;
};

std::unique_ptr<ByteSource> StringSource(std::string data);

// A rewindable source over bytes the caller keeps alive (no copy).
class ViewSource : public ByteSource {
 public:
  explicit ViewSource(std::string_view data) : data_(data) {}
  StatusOr<size_t> Read(std::span<char> buffer) override;
  Status Rewind() override {
    pos_ = 0;
    return absl::OkStatus();
  }
  int64_t Size() const override { return static_cast<int64_t>(data_.size()); }

 private:
  std::string_view data_;
  size_t pos_ = 0;
};
StatusOr<std::unique_ptr<ByteSource>> FileSource(const std::filesystem::path& path);
// A FileSource whose file a store on the same file system may link instead of copying (the
// local driver does): for a finished scratch file nobody writes to again.
StatusOr<std::unique_ptr<ByteSource>> TakeableFileSource(const std::filesystem::path& path);

// Appends to *out (owned by the caller, must outlive the sink).
std::unique_ptr<ByteSink> StringSink(std::string* out);
// Writes to a temporary file next to `path`; Close fsyncs and renames it into place, so
// readers see the old file or the whole new one, never a part.
StatusOr<std::unique_ptr<ByteSink>> AtomicFileSink(const std::filesystem::path& path, int mode = 0644);
// Writes `path` in place (created or truncated) and never fsyncs it: for scratch files that
// are read back and deleted, where a crash leaves nothing worth keeping (an fsync of a backup's
// staged archive cost a fifth of a 100,000-object backup).
// early_writeback: asks the kernel to start writing each few MiB to disk as they are written
// (without waiting), so that a store that links the file and syncs it finds it mostly on disk.
StatusOr<std::unique_ptr<ByteSink>> ScratchFileSink(const std::filesystem::path& path, int mode = 0600,
                                                    bool early_writeback = false);

// Copies everything from `source` to `sink` (does not Close the sink). Returns bytes copied.
StatusOr<int64_t> Copy(ByteSource& source, ByteSink& sink);
StatusOr<std::string> ReadAll(ByteSource& source, size_t max_bytes = SIZE_MAX);

// The whole file; NotFound when it does not exist, FailedPrecondition when it is larger
// than max_bytes.
StatusOr<std::string> ReadFile(const std::filesystem::path& path, size_t max_bytes = SIZE_MAX);
// Temporary file + fsync + rename + fsync of the directory; `mode` is applied before any data
// is written (secrets are never world-readable, even briefly).
Status WriteFileAtomically(const std::filesystem::path& path, std::string_view contents, int mode = 0644);

}  // namespace lifeboat
