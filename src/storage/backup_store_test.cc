#include "lifeboat/storage/backup_store.h"

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "src/storage/bucket_layout.h"
#include "src/storage/testing/faulty_object_store.h"
#include "src/storage/testing/in_memory_object_store.h"
#include "src/storage/testing/test_streams.h"

namespace lifeboat::storage {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Pair;
using testing::FaultyObjectStore;
using testing::InMemoryObjectStore;
using testing::Op;

constexpr const char* kDownloadKinds[] = {
    "BackupContents",        "BackupLog",          "BackupVolumeSnapshots",
    "BackupItemOperations",  "BackupResourceList", "BackupResults",
    "BackupVolumeInfos",     "CSIBackupVolumeSnapshots", "CSIBackupVolumeSnapshotContents",
    "RestoreLog",            "RestoreResults",     "RestoreResourceList",
    "RestoreItemOperations", "RestoreVolumeInfo"};

std::string LayoutListing(std::string_view prefix) {
  BucketLayout layout(prefix);
  std::ostringstream out;
  out << "# prefix \"" << prefix << "\"\n";
  out << "backups dir: " << layout.BackupsDir() << "\n";
  out << "restores dir: " << layout.RestoresDir() << "\n";
  for (BackupFile f : kAllBackupFiles) {
    out << "backup " << BackupFileName(f) << ": " << layout.BackupKey("b1", f) << "\n";
  }
  for (RestoreFile f : kAllRestoreFiles) {
    out << "restore " << RestoreFileName(f) << ": " << layout.RestoreKey("r1", f) << "\n";
  }
  for (const char* kind : kDownloadKinds) {
    auto target = ParseDownloadTargetKind(kind);
    const char* name = target->is_restore ? "r1" : "b1";
    out << "download " << kind << " " << name << ": " << layout.DownloadTargetKey(*target, name)
        << "\n";
  }
  out << "revision (legacy, never written): " << layout.RevisionKey() << "\n";
  out << "kopia repository app: " << layout.RepositoryDir("kopia", "app") << "\n";
  out << "restic repository app: " << layout.RepositoryDir("restic", "app") << "\n";
  return out.str();
}

TEST(BucketLayoutTest, MatchesGoldenFile) {
  std::string got = "# Lifeboat bucket layout v1 (docs/formats/bucket-layout.md): the keys for "
                    "backup b1 and restore r1.\n";
  for (std::string_view prefix : {"", "velero/cluster-1"}) got += LayoutListing(prefix);
  const std::string path =
      std::string(LIFEBOAT_SOURCE_DIR) + "/test/testdata/storage/bucket-layout-v1.txt";
  if (std::getenv("LIFEBOAT_UPDATE_GOLDEN") != nullptr) {
    std::ofstream(path) << got;
  }
  auto want = ReadFile(path);
  ASSERT_TRUE(want.ok()) << want.status();
  EXPECT_EQ(got, *want) << "set LIFEBOAT_UPDATE_GOLDEN=1 to rewrite " << path
                        << " if the change is intended";
}

TEST(BucketLayoutTest, PrefixIsTrimmedAndGetsOneSlash) {
  EXPECT_EQ(BucketLayout("").prefix(), "");
  EXPECT_EQ(BucketLayout("/").prefix(), "");
  EXPECT_EQ(BucketLayout("p").prefix(), "p/");
  EXPECT_EQ(BucketLayout("/p/q//").prefix(), "p/q/");
  EXPECT_EQ(BucketLayout("p/").BackupKey("b", BackupFile::kContents), "p/backups/b/b.tar.gz");
}

TEST(BucketLayoutTest, UnknownDownloadKindIsInvalidArgument) {
  auto t = ParseDownloadTargetKind("BackupEverything");
  EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(t.status().message()), HasSubstr("BackupEverything"));
}

class BackupStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto faulty = std::make_shared<FaultyObjectStore>(&memory_);
    faulty_ = faulty.get();
    store_ = std::make_unique<BackupStore>(faulty, "bucket", "pfx");
  }

  Status PutFullBackup(const std::string& name) {
    auto contents = StringSource("tarball of " + name);
    auto log = StringSource("log");
    auto results = StringSource("results");
    auto resources = StringSource("resources");
    return store_->PutBackup({.name = name,
                              .metadata_json = "{\"name\":\"" + name + "\"}",
                              .contents = contents.get(),
                              .log = log.get(),
                              .files = {{BackupFile::kResults, results.get()},
                                        {BackupFile::kResourceList, resources.get()}}});
  }

  InMemoryObjectStore memory_{"bucket"};
  FaultyObjectStore* faulty_ = nullptr;
  std::unique_ptr<BackupStore> store_;
};

