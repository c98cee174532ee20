#include "src/engine/velero_log.h"

#include <algorithm>

#include "absl/time/time.h"
#include "lifeboat/archive/gzip_member.h"

namespace lifeboat::engine {
namespace {

// Formatting a time is slow next to the rest of a log line: each thread keeps the last second
// it formatted.
const std::string& Rfc3339(Clock::TimePoint t) {
  thread_local int64_t cached_second = -1;
  thread_local std::string cached;
  const int64_t second = std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
  if (second != cached_second) {
    cached = absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::FromChrono(t), absl::UTCTimeZone());
    cached_second = second;
  }
  return cached;
}

// Velero's results entry: " resource: /<r> name: /<n> message: /<m> error: /<e>", each part
// only when its field exists (note the leading space and the slashes).
std::string ResultEntry(std::string_view msg, const LogFields& f, std::string_view error) {
  std::string e;
  if (!f.resource.empty()) e += " resource: /" + f.resource;
  if (!f.name.empty()) e += " name: /" + f.name;
  if (!msg.empty()) e += " message: /" + std::string(msg);
  if (!error.empty()) e += " error: /" + std::string(error);
  return e;
}

std::string RestoreResultEntry(std::string_view msg, std::string_view error) {
  std::string e(msg);
  if (!error.empty()) e += ": " + std::string(error);
  return e;
}

void Record(Result& r, std::string entry, const LogFields& f, LogKind kind) {
  if (!f.ns.empty()) {
    r.namespaces[f.ns].push_back(std::move(entry));
  } else if (kind == LogKind::kRestore && !f.resource.empty()) {
    r.cluster.push_back(std::move(entry));
  } else {
    r.velero.push_back(std::move(entry));
  }
}

boost::json::array Strings(const std::vector<std::string>& v) {
  boost::json::array a;
  for (const auto& s : v) a.emplace_back(s);
  return a;
}

}  // namespace

int64_t Result::count() const {
  int64_t n = static_cast<int64_t>(velero.size() + cluster.size());
  for (const auto& [ns, v] : namespaces) n += static_cast<int64_t>(v.size());
  return n;
}

boost::json::object Result::ToJson() const {
  boost::json::object o;
  if (!velero.empty()) o["velero"] = Strings(velero);
  if (!cluster.empty()) o["cluster"] = Strings(cluster);
  if (!namespaces.empty()) {
    boost::json::object ns;
    for (const auto& [name, v] : namespaces) ns[name] = Strings(v);
    o["namespaces"] = std::move(ns);
  }
  return o;
}

void AppendLogfmtValue(std::string& out, std::string_view v) {
  bool bare = !v.empty();
  for (char c : v) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '.' || c == '_' || c == '/' || c == '@' || c == '^' || c == '+';
    if (!ok) {
      bare = false;
      break;
    }
  }
  if (bare) {
    out.append(v);
    return;
  }
  out += '"';
  for (char c : v) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  out += '"';
}

std::string LogfmtValue(std::string_view v) {
  std::string out;
  AppendLogfmtValue(out, v);
  return out;
}

BackupLog::BackupLog(ByteSink* sink, std::string subject, Clock* clock, LogKind kind)
    : out_(sink), backup_(std::move(subject)), clock_(clock), kind_(kind) {}

BackupLog::~BackupLog() = default;

