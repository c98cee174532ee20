#include "src/storage/testing/object_store_conformance.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <boost/url.hpp>

#include "gmock/gmock.h"
#include "lifeboat/http/client.h"
#include "src/storage/testing/test_streams.h"

namespace lifeboat::storage::testing {

using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(ObjectStoreConformanceTest);

void ObjectStoreConformanceTest::SetUp() {
  ASSERT_TRUE(GetParam().setup) << "ConformanceParam " << GetParam().name << " has no setup";
  StatusOr<ConformanceTarget> target = GetParam().setup();
  if (!target.ok() && target.status().code() == absl::StatusCode::kUnimplemented) {
    GTEST_SKIP() << target.status().message();
  }
  ASSERT_TRUE(target.ok()) << "setup: " << target.status();
  target_ = std::move(*target);
  ASSERT_NE(target_.store, nullptr);
}

void ObjectStoreConformanceTest::TearDown() {
  target_.store.reset();
  if (target_.cleanup) target_.cleanup();
}

void ObjectStoreConformanceTest::Put(const std::string& key, const std::string& data) {
  Status s = PutString(store(), bucket(), key, data);
  EXPECT_TRUE(s.ok()) << "Put " << key << ": " << s;
}

std::string ObjectStoreConformanceTest::Get(const std::string& key, const GetOptions& options) {
  std::string out;
  auto sink = StringSink(&out);
  Status s = store().Get(bucket(), key, *sink, options);
  EXPECT_TRUE(s.ok()) << "Get " << key << ": " << s;
  return out;
}

StatusOr<std::string> ObjectStoreConformanceTest::FetchSignedUrl(const std::string& key) {
  LIFEBOAT_ASSIGN_OR_RETURN(std::string url,
                            store().CreateSignedUrl(bucket(), key, std::chrono::minutes(10)));
  if (url.starts_with("file://")) {
    auto parsed = boost::urls::parse_uri(url);
    if (!parsed) return absl::InvalidArgumentError("unparsable file URL");
    return ReadFile(std::string(parsed->path()));
  }
  LIFEBOAT_ASSIGN_OR_RETURN(auto client, http::Client::Create({}));
  http::ClientRequest request;
  request.url = url;
  LIFEBOAT_ASSIGN_OR_RETURN(http::ClientResponse response, client->Send(request));
  if (response.status != 200) {
    return absl::UnknownError("signed URL GET returned HTTP " + std::to_string(response.status) +
                              ": " + response.body.substr(0, 500));
  }
  return response.body;
}

std::string ConformanceParamName(const ::testing::TestParamInfo<ConformanceParam>& info) {
  return info.param.name;
}

namespace {

// Runs fn(0..n-1) on `threads` threads.
void ParallelFor(int n, int threads, const std::function<void(int)>& fn) {
  std::atomic<int> next{0};
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&] {
      for (int i = next++; i < n; i = next++) fn(i);
    });
  }
  for (auto& w : workers) w.join();
}

}  // namespace

TEST_P(ObjectStoreConformanceTest, PutGetRoundTrip) {
  std::string data = PseudoRandomString(7, 100'000);
  Put("round/trip.bin", data);
  int64_t written = -1;
  std::string out;
  auto sink = StringSink(&out);
  ASSERT_TRUE(store().Get(bucket(), "round/trip.bin", *sink, {}, &written).ok());
  EXPECT_EQ(out, data);
  EXPECT_EQ(written, static_cast<int64_t>(data.size()));
  EXPECT_EQ(*GetString(store(), bucket(), "round/trip.bin"), data);
}

TEST_P(ObjectStoreConformanceTest, OverwriteReplacesObject) {
  Put("over/write", "first version, longer than the second");
  Put("over/write", "second");
  EXPECT_EQ(Get("over/write"), "second");
  EXPECT_THAT(*store().ListObjects(bucket(), "over/"), ElementsAre("over/write"));
}

TEST_P(ObjectStoreConformanceTest, GetMissingKeyIsNotFound) {
  std::string out;
  auto sink = StringSink(&out);
  Status s = store().Get(bucket(), "no/such/key", *sink);
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound) << s;
  EXPECT_TRUE(out.empty());
  Put("no/such/key.other", "x");
  s = store().Get(bucket(), "no/such/key", *sink);
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound) << s;
}

TEST_P(ObjectStoreConformanceTest, EmptyKeyIsInvalidArgument) {
  auto source = StringSource("x");
  EXPECT_EQ(store().Put(bucket(), "", *source).code(), absl::StatusCode::kInvalidArgument);
  std::string out;
  auto sink = StringSink(&out);
  EXPECT_EQ(store().Get(bucket(), "", *sink).code(), absl::StatusCode::kInvalidArgument);
}

