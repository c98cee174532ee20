#include "src/archive/hostile_archives.h"

#include <archive.h>
#include <archive_entry.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <zlib.h>

#include <cstdio>
#include <stdexcept>

#include "absl/strings/str_cat.h"
#include "src/archive/gzip_members.h"
#include "src/archive/tar_format.h"

namespace lifeboat::archive::testing {
namespace {

void PutField(std::string& block, tar::Field f, std::string_view s) {
  block.replace(f.offset, std::min(s.size(), f.size), s.substr(0, f.size));
}

std::string Octal(int64_t v, size_t width) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%0*llo", static_cast<int>(width - 1),
                static_cast<unsigned long long>(v));
  return buf;
}

// libarchive writes into a memory buffer it does not own; 64 MiB is plenty for the tests.
std::string WithLibarchive(bool gnu,
                           void (*fill)(struct archive*, std::string_view, std::string_view),
                           std::string_view name, std::string_view data) {
  std::string buffer(64 << 20, '\0');
  size_t used = 0;
  struct archive* a = archive_write_new();
  if (gnu) {
    archive_write_set_format_gnutar(a);
  } else {
    archive_write_set_format_pax(a);
  }
  archive_write_add_filter_gzip(a);
  if (archive_write_open_memory(a, buffer.data(), buffer.size(), &used) != ARCHIVE_OK) {
    throw std::runtime_error(archive_error_string(a));
  }
  fill(a, name, data);
  archive_write_close(a);
  archive_write_free(a);
  buffer.resize(used);
  return buffer;
}

}  // namespace

std::string RawHeader::Encode() const {
  std::string block(tar::kBlockSize, '\0');
  PutField(block, tar::kName, name);
  PutField(block, tar::kMode, Octal(0644, 8));
  PutField(block, tar::kUid, Octal(0, 8));
  PutField(block, tar::kGid, Octal(0, 8));
  PutField(block, tar::kSize, size_field.empty() ? Octal(size, 12) : size_field);
  PutField(block, tar::kMtime, Octal(1700000000, 12));
  block[tar::kTypeflag.offset] = typeflag;
  PutField(block, tar::kLinkname, linkname);
  block.replace(tar::kMagic.offset, 8, magic.substr(0, 8));
  PutField(block, tar::kPrefix, prefix);
  block.replace(tar::kChecksum.offset, 8, 8, ' ');
  int64_t sum = 0;
  for (char c : block) sum += static_cast<unsigned char>(c);
  if (corrupt_checksum) sum += 1;
  PutField(block, tar::Field{tar::kChecksum.offset, 7}, Octal(sum, 7));
  return block;
}

std::string RawEntry(RawHeader header, std::string_view data) {
  if (header.size == 0 && header.size_field.empty())
    header.size = static_cast<int64_t>(data.size());
  std::string out = header.Encode();
  out += data;
  out.append(static_cast<size_t>(tar::Padding(static_cast<int64_t>(data.size()))), '\0');
  return out;
}

std::string RawEntry(std::string_view name, std::string_view data, char typeflag) {
  RawHeader h;
  h.name = std::string(name);
  h.typeflag = typeflag;
  return RawEntry(h, data);
}

std::string PaxEntry(std::initializer_list<std::pair<std::string, std::string>> records) {
  std::string body;
  for (const auto& [key, value] : records) {
    size_t base = key.size() + value.size() + 3;
    size_t total = base + std::to_string(base).size();
    if (std::to_string(total).size() + base != total) total = base + std::to_string(total).size();
    absl::StrAppend(&body, total, " ", key, "=", value, "\n");
  }
  RawHeader h;
  h.name = "PaxHeaders.0/x";
  h.typeflag = 'x';
  return RawEntry(h, body);
}

std::string TarEnd() { return std::string(2 * tar::kBlockSize, '\0'); }

std::string Gzip(std::string_view tar, int level) {
  StatusOr<std::string> gz = CompressGzipMember(tar, level);
  if (!gz.ok()) throw std::runtime_error(std::string(gz.status().message()));
  return *gz;
}

namespace {
// Walks the members of `gz`, appending the data to *out when it is not null.
int WalkMembers(std::string_view gz, std::string* out) {
  z_stream z{};
  if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) return 0;
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(gz.data()));
  z.avail_in = static_cast<uInt>(gz.size());
  int members = 0;
  char buf[1 << 16];
  while (z.avail_in > 0) {
    z.next_out = reinterpret_cast<Bytef*>(buf);
    z.avail_out = sizeof(buf);
    int rc = inflate(&z, Z_NO_FLUSH);
    if (out != nullptr) out->append(buf, sizeof(buf) - z.avail_out);
    if (rc == Z_STREAM_END) {
      ++members;
      inflateReset(&z);
    } else if (rc != Z_OK) {
      members = 0;
      break;
    }
  }
  inflateEnd(&z);
  return members;
}
}  // namespace

std::string Gunzip(std::string_view gz) {
  std::string out;
  if (WalkMembers(gz, &out) == 0) return "";
  return out;
}

int CountGzipMembers(std::string_view gz) { return WalkMembers(gz, nullptr); }

std::string LibarchiveSpecial(SpecialKind kind, std::string_view name) {
  static SpecialKind current;
  current = kind;
  return WithLibarchive(
      false,
      [](struct archive* a, std::string_view n, std::string_view) {
        struct archive_entry* e = archive_entry_new();
        archive_entry_set_pathname(e, std::string(n).c_str());
        archive_entry_set_perm(e, 0644);
        switch (current) {
          case SpecialKind::kSymlink:
            archive_entry_set_filetype(e, AE_IFLNK);
            archive_entry_set_symlink(e, "/etc/passwd");
            break;
          case SpecialKind::kHardlink:
            archive_entry_set_filetype(e, AE_IFREG);
            archive_entry_set_hardlink(e, "etc/passwd");
            break;
          case SpecialKind::kCharDevice:
            archive_entry_set_filetype(e, AE_IFCHR);
            archive_entry_set_rdev(e, makedev(1, 3));
            break;
          case SpecialKind::kBlockDevice:
            archive_entry_set_filetype(e, AE_IFBLK);
            archive_entry_set_rdev(e, makedev(8, 0));
            break;
          case SpecialKind::kFifo:
            archive_entry_set_filetype(e, AE_IFIFO);
            break;
        }
        archive_write_header(a, e);
        archive_entry_free(e);
      },
      name, "");
}

std::string LibarchiveGnuTar(std::string_view name, std::string_view data) {
  return WithLibarchive(
      true,
      [](struct archive* a, std::string_view n, std::string_view d) {
        struct archive_entry* e = archive_entry_new();
        archive_entry_set_pathname(e, std::string(n).c_str());
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_perm(e, 0644);
        archive_entry_set_size(e, static_cast<la_int64_t>(d.size()));
        archive_write_header(a, e);
        archive_write_data(a, d.data(), d.size());
        archive_entry_free(e);
      },
      name, data);
}

}  // namespace lifeboat::archive::testing
