// /metrics, /healthz and /readyz served on loopback, fetched with lifeboat's HTTP client, and
// /metrics parsed by a real Prometheus text-format parser (Debian's python3-prometheus-client).

#include "lifeboat/http/metrics_endpoint.h"

#include <unistd.h>

#include <atomic>
#include <boost/json.hpp>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lifeboat/common/velero_metrics.h"
#include "lifeboat/http/client.h"

namespace lifeboat::http {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;

// Prints {"types": {family: type}, "samples": [[name, {labels}, "value"], ...]} for the
// exposition in argv[1]. Values are strings so that +Inf/NaN survive JSON.
constexpr char kParserScript[] = R"PY(
import json, sys
from prometheus_client.parser import text_string_to_metric_families
text = open(sys.argv[1], encoding="utf-8").read()
types, samples = {}, []
for fam in text_string_to_metric_families(text):
    types[fam.name] = fam.type
    for s in fam.samples:
        samples.append([s.name, dict(s.labels), repr(float(s.value))])
print(json.dumps({"types": types, "samples": samples}))
)PY";

struct RunResult {
  int exit_code = -1;
  std::string out;
};

RunResult RunCommand(const std::string& command) {
  RunResult r;
  FILE* p = popen(command.c_str(), "r");
  if (p == nullptr) return r;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) r.out.append(buf, n);
  int status = pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

bool HaveParser() {
  return RunCommand(std::string(LIFEBOAT_PYTHON3) +
                    " -c 'import prometheus_client.parser' >/dev/null 2>&1")
             .exit_code == 0;
}

// One parsed sample: name plus sorted labels -> value.
using SampleKey = std::pair<std::string, std::map<std::string, std::string>>;

class MetricsEndpointTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("lifeboat-metrics-endpoint-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
    auto client = Client::Create(ClientOptions{});
    ASSERT_TRUE(client.ok()) << client.status();
    client_ = std::move(*client);
  }
  void TearDown() override {
    if (server_) server_->Stop();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  void Start(ReadinessCheck ready = nullptr) {
    MetricsEndpointOptions o;
    o.listen = "127.0.0.1:0";
    o.ready = std::move(ready);
    auto s = StartMetricsServer(o, metrics_.registry());
    ASSERT_TRUE(s.ok()) << s.status();
    server_ = std::move(*s);
  }

  ClientResponse Get(const std::string& path, const std::string& method = "GET") {
    ClientRequest req;
    req.method = method;
    req.url = "http://" + server_->address() + path;
    req.timeout = 10s;
    auto r = client_->Send(req);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : ClientResponse{};
  }

  // Parses `text` with prometheus_client; fails the test if the parser rejects it.
  std::map<SampleKey, double> Parse(const std::string& text,
                                    std::map<std::string, std::string>* types) {
    std::string exposition = (dir_ / "metrics.txt").string();
    std::string script = (dir_ / "parse.py").string();
    std::ofstream(exposition) << text;
    std::ofstream(script) << kParserScript;
    RunResult r =
        RunCommand(std::string(LIFEBOAT_PYTHON3) + " " + script + " " + exposition + " 2>&1");
    EXPECT_EQ(r.exit_code, 0) << "prometheus_client rejected the exposition:\n" << r.out;
    std::map<SampleKey, double> out;
    if (r.exit_code != 0) return out;
    boost::json::value v = boost::json::parse(r.out);
    for (const auto& [name, type] : v.at("types").as_object()) {
      (*types)[std::string(name)] = std::string(type.as_string());
    }
    for (const auto& s : v.at("samples").as_array()) {
      const auto& a = s.as_array();
      std::map<std::string, std::string> labels;
      for (const auto& [k, lv] : a[1].as_object())
        labels[std::string(k)] = std::string(lv.as_string());
      out[{std::string(a[0].as_string()), labels}] =
          std::strtod(std::string(a[2].as_string()).c_str(), nullptr);
    }
    return out;
  }

  FakeClock clock_{Clock::TimePoint(std::chrono::seconds(1'760'000'000))};
  metrics::ServerMetrics metrics_{clock_};
  std::unique_ptr<Client> client_;
  std::unique_ptr<Server> server_;
  std::filesystem::path dir_;
};

TEST_F(MetricsEndpointTest, PrometheusParserReadsKnownValues) {
  if (!HaveParser()) {
    GTEST_SKIP() << "python3-prometheus-client is not installed (scripts/install-deps.sh "
                    "installs it); cannot check /metrics with a real Prometheus parser";
  }
  Start();
  // Known operations, as the controllers would perform them.
  metrics_.InitSchedule("nightly");
  metrics_.BackupAttempted("nightly");
  metrics::BackupStats st;
  st.schedule = "nightly";
  st.backup_name = "nightly-20260501020000";
  st.storage_location = "default";
  st.duration = 400s;
  st.items_total = 40;
  st.tarball_bytes = 5'000'000'000;  // large enough to be written in exponent form
  st.bytes_written = 5'000'100'000;
  st.csi_snapshots_attempted = 2;
  st.csi_snapshots_completed = 1;
  metrics_.BackupFinished(st);
  metrics_.BackupAttempted("");
  st.schedule = "";
  st.result = metrics::BackupResult::kPartiallyFailed;
  st.errors = 3;
  st.duration = 30s;
  metrics_.BackupFinished(st);
  metrics_.BackupValidationFailed("weird \"sched\"\\x\nname");  // escaping round trip
  metrics_.RestoreAttempted("nightly");
  metrics_.RestoreFinished("nightly", metrics::RestoreResult::kFailed, 12s);
  metrics_.BackupDeletionAttempted("nightly");
  metrics_.BackupDeletionSucceeded("nightly");
  metrics_.SetBackupTotal(2);
  metrics_.SetBackupLocationAvailable("default", true);
  metrics_.SetBackupLocationAvailable("offsite", false);

  ClientResponse resp = Get("/metrics");
  ASSERT_EQ(resp.status, 200);
  EXPECT_EQ(resp.Header("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");

  std::map<std::string, std::string> types;
  auto samples = Parse(resp.body, &types);
  ASSERT_FALSE(samples.empty());
  auto value = [&](const std::string& name, std::map<std::string, std::string> labels) {
    auto it = samples.find({name, labels});
    EXPECT_NE(it, samples.end()) << "no sample " << name;
    return it == samples.end() ? -1.0 : it->second;
  };
  using L = std::map<std::string, std::string>;
  EXPECT_EQ(types["velero_backup_attempt"], "counter");  // the parser drops "_total"
  EXPECT_EQ(types["velero_backup_duration_seconds"], "histogram");
  EXPECT_EQ(types["velero_backup_tarball_size_bytes"], "gauge");

  EXPECT_EQ(value("velero_backup_attempt_total", L{{"schedule", "nightly"}}), 1);
  EXPECT_EQ(value("velero_backup_attempt_total", L{{"schedule", ""}}), 1);
  EXPECT_EQ(value("velero_backup_success_total", L{{"schedule", "nightly"}}), 1);
  EXPECT_EQ(value("velero_backup_failure_total", L{{"schedule", "nightly"}}), 0);
  EXPECT_EQ(value("velero_backup_partial_failure_total", L{{"schedule", ""}}), 1);
  EXPECT_EQ(
      value("velero_backup_validation_failure_total", L{{"schedule", "weird \"sched\"\\x\nname"}}),
      1);
  EXPECT_EQ(value("velero_backup_last_status", L{{"schedule", "nightly"}}), 1);
  EXPECT_EQ(value("velero_backup_last_status", L{{"schedule", ""}}), 0);
  EXPECT_EQ(value("velero_backup_last_successful_timestamp", L{{"schedule", "nightly"}}),
            1'760'000'000);
  EXPECT_EQ(value("velero_backup_tarball_size_bytes", L{{"schedule", "nightly"}}), 5e9);
  EXPECT_EQ(value("velero_backup_items_total", L{{"schedule", "nightly"}}), 40);
  EXPECT_EQ(value("velero_backup_items_errors", L{{"schedule", ""}}), 3);
  EXPECT_EQ(
      value("velero_backup_duration_seconds_bucket", L{{"schedule", "nightly"}, {"le", "300"}}), 0);
  EXPECT_EQ(
      value("velero_backup_duration_seconds_bucket", L{{"schedule", "nightly"}, {"le", "600"}}), 1);
  EXPECT_EQ(
      value("velero_backup_duration_seconds_bucket", L{{"schedule", "nightly"}, {"le", "+Inf"}}),
      1);
  EXPECT_EQ(value("velero_backup_duration_seconds_sum", L{{"schedule", "nightly"}}), 400);
  EXPECT_EQ(value("velero_backup_duration_seconds_count", L{{"schedule", ""}}), 1);
  EXPECT_EQ(value("velero_csi_snapshot_attempt_total",
                  L{{"schedule", "nightly"}, {"backupName", "nightly-20260501020000"}}),
            2);
  EXPECT_EQ(value("velero_csi_snapshot_failure_total",
                  L{{"schedule", "nightly"}, {"backupName", "nightly-20260501020000"}}),
            1);
  EXPECT_EQ(value("velero_restore_attempt_total", L{{"schedule", "nightly"}}), 1);
  EXPECT_EQ(value("velero_restore_failed_total", L{{"schedule", "nightly"}}), 1);
  EXPECT_EQ(value("velero_restore_success_total", L{{"schedule", "nightly"}}), 0);
  EXPECT_EQ(value("velero_backup_deletion_success_total", L{{"schedule", "nightly"}}), 1);
  EXPECT_EQ(value("velero_backup_total", L{}), 2);
  EXPECT_EQ(value("velero_restore_total", L{}), 0);
  EXPECT_EQ(value("velero_backup_location_status_gauge", L{{"backup_location_name", "offsite"}}),
            0);
  EXPECT_EQ(value("lifeboat_backup_location_available", L{{"location", "default"}}), 1);
  EXPECT_EQ(value("lifeboat_bytes_written_total", L{{"location", "default"}}), 10'000'200'000);
  EXPECT_EQ(value("lifeboat_items_per_second", L{{"schedule", "nightly"}}), 0.1);
  EXPECT_EQ(value("lifeboat_restore_duration_seconds_sum", L{{"schedule", "nightly"}}), 12);

  // A later scrape sees later operations.
  metrics_.BackupAttempted("nightly");
  samples = Parse(Get("/metrics").body, &types);
  EXPECT_EQ(value("velero_backup_attempt_total", L{{"schedule", "nightly"}}), 2);
}

TEST_F(MetricsEndpointTest, HealthAndReadiness) {
  std::atomic<bool> ready{false};
  Start([&ready]() -> Status {
    if (ready) return absl::OkStatus();
    return absl::UnavailableError("caches not synced");
  });
  ClientResponse h = Get("/healthz");
  EXPECT_EQ(h.status, 200);
  EXPECT_EQ(h.body, "ok");
  ClientResponse r = Get("/readyz");
  EXPECT_EQ(r.status, 503);
  EXPECT_THAT(r.body, HasSubstr("caches not synced"));
  ready = true;
  r = Get("/readyz");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "ok");
}

TEST_F(MetricsEndpointTest, UnknownPathsAndMethods) {
  Start();
  EXPECT_EQ(Get("/").status, 404);
  EXPECT_EQ(Get("/metricsx").status, 404);
  ClientResponse post = Get("/metrics", "POST");
  EXPECT_EQ(post.status, 405);
  EXPECT_EQ(post.Header("Allow"), "GET");
}

TEST(StartMetricsServerTest, BadAddressIsInvalidArgument) {
  metrics::Registry registry;
  MetricsEndpointOptions o;
  o.listen = "not-an-address";
  EXPECT_TRUE(absl::IsInvalidArgument(StartMetricsServer(o, registry).status()));
}

}  // namespace
}  // namespace lifeboat::http
