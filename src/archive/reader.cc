#include "lifeboat/archive/reader.h"

#include <algorithm>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "src/archive/gzip_stream.h"
#include "src/archive/str.h"
#include "src/archive/tar_format.h"

namespace lifeboat::archive {
namespace {

using tar::kBlockSize;

constexpr size_t kDataChunk = 64 << 10;

// A name as it may appear in an error message: escaped and shortened.
std::string Quote(std::string_view name) {
  constexpr size_t kMax = 200;
  std::string escaped = absl::CEscape(Sv(name.substr(0, kMax)));
  return Cat("\"", escaped, name.size() > kMax ? "...\"" : "\"");
}

bool AllZero(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c == '\0'; });
}

// What PAX ('x') and GNU long-name ('L') entries say about the entry that follows them.
struct PendingMeta {
  std::optional<std::string> path;
  std::optional<int64_t> size;
  bool any() const { return path.has_value() || size.has_value(); }
};

class TarGzReader : public ArchiveReader {
 public:
  TarGzReader(ByteSource* source, ReaderLimits limits) : limits_(limits), gz_(source, limits) {}

  StatusOr<std::optional<Entry>> Next() override {
    if (!error_.ok()) return error_;
    if (done_) return std::optional<Entry>();
    StatusOr<std::optional<Entry>> entry = NextEntry();
    if (!entry.ok()) error_ = entry.status();
    return entry;
  }

  int64_t compressed_bytes() const override { return gz_.compressed(); }
  int64_t uncompressed_bytes() const override { return gz_.decompressed(); }

 private:
  StatusOr<std::optional<Entry>> NextEntry();
  StatusOr<std::optional<Entry>> EndOfArchive();
  // Reads exactly `n` bytes; false (and *got < n) at the end of the stream.
  StatusOr<bool> ReadFull(char* out, size_t n, size_t* got);
  // Reads `size` data bytes plus padding. Appends to *out unless it is null.
  Status ReadData(std::string_view what, int64_t size, std::string* out);
  Status ParsePax(std::string_view name, std::string_view records, PendingMeta* meta);
  StatusOr<int64_t> SpecialSize(std::string_view what, int64_t size);

  ReaderLimits limits_;
  GzipStream gz_;
  int64_t offset_ = 0;  // tar stream position
  int64_t headers_ = 0;
  bool done_ = false;
  Status error_;
};

StatusOr<bool> TarGzReader::ReadFull(char* out, size_t n, size_t* got) {
  *got = 0;
  while (*got < n) {
    LIFEBOAT_ASSIGN_OR_RETURN(size_t r, gz_.Read(out + *got, n - *got));
    if (r == 0) return false;
    *got += r;
    offset_ += static_cast<int64_t>(r);
  }
  return true;
}

Status TarGzReader::ReadData(std::string_view what, int64_t size, std::string* out) {
  int64_t total = size + tar::Padding(size);
  std::string chunk(std::min<int64_t>(total, kDataChunk), '\0');
  int64_t done = 0;
  while (done < total) {
    size_t want = static_cast<size_t>(std::min<int64_t>(total - done, kDataChunk));
    size_t got = 0;
    LIFEBOAT_ASSIGN_OR_RETURN(bool full, ReadFull(chunk.data(), want, &got));
    int64_t data_part = std::clamp<int64_t>(size - done, 0, static_cast<int64_t>(got));
    if (out != nullptr) {
      if (static_cast<int64_t>(out->size()) + data_part > limits_.max_entry_bytes) {
        return absl::DataLossError(
            Cat("archive entry ", what, " is larger than ", limits_.max_entry_bytes, " bytes"));
      }
      out->append(chunk.data(), static_cast<size_t>(data_part));
    }
    done += static_cast<int64_t>(got);
    if (!full) {
      return absl::DataLossError(Cat("truncated archive: entry ", what, " has ",
                                     std::min(done, size), " of ", size, " bytes"));
    }
  }
  return absl::OkStatus();
}

