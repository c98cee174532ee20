// CpuIdleMeter: the idle share between two samples of /proc/stat, and cgroup throttling.

#include "lifeboat/common/cpu_idle.h"

#include <unistd.h>

#include <fstream>

#include "gtest/gtest.h"

namespace lifeboat {
namespace {

TEST(CpuIdleTest, ParsesTheCpuLineAndThrottling) {
  auto t = ParseProcStat("cpu  100 5 50 800 40 0 5 0 0 0\ncpu0 50 2 25 400 20 0 2 0 0 0\n");
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->idle, 840u);
  EXPECT_EQ(t->total, 1000u);
  EXPECT_FALSE(ParseProcStat("intr 1 2 3\n").has_value());
  EXPECT_FALSE(ParseProcStat("cpu  1 2\n").has_value());
  EXPECT_FALSE(ParseProcStat("").has_value());
  EXPECT_EQ(ParseThrottledUsec("usage_usec 10\nnr_throttled 2\nthrottled_usec 1234\n"), 1234u);
  EXPECT_FALSE(ParseThrottledUsec("usage_usec 10\n").has_value());
}

class CpuIdleMeterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("lifeboat-cpu-idle-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  void Write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name) << text;
  }
  std::filesystem::path dir_;
};

TEST_F(CpuIdleMeterTest, IdleShareBetweenSamplesZeroWhenThrottled) {
  CpuIdleMeter meter(dir_ / "stat", dir_ / "cpu.stat");
  Write("stat", "cpu  100 0 100 800 0 0 0 0 0 0\n");
  EXPECT_FALSE(meter.Sample().has_value());  // the first sample has nothing to compare with
  Write("stat", "cpu  250 0 150 1000 0 0 0 0 0 0\n");  // 400 more, 200 of them idle
  auto idle = meter.Sample();
  ASSERT_TRUE(idle.has_value());
  EXPECT_DOUBLE_EQ(*idle, 0.5);
  EXPECT_FALSE(meter.Sample().has_value());  // no time passed
  Write("cpu.stat", "throttled_usec 10\n");
  Write("stat", "cpu  250 0 150 1400 0 0 0 0 0 0\n");
  EXPECT_DOUBLE_EQ(meter.Sample().value_or(-1), 1.0);  // throttling seen for the first time
  Write("cpu.stat", "throttled_usec 20\n");
  Write("stat", "cpu  250 0 150 1800 0 0 0 0 0 0\n");
  EXPECT_DOUBLE_EQ(meter.Sample().value_or(-1), 0.0);  // throttled meanwhile: nothing to spare
}

TEST_F(CpuIdleMeterTest, UnreadableStatIsUnknown) {
  CpuIdleMeter meter(dir_ / "missing", dir_ / "missing-too");
  EXPECT_FALSE(meter.Sample().has_value());
  EXPECT_FALSE(meter.Sample().has_value());
}

TEST(CpuIdleRealTest, ThisMachineReportsAShare) {
  CpuIdleMeter meter;
  (void)meter.Sample();
  volatile uint64_t spin = 0;
  for (int i = 0; i < 20000000; ++i) spin = spin + static_cast<uint64_t>(i);
  auto idle = meter.Sample();
  if (!idle) GTEST_SKIP() << "/proc/stat did not advance";
  EXPECT_GE(*idle, 0.0);
  EXPECT_LE(*idle, 1.0);
}

}  // namespace
}  // namespace lifeboat
