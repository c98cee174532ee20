#include "lifeboat/common/byte_stream.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <random>
#include <vector>

namespace lifeboat {
namespace {

namespace fs = std::filesystem;

Status ErrnoError(const std::string& what, const fs::path& path, int err) {
  std::string msg = what + " " + path.string() + ": " + std::strerror(err);
  switch (err) {
    case ENOENT:
      return absl::NotFoundError(msg);
    case EACCES:
    case EPERM:
      return absl::PermissionDeniedError(msg);
    case ENOSPC:
    case EDQUOT:
      return absl::ResourceExhaustedError(msg);
    default:
      return absl::InternalError(msg);
  }
}

class StringSourceImpl : public ByteSource {
 public:
  explicit StringSourceImpl(std::string data) : data_(std::move(data)) {}
  StatusOr<size_t> Read(std::span<char> buffer) override {
    size_t n = std::min(buffer.size(), data_.size() - pos_);
    std::memcpy(buffer.data(), data_.data() + pos_, n);
    pos_ += n;
    return n;
  }
  Status Rewind() override {
    pos_ = 0;
    return absl::OkStatus();
  }
  int64_t Size() const override { return static_cast<int64_t>(data_.size()); }

 private:
  std::string data_;
  size_t pos_ = 0;
};

class FileSourceImpl : public ByteSource {
 public:
  FileSourceImpl(int fd, fs::path path, int64_t size, bool takeable)
      : fd_(fd), path_(std::move(path)), size_(size), takeable_(takeable) {}
  ~FileSourceImpl() override { ::close(fd_); }
  StatusOr<size_t> Read(std::span<char> buffer) override {
    while (true) {
      ssize_t n = ::read(fd_, buffer.data(), buffer.size());
      if (n >= 0) return static_cast<size_t>(n);
      if (errno != EINTR) return ErrnoError("read", path_, errno);
    }
  }
  Status Rewind() override {
    if (::lseek(fd_, 0, SEEK_SET) < 0) return ErrnoError("seek", path_, errno);
    return absl::OkStatus();
  }
  int64_t Size() const override { return size_; }
  const fs::path* TakeableFile() const override { return takeable_ ? &path_ : nullptr; }

 private:
  int fd_;
  fs::path path_;
  int64_t size_;
  bool takeable_;
};

class StringSinkImpl : public ByteSink {
 public:
  explicit StringSinkImpl(std::string* out) : out_(out) {}
  Status Write(std::string_view data) override {
    out_->append(data);
    return absl::OkStatus();
  }
  Status Close() override { return absl::OkStatus(); }

 private:
  std::string* out_;
};

Status WriteAll(int fd, std::string_view data, const fs::path& path) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoError("write", path, errno);
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return absl::OkStatus();
}

Status FsyncDirectory(const fs::path& dir) {
  int fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoError("open directory", dir, errno);
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0) return ErrnoError("fsync directory", dir, err);
  return absl::OkStatus();
}

std::string RandomSuffix() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  static constexpr char kHex[] = "0123456789abcdef";
  std::string s;
  uint64_t v = rng();
  for (int i = 0; i < 12; ++i) s.push_back(kHex[(v >> (i * 4)) & 0xf]);
  return s;
}

class AtomicFileSinkImpl : public ByteSink {
 public:
  AtomicFileSinkImpl(int fd, fs::path tmp, fs::path path) : fd_(fd), tmp_(std::move(tmp)), path_(std::move(path)) {}
  ~AtomicFileSinkImpl() override {
    if (fd_ >= 0) {
      ::close(fd_);
      ::unlink(tmp_.c_str());
    }
  }
  Status Write(std::string_view data) override {
    if (fd_ < 0) return absl::FailedPreconditionError("write to a closed file sink " + path_.string());
    return WriteAll(fd_, data, tmp_);
  }
  Status Close() override {
    if (fd_ < 0) return absl::FailedPreconditionError("file sink " + path_.string() + " already closed");
    int fd = fd_;
    fd_ = -1;
    if (::fsync(fd) != 0) {
      int err = errno;
      ::close(fd);
      ::unlink(tmp_.c_str());
      return ErrnoError("fsync", tmp_, err);
    }
    if (::close(fd) != 0) {
      int err = errno;
      ::unlink(tmp_.c_str());
      return ErrnoError("close", tmp_, err);
    }
    if (::rename(tmp_.c_str(), path_.c_str()) != 0) {
      int err = errno;
      ::unlink(tmp_.c_str());
      return ErrnoError("rename into", path_, err);
    }
    return FsyncDirectory(path_.parent_path());
  }

 private:
  int fd_;
  fs::path tmp_;
  fs::path path_;
};

class ScratchFileSinkImpl : public ByteSink {
 public:
  ScratchFileSinkImpl(int fd, fs::path path, bool early_writeback)
      : fd_(fd), path_(std::move(path)), early_writeback_(early_writeback) {}
  ~ScratchFileSinkImpl() override {
    if (fd_ >= 0) ::close(fd_);
  }
  Status Write(std::string_view data) override {
    if (fd_ < 0) return absl::FailedPreconditionError("write to a closed file sink " + path_.string());
    LIFEBOAT_RETURN_IF_ERROR(WriteAll(fd_, data, path_));
    written_ += static_cast<int64_t>(data.size());
    if (early_writeback_ && written_ - flushed_ >= kWritebackBytes) {
      // Starts writeback of what was written since the last call; does not wait for it. A
      // failure here only means the later sync does all the work.
      (void)::sync_file_range(fd_, flushed_, written_ - flushed_, SYNC_FILE_RANGE_WRITE);
      flushed_ = written_;
    }
    return absl::OkStatus();
  }
  Status Close() override {
    if (fd_ < 0) return absl::FailedPreconditionError("file sink " + path_.string() + " already closed");
    const int fd = fd_;
    fd_ = -1;
    if (early_writeback_ && written_ > flushed_) {
      (void)::sync_file_range(fd, flushed_, written_ - flushed_, SYNC_FILE_RANGE_WRITE);
    }
    if (::close(fd) != 0) return ErrnoError("close", path_, errno);
    return absl::OkStatus();
  }

