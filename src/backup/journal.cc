#include "src/backup/journal.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "lifeboat/common/json.h"
#include "lifeboat/common/log.h"

namespace lifeboat::backup {
namespace {

std::string Errno(const std::string& what) { return what + ": " + std::strerror(errno); }

boost::json::array StringArray(const std::vector<std::string>& v) {
  boost::json::array a;
  for (const auto& s : v) a.emplace_back(s);
  return a;
}

Status Bad(const std::string& why) { return absl::DataLossError("checkpoint.json: " + why); }

StatusOr<int64_t> Int(const boost::json::object& o, std::string_view key) {
  const boost::json::value* v = o.if_contains(key);
  if (v == nullptr || !v->is_int64() || v->as_int64() < 0) {
    return Bad("\"" + std::string(key) + "\" is not a non-negative integer");
  }
  return v->as_int64();
}

StatusOr<std::string> Str(const boost::json::object& o, std::string_view key) {
  const boost::json::value* v = o.if_contains(key);
  if (v == nullptr || !v->is_string()) return Bad("\"" + std::string(key) + "\" is not a string");
  return std::string(v->as_string());
}

StatusOr<std::vector<std::string>> Strings(const boost::json::value* v, std::string_view what) {
  if (v == nullptr || !v->is_array()) return Bad(std::string(what) + " is not an array");
  std::vector<std::string> out;
  for (const auto& e : v->as_array()) {
    if (!e.is_string()) return Bad(std::string(what) + " holds a non-string");
    out.emplace_back(e.as_string());
  }
  return out;
}

// Velero's Result JSON (Result::ToJson) back into a Result.
StatusOr<Result> ResultFromJson(const boost::json::value* v, std::string_view what) {
  if (v == nullptr || !v->is_object()) return Bad(std::string(what) + " is not an object");
  const boost::json::object& o = v->as_object();
  Result r;
  if (const auto* x = o.if_contains("velero")) {
    LIFEBOAT_ASSIGN_OR_RETURN(r.velero, Strings(x, what));
  }
  if (const auto* x = o.if_contains("cluster")) {
    LIFEBOAT_ASSIGN_OR_RETURN(r.cluster, Strings(x, what));
  }
  if (const auto* x = o.if_contains("namespaces")) {
    if (!x->is_object()) return Bad(std::string(what) + ".namespaces is not an object");
    for (const auto& [ns, list] : x->as_object()) {
      LIFEBOAT_ASSIGN_OR_RETURN(r.namespaces[std::string(ns)], Strings(&list, what));
    }
  }
  return r;
}

}  // namespace

TaskKey KeyOf(const ListTask& t) {
  return {t.resource.group, t.resource.version, t.resource.name, t.ns, t.label_selector};
}

std::string SpecHash(const api::BackupSpec& spec) {
  const std::string text = boost::json::serialize(api::ToJson(spec));
  uint64_t h = 14695981039346656037ull;
  for (unsigned char c : text) {
    h ^= c;
    h *= 1099511628211ull;
  }
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(h));
  return std::string("fnv1a64:") + hex;
}

boost::json::object CheckpointToJson(const Checkpoint& c) {
  boost::json::array tasks;
  for (const auto& t : c.completed_tasks) {
    tasks.push_back(boost::json::array{boost::json::string(t.group), boost::json::string(t.version),
                                       boost::json::string(t.resource), boost::json::string(t.ns),
                                       boost::json::string(t.selector)});
  }
  return {{"version", kJournalVersion},
          {"backupUID", c.uid},
          {"specHash", c.spec_hash},
          {"startTimestamp", c.start_timestamp},
          {"expiration", c.expiration},
          {"sequence", c.sequence},
          {"archive",
           {{"bytes", c.archive_bytes},
            {"entries", c.archive_entries},
            {"tarBytes", c.archive_tar_bytes},
            {"mtime", c.archive_mtime}}},
          {"log", {{"bytes", c.log_bytes}}},
          {"completedTasks", std::move(tasks)},
          {"discoveryWarnings", StringArray(c.discovery_warnings)},
          {"hooks", {{"attempted", c.hooks_attempted}, {"failed", c.hooks_failed}}},
          {"results", {{"errors", c.errors.ToJson()}, {"warnings", c.warnings.ToJson()}}},
          {"items", c.items}};
}

