#include "lifeboat/archive/writer.h"

#include <cmath>

#include "absl/strings/escaping.h"
#include "src/archive/gzip_members.h"
#include "src/archive/str.h"
#include "src/archive/tar_format.h"

namespace lifeboat::archive {
namespace {

constexpr int64_t kMaxOctal11 = (int64_t{1} << 33) - 1;
constexpr size_t kMaxMemberBytes = size_t{1} << 30;
constexpr int kMaxThreads = 256;

// Go's Time.Round(time.Second): to the nearest second, halves away from zero.
int64_t RoundToSeconds(std::chrono::system_clock::time_point t) {
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
  int64_t seconds = ns / 1'000'000'000;
  int64_t rest = ns % 1'000'000'000;
  if (rest >= 500'000'000) ++seconds;
  if (rest <= -500'000'000) --seconds;
  return seconds;
}

class TarGzWriter : public ArchiveWriter {
 public:
  TarGzWriter(ByteSink* sink, WriterOptions options, int64_t mtime)
      : options_(options), mtime_(mtime),
        pool_(sink, options.level, options.threads, options.compressor),
        entries_(options.prior_entries), uncompressed_(options.prior_uncompressed_bytes) {
    pending_.reserve(options_.member_bytes);
  }

  Status Add(std::string_view path, std::string_view data) override { return Add(path, data, {}); }

  Status Add(std::string_view path, std::string_view head, std::string_view body) override {
    LIFEBOAT_RETURN_IF_ERROR(Usable());
    std::string problem = tar::PathProblem(path);
    if (!problem.empty()) {
      return absl::InvalidArgumentError(
          Cat("archive entry \"", absl::CEscape(Sv(path)), "\": ", problem));
    }
    if (static_cast<int64_t>(head.size()) > kMaxOctal11 - static_cast<int64_t>(body.size())) {
      return absl::InvalidArgumentError(Cat("archive entry ", path, " is too large"));
    }
    auto size = static_cast<int64_t>(head.size() + body.size());
    header_.clear();
    tar::AppendFileHeader(header_, path, size, mtime_);
    LIFEBOAT_RETURN_IF_ERROR(Append(header_));
    LIFEBOAT_RETURN_IF_ERROR(Append(head));
    LIFEBOAT_RETURN_IF_ERROR(Append(body));
    static constexpr char kZeros[tar::kBlockSize] = {};
    LIFEBOAT_RETURN_IF_ERROR(
        Append(std::string_view(kZeros, static_cast<size_t>(tar::Padding(size)))));
    ++entries_;
    return absl::OkStatus();
  }

  Status Finish() override {
    LIFEBOAT_RETURN_IF_ERROR(Usable());
    finished_ = true;
    // Two zero blocks end the archive; Go's writer adds no further record padding.
    LIFEBOAT_RETURN_IF_ERROR(Append(std::string(2 * tar::kBlockSize, '\0')));
    if (!pending_.empty()) LIFEBOAT_RETURN_IF_ERROR(Broken(pool_.Submit(std::move(pending_))));
    return Broken(pool_.Finish());
  }

  Status Checkpoint() override {
    LIFEBOAT_RETURN_IF_ERROR(Usable());
    if (!pending_.empty()) {
      std::string piece = std::move(pending_);
      pending_ = pool_.TakeBuffer();
      pending_.reserve(options_.member_bytes);
      LIFEBOAT_RETURN_IF_ERROR(Broken(pool_.Submit(std::move(piece))));
    }
    return Broken(pool_.Finish());
  }

  int64_t entries() const override { return entries_; }
  int64_t uncompressed_bytes() const override { return uncompressed_; }

 private:
  Status Usable() const {
    if (!broken_.ok()) return broken_;
    if (finished_) return absl::FailedPreconditionError("archive writer already finished");
    return absl::OkStatus();
  }

  Status Broken(Status status) {
    if (!status.ok() && broken_.ok()) {
      broken_ =
          absl::FailedPreconditionError(Cat("archive writer failed earlier: ", status.message()));
    }
    return status;
  }

  // Appends to the tar stream, handing every full member_bytes piece to the pool. The cut
  // points depend only on the stream's bytes, so the output is deterministic.
  Status Append(std::string_view bytes) {
    uncompressed_ += static_cast<int64_t>(bytes.size());
    while (!bytes.empty()) {
      size_t take = std::min(bytes.size(), options_.member_bytes - pending_.size());
      pending_.append(bytes.substr(0, take));
      bytes.remove_prefix(take);
      if (pending_.size() == options_.member_bytes) {
        std::string piece = std::move(pending_);
        pending_ = pool_.TakeBuffer();  // reused: no fresh pages per member
        pending_.reserve(options_.member_bytes);
        LIFEBOAT_RETURN_IF_ERROR(Broken(pool_.Submit(std::move(piece))));
      }
    }
    return absl::OkStatus();
  }

  WriterOptions options_;
  int64_t mtime_;
  GzipMemberPool pool_;
  std::string pending_;
  std::string header_;  // reused for every entry's header block(s)
  int64_t entries_;
  int64_t uncompressed_;
  bool finished_ = false;
  Status broken_;
};

}  // namespace

StatusOr<std::unique_ptr<ArchiveWriter>> ArchiveWriter::Create(ByteSink* sink,
                                                               WriterOptions options) {
  if (sink == nullptr) return absl::InvalidArgumentError("archive writer needs a sink");
  if (options.level < 1 || options.level > 12) {
    return absl::InvalidArgumentError(Cat("compression level must be 1..12, got ", options.level));
  }
  if (options.compressor != Compressor::kLibdeflate && options.compressor != Compressor::kFastest) {
    return absl::InvalidArgumentError("unknown compressor");
  }
  if (options.threads < 1 || options.threads > kMaxThreads) {
    return absl::InvalidArgumentError(
        Cat("compression threads must be 1..", kMaxThreads, ", got ", options.threads));
  }
  if (options.member_bytes < tar::kBlockSize || options.member_bytes > kMaxMemberBytes) {
    return absl::InvalidArgumentError(
        Cat("gzip member size must be 512 bytes..1 GiB, got ", options.member_bytes));
  }
  if (options.prior_entries < 0 || options.prior_uncompressed_bytes < 0 ||
      options.prior_uncompressed_bytes % tar::kBlockSize != 0) {
    return absl::InvalidArgumentError("archive prefix counts must be >= 0 and block-aligned");
  }
  int64_t mtime = RoundToSeconds(options.mtime);
  if (mtime < 0 || mtime > kMaxOctal11) {
    return absl::InvalidArgumentError("archive mtime must be between 1970 and 2242");
  }
  return std::unique_ptr<ArchiveWriter>(new TarGzWriter(sink, options, mtime));
}

}  // namespace lifeboat::archive
