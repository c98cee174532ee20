// Leader election against a real kubesim: acquisition and renewal, mutual exclusion between
// candidates, release on cancel, loss of leadership when renewals fail, take-over of a Lease
// whose unknown holder stops renewing, and conflicting writes.
//
// Waits are bounded polls; the only time assertions are lower bounds the protocol guarantees.

#include "lifeboat/kube/leader_election.h"

#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "lifeboat/common/json.h"
#include "lifeboat/kube/config.h"
#include "lifeboat/kube/discovery.h"
#include "lifeboat/kube/dynamic_client.h"
#include "src/kube/testing/kubesim_process.h"

namespace lifeboat::kube {
namespace {

using ::lifeboat::kube::testing::KubesimProcess;
using namespace std::chrono_literals;

const GroupVersionResource kLeases{"coordination.k8s.io", "v1", "leases"};
constexpr char kNs[] = "default";
constexpr char kLease[] = "lifeboat-leader";

// Polls `cond` every 10 ms for up to `limit`.
template <typename F>
bool WaitFor(F cond, std::chrono::milliseconds limit = 20s) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (cond()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return cond();
}

// A connection to the cluster as one replica would have it.
struct Connection {
  std::unique_ptr<RestClient> rest;
  std::unique_ptr<Discovery> discovery;
  std::unique_ptr<DynamicClient> client;
};

// One replica campaigning on its own thread.
struct Candidate {
  Connection conn;
  std::unique_ptr<LeaderElector> elector;
  CancellationSource cancel;
  std::thread thread;
  std::atomic<int> started{0};
  std::atomic<int> stopped{0};
  std::atomic<bool> work_token_cancelled{false};
  std::atomic<bool> done{false};
  Status result;

  void Start() {
    thread = std::thread([this] {
      result = elector->Run(
          cancel.token(),
          [this](CancellationToken token) {
            ++started;
            while (!token.WaitFor(1s)) {
            }
            work_token_cancelled = true;
          },
          [this] { ++stopped; });
      done = true;
    });
  }
  void Stop() {
    cancel.Cancel("test done");
    if (thread.joinable()) thread.join();
  }
  ~Candidate() { Stop(); }
};

LeaderElectionConfig ShortConfig(const std::string& identity) {
  LeaderElectionConfig c;
  c.ns = kNs;
  c.name = kLease;
  c.identity = identity;
  c.lease_duration = 1000ms;
  c.renew_deadline = 700ms;
  c.retry_period = 100ms;
  return c;
}

class LeaderElectionTest : public ::testing::Test {
 protected:
  virtual std::vector<std::string> Flags() { return {}; }
  void SetUp() override {
    auto k = KubesimProcess::Start(Flags());
    ASSERT_TRUE(k.ok()) << k.status();
    kubesim_ = std::move(*k);
    admin_ = Connect();
    ASSERT_NE(admin_.client, nullptr);
  }

  Connection Connect() {
    Connection c;
    KubeconfigOptions o;
    o.explicit_path = kubesim_->kubeconfig();
    auto config = LoadKubeconfig(o);
    EXPECT_TRUE(config.ok()) << config.status();
    if (!config.ok()) return c;
    RestClientOptions options;
    options.qps = 0;
    options.base_backoff = 5ms;
    options.max_backoff = 50ms;
    options.timeout = 5s;
    auto rest = RestClient::Create(*config, options);
    EXPECT_TRUE(rest.ok()) << rest.status();
    if (!rest.ok()) return c;
    c.rest = std::move(*rest);
    c.discovery = std::make_unique<Discovery>(c.rest.get());
    c.client = std::make_unique<DynamicClient>(c.rest.get(), c.discovery.get());
    return c;
  }

  std::unique_ptr<Candidate> MakeCandidate(const LeaderElectionConfig& config) {
    auto c = std::make_unique<Candidate>();
    c->conn = Connect();
    c->elector = std::make_unique<LeaderElector>(c->conn.client.get(), config);
    return c;
  }

  LeaderElectionRecord ReadRecord() {
    auto lease = admin_.client->Get(kLeases, kNs, kLease);
    EXPECT_TRUE(lease.ok()) << lease.status();
    return lease.ok() ? LeaderElectionRecordFromLease(*lease) : LeaderElectionRecord{};
  }

