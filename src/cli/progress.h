#pragma once

// `--wait`: polls a backup or restore until it reaches a final phase and shows its progress.
// On a terminal one live line is rewritten in place ("\r"): phase, items done of total, the
// rate over the last seconds, elapsed time and an ETA. Otherwise (a pipe, a CI log) plain lines
// are printed, at most one every `plain_interval` unless the phase changes.
//
// Thread safety: a ProgressPrinter belongs to one thread.

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <utility>

#include "lifeboat/common/status.h"

namespace lifeboat::cli {

using SteadyTime = std::chrono::steady_clock::time_point;

struct ProgressSnapshot {
  std::string phase;   // "InProgress", "Completed", ...
  int64_t done = 0;    // items backed up / restored
  int64_t total = 0;   // 0 while unknown
  bool final = false;  // the phase is final: waiting ends
};

// "InProgress: 120/500 items (24%), 35.2 items/s, elapsed 0:03, ETA 0:11". The rate and ETA
// parts are left out while unknown (no rate yet, or no total).
std::string FormatProgress(const ProgressSnapshot& s, std::chrono::seconds elapsed,
                           std::optional<double> rate);

// "0:07", "12:30", "1:02:03".
std::string FormatClock(std::chrono::seconds d);

class ProgressPrinter {
 public:
  // `out` borrowed. `tty`: rewrite one line; otherwise plain lines.
  ProgressPrinter(std::FILE* out, bool tty, SteadyTime start,
                  std::chrono::seconds plain_interval = std::chrono::seconds(5));

  // Once the phase has been "New" for `after` since start, `hint` is printed once to `err`
  // (on its own line): nothing has picked the object up, so the server may not be running.
  void SetStuckHint(std::string hint, std::chrono::seconds after, std::FILE* err);

  void Update(const ProgressSnapshot& s, SteadyTime now);
  // Ends the live line (a newline on a terminal) so later output starts on its own line.
  void Finish();

  // Items per second over the samples of the last ~10 s (nullopt until two samples differ in
  // time by at least one second).
  std::optional<double> Rate() const;

 private:
  std::FILE* out_;
  bool tty_;
  SteadyTime start_;
  std::chrono::seconds plain_interval_;
  std::deque<std::pair<SteadyTime, int64_t>> samples_;
  std::optional<SteadyTime> last_plain_;
  std::string last_phase_;
  size_t last_width_ = 0;
  bool line_open_ = false;
  std::string stuck_hint_;
  std::chrono::seconds stuck_after_{0};
  std::FILE* err_ = nullptr;
  bool hinted_ = false;
};

// Calls `poll` every `interval` and feeds the printer until a snapshot is final (returned) or
// `poll` fails (its error returned). `poll` errors that are Unavailable are retried (the API
// server restarting is not the end of a backup).
StatusOr<ProgressSnapshot> WaitWithProgress(const std::function<StatusOr<ProgressSnapshot>()>& poll,
                                            ProgressPrinter& printer,
                                            std::chrono::milliseconds interval);

}  // namespace lifeboat::cli