 private:
  static constexpr int64_t kWritebackBytes = int64_t{4} << 20;
  int fd_;
  fs::path path_;
  bool early_writeback_;
  int64_t written_ = 0, flushed_ = 0;
};

}  // namespace

StatusOr<size_t> ViewSource::Read(std::span<char> buffer) {
  size_t n = std::min(buffer.size(), data_.size() - pos_);
  std::memcpy(buffer.data(), data_.data() + pos_, n);
  pos_ += n;
  return n;
}

std::unique_ptr<ByteSource> StringSource(std::string data) {
  return std::make_unique<StringSourceImpl>(std::move(data));
}

namespace {
StatusOr<std::unique_ptr<ByteSource>> OpenFileSource(const std::filesystem::path& path, bool takeable) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoError("open", path, errno);
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    int err = errno;
    ::close(fd);
    return ErrnoError("stat", path, err);
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return absl::FailedPreconditionError(path.string() + " is not a regular file");
  }
  return std::unique_ptr<ByteSource>(std::make_unique<FileSourceImpl>(fd, path, static_cast<int64_t>(st.st_size), takeable));
}
}  // namespace

StatusOr<std::unique_ptr<ByteSource>> FileSource(const std::filesystem::path& path) {
  return OpenFileSource(path, /*takeable=*/false);
}

StatusOr<std::unique_ptr<ByteSource>> TakeableFileSource(const std::filesystem::path& path) {
  return OpenFileSource(path, /*takeable=*/true);
}

std::unique_ptr<ByteSink> StringSink(std::string* out) { return std::make_unique<StringSinkImpl>(out); }

StatusOr<std::unique_ptr<ByteSink>> AtomicFileSink(const std::filesystem::path& path, int mode) {
  fs::path tmp = path;
  tmp += ".tmp-" + RandomSuffix();
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) return ErrnoError("create", tmp, errno);
  // The umask must not widen or narrow what the caller asked for.
  if (::fchmod(fd, static_cast<mode_t>(mode)) != 0) {
    int err = errno;
    ::close(fd);
    ::unlink(tmp.c_str());
    return ErrnoError("chmod", tmp, err);
  }
  return std::unique_ptr<ByteSink>(std::make_unique<AtomicFileSinkImpl>(fd, tmp, path));
}

StatusOr<std::unique_ptr<ByteSink>> ScratchFileSink(const std::filesystem::path& path, int mode,
                                                    bool early_writeback) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return ErrnoError("create", path, errno);
  if (::fchmod(fd, static_cast<mode_t>(mode)) != 0) {
    int err = errno;
    ::close(fd);
    return ErrnoError("chmod", path, err);
  }
  return std::unique_ptr<ByteSink>(std::make_unique<ScratchFileSinkImpl>(fd, path, early_writeback));
}

StatusOr<int64_t> Copy(ByteSource& source, ByteSink& sink) {
  std::vector<char> buffer(256 * 1024);
  int64_t total = 0;
  while (true) {
    LIFEBOAT_ASSIGN_OR_RETURN(size_t n, source.Read(std::span<char>(buffer)));
    if (n == 0) return total;
    LIFEBOAT_RETURN_IF_ERROR(sink.Write(std::string_view(buffer.data(), n)));
    total += static_cast<int64_t>(n);
  }
}

StatusOr<std::string> ReadAll(ByteSource& source, size_t max_bytes) {
  std::string out;
  std::vector<char> buffer(64 * 1024);
  while (true) {
    LIFEBOAT_ASSIGN_OR_RETURN(size_t n, source.Read(std::span<char>(buffer)));
    if (n == 0) return out;
    if (out.size() + n > max_bytes) {
      return absl::FailedPreconditionError("stream is larger than " + std::to_string(max_bytes) + " bytes");
    }
    out.append(buffer.data(), n);
  }
}

StatusOr<std::string> ReadFile(const std::filesystem::path& path, size_t max_bytes) {
  LIFEBOAT_ASSIGN_OR_RETURN(std::unique_ptr<ByteSource> src, FileSource(path));
  if (src->Size() >= 0 && static_cast<uint64_t>(src->Size()) > max_bytes) {
    return absl::FailedPreconditionError(path.string() + " is larger than " + std::to_string(max_bytes) + " bytes");
  }
  auto data = ReadAll(*src, max_bytes);
  if (!data.ok() && absl::IsFailedPrecondition(data.status())) {
    return absl::FailedPreconditionError(path.string() + " is larger than " + std::to_string(max_bytes) + " bytes");
  }
  return data;
}

Status WriteFileAtomically(const std::filesystem::path& path, std::string_view contents, int mode) {
  LIFEBOAT_ASSIGN_OR_RETURN(std::unique_ptr<ByteSink> sink, AtomicFileSink(path, mode));
  LIFEBOAT_RETURN_IF_ERROR(sink->Write(contents));
  return sink->Close();
}

}  // namespace lifeboat
