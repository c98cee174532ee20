#pragma once

// `lifeboat backup-location create|get|set|delete` and `lifeboat snapshot-location
// create|get|set|delete` (docs/cli.md): Velero's commands for BackupStorageLocations and
// VolumeSnapshotLocations. The pure parts (flags to objects, tables) are separate functions so
// they are tested without a cluster; location_client.cc runs them against the API.

#include <CLI/CLI.hpp>
#include <optional>
#include <string>
#include <vector>

#include "lifeboat/api/backup_storage_location.h"
#include "lifeboat/api/volume_snapshot_location.h"
#include "lifeboat/common/status.h"

namespace lifeboat::cli {

struct BslCreateFlags {
  std::string name, provider, bucket, prefix;
  std::string config;      // "k1=v1,k2=v2"
  std::string credential;  // "secret=key" (one pair)
  bool default_ = false;
  std::string access_mode = "ReadWrite";
  std::string backup_sync_period, validation_frequency;  // Go durations; "" = unset
  std::string cacert_file;
  std::string labels;
  std::string output;  // "", "json", "yaml": print instead of creating
};

// Parses Velero's --credential value: exactly one "secret=key" pair. InvalidArgument otherwise.
StatusOr<api::SecretKeySelector> ParseCredential(const std::string& text);

// The BackupStorageLocation the flags describe, in namespace `ns`; `cacert` is the content of
// --cacert's file (stored base64-encoded in spec.objectStorage.caCert). InvalidArgument naming
// the flag for a missing name, --provider or --bucket, a bad --config / --labels / --credential
// value, an access mode other than ReadWrite / ReadOnly, or a bad duration.
StatusOr<api::BackupStorageLocation> BuildBackupStorageLocation(const BslCreateFlags& f,
                                                                const std::string& ns,
                                                                const std::string& cacert);

struct VslCreateFlags {
  std::string name, provider, config, credential, labels;
  std::string output;
};

StatusOr<api::VolumeSnapshotLocation> BuildVolumeSnapshotLocation(const VslCreateFlags& f,
                                                                  const std::string& ns);

// NAME PROVIDER BUCKET/PREFIX PHASE LAST VALIDATED ACCESS MODE DEFAULT, by name (Velero's
// columns: "Unknown" for an unset phase or validation time, ReadWrite for an unset access mode,
// "true" or empty for DEFAULT).
std::string BackupLocationTable(std::vector<api::BackupStorageLocation> locations);

// NAME PROVIDER, by name.
std::string SnapshotLocationTable(std::vector<api::VolumeSnapshotLocation> locations);

// The confirmation question of `backup-location delete` for `count` locations.
std::string BackupLocationDeleteQuestion(size_t count);

void AddLocationCommands(CLI::App& app, int* exit_code);

}  // namespace lifeboat::cli
