#include "kubesim/src/store/wal.h"

#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <vector>

namespace kubesim {
namespace {

constexpr size_t kHeaderBytes = 8;
constexpr uint32_t kMaxRecordBytes = 64u << 20;

void PutU32(char* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<char>((v >> (8 * i)) & 0xff);
}
uint32_t GetU32(const char* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= static_cast<uint32_t>(static_cast<unsigned char>(p[i])) << (8 * i);
  return v;
}
uint32_t Crc(std::string_view data) {
  return static_cast<uint32_t>(
      crc32(0L, reinterpret_cast<const Bytef*>(data.data()), static_cast<uInt>(data.size())));
}
absl::Status Errno(const std::string& what, const std::filesystem::path& path) {
  return absl::InternalError(what + " " + path.string() + ": " + std::strerror(errno));
}

}  // namespace

StatusOr<std::unique_ptr<Wal>> Wal::Open(const std::filesystem::path& path, bool sync) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) return Errno("opening", path);
  off_t size = ::lseek(fd, 0, SEEK_END);
  return std::unique_ptr<Wal>(new Wal(fd, sync, size < 0 ? 0 : static_cast<size_t>(size)));
}

Wal::~Wal() { ::close(fd_); }

Status Wal::Append(std::string_view payload) {
  std::string rec(kHeaderBytes, '\0');
  PutU32(rec.data(), static_cast<uint32_t>(payload.size()));
  PutU32(rec.data() + 4, Crc(payload));
  rec.append(payload);
  // One write() per record: a process crash leaves either the whole record or a torn tail
  // that Replay() drops.
  size_t off = 0;
  while (off < rec.size()) {
    ssize_t n = ::write(fd_, rec.data() + off, rec.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      return absl::InternalError(std::string("appending to the write-ahead log: ") + std::strerror(errno));
    }
    off += static_cast<size_t>(n);
  }
  size_ += rec.size();
  if (sync_ && ::fdatasync(fd_) != 0) {
    return absl::InternalError(std::string("syncing the write-ahead log: ") + std::strerror(errno));
  }
  return absl::OkStatus();
}

Status Wal::Truncate() {
  if (::ftruncate(fd_, 0) != 0) {
    return absl::InternalError(std::string("truncating the write-ahead log: ") + std::strerror(errno));
  }
  size_ = 0;
  return absl::OkStatus();
}

Status Wal::Replay(const std::filesystem::path& path,
                   const std::function<Status(std::string_view)>& fn, size_t* dropped_bytes) {
  *dropped_bytes = 0;
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::OkStatus();  // no log yet
  std::vector<char> buf;
  char header[kHeaderBytes];
  size_t offset = 0;
  in.seekg(0, std::ios::end);
  size_t total = static_cast<size_t>(in.tellg());
  in.seekg(0);
  while (offset < total) {
    if (total - offset < kHeaderBytes || !in.read(header, kHeaderBytes)) break;
    uint32_t len = GetU32(header);
    uint32_t crc = GetU32(header + 4);
    if (len > kMaxRecordBytes || total - offset - kHeaderBytes < len) break;
    buf.resize(len);
    if (!in.read(buf.data(), len)) break;
    std::string_view payload(buf.data(), len);
    if (Crc(payload) != crc) break;
    LIFEBOAT_RETURN_IF_ERROR(fn(payload));
    offset += kHeaderBytes + len;
  }
  *dropped_bytes = total - offset;
  return absl::OkStatus();
}

}  // namespace kubesim
