#pragma once

// The backup journal (crash safety; docs/backup.md "Checkpoints and resume", format in
// docs/formats/backup-journal.md): a local directory <journal_dir>/<backup uid>/ (mode 0700)
// holding the archive being written (archive.tar.gz), the backup log (log.gz) and
// checkpoint.json, which says how many bytes of those two files are complete and everything
// the engine had accumulated at that point. A server restarted on the same machine (the same
// scratch volume) truncates both files to the recorded sizes and goes on from there.
//
// Crash consistency: at a checkpoint the archive and log end gzip members and are fsynced
// before checkpoint.json is replaced atomically (temporary file, fsync, rename, fsync of the
// directory), so the newest checkpoint.json only names bytes that are on disk.
//
// Private to module `backup`. Not thread-safe: one backup run uses its journal from one
// thread.

#include <boost/json.hpp>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "lifeboat/api/backup.h"
#include "lifeboat/common/byte_stream.h"
#include "lifeboat/common/status.h"
#include "src/backup/backup_log.h"
#include "src/backup/ordered_lister.h"

namespace lifeboat::backup {

inline constexpr int kJournalVersion = 1;
inline constexpr char kJournalArchive[] = "archive.tar.gz";
inline constexpr char kJournalLog[] = "log.gz";
inline constexpr char kJournalCheckpoint[] = "checkpoint.json";

// A list task's identity across processes: discovery and the namespaces may differ after a
// restart, so tasks are remembered by what they list, not by their index.
struct TaskKey {
  std::string group, version, resource, ns, selector;
  auto operator<=>(const TaskKey&) const = default;
};
TaskKey KeyOf(const ListTask& task);

struct Checkpoint {
  std::string uid;
  std::string spec_hash;        // SpecHash of the backup
  std::string start_timestamp;  // the first run's status.startTimestamp and expiration
  std::string expiration;
  int64_t archive_mtime = 0;  // seconds since the epoch, in every tar header
  int64_t archive_bytes = 0;  // complete bytes of archive.tar.gz
  int64_t archive_entries = 0;
  int64_t archive_tar_bytes = 0;         // the tar stream's size so far (uncompressed)
  int64_t log_bytes = 0;                 // complete bytes of log.gz
  int64_t sequence = 0;                  // checkpoints written by this backup, this one included
  std::vector<TaskKey> completed_tasks;  // sorted
  std::vector<std::string> discovery_warnings;  // group versions already reported
  boost::json::object items;                    // ItemBackupper::SaveState
  int64_t hooks_attempted = 0;
  int64_t hooks_failed = 0;
  Result warnings, errors;  // the log's results so far
};

// "fnv1a64:<16 hex digits>" of the spec's JSON (known fields only): a changed spec is not
// resumed from an old checkpoint.
std::string SpecHash(const api::BackupSpec& spec);

boost::json::object CheckpointToJson(const Checkpoint& c);
// DataLoss when `v` is not a checkpoint this version can read.
StatusOr<Checkpoint> CheckpointFromJson(const boost::json::value& v);

// The journal directory of the backup with `uid`.
std::filesystem::path JournalDir(const std::filesystem::path& root, const std::string& uid);
// Reads <dir>/checkpoint.json: NotFound when there is none, DataLoss when it cannot be read.
StatusOr<Checkpoint> LoadCheckpoint(const std::filesystem::path& dir);
// Replaces <dir>/checkpoint.json atomically and durably.
Status SaveCheckpoint(const std::filesystem::path& dir, const Checkpoint& c);
// Creates `dir` (and its parents) with mode 0700.
Status CreateJournalDir(const std::filesystem::path& dir);
// Removes the directory and everything in it; errors are logged, not returned.
void RemoveJournal(const std::filesystem::path& dir);

// A file written at its end: the journal's archive and log. Close fsyncs and closes it.
class JournalFile : public ByteSink {
 public:
  // Opens (creating, mode 0600) `path` and truncates it to `size` bytes: 0 for a new file, the
  // checkpoint's size when resuming. DataLoss when the file is shorter than `size`.
  static StatusOr<std::unique_ptr<JournalFile>> Open(const std::filesystem::path& path,
                                                     int64_t size);
  ~JournalFile() override;
  Status Write(std::string_view data) override;
  Status Close() override;
  // Makes everything written so far durable.
  Status Sync();
  int64_t size() const { return size_; }

 private:
  JournalFile(int fd, std::filesystem::path path, int64_t size)
      : fd_(fd), path_(std::move(path)), size_(size) {}
  int fd_;
  std::filesystem::path path_;
  int64_t size_;
};

}  // namespace lifeboat::backup
