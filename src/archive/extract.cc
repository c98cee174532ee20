// ExtractTo: writes an archive's regular files under a directory without ever leaving it.

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>

#include "absl/strings/str_split.h"
#include "lifeboat/archive/reader.h"
#include "src/archive/str.h"

namespace lifeboat::archive {
namespace {

class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) close(fd_);
  }
  Fd(Fd&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  Fd& operator=(Fd&& o) noexcept {
    std::swap(fd_, o.fd_);
    return *this;
  }
  int get() const { return fd_; }
  // Closes now and reports close()'s result (write errors of some file systems show here).
  int Close() {
    int rc = close(fd_);
    fd_ = -1;
    return rc;
  }

 private:
  int fd_;
};

Status Errno(std::string_view what, std::string_view path, int err) {
  std::string message = Cat(what, " ", path, ": ", std::strerror(err));
  switch (err) {
    case EACCES:
    case EPERM:
      return absl::PermissionDeniedError(message);
    case ENOSPC:
    case EDQUOT:
    case EMFILE:
    case ENFILE:
      return absl::ResourceExhaustedError(message);
    case ELOOP:
    case ENOTDIR:
    case EEXIST:
      return absl::FailedPreconditionError(message);
    default:
      return absl::InternalError(message);
  }
}

// Opens (creating if missing) the directory `name` inside `parent`, refusing symlinks.
StatusOr<Fd> OpenSubdir(int parent, const std::string& name, std::string_view shown) {
  if (mkdirat(parent, name.c_str(), 0700) != 0 && errno != EEXIST) {
    return Errno("creating directory", shown, errno);
  }
  Fd fd(openat(parent, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (fd.get() < 0) {
    int err = errno;
    if (err == ELOOP || err == ENOTDIR) {
      return absl::FailedPreconditionError(
          Cat("refusing to extract through ", shown, ": not a real directory"));
    }
    return Errno("opening directory", shown, err);
  }
  return fd;
}

// Creates `name` in `parent` exclusively; an earlier regular file of the same name (a
// duplicate entry) is replaced, anything else is refused.
StatusOr<Fd> CreateFile(int parent, const std::string& name, std::string_view shown) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    Fd fd(openat(parent, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (fd.get() >= 0) return fd;
    if (errno != EEXIST) return Errno("creating", shown, errno);
    struct stat st {};
    if (fstatat(parent, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      return Errno("inspecting", shown, errno);
    }
    if (!S_ISREG(st.st_mode)) {
      return absl::FailedPreconditionError(
          Cat("refusing to replace ", shown, ": it exists and is not a regular file"));
    }
    if (unlinkat(parent, name.c_str(), 0) != 0) return Errno("replacing", shown, errno);
  }
  return absl::FailedPreconditionError(Cat("cannot create ", shown));
}

Status WriteAll(int fd, std::string_view data, std::string_view shown) {
  while (!data.empty()) {
    ssize_t n = write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Errno("writing", shown, errno);
    data.remove_prefix(static_cast<size_t>(n));
  }
  return absl::OkStatus();
}

// The entry path was validated by the reader (relative, no "." / ".." / empty segments).
Status WriteEntry(int root, const Entry& entry) {
  std::vector<std::string> segments = absl::StrSplit(entry.path, '/');
  Fd holder;
  int parent = root;
  for (size_t i = 0; i + 1 < segments.size(); ++i) {
    LIFEBOAT_ASSIGN_OR_RETURN(holder, OpenSubdir(parent, segments[i], entry.path));
    parent = holder.get();
  }
  LIFEBOAT_ASSIGN_OR_RETURN(Fd file, CreateFile(parent, segments.back(), entry.path));
  LIFEBOAT_RETURN_IF_ERROR(WriteAll(file.get(), entry.data, entry.path));
  if (file.Close() != 0) return Errno("closing", entry.path, errno);
  return absl::OkStatus();
}

}  // namespace

Status ExtractTo(ByteSource& source, const std::filesystem::path& dir, ReaderLimits limits) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return absl::InternalError(Cat("creating ", dir.string(), ": ", ec.message()));
  Fd root(open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (root.get() < 0) return Errno("opening", dir.string(), errno);
  LIFEBOAT_ASSIGN_OR_RETURN(std::unique_ptr<ArchiveReader> reader,
                            ArchiveReader::Open(&source, limits));
  while (true) {
    LIFEBOAT_ASSIGN_OR_RETURN(std::optional<Entry> entry, reader->Next());
    if (!entry) return absl::OkStatus();
    LIFEBOAT_RETURN_IF_ERROR(WriteEntry(root.get(), *entry));
  }
}

}  // namespace lifeboat::archive
