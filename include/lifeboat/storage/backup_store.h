#pragma once

// BackupStore: Velero's bucket layout over an ObjectStore (pkg/persistence/object_store.go).
// It validates that a location holds only Velero's top-level folders, lists backups, uploads a
// backup's files in Velero's order (cleaning up on failure), reads and writes each backup and
// restore file, deletes a backup's or restore's files, and signs download URLs for
// DownloadRequests. Every key comes from src/storage/bucket_layout.cc.
//
// Errors: the ObjectStore's codes, annotated with the key ("uploading backups/b1/b1.tar.gz:
// ..."); InvalidArgument for a backup/restore name that cannot be a key segment (empty, ".",
// "..", or containing "/"); FailedPrecondition from Validate for a foreign layout.
//
// Thread safety: every method may be called from any number of threads at once.

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "lifeboat/common/byte_stream.h"
#include "lifeboat/common/status.h"
#include "lifeboat/storage/backup_files.h"
#include "lifeboat/storage/object_store.h"

namespace lifeboat::storage {

class BucketLayout;

// The files of one backup, for PutBackup. Sources are borrowed (they must outlive the call).
struct BackupUpload {
  std::string name;
  std::string metadata_json;        // velero-backup.json (required)
  ByteSource* contents = nullptr;   // <b>.tar.gz (required)
  ByteSource* log = nullptr;        // <b>-logs.gz (optional; an upload error is ignored)
  // The remaining files (gzipped JSON), uploaded in BackupFile order after the tarball. Only
  // kPodVolumeBackups, kVolumeSnapshots, kItemOperations, kResourceList, kResults and
  // kVolumeInfo are accepted here.
  std::map<BackupFile, ByteSource*> files;
};

class BackupStore {
 public:
  // `store` is shared (the same driver may serve several stores); `prefix` is the location's
  // objectStorage.prefix (may be empty).
  BackupStore(std::shared_ptr<ObjectStore> store, std::string bucket, std::string_view prefix);
  ~BackupStore();

  const std::string& bucket() const { return bucket_; }
  const BucketLayout& layout() const { return *layout_; }

  // OK when every top-level folder under the prefix is one of Velero's (backups, restores,
  // metadata, plugins, restic, kopia); loose objects there are tolerated. FailedPrecondition
  // naming up to three offending folders otherwise (a BackupStorageLocation is then
  // Unavailable); the store's own errors (e.g. a missing bucket) as they are.
  Status Validate();

  // Names of the backups under backups/ that have a velero-backup.json, sorted.
  StatusOr<std::vector<std::string>> ListBackups();
  // Names of the restores under restores/ (any file), sorted.
  StatusOr<std::vector<std::string>> ListRestores();
  // True when backups/<name>/velero-backup.json exists.
  StatusOr<bool> BackupExists(std::string_view name);

  // Uploads a backup: the log (errors ignored), the tarball, the other files, and
  // velero-backup.json LAST (unlike Velero, which writes it second and rewrites it later), so a
  // backup is visible only once complete and no object is ever rewritten. On a failure the
  // files already uploaded are deleted. InvalidArgument without uploading anything when the
  // name, metadata or contents are missing or `files` holds a kind that does not belong there.
  Status PutBackup(const BackupUpload& upload);

  // One file of a backup. Get: NotFound when the file is missing.
  Status PutBackupFile(std::string_view name, BackupFile file, ByteSource& body);
  Status GetBackupFile(std::string_view name, BackupFile file, ByteSink& sink);
  // velero-backup.json (at most 64 MiB), and its rewrite as a backup's status advances.
  StatusOr<std::string> GetBackupMetadata(std::string_view name);
  Status PutBackupMetadata(std::string_view name, std::string json);

  Status PutRestoreFile(std::string_view name, RestoreFile file, ByteSource& body);
  Status GetRestoreFile(std::string_view name, RestoreFile file, ByteSink& sink);

  // Deletes every object under backups/<name>/ (restores/<name>/); OK when there is none.
  // velero-backup.json goes last, so an interrupted delete still lists the backup.
  Status DeleteBackup(std::string_view name);
  Status DeleteRestore(std::string_view name);

  // A signed GET URL for a DownloadRequest target (`kind` as in its spec.target.kind, `name`
  // its spec.target.name). InvalidArgument for an unknown kind.
  StatusOr<std::string> CreateDownloadUrl(std::string_view kind, std::string_view name,
                                          std::chrono::seconds ttl = std::chrono::minutes(10));

 private:
  Status Put(const std::string& key, ByteSource& body);
  Status DeleteAll(const std::string& dir, const std::string& last_key);

  std::shared_ptr<ObjectStore> store_;
  std::string bucket_;
  std::unique_ptr<BucketLayout> layout_;
};

}  // namespace lifeboat::storage
