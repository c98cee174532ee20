// Crash safety of the backup engine against kubesim and a local bucket: a run stopped after a
// few checkpoints (as a server shutdown or a kill would stop it) and then resumed makes the
// same archive as an uninterrupted run, and a journal that does not fit (another uid, a
// changed spec, a damaged checkpoint or archive) is discarded and the backup starts over.

#include <map>
#include <set>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lifeboat/archive/reader.h"
#include "lifeboat/backup/backupper.h"
#include "lifeboat/common/gzip.h"
#include "lifeboat/common/json.h"
#include "lifeboat/kube/config.h"
#include "lifeboat/storage/registry.h"
#include "src/backup/actions/builtin_actions.h"
#include "src/backup/journal.h"
#include "src/kube/testing/kubesim_process.h"

namespace lifeboat::backup {
namespace {

using kube::testing::KubesimProcess;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr int kNamespaces = 5;
constexpr int kConfigMaps = 6;

class BackupResumeTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto k = KubesimProcess::Start();
    ASSERT_TRUE(k.ok()) << k.status();
    kubesim_ = k->release();
    auto config = kube::LoadKubeconfig({.explicit_path = kubesim_->kubeconfig()});
    ASSERT_TRUE(config.ok()) << config.status();
    kube::RestClientOptions o;
    o.qps = 0;
    rest_ = kube::RestClient::Create(*config, o)->release();
    discovery_ = new kube::Discovery(rest_);
    client_ = new kube::DynamicClient(rest_, discovery_);
    for (int n = 0; n < kNamespaces; ++n) {
      const std::string ns = "ns" + std::to_string(n);
      Create({"", "v1", "namespaces"}, "",
             R"({"apiVersion":"v1","kind":"Namespace","metadata":{"name":")" + ns + R"("}})");
      for (int i = 0; i < kConfigMaps; ++i) {
        Create({"", "v1", "configmaps"}, ns,
               R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"cm-)" +
                   std::to_string(i) + R"("},"data":{"k":")" + std::to_string(n * 100 + i) +
                   R"("}})");
      }
      Create(
          {"", "v1", "secrets"}, ns,
          R"({"apiVersion":"v1","kind":"Secret","metadata":{"name":"s"},"stringData":{"a":"b"}})");
    }
  }
  static void TearDownTestSuite() {
    delete client_;
    delete discovery_;
    delete rest_;
    delete kubesim_;
  }

  static void Create(const kube::GroupVersionResource& gvr, const std::string& ns,
                     const std::string& json) {
    auto v = ParseJson(json);
    ASSERT_TRUE(v.ok()) << json;
    auto r = client_->Create(gvr, ns, *v);
    ASSERT_TRUE(r.ok()) << r.status() << " creating " << json;
  }

  void SetUp() override {
    dir_ =
        std::filesystem::temp_directory_path() /
        ("lifeboat-resume-test-" + std::to_string(::getpid()) + "-" + std::to_string(++counter_));
    std::filesystem::create_directories(dir_ / "bucket");
    storage::DriverParams params;
    params.config = {{"root", dir_.string()}};
    auto store = storage::NewObjectStore("local", params);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::make_unique<storage::BackupStore>(
        std::shared_ptr<storage::ObjectStore>(std::move(*store)), "bucket", "");
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  static api::Backup Backup(const std::string& name) {
    api::Backup b;
    b.metadata.name = name;
    b.metadata.namespace_ = "velero";
    b.metadata.uid = "uid-" + name;
    b.spec.storage_location = "default";
    for (int n = 0; n < kNamespaces; ++n)
      b.spec.included_namespaces.push_back("ns" + std::to_string(n));
    return b;
  }

  BackupperOptions Options() {
    BackupperOptions o;
    o.page_size = 2;  // several pages, so several checkpoints, per collection
    o.temp_dir = dir_;
    o.journal_dir = dir_ / "journal";
    o.checkpoint_interval = std::chrono::milliseconds(0);
    o.keep_journal_on_cancel = true;
    return o;
  }

  api::Backup Run(const api::Backup& b, BackupperOptions o, bool resume = false,
                  const CancellationToken& cancel = {}, BackupRunStats* stats = nullptr) {
    BackupperDeps deps;
    deps.client = client_;
    deps.discovery = discovery_;
    deps.store = store_.get();
    deps.actions = BuiltinBackupItemActions(client_);
    return Backupper(deps, std::move(o)).Run(b, nullptr, cancel, stats, resume);
  }

  // Runs `b` and stops it (as a shutdown does) right after its `n`th checkpoint.
  api::Backup Interrupt(const api::Backup& b, int n, int64_t* items_at_stop = nullptr) {
    CancellationSource stop;
    BackupperOptions o = Options();
    int seen = 0;
    o.on_checkpoint = [&](int64_t items) {
      if (++seen == n) {
        if (items_at_stop != nullptr) *items_at_stop = items;
        stop.Cancel("server shutting down");
      }
    };
    return Run(b, o, false, stop.token());
  }

  // Entry paths in archive order (duplicates kept) and their contents.
  std::vector<std::pair<std::string, std::string>> Entries(const std::string& name) {
    std::string tgz;
    auto sink = StringSink(&tgz);
    EXPECT_TRUE(store_->GetBackupFile(name, storage::BackupFile::kContents, *sink).ok());
    auto source = StringSource(tgz);
    auto reader = archive::ArchiveReader::Open(source.get());
    EXPECT_TRUE(reader.ok()) << reader.status();
    std::vector<std::pair<std::string, std::string>> out;
    if (!reader.ok()) return out;
    while (true) {
      auto e = (*reader)->Next();
      EXPECT_TRUE(e.ok()) << e.status();
      if (!e.ok() || !e->has_value()) break;
      out.emplace_back((*e)->path, (*e)->data);
    }
    return out;
  }

  std::string File(const std::string& name, storage::BackupFile f) {
    std::string gz;
    auto sink = StringSink(&gz);
    EXPECT_TRUE(store_->GetBackupFile(name, f, *sink).ok());
    auto text = Gunzip(gz);
    EXPECT_TRUE(text.ok()) << text.status();
    return text.ok() ? *text : "";
  }

  std::filesystem::path Journal(const std::string& name) {
    return JournalDir(dir_ / "journal", "uid-" + name);
  }

  // The resumed backup `name` holds exactly what the uninterrupted `reference` holds.
  void ExpectSameAs(const std::string& name, const std::string& reference) {
    auto got = Entries(name);
    auto want = Entries(reference);
    std::map<std::string, std::string> got_map(got.begin(), got.end());
    EXPECT_EQ(got_map.size(), got.size()) << "duplicate entries in " << name;
    const std::map<std::string, std::string> want_map(want.begin(), want.end());
    EXPECT_EQ(got_map, want_map);
    EXPECT_EQ(File(name, storage::BackupFile::kResourceList),
              File(reference, storage::BackupFile::kResourceList));
    EXPECT_EQ(File(name, storage::BackupFile::kResults),
              File(reference, storage::BackupFile::kResults));
  }

  static KubesimProcess* kubesim_;
  static kube::RestClient* rest_;
  static kube::Discovery* discovery_;
  static kube::DynamicClient* client_;
  static int counter_;
  std::filesystem::path dir_;
  std::unique_ptr<storage::BackupStore> store_;
};
KubesimProcess* BackupResumeTest::kubesim_ = nullptr;
kube::RestClient* BackupResumeTest::rest_ = nullptr;
kube::Discovery* BackupResumeTest::discovery_ = nullptr;
kube::DynamicClient* BackupResumeTest::client_ = nullptr;
int BackupResumeTest::counter_ = 0;

