#pragma once

// DownloadRequestReconciler: Velero's download-request controller. A new DownloadRequest names a
// file of a backup or restore (spec.target.kind / name); the reconciler finds the backup (for
// restore kinds: the restore's spec.backupName), its storage location, and writes a signed GET
// URL into status.downloadURL (phase Processed, expiration = now + the URL's lifetime). A request
// whose backup or restore has not written anything yet (New, queued, FailedValidation) becomes
// Failed with status.message. Every request is deleted once status.expiration has passed.
// docs/server/schedules-and-requests.md describes the rules.
//
// Reconcile:
//   - OK with requeue_after = the time left until the request expires (then it is deleted).
//   - Errors (retried with backoff until the request expires): the backup, restore or location
//     does not exist yet (NotFound), the store cannot be built or cannot sign (its code), the
//     API server's errors. The first attempt already records the expiration, so a request that
//     can never be served is still deleted after its lifetime.
//
// Thread safety: Reconcile may be called concurrently for different requests.

#include <string>

#include "lifeboat/controller/context.h"
#include "lifeboat/controller/reconciler.h"

namespace lifeboat::controller {

class DownloadRequestReconciler : public Reconciler {
 public:
  explicit DownloadRequestReconciler(const ServerContext& ctx);

  StatusOr<Result> Reconcile(const std::string& name, const CancellationToken& cancel) override;

 private:
  struct Signed {
    std::string url;      // set on success
    std::string failure;  // set instead when the target cannot have the file (phase Failed)
  };
  StatusOr<Signed> SignUrl(const std::string& kind, const std::string& target,
                           const CancellationToken& cancel);

  ServerContext ctx_;
};

}  // namespace lifeboat::controller
