#pragma once

// `backup describe`'s "Backup Volumes:" section, from the backup's volume info file (Velero's
// BackupVolumeInfos: a JSON array of BackupVolumeInfo, docs/formats): Velero-native snapshots
// (snapshot id, type, availability zone, IOPS), CSI snapshots (VolumeSnapshotContent, handle,
// driver, size; data movement when the data was moved), pod volume backups, and — lifeboat's
// addition — the volumes that were skipped, with the reason. Without `details` each entry is
// named with "specify --details for more information", as Velero prints it.
//
// Thread safety: pure functions.

#include <boost/json.hpp>
#include <string>

namespace lifeboat::cli {

// `infos` null (the backup has no volume info file) or empty: each kind reads "<none included>",
// as Velero shows a backup without volumes. Entries of unexpected shapes are skipped.
std::string FormatBackupVolumes(const boost::json::value* infos, bool details);

}  // namespace lifeboat::cli