TEST_F(BackupResumeTest, InterruptedBackupResumesFromItsCheckpoint) {
  BackupRunStats ref_stats;
  api::Backup ref = Run(Backup("ref"), Options(), false, {}, &ref_stats);
  ASSERT_EQ(ref.status.phase, api::BackupPhase::kCompleted) << ref.status.failure_reason;
  EXPECT_GT(ref_stats.checkpoints, 3);
  EXPECT_FALSE(std::filesystem::exists(Journal("ref"))) << "journal left after completion";

  int64_t items_at_stop = 0;
  api::Backup stopped = Interrupt(Backup("r1"), 4, &items_at_stop);
  ASSERT_EQ(stopped.status.phase, api::BackupPhase::kFailed);
  EXPECT_FALSE(*store_->BackupExists("r1"));
  ASSERT_TRUE(std::filesystem::exists(Journal("r1") / kJournalCheckpoint));
  ASSERT_GT(items_at_stop, 0);
  ASSERT_LT(items_at_stop, ref.status.progress->items_backed_up);

  BackupRunStats stats;
  api::Backup b = Run(Backup("r1"), Options(), /*resume=*/true, {}, &stats);
  ASSERT_EQ(b.status.phase, api::BackupPhase::kCompleted) << b.status.failure_reason;
  EXPECT_TRUE(stats.resumed);
  EXPECT_EQ(stats.resumed_from_items, items_at_stop);
  EXPECT_EQ(b.status.progress->items_backed_up, ref.status.progress->items_backed_up);
  EXPECT_EQ(b.status.progress->total_items, ref.status.progress->total_items);
  EXPECT_EQ(b.status.warnings, ref.status.warnings);
  EXPECT_EQ(b.status.errors, ref.status.errors);
  EXPECT_EQ(b.status.start_timestamp, stopped.status.start_timestamp);
  ExpectSameAs("r1", "ref");
  const std::string log = File("r1", storage::BackupFile::kLog);
  EXPECT_THAT(log, HasSubstr("Resuming the backup from checkpoint 4 after " +
                             std::to_string(items_at_stop) + " items"));
  EXPECT_THAT(log, HasSubstr("Setting up backup temp file and log"));  // the first run's lines
  EXPECT_FALSE(std::filesystem::exists(Journal("r1"))) << "journal left after completion";
}

