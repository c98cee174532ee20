#pragma once

// The Azure Blob Storage driver (`provider: azure` / `velero.io/azure`), configured with the
// config keys and credentials file of Velero's Azure plugin (docs/storage.md, "Azure").
//
// Requests go to the Blob REST API (x-ms-version kApiVersion) over lifeboat::http::Client,
// authenticated by Shared Key, a SAS token, or an AAD bearer token (service principal or AKS
// workload identity). Small bodies are written with Put Blob; large and unknown-size bodies with
// Put Block (several blocks in flight, bounded buffers) and one Put Block List at the end, so a
// failed upload leaves no visible object (Azure discards uncommitted blocks after a week).
//
// Error codes follow lifeboat/storage/object_store.h: BlobNotFound → NotFound,
// ContainerNotFound → FailedPrecondition, 403 (AuthenticationFailed, AuthorizationFailure) →
// PermissionDenied, 401 → Unauthenticated, 429/500/503/ServerBusy → Unavailable. Messages carry
// Azure's error code and the first line of its message, never a key, token or SAS signature.
//
// Thread safety: every method may be called from any number of threads at once.

#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "lifeboat/common/clock.h"
#include "lifeboat/http/client.h"
#include "lifeboat/storage/object_store.h"
#include "lifeboat/storage/registry.h"
#include "src/storage/drivers/azure/azure_auth.h"
#include "src/storage/drivers/azure/azure_config.h"

namespace lifeboat::storage::azure {

class AzureBlobObjectStore : public ObjectStore {
 public:
  // `clock` is borrowed (null: the real clock). InvalidArgument for unusable TLS settings.
  static StatusOr<std::unique_ptr<AzureBlobObjectStore>> Create(AzureSettings settings,
                                                                Clock* clock = nullptr);

  Status Put(std::string_view bucket, std::string_view key, ByteSource& body) override;
  Status Get(std::string_view bucket, std::string_view key, ByteSink& sink,
             const GetOptions& options = {}, int64_t* written = nullptr) override;
  StatusOr<bool> Exists(std::string_view bucket, std::string_view key) override;
  StatusOr<std::vector<std::string>> ListCommonPrefixes(std::string_view bucket,
                                                        std::string_view prefix,
                                                        std::string_view delimiter) override;
  StatusOr<std::vector<std::string>> ListObjects(std::string_view bucket,
                                                 std::string_view prefix) override;
  Status Delete(std::string_view bucket, std::string_view key) override;
  // Shared Key: a service SAS (sp=r). AAD: a user delegation SAS. SAS-token mode: the blob URL
  // with the configured token (its own expiry applies, not `ttl`).
  StatusOr<std::string> CreateSignedUrl(std::string_view bucket, std::string_view key,
                                        std::chrono::seconds ttl) override;

  const AzureSettings& settings() const { return settings_; }
  // Smaller listing pages, so tests can exercise NextMarker continuation.
  void set_list_page_size_for_testing(int n) { list_page_size_ = n; }

 private:
  struct Call;
  AzureBlobObjectStore(AzureSettings settings, std::unique_ptr<http::Client> client, Clock* clock);

  std::string Url(const Call& call) const;
  Status Authorize(http::ClientRequest& request, const Call& call, bool refresh_token);
  StatusOr<http::ClientResponse> Send(Call& call);
  Status PutSingle(std::string_view bucket, std::string_view key, ByteSource& body, int64_t size);
  Status PutBlocks(std::string_view bucket, std::string_view key, ByteSource& body,
                   std::string first_block);
  Status PutBlock(std::string_view bucket, std::string_view key, const std::string& block_id,
                  const std::string& data);
  Status CommitBlocks(std::string_view bucket, std::string_view key,
                      const std::vector<std::string>& block_ids);
  StatusOr<std::vector<std::string>> List(std::string_view bucket, std::string_view prefix,
                                          std::string_view delimiter, bool want_prefixes);
  // The account key: from the settings, or fetched once through ARM listKeys.
  StatusOr<std::string> AccountKey();
  StatusOr<UserDelegationKey> GetUserDelegationKey(Clock::TimePoint start, Clock::TimePoint expiry);

  const AzureSettings settings_;
  const std::unique_ptr<http::Client> client_;
  Clock* const clock_;
  std::unique_ptr<TokenSource> tokens_;  // AAD modes and ARM listKeys
  std::mutex key_mu_;
  std::string arm_key_;        // guarded by key_mu_
  std::string endpoint_path_;  // path part of the endpoint ("/devstoreaccount1" or "")
  int list_page_size_ = 5000;
};

// The registry's entry point for provider "azure". Errors as ResolveSettings and Create.
StatusOr<std::unique_ptr<ObjectStore>> NewAzureBlobObjectStore(const DriverParams& params);

}  // namespace lifeboat::storage::azure
