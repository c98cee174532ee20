#include "lifeboat/storage/decorators.h"

#include <atomic>
#include <future>
#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "src/storage/testing/faulty_object_store.h"
#include "src/storage/testing/in_memory_object_store.h"
#include "src/storage/testing/test_streams.h"

namespace lifeboat::storage {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::FaultyObjectStore;
using testing::HashingSink;
using testing::InMemoryObjectStore;
using testing::Op;
using testing::PseudoRandomSource;

// Runs `fn` while another thread keeps moving `clock` forward, so retry waits end; nothing
// here depends on how long anything takes.
template <typename Fn>
auto RunAdvancing(FakeClock& clock, Fn fn) {
  std::atomic<bool> done{false};
  std::thread ticker([&] {
    while (!done) {
      clock.Advance(std::chrono::minutes(1));
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  });
  auto result = fn();
  done = true;
  ticker.join();
  return result;
}

class RetryingObjectStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto faulty = std::make_unique<FaultyObjectStore>(&memory_);
    faulty_ = faulty.get();
    store_ = std::make_unique<RetryingObjectStore>(
        std::move(faulty), RetryOptions{.max_attempts = 5, .clock = &clock_});
  }

  InMemoryObjectStore memory_{"b"};
  FaultyObjectStore* faulty_ = nullptr;
  FakeClock clock_;
  std::unique_ptr<RetryingObjectStore> store_;
};

