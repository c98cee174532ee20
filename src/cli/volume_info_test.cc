#include "src/cli/volume_info.h"

#include <gtest/gtest.h>

#include "lifeboat/common/json.h"

namespace lifeboat::cli {
namespace {

// The shapes of Velero's BackupVolumeInfo (docs/formats, velero-inventory).
constexpr const char* kInfos = R"([
 {"pvcName":"data","pvcNamespace":"shop","pvName":"pvc-1111","backupMethod":"CSISnapshot",
  "snapshotDataMoved":false,"preserveLocalSnapshot":true,"skipped":false,"result":"succeeded",
  "csiSnapshotInfo":{"snapshotHandle":"snap-abc","size":10737418240,"driver":"ebs.csi.aws.com",
  "vscName":"snapcontent-2222","operationID":"shop/velero-data-x7k2q/2026","ReadyToUse":true}},
 {"pvcName":"db","pvcNamespace":"shop","pvName":"pvc-2222","backupMethod":"NativeSnapshot",
  "snapshotDataMoved":false,"preserveLocalSnapshot":false,"skipped":false,"result":"succeeded",
  "nativeSnapshotInfo":{"snapshotHandle":"snap-0123","volumeType":"gp3","volumeAZ":"us-east-1a",
  "iops":"3000","Phase":"Completed"}},
 {"pvcName":"cache","pvcNamespace":"shop","pvName":"pvc-3333","snapshotDataMoved":false,
  "preserveLocalSnapshot":false,"skipped":true,
  "skippedReason":"volumeSnapshot: no volume snapshot location for provider;"},
 {"pvcName":"logs","pvcNamespace":"shop","pvName":"pvc-4444","backupMethod":"PodVolumeBackup",
  "snapshotDataMoved":false,"preserveLocalSnapshot":false,"skipped":false,"result":"succeeded",
  "pvbInfo":{"uploaderType":"kopia","volumeName":"logs","podName":"web-0","podNamespace":"shop",
  "Phase":"Completed"}},
 "not an object"
])";

TEST(FormatBackupVolumesTest, NoFileOrNoVolumesIsNoneIncluded) {
  const std::string none =
      "Backup Volumes:\n"
      "  Velero-Native Snapshots: <none included>\n"
      "\n"
      "  CSI Snapshots: <none included>\n"
      "\n"
      "  Pod Volume Backups: <none included>\n";
  EXPECT_EQ(FormatBackupVolumes(nullptr, true), none);
  boost::json::value empty = boost::json::array();
  EXPECT_EQ(FormatBackupVolumes(&empty, false), none);
}

TEST(FormatBackupVolumesTest, SummaryWithoutDetails) {
  auto v = ParseJson(kInfos);
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(FormatBackupVolumes(&*v, false),
            "Backup Volumes:\n"
            "  Velero-Native Snapshots:\n"
            "    pvc-2222: specify --details for more information\n"
            "\n"
            "  CSI Snapshots:\n"
            "    shop/data:\n"
            "      Snapshot: included, specify --details for more information\n"
            "\n"
            "  Pod Volume Backups - kopia (specify --details for more information):\n"
            "    Completed:  1\n"
            "\n"
            "  Skipped Volumes:  1 (specify --details for more information)\n");
}

TEST(FormatBackupVolumesTest, DetailsListEachVolume) {
  auto v = ParseJson(kInfos);
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(
      FormatBackupVolumes(&*v, true),
      "Backup Volumes:\n"
      "  Velero-Native Snapshots:\n"
      "    pvc-2222:\n"
      "      Snapshot ID:        snap-0123\n"
      "      Type:               gp3\n"
      "      Availability Zone:  us-east-1a\n"
      "      IOPS:               3000\n"
      "      Result:             succeeded\n"
      "\n"
      "  CSI Snapshots:\n"
      "    shop/data:\n"
      "      Snapshot:\n"
      "        Operation ID:           shop/velero-data-x7k2q/2026\n"
      "        Snapshot Content Name:  snapcontent-2222\n"
      "        Storage Snapshot ID:    snap-abc\n"
      "        Snapshot Size (bytes):  10737418240\n"
      "        CSI Driver:             ebs.csi.aws.com\n"
      "        Result:                 succeeded\n"
      "\n"
      "  Pod Volume Backups - kopia:\n"
      "    Completed:\n"
      "      shop/web-0: logs\n"
      "\n"
      "  Skipped Volumes:\n"
      "    shop/cache (pvc-3333): volumeSnapshot: no volume snapshot location for provider\n");
}

TEST(FormatBackupVolumesTest, DataMovement) {
  auto v = ParseJson(R"([{"pvcName":"d","pvcNamespace":"n","backupMethod":"CSISnapshot",
    "snapshotDataMoved":true,"preserveLocalSnapshot":false,"skipped":false,"result":"succeeded",
    "snapshotDataMovementInfo":{"dataMover":"velero","uploaderType":"kopia","operationID":"op1",
    "size":42,"snapshotHandle":"h","Phase":"Completed"}}])");
  ASSERT_TRUE(v.ok());
  const std::string out = FormatBackupVolumes(&*v, true);
  EXPECT_NE(out.find("    n/d:\n      Data Movement:\n        Operation ID:"), std::string::npos)
      << out;
  EXPECT_NE(out.find("Moved data Size (bytes):  42\n"), std::string::npos) << out;
  EXPECT_EQ(out.find("Snapshot Content Name"), std::string::npos) << out;
}

}  // namespace
}  // namespace lifeboat::cli
