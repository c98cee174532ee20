#pragma once

// Pieces shared by the Azure driver's source files. Private to the driver.

#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "lifeboat/http/client.h"
#include "src/storage/drivers/azure/azure_object_store.h"

namespace lifeboat::storage::azure {

// One Blob REST call before authentication.
struct AzureBlobObjectStore::Call {
  std::string op;  // for messages: "getting", "uploading", ...
  std::string method = "GET";
  std::string container;                                   // empty: the service itself
  std::string blob;                                        // decoded name; empty: the container
  std::vector<std::pair<std::string, std::string>> query;  // decoded
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  ByteSource* body_source = nullptr;
  int64_t content_length = 0;
  std::function<bool(const http::ClientResponse&, std::string_view)> on_body;
  std::optional<std::chrono::milliseconds> timeout;
  // Runs before each attempt (a second one follows a refreshed token): resets per-attempt state.
  std::function<void()> before_attempt;
};

// Maps an error response of a Blob call to a Status (object_store.h codes). `what` names the
// object ("getting c/backups/x"); `body` is the error body when the caller buffered it.
Status BlobError(const http::ClientResponse& response, std::string_view body,
                 std::string_view what);

// Validates a key: InvalidArgument when empty, longer than Azure's 1,024 characters, or with a
// "." or ".." path segment (HTTP clients and servers would resolve it to another name).
Status CheckKey(std::string_view key);

}  // namespace lifeboat::storage::azure