  // Creates or overwrites the Lease with `record` (as another program would).
  void WriteRecord(const LeaderElectionRecord& r) {
    boost::json::object spec{{"holderIdentity", boost::json::string(r.holder_identity)},
                             {"leaseDurationSeconds", r.lease_duration_seconds},
                             {"acquireTime", boost::json::string(r.acquire_time)},
                             {"renewTime", boost::json::string(r.renew_time)},
                             {"leaseTransitions", r.lease_transitions}};
    auto existing = admin_.client->Get(kLeases, kNs, kLease);
    if (existing.ok()) {
      existing->as_object()["spec"] = spec;
      existing->as_object()["apiVersion"] = "coordination.k8s.io/v1";
      existing->as_object()["kind"] = "Lease";
      auto updated = admin_.client->Update(kLeases, kNs, *existing);
      ASSERT_TRUE(updated.ok()) << updated.status();
      return;
    }
    ASSERT_EQ(existing.status().code(), absl::StatusCode::kNotFound) << existing.status();
    boost::json::object lease{{"apiVersion", "coordination.k8s.io/v1"}, {"kind", "Lease"}};
    lease["metadata"] = boost::json::object{{"name", kLease}, {"namespace", kNs}};
    lease["spec"] = spec;
    auto created = admin_.client->Create(kLeases, kNs, boost::json::value(lease));
    ASSERT_TRUE(created.ok()) << created.status();
  }

