#pragma once

// One restore in progress: everything Restorer::Run shares between the priority loop
// (restorer.cc) and the per-item pipeline (item_restorer.cc, namespaces.cc, volumes.cc).
//
// Thread safety: the per-item methods run on the work pool's threads at once; shared state is
// behind `mu_` or atomic.

#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <boost/json.hpp>

#include "lifeboat/api/filters.h"
#include "lifeboat/api/label_selector.h"
#include "lifeboat/restore/restorer.h"
#include "src/engine/velero_log.h"
#include "src/restore/backup_contents.h"

namespace lifeboat::restore {

class RestoreExecHooks;
class ResourceModifiers;

// An item of the backup: its group-resource, the version directory it is read from, and its
// namespace in the backup (ORIGINAL, "" for cluster-scoped).
struct ItemRef {
  std::string gr;
  std::string version_dir;
  std::string ns;
  std::string name;
};

// The restore's resource modifiers (spec.resourceModifier, a ConfigMap in `ns`), or null when it
// names none. InvalidArgument / NotFound: the restore fails validation.
StatusOr<std::unique_ptr<ResourceModifiers>> LoadModifiersFor(const api::Restore& restore,
                                                              kube::DynamicClient* client,
                                                              const std::string& ns);

// Velero's must-have resources: processed even when filters and selectors exclude them.
bool IsMustHave(std::string_view gr);

// Velero's restored-resource list: "<gv>/<Kind>" -> "ns/name(action)".
class ResourceList {
 public:
  void Add(std::string gvk, std::string entry);
  boost::json::object ToJson() const;  // lists sorted

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::vector<std::string>> items_;
};

// A native snapshot recorded in <backup>-volumesnapshots.json.gz.
struct NativeSnapshot {
  std::string location;
  std::string snapshot_id;
  std::string volume_type;
  std::string volume_az;
  std::optional<int64_t> iops;
};

class RestoreRun {
 public:
  RestoreRun(const RestorerDeps& deps, const RestorerOptions& options, api::Restore& restore,
             const api::Backup& backup, BackupContents contents, engine::RestoreLog& log,
             CancellationToken cancel);
  ~RestoreRun();

  // Filters, selectors, actions, modifiers and hooks; an error is the restore's failure reason.
  // `snapshots`: native snapshots by PV name; `data_elsewhere`: PVs whose data the backup kept
  // by other means (CSI snapshot, file-system backup, data mover, per its volume info) — they
  // are not restored: their claims provision new volumes.
  Status Prepare(std::map<std::string, NativeSnapshot> snapshots,
                 std::set<std::string> data_elsewhere,
                 std::unique_ptr<ResourceModifiers> modifiers);
  // Pass 1 (CRDs, waiting until Established) and pass 2 (everything else in priority order).
  // `tick` is called on this thread now and then (progress reports).
  Status RestoreAll(const std::function<void()>& tick);
  // Waits for the exec hooks started for restored pods.
  void WaitForHooks();

  const ResourceList& resource_list() const { return list_; }
  int64_t items_restored() const { return items_restored_.load(); }
  int64_t total_items() const { return total_items_; }
  int64_t hooks_attempted() const;
  int64_t hooks_failed() const;

  // Used by the priority loop and the item pipeline.
  void RestoreResource(const std::string& gr, bool crd_pass);
  void RestoreItem(const ItemRef& ref, bool additional);
  // Hands `names` (items of one namespace, "" for cluster-scoped) to the workers.
  void SubmitItems(const std::string& gr, const std::string& version_dir, const std::string& ns,
                   const std::vector<std::string>& names);

 private:
  // glue.cc: the built-in actions, the resource-modifier ConfigMap and the hooks.
  Status PrepareActionsModifiersHooks();
  Status ApplyModifiers(boost::json::value& obj, const std::string& gr);
  void PodRestored(const boost::json::value& created);
  std::optional<kube::ApiResource> ResolveResource(const std::string& group,
                                                   const std::string& version,
                                                   const std::string& resource,
                                                   const std::string& kind);
  bool ResourceIncluded(const std::string& gr, bool namespaced) const;
  bool ItemSelected(const boost::json::value& item) const;
  // Claims (gr, target namespace, name) for this run; false when already claimed.
  bool Claim(const std::string& gr, const std::string& ns, const std::string& name);
  std::string TargetNamespace(const std::string& ns) const;
  Status EnsureNamespace(const std::string& source_ns, const std::string& target_ns);
  Status WaitForCrdEstablished(const std::string& name);
  void RunActions(const ItemRef& ref, boost::json::value& obj, const boost::json::value& original,
                  bool* skip, Status* error);
  // §6.6: what to do with a PV; may rewrite it. False: do not create it.
  bool PreparePersistentVolume(const ItemRef& ref, boost::json::value& pv);
  void PreparePersistentVolumeClaim(boost::json::value& pvc);
  // AlreadyExists: compare, update or warn (§6.5 step 9). Returns the action for the list.
  std::string HandleExisting(const kube::ApiResource& res, const std::string& ns,
                             const boost::json::value& desired, const engine::LogFields& f);
  void RestoreStatusAndManagedFields(const kube::ApiResource& res, const std::string& ns,
                                     boost::json::value created, const boost::json::value& status,
                                     const boost::json::value& original,
                                     const engine::LogFields& f);
  bool ShouldRestoreStatus(const std::string& gr, const boost::json::value& item) const;
  void Record(const boost::json::value& obj, const std::string& ns, const std::string& action);

  const RestorerDeps& deps_;
  const RestorerOptions& options_;
  api::Restore& restore_;
  const api::Backup& backup_;
  BackupContents contents_;
  engine::RestoreLog& log_;
  CancellationToken cancel_;
  Clock* clock_;

  plugin::RestoreContext context_;
  api::NamespaceIncludesExcludes namespaces_;
  api::IncludesExcludes resources_;
  std::optional<api::IncludesExcludes> restore_status_;
  std::vector<api::LabelSelector> or_selectors_;
  std::optional<api::LabelSelector> selector_;
  std::vector<std::pair<std::shared_ptr<plugin::RestoreItemAction>, plugin::ResourceSelector>>
      actions_;
  std::unique_ptr<ResourceModifiers> modifiers_;
  std::unique_ptr<RestoreExecHooks> hooks_;
  std::map<std::string, NativeSnapshot> snapshots_;  // by PV name
  std::set<std::string> data_elsewhere_;             // PV names

  std::mutex mu_;
  std::condition_variable ns_cv_;
  std::set<std::string> claimed_;
  std::map<std::string, std::optional<Status>> namespaces_ensured_;  // nullopt: in progress
  std::set<std::string> pvs_to_provision_;
  std::map<std::string, std::string> renamed_pvs_;
  std::map<std::string, kube::ApiResource> resolved_;  // "group/version/resource"
  ResourceList list_;
  class WorkPool* pool_ = nullptr;                 // during RestoreAll
  const std::function<void()>* tick_ = nullptr;  // during RestoreAll
  std::atomic<int64_t> items_restored_{0};
  int64_t total_items_ = 0;
};

}  // namespace lifeboat::restore
