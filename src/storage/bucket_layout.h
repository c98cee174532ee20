#pragma once

// Every key Lifeboat reads or writes in a BackupStorageLocation is built here (as Velero keeps
// pkg/persistence/object_store_layout.go), for a location prefix P: "" or "<prefix>/".
// docs/formats/bucket-layout.md is the specification; test/testdata/storage/
// bucket-layout-v1.txt pins the keys.
//
// Names are not validated here (BackupStore does that); the class is a pure value.

#include <string>
#include <string_view>
#include <vector>

#include "lifeboat/storage/backup_files.h"

namespace lifeboat::storage {

class BucketLayout {
 public:
  // `prefix` is the location's objectStorage.prefix: slashes at both ends are trimmed and, when
  // anything is left, one "/" is appended.
  explicit BucketLayout(std::string_view prefix);

  // The only top-level "directories" allowed under P: backups, restores, metadata, plugins,
  // restic, kopia.
  static const std::vector<std::string>& TopLevelDirs();

  const std::string& prefix() const { return prefix_; }  // "" or "p/"
  std::string BackupsDir() const;                         // P backups/
  std::string RestoresDir() const;                        // P restores/
  std::string BackupDir(std::string_view backup) const;   // P backups/<b>/
  std::string RestoreDir(std::string_view restore) const; // P restores/<r>/
  std::string BackupKey(std::string_view backup, BackupFile file) const;
  std::string RestoreKey(std::string_view restore, RestoreFile file) const;
  // P metadata/revision: legacy (Velero < 1.6 wrote it); never written by Lifeboat.
  std::string RevisionKey() const;
  // P <kopia|restic>/<volume namespace>/: a repository's directory.
  std::string RepositoryDir(std::string_view type, std::string_view volume_namespace) const;

  // The key a DownloadRequest target names (`name` is a backup or a restore name).
  std::string DownloadTargetKey(const DownloadTarget& target, std::string_view name) const;

 private:
  std::string prefix_;
};

}  // namespace lifeboat::storage