TEST_F(BackupStoreTest, ValidateAcceptsVeleroFoldersAndLooseObjects) {
  EXPECT_TRUE(store_->Validate().ok());
  for (const char* key : {"pfx/backups/b/velero-backup.json", "pfx/restores/r/x", "pfx/kopia/ns/k",
                          "pfx/restic/ns/config", "pfx/metadata/revision", "pfx/plugins/p",
                          "pfx/loose-object", "other-prefix/anything/x"}) {
    ASSERT_TRUE(PutString(memory_, "bucket", key, "x").ok());
  }
  Status s = store_->Validate();
  EXPECT_TRUE(s.ok()) << s;
}

TEST_F(BackupStoreTest, ValidateNamesForeignFolders) {
  for (const char* key : {"pfx/backups/b/velero-backup.json", "pfx/photos/cat.jpg",
                          "pfx/a/x", "pfx/b/x", "pfx/c/x"}) {
    ASSERT_TRUE(PutString(memory_, "bucket", key, "x").ok());
  }
  Status s = store_->Validate();
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(s.message()),
              HasSubstr("bucket bucket prefix pfx/ contains top-level folders that are not "
                        "Velero's (\"a/\", \"b/\", \"c/\" and 1 more)"));

  BackupStore unprefixed(std::make_shared<InMemoryObjectStore>(
                             std::initializer_list<std::string>{"bucket"}),
                         "bucket", "");
  EXPECT_TRUE(unprefixed.Validate().ok());
  BackupStore missing(std::make_shared<InMemoryObjectStore>(), "nobucket", "");
  EXPECT_EQ(missing.Validate().code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(BackupStoreTest, PutBackupWritesEveryFile) {
  ASSERT_TRUE(PutFullBackup("b1").ok());
  EXPECT_THAT(memory_.Contents("bucket"),
              ElementsAre(Pair("pfx/backups/b1/b1-logs.gz", "log"),
                          Pair("pfx/backups/b1/b1-resource-list.json.gz", "resources"),
                          Pair("pfx/backups/b1/b1-results.gz", "results"),
                          Pair("pfx/backups/b1/b1.tar.gz", "tarball of b1"),
                          Pair("pfx/backups/b1/velero-backup.json", "{\"name\":\"b1\"}")));
  EXPECT_EQ(faulty_->calls(Op::kPut), 5);
  EXPECT_TRUE(*store_->BackupExists("b1"));
  EXPECT_FALSE(*store_->BackupExists("b2"));
  EXPECT_EQ(*store_->GetBackupMetadata("b1"), "{\"name\":\"b1\"}");
  std::string tarball;
  auto sink = StringSink(&tarball);
  ASSERT_TRUE(store_->GetBackupFile("b1", BackupFile::kContents, *sink).ok());
  EXPECT_EQ(tarball, "tarball of b1");
}

TEST_F(BackupStoreTest, PutBackupIgnoresLogFailure) {
  faulty_->FailNext(Op::kPut, absl::UnavailableError("503"));  // the log, uploaded first
  ASSERT_TRUE(PutFullBackup("b1").ok());
  EXPECT_EQ(memory_.Contents("bucket").count("pfx/backups/b1/b1-logs.gz"), 0u);
  EXPECT_TRUE(*store_->BackupExists("b1"));
}

TEST_F(BackupStoreTest, TarballFailureRemovesMetadata) {
  testing::PseudoRandomSource tarball({.seed = 1,
                                       .length = 100'000,
                                       .fail_with = absl::CancelledError("backup cancelled"),
                                       .fail_after = 1000});
  auto log = StringSource("log");
  Status s = store_->PutBackup(
      {.name = "b1", .metadata_json = "{}", .contents = &tarball, .log = log.get()});
  EXPECT_EQ(s.code(), absl::StatusCode::kCancelled);
  EXPECT_THAT(std::string(s.message()), HasSubstr("uploading pfx/backups/b1/b1.tar.gz"));
  // The log stays (as in Velero: it tells what went wrong); the backup does not exist.
  EXPECT_THAT(memory_.Contents("bucket"), ElementsAre(Pair("pfx/backups/b1/b1-logs.gz", "log")));
  EXPECT_THAT(*store_->ListBackups(), IsEmpty());
}

TEST_F(BackupStoreTest, FailureAfterTarballRemovesTarballAndMetadata) {
  auto contents = StringSource("tar");
  auto results = StringSource("results");
  testing::PseudoRandomSource broken({.seed = 1,
                                      .length = 100,
                                      .fail_with = absl::DataLossError("gzip writer failed"),
                                      .fail_after = 5});
  Status s = store_->PutBackup({.name = "b1",
                                .metadata_json = "{}",
                                .contents = contents.get(),
                                .files = {{BackupFile::kResourceList, &broken},
                                          {BackupFile::kResults, results.get()}}});
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(s.message()), HasSubstr("pfx/backups/b1/b1-resource-list.json.gz"));
  EXPECT_THAT(memory_.Contents("bucket"), IsEmpty());
}

