#include "src/storage/testing/test_streams.h"

#include <fstream>

#include <openssl/evp.h>

#include <algorithm>
#include <cstring>
#include <vector>

namespace lifeboat::storage::testing {
namespace {

// SplitMix64 of the 8-byte block index: any position can be generated without the ones before
// it, so Rewind and ranged comparisons are cheap.
uint64_t Mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

char ByteAt(uint64_t seed, int64_t pos) {
  uint64_t block = Mix(seed * 0x100000001b3ULL + static_cast<uint64_t>(pos / 8));
  return static_cast<char>((block >> (8 * (pos % 8))) & 0xff);
}

}  // namespace

PseudoRandomSource::PseudoRandomSource(PseudoRandomOptions options)
    : options_(std::move(options)) {}

StatusOr<size_t> PseudoRandomSource::Read(std::span<char> buffer) {
  if (options_.fail_with.has_value() && pos_ >= options_.fail_after) return *options_.fail_with;
  int64_t limit = options_.length;
  if (options_.fail_with.has_value()) limit = std::min(limit, options_.fail_after);
  size_t n = static_cast<size_t>(std::min<int64_t>(buffer.size(), limit - pos_));
  // One Mix per 8-byte block (this runs over gigabytes in the memory tests).
  uint64_t block = 0;
  for (size_t i = 0; i < n; ++i) {
    int64_t p = pos_ + static_cast<int64_t>(i);
    if (i == 0 || p % 8 == 0) block = Mix(options_.seed * 0x100000001b3ULL + static_cast<uint64_t>(p / 8));
    buffer[i] = static_cast<char>((block >> (8 * (p % 8))) & 0xff);
  }
  pos_ += static_cast<int64_t>(n);
  return n;
}

Status PseudoRandomSource::Rewind() {
  if (!options_.rewindable) return absl::UnimplementedError("stream cannot be rewound");
  pos_ = 0;
  ++rewinds_;
  return absl::OkStatus();
}

int64_t PseudoRandomSource::Size() const {
  if (options_.reported_size.has_value()) return *options_.reported_size;
  return options_.report_size ? options_.length : -1;
}

HashingSink::HashingSink() : ctx_(EVP_MD_CTX_new()) {
  EVP_DigestInit_ex(ctx_, EVP_sha256(), nullptr);
}

HashingSink::~HashingSink() { EVP_MD_CTX_free(ctx_); }

Status HashingSink::Write(std::string_view data) {
  if (EVP_DigestUpdate(ctx_, data.data(), data.size()) != 1) {
    return absl::InternalError("EVP_DigestUpdate failed");
  }
  bytes_ += static_cast<int64_t>(data.size());
  return absl::OkStatus();
}

std::string HashingSink::HexDigest() const {
  EVP_MD_CTX* copy = EVP_MD_CTX_new();
  EVP_MD_CTX_copy_ex(copy, ctx_);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(copy, digest, &len);
  EVP_MD_CTX_free(copy);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < len; ++i) {
    out += kHex[digest[i] >> 4];
    out += kHex[digest[i] & 0xf];
  }
  return out;
}

Status FailingSink::Write(std::string_view data) {
  // A chunk that would go past the limit is refused whole, so `accepted` is exactly what the
  // writer was told succeeded.
  if (accepted_ + static_cast<int64_t>(data.size()) > accept_) return error_;
  if (out_ != nullptr) out_->append(data);
  accepted_ += static_cast<int64_t>(data.size());
  return absl::OkStatus();
}

std::string Sha256Hex(std::string_view data) {
  HashingSink sink;
  (void)sink.Write(data);
  return sink.HexDigest();
}

std::string PseudoRandomSha256Hex(uint64_t seed, int64_t length) {
  PseudoRandomSource source({.seed = seed, .length = length});
  HashingSink sink;
  (void)Copy(source, sink);
  return sink.HexDigest();
}

std::string PseudoRandomString(uint64_t seed, int64_t length) {
  std::string out(static_cast<size_t>(length), '\0');
  for (int64_t i = 0; i < length; ++i) out[static_cast<size_t>(i)] = ByteAt(seed, i);
  return out;
}

int64_t PeakRssBytes() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stoll(line.substr(6)) * 1024;
  }
  return -1;
}

}  // namespace lifeboat::storage::testing
