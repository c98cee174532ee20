#include "lifeboat/common/cpu_idle.h"

#include <charconv>
#include <fstream>
#include <sstream>
#include <vector>

namespace lifeboat {
namespace {

std::optional<std::string> ReadSmallFile(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// The whitespace-separated unsigned numbers at the start of `text` (stops at the first other).
std::vector<uint64_t> Numbers(std::string_view text) {
  std::vector<uint64_t> out;
  size_t at = 0;
  while (true) {
    while (at < text.size() && (text[at] == ' ' || text[at] == '\t')) ++at;
    uint64_t v = 0;
    auto [end, ec] = std::from_chars(text.data() + at, text.data() + text.size(), v);
    if (ec != std::errc()) return out;
    out.push_back(v);
    at = static_cast<size_t>(end - text.data());
  }
}

}  // namespace

std::optional<CpuTimes> ParseProcStat(std::string_view text) {
  // "cpu  user nice system idle iowait irq softirq steal guest guest_nice" (guest time is
  // already in user and nice).
  if (text.substr(0, 4) != "cpu ") return std::nullopt;
  const std::string_view line = text.substr(0, text.find('\n'));
  const std::vector<uint64_t> v = Numbers(line.substr(4));
  if (v.size() < 4) return std::nullopt;
  CpuTimes t;
  for (size_t i = 0; i < v.size() && i < 8; ++i) t.total += v[i];
  t.idle = v[3] + (v.size() > 4 ? v[4] : 0);
  return t;
}

std::optional<uint64_t> ParseThrottledUsec(std::string_view text) {
  constexpr std::string_view kKey = "throttled_usec ";
  for (size_t at = 0; at < text.size();) {
    size_t end = text.find('\n', at);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view line = text.substr(at, end - at);
    if (line.substr(0, kKey.size()) == kKey) {
      const std::vector<uint64_t> v = Numbers(line.substr(kKey.size()));
      if (v.size() == 1) return v[0];
      return std::nullopt;
    }
    at = end + 1;
  }
  return std::nullopt;
}

CpuIdleMeter::CpuIdleMeter(std::filesystem::path proc_stat, std::filesystem::path cgroup_cpu_stat)
    : proc_stat_(std::move(proc_stat)), cgroup_cpu_stat_(std::move(cgroup_cpu_stat)) {}

std::optional<double> CpuIdleMeter::Sample() {
  std::optional<CpuTimes> now;
  if (auto text = ReadSmallFile(proc_stat_)) now = ParseProcStat(*text);
  std::optional<uint64_t> throttled;
  if (auto text = ReadSmallFile(cgroup_cpu_stat_)) throttled = ParseThrottledUsec(*text);
  const std::optional<CpuTimes> before = last_;
  const std::optional<uint64_t> throttled_before = last_throttled_;
  last_ = now;
  last_throttled_ = throttled;
  if (!now || !before || now->total <= before->total || now->idle < before->idle)
    return std::nullopt;
  if (throttled && throttled_before && *throttled > *throttled_before) return 0.0;
  return static_cast<double>(now->idle - before->idle) /
         static_cast<double>(now->total - before->total);
}

}  // namespace lifeboat