TEST_F(BackupStoreTest, MetadataGoesLastAndItsFailureRemovesEverythingElse) {
  auto contents = StringSource("tar");
  auto log = StringSource("log");
  auto results = StringSource("results");
  testing::FaultyObjectStore* f = faulty_;
  // Puts: the log, the tarball, the results, then velero-backup.json (which fails).
  f->PassNext(Op::kPut, 3);
  f->FailNext(Op::kPut, absl::PermissionDeniedError("HTTP 403"));
  Status s = store_->PutBackup({.name = "b1",
                                .metadata_json = "{}",
                                .contents = contents.get(),
                                .log = log.get(),
                                .files = {{BackupFile::kResults, results.get()}}});
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(std::string(s.message()), HasSubstr("pfx/backups/b1/velero-backup.json"));
  // The log stays (it tells what went wrong); nothing else does, and the backup does not exist.
  EXPECT_THAT(memory_.Contents("bucket"), ElementsAre(Pair("pfx/backups/b1/b1-logs.gz", "log")));
  EXPECT_EQ(f->calls(Op::kPut), 4);
  EXPECT_FALSE(*store_->BackupExists("b1"));
}

TEST_F(BackupStoreTest, PutBackupRejectsBadInputBeforeWriting) {
  auto contents = StringSource("tar");
  auto other = StringSource("x");
  EXPECT_EQ(store_->PutBackup({.name = "", .metadata_json = "{}", .contents = contents.get()})
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->PutBackup({.name = "a/b", .metadata_json = "{}", .contents = contents.get()})
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->PutBackup({.name = "b", .metadata_json = "{}"}).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->PutBackup({.name = "b",
                               .metadata_json = "{}",
                               .contents = contents.get(),
                               .files = {{BackupFile::kContents, other.get()}}})
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(faulty_->calls(Op::kPut), 0);
}

TEST_F(BackupStoreTest, ListBackupsNeedsMetadata) {
  ASSERT_TRUE(PutFullBackup("b2").ok());
  ASSERT_TRUE(PutFullBackup("b1").ok());
  ASSERT_TRUE(PutString(memory_, "bucket", "pfx/backups/partial/partial.tar.gz", "x").ok());
  ASSERT_TRUE(PutString(memory_, "bucket", "pfx/backups/nested/x/velero-backup.json", "x").ok());
  ASSERT_TRUE(PutString(memory_, "bucket", "pfx/backups/velero-backup.json", "x").ok());
  ASSERT_TRUE(PutString(memory_, "bucket", "backups/unprefixed/velero-backup.json", "x").ok());
  EXPECT_THAT(*store_->ListBackups(), ElementsAre("b1", "b2"));
}

TEST_F(BackupStoreTest, DeleteBackupRemovesOnlyItsFilesMetadataLast) {
  ASSERT_TRUE(PutFullBackup("b1").ok());
  ASSERT_TRUE(PutFullBackup("b10").ok());
  std::vector<std::string> before = *memory_.ListObjects("bucket", "pfx/backups/b1/");
  ASSERT_EQ(before.size(), 5u);
  ASSERT_TRUE(store_->DeleteBackup("b1").ok());
  EXPECT_THAT(*store_->ListBackups(), ElementsAre("b10"));
  EXPECT_THAT(*memory_.ListObjects("bucket", "pfx/backups/b1/"), IsEmpty());
  EXPECT_EQ(memory_.ListObjects("bucket", "pfx/backups/b10/")->size(), 5u);
  EXPECT_TRUE(store_->DeleteBackup("never-existed").ok());
}

TEST_F(BackupStoreTest, InterruptedDeleteKeepsTheBackupListed) {
  ASSERT_TRUE(PutFullBackup("b1").ok());
  faulty_->PassNext(Op::kDelete, 3);
  faulty_->FailNext(Op::kDelete, absl::PermissionDeniedError("HTTP 403"));
  Status s = store_->DeleteBackup("b1");
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied);
  // Three of five files are gone, but velero-backup.json (deleted last) is still there.
  EXPECT_EQ(memory_.Contents("bucket").size(), 2u);
  EXPECT_THAT(*store_->ListBackups(), ElementsAre("b1"));
  ASSERT_TRUE(store_->DeleteBackup("b1").ok());
  EXPECT_THAT(memory_.Contents("bucket"), IsEmpty());
}

