#include "src/storage/drivers/local/local_object_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <random>
#include <set>
#include <utility>
#include <vector>

#include <boost/url.hpp>

#include "absl/strings/str_split.h"

namespace lifeboat::storage::local {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kTempPrefix = ".lifeboat-tmp-";
constexpr size_t kChunk = 1 << 20;
constexpr int kPutAttempts = 5;

// An owned file descriptor.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  Fd& operator=(Fd&& other) noexcept {
    if (this != &other) {
      Reset();
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }
  ~Fd() { Reset(); }
  int get() const { return fd_; }
  void Reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

Status ErrnoStatus(std::string_view what, std::string_view key, int err) {
  std::string msg = std::string(what) + " " + std::string(key) + ": " + std::strerror(err);
  switch (err) {
    case ENOENT:
      return absl::NotFoundError(msg);
    case EACCES:
    case EPERM:
    case EROFS:
      return absl::PermissionDeniedError(msg);
    case ENOSPC:
    case EDQUOT:
      return absl::ResourceExhaustedError(msg);
    case EINTR:
    case EAGAIN:
      return absl::UnavailableError(msg);
    default:
      return absl::InternalError(msg);
  }
}

Status InvalidKey(std::string_view key, std::string_view why) {
  return absl::InvalidArgumentError("invalid object key \"" + std::string(key) + "\": " +
                                    std::string(why));
}

bool ValidSegment(std::string_view seg) {
  return !seg.empty() && seg != "." && seg != ".." && seg.size() <= 255 &&
         !seg.starts_with(kTempPrefix);
}

// Splits a key into path segments, rejecting everything that could leave the bucket directory
// or that a file system cannot represent.
StatusOr<std::vector<std::string>> SplitKey(std::string_view key) {
  if (key.empty()) return InvalidKey(key, "empty");
  if (key.size() > 1024) return InvalidKey(key.substr(0, 64), "longer than 1024 bytes");
  if (key.find('\0') != std::string_view::npos) return InvalidKey("", "contains NUL");
  if (key.find('\\') != std::string_view::npos) return InvalidKey(key, "contains a backslash");
  if (key.front() == '/') return InvalidKey(key, "absolute");
  std::vector<std::string> segments = absl::StrSplit(absl::string_view(key.data(), key.size()), '/');
  for (const std::string& seg : segments) {
    if (seg.empty()) return InvalidKey(key, "empty path segment");
    if (seg == "." || seg == "..") return InvalidKey(key, "\".\" or \"..\" segment");
    if (seg.size() > 255) return InvalidKey(key, "path segment longer than 255 bytes");
    if (seg.starts_with(kTempPrefix)) return InvalidKey(key, "reserved temporary-file name");
  }
  return segments;
}

// "a/b/" is a valid S3 key (a "folder" marker) that a file system cannot hold as a file: it is
// never stored here, so reads see no such object (Put of it is InvalidArgument).
bool IsFolderMarker(std::string_view key) {
  return key.size() > 1 && key.back() == '/' && SplitKey(key.substr(0, key.size() - 1)).ok();
}

Status CheckBucket(std::string_view bucket) {
  if (bucket.empty() || bucket == "." || bucket == ".." ||
      bucket.find_first_of(std::string_view("/\\\0", 3)) != std::string_view::npos) {
    return absl::InvalidArgumentError("invalid bucket name \"" + std::string(bucket) + "\"");
  }
  return absl::OkStatus();
}

std::string TempName() {
  static std::atomic<uint64_t> counter{0};
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return std::string(kTempPrefix) + std::to_string(::getpid()) + "-" +
         std::to_string(counter++) + "-" + std::to_string(rng());
}

// Opens `name` in `dir` as a directory without following a symbolic link.
int OpenDirAt(int dir, const std::string& name) {
  return ::openat(dir, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

Status WriteAll(int fd, std::string_view data, std::string_view key) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus("writing", key, errno);
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return absl::OkStatus();
}

// A directory chain from the bucket down to an object's directory: dirs[0] is the bucket,
// dirs[i] the directory named by the first i segments.
struct DirChain {
  std::vector<Fd> dirs;
  int last() const { return dirs.back().get(); }
};

// Walks (and with `create`, makes) the directories of segments[0..n-2]. NotFound when one is
// missing; FailedPrecondition when one is a file or a symbolic link.
StatusOr<DirChain> WalkDirs(Fd bucket_dir, const std::vector<std::string>& segments,
                            std::string_view key, bool create) {
  DirChain chain;
  chain.dirs.push_back(std::move(bucket_dir));
  for (size_t i = 0; i + 1 < segments.size(); ++i) {
    int fd = OpenDirAt(chain.last(), segments[i]);
    if (fd < 0 && errno == ENOENT && create) {
      if (::mkdirat(chain.last(), segments[i].c_str(), 0755) != 0 && errno != EEXIST) {
        return ErrnoStatus("creating directory for", key, errno);
      }
      ::fsync(chain.last());
      fd = OpenDirAt(chain.last(), segments[i]);
    }
    if (fd < 0) {
      if (errno == ENOTDIR || errno == ELOOP) {
        if (!create) return absl::NotFoundError("object " + std::string(key) + " not found");
        return absl::FailedPreconditionError(
            "cannot store " + std::string(key) + ": a parent path is an object or a symbolic " +
            "link (the local driver cannot store both \"a\" and \"a/b\")");
      }
      return ErrnoStatus("opening directory of", key, errno);
    }
    chain.dirs.emplace_back(fd);
  }
  return chain;
}

}  // namespace

StatusOr<std::unique_ptr<LocalObjectStore>> LocalObjectStore::Create(fs::path root) {
  if (root.empty()) return absl::InvalidArgumentError("local driver: config key \"root\" is empty");
  if (!root.is_absolute()) {
    return absl::InvalidArgumentError("local driver: root \"" + root.string() +
                                      "\" is not an absolute path");
  }
  std::error_code ec;
  if (!fs::is_directory(root, ec)) {
    return absl::FailedPreconditionError("local driver: root " + root.string() +
                                         " is not an existing directory");
  }
  return std::unique_ptr<LocalObjectStore>(new LocalObjectStore(std::move(root)));
}

namespace {

StatusOr<Fd> OpenBucket(const fs::path& root, std::string_view bucket) {
  LIFEBOAT_RETURN_IF_ERROR(CheckBucket(bucket));
  Fd root_fd(::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (root_fd.get() < 0) return ErrnoStatus("opening root", root.string(), errno);
  int fd = OpenDirAt(root_fd.get(), std::string(bucket));
  if (fd < 0) {
    if (errno == ENOENT || errno == ENOTDIR || errno == ELOOP) {
      return absl::FailedPreconditionError("bucket " + std::string(bucket) +
                                           " does not exist (no directory " +
                                           (root / std::string(bucket)).string() + ")");
    }
    return ErrnoStatus("opening bucket", bucket, errno);
  }
  return Fd(fd);
}

// Copies `body` into the open temp file, checking its declared size.
Status CopyBody(ByteSource& body, int fd, std::string_view key) {
  std::vector<char> buffer(kChunk);
  int64_t total = 0;
  while (true) {
    LIFEBOAT_ASSIGN_OR_RETURN(size_t n, body.Read(std::span<char>(buffer.data(), buffer.size())));
    if (n == 0) break;
    total += static_cast<int64_t>(n);
    if (body.Size() >= 0 && total > body.Size()) {
      return absl::DataLossError("body of " + std::string(key) + " is longer than its size " +
                                 std::to_string(body.Size()));
    }
    LIFEBOAT_RETURN_IF_ERROR(WriteAll(fd, std::string_view(buffer.data(), n), key));
  }
  if (body.Size() >= 0 && total != body.Size()) {
    return absl::DataLossError("body of " + std::string(key) + " ended after " +
                               std::to_string(total) + " bytes, declared size " +
                               std::to_string(body.Size()));
  }
  if (::fsync(fd) != 0) return ErrnoStatus("syncing", key, errno);
  return absl::OkStatus();
}

// A body that is a finished scratch file on the bucket's file system (ByteSource::TakeableFile)
// is hard-linked as `tmp` in `dir` instead of copied, then made durable like a copy: no second
// copy of a backup's archive is written and synced. False (nothing done) when the body is no
// such file or cannot be linked here (another file system); true with `s` set otherwise.
bool TakeFile(ByteSource& body, int dir, const std::string& tmp, std::string_view key, Status& s) {
  const fs::path* path = body.TakeableFile();
  if (path == nullptr || ::linkat(AT_FDCWD, path->c_str(), dir, tmp.c_str(), 0) != 0) return false;
  Fd file(::openat(dir, tmp.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  struct stat st {};
  if (file.get() < 0) {
    s = ErrnoStatus("opening the linked temporary file for", key, errno);
  } else if (::fstat(file.get(), &st) != 0) {
    s = ErrnoStatus("stat of", key, errno);
  } else if (!S_ISREG(st.st_mode) || (body.Size() >= 0 && st.st_size != body.Size())) {
    s = absl::DataLossError("body of " + std::string(key) + " changed size while it was stored");
  } else if (::fchmod(file.get(), 0644) != 0) {
    s = ErrnoStatus("chmod of", key, errno);
  } else if (::fsync(file.get()) != 0) {
    s = ErrnoStatus("syncing", key, errno);
  }
  return true;
}

}  // namespace

Status LocalObjectStore::Put(std::string_view bucket, std::string_view key, ByteSource& body) {
  Status s;
  // A concurrent Delete may remove an (empty) directory between our walk and the creation of
  // the temporary file; that is detected before the body is read, so a new walk is safe.
  for (int attempt = 0; attempt < kPutAttempts; ++attempt) {
    s = PutOnce(bucket, key, body);
    if (s.code() != absl::StatusCode::kAborted) return s;
  }
  return Annotate(s, "directory kept disappearing");
}

Status LocalObjectStore::PutOnce(std::string_view bucket, std::string_view key,
                                 ByteSource& body) {
  LIFEBOAT_ASSIGN_OR_RETURN(std::vector<std::string> segments, SplitKey(key));
  LIFEBOAT_ASSIGN_OR_RETURN(Fd bucket_fd, OpenBucket(root_, bucket));
  LIFEBOAT_ASSIGN_OR_RETURN(DirChain chain, WalkDirs(std::move(bucket_fd), segments, key, true));
  const int dir = chain.last();
  const std::string tmp = TempName();
  Status s;
  if (!TakeFile(body, dir, tmp, key, s)) {
    Fd file(::openat(dir, tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644));
    if (file.get() < 0) {
      if (errno == ENOENT) return absl::AbortedError("directory of " + std::string(key) + " removed");
      return ErrnoStatus("creating temporary file for", key, errno);
    }
    s = CopyBody(body, file.get(), key);
    file.Reset();
  }
  if (s.ok() && ::renameat(dir, tmp.c_str(), dir, segments.back().c_str()) != 0) {
    if (errno == EISDIR || errno == ENOTEMPTY || errno == EEXIST) {
      s = absl::FailedPreconditionError("cannot store " + std::string(key) +
                                        ": it is a prefix of other keys (the local driver cannot "
                                        "store both \"a\" and \"a/b\")");
    } else {
      s = ErrnoStatus("renaming temporary file to", key, errno);
    }
  }
  if (!s.ok()) {
    ::unlinkat(dir, tmp.c_str(), 0);
    return s;
  }
  if (::fsync(dir) != 0) return ErrnoStatus("syncing directory of", key, errno);
  return absl::OkStatus();
}

namespace {

// Opens the object file for reading. NotFound when it is missing, a directory or a symlink.
StatusOr<Fd> OpenObject(const fs::path& root, std::string_view bucket, std::string_view key) {
  if (IsFolderMarker(key)) {
    LIFEBOAT_RETURN_IF_ERROR(OpenBucket(root, bucket).status());
    return absl::NotFoundError("object " + std::string(key) + " not found");
  }
  LIFEBOAT_ASSIGN_OR_RETURN(std::vector<std::string> segments, SplitKey(key));
  LIFEBOAT_ASSIGN_OR_RETURN(Fd bucket_fd, OpenBucket(root, bucket));
  auto chain = WalkDirs(std::move(bucket_fd), segments, key, false);
  if (!chain.ok()) return chain.status();
  Fd file(::openat(chain->last(), segments.back().c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (file.get() < 0) {
    if (errno == ENOENT || errno == ELOOP || errno == ENOTDIR) {
      return absl::NotFoundError("object " + std::string(key) + " not found");
    }
    return ErrnoStatus("opening", key, errno);
  }
  struct stat st;
  if (::fstat(file.get(), &st) != 0) return ErrnoStatus("stat of", key, errno);
  if (!S_ISREG(st.st_mode)) return absl::NotFoundError("object " + std::string(key) + " not found");
  return file;
}

}  // namespace

Status LocalObjectStore::Get(std::string_view bucket, std::string_view key, ByteSink& sink,
                             const GetOptions& options, int64_t* written) {
  if (written != nullptr) *written = 0;
  if (options.offset < 0) return absl::InvalidArgumentError("negative range offset");
  LIFEBOAT_ASSIGN_OR_RETURN(Fd file, OpenObject(root_, bucket, key));
  std::vector<char> buffer(kChunk);
  int64_t pos = options.offset;
  int64_t remaining = options.length < 0 ? INT64_MAX : options.length;
  while (remaining > 0) {
    size_t want = static_cast<size_t>(std::min<int64_t>(remaining, kChunk));
    ssize_t n = ::pread(file.get(), buffer.data(), want, pos);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus("reading", key, errno);
    }
    if (n == 0) break;
    LIFEBOAT_RETURN_IF_ERROR(sink.Write(std::string_view(buffer.data(), static_cast<size_t>(n))));
    if (written != nullptr) *written += n;
    pos += n;
    remaining -= n;
  }
  return absl::OkStatus();
}

StatusOr<bool> LocalObjectStore::Exists(std::string_view bucket, std::string_view key) {
  auto file = OpenObject(root_, bucket, key);
  if (file.ok()) return true;
  if (file.status().code() == absl::StatusCode::kNotFound) return false;
  return file.status();
}

namespace {

// Appends to *keys every regular file under `dir` (whose key prefix is `dir_key`, ending in
// "/" or empty) whose key starts with `prefix`. Symbolic links and temporary files are skipped.
Status Walk(int dir, const std::string& dir_key, std::string_view prefix,
            std::vector<std::string>* keys) {
  int dup = ::dup(dir);
  if (dup < 0) return ErrnoStatus("listing", dir_key, errno);
  DIR* d = ::fdopendir(dup);
  if (d == nullptr) {
    ::close(dup);
    return ErrnoStatus("listing", dir_key, errno);
  }
  std::unique_ptr<DIR, int (*)(DIR*)> closer(d, ::closedir);
  while (struct dirent* entry = ::readdir(d)) {
    std::string name = entry->d_name;
    if (name == "." || name == ".." || name.starts_with(kTempPrefix)) continue;
    std::string key = dir_key + name;
    struct stat st;
    if (::fstatat(dir, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) continue;  // gone
    if (S_ISREG(st.st_mode)) {
      if (key.starts_with(prefix)) keys->push_back(std::move(key));
    } else if (S_ISDIR(st.st_mode)) {
      std::string sub = key + "/";
      if (!sub.starts_with(prefix) && !prefix.starts_with(sub)) continue;
      Fd child(OpenDirAt(dir, name));
      if (child.get() < 0) continue;  // removed or replaced meanwhile
      LIFEBOAT_RETURN_IF_ERROR(Walk(child.get(), sub, prefix, keys));
    }
  }
  return absl::OkStatus();
}

}  // namespace

StatusOr<std::vector<std::string>> LocalObjectStore::ListObjects(std::string_view bucket,
                                                                 std::string_view prefix) {
  LIFEBOAT_ASSIGN_OR_RETURN(Fd bucket_fd, OpenBucket(root_, bucket));
  // Start in the directory named by the prefix's complete segments; a prefix no valid key can
  // have (".." segments, "//") matches nothing.
  std::vector<std::string> keys;
  size_t slash = prefix.rfind('/');
  std::string start_key;
  Fd start = std::move(bucket_fd);
  if (slash != std::string_view::npos) {
    start_key = std::string(prefix.substr(0, slash + 1));
    for (absl::string_view seg : absl::StrSplit(absl::string_view(start_key.data(), slash), '/')) {
      std::string name(seg.data(), seg.size());
      if (!ValidSegment(name) || name.find('\\') != std::string::npos) return keys;
      Fd next(OpenDirAt(start.get(), name));
      if (next.get() < 0) return keys;
      start = std::move(next);
    }
  }
  LIFEBOAT_RETURN_IF_ERROR(Walk(start.get(), start_key, prefix, &keys));
  std::sort(keys.begin(), keys.end());
  return keys;
}

StatusOr<std::vector<std::string>> LocalObjectStore::ListCommonPrefixes(
    std::string_view bucket, std::string_view prefix, std::string_view delimiter) {
  if (delimiter.empty()) return absl::InvalidArgumentError("empty delimiter");
  LIFEBOAT_ASSIGN_OR_RETURN(std::vector<std::string> keys, ListObjects(bucket, prefix));
  std::set<std::string> prefixes;
  for (const std::string& key : keys) {
    size_t pos = key.find(delimiter, prefix.size());
    if (pos != std::string::npos) prefixes.insert(key.substr(0, pos + delimiter.size()));
  }
  return std::vector<std::string>(prefixes.begin(), prefixes.end());
}

Status LocalObjectStore::Delete(std::string_view bucket, std::string_view key) {
  if (IsFolderMarker(key)) return OpenBucket(root_, bucket).status();
  LIFEBOAT_ASSIGN_OR_RETURN(std::vector<std::string> segments, SplitKey(key));
  LIFEBOAT_ASSIGN_OR_RETURN(Fd bucket_fd, OpenBucket(root_, bucket));
  auto chain = WalkDirs(std::move(bucket_fd), segments, key, false);
  if (!chain.ok()) {
    return chain.status().code() == absl::StatusCode::kNotFound ? absl::OkStatus()
                                                                : chain.status();
  }
  if (::unlinkat(chain->last(), segments.back().c_str(), 0) != 0) {
    if (errno == ENOENT || errno == EISDIR) return absl::OkStatus();  // not an object
    return ErrnoStatus("deleting", key, errno);
  }
  // Remove directories left empty, innermost first (an rmdir of a non-empty one just fails).
  for (size_t i = chain->dirs.size() - 1; i >= 1; --i) {
    if (::unlinkat(chain->dirs[i - 1].get(), segments[i - 1].c_str(), AT_REMOVEDIR) != 0) break;
  }
  ::fsync(chain->last());
  return absl::OkStatus();
}

StatusOr<std::string> LocalObjectStore::CreateSignedUrl(std::string_view bucket,
                                                        std::string_view key,
                                                        std::chrono::seconds ttl) {
  LIFEBOAT_RETURN_IF_ERROR(CheckBucket(bucket));
  LIFEBOAT_RETURN_IF_ERROR(SplitKey(key).status());
  fs::path path = root_ / std::string(bucket) / std::string(key);
  boost::urls::url url;
  url.set_scheme("file");
  url.set_encoded_host("");
  url.set_path(path.string());
  return std::string(url.buffer());
}

StatusOr<std::unique_ptr<ObjectStore>> NewLocalObjectStore(const DriverParams& params) {
  for (const auto& [name, value] : params.config) {
    if (name != "root" && name != "bucket" && name != "prefix" && name != "credentialsFile") {
      return absl::InvalidArgumentError("local driver: unknown config key \"" + name +
                                        "\" (known: root)");
    }
  }
  auto it = params.config.find("root");
  if (it == params.config.end()) {
    return absl::InvalidArgumentError("local driver: config key \"root\" is required");
  }
  LIFEBOAT_ASSIGN_OR_RETURN(auto store, LocalObjectStore::Create(it->second));
  return std::unique_ptr<ObjectStore>(std::move(store));
}

}  // namespace lifeboat::storage::local