TEST_F(BackupResumeTest, ResumedRunInterruptedAgainResumesAgain) {
  api::Backup ref = Run(Backup("ref2"), Options());
  ASSERT_EQ(ref.status.phase, api::BackupPhase::kCompleted);
  ASSERT_EQ(Interrupt(Backup("r2"), 2).status.phase, api::BackupPhase::kFailed);
  // The resumed run is itself interrupted, then resumed again.
  CancellationSource stop;
  BackupperOptions o = Options();
  int seen = 0;
  o.on_checkpoint = [&](int64_t) {
    if (++seen == 3) stop.Cancel("server shutting down again");
  };
  BackupRunStats first;
  ASSERT_EQ(Run(Backup("r2"), o, true, stop.token(), &first).status.phase,
            api::BackupPhase::kFailed);
  EXPECT_TRUE(first.resumed);
  BackupRunStats second;
  api::Backup b = Run(Backup("r2"), Options(), true, {}, &second);
  ASSERT_EQ(b.status.phase, api::BackupPhase::kCompleted) << b.status.failure_reason;
  EXPECT_TRUE(second.resumed);
  EXPECT_GT(second.resumed_from_items, first.resumed_from_items);
  ExpectSameAs("r2", "ref2");
}

TEST_F(BackupResumeTest, InterruptedAfterTheListingEnded) {
  BackupRunStats ref_stats;
  api::Backup ref = Run(Backup("ref9"), Options(), false, {}, &ref_stats);
  ASSERT_EQ(ref.status.phase, api::BackupPhase::kCompleted);
  // With interval 0 the checkpoints fall on the same page boundaries in every run: the last
  // one is taken when the listing ends, before the namespaces and CRDs are backed up.
  int64_t items = 0;
  ASSERT_EQ(Interrupt(Backup("r9"), static_cast<int>(ref_stats.checkpoints), &items).status.phase,
            api::BackupPhase::kFailed);
  BackupRunStats stats;
  api::Backup b = Run(Backup("r9"), Options(), true, {}, &stats);
  ASSERT_EQ(b.status.phase, api::BackupPhase::kCompleted) << b.status.failure_reason;
  EXPECT_TRUE(stats.resumed);
  EXPECT_EQ(stats.resumed_from_items, items);
  EXPECT_LT(items, ref.status.progress->items_backed_up);  // the namespaces were still to do
  ExpectSameAs("r9", "ref9");
}