TEST_P(ObjectStoreConformanceTest, ExistsTrueAndFalse) {
  EXPECT_FALSE(*store().Exists(bucket(), "exists/a"));
  Put("exists/a", "a");
  EXPECT_TRUE(*store().Exists(bucket(), "exists/a"));
  // A prefix of an existing key, or a "directory", is not an object.
  EXPECT_FALSE(*store().Exists(bucket(), "exists/"));
  EXPECT_FALSE(*store().Exists(bucket(), "exists"));
  EXPECT_FALSE(*store().Exists(bucket(), "exists/a/b"));
}

TEST_P(ObjectStoreConformanceTest, RangedGet) {
  Put("range/obj", "0123456789");
  EXPECT_EQ(Get("range/obj", {.offset = 0, .length = 5}), "01234");
  EXPECT_EQ(Get("range/obj", {.offset = 7}), "789");
  EXPECT_EQ(Get("range/obj", {.offset = 3, .length = 4}), "3456");
  EXPECT_EQ(Get("range/obj", {.offset = 9, .length = 1}), "9");
  // A length past the end is cut at the end.
  EXPECT_EQ(Get("range/obj", {.offset = 6, .length = 100}), "6789");
  int64_t written = -1;
  std::string out;
  auto sink = StringSink(&out);
  ASSERT_TRUE(store().Get(bucket(), "range/obj", *sink, {.offset = 2, .length = 3}, &written).ok());
  EXPECT_EQ(written, 3);
}

TEST_P(ObjectStoreConformanceTest, ListObjectsWithPrefixFollowsEveryPage) {
  const int n = GetParam().many_keys;
  std::vector<std::string> want;
  for (int i = 0; i < n; ++i) {
    char key[32];
    std::snprintf(key, sizeof key, "many/k%05d", i);
    want.push_back(key);
  }
  std::atomic<int> failures{0};
  ParallelFor(n, 8, [&](int i) {
    if (!PutString(store(), bucket(), want[static_cast<size_t>(i)], "v").ok()) ++failures;
  });
  ASSERT_EQ(failures.load(), 0);
  Put("many-sibling", "outside the prefix");
  Put("manyz/k", "outside the prefix");

  auto listed = store().ListObjects(bucket(), "many/");
  ASSERT_TRUE(listed.ok()) << listed.status();
  EXPECT_EQ(listed->size(), want.size());
  EXPECT_EQ(*listed, want);
  auto narrower = store().ListObjects(bucket(), "many/k0000");
  ASSERT_TRUE(narrower.ok());
  EXPECT_THAT(*narrower, ElementsAreArray(std::vector<std::string>(
                             want.begin(), want.begin() + std::min(n, 10))));
  EXPECT_THAT(*store().ListObjects(bucket(), "nothing/"), IsEmpty());
}

TEST_P(ObjectStoreConformanceTest, ListObjectsIsSortedAndWhole) {
  for (const char* key : {"b/2", "a/1", "b/1/x", "c", "a/0/deep/er", "b/10"}) Put(key, key);
  EXPECT_THAT(*store().ListObjects(bucket(), ""),
              ElementsAre("a/0/deep/er", "a/1", "b/1/x", "b/10", "b/2", "c"));
  EXPECT_THAT(*store().ListObjects(bucket(), "b/1"), ElementsAre("b/1/x", "b/10"));
  EXPECT_THAT(*store().ListObjects(bucket(), "b/1/"), ElementsAre("b/1/x"));
  EXPECT_THAT(*store().ListObjects(bucket(), "a"), ElementsAre("a/0/deep/er", "a/1"));
}

TEST_P(ObjectStoreConformanceTest, ListCommonPrefixes) {
  for (const char* key : {"backups/b1/velero-backup.json", "backups/b1/b1.tar.gz",
                          "backups/b2/x/y", "backups/top.json", "backupsX/q", "restores/r1/z",
                          "top-level-file"}) {
    Put(key, key);
  }
  EXPECT_THAT(*store().ListCommonPrefixes(bucket(), "backups/", "/"),
              ElementsAre("backups/b1/", "backups/b2/"));
  EXPECT_THAT(*store().ListCommonPrefixes(bucket(), "backups", "/"),
              ElementsAre("backups/", "backupsX/"));
  EXPECT_THAT(*store().ListCommonPrefixes(bucket(), "", "/"),
              ElementsAre("backups/", "backupsX/", "restores/"));
  EXPECT_THAT(*store().ListCommonPrefixes(bucket(), "backups/b2/", "/"),
              ElementsAre("backups/b2/x/"));
  EXPECT_THAT(*store().ListCommonPrefixes(bucket(), "backups/b1/", "/"), IsEmpty());
  EXPECT_THAT(*store().ListCommonPrefixes(bucket(), "nothing/", "/"), IsEmpty());
}