StatusOr<Checkpoint> CheckpointFromJson(const boost::json::value& v) {
  if (!v.is_object()) return Bad("not an object");
  const boost::json::object& o = v.as_object();
  LIFEBOAT_ASSIGN_OR_RETURN(int64_t version, Int(o, "version"));
  if (version != kJournalVersion) {
    return Bad("version " + std::to_string(version) + " (this server reads version " +
               std::to_string(kJournalVersion) + ")");
  }
  Checkpoint c;
  LIFEBOAT_ASSIGN_OR_RETURN(c.uid, Str(o, "backupUID"));
  LIFEBOAT_ASSIGN_OR_RETURN(c.spec_hash, Str(o, "specHash"));
  LIFEBOAT_ASSIGN_OR_RETURN(c.start_timestamp, Str(o, "startTimestamp"));
  LIFEBOAT_ASSIGN_OR_RETURN(c.expiration, Str(o, "expiration"));
  LIFEBOAT_ASSIGN_OR_RETURN(c.sequence, Int(o, "sequence"));
  const auto* archive = o.if_contains("archive");
  const auto* log = o.if_contains("log");
  const auto* hooks = o.if_contains("hooks");
  const auto* results = o.if_contains("results");
  const auto* items = o.if_contains("items");
  if (archive == nullptr || !archive->is_object() || log == nullptr || !log->is_object() ||
      hooks == nullptr || !hooks->is_object() || results == nullptr || !results->is_object() ||
      items == nullptr || !items->is_object()) {
    return Bad("archive, log, hooks, results or items is missing");
  }
  LIFEBOAT_ASSIGN_OR_RETURN(c.archive_bytes, Int(archive->as_object(), "bytes"));
  LIFEBOAT_ASSIGN_OR_RETURN(c.archive_entries, Int(archive->as_object(), "entries"));
  LIFEBOAT_ASSIGN_OR_RETURN(c.archive_tar_bytes, Int(archive->as_object(), "tarBytes"));
  LIFEBOAT_ASSIGN_OR_RETURN(c.archive_mtime, Int(archive->as_object(), "mtime"));
  if (c.archive_tar_bytes % 512 != 0) return Bad("archive.tarBytes is not whole tar blocks");
  LIFEBOAT_ASSIGN_OR_RETURN(c.log_bytes, Int(log->as_object(), "bytes"));
  LIFEBOAT_ASSIGN_OR_RETURN(c.hooks_attempted, Int(hooks->as_object(), "attempted"));
  LIFEBOAT_ASSIGN_OR_RETURN(c.hooks_failed, Int(hooks->as_object(), "failed"));
  LIFEBOAT_ASSIGN_OR_RETURN(
      c.errors, ResultFromJson(results->as_object().if_contains("errors"), "results.errors"));
  LIFEBOAT_ASSIGN_OR_RETURN(
      c.warnings, ResultFromJson(results->as_object().if_contains("warnings"), "results.warnings"));
  LIFEBOAT_ASSIGN_OR_RETURN(c.discovery_warnings,
                            Strings(o.if_contains("discoveryWarnings"), "discoveryWarnings"));
  const auto* tasks = o.if_contains("completedTasks");
  if (tasks == nullptr || !tasks->is_array()) return Bad("completedTasks is not an array");
  for (const auto& t : tasks->as_array()) {
    LIFEBOAT_ASSIGN_OR_RETURN(std::vector<std::string> parts, Strings(&t, "a completed task"));
    if (parts.size() != 5) return Bad("a completed task does not have 5 parts");
    c.completed_tasks.push_back({parts[0], parts[1], parts[2], parts[3], parts[4]});
  }
  c.items = items->as_object();
  return c;
}

std::filesystem::path JournalDir(const std::filesystem::path& root, const std::string& uid) {
  return root / uid;
}

StatusOr<Checkpoint> LoadCheckpoint(const std::filesystem::path& dir) {
  auto text = ReadFile(dir / kJournalCheckpoint);
  if (!text.ok()) {
    if (absl::IsNotFound(text.status())) return absl::NotFoundError("no checkpoint.json");
    return Annotate(text.status(), "reading checkpoint.json");
  }
  auto v = ParseJson(*text);
  if (!v.ok()) return absl::DataLossError("checkpoint.json: " + std::string(v.status().message()));
  return CheckpointFromJson(*v);
}

Status SaveCheckpoint(const std::filesystem::path& dir, const Checkpoint& c) {
  return Annotate(WriteFileAtomically(dir / kJournalCheckpoint,
                                      boost::json::serialize(CheckpointToJson(c)) + "\n", 0600),
                  "writing the backup checkpoint");
}

Status CreateJournalDir(const std::filesystem::path& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir.parent_path(), ec);
  if (ec)
    return absl::InternalError("creating " + dir.parent_path().string() + ": " + ec.message());
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return absl::InternalError(Errno("creating " + dir.string()));
  }
  if (::chmod(dir.c_str(), 0700) != 0) return absl::InternalError(Errno("chmod " + dir.string()));
  return absl::OkStatus();
}

void RemoveJournal(const std::filesystem::path& dir) {
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  if (ec) LB_LOG_WARN("removing backup journal {}: {}", dir.string(), ec.message());
}

StatusOr<std::unique_ptr<JournalFile>> JournalFile::Open(const std::filesystem::path& path,
                                                         int64_t size) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return absl::InternalError(Errno("opening " + path.string()));
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    Status s = absl::InternalError(Errno("stat " + path.string()));
    ::close(fd);
    return s;
  }
  if (st.st_size < size) {
    ::close(fd);
    return absl::DataLossError(path.filename().string() + " has " + std::to_string(st.st_size) +
                               " bytes, the checkpoint needs " + std::to_string(size));
  }
  if (::ftruncate(fd, size) != 0 || ::lseek(fd, size, SEEK_SET) != size) {
    Status s = absl::InternalError(Errno("truncating " + path.string()));
    ::close(fd);
    return s;
  }
  return std::unique_ptr<JournalFile>(new JournalFile(fd, path, size));
}

JournalFile::~JournalFile() {
  if (fd_ >= 0) ::close(fd_);
}

Status JournalFile::Write(std::string_view data) {
  if (fd_ < 0) return absl::FailedPreconditionError(path_.string() + " is closed");
  while (!data.empty()) {
    ssize_t n = ::write(fd_, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return absl::InternalError(Errno("writing " + path_.string()));
    }
    data.remove_prefix(static_cast<size_t>(n));
    size_ += n;
  }
  return absl::OkStatus();
}

Status JournalFile::Sync() {
  if (fd_ < 0) return absl::FailedPreconditionError(path_.string() + " is closed");
  if (::fdatasync(fd_) != 0) return absl::InternalError(Errno("fsync " + path_.string()));
  return absl::OkStatus();
}

Status JournalFile::Close() {
  if (fd_ < 0) return absl::OkStatus();
  Status s = Sync();
  if (::close(fd_) != 0 && s.ok()) s = absl::InternalError(Errno("closing " + path_.string()));
  fd_ = -1;
  return s;
}

}  // namespace lifeboat::backup
