#include "src/storage/drivers/s3/checksum.h"

#include <openssl/sha.h>
#include <zlib.h>

#include <array>
#include <cstdint>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"

namespace lifeboat::storage::s3 {
namespace {

// CRC-32C (Castagnoli), reflected polynomial 0x82F63B78.
uint32_t Crc32c(std::string_view data) {
  static const std::array<uint32_t, 256> table = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  uint32_t crc = 0xFFFFFFFFu;
  for (char ch : data) crc = table[(crc ^ static_cast<uint8_t>(ch)) & 0xff] ^ (crc >> 8);
  return crc ^ 0xFFFFFFFFu;
}

uint32_t Crc32(std::string_view data) {
  uLong crc = crc32(0L, Z_NULL, 0);
  // zlib takes uInt lengths: feed large buffers in pieces.
  while (!data.empty()) {
    size_t n = std::min<size_t>(data.size(), 1u << 30);
    crc = crc32(crc, reinterpret_cast<const Bytef*>(data.data()), static_cast<uInt>(n));
    data.remove_prefix(n);
  }
  return static_cast<uint32_t>(crc);
}

std::string BigEndian(uint32_t v) {
  std::string out(4, '\0');
  for (int i = 0; i < 4; ++i) out[i] = static_cast<char>((v >> (24 - 8 * i)) & 0xff);
  return out;
}

std::string Base64(std::string_view raw) {
  return absl::Base64Escape(absl::string_view(raw.data(), raw.size()));
}

}  // namespace

std::string_view ChecksumName(ChecksumAlgorithm algorithm) {
  switch (algorithm) {
    case ChecksumAlgorithm::kCrc32:
      return "CRC32";
    case ChecksumAlgorithm::kCrc32c:
      return "CRC32C";
    case ChecksumAlgorithm::kSha1:
      return "SHA1";
    case ChecksumAlgorithm::kSha256:
      return "SHA256";
    case ChecksumAlgorithm::kNone:
      break;
  }
  return "";
}

std::string ChecksumHeader(ChecksumAlgorithm algorithm) {
  std::string_view name = ChecksumName(algorithm);
  if (name.empty()) return "";
  return "x-amz-checksum-" + absl::AsciiStrToLower(absl::string_view(name.data(), name.size()));
}

std::string ComputeChecksum(ChecksumAlgorithm algorithm, std::string_view data) {
  const auto* p = reinterpret_cast<const unsigned char*>(data.data());
  switch (algorithm) {
    case ChecksumAlgorithm::kCrc32:
      return Base64(BigEndian(Crc32(data)));
    case ChecksumAlgorithm::kCrc32c:
      return Base64(BigEndian(Crc32c(data)));
    case ChecksumAlgorithm::kSha1: {
      unsigned char md[SHA_DIGEST_LENGTH];
      SHA1(p, data.size(), md);
      return Base64(std::string_view(reinterpret_cast<char*>(md), sizeof(md)));
    }
    case ChecksumAlgorithm::kSha256: {
      unsigned char md[SHA256_DIGEST_LENGTH];
      SHA256(p, data.size(), md);
      return Base64(std::string_view(reinterpret_cast<char*>(md), sizeof(md)));
    }
    case ChecksumAlgorithm::kNone:
      break;
  }
  return "";
}

}  // namespace lifeboat::storage::s3