TEST_P(ObjectStoreConformanceTest, DeleteRemovesObjectAndMissingIsOk) {
  Put("del/a", "a");
  Put("del/b", "b");
  ASSERT_TRUE(store().Delete(bucket(), "del/a").ok());
  EXPECT_FALSE(*store().Exists(bucket(), "del/a"));
  EXPECT_THAT(*store().ListObjects(bucket(), "del/"), ElementsAre("del/b"));
  Status again = store().Delete(bucket(), "del/a");
  EXPECT_TRUE(again.ok()) << again;
  Status never = store().Delete(bucket(), "del/never/existed");
  EXPECT_TRUE(never.ok()) << never;
  std::string out;
  auto sink = StringSink(&out);
  EXPECT_EQ(store().Get(bucket(), "del/a", *sink).code(), absl::StatusCode::kNotFound);
}

TEST_P(ObjectStoreConformanceTest, SignedUrlServesTheObject) {
  std::string data = PseudoRandomString(11, 70'000);
  Put("signed/backups/b1/b1-logs.gz", data);
  auto url = store().CreateSignedUrl(bucket(), "signed/backups/b1/b1-logs.gz",
                                     std::chrono::minutes(10));
  ASSERT_TRUE(url.ok()) << url.status();
  EXPECT_FALSE(url->empty());
  if (!GetParam().signed_url_fetchable) return;
  auto fetched = FetchSignedUrl("signed/backups/b1/b1-logs.gz");
  ASSERT_TRUE(fetched.ok()) << fetched.status();
  EXPECT_EQ(*fetched, data);
}

static void ExpectLargeRoundTrip(ObjectStore& store, const std::string& bucket, bool report_size,
                          int64_t length) {
  const uint64_t seed = report_size ? 21 : 22;
  PseudoRandomSource source({.seed = seed, .length = length, .report_size = report_size});
  Status put = store.Put(bucket, "large/object.bin", source);
  ASSERT_TRUE(put.ok()) << put;
  HashingSink sink;
  int64_t written = -1;
  Status get = store.Get(bucket, "large/object.bin", sink, {}, &written);
  ASSERT_TRUE(get.ok()) << get;
  EXPECT_EQ(sink.bytes(), length);
  EXPECT_EQ(written, length);
  EXPECT_EQ(sink.HexDigest(), PseudoRandomSha256Hex(seed, length));
}

TEST_P(ObjectStoreConformanceTest, LargeStreamingPutOfUnknownLength) {
  ExpectLargeRoundTrip(store(), bucket(), /*report_size=*/false, GetParam().large_object_bytes);
}

TEST_P(ObjectStoreConformanceTest, LargeStreamingPutOfKnownLength) {
  ExpectLargeRoundTrip(store(), bucket(), /*report_size=*/true, GetParam().large_object_bytes);
}

TEST_P(ObjectStoreConformanceTest, BodyShorterThanItsSizeStoresNothing) {
  PseudoRandomSource liar({.seed = 3, .length = 1000, .reported_size = 5000});
  Status s = store().Put(bucket(), "short/new", liar);
  EXPECT_FALSE(s.ok());
  EXPECT_FALSE(*store().Exists(bucket(), "short/new"));
  EXPECT_THAT(*store().ListObjects(bucket(), "short/"), IsEmpty());

  // An existing object is left as it was.
  Put("short/existing", "old contents");
  PseudoRandomSource liar2({.seed = 4, .length = 10, .reported_size = 100});
  EXPECT_FALSE(store().Put(bucket(), "short/existing", liar2).ok());
  EXPECT_EQ(Get("short/existing"), "old contents");
}

TEST_P(ObjectStoreConformanceTest, SourceErrorAbortsPutAndStoresNothing) {
  for (bool report_size : {true, false}) {
    SCOPED_TRACE(report_size ? "known size" : "unknown size");
    PseudoRandomSource failing({.seed = 5,
                                .length = 300'000,
                                .report_size = report_size,
                                .fail_with = absl::CancelledError("job cancelled"),
                                .fail_after = 100'000});
    Status s = store().Put(bucket(), "aborted/put", failing);
    EXPECT_EQ(s.code(), absl::StatusCode::kCancelled) << s;
    EXPECT_FALSE(*store().Exists(bucket(), "aborted/put"));
  }
}

TEST_P(ObjectStoreConformanceTest, ConcurrentWritersOfDifferentKeys) {
  constexpr int kThreads = 8;
  std::vector<std::string> bodies;
  for (int i = 0; i < kThreads; ++i) bodies.push_back(PseudoRandomString(100 + i, 200'000 + i));
  std::atomic<int> failures{0};
  ParallelFor(kThreads, kThreads, [&](int i) {
    std::string key = "conc/key-" + std::to_string(i);
    if (!PutString(store(), bucket(), key, bodies[static_cast<size_t>(i)]).ok()) ++failures;
  });
  ASSERT_EQ(failures.load(), 0);
  for (int i = 0; i < kThreads; ++i) {
    EXPECT_EQ(Get("conc/key-" + std::to_string(i)), bodies[static_cast<size_t>(i)]) << i;
  }
  EXPECT_EQ(store().ListObjects(bucket(), "conc/")->size(), static_cast<size_t>(kThreads));
}

TEST_P(ObjectStoreConformanceTest, ConcurrentWritersOfOneKeyLeaveOneWholeBody) {
  constexpr int kThreads = 8;
  std::set<std::string> bodies;
  std::vector<std::string> by_thread;
  for (int i = 0; i < kThreads; ++i) {
    by_thread.push_back(std::string(300'000 + i * 1000, static_cast<char>('a' + i)));
    bodies.insert(by_thread.back());
  }
  std::atomic<int> failures{0};
  ParallelFor(kThreads, kThreads, [&](int i) {
    if (!PutString(store(), bucket(), "conc/same", by_thread[static_cast<size_t>(i)]).ok()) {
      ++failures;
    }
  });
  ASSERT_EQ(failures.load(), 0);
  std::string final_body = Get("conc/same");
  EXPECT_TRUE(bodies.count(final_body) == 1)
      << "final object (" << final_body.size() << " bytes) is not one of the written bodies";
  EXPECT_THAT(*store().ListObjects(bucket(), "conc/"), ElementsAre("conc/same"));
}

TEST_P(ObjectStoreConformanceTest, KeysWithSpecialCharacters) {
  const std::vector<std::string> keys = {
      "special/with space/and  two",  "special/unicode-\xc3\xa9\xe2\x9c\x93\xe6\x97\xa5",
      "special/plus+sign",            "special/percent%20not-a-space%",
      "special/eq=amp&q?x=1",         "special/hash#frag",
      "special/mixed ~!$'()*,;@[]",
  };
  for (size_t i = 0; i < keys.size(); ++i) Put(keys[i], "body " + std::to_string(i));
  for (size_t i = 0; i < keys.size(); ++i) {
    SCOPED_TRACE(keys[i]);
    EXPECT_EQ(Get(keys[i]), "body " + std::to_string(i));
    EXPECT_TRUE(*store().Exists(bucket(), keys[i]));
  }
  std::vector<std::string> sorted = keys;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(*store().ListObjects(bucket(), "special/"), sorted);
  EXPECT_THAT(*store().ListCommonPrefixes(bucket(), "special/", "/"),
              ElementsAre("special/with space/"));
  if (GetParam().signed_url_fetchable) {
    for (const std::string& key : {keys[1], keys[2], keys[3], keys[4], keys[5]}) {
      auto fetched = FetchSignedUrl(key);
      ASSERT_TRUE(fetched.ok()) << key << ": " << fetched.status();
      EXPECT_EQ(*fetched, Get(key)) << key;
    }
  }
  for (const std::string& key : keys) ASSERT_TRUE(store().Delete(bucket(), key).ok()) << key;
  EXPECT_THAT(*store().ListObjects(bucket(), "special/"), IsEmpty());
}

TEST_P(ObjectStoreConformanceTest, EmptyObject) {
  Put("empty/object", "");
  EXPECT_TRUE(*store().Exists(bucket(), "empty/object"));
  int64_t written = -1;
  std::string out = "untouched";
  out.clear();
  auto sink = StringSink(&out);
  ASSERT_TRUE(store().Get(bucket(), "empty/object", *sink, {}, &written).ok());
  EXPECT_EQ(out, "");
  EXPECT_EQ(written, 0);
  EXPECT_THAT(*store().ListObjects(bucket(), "empty/"), ElementsAre("empty/object"));
  PseudoRandomSource unknown({.seed = 1, .length = 0, .report_size = false});
  ASSERT_TRUE(store().Put(bucket(), "empty/unknown-size", unknown).ok());
  EXPECT_EQ(Get("empty/unknown-size"), "");
}

TEST_P(ObjectStoreConformanceTest, FailingSinkStopsGetWithItsError) {
  const int64_t size = 1 << 20;
  PseudoRandomSource source({.seed = 9, .length = size});
  ASSERT_TRUE(store().Put(bucket(), "sink/fails", source).ok());
  std::string received;
  FailingSink sink(200'000, absl::CancelledError("sink gave up"), &received);
  int64_t written = -1;
  Status s = store().Get(bucket(), "sink/fails", sink, {}, &written);
  EXPECT_EQ(s.code(), absl::StatusCode::kCancelled) << s;
  EXPECT_THAT(std::string(s.message()), HasSubstr("sink gave up"));
  EXPECT_EQ(written, sink.accepted());
  EXPECT_EQ(received, PseudoRandomString(9, static_cast<int64_t>(received.size())));
}

}  // namespace lifeboat::storage::testing
