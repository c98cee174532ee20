#pragma once

// Byte streams for storage tests: a deterministic pseudo-random source of any length (so large
// objects are never held in memory), a sink that only hashes what it receives, and sinks and
// sources that fail on purpose. Test-only (target storage_testing).
//
// Thread safety: none of these objects may be used from two threads at once.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "lifeboat/common/byte_stream.h"
#include "lifeboat/common/status.h"

typedef struct evp_md_ctx_st EVP_MD_CTX;

namespace lifeboat::storage::testing {

// `length` bytes generated from `seed` (the same seed and length always give the same bytes).
struct PseudoRandomOptions {
  uint64_t seed = 1;
  int64_t length = 0;
  bool report_size = true;                // false: Size() is -1 (an upload of unknown length)
  std::optional<int64_t> reported_size;   // a Size() that differs from `length` (a lying body)
  bool rewindable = true;                 // false: Rewind is Unimplemented
  // When set, Read fails with this status once `fail_after` bytes have been delivered.
  std::optional<Status> fail_with;
  int64_t fail_after = 0;
};

class PseudoRandomSource : public ByteSource {
 public:
  explicit PseudoRandomSource(PseudoRandomOptions options);
  StatusOr<size_t> Read(std::span<char> buffer) override;
  Status Rewind() override;
  int64_t Size() const override;
  int64_t position() const { return pos_; }
  int rewinds() const { return rewinds_; }

 private:
  PseudoRandomOptions options_;
  int64_t pos_ = 0;
  int rewinds_ = 0;
};

// Feeds everything written into SHA-256; keeps only the digest and the byte count.
class HashingSink : public ByteSink {
 public:
  HashingSink();
  ~HashingSink() override;
  HashingSink(const HashingSink&) = delete;
  HashingSink& operator=(const HashingSink&) = delete;
  Status Write(std::string_view data) override;
  Status Close() override { return absl::OkStatus(); }
  // Lowercase hex SHA-256 of everything written so far (the sink can keep being written).
  std::string HexDigest() const;
  int64_t bytes() const { return bytes_; }

 private:
  EVP_MD_CTX* ctx_;
  int64_t bytes_ = 0;
};

// Accepts whole writes (appending them to *out when given) while the total stays within
// `accept` bytes; the first write that would go past it, and every later one, fails with `error`.
class FailingSink : public ByteSink {
 public:
  FailingSink(int64_t accept, Status error, std::string* out = nullptr)
      : accept_(accept), error_(std::move(error)), out_(out) {}
  Status Write(std::string_view data) override;
  Status Close() override { return absl::OkStatus(); }
  int64_t accepted() const { return accepted_; }

 private:
  int64_t accept_;
  Status error_;
  std::string* out_;
  int64_t accepted_ = 0;
};

// SHA-256 (lowercase hex) of a string / of what PseudoRandomSource{seed, length} produces.
// Peak resident set size of this process (VmHWM), in bytes; -1 when unknown.
int64_t PeakRssBytes();

std::string Sha256Hex(std::string_view data);
std::string PseudoRandomSha256Hex(uint64_t seed, int64_t length);
// The first `length` bytes PseudoRandomSource{seed} produces, as a string (small sizes only).
std::string PseudoRandomString(uint64_t seed, int64_t length);

}  // namespace lifeboat::storage::testing
