#include "kubesim/src/store/store.h"

#include <algorithm>
#include <fstream>
#include <iterator>
#include <map>
#include <random>
#include <vector>

#include "gtest/gtest.h"

namespace kubesim {
namespace {

namespace json = boost::json;
namespace fs = std::filesystem;

fs::path TempDir() {
  fs::path p = fs::temp_directory_path() / ("kubesim-store-" + std::to_string(::getpid()) + "-" +
                                            ::testing::UnitTest::GetInstance()->current_test_info()->name());
  fs::remove_all(p);
  return p;
}

json::value ConfigMap(const std::string& ns, const std::string& name) {
  return json::parse(R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":")" + name +
                     R"(","namespace":")" + ns + R"("},"data":{"k":"v"}})");
}

Status Put(Store& s, const std::string& ns, const std::string& name) {
  return s.Mutate("configmaps", ns, name, [&](const StoredObject*, int64_t) -> StatusOr<Mutation> {
    return Mutation{Mutation::Op::kPut, ConfigMap(ns, name)};
  }).status();
}

Status Delete(Store& s, const std::string& ns, const std::string& name) {
  return s.Mutate("configmaps", ns, name, [&](const StoredObject*, int64_t) -> StatusOr<Mutation> {
    return Mutation{Mutation::Op::kDelete, {}};
  }).status();
}

TEST(StoreTest, AssignsIncreasingResourceVersions) {
  auto s = *Store::Open({});
  ASSERT_TRUE(Put(*s, "a", "x").ok());
  ASSERT_TRUE(Put(*s, "a", "y").ok());
  EXPECT_EQ(s->revision(), 2);
  auto x = s->Get("configmaps", "a", "x");
  ASSERT_NE(x, nullptr);
  EXPECT_EQ(x->rv, 1);
  EXPECT_EQ(x->object.at("metadata").at("resourceVersion"), "1");
  EXPECT_NE(x->json.find("\"resourceVersion\":\"1\""), std::string::npos);
  EXPECT_EQ(s->Get("configmaps", "b", "x"), nullptr);
}

TEST(StoreTest, MutationErrorsAndDryRunChangeNothing) {
  auto s = *Store::Open({});
  auto r = s->Mutate("configmaps", "a", "x", [](const StoredObject*, int64_t) -> StatusOr<Mutation> {
    return absl::AlreadyExistsError("nope");
  });
  EXPECT_EQ(r.status().code(), absl::StatusCode::kAlreadyExists);
  auto d = s->Mutate(
      "configmaps", "a", "x",
      [](const StoredObject*, int64_t) -> StatusOr<Mutation> {
        return Mutation{Mutation::Op::kPut, ConfigMap("a", "x")};
      },
      /*dry_run=*/true);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(s->revision(), 0);
  EXPECT_EQ(s->Get("configmaps", "a", "x"), nullptr);
}

TEST(StoreTest, ListsInKeyOrderWithPagesAndNamespaces) {
  auto s = *Store::Open({});
  for (const char* ns : {"b", "a"}) {
    for (int i = 0; i < 5; ++i) ASSERT_TRUE(Put(*s, ns, "cm" + std::to_string(i)).ok());
  }
  ListPage p1 = s->List("configmaps", "", true, "", 4, nullptr);
  ASSERT_EQ(p1.items.size(), 4u);
  EXPECT_EQ(p1.items[0]->ns, "a");
  EXPECT_EQ(p1.continue_key, "a/cm3");
  EXPECT_EQ(p1.remaining, 6);
  ListPage p2 = s->List("configmaps", "", true, p1.continue_key, 4, nullptr);
  EXPECT_EQ(p2.items[0]->name, "cm4");
  EXPECT_EQ(p2.items[1]->ns, "b");
  ListPage p3 = s->List("configmaps", "", true, p2.continue_key, 4, nullptr);
  EXPECT_EQ(p3.items.size(), 2u);
  EXPECT_EQ(p3.continue_key, "");
  ListPage only_b = s->List("configmaps", "b", false, "", 0, nullptr);
  EXPECT_EQ(only_b.items.size(), 5u);
  ListPage filtered = s->List("configmaps", "", true, "", 0,
                              [](const StoredObject& o) { return o.name == "cm2"; });
  EXPECT_EQ(filtered.items.size(), 2u);
}

