#include "src/archive/gzip_stream.h"

#include <cstring>

#include "absl/strings/str_cat.h"

namespace lifeboat::archive {
namespace {

constexpr size_t kInputChunk = 64 << 10;
// The expansion ratio is only meaningful once some data has been produced.
constexpr int64_t kRatioFloorBytes = 1 << 20;

}  // namespace

GzipStream::GzipStream(ByteSource* source, const ReaderLimits& limits)
    : source_(source), limits_(limits), in_(kInputChunk) {
  // 16 + MAX_WBITS: gzip wrapper only (no zlib or raw streams), CRC-32 and size checked.
  z_ready_ = inflateInit2(&z_, 16 + MAX_WBITS) == Z_OK;
}

GzipStream::~GzipStream() {
  if (z_ready_) inflateEnd(&z_);
}

StatusOr<bool> GzipStream::Fill() {
  if (source_eof_) return false;
  // Keep unread input at the front of the buffer.
  size_t keep = z_.avail_in;
  if (keep > 0 && z_.next_in != reinterpret_cast<Bytef*>(in_.data())) {
    std::memmove(in_.data(), z_.next_in, keep);
  }
  LIFEBOAT_ASSIGN_OR_RETURN(size_t n,
                            source_->Read(std::span<char>(in_.data() + keep, in_.size() - keep)));
  if (n == 0) source_eof_ = true;
  read_ += static_cast<int64_t>(n);
  z_.next_in = reinterpret_cast<Bytef*>(in_.data());
  z_.avail_in = static_cast<uInt>(keep + n);
  return n > 0;
}

Status GzipStream::StartMember() {
  while (z_.avail_in < 2) {
    LIFEBOAT_ASSIGN_OR_RETURN(bool more, Fill());
    if (!more) break;
  }
  if (z_.avail_in == 0) {
    if (state_ == State::kStart) return absl::DataLossError("archive is empty (no gzip data)");
    state_ = State::kEnd;
    return absl::OkStatus();
  }
  if (z_.avail_in < 2 || z_.next_in[0] != 0x1f || z_.next_in[1] != 0x8b) {
    if (state_ == State::kStart) return absl::DataLossError("archive is not gzip-compressed");
    return absl::DataLossError(absl::StrCat("trailing garbage after gzip member ", members_,
                                            " at compressed offset ", compressed()));
  }
  if (inflateReset(&z_) != Z_OK) return absl::InternalError("cannot reset the gzip decoder");
  state_ = State::kInMember;
  return absl::OkStatus();
}

Status GzipStream::CheckLimits() const {
  if (produced_ > limits_.max_total_bytes) {
    return absl::DataLossError(
        absl::StrCat("archive expands to more than ", limits_.max_total_bytes, " bytes"));
  }
  if (produced_ > kRatioFloorBytes &&
      static_cast<double>(produced_) >
          limits_.max_expansion_ratio * static_cast<double>(std::max<int64_t>(compressed(), 1))) {
    return absl::DataLossError(absl::StrCat(
        "archive looks like a compression bomb: ", produced_, " bytes from ", compressed(),
        " compressed bytes exceeds the expansion ratio limit ", limits_.max_expansion_ratio));
  }
  return absl::OkStatus();
}

StatusOr<size_t> GzipStream::Read(char* out, size_t n) {
  if (!z_ready_) return absl::ResourceExhaustedError("cannot initialise the gzip decoder");
  size_t produced = 0;
  while (produced == 0 && n > 0) {
    if (state_ == State::kEnd) return 0;
    if (state_ != State::kInMember) {
      LIFEBOAT_RETURN_IF_ERROR(StartMember());
      continue;
    }
    if (z_.avail_in == 0) {
      LIFEBOAT_ASSIGN_OR_RETURN(bool more, Fill());
      if (!more) {
        return absl::DataLossError(absl::StrCat("truncated gzip stream (member ", members_ + 1,
                                                " ends early at compressed offset ", read_, ")"));
      }
    }
    z_.next_out = reinterpret_cast<Bytef*>(out + produced);
    z_.avail_out = static_cast<uInt>(std::min<size_t>(n - produced, UINT32_MAX));
    uInt before = z_.avail_out;
    int rc = inflate(&z_, Z_NO_FLUSH);
    produced += before - z_.avail_out;
    produced_ += before - z_.avail_out;
    if (rc == Z_STREAM_END) {
      ++members_;
      state_ = State::kBetween;
    } else if (rc != Z_OK && rc != Z_BUF_ERROR) {
      return absl::DataLossError(absl::StrCat("corrupt gzip data in member ", members_ + 1, ": ",
                                              z_.msg != nullptr ? z_.msg : "inflate failed"));
    }
    LIFEBOAT_RETURN_IF_ERROR(CheckLimits());
  }
  return produced;
}

}  // namespace lifeboat::archive
