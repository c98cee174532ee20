#pragma once

// One complete gzip member of a piece of data: the header Go's gzip.Writer writes (MTIME 0,
// OS 255), raw DEFLATE, CRC-32 and size. The archive writer compresses its tar stream a piece at
// a time this way (in parallel); the backup log compresses each block of lines this way, so
// both files are multi-member gzip streams, which every gzip reader reads as one.

#include <string>
#include <string_view>

#include "lifeboat/archive/writer.h"
#include "lifeboat/common/status.h"

namespace lifeboat::archive {

// Compresses `input` into one gzip member at libdeflate `level` (1..12). Thread-safe.
StatusOr<std::string> CompressGzipMember(std::string_view input, int level);
// The same with the DEFLATE encoder `compressor` (`level` is libdeflate's, used for kLibdeflate
// and when kFastest has no ISA-L to use). Thread-safe.
StatusOr<std::string> CompressGzipMember(std::string_view input, int level, Compressor compressor);
// The same into `out` (replaced; its capacity is reused).
Status CompressGzipMemberInto(std::string_view input, int level, Compressor compressor,
                              std::string& out);

}  // namespace lifeboat::archive
