#include "src/archive/tar_format.h"

#include <algorithm>
#include <cstring>

#include "src/archive/str.h"

namespace lifeboat::archive::tar {
namespace {

constexpr int64_t kMaxOctal11 = (int64_t{1} << 33) - 1;  // 8^11 - 1: a 12-byte octal field

bool IsAscii(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return u != 0 && u < 0x80;
  });
}

// Drops every non-ASCII byte, as Go does for the best-effort name of a PAX header.
std::string ToAscii(std::string_view s) {
  std::string out;
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (u != 0 && u < 0x80) out.push_back(c);
  }
  return out;
}

// Copies `s` into the field, truncated to its size (the block is zero-filled already).
void Put(std::string& block, Field field, std::string_view s) {
  const size_t n = std::min(s.size(), field.size);
  if (n > 0) std::memcpy(block.data() + field.offset, s.data(), n);
}

// Zero-padded octal digits filling all but the last byte of the `size`-byte field at `out`,
// which stays as it is (NUL in a fresh block). A value with more digits than the field holds
// keeps its leading digits (values are range-checked before).
void PutOctalAt(char* out, size_t size, int64_t value) {
  char digits[24];
  size_t n = 0;
  auto v = static_cast<uint64_t>(value);
  do {
    digits[sizeof(digits) - 1 - n++] = static_cast<char>('0' + (v & 7));
    v >>= 3;
  } while (v > 0);
  const size_t width = size - 1;
  if (n < width) {
    std::memset(out, '0', width - n);
    std::memcpy(out + (width - n), digits + sizeof(digits) - n, n);
  } else {
    std::memcpy(out, digits + sizeof(digits) - n, std::min(n, size));
  }
}

void PutOctal(std::string& block, Field field, int64_t value) {
  PutOctalAt(block.data() + field.offset, field.size, value);
}

void SetChecksum(std::string& block) {
  std::memset(block.data() + kChecksum.offset, ' ', kChecksum.size);
  int64_t sum = 0;
  const auto* bytes = reinterpret_cast<const unsigned char*>(block.data());
  for (size_t i = 0; i < block.size(); ++i) sum += bytes[i];
  PutOctal(block, Field{kChecksum.offset, 7}, sum);  // six digits, NUL, then a space
  block[kChecksum.offset + 6] = '\0';
  block[kChecksum.offset + 7] = ' ';
}

void SetUstarMagic(std::string& block) {
  Put(block, kMagic, std::string_view("ustar\0", 6));
  Put(block, kVersion, "00");
}

// USTAR can hold a long ASCII name as prefix "/" suffix when the last '/' among the first
// 156 bytes leaves a prefix of 1..155 bytes and a suffix of 1..100 bytes.
bool SplitUstar(std::string_view path, std::string_view* prefix, std::string_view* suffix) {
  if (path.size() <= kNameSize || !IsAscii(path)) return false;
  size_t window = std::min(path.size(), kPrefixSize + 1);
  size_t slash = path.substr(0, window).rfind('/');
  if (slash == std::string_view::npos || slash == 0) return false;
  size_t suffix_len = path.size() - slash - 1;
  if (suffix_len == 0 || suffix_len > kNameSize || slash > kPrefixSize) return false;
  *prefix = path.substr(0, slash);
  *suffix = path.substr(slash + 1);
  return true;
}

// One "<length> <key>=<value>\n" PAX record; the length counts its own digits.
std::string PaxRecord(std::string_view key, std::string_view value) {
  size_t base = key.size() + value.size() + 3;  // ' ', '=', '\n'
  size_t total = base + std::to_string(base).size();
  if (std::to_string(total).size() + base != total) total = base + std::to_string(total).size();
  return Cat(total, " ", key, "=", value, "\n");
}

