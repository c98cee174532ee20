#include "lifeboat/storage/backup_store.h"

#include <algorithm>
#include <set>

#include "src/storage/bucket_layout.h"

namespace lifeboat::storage {
namespace {

Status CheckName(std::string_view what, std::string_view name) {
  if (name.empty() || name == "." || name == ".." || name.find('/') != std::string_view::npos) {
    return absl::InvalidArgumentError("invalid " + std::string(what) + " name \"" +
                                      std::string(name) + "\"");
  }
  return absl::OkStatus();
}

bool IsLaterFile(BackupFile f) {
  switch (f) {
    case BackupFile::kPodVolumeBackups:
    case BackupFile::kVolumeSnapshots:
    case BackupFile::kItemOperations:
    case BackupFile::kResourceList:
    case BackupFile::kResults:
    case BackupFile::kVolumeInfo:
      return true;
    default:
      return false;
  }
}

// The names of the sub-"directories" of `dir` (keys "<dir><name>/...").
StatusOr<std::vector<std::string>> SubdirNames(ObjectStore& store, const std::string& bucket,
                                               const std::string& dir) {
  LIFEBOAT_ASSIGN_OR_RETURN(std::vector<std::string> prefixes,
                            store.ListCommonPrefixes(bucket, dir, "/"));
  std::vector<std::string> names;
  for (const std::string& p : prefixes) {
    if (p.size() > dir.size() + 1) names.push_back(p.substr(dir.size(), p.size() - dir.size() - 1));
  }
  return names;
}

}  // namespace

BackupStore::BackupStore(std::shared_ptr<ObjectStore> store, std::string bucket,
                         std::string_view prefix)
    : store_(std::move(store)),
      bucket_(std::move(bucket)),
      layout_(std::make_unique<BucketLayout>(prefix)) {}

BackupStore::~BackupStore() = default;

Status BackupStore::Validate() {
  LIFEBOAT_ASSIGN_OR_RETURN(std::vector<std::string> dirs,
                            SubdirNames(*store_, bucket_, layout_->prefix()));
  const auto& allowed = BucketLayout::TopLevelDirs();
  std::vector<std::string> invalid;
  for (const std::string& d : dirs) {
    if (std::find(allowed.begin(), allowed.end(), d) == allowed.end()) invalid.push_back(d);
  }
  if (invalid.empty()) return absl::OkStatus();
  std::string list;
  for (size_t i = 0; i < invalid.size() && i < 3; ++i) {
    if (i > 0) list += ", ";
    list += "\"" + invalid[i] + "/\"";
  }
  if (invalid.size() > 3) list += " and " + std::to_string(invalid.size() - 3) + " more";
  std::string where = "bucket " + bucket_;
  if (!layout_->prefix().empty()) where += " prefix " + layout_->prefix();
  return absl::FailedPreconditionError(
      where + " contains top-level folders that are not Velero's (" + list +
      "); only backups/, restores/, metadata/, plugins/, restic/ and kopia/ are allowed: use "
      "an empty bucket or a prefix");
}

StatusOr<std::vector<std::string>> BackupStore::ListBackups() {
  const std::string dir = layout_->BackupsDir();
  LIFEBOAT_ASSIGN_OR_RETURN(std::vector<std::string> keys, store_->ListObjects(bucket_, dir));
  constexpr std::string_view kMetadata = "/velero-backup.json";
  std::set<std::string> names;
  for (const std::string& key : keys) {
    std::string_view rest = std::string_view(key).substr(dir.size());
    size_t slash = rest.find('/');
    if (slash == std::string_view::npos || slash == 0) continue;
    if (rest.substr(slash) == kMetadata) names.insert(std::string(rest.substr(0, slash)));
  }
  return std::vector<std::string>(names.begin(), names.end());
}

StatusOr<std::vector<std::string>> BackupStore::ListRestores() {
  return SubdirNames(*store_, bucket_, layout_->RestoresDir());
}

StatusOr<bool> BackupStore::BackupExists(std::string_view name) {
  LIFEBOAT_RETURN_IF_ERROR(CheckName("backup", name));
  return store_->Exists(bucket_, layout_->BackupKey(name, BackupFile::kMetadata));
}

Status BackupStore::Put(const std::string& key, ByteSource& body) {
  return Annotate(store_->Put(bucket_, key, body), "uploading " + key);
}

Status BackupStore::PutBackup(const BackupUpload& upload) {
  LIFEBOAT_RETURN_IF_ERROR(CheckName("backup", upload.name));
  if (upload.metadata_json.empty() || upload.contents == nullptr) {
    return absl::InvalidArgumentError("backup " + upload.name +
                                      ": metadata and contents are required");
  }
  for (const auto& [file, source] : upload.files) {
    if (!IsLaterFile(file) || source == nullptr) {
      return absl::InvalidArgumentError("backup " + upload.name + ": file " +
                                        std::string(BackupFileName(file)) +
                                        " cannot be uploaded with PutBackup");
    }
  }
  const std::string& name = upload.name;
  if (upload.log != nullptr) {
    // Best effort, as in Velero: a missing log must not fail the backup.
    (void)Put(layout_->BackupKey(name, BackupFile::kLog), *upload.log);
  }
  // velero-backup.json goes last and once: its presence is what makes a backup exist (for
  // Velero and for sync), so nobody sees a backup before all its files are there, and nothing
  // is ever rewritten (object-lock buckets keep working).
  std::vector<std::string> uploaded;
  auto undo = [&] {
    for (auto it = uploaded.rbegin(); it != uploaded.rend(); ++it) (void)store_->Delete(bucket_, *it);
  };
  const std::string contents_key = layout_->BackupKey(name, BackupFile::kContents);
  LIFEBOAT_RETURN_IF_ERROR(Put(contents_key, *upload.contents));
  uploaded.push_back(contents_key);
  for (const auto& [file, source] : upload.files) {
    const std::string key = layout_->BackupKey(name, file);
    if (Status s = Put(key, *source); !s.ok()) {
      undo();
      return s;
    }
    uploaded.push_back(key);
  }
  const std::string metadata_key = layout_->BackupKey(name, BackupFile::kMetadata);
  if (Status s = Annotate(PutString(*store_, bucket_, metadata_key, upload.metadata_json),
                          "uploading " + metadata_key);
      !s.ok()) {
    undo();
    return s;
  }
  return absl::OkStatus();
}

Status BackupStore::PutBackupFile(std::string_view name, BackupFile file, ByteSource& body) {
  LIFEBOAT_RETURN_IF_ERROR(CheckName("backup", name));
  return Put(layout_->BackupKey(name, file), body);
}

Status BackupStore::GetBackupFile(std::string_view name, BackupFile file, ByteSink& sink) {
  LIFEBOAT_RETURN_IF_ERROR(CheckName("backup", name));
  std::string key = layout_->BackupKey(name, file);
  return Annotate(store_->Get(bucket_, key, sink), "downloading " + key);
}

StatusOr<std::string> BackupStore::GetBackupMetadata(std::string_view name) {
  LIFEBOAT_RETURN_IF_ERROR(CheckName("backup", name));
  std::string key = layout_->BackupKey(name, BackupFile::kMetadata);
  auto data = GetString(*store_, bucket_, key);
  if (!data.ok()) return Annotate(data.status(), "downloading " + key);
  return data;
}

Status BackupStore::PutBackupMetadata(std::string_view name, std::string json) {
  LIFEBOAT_RETURN_IF_ERROR(CheckName("backup", name));
  std::string key = layout_->BackupKey(name, BackupFile::kMetadata);
  return Annotate(PutString(*store_, bucket_, key, std::move(json)), "uploading " + key);
}

Status BackupStore::PutRestoreFile(std::string_view name, RestoreFile file, ByteSource& body) {
  LIFEBOAT_RETURN_IF_ERROR(CheckName("restore", name));
  return Put(layout_->RestoreKey(name, file), body);
}

Status BackupStore::GetRestoreFile(std::string_view name, RestoreFile file, ByteSink& sink) {
  LIFEBOAT_RETURN_IF_ERROR(CheckName("restore", name));
  std::string key = layout_->RestoreKey(name, file);
  return Annotate(store_->Get(bucket_, key, sink), "downloading " + key);
}

Status BackupStore::DeleteAll(const std::string& dir, const std::string& last_key) {
  LIFEBOAT_ASSIGN_OR_RETURN(std::vector<std::string> keys, store_->ListObjects(bucket_, dir));
  // The marker goes last, so a delete that fails half-way can be retried from the listing.
  std::stable_partition(keys.begin(), keys.end(), [&](const std::string& k) { return k != last_key; });
  for (const std::string& key : keys) {
    LIFEBOAT_RETURN_IF_ERROR(Annotate(store_->Delete(bucket_, key), "deleting " + key));
  }
  return absl::OkStatus();
}

Status BackupStore::DeleteBackup(std::string_view name) {
  LIFEBOAT_RETURN_IF_ERROR(CheckName("backup", name));
  return DeleteAll(layout_->BackupDir(name), layout_->BackupKey(name, BackupFile::kMetadata));
}

Status BackupStore::DeleteRestore(std::string_view name) {
  LIFEBOAT_RETURN_IF_ERROR(CheckName("restore", name));
  return DeleteAll(layout_->RestoreDir(name), "");
}

StatusOr<std::string> BackupStore::CreateDownloadUrl(std::string_view kind, std::string_view name,
                                                     std::chrono::seconds ttl) {
  LIFEBOAT_ASSIGN_OR_RETURN(DownloadTarget target, ParseDownloadTargetKind(kind));
  LIFEBOAT_RETURN_IF_ERROR(CheckName(target.is_restore ? "restore" : "backup", name));
  std::string key = layout_->DownloadTargetKey(target, name);
  auto url = store_->CreateSignedUrl(bucket_, key, ttl);
  if (!url.ok()) return Annotate(url.status(), "signing a download URL for " + key);
  return url;
}

}  // namespace lifeboat::storage