// ListAt against a reference: random creates, updates and deletes in three namespaces, the
// state remembered at one revision, more random changes, then every page of every list at that
// revision (all namespaces and one, several page sizes, with and without a filter) must be
// exactly the remembered state, with remainingItemCount counted before filtering.
TEST(StoreTest, ListAtServesEveryPageAsTheStoreWasAtThatRevision) {
  auto s = *Store::Open({});
  std::mt19937 rng(7);
  const std::vector<std::string> nss = {"a", "b", "c"};
  auto random_change = [&] {
    const std::string& ns = nss[rng() % nss.size()];
    const std::string name = "cm" + std::to_string(rng() % 40);
    return rng() % 4 == 0 ? Delete(*s, ns, name) : Put(*s, ns, name);
  };
  for (int i = 0; i < 150; ++i) ASSERT_TRUE(random_change().ok());
  const int64_t at = s->revision();
  // key -> rv at `at`
  std::map<std::string, int64_t> then;
  for (const ObjectPtr& o : s->List("configmaps", "", true, "", 0, nullptr).items) {
    then[ObjectKey(o->ns, o->name)] = o->rv;
  }
  for (int i = 0; i < 120; ++i) ASSERT_TRUE(random_change().ok());
  ASSERT_GT(s->revision(), at);
  auto even = [](const StoredObject& o) { return (o.name.back() - '0') % 2 == 0; };
  for (const std::string ns : {"", "b"}) {
    for (size_t limit : {1u, 3u, 7u, 0u}) {
      for (bool filtered : {false, true}) {
        SCOPED_TRACE("ns=" + ns + " limit=" + std::to_string(limit) + " filtered=" + std::to_string(filtered));
        std::vector<std::string> want, got;
        for (const auto& [key, rv] : then) {
          if (!ns.empty() && key.rfind(ns + "/", 0) != 0) continue;
          if (filtered && (key.back() - '0') % 2 != 0) continue;
          want.push_back(key + "@" + std::to_string(rv));
        }
        std::string after;
        for (int pages = 0; pages < 1000; ++pages) {
          auto page = s->ListAt("configmaps", ns, ns.empty(), after, limit,
                                filtered ? std::function<bool(const StoredObject&)>(even) : nullptr, at);
          ASSERT_TRUE(page.ok()) << page.status();
          EXPECT_EQ(page->rv, at);
          for (const ObjectPtr& o : page->items) got.push_back(ObjectKey(o->ns, o->name) + "@" + std::to_string(o->rv));
          if (page->continue_key.empty()) break;
          int64_t remaining = 0;
          for (const auto& entry : then) {
            if ((ns.empty() || entry.first.rfind(ns + "/", 0) == 0) && entry.first > page->continue_key) ++remaining;
          }
          EXPECT_EQ(page->remaining, remaining) << "after " << page->continue_key;
          after = page->continue_key;
        }
        EXPECT_EQ(got, want);
      }
    }
  }
  // The current revision through ListAt is the plain list.
  auto now = s->ListAt("configmaps", "", true, "", 0, nullptr, s->revision());
  ASSERT_TRUE(now.ok());
  EXPECT_EQ(now->items.size(), s->List("configmaps", "", true, "", 0, nullptr).items.size());
  // Once the history is gone the revision cannot be served.
  s->Compact();
  EXPECT_EQ(s->ListAt("configmaps", "", true, "", 3, nullptr, at).status().code(),
            absl::StatusCode::kOutOfRange);
}

