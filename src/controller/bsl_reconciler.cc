#include "src/controller/bsl_reconciler.h"

#include <boost/json.hpp>
#include <utility>

#include "lifeboat/api/time.h"
#include "lifeboat/common/json.h"
#include "lifeboat/common/log.h"
#include "lifeboat/controller/kinds.h"

namespace lifeboat::controller {

namespace json = boost::json;
using std::chrono::milliseconds;

std::string SpecFingerprint(const api::BackupStorageLocation& bsl) {
  const json::value obj = api::ToJson(bsl);
  const json::value* spec = JsonFind(obj, {"spec"});
  return spec ? CanonicalJson(*spec) : "";
}

BackupStorageLocationReconciler::BackupStorageLocationReconciler(const ServerContext& ctx)
    : ctx_(ctx) {}

milliseconds BackupStorageLocationReconciler::Frequency(
    const api::BackupStorageLocation& bsl) const {
  milliseconds frequency = ctx_.options.store_validation_frequency;
  if (bsl.spec.validation_frequency) {
    const auto own = std::chrono::duration_cast<milliseconds>(*bsl.spec.validation_frequency);
    // Velero: a negative frequency means the server's.
    if (own >= milliseconds::zero()) frequency = own;
  }
  return frequency < milliseconds::zero() ? milliseconds::zero() : frequency;
}

StatusOr<Result> BackupStorageLocationReconciler::Reconcile(const std::string& name,
                                                            const CancellationToken& cancel) {
  LIFEBOAT_ASSIGN_OR_RETURN(auto found, GetIfExists(*ctx_.client, kBackupStorageLocations,
                                                    ctx_.options.ns, name, cancel));
  if (!found) {
    ctx_.metrics->RemoveBackupLocation(name);
    ctx_.stores->Forget(name);
    std::lock_guard lock(mu_);
    validated_specs_.erase(name);
    return Result{};
  }
  auto bsl = api::BackupStorageLocationFromJson(*found);
  if (!bsl.ok()) {
    // A malformed object cannot be fixed by retrying; the next edit brings it back.
    LB_LOG_ERROR("backup storage location {}: cannot read it: {}", name, bsl.status().ToString());
    return Result{};
  }
  const milliseconds frequency = Frequency(*bsl);
  const auto now = ctx_.clock->Now();
  std::optional<api::TimePoint> last;
  if (bsl->status.last_validation_time) {
    if (auto t = api::ParseRfc3339(*bsl->status.last_validation_time); t.ok()) last = *t;
  }
  bool spec_changed;
  {
    std::lock_guard lock(mu_);
    auto it = validated_specs_.find(name);
    spec_changed = it == validated_specs_.end() || it->second != SpecFingerprint(*bsl);
  }
  const bool due =
      !last || spec_changed || (frequency > milliseconds::zero() && now >= *last + frequency);
  if (!due) {
    // Nothing to write: keep the gauge in line with the stored phase.
    ctx_.metrics->SetBackupLocationAvailable(
        name, bsl->status.phase == api::BackupStorageLocationPhase::kAvailable);
    if (frequency == milliseconds::zero()) return Result{};
    auto left = std::chrono::ceil<milliseconds>(*last + frequency - now);
    return Result{std::max(left, milliseconds(1))};
  }
  return Validate(*bsl, cancel);
}

StatusOr<bool> BackupStorageLocationReconciler::ShouldBecomeDefault(
    const api::BackupStorageLocation& bsl, const CancellationToken& cancel) {
  if (bsl.spec.default_ || bsl.metadata.name != ctx_.options.default_backup_storage_location) {
    return false;
  }
  kube::ListOptions options;
  options.cancel = cancel;
  LIFEBOAT_ASSIGN_OR_RETURN(auto page,
                            ctx_.client->List(kBackupStorageLocations, ctx_.options.ns, options));
  for (const auto& item : page.items) {
    if (JsonBool(item, {"spec", "default"}).value_or(false)) return false;
  }
  return true;
}

StatusOr<Result> BackupStorageLocationReconciler::Validate(const api::BackupStorageLocation& bsl,
                                                           const CancellationToken& cancel) {
  const std::string& name = bsl.metadata.name;
  Status valid = absl::OkStatus();
  auto store = ctx_.stores->ForLocation(bsl, cancel);
  if (!store.ok()) {
    valid = store.status();
  } else {
    valid = (*store)->Validate();
  }
  // Shutting down mid-validation says nothing about the location: leave it as it is.
  if (cancel.IsCancelled()) return cancel.status();

  json::object status{{"lastValidationTime", api::FormatRfc3339(ctx_.clock->Now())}};
  if (valid.ok()) {
    status["phase"] = std::string(api::ToString(api::BackupStorageLocationPhase::kAvailable));
    status["message"] = nullptr;  // a merge patch's null removes a previous reason
    // Said once per change of phase; every periodic validation is a debug line.
    if (bsl.status.phase != api::BackupStorageLocationPhase::kAvailable) {
      LB_LOG_INFO("backup storage location {} is valid, marking it Available", name);
    } else {
      LB_LOG_DEBUG("backup storage location {} is still valid", name);
    }
  } else {
    const std::string message =
        "BackupStorageLocation \"" + name + "\" is unavailable: " + std::string(valid.message());
    status["phase"] = std::string(api::ToString(api::BackupStorageLocationPhase::kUnavailable));
    status["message"] = message;
    LB_LOG_WARN("backup storage location {}: {}", name, message);
  }
  json::object patch{{"status", std::move(status)}};
  if (valid.ok()) {
    LIFEBOAT_ASSIGN_OR_RETURN(bool make_default, ShouldBecomeDefault(bsl, cancel));
    if (make_default) {
      patch["spec"] = json::object{{"default", true}};
      LB_LOG_INFO(
          "backup storage location {}: no location is the default, marking it default "
          "(--default-backup-storage-location)",
          name);
    }
  }
  LIFEBOAT_ASSIGN_OR_RETURN(auto patched, MergePatch(*ctx_.client, kBackupStorageLocations,
                                                     ctx_.options.ns, name, patch, "", cancel));
  ctx_.metrics->SetBackupLocationAvailable(name, valid.ok());
  // Remember the spec as stored after the patch, so that our own spec.default change does not
  // count as a user's change.
  std::string fingerprint = SpecFingerprint(bsl);
  if (auto stored = api::BackupStorageLocationFromJson(patched); stored.ok()) {
    fingerprint = SpecFingerprint(*stored);
  }
  {
    std::lock_guard lock(mu_);
    validated_specs_[name] = std::move(fingerprint);
  }
  const milliseconds frequency = Frequency(bsl);
  return Result{frequency};
}

}  // namespace lifeboat::controller
