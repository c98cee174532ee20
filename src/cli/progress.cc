#include "src/cli/progress.h"

#include <thread>

namespace lifeboat::cli {

using std::chrono::seconds;

std::string FormatClock(seconds d) {
  int64_t s = std::max<int64_t>(d.count(), 0);
  char buf[32];
  if (s >= 3600) {
    std::snprintf(buf, sizeof(buf), "%lld:%02lld:%02lld", static_cast<long long>(s / 3600),
                  static_cast<long long>(s / 60 % 60), static_cast<long long>(s % 60));
  } else {
    std::snprintf(buf, sizeof(buf), "%lld:%02lld", static_cast<long long>(s / 60),
                  static_cast<long long>(s % 60));
  }
  return buf;
}

std::string FormatProgress(const ProgressSnapshot& s, seconds elapsed, std::optional<double> rate) {
  std::string line = (s.phase.empty() ? std::string("New") : s.phase) + ": ";
  if (s.total > 0) {
    line += std::to_string(s.done) + "/" + std::to_string(s.total) + " items (" +
            std::to_string(std::min<int64_t>(100, s.done * 100 / s.total)) + "%)";
  } else {
    line += std::to_string(s.done) + " items";
  }
  char buf[64];
  if (rate) {
    std::snprintf(buf, sizeof(buf), ", %.1f items/s", *rate);
    line += buf;
  }
  line += ", elapsed " + FormatClock(elapsed);
  if (!s.final && rate && *rate > 0 && s.total > 0 && s.done < s.total) {
    line += ", ETA " + FormatClock(seconds(static_cast<int64_t>((s.total - s.done) / *rate + 0.5)));
  }
  return line;
}

ProgressPrinter::ProgressPrinter(std::FILE* out, bool tty, SteadyTime start, seconds plain_interval)
    : out_(out), tty_(tty), start_(start), plain_interval_(plain_interval) {}

std::optional<double> ProgressPrinter::Rate() const {
  if (samples_.size() < 2) return std::nullopt;
  const auto& [t0, d0] = samples_.front();
  const auto& [t1, d1] = samples_.back();
  const double span = std::chrono::duration<double>(t1 - t0).count();
  if (span < 1.0) return std::nullopt;
  return static_cast<double>(d1 - d0) / span;
}

void ProgressPrinter::SetStuckHint(std::string hint, seconds after, std::FILE* err) {
  stuck_hint_ = std::move(hint);
  stuck_after_ = after;
  err_ = err;
}

void ProgressPrinter::Update(const ProgressSnapshot& s, SteadyTime now) {
  if (!samples_.empty() && s.done < samples_.back().second) samples_.clear();  // a restart
  samples_.emplace_back(now, s.done);
  while (samples_.size() > 2 && now - samples_[1].first >= seconds(10)) samples_.pop_front();
  const std::string line =
      FormatProgress(s, std::chrono::duration_cast<seconds>(now - start_), Rate());
  if (tty_) {
    std::string text = "\r" + line;
    if (line.size() < last_width_) text.append(last_width_ - line.size(), ' ');
    last_width_ = line.size();
    std::fputs(text.c_str(), out_);
    line_open_ = true;
  } else if (s.phase != last_phase_ || s.final || !last_plain_ ||
             now - *last_plain_ >= plain_interval_) {
    std::fprintf(out_, "%s\n", line.c_str());
    last_plain_ = now;
  }
  last_phase_ = s.phase;
  std::fflush(out_);
  if (!hinted_ && err_ && !stuck_hint_.empty() && (s.phase.empty() || s.phase == "New") &&
      now - start_ >= stuck_after_) {
    hinted_ = true;
    Finish();
    std::fprintf(err_, "%s\n", stuck_hint_.c_str());
    std::fflush(err_);
  }
}

void ProgressPrinter::Finish() {
  if (line_open_) std::fputs("\n", out_);
  line_open_ = false;
  std::fflush(out_);
}

StatusOr<ProgressSnapshot> WaitWithProgress(const std::function<StatusOr<ProgressSnapshot>()>& poll,
                                            ProgressPrinter& printer,
                                            std::chrono::milliseconds interval) {
  int unavailable = 0;
  while (true) {
    auto s = poll();
    if (!s.ok()) {
      if (absl::IsUnavailable(s.status()) && ++unavailable < 30) {
        std::this_thread::sleep_for(interval);
        continue;
      }
      printer.Finish();
      return s.status();
    }
    unavailable = 0;
    printer.Update(*s, std::chrono::steady_clock::now());
    if (s->final) {
      printer.Finish();
      return *s;
    }
    std::this_thread::sleep_for(interval);
  }
}

}  // namespace lifeboat::cli