StatusOr<int64_t> TarGzReader::SpecialSize(std::string_view what, int64_t size) {
  if (size > tar::kMaxSpecialFileSize) {
    return absl::DataLossError(Cat("archive ", what, " header of ", size, " bytes is larger than ",
                                   tar::kMaxSpecialFileSize));
  }
  return size;
}

Status TarGzReader::ParsePax(std::string_view name, std::string_view records, PendingMeta* meta) {
  auto bad = [&](std::string_view why) {
    return absl::DataLossError(
        Cat("malformed PAX header ", Quote(name), " at offset ", offset_, ": ", why));
  };
  while (!records.empty()) {
    size_t space = records.find(' ');
    int64_t length = 0;
    if (space == std::string_view::npos ||
        !absl::SimpleAtoi(Sv(records.substr(0, space)), &length) ||
        length <= static_cast<int64_t>(space) + 1 ||
        length > static_cast<int64_t>(records.size())) {
      return bad("bad record length");
    }
    std::string_view record = records.substr(0, static_cast<size_t>(length));
    records.remove_prefix(static_cast<size_t>(length));
    if (record.back() != '\n') return bad("record does not end with a newline");
    record = record.substr(space + 1, record.size() - space - 2);
    size_t eq = record.find('=');
    if (eq == std::string_view::npos || eq == 0) return bad("record without key=value");
    std::string_view key = record.substr(0, eq);
    std::string_view value = record.substr(eq + 1);
    if (key == "path") {
      meta->path = std::string(value);
    } else if (key == "size") {
      int64_t size = 0;
      if (!absl::SimpleAtoi(Sv(value), &size) || size < 0) return bad("bad size record");
      meta->size = size;
    } else if (key.substr(0, 11) == "GNU.sparse.") {
      return bad("sparse files are not supported");
    }
  }
  return absl::OkStatus();
}

StatusOr<std::optional<Entry>> TarGzReader::EndOfArchive() {
  char block[kBlockSize];
  size_t got = 0;
  LIFEBOAT_ASSIGN_OR_RETURN(bool full, ReadFull(block, kBlockSize, &got));
  if (!full || !AllZero(std::string_view(block, kBlockSize))) {
    return absl::DataLossError(
        Cat("malformed end-of-archive marker at offset ", offset_ - static_cast<int64_t>(got)));
  }
  // Only zero padding (tar records) may follow, up to the end of the last gzip member.
  std::string rest(kDataChunk, '\0');
  while (true) {
    LIFEBOAT_ASSIGN_OR_RETURN(size_t n, gz_.Read(rest.data(), rest.size()));
    if (n == 0) break;
    if (!AllZero(std::string_view(rest.data(), n))) {
      return absl::DataLossError(
          Cat("trailing data after the end-of-archive marker at offset ", offset_));
    }
    offset_ += static_cast<int64_t>(n);
  }
  done_ = true;
  return std::optional<Entry>();
}