TEST_F(BackupResumeTest, ChangedSpecOrAnotherUidStartsFromTheBeginning) {
  api::Backup ref = Run(Backup("ref3"), Options());
  ASSERT_EQ(ref.status.phase, api::BackupPhase::kCompleted);
  ASSERT_EQ(Interrupt(Backup("r3"), 2).status.phase, api::BackupPhase::kFailed);
  api::Backup changed = Backup("r3");
  changed.spec.ttl = std::chrono::hours(1);
  BackupRunStats stats;
  api::Backup b = Run(changed, Options(), true, {}, &stats);
  ASSERT_EQ(b.status.phase, api::BackupPhase::kCompleted) << b.status.failure_reason;
  EXPECT_FALSE(stats.resumed);
  EXPECT_THAT(stats.not_resumed_reason, HasSubstr("spec changed"));
  EXPECT_THAT(File("r3", storage::BackupFile::kLog), HasSubstr("from the beginning"));
  ExpectSameAs("r3", "ref3");

  // A journal under another backup's uid (copied there) is not taken either.
  ASSERT_EQ(Interrupt(Backup("r4"), 2).status.phase, api::BackupPhase::kFailed);
  std::filesystem::copy(Journal("r4"), Journal("r5"));
  BackupRunStats other;
  b = Run(Backup("r5"), Options(), true, {}, &other);
  ASSERT_EQ(b.status.phase, api::BackupPhase::kCompleted) << b.status.failure_reason;
  EXPECT_FALSE(other.resumed);
  EXPECT_THAT(other.not_resumed_reason, HasSubstr("uid-r4"));
  ExpectSameAs("r5", "ref3");
}

TEST_F(BackupResumeTest, DamagedJournalStartsFromTheBeginning) {
  api::Backup ref = Run(Backup("ref6"), Options());
  ASSERT_EQ(ref.status.phase, api::BackupPhase::kCompleted);
  // A corrupt checkpoint.json.
  ASSERT_EQ(Interrupt(Backup("r6"), 2).status.phase, api::BackupPhase::kFailed);
  ASSERT_TRUE(
      WriteFileAtomically(Journal("r6") / kJournalCheckpoint, "{\"version\": 1, \"ba").ok());
  BackupRunStats stats;
  api::Backup b = Run(Backup("r6"), Options(), true, {}, &stats);
  ASSERT_EQ(b.status.phase, api::BackupPhase::kCompleted) << b.status.failure_reason;
  EXPECT_FALSE(stats.resumed);
  EXPECT_THAT(stats.not_resumed_reason, HasSubstr("checkpoint.json"));
  ExpectSameAs("r6", "ref6");
  // An archive shorter than the checkpoint says (the scratch volume lost data).
  ASSERT_EQ(Interrupt(Backup("r7"), 2).status.phase, api::BackupPhase::kFailed);
  std::filesystem::resize_file(Journal("r7") / kJournalArchive, 10);
  BackupRunStats short_stats;
  b = Run(Backup("r7"), Options(), true, {}, &short_stats);
  ASSERT_EQ(b.status.phase, api::BackupPhase::kCompleted) << b.status.failure_reason;
  EXPECT_FALSE(short_stats.resumed);
  EXPECT_THAT(short_stats.not_resumed_reason, HasSubstr("shorter"));
  ExpectSameAs("r7", "ref6");
  // No journal at all.
  BackupRunStats none;
  b = Run(Backup("r8"), Options(), true, {}, &none);
  ASSERT_EQ(b.status.phase, api::BackupPhase::kCompleted);
  EXPECT_FALSE(none.resumed);
  EXPECT_THAT(none.not_resumed_reason, HasSubstr("no checkpoint"));
}

TEST_F(BackupResumeTest, CancelledRunKeepsItsJournalOnlyWhenAsked) {
  CancellationSource stop;
  BackupperOptions o = Options();
  o.keep_journal_on_cancel = false;
  o.on_checkpoint = [&](int64_t) { stop.Cancel("cancelled by the user"); };
  ASSERT_EQ(Run(Backup("c1"), o, false, stop.token()).status.phase, api::BackupPhase::kFailed);
  EXPECT_FALSE(std::filesystem::exists(Journal("c1")));
  // Kept, then discarded by the caller (a user cancelled the backup the server had stopped).
  ASSERT_EQ(Interrupt(Backup("c2"), 1).status.phase, api::BackupPhase::kFailed);
  EXPECT_TRUE(std::filesystem::exists(Journal("c2")));
  DiscardBackupJournal(dir_ / "journal", "uid-c2");
  EXPECT_FALSE(std::filesystem::exists(Journal("c2")));
  // A new (not resumed) run of the same uid discards an old journal first.
  ASSERT_EQ(Interrupt(Backup("c3"), 1).status.phase, api::BackupPhase::kFailed);
  BackupRunStats stats;
  ASSERT_EQ(Run(Backup("c3"), Options(), false, {}, &stats).status.phase,
            api::BackupPhase::kCompleted);
  EXPECT_FALSE(stats.resumed);
  EXPECT_THAT(File("c3", storage::BackupFile::kLog), Not(HasSubstr("Resuming")));
}

}  // namespace
}  // namespace lifeboat::backup