// The block Go's templateV7Plus fills: name, mode, ids, size, mtime, empty user and group
// names and zero device numbers, in USTAR magic.
std::string FileBlock(std::string_view name, std::string_view prefix, int64_t size, int64_t mtime) {
  std::string block(kBlockSize, '\0');
  Put(block, kName, name);
  PutOctal(block, kMode, 0755);
  PutOctal(block, kUid, 0);
  PutOctal(block, kGid, 0);
  PutOctal(block, kSize, size);
  PutOctal(block, kMtime, mtime);
  block[kTypeflag.offset] = '0';
  PutOctal(block, kDevmajor, 0);
  PutOctal(block, kDevminor, 0);
  Put(block, kPrefix, prefix);
  SetUstarMagic(block);
  SetChecksum(block);
  return block;
}

// FileBlock's bytes appended to `out` without building a temporary block: the fields every
// Velero header shares come from a template whose byte sum is known, so the checksum only
// adds the bytes of the name, prefix, size and mtime. Same output as FileBlock.
void AppendFileBlock(std::string& out, std::string_view name, std::string_view prefix,
                     int64_t size, int64_t mtime) {
  struct Template {
    std::string block;
    int64_t sum = 0;  // of every byte, the checksum field counted as spaces
  };
  static const Template kTemplate = [] {
    Template t;
    t.block = FileBlock("", "", 0, 0);
    for (size_t i = 0; i < kBlockSize; ++i) {
      const bool in_checksum = i >= kChecksum.offset && i < kChecksum.offset + kChecksum.size;
      const bool in_numbers = (i >= kSize.offset && i < kSize.offset + kSize.size) ||
                              (i >= kMtime.offset && i < kMtime.offset + kMtime.size);
      if (in_numbers) continue;
      t.sum += in_checksum ? ' ' : static_cast<unsigned char>(t.block[i]);
    }
    return t;
  }();
  const size_t at = out.size();
  out.append(kTemplate.block);
  // The template's name and prefix are empty (zeros): only non-zero bytes add to the sum.
  const size_t name_len = std::min(name.size(), kName.size);
  const size_t prefix_len = std::min(prefix.size(), kPrefix.size);
  if (name_len > 0) std::memcpy(out.data() + at + kName.offset, name.data(), name_len);
  if (prefix_len > 0) std::memcpy(out.data() + at + kPrefix.offset, prefix.data(), prefix_len);
  int64_t sum = kTemplate.sum;
  for (size_t i = 0; i < name_len; ++i) sum += static_cast<unsigned char>(name[i]);
  for (size_t i = 0; i < prefix_len; ++i) sum += static_cast<unsigned char>(prefix[i]);
  char* block = out.data() + at;
  PutOctalAt(block + kSize.offset, kSize.size, size);
  PutOctalAt(block + kMtime.offset, kMtime.size, mtime);
  for (size_t i = kSize.offset; i < kMtime.offset + kMtime.size; ++i) {
    sum += static_cast<unsigned char>(block[i]);
  }
  PutOctalAt(block + kChecksum.offset, 7, sum);  // six digits, NUL, then a space
  out[at + kChecksum.offset + 6] = '\0';
  out[at + kChecksum.offset + 7] = ' ';
}

// The PAX 'x' entry Go writes before a file whose name USTAR cannot hold: named
// "<dir>/PaxHeaders.0/<file>", mode/ids/mtime zero, no device fields.
std::string PaxEntry(std::string_view path) {
  std::string records = PaxRecord("path", path);
  size_t slash = path.rfind('/');
  std::string name = slash == std::string_view::npos
                         ? Cat("PaxHeaders.0/", path)
                         : Cat(path.substr(0, slash + 1), "PaxHeaders.0/", path.substr(slash + 1));
  name = ToAscii(name);
  if (name.size() > kNameSize) name.resize(kNameSize);
  while (!name.empty() && name.back() == '/') name.pop_back();

  std::string block(kBlockSize, '\0');
  Put(block, kName, name);
  PutOctal(block, kMode, 0);
  PutOctal(block, kUid, 0);
  PutOctal(block, kGid, 0);
  PutOctal(block, kSize, static_cast<int64_t>(records.size()));
  PutOctal(block, kMtime, 0);
  block[kTypeflag.offset] = 'x';
  SetUstarMagic(block);
  SetChecksum(block);
  block += records;
  block.append(static_cast<size_t>(Padding(static_cast<int64_t>(records.size()))), '\0');
  return block;
}

}  // namespace

