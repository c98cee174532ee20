#pragma once

// Files the server keeps next to a backup or restore (logs, results), fetched the way Velero's
// CLI fetches them: a DownloadRequest is created, the server answers with a signed URL in
// status.downloadURL (https:// for S3/Azure, file:// for a local-directory bucket), the CLI
// fetches the URL and gunzips the content. The DownloadRequest is deleted afterwards.

#include <chrono>
#include <string>
#include <string_view>

#include "lifeboat/api/download_request.h"
#include "lifeboat/common/status.h"
#include "src/cli/client.h"

namespace lifeboat::cli {

// The gunzipped content of `kind` for `target`. Errors: the API error creating the request
// (explained), DeadlineExceeded when no server processed the request within `timeout` (the
// message says how to check the server), FailedPrecondition with the server's message when it
// could not produce a URL, or the fetch / gunzip error.
StatusOr<std::string> DownloadText(ApiClient& c, api::DownloadTargetKind kind,
                                   const std::string& target, std::chrono::milliseconds timeout);

// The same, without gunzipping (`backup download` writes the tarball as stored).
StatusOr<std::string> DownloadBytes(ApiClient& c, api::DownloadTargetKind kind,
                                    const std::string& target, std::chrono::milliseconds timeout);

// Reads a file:// URL (percent-decoded path) or GETs an http(s):// URL; other schemes are
// InvalidArgument. The URL (it carries signatures) is never part of an error message.
StatusOr<std::string> FetchUrl(const std::string& url);

}  // namespace lifeboat::cli