void BackupLog::Line(std::string_view level, std::string_view msg, std::string_view resource,
                     std::string_view ns, std::string_view name, std::string_view error) {
  const Clock::TimePoint now = clock_->Now();
  std::lock_guard lock(mu_);
  // logrus text format: time, level, msg, then the fields sorted by key. Lines gather in
  // pending_ and go to the gzip stream a block at a time.
  std::string& line = pending_;
  auto field = [](std::string& out, std::string_view key, std::string_view value) {
    out.append(key);
    AppendLogfmtValue(out, value);
  };
  // Most lines repeat the previous one's level and message ("Backing up item").
  if (level != prefix_level_ || msg != prefix_msg_) {
    prefix_level_ = level;
    prefix_msg_ = msg;
    prefix_ = "\" level=";
    prefix_.append(level);
    field(prefix_, " msg=", msg);
    if (kind_ == LogKind::kBackup) field(prefix_, " backup=", backup_);
  }
  line.append("time=\"").append(Rfc3339(now)).append(prefix_);
  if (!error.empty()) field(line, " error=", error);
  if (!name.empty()) field(line, " name=", name);
  if (!ns.empty()) field(line, " namespace=", ns);
  if (!resource.empty()) field(line, " resource=", resource);
  if (kind_ == LogKind::kRestore) field(line, " restore=", backup_);  // keys sorted
  line += '\n';
  if (pending_.size() >= kPendingBytes) FlushLocked();
  if (level == "warning" || level == "error") {
    const LogFields f{std::string(resource), std::string(ns), std::string(name)};
    std::string entry = kind_ == LogKind::kBackup ? ResultEntry(msg, f, error)
                                                  : RestoreResultEntry(msg, error);
    Record(level == "warning" ? warnings_ : errors_, std::move(entry), f, kind_);
  }
}

void BackupLog::FlushLocked() {
  if (pending_.empty() && wrote_) return;
  if (write_error_.ok()) {
    write_error_ = archive::CompressGzipMemberInto(pending_, /*level=*/1,
                                                   archive::Compressor::kFastest, member_);
  }
  if (write_error_.ok()) write_error_ = out_->Write(member_);
  wrote_ = true;
  pending_.clear();
}

void BackupLog::Info(std::string_view msg, const LogFields& f) {
  Line("info", msg, f.resource, f.ns, f.name, {});
}
void BackupLog::Info(std::string_view msg, std::string_view resource, std::string_view ns,
                     std::string_view name) {
  Line("info", msg, resource, ns, name, {});
}
void BackupLog::Warn(std::string_view msg, const LogFields& f) {
  Line("warning", msg, f.resource, f.ns, f.name, {});
}
void BackupLog::Error(std::string_view msg, const LogFields& f, std::string_view error) {
  Line("error", msg, f.resource, f.ns, f.name, error);
}

int64_t BackupLog::warnings() const {
  std::lock_guard lock(mu_);
  return warnings_.count();
}

int64_t BackupLog::errors() const {
  std::lock_guard lock(mu_);
  return errors_.count();
}

boost::json::object BackupLog::ResultsJson() const {
  std::lock_guard lock(mu_);
  if (kind_ == LogKind::kBackup) {
    return {{"errors", errors_.ToJson()}, {"warnings", warnings_.ToJson()}};
  }
  // A restore creates items in parallel: sort each list so the file does not depend on timing.
  auto sorted = [](Result r) {
    std::sort(r.velero.begin(), r.velero.end());
    std::sort(r.cluster.begin(), r.cluster.end());
    for (auto& [ns, v] : r.namespaces) std::sort(v.begin(), v.end());
    return r.ToJson();
  };
  return {{"errors", sorted(errors_)}, {"warnings", sorted(warnings_)}};
}

Status BackupLog::Close() {
  std::lock_guard lock(mu_);
  FlushLocked();
  Status closed = out_->Close();
  return write_error_.ok() ? closed : write_error_;
}

Status BackupLog::Checkpoint() {
  std::lock_guard lock(mu_);
  if (!pending_.empty()) FlushLocked();
  return write_error_;
}

Result BackupLog::warning_results() const {
  std::lock_guard lock(mu_);
  return warnings_;
}

Result BackupLog::error_results() const {
  std::lock_guard lock(mu_);
  return errors_;
}

void BackupLog::RestoreResults(Result warnings, Result errors) {
  std::lock_guard lock(mu_);
  warnings_ = std::move(warnings);
  errors_ = std::move(errors);
}

}  // namespace lifeboat::engine