  std::unique_ptr<KubesimProcess> kubesim_;
  Connection admin_;
};

// ---------------------------------------------------------------------------------------------
// Hermetic checks.

TEST(LeaderElectionConfigTest, RejectsBadConfigs) {
  DynamicClient client(nullptr, nullptr);
  auto run = [&](LeaderElectionConfig c) {
    LeaderElector e(&client, std::move(c));
    CancellationSource cancel;
    cancel.Cancel();
    return e
        .Run(
            cancel.token(), [](CancellationToken) {}, nullptr)
        .code();
  };
  EXPECT_EQ(run(ShortConfig("")), absl::StatusCode::kInvalidArgument);
  LeaderElectionConfig c = ShortConfig("a");
  c.renew_deadline = c.lease_duration;
  EXPECT_EQ(run(c), absl::StatusCode::kInvalidArgument);
  c = ShortConfig("a");
  c.retry_period = 600ms;  // 1.2 × 600 ms > 700 ms
  EXPECT_EQ(run(c), absl::StatusCode::kInvalidArgument);
  c = ShortConfig("a");
  c.name = "";
  EXPECT_EQ(run(c), absl::StatusCode::kInvalidArgument);
  // Cancelled before campaigning: OK without touching the (unusable) client.
  EXPECT_EQ(run(ShortConfig("a")), absl::StatusCode::kOk);

  LeaderElector e(&client, ShortConfig("a"));
  CancellationSource cancel;
  cancel.Cancel();
  EXPECT_EQ(e.Run(cancel.token(), nullptr, nullptr).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(e.Run(
                   cancel.token(), [](CancellationToken) {}, nullptr)
                  .ok());
  EXPECT_EQ(e.Run(
                 cancel.token(), [](CancellationToken) {}, nullptr)
                .code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_FALSE(e.IsLeader());
  EXPECT_EQ(e.CurrentLeader(), "");
}

TEST(LeaderElectionRecordTest, ParsesLeaseAndFormatsMicroTime) {
  auto lease = ParseJson(R"({"spec":{"holderIdentity":"x","leaseDurationSeconds":15,
      "acquireTime":"2024-05-01T10:00:00.000000Z","renewTime":"2024-05-01T10:00:05.000000Z",
      "leaseTransitions":3}})");
  ASSERT_TRUE(lease.ok());
  LeaderElectionRecord r = LeaderElectionRecordFromLease(*lease);
  EXPECT_EQ(r.holder_identity, "x");
  EXPECT_EQ(r.lease_duration_seconds, 15);
  EXPECT_EQ(r.acquire_time, "2024-05-01T10:00:00.000000Z");
  EXPECT_EQ(r.renew_time, "2024-05-01T10:00:05.000000Z");
  EXPECT_EQ(r.lease_transitions, 3);
  EXPECT_EQ(LeaderElectionRecordFromLease(boost::json::value(nullptr)), LeaderElectionRecord{});

  const Clock::TimePoint t = Clock::TimePoint(std::chrono::seconds(1'714'557'600)) + 123456us;
  EXPECT_EQ(FormatMicroTime(t), "2024-05-01T10:00:00.123456Z");
}

// ---------------------------------------------------------------------------------------------
// Against kubesim.

TEST_F(LeaderElectionTest, OneCandidateAcquiresRenewsAndReleases) {
  auto a = MakeCandidate(ShortConfig("a"));
  a->Start();
  ASSERT_TRUE(WaitFor([&] { return a->elector->IsLeader(); })) << a->result;
  EXPECT_EQ(a->elector->CurrentLeader(), "a");
  ASSERT_TRUE(WaitFor([&] { return a->started == 1; }));
  LeaderElectionRecord first = ReadRecord();
  EXPECT_EQ(first.holder_identity, "a");
  EXPECT_EQ(first.lease_duration_seconds, 1);
  EXPECT_EQ(first.lease_transitions, 0);  // created by "a"
  EXPECT_FALSE(first.renew_time.empty());
  // Renewals move renewTime but keep acquireTime and the transition count.
  LeaderElectionRecord later;
  ASSERT_TRUE(WaitFor([&] {
    later = ReadRecord();
    return later.renew_time != first.renew_time;
  }));
  EXPECT_EQ(later.holder_identity, "a");
  EXPECT_EQ(later.acquire_time, first.acquire_time);
  EXPECT_EQ(later.lease_transitions, 0);
  EXPECT_TRUE(a->elector->IsLeader());

  a->Stop();
  EXPECT_TRUE(a->result.ok()) << a->result;
  EXPECT_TRUE(a->work_token_cancelled);
  EXPECT_EQ(a->stopped, 1);
  EXPECT_FALSE(a->elector->IsLeader());
  LeaderElectionRecord released = ReadRecord();
  EXPECT_EQ(released.holder_identity, "");
  EXPECT_EQ(released.lease_duration_seconds, 1);
  EXPECT_EQ(released.lease_transitions, 0);
}

TEST_F(LeaderElectionTest, TwoCandidatesNeverBothLead) {
  auto a = MakeCandidate(ShortConfig("a"));
  auto b = MakeCandidate(ShortConfig("b"));
  a->Start();
  b->Start();
  ASSERT_TRUE(WaitFor([&] { return a->elector->IsLeader() || b->elector->IsLeader(); }));
  int both = 0, leader_seen = 0;
  const auto end = std::chrono::steady_clock::now() + 3s;
  while (std::chrono::steady_clock::now() < end) {
    const bool la = a->elector->IsLeader();
    const bool lb = b->elector->IsLeader();
    if (la && lb) ++both;
    if (la || lb) ++leader_seen;
    std::this_thread::sleep_for(2ms);
  }
  EXPECT_EQ(both, 0);
  EXPECT_GT(leader_seen, 0);
  // The follower knows who leads.
  Candidate* leader = a->elector->IsLeader() ? a.get() : b.get();
  Candidate* follower = leader == a.get() ? b.get() : a.get();
  const std::string leader_id = leader == a.get() ? "a" : "b";
  EXPECT_TRUE(WaitFor([&] { return follower->elector->CurrentLeader() == leader_id; }));
  EXPECT_EQ(follower->started, 0);
  EXPECT_EQ(ReadRecord().holder_identity, leader_id);
}

TEST_F(LeaderElectionTest, ReleaseOnCancelHandsOverWithoutWaitingForExpiry) {
  // A lease so long that a take-over by expiry would exceed the bounded wait below.
  LeaderElectionConfig ca = ShortConfig("a");
  ca.lease_duration = 60s;
  LeaderElectionConfig cb = ShortConfig("b");
  cb.lease_duration = 60s;
  auto a = MakeCandidate(ca);
  a->Start();
  ASSERT_TRUE(WaitFor([&] { return a->elector->IsLeader(); })) << a->result;
  auto b = MakeCandidate(cb);
  b->Start();
  ASSERT_TRUE(WaitFor([&] { return b->elector->CurrentLeader() == "a"; }));
  EXPECT_FALSE(b->elector->IsLeader());

  a->Stop();
  EXPECT_TRUE(a->result.ok()) << a->result;
  EXPECT_EQ(a->stopped, 1);
  ASSERT_TRUE(WaitFor([&] { return b->elector->IsLeader(); }, 30s));
  LeaderElectionRecord r = ReadRecord();
  EXPECT_EQ(r.holder_identity, "b");
  EXPECT_EQ(r.lease_duration_seconds, 60);
  EXPECT_EQ(r.lease_transitions, 1);
}

TEST_F(LeaderElectionTest, LeaderWhoseRenewalsFailStopsLeading) {
  auto a = MakeCandidate(ShortConfig("a"));
  a->Start();
  ASSERT_TRUE(WaitFor([&] { return a->elector->IsLeader(); })) << a->result;
  ASSERT_TRUE(WaitFor([&] { return a->started == 1; }));
  kubesim_.reset();  // the API server goes away: every renewal fails
  ASSERT_TRUE(WaitFor([&] { return a->done.load(); }));
  EXPECT_EQ(a->result.code(), absl::StatusCode::kAborted) << a->result;
  EXPECT_TRUE(a->work_token_cancelled);
  EXPECT_EQ(a->stopped, 1);
  EXPECT_FALSE(a->elector->IsLeader());
}

TEST_F(LeaderElectionTest, LeaderRecreatesADeletedLease) {
  auto a = MakeCandidate(ShortConfig("a"));
  a->Start();
  ASSERT_TRUE(WaitFor([&] { return a->elector->IsLeader(); })) << a->result;
  auto deleted = admin_.client->Delete(kLeases, kNs, kLease);
  ASSERT_TRUE(deleted.ok()) << deleted.status();
  ASSERT_TRUE(WaitFor([&] {
    auto lease = admin_.client->Get(kLeases, kNs, kLease);
    return lease.ok() && LeaderElectionRecordFromLease(*lease).holder_identity == "a";
  }));
  EXPECT_TRUE(a->elector->IsLeader());
  EXPECT_FALSE(a->done);
  EXPECT_EQ(a->started, 1);
}

TEST_F(LeaderElectionTest, UnknownHolderIsTakenOverOnlyAfterItStopsRenewing) {
  // The holder's clock is far off (renewTime in 2000): only changes of the record count.
  LeaderElectionRecord ghost{"ghost", 2, "2000-01-01T00:00:00.000000Z",
                             "2000-01-01T00:00:00.000000Z", 4};
  ASSERT_NO_FATAL_FAILURE(WriteRecord(ghost));
  auto a = MakeCandidate(ShortConfig("a"));
  a->Start();
  ASSERT_TRUE(WaitFor([&] { return a->elector->CurrentLeader() == "ghost"; }));
  // While the ghost keeps renewing (every 300 ms, well within its 2 s), "a" never leads.
  Clock::TimePoint last_write;
  for (int i = 0; i < 15; ++i) {
    last_write = RealClock().Now();
    ghost.renew_time =
        "2000-01-01T00:00:" + std::string(i < 10 ? "0" : "") + std::to_string(i) + ".000000Z";
    ASSERT_NO_FATAL_FAILURE(WriteRecord(ghost));
    std::this_thread::sleep_for(300ms);
    ASSERT_FALSE(a->elector->IsLeader());
    ASSERT_EQ(a->started, 0);
  }
  // The ghost stops: "a" takes over, but not before the ghost's 2 s have passed since its last
  // write (which "a" cannot have seen before the write started).
  ASSERT_TRUE(WaitFor([&] { return a->elector->IsLeader(); })) << a->result;
  EXPECT_GE(RealClock().Now() - last_write, 2s);
  LeaderElectionRecord r = ReadRecord();
  EXPECT_EQ(r.holder_identity, "a");
  EXPECT_EQ(r.lease_transitions, 5);
}

// Every request takes 50 ms more, so the candidates' reads all return before any write lands
// and their writes race with the same resourceVersion.
class SlowApiLeaderElectionTest : public LeaderElectionTest {
 protected:
  std::vector<std::string> Flags() override { return {"--fault-latency-ms", "50"}; }
};

TEST_F(SlowApiLeaderElectionTest, ConflictingCandidatesNeverYieldTwoLeaders) {
  // A released Lease: every candidate may take it at once, and all try together.
  ASSERT_NO_FATAL_FAILURE(
      WriteRecord({"", 1, "2000-01-01T00:00:00.000000Z", "2000-01-01T00:00:00.000000Z", 7}));
  std::vector<std::unique_ptr<Candidate>> cs;
  for (int i = 0; i < 4; ++i) {
    LeaderElectionConfig config = ShortConfig("c" + std::to_string(i));
    config.lease_duration = 2000ms;  // room for the injected latency
    config.renew_deadline = 1500ms;
    cs.push_back(MakeCandidate(config));
    // Discovery and the TLS connection first, so that the first attempts start together.
    ASSERT_TRUE(cs.back()->conn.client->Get(kLeases, kNs, kLease).ok());
  }
  for (auto& c : cs) c->Start();
  int max_leaders = 0;
  const auto end = std::chrono::steady_clock::now() + 3s;
  while (std::chrono::steady_clock::now() < end) {
    int leaders = 0;
    for (auto& c : cs) leaders += c->elector->IsLeader() ? 1 : 0;
    max_leaders = std::max(max_leaders, leaders);
    std::this_thread::sleep_for(2ms);
  }
  EXPECT_LE(max_leaders, 1);
  ASSERT_TRUE(WaitFor([&] {
    int leaders = 0;
    for (auto& c : cs) leaders += c->elector->IsLeader() ? 1 : 0;
    return leaders == 1;
  }));
  // Every acquisition is one transition: two winners of the same write would show as more
  // leaders started than transitions made.
  LeaderElectionRecord r;
  int started = 0;
  EXPECT_TRUE(WaitFor([&] {
    r = ReadRecord();
    started = 0;
    for (auto& c : cs) started += c->started;
    return started == r.lease_transitions - 7;
  })) << started
      << " leaders started, " << r.lease_transitions - 7 << " transitions";
  EXPECT_GE(r.lease_transitions, 8);
}

}  // namespace
}  // namespace lifeboat::kube
