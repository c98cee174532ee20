#pragma once

// Test helpers: hand-crafted tar streams (every header field under the test's control) and
// archives built by libarchive (links, devices, FIFOs, GNU long names), for the reader's
// hostile-input tests and the extraction tests.

#include <cstdint>
#include <string>
#include <string_view>

namespace lifeboat::archive::testing {

// One 512-byte header. Defaults give a valid POSIX ustar regular file.
struct RawHeader {
  std::string name;
  char typeflag = '0';
  int64_t size = 0;
  std::string size_field;  // when set, written verbatim instead of `size`
  std::string linkname;
  std::string prefix;
  std::string magic = std::string(
      "ustar\0"
      "00",
      8);
  bool corrupt_checksum = false;
  std::string Encode() const;
};

// Header + data + padding.
std::string RawEntry(RawHeader header, std::string_view data);
std::string RawEntry(std::string_view name, std::string_view data, char typeflag = '0');
// A PAX 'x' entry carrying the given "key=value" records.
std::string PaxEntry(std::initializer_list<std::pair<std::string, std::string>> records);
// The two zero blocks that end an archive.
std::string TarEnd();
// A single gzip member of `tar`.
std::string Gzip(std::string_view tar, int level = 6);
// The whole decompressed contents of a (multi-member) gzip file; empty on error.
std::string Gunzip(std::string_view gz);
// Number of gzip members in `gz` (0 if it is not valid multi-member gzip).
int CountGzipMembers(std::string_view gz);

// Archives made by libarchive (pax format, gzip): one entry of the given kind named `name`.
enum class SpecialKind { kSymlink, kHardlink, kCharDevice, kBlockDevice, kFifo };
std::string LibarchiveSpecial(SpecialKind kind, std::string_view name);
// A GNU-format (gnutar) archive with 'L' long names, containing `name` -> `data`.
std::string LibarchiveGnuTar(std::string_view name, std::string_view data);

}  // namespace lifeboat::archive::testing