StatusOr<std::optional<Entry>> TarGzReader::NextEntry() {
  PendingMeta meta;
  while (true) {
    std::string block(kBlockSize, '\0');
    int64_t at = offset_;
    size_t got = 0;
    LIFEBOAT_ASSIGN_OR_RETURN(bool full, ReadFull(block.data(), kBlockSize, &got));
    if (!full) {
      return absl::DataLossError(got == 0 ? Cat("truncated archive: no end-of-archive "
                                                "marker at offset ",
                                                at)
                                          : Cat("truncated tar header at offset ", at));
    }
    if (AllZero(block)) {
      if (meta.any()) {
        return absl::DataLossError(Cat("extended header without an entry at offset ", at));
      }
      return EndOfArchive();
    }
    if (!tar::ChecksumOk(block)) {
      return absl::DataLossError(Cat("bad tar header checksum at offset ", at));
    }
    std::string_view magic(block.data() + tar::kMagic.offset, 8);
    bool posix = magic == std::string_view(
                              "ustar\0"
                              "00",
                              8);
    bool gnu = magic == std::string_view("ustar  \0", 8);
    if (!posix && !gnu) {
      return absl::DataLossError(Cat("unrecognised tar header format at offset ", at));
    }
    if (++headers_ > limits_.max_entries) {
      return absl::DataLossError(Cat("archive has more than ", limits_.max_entries, " entries"));
    }
    std::string name(
        tar::CString(std::string_view(block).substr(tar::kName.offset, tar::kName.size)));
    std::string_view prefix =
        tar::CString(std::string_view(block).substr(tar::kPrefix.offset, tar::kPrefix.size));
    if (posix && !prefix.empty()) name = Cat(prefix, "/", name);
    if (meta.path) name = *meta.path;
    // "./x" (GNU tar run on ".") names the same file as "x".
    if (name.size() > 2 && name[0] == '.' && name[1] == '/') name.erase(0, 2);
    std::optional<int64_t> size =
        tar::ParseNumber(std::string_view(block).substr(tar::kSize.offset, tar::kSize.size));
    if (!size) {
      return absl::DataLossError(
          Cat("malformed size in tar header of ", Quote(name), " at offset ", at));
    }
    if (meta.size) size = meta.size;
    char type = block[tar::kTypeflag.offset];
    if (type == 'x' || type == 'g' || type == 'L') {
      const char* what = type == 'L' ? "GNU long name" : "PAX";
      LIFEBOAT_ASSIGN_OR_RETURN(int64_t special, SpecialSize(what, *size));
      std::string payload;
      LIFEBOAT_RETURN_IF_ERROR(ReadData(Quote(name), special, &payload));
      if (type == 'x') LIFEBOAT_RETURN_IF_ERROR(ParsePax(name, payload, &meta));
      if (type == 'L') meta.path = std::string(tar::CString(payload));
      continue;  // a global ('g') header describes no file of ours: skipped
    }
    bool directory = type == '5' || (type == '\0' && !name.empty() && name.back() == '/');
    if (directory) {
      if (name != "." && name != "./") {
        std::string problem = tar::PathProblem(name, /*directory=*/true);
        if (!problem.empty()) {
          return absl::DataLossError(Cat("unsafe archive entry ", Quote(name), ": ", problem));
        }
      }
      LIFEBOAT_RETURN_IF_ERROR(ReadData(Quote(name), *size, nullptr));
      meta = PendingMeta();
      continue;
    }
    std::string_view kind;
    switch (type) {
      case '0':
      case '\0':
        break;
      case '1':
        kind = "a hard link";
        break;
      case '2':
        kind = "a symbolic link";
        break;
      case '3':
        kind = "a character device";
        break;
      case '4':
        kind = "a block device";
        break;
      case '6':
        kind = "a FIFO";
        break;
      case 'K':
        kind = "a GNU long link name";
        break;
      default:
        kind = "of an unsupported type";
        break;
    }
    if (!kind.empty()) {
      return absl::DataLossError(Cat("archive entry ", Quote(name), " is ", kind, " (typeflag ",
                                     absl::CEscape(std::string(1, type)),
                                     "); only regular files and directories are allowed"));
    }
    std::string problem = tar::PathProblem(name);
    if (!problem.empty()) {
      return absl::DataLossError(Cat("unsafe archive entry ", Quote(name), ": ", problem));
    }
    if (*size > limits_.max_entry_bytes) {
      return absl::DataLossError(Cat("archive entry ", Quote(name), " declares ", *size,
                                     " bytes, more than the limit of ", limits_.max_entry_bytes));
    }
    Entry entry;
    entry.path = std::move(name);
    LIFEBOAT_RETURN_IF_ERROR(ReadData(Quote(entry.path), *size, &entry.data));
    return std::optional<Entry>(std::move(entry));
  }
}

}  // namespace

StatusOr<std::unique_ptr<ArchiveReader>> ArchiveReader::Open(ByteSource* source,
                                                             ReaderLimits limits) {
  if (source == nullptr) return absl::InvalidArgumentError("archive reader needs a source");
  if (limits.max_entry_bytes < 0 || limits.max_total_bytes < 0 || limits.max_entries < 0 ||
      !(limits.max_expansion_ratio >= 1)) {
    return absl::InvalidArgumentError("archive reader limits must be non-negative (ratio >= 1)");
  }
  return std::unique_ptr<ArchiveReader>(new TarGzReader(source, limits));
}

}  // namespace lifeboat::archive
