#include "lifeboat/common/metrics.h"

#include <cmath>
#include <limits>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace lifeboat::metrics {
namespace {

using ::testing::HasSubstr;

TEST(FormatValueTest, MatchesGoClientFormatting) {
  EXPECT_EQ(FormatValue(0), "0");
  EXPECT_EQ(FormatValue(1), "1");
  EXPECT_EQ(FormatValue(-3), "-3");
  EXPECT_EQ(FormatValue(0.25), "0.25");
  EXPECT_EQ(FormatValue(60), "60");
  EXPECT_EQ(FormatValue(14400), "14400");
  EXPECT_EQ(FormatValue(123456), "123456");
  EXPECT_EQ(FormatValue(1234567), "1.234567e+06");
  EXPECT_EQ(FormatValue(1e6), "1e+06");
  EXPECT_EQ(FormatValue(1.5e9), "1.5e+09");
  EXPECT_EQ(FormatValue(0.0001), "0.0001");
  EXPECT_EQ(FormatValue(0.00001), "1e-05");
  EXPECT_EQ(FormatValue(0.1), "0.1");
  EXPECT_EQ(FormatValue(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(FormatValue(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(FormatValue(std::nan("")), "NaN");
}

TEST(EscapeTest, LabelValues) {
  EXPECT_EQ(EscapeLabelValue("plain-name"), "plain-name");
  EXPECT_EQ(EscapeLabelValue("a\\b\"c\nd"), "a\\\\b\\\"c\\nd");
  EXPECT_EQ(EscapeLabelValue("caf\xC3\xA9"), "caf\xC3\xA9");  // valid UTF-8 kept
  EXPECT_EQ(EscapeLabelValue("x\xFFy"), "x\xEF\xBF\xBDy");    // invalid byte replaced
  EXPECT_EQ(EscapeLabelValue("\xC3"), "\xEF\xBF\xBD");        // truncated sequence
}

TEST(EscapeTest, HelpEscapesBackslashAndNewlineButNotQuotes) {
  EXPECT_EQ(EscapeHelp("say \"hi\"\\ now\nplease"), "say \"hi\"\\\\ now\\nplease");
}

TEST(RegistryTest, ExpositionSortsFamiliesChildrenAndLabels) {
  Registry r;
  auto* zeta = r.AddCounter("zeta_total", "Last family", {"schedule"}).value();
  auto* alpha = r.AddGauge("alpha", "First family", {"zone", "app"}).value();
  zeta->WithLabels({"nightly"}).Inc(2);
  zeta->WithLabels({""}).Inc();
  alpha->WithLabels({"b", "x"}).Set(1.5);
  alpha->WithLabels({"a", "y"}).Set(-2);
  EXPECT_EQ(r.Exposition(),
            "# HELP alpha First family\n"
            "# TYPE alpha gauge\n"
            "alpha{app=\"x\",zone=\"b\"} 1.5\n"
            "alpha{app=\"y\",zone=\"a\"} -2\n"
            "# HELP zeta_total Last family\n"
            "# TYPE zeta_total counter\n"
            "zeta_total{schedule=\"\"} 1\n"
            "zeta_total{schedule=\"nightly\"} 2\n");
}

TEST(RegistryTest, UnlabelledFamilyIsExposedAtZeroAndLabelledOnlyOnceUsed) {
  Registry r;
  ASSERT_TRUE(r.AddGauge("things", "Things", {}).ok());
  auto* labelled = r.AddCounter("events_total", "Events", {"kind"}).value();
  EXPECT_EQ(r.Exposition(), "# HELP things Things\n# TYPE things gauge\nthings 0\n");
  labelled->WithLabels({"a"});
  EXPECT_THAT(r.Exposition(), HasSubstr("events_total{kind=\"a\"} 0\n"));
}

TEST(RegistryTest, EscapesInExposition) {
  Registry r;
  auto* g = r.AddGauge("g", "Help with \\ and\nnewline", {"v"}).value();
  g->WithLabels({"q\"b\\n\n"}).Set(1);
  EXPECT_EQ(r.Exposition(),
            "# HELP g Help with \\\\ and\\nnewline\n"
            "# TYPE g gauge\n"
            "g{v=\"q\\\"b\\\\n\\n\"} 1\n");
}

TEST(RegistryTest, HistogramBucketsAreCumulativeWithInfSumAndCount) {
  Registry r;
  auto* h = r.AddHistogram("op_seconds", "Op time", {"op"}, {1, 5, 10}).value();
  Histogram& put = h->WithLabels({"put"});
  for (double v : {0.5, 1.0, 3.0, 7.0, 20.0, 100.0}) put.Observe(v);
  put.Observe(std::nan(""));  // ignored
  EXPECT_EQ(r.Exposition(),
            "# HELP op_seconds Op time\n"
            "# TYPE op_seconds histogram\n"
            "op_seconds_bucket{op=\"put\",le=\"1\"} 2\n"
            "op_seconds_bucket{op=\"put\",le=\"5\"} 3\n"
            "op_seconds_bucket{op=\"put\",le=\"10\"} 4\n"
            "op_seconds_bucket{op=\"put\",le=\"+Inf\"} 6\n"
            "op_seconds_sum{op=\"put\"} 131.5\n"
            "op_seconds_count{op=\"put\"} 6\n");
  Histogram::Snapshot s = put.Collect();
  EXPECT_EQ(s.count, 6u);
  EXPECT_EQ(s.cumulative, (std::vector<uint64_t>{2, 3, 4, 6}));
}

TEST(RegistryTest, UnlabelledHistogramHasOnlyLe) {
  Registry r;
  auto* h = r.AddHistogram("lat", "Latency", {}, {0.1}).value();
  h->WithLabels({}).Observe(0.05);
  EXPECT_EQ(r.Exposition(),
            "# HELP lat Latency\n# TYPE lat histogram\n"
            "lat_bucket{le=\"0.1\"} 1\nlat_bucket{le=\"+Inf\"} 1\n"
            "lat_sum 0.05\nlat_count 1\n");
}

TEST(RegistryTest, CounterNeverDecreases) {
  Registry r;
  Counter& c = r.AddCounter("c_total", "C", {}).value()->WithLabels({});
  c.Inc(3);
  c.Inc(-1);
  c.Inc(std::nan(""));
  EXPECT_EQ(c.Value(), 3);
}

TEST(RegistryTest, GaugeMoves) {
  Registry r;
  Gauge& g = r.AddGauge("g", "G", {}).value()->WithLabels({});
  g.Set(10);
  g.Inc();
  g.Dec();
  g.Dec();
  g.Add(0.5);
  EXPECT_EQ(g.Value(), 9.5);
}

TEST(RegistryTest, WithLabelsReturnsTheSameChild) {
  Registry r;
  auto* f = r.AddCounter("c_total", "C", {"a", "b"}).value();
  EXPECT_EQ(&f->WithLabels({"1", "2"}), &f->WithLabels({"1", "2"}));
  EXPECT_NE(&f->WithLabels({"1", "2"}), &f->WithLabels({"2", "1"}));
}

TEST(RegistryTest, RemoveHidesChildButKeepsReferenceValid) {
  Registry r;
  auto* f = r.AddGauge("up", "Up", {"location"}).value();
  Gauge& old = f->WithLabels({"gone"});
  f->WithLabels({"kept"}).Set(1);
  old.Set(1);
  EXPECT_TRUE(f->Remove({"gone"}));
  EXPECT_FALSE(f->Remove({"gone"}));
  old.Set(5);  // still a valid object
  std::string text = r.Exposition();
  EXPECT_THAT(text, HasSubstr("up{location=\"kept\"} 1\n"));
  EXPECT_THAT(text, ::testing::Not(HasSubstr("gone")));
  EXPECT_EQ(f->WithLabels({"gone"}).Value(), 0);  // a fresh child
}

TEST(RegistryTest, RejectsBadRegistrations) {
  Registry r;
  ASSERT_TRUE(r.AddCounter("ok_total", "", {"a"}).ok());
  ASSERT_TRUE(r.AddHistogram("dur", "", {}, {1, 2}).ok());
  auto invalid = [](const auto& s) { return absl::IsInvalidArgument(s.status()); };
  EXPECT_TRUE(invalid(r.AddCounter("ok_total", "", {})));         // duplicate
  EXPECT_TRUE(invalid(r.AddGauge("dur_count", "", {})));          // histogram series
  EXPECT_TRUE(invalid(r.AddHistogram("ok_total", "", {}, {1})));  // duplicate
  EXPECT_TRUE(r.AddCounter("other_sum", "", {}).ok());
  EXPECT_TRUE(invalid(r.AddHistogram("other", "", {}, {1})));  // its _sum is taken
  EXPECT_TRUE(invalid(r.AddHistogram("h1", "", {}, {})));      // no buckets
  EXPECT_TRUE(invalid(r.AddHistogram("h2", "", {}, {2, 1})));  // decreasing
  EXPECT_TRUE(invalid(r.AddHistogram("h3", "", {}, {1, 1})));  // repeated
  EXPECT_TRUE(invalid(r.AddHistogram(
      "h4", "", {}, {1, std::numeric_limits<double>::infinity()})));  // +Inf is implicit
  EXPECT_TRUE(invalid(r.AddHistogram("h5", "", {"le"}, {1})));        // reserved label
  EXPECT_TRUE(invalid(r.AddCounter("9bad", "", {})));
  EXPECT_TRUE(invalid(r.AddCounter("bad-name", "", {})));
  EXPECT_TRUE(invalid(r.AddCounter("", "", {})));
  EXPECT_TRUE(invalid(r.AddCounter("x1", "", {"__reserved"})));
  EXPECT_TRUE(invalid(r.AddCounter("x2", "", {"a:b"})));
  EXPECT_TRUE(invalid(r.AddCounter("x3", "", {"a", "a"})));
  EXPECT_TRUE(r.AddCounter("ns:sub_total", "", {"_a", "B9"}).ok());  // colons in names are fine
}

TEST(RegistryTest, ConcurrentUpdatesAreNotLost) {
  Registry r;
  auto* counters = r.AddCounter("c_total", "C", {"t"}).value();
  auto* gauge = r.AddGauge("g", "G", {}).value();
  auto* hist = r.AddHistogram("h", "H", {}, {10, 100}).value();
  constexpr int kThreads = 4;
  constexpr int kIterations = 20000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kIterations; ++i) {
        counters->WithLabels({"shared"}).Inc();
        counters->WithLabels({std::to_string(t)}).Inc(0.5);
        gauge->WithLabels({}).Add(1);
        hist->WithLabels({}).Observe(i % 200);
        if (i % 5000 == 0) (void)r.Exposition();  // scrapes race with updates
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(counters->WithLabels({"shared"}).Value(), kThreads * kIterations);
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_EQ(counters->WithLabels({std::to_string(t)}).Value(), kIterations * 0.5);
  }
  EXPECT_EQ(gauge->WithLabels({}).Value(), kThreads * kIterations);
  Histogram::Snapshot s = hist->WithLabels({}).Collect();
  EXPECT_EQ(s.count, static_cast<uint64_t>(kThreads * kIterations));
  // i % 200 in [0, 200): 11 of each 200 values are <= 10, 101 are <= 100.
  EXPECT_EQ(s.cumulative[0], static_cast<uint64_t>(kThreads * kIterations / 200 * 11));
  EXPECT_EQ(s.cumulative[1], static_cast<uint64_t>(kThreads * kIterations / 200 * 101));
  EXPECT_EQ(s.sum, static_cast<double>(kThreads) * (kIterations / 200) * (199 * 200 / 2));
}

}  // namespace
}  // namespace lifeboat::metrics
