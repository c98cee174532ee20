#pragma once

// The tar header layout (POSIX ustar, PAX extended headers, GNU long names) shared by the
// writer and the reader. Private to module `archive`.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace lifeboat::archive::tar {

inline constexpr size_t kBlockSize = 512;
inline constexpr size_t kNameSize = 100;
inline constexpr size_t kPrefixSize = 155;
// Largest PAX / GNU long-name payload accepted or written (Go's maxSpecialFileSize).
inline constexpr int64_t kMaxSpecialFileSize = 1 << 20;
// Paths longer than this, or with a segment longer than kMaxSegmentBytes, are refused:
// they could not be extracted on Linux anyway.
inline constexpr size_t kMaxPathBytes = 4096;
inline constexpr size_t kMaxSegmentBytes = 255;

// Field offsets and sizes of a header block.
struct Field {
  size_t offset;
  size_t size;
};
inline constexpr Field kName{0, 100};
inline constexpr Field kMode{100, 8};
inline constexpr Field kUid{108, 8};
inline constexpr Field kGid{116, 8};
inline constexpr Field kSize{124, 12};
inline constexpr Field kMtime{136, 12};
inline constexpr Field kChecksum{148, 8};
inline constexpr Field kTypeflag{156, 1};
inline constexpr Field kLinkname{157, 100};
inline constexpr Field kMagic{257, 6};
inline constexpr Field kVersion{263, 2};
inline constexpr Field kUname{265, 32};
inline constexpr Field kGname{297, 32};
inline constexpr Field kDevmajor{329, 8};
inline constexpr Field kDevminor{337, 8};
inline constexpr Field kPrefix{345, 155};

// Why `path` is not a safe relative file path ("" when it is): absolute, empty, ".", ".."
// or empty segments, backslash, NUL, too long. `directory` allows one trailing '/'.
std::string PathProblem(std::string_view path, bool directory = false);

// The header block(s) Go's archive/tar writes for a regular file with Velero's fields
// (mode 0755, uid/gid 0, no user/group names): one USTAR block when the name fits (using the
// prefix field when it can be split there), otherwise a PAX 'x' entry with a "path" record
// followed by the file's block. `path` must have passed PathProblem; `mtime` in
// [0, 8^11) seconds and `size` < 8^11.
std::string EncodeFileHeader(std::string_view path, int64_t size, int64_t mtime_seconds);
// The same, appended to `out` (the writer's hot path: no temporary block).
void AppendFileHeader(std::string& out, std::string_view path, int64_t size,
                      int64_t mtime_seconds);

// Bytes needed to pad `size` to a whole block.
inline int64_t Padding(int64_t size) {
  return (static_cast<int64_t>(kBlockSize) - size % static_cast<int64_t>(kBlockSize)) %
         static_cast<int64_t>(kBlockSize);
}

// A numeric header field: octal digits (leading spaces/NULs allowed, terminated by space or
// NUL) or GNU base-256 (first byte 0x80, positive values only). nullopt if malformed.
std::optional<int64_t> ParseNumber(std::string_view field);

// True when the block's stored checksum matches the unsigned (or historic signed) sum.
bool ChecksumOk(std::string_view block);

// A NUL-terminated string field.
std::string_view CString(std::string_view field);

}  // namespace lifeboat::archive::tar
