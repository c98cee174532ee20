#pragma once

// velero.io/v1 DownloadRequest with its JSON codec; unknown fields preserved via `raw`.

#include <optional>
#include <string>

#include <boost/json.hpp>

#include "lifeboat/api/meta.h"
#include "lifeboat/common/status.h"

namespace lifeboat::api {

enum class DownloadTargetKind {
  kUnset,
  kBackupLog,
  kBackupContents,
  kBackupVolumeSnapshots,
  kBackupItemOperations,
  kBackupResourceList,
  kBackupResults,
  kRestoreLog,
  kRestoreResults,
  kRestoreResourceList,
  kRestoreItemOperations,
  kCSIBackupVolumeSnapshots,
  kCSIBackupVolumeSnapshotContents,
  kBackupVolumeInfos,
  kRestoreVolumeInfo,
};
std::string_view ToString(DownloadTargetKind k);
std::optional<DownloadTargetKind> ParseDownloadTargetKind(std::string_view s);

enum class DownloadRequestPhase { kUnset, kNew, kProcessed, kFailed };
std::string_view ToString(DownloadRequestPhase p);

struct DownloadRequest {
  ObjectMeta metadata;
  struct Spec {
    DownloadTargetKind target_kind = DownloadTargetKind::kUnset;
    std::string target_name;  // backup or restore name
    bool operator==(const Spec&) const = default;
  } spec;
  struct Status {
    DownloadRequestPhase phase = DownloadRequestPhase::kUnset;
    std::string download_url;
    std::optional<std::string> expiration;  // RFC 3339
    std::string message;
    bool operator==(const Status&) const = default;
  } status;
  boost::json::object raw;
};

StatusOr<DownloadRequest> DownloadRequestFromJson(const boost::json::value& v);
boost::json::value ToJson(const DownloadRequest& r);

}  // namespace lifeboat::api
