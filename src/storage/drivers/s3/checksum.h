#pragma once

// The additional checksums S3 accepts on uploads (x-amz-checksum-*), as Velero's AWS plugin
// sends them (checksumAlgorithm, CRC32 by default).

#include <string>
#include <string_view>

#include "src/storage/drivers/s3/s3_settings.h"

namespace lifeboat::storage::s3 {

// "CRC32", "CRC32C", "SHA1", "SHA256"; "" for kNone.
std::string_view ChecksumName(ChecksumAlgorithm algorithm);
// "x-amz-checksum-crc32", ...; "" for kNone.
std::string ChecksumHeader(ChecksumAlgorithm algorithm);
// Base64 of the big-endian digest of `data`; "" for kNone.
std::string ComputeChecksum(ChecksumAlgorithm algorithm, std::string_view data);

}  // namespace lifeboat::storage::s3