std::string PathProblem(std::string_view path, bool directory) {
  if (path.empty()) return "empty path";
  if (path.size() > kMaxPathBytes) return Cat("path longer than ", kMaxPathBytes, " bytes");
  if (path.find('\0') != std::string_view::npos) return "NUL byte in path";
  if (path.find('\\') != std::string_view::npos) return "backslash in path";
  if (path.front() == '/') return "absolute path";
  if (directory && path.back() == '/') path.remove_suffix(1);
  size_t start = 0;
  while (true) {
    size_t end = path.find('/', start);
    std::string_view segment =
        path.substr(start, end == std::string_view::npos ? path.npos : end - start);
    if (segment.empty()) return "empty path segment";
    if (segment == ".") return "'.' path segment";
    if (segment == "..") return "'..' path segment";
    if (segment.size() > kMaxSegmentBytes) {
      return Cat("path segment longer than ", kMaxSegmentBytes, " bytes");
    }
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  return "";
}

void AppendFileHeader(std::string& out, std::string_view path, int64_t size,
                      int64_t mtime_seconds) {
  size = std::clamp<int64_t>(size, 0, kMaxOctal11);
  mtime_seconds = std::clamp<int64_t>(mtime_seconds, 0, kMaxOctal11);
  if (path.size() <= kNameSize && IsAscii(path)) {
    AppendFileBlock(out, path, "", size, mtime_seconds);
    return;
  }
  std::string_view prefix, suffix;
  if (SplitUstar(path, &prefix, &suffix)) {
    AppendFileBlock(out, suffix, prefix, size, mtime_seconds);
    return;
  }
  std::string ascii = ToAscii(path);
  if (ascii.size() > kNameSize) ascii.resize(kNameSize);
  out += PaxEntry(path);
  AppendFileBlock(out, ascii, "", size, mtime_seconds);
}

std::string EncodeFileHeader(std::string_view path, int64_t size, int64_t mtime_seconds) {
  std::string out;
  AppendFileHeader(out, path, size, mtime_seconds);
  return out;
}

std::optional<int64_t> ParseNumber(std::string_view field) {
  if (field.empty()) return std::nullopt;
  auto first = static_cast<unsigned char>(field[0]);
  if (first & 0x80) {  // GNU base-256; bit 6 is the sign
    if (first & 0x40) return std::nullopt;
    uint64_t value = first & 0x3f;
    for (char c : field.substr(1)) {
      if (value > (uint64_t{INT64_MAX} >> 8)) return std::nullopt;
      value = (value << 8) | static_cast<unsigned char>(c);
    }
    return static_cast<int64_t>(value);
  }
  size_t begin = field.find_first_not_of(std::string_view(" \0", 2));
  if (begin == std::string_view::npos) return 0;
  size_t end = field.find_last_not_of(std::string_view(" \0", 2));
  std::string_view digits = field.substr(begin, end - begin + 1);
  uint64_t value = 0;
  for (char c : digits) {
    if (c < '0' || c > '7') return std::nullopt;
    if (value > (uint64_t{INT64_MAX} >> 3)) return std::nullopt;
    value = (value << 3) | static_cast<uint64_t>(c - '0');
  }
  return static_cast<int64_t>(value);
}

bool ChecksumOk(std::string_view block) {
  if (block.size() != kBlockSize) return false;
  std::optional<int64_t> stored = ParseNumber(block.substr(kChecksum.offset, kChecksum.size));
  if (!stored) return false;
  int64_t unsigned_sum = 0;
  int64_t signed_sum = 0;
  for (size_t i = 0; i < block.size(); ++i) {
    bool in_field = i >= kChecksum.offset && i < kChecksum.offset + kChecksum.size;
    char c = in_field ? ' ' : block[i];
    unsigned_sum += static_cast<unsigned char>(c);
    signed_sum += static_cast<signed char>(c);
  }
  return *stored == unsigned_sum || *stored == signed_sum;
}

std::string_view CString(std::string_view field) {
  size_t nul = field.find('\0');
  return nul == std::string_view::npos ? field : field.substr(0, nul);
}

}  // namespace lifeboat::archive::tar