TEST_F(RetryingObjectStoreTest, UnavailablePutIsRetriedWithRewoundBody) {
  faulty_->FailNext(Op::kPut, absl::UnavailableError("HTTP 503 SlowDown"), 2);
  faulty_->FailNext(Op::kPut, absl::DeadlineExceededError("timeout"), 1);
  PseudoRandomSource body({.seed = 1, .length = 300'000});
  Status s = RunAdvancing(clock_, [&] { return store_->Put("b", "k", body); });
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(faulty_->calls(Op::kPut), 4);
  EXPECT_EQ(body.rewinds(), 3);
  EXPECT_EQ(testing::Sha256Hex(memory_.Contents("b").at("k")),
            testing::PseudoRandomSha256Hex(1, 300'000));
}

TEST_F(RetryingObjectStoreTest, TruncatedGetsResumeWithoutDuplicatingBytes) {
  const int64_t size = 1 << 20;
  PseudoRandomSource body({.seed = 2, .length = size});
  ASSERT_TRUE(memory_.Put("b", "k", body).ok());
  faulty_->TruncateNextGet(100'000);
  faulty_->TruncateNextGet(50'000);
  faulty_->FailNext(Op::kGet, absl::UnavailableError("connection reset"));  // after the two
  HashingSink sink;
  int64_t written = -1;
  Status s = RunAdvancing(clock_, [&] { return store_->Get("b", "k", sink, {}, &written); });
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(sink.bytes(), size);
  EXPECT_EQ(written, size);
  EXPECT_EQ(sink.HexDigest(), testing::PseudoRandomSha256Hex(2, size));
  std::vector<int64_t> offsets;
  for (const GetOptions& o : faulty_->get_options()) offsets.push_back(o.offset);
  EXPECT_THAT(offsets, ElementsAre(0, 100'000, 150'000, 150'000));
}

TEST_F(RetryingObjectStoreTest, TruncatedRangedGetResumesInsideTheRange) {
  ASSERT_TRUE(PutString(memory_, "b", "k", testing::PseudoRandomString(3, 10'000)).ok());
  faulty_->TruncateNextGet(1'000);
  std::string out;
  auto sink = StringSink(&out);
  Status s = RunAdvancing(
      clock_, [&] { return store_->Get("b", "k", *sink, {.offset = 500, .length = 4'000}); });
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(out, testing::PseudoRandomString(3, 10'000).substr(500, 4'000));
  auto options = faulty_->get_options();
  ASSERT_EQ(options.size(), 2u);
  EXPECT_EQ(options[1].offset, 1'500);
  EXPECT_EQ(options[1].length, 3'000);
}

TEST_F(RetryingObjectStoreTest, OtherOperationsAreRetried) {
  ASSERT_TRUE(PutString(memory_, "b", "x/k", "v").ok());
  faulty_->FailNext(Op::kExists, absl::UnavailableError("503"));
  faulty_->FailNext(Op::kListObjects, absl::DeadlineExceededError("timeout"));
  faulty_->FailNext(Op::kListCommonPrefixes, absl::AbortedError("conflict"));
  faulty_->FailNext(Op::kDelete, absl::UnavailableError("503"));
  faulty_->FailNext(Op::kSignedUrl, absl::UnavailableError("503"));
  RunAdvancing(clock_, [&] {
    EXPECT_TRUE(*store_->Exists("b", "x/k"));
    EXPECT_THAT(*store_->ListObjects("b", ""), ElementsAre("x/k"));
    EXPECT_THAT(*store_->ListCommonPrefixes("b", "", "/"), ElementsAre("x/"));
    EXPECT_TRUE(store_->CreateSignedUrl("b", "x/k", std::chrono::seconds(60)).ok());
    EXPECT_TRUE(store_->Delete("b", "x/k").ok());
    return 0;
  });
  for (Op op : {Op::kExists, Op::kListObjects, Op::kListCommonPrefixes, Op::kDelete,
                Op::kSignedUrl}) {
    EXPECT_EQ(faulty_->calls(op), 2) << static_cast<int>(op);
  }
  EXPECT_TRUE(memory_.Contents("b").empty());
}

TEST_F(RetryingObjectStoreTest, PermissionDeniedAndNotFoundAreNotRetried) {
  faulty_->FailNext(Op::kPut, absl::PermissionDeniedError("HTTP 403 AccessDenied"));
  auto body = StringSource("data");
  EXPECT_EQ(store_->Put("b", "k", *body).code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(faulty_->calls(Op::kPut), 1);

  std::string out;
  auto sink = StringSink(&out);
  EXPECT_EQ(store_->Get("b", "missing", *sink).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(faulty_->calls(Op::kGet), 1);
  faulty_->FailNext(Op::kListObjects, absl::PermissionDeniedError("403"));
  EXPECT_EQ(store_->ListObjects("b", "").status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(faulty_->calls(Op::kListObjects), 1);
  faulty_->FailNext(Op::kDelete, absl::UnauthenticatedError("401"));
  EXPECT_EQ(store_->Delete("b", "k").code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(faulty_->calls(Op::kDelete), 1);
}

TEST_F(RetryingObjectStoreTest, GivesUpAfterMaxAttempts) {
  faulty_->FailNext(Op::kPut, absl::UnavailableError("HTTP 503"), 10);
  auto body = StringSource("data");
  Status s = RunAdvancing(clock_, [&] { return store_->Put("b", "k", *body); });
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(s.message()), HasSubstr("after 5 attempts"));
  EXPECT_EQ(faulty_->calls(Op::kPut), 5);
  EXPECT_TRUE(memory_.Contents("b").empty());
}

TEST_F(RetryingObjectStoreTest, BodyThatCannotRewindMakesTheFirstFailureFinal) {
  faulty_->FailNext(Op::kPut, absl::UnavailableError("HTTP 503"));
  PseudoRandomSource body({.seed = 1, .length = 1000, .rewindable = false});
  Status s = RunAdvancing(clock_, [&] { return store_->Put("b", "k", body); });
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(s.message()), HasSubstr("body cannot be rewound"));
  EXPECT_EQ(faulty_->calls(Op::kPut), 1);
  EXPECT_TRUE(memory_.Contents("b").empty());
}

TEST_F(RetryingObjectStoreTest, CallerSourceAndSinkErrorsAreNotRetried) {
  PseudoRandomSource body({.seed = 1,
                           .length = 1000,
                           .fail_with = absl::UnavailableError("pipe from tar writer broke"),
                           .fail_after = 10});
  EXPECT_EQ(store_->Put("b", "k", body).code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(faulty_->calls(Op::kPut), 1);

  ASSERT_TRUE(PutString(memory_, "b", "k", std::string(200'000, 'x')).ok());
  testing::FailingSink sink(0, absl::UnavailableError("disk went away"));
  EXPECT_EQ(store_->Get("b", "k", sink).code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(faulty_->calls(Op::kGet), 1);
}

TEST_F(RetryingObjectStoreTest, WaitsOnTheClockAndStopsWhenCancelled) {
  CancellationSource cancel;
  auto faulty = std::make_unique<FaultyObjectStore>(&memory_);
  FaultyObjectStore* f = faulty.get();
  RetryingObjectStore store(std::move(faulty), {.clock = &clock_, .cancel = cancel.token()});
  f->FailNext(Op::kExists, absl::UnavailableError("503"), 3);
  auto result = std::async(std::launch::async, [&] { return store.Exists("b", "k"); });
  clock_.WaitForSleepers(1);  // the retry is waiting on the fake clock, not sleeping for real
  cancel.Cancel("shutting down");
  auto r = result.get();
  EXPECT_EQ(r.status().code(), absl::StatusCode::kCancelled);
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("503"));
  EXPECT_EQ(f->calls(Op::kExists), 1);
}

TEST(RetryBackoffTest, FullJitterWithinTheExponentialCap) {
  RetryOptions o{.initial_backoff = std::chrono::milliseconds(100),
                 .max_backoff = std::chrono::milliseconds(1'000)};
  using std::chrono::milliseconds;
  EXPECT_EQ(RetryingObjectStore::Backoff(o, 0, 0.0), Clock::Duration(0));
  EXPECT_EQ(RetryingObjectStore::Backoff(o, 0, 1.0), milliseconds(100));
  EXPECT_EQ(RetryingObjectStore::Backoff(o, 2, 1.0), milliseconds(400));
  EXPECT_EQ(RetryingObjectStore::Backoff(o, 2, 0.5), milliseconds(200));
  EXPECT_EQ(RetryingObjectStore::Backoff(o, 10, 1.0), milliseconds(1'000));
  EXPECT_EQ(RetryingObjectStore::Backoff(o, 1000, 1.0), milliseconds(1'000));
}

// A body that moves the fake clock while it is read, to give the upload a known duration.
class SlowSource : public ByteSource {
 public:
  SlowSource(FakeClock& clock, std::string data) : clock_(clock), data_(std::move(data)) {}
  StatusOr<size_t> Read(std::span<char> buffer) override {
    if (done_) return 0;
    clock_.Advance(std::chrono::seconds(3));
    done_ = true;
    size_t n = std::min(buffer.size(), data_.size());
    std::copy_n(data_.data(), n, buffer.data());
    return n;
  }
  int64_t Size() const override { return static_cast<int64_t>(data_.size()); }

 private:
  FakeClock& clock_;
  std::string data_;
  bool done_ = false;
};

TEST(MetricsObjectStoreTest, CountsCallsErrorsBytesAndLatency) {
  InMemoryObjectStore memory{"b"};
  FakeClock clock;
  auto metrics = std::make_shared<ObjectStoreMetrics>();
  MetricsObjectStore store(std::make_unique<FaultyObjectStore>(&memory), metrics, &clock);
  SlowSource body(clock, "hello world");
  ASSERT_TRUE(store.Put("b", "k", body).ok());
  EXPECT_EQ(*GetString(store, "b", "k"), "hello world");
  std::string out;
  auto sink = StringSink(&out);
  EXPECT_EQ(store.Get("b", "missing", *sink).code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(*store.Exists("b", "k"));
  EXPECT_TRUE(store.ListObjects("b", "").ok());
  EXPECT_TRUE(store.ListCommonPrefixes("b", "", "/").ok());
  EXPECT_TRUE(store.CreateSignedUrl("b", "k", std::chrono::seconds(1)).ok());
  EXPECT_TRUE(store.Delete("b", "k").ok());
  EXPECT_FALSE(store.ListObjects("nobucket", "").ok());

  ObjectStoreMetricsSnapshot snap = metrics->Snapshot();
  EXPECT_EQ(snap.op(StoreOp::kPut).calls, 1u);
  EXPECT_EQ(snap.op(StoreOp::kPut).errors, 0u);
  EXPECT_DOUBLE_EQ(snap.op(StoreOp::kPut).latency_seconds_sum, 3.0);
  EXPECT_EQ(snap.op(StoreOp::kGet).calls, 2u);
  EXPECT_EQ(snap.op(StoreOp::kGet).errors, 1u);
  EXPECT_DOUBLE_EQ(snap.op(StoreOp::kGet).latency_seconds_sum, 0.0);
  EXPECT_EQ(snap.op(StoreOp::kListObjects).calls, 2u);
  EXPECT_EQ(snap.op(StoreOp::kListObjects).errors, 1u);
  for (StoreOp op : {StoreOp::kExists, StoreOp::kListCommonPrefixes, StoreOp::kSignedUrl,
                     StoreOp::kDelete}) {
    EXPECT_EQ(snap.op(op).calls, 1u) << StoreOpName(op);
  }
  EXPECT_EQ(snap.bytes_uploaded, 11u);
  EXPECT_EQ(snap.bytes_downloaded, 11u);
  EXPECT_EQ(StoreOpName(StoreOp::kListCommonPrefixes), "list_common_prefixes");
}

TEST(ReadOnlyObjectStoreTest, WritesFailReadsPassThrough) {
  InMemoryObjectStore memory{"b"};
  ASSERT_TRUE(PutString(memory, "b", "backups/b1/velero-backup.json", "{}").ok());
  auto faulty = std::make_unique<FaultyObjectStore>(&memory);
  FaultyObjectStore* f = faulty.get();
  ReadOnlyObjectStore store(std::move(faulty), "default");
  Status put = PutString(store, "b", "x", "y");
  EXPECT_EQ(put.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(put.message(), "backup storage location default is read-only (accessMode: ReadOnly)");
  Status del = store.Delete("b", "backups/b1/velero-backup.json");
  EXPECT_EQ(del.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(f->calls(Op::kPut), 0);
  EXPECT_EQ(f->calls(Op::kDelete), 0);
  EXPECT_EQ(*GetString(store, "b", "backups/b1/velero-backup.json"), "{}");
  EXPECT_TRUE(*store.Exists("b", "backups/b1/velero-backup.json"));
  EXPECT_THAT(*store.ListCommonPrefixes("b", "backups/", "/"), ElementsAre("backups/b1/"));
  EXPECT_THAT(*store.ListObjects("b", ""), ElementsAre("backups/b1/velero-backup.json"));
  EXPECT_TRUE(store.CreateSignedUrl("b", "backups/b1/velero-backup.json",
                                    std::chrono::seconds(600))
                  .ok());
  EXPECT_EQ(memory.Contents("b").size(), 1u);
}

}  // namespace
}  // namespace lifeboat::storage
