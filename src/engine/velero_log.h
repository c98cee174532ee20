#pragma once

// Module `engine` (layer 3): what the backup and restore engines share.

// The log of one backup or restore, in Velero's form: logrus text lines (time, level, msg, then
// the fields in key order) gzipped into `<backup>-logs.gz` / `restore-<restore>-logs.gz`, and
// the warnings and errors grouped into Velero's Results (`<backup>-results.gz`,
// `restore-<restore>-results.gz`).
//  - Backups: entries "resource: /<r> name: /<n> message: /<msg> error: /<err>"; entries about a
//    namespaced item go under "namespaces", the rest under "velero".
//  - Restores: entries are the message itself (with ": <error>" appended when there is one);
//    namespaced items under "namespaces", cluster-scoped items (a resource but no namespace)
//    under "cluster", the rest under "velero".
//
// Thread safety: every method may be called from any number of threads at once.

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json.hpp>

#include "lifeboat/common/byte_stream.h"
#include "lifeboat/common/clock.h"
#include "lifeboat/common/status.h"

namespace lifeboat::engine {

// Velero's results.Result: {"velero": [...], "cluster": [...], "namespaces": {"ns": [...]}}.
struct Result {
  std::vector<std::string> velero;
  std::vector<std::string> cluster;
  std::map<std::string, std::vector<std::string>> namespaces;
  bool empty() const { return velero.empty() && cluster.empty() && namespaces.empty(); }
  int64_t count() const;
  boost::json::object ToJson() const;  // empty parts omitted, as Go's omitempty
};

// The item a log line is about (all optional).
struct LogFields {
  std::string resource;  // group-resource: "pods", "deployments.apps"
  std::string ns;
  std::string name;
};

enum class LogKind { kBackup, kRestore };

class BackupLog {
 public:
  // `sink` receives the gzipped log (borrowed; Close() closes it). `subject` is the Backup's
  // (or Restore's) "ns/name", written as the `backup=` (`restore=`) field of every line.
  BackupLog(ByteSink* sink, std::string subject, Clock* clock, LogKind kind = LogKind::kBackup);
  ~BackupLog();

  void Info(std::string_view msg, const LogFields& fields = {});
  // The same for an item named by views (the backup's per-item line: no copies).
  void Info(std::string_view msg, std::string_view resource, std::string_view ns,
            std::string_view name);
  void Warn(std::string_view msg, const LogFields& fields = {});
  // `error` is the failure's text (a Status message): Velero logs it as the `error` field.
  void Error(std::string_view msg, const LogFields& fields = {}, std::string_view error = {});
  void Error(std::string_view msg, const LogFields& fields, const Status& error) {
    Error(msg, fields, std::string_view(error.message().data(), error.message().size()));
  }

  int64_t warnings() const;
  int64_t errors() const;
  // {"errors": Result, "warnings": Result}: the content of `<backup>-results.gz`.
  boost::json::object ResultsJson() const;
  // Writes the last lines (an empty log gets one empty member, so the file is still gzip). The
  // first write error (if any) is returned here; logging itself
  // never fails the backup.
  Status Close();

  // Crash safety (the backup journal): writes the pending lines as a gzip member, so the sink
  // holds a complete (multi-member) gzip file of every line so far. Returns the first write error,
  // if any. A log continued later on a sink holding such a prefix is read as one log by gzip
  // readers.
  Status Checkpoint();
  // The warnings and errors recorded so far, and restoring them when a backup resumes.
  Result warning_results() const;
  Result error_results() const;
  void RestoreResults(Result warnings, Result errors);

 private:
  void Line(std::string_view level, std::string_view msg, std::string_view resource,
            std::string_view ns, std::string_view name, std::string_view error);
  // Writes pending_ to out_ as one gzip member (mu_ held).
  void FlushLocked();
  // Lines gather up to this many bytes, then become one gzip member (igzip when the build has
  // ISA-L: a fifth of zlib's CPU on these lines, which cost a large backup a few % of its time).
  static constexpr size_t kPendingBytes = 256 << 10;
  ByteSink* out_;
  std::string member_;  // the last member written (its buffer reused)
  bool wrote_ = false;  // a member has been written
  std::string backup_;
  Clock* clock_;
  LogKind kind_;
  mutable std::mutex mu_;
  Status write_error_;
  std::string pending_;  // whole lines not yet written
  // "\" level=... msg=... backup=..." of the last line, for the next one with the same level and
  // message.
  std::string prefix_level_, prefix_msg_, prefix_;
  Result warnings_, errors_;
};

// The restore engine's log: the same class, in its restore form.
using RestoreLog = BackupLog;

// One logrus text-format value: bare when it is made of [A-Za-z0-9-._/@^+], quoted otherwise.
std::string LogfmtValue(std::string_view v);
// The same, appended to `out`.
void AppendLogfmtValue(std::string& out, std::string_view v);

}  // namespace lifeboat::engine
