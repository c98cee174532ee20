#pragma once

// How much CPU the machine had to spare lately: the idle share of all CPUs' time between two
// samples of /proc/stat, and whether the process's cgroup was throttled (cgroup v2 cpu.stat
// `throttled_usec`) in between. Used to add parallelism only while it can run somewhere.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace lifeboat {

// The first ("cpu") line of /proc/stat: idle (idle + iowait) and total jiffies. nullopt when
// the text has no such line.
struct CpuTimes {
  uint64_t idle = 0;
  uint64_t total = 0;
};
std::optional<CpuTimes> ParseProcStat(std::string_view text);
// `throttled_usec` of a cgroup v2 cpu.stat; nullopt when absent.
std::optional<uint64_t> ParseThrottledUsec(std::string_view text);

class CpuIdleMeter {
 public:
  explicit CpuIdleMeter(std::filesystem::path proc_stat = "/proc/stat",
                        std::filesystem::path cgroup_cpu_stat = "/sys/fs/cgroup/cpu.stat");

  // The idle share (0..1) of CPU time since the previous call; 0 when the cgroup was throttled
  // meanwhile. nullopt on the first call, when no time passed, or when /proc/stat is unreadable.
  std::optional<double> Sample();

 private:
  std::filesystem::path proc_stat_, cgroup_cpu_stat_;
  std::optional<CpuTimes> last_;
  std::optional<uint64_t> last_throttled_;
};

}  // namespace lifeboat