TEST_F(BackupStoreTest, RestoreFiles) {
  for (RestoreFile file : kAllRestoreFiles) {
    auto body = StringSource(std::string(RestoreFileName(file)));
    ASSERT_TRUE(store_->PutRestoreFile("r1", file, *body).ok());
  }
  EXPECT_THAT(*memory_.ListObjects("bucket", "pfx/restores/r1/"),
              ElementsAre("pfx/restores/r1/r1-volumeinfo.json.gz",
                          "pfx/restores/r1/restore-r1-itemoperations.json.gz",
                          "pfx/restores/r1/restore-r1-logs.gz",
                          "pfx/restores/r1/restore-r1-resource-list.json.gz",
                          "pfx/restores/r1/restore-r1-results.gz"));
  std::string out;
  auto sink = StringSink(&out);
  ASSERT_TRUE(store_->GetRestoreFile("r1", RestoreFile::kResults, *sink).ok());
  EXPECT_EQ(out, "results");
  EXPECT_THAT(*store_->ListRestores(), ElementsAre("r1"));
  ASSERT_TRUE(store_->DeleteRestore("r1").ok());
  EXPECT_THAT(memory_.Contents("bucket"), IsEmpty());
  Status missing = store_->GetRestoreFile("r1", RestoreFile::kLog, *sink);
  EXPECT_EQ(missing.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(missing.message()),
              HasSubstr("downloading pfx/restores/r1/restore-r1-logs.gz"));
}

TEST_F(BackupStoreTest, EachBackupFileRoundTrips) {
  for (BackupFile file : kAllBackupFiles) {
    auto body = StringSource(std::string(BackupFileName(file)));
    ASSERT_TRUE(store_->PutBackupFile("b1", file, *body).ok());
    std::string out;
    auto sink = StringSink(&out);
    ASSERT_TRUE(store_->GetBackupFile("b1", file, *sink).ok());
    EXPECT_EQ(out, BackupFileName(file));
  }
  EXPECT_EQ(memory_.Contents("bucket").size(), std::size(kAllBackupFiles));
  ASSERT_TRUE(store_->PutBackupMetadata("b1", "{\"status\":{}}").ok());
  EXPECT_EQ(*store_->GetBackupMetadata("b1"), "{\"status\":{}}");
  EXPECT_EQ(store_->GetBackupMetadata("b2").status().code(), absl::StatusCode::kNotFound);
}

TEST_F(BackupStoreTest, DownloadUrlsFollowTheTargetKind) {
  auto url = store_->CreateDownloadUrl("BackupLog", "b1");
  ASSERT_TRUE(url.ok());
  EXPECT_EQ(*url, "memory://bucket/pfx/backups/b1/b1-logs.gz?ttl=600");
  EXPECT_EQ(*store_->CreateDownloadUrl("RestoreVolumeInfo", "r1", std::chrono::seconds(60)),
            "memory://bucket/pfx/restores/r1/r1-volumeinfo.json.gz?ttl=60");
  EXPECT_EQ(store_->CreateDownloadUrl("Nope", "b1").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->CreateDownloadUrl("BackupLog", "../b1").status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace lifeboat::storage
