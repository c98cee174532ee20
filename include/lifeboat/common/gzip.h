#pragma once

// gzip streams (RFC 1952, zlib) for the small gzipped files Velero keeps next to a backup
// (logs, results, resource lists): a compressing sink, and whole-buffer helpers with a bound on
// the expanded size (a hostile file must not exhaust memory).

#include <memory>
#include <string>
#include <string_view>

#include "lifeboat/common/byte_stream.h"
#include "lifeboat/common/status.h"

namespace lifeboat {

// Compresses everything written into one gzip member written to `out` (borrowed; it must
// outlive the sink). Close finishes the member and closes `out`.
std::unique_ptr<ByteSink> GzipSink(ByteSink* out, int level = 6);

std::string Gzip(std::string_view data, int level = 6);
// Every member of a (possibly multi-member) gzip stream, concatenated. DataLoss for corrupt or
// truncated data; FailedPrecondition when the result would exceed max_bytes.
StatusOr<std::string> Gunzip(std::string_view data, size_t max_bytes = 256u << 20);

}  // namespace lifeboat