TEST(StoreTest, EventsWindowAndCompaction) {
  auto s = *Store::Open({.event_window = 3});
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(Put(*s, "a", "cm" + std::to_string(i)).ok());
  ASSERT_TRUE(Delete(*s, "a", "cm0").ok());
  auto ev = s->EventsSince(4, 10);
  ASSERT_TRUE(ev.ok()) << ev.status();
  ASSERT_EQ(ev->size(), 2u);
  EXPECT_EQ((*ev)[0].type, EventType::kAdded);
  EXPECT_EQ((*ev)[1].type, EventType::kDeleted);
  EXPECT_EQ((*ev)[1].object->rv, 6);
  EXPECT_EQ(s->EventsSince(1, 10).status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_TRUE(s->EventsSince(6, 10)->empty());
  s->Compact();
  EXPECT_EQ(s->EventsSince(5, 10).status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_TRUE(s->EventsSince(6, 10).ok());
}

TEST(StoreTest, RecoversStateAfterRestartAndDropsTornTail) {
  fs::path dir = TempDir();
  {
    auto s = *Store::Open({.dir = dir});
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(Put(*s, "a", "cm" + std::to_string(i)).ok());
    ASSERT_TRUE(Delete(*s, "a", "cm1").ok());
  }
  // A crash mid-append leaves a partial record at the end of the log.
  {
    std::ofstream wal(dir / "wal.log", std::ios::app | std::ios::binary);
    wal.write("\x40\x00\x00\x00garbage", 11);
  }
  {
    auto s = Store::Open({.dir = dir});
    ASSERT_TRUE(s.ok()) << s.status();
    EXPECT_EQ((*s)->revision(), 4);
    EXPECT_NE((*s)->Get("configmaps", "a", "cm0"), nullptr);
    EXPECT_EQ((*s)->Get("configmaps", "a", "cm1"), nullptr);
    ASSERT_TRUE(Put(**s, "a", "cm9").ok());
    EXPECT_EQ((*s)->Get("configmaps", "a", "cm9")->rv, 5);
  }
  {
    auto s = *Store::Open({.dir = dir});
    EXPECT_NE(s->Get("configmaps", "a", "cm9"), nullptr);
    EXPECT_EQ(s->revision(), 5);
  }
  auto fresh = *Store::Open({.dir = dir, .fresh = true});
  EXPECT_EQ(fresh->revision(), 0);
  fs::remove_all(dir);
}

TEST(StoreTest, CorruptSnapshotIsDataLoss) {
  fs::path dir = TempDir();
  fs::create_directories(dir);
  std::ofstream(dir / "snapshot.jsonl") << "{\"format\":\"kubesim-state/v1\",\"rv\":3}\nnot json\n";
  auto s = Store::Open({.dir = dir});
  EXPECT_EQ(s.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(std::string(s.status().message()).find("snapshot.jsonl:2"), std::string::npos);
  fs::remove_all(dir);
}

// Golden files of docs/formats/kubesim-state.md (test/testdata/kubesim-state/v1): the store
// reads what the spec describes, and writes exactly those bytes for the same mutations.
fs::path GoldenDir() { return fs::path(LIFEBOAT_TESTDATA_DIR) / "kubesim-state" / "v1"; }

std::string ReadBytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < text.size()) {
    size_t nl = text.find('\n', start);
    out.push_back(text.substr(start, nl - start));
    if (nl == std::string::npos) break;
    start = nl + 1;
  }
  return out;
}

TEST(StoreGoldenTest, ReadsTheSpecifiedSnapshotAndLog) {
  fs::path dir = TempDir();
  fs::create_directories(dir);
  fs::copy_file(GoldenDir() / "snapshot.jsonl", dir / "snapshot.jsonl");
  fs::copy_file(GoldenDir() / "wal.log", dir / "wal.log");
  auto s = Store::Open({.dir = dir});
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ((*s)->revision(), 4);
  EXPECT_EQ((*s)->Get("configmaps", "a", "cm0"), nullptr);
  ObjectPtr cm1 = (*s)->Get("configmaps", "a", "cm1");
  ASSERT_NE(cm1, nullptr);
  EXPECT_EQ(cm1->rv, 3);
  EXPECT_EQ(cm1->object.at("data").at("k"), "v");
  ObjectPtr ns = (*s)->Get("namespaces", "", "a");
  ASSERT_NE(ns, nullptr);
  EXPECT_EQ(ns->rv, 2);
  fs::remove_all(dir);
}

TEST(StoreGoldenTest, WritesTheSpecifiedBytes) {
  fs::path dir = TempDir();
  auto s = *Store::Open({.dir = dir});
  ASSERT_TRUE(Put(*s, "a", "cm0").ok());
  ASSERT_TRUE(s->Mutate("namespaces", "", "a", [](const StoredObject*, int64_t) -> StatusOr<Mutation> {
                 return Mutation{Mutation::Op::kPut,
                                 json::parse(R"({"apiVersion":"v1","kind":"Namespace","metadata":{"name":"a"}})")};
               }).ok());
  ASSERT_TRUE(s->Checkpoint().ok());
  ASSERT_TRUE(Put(*s, "a", "cm1").ok());
  ASSERT_TRUE(Delete(*s, "a", "cm0").ok());
  // The log is byte for byte the golden one; snapshot lines are the golden ones (the header
  // first; objects in any order).
  EXPECT_EQ(ReadBytes(dir / "wal.log"), ReadBytes(GoldenDir() / "wal.log"));
  std::vector<std::string> got = Lines(ReadBytes(dir / "snapshot.jsonl"));
  std::vector<std::string> want = Lines(ReadBytes(GoldenDir() / "snapshot.jsonl"));
  ASSERT_FALSE(got.empty());
  EXPECT_EQ(got.front(), want.front());
  std::sort(got.begin() + 1, got.end());
  std::sort(want.begin() + 1, want.end());
  EXPECT_EQ(got, want);
  s.reset();
  fs::remove_all(dir);
}

}  // namespace
}  // namespace kubesim
