#pragma once

// Backs up one item at a time (Velero §5.6): the per-item checks, the item actions (and the
// additional items they name, fetched and backed up in turn, once each), hooks around pods,
// CSI snapshots of claims (through the CSI actions) and native snapshots of PVs, the volume
// info, and the archive entries. A pod's volumes are snapshotted between its pre and post hooks
// (its claims are its additional items); a pod whose pre hook fails with onError Fail blocks
// the snapshots of its claims' volumes for the rest of the backup. Called from the single writer
// thread; what it keeps grows with the number of items only by their names (for the resource
// list Velero writes) and the additional items seen.

#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <boost/json.hpp>

#include "absl/container/flat_hash_set.h"

#include "lifeboat/archive/writer.h"
#include "lifeboat/backup/backupper.h"
#include "lifeboat/common/cancellation.h"
#include "lifeboat/kube/dynamic_client.h"
#include "src/backup/actions/csi_actions.h"
#include "src/backup/backup_log.h"
#include "src/backup/filters.h"
#include "src/backup/hooks.h"

namespace lifeboat::backup {

// FNV-1a 64 of an item's "gr/ns/name": the same in every process and build (std::hash and
// absl::Hash are not), so the written set can be kept in a checkpoint.
uint64_t ItemKeyHash(std::string_view key);
// ItemKeyHash of "<gr>/<ns>/<name>", without building the key.
uint64_t ItemKeyHash(std::string_view gr, std::string_view ns, std::string_view name);

struct ItemCounts {
  int64_t items = 0;  // objects written (each once, whatever the number of version copies)
  int64_t snapshots_attempted = 0;
  int64_t snapshots_completed = 0;
  int64_t csi_snapshots_attempted = 0;  // VolumeSnapshots created (status.csiVolumeSnapshots*)
  int64_t csi_snapshots_completed = 0;  // of those, the ones that became ready
};

class ItemBackupper {
 public:
  ItemBackupper(const BackupperDeps& deps, const api::Backup& backup, const BackupFilters& filters,
                archive::ArchiveWriter& writer, BackupLog& log, HookRunner& hooks,
                CancellationToken cancel);

  // Backs up an item listed from `resource` (already filtered by namespace and selector).
  // `encoded`: the item's CanonicalJson when already computed (empty: computed here). Errors
  // here are the archive's (fatal); item problems are logged and counted.
  Status BackupListed(const kube::ApiResource& resource, boost::json::value item,
                      std::string encoded = {});
  // The same for a lazily parsed item: an item no action, hook or snapshot applies to is
  // checked and written from its tape; the others go through a DOM of it (item.Json()).
  Status BackupListed(const kube::ApiResource& resource, const kube::LazyItem& item,
                      std::string_view encoded = {});

  // Namespaces that hold a backed-up item.
  const std::set<std::string>& namespaces_used() const { return namespaces_used_; }
  // Group-resources with at least one item written.
  const std::set<std::string>& group_resources_used() const { return group_resources_used_; }
  // "<apiVersion>/<Kind>" -> sorted "ns/name" (or "name"): the resource list file.
  boost::json::object ResourceList() const;
  // boost::json::serialize(ResourceList()), written directly (a cluster's worth of names), a
  // piece per kind: `out` gets "{" + the first kind's entry, "," + each next one's, then "}".
  // The pieces' buffer is reused (one kind's names at a time in memory, not the whole list).
  Status WriteResourceListJson(const std::function<Status(std::string_view piece)>& out) const;
  // The native snapshot records (the volumesnapshots file), or null when there are none.
  boost::json::value VolumeSnapshots() const;
  // Velero's BackupVolumeInfo list (the volumeinfo file): one entry per backed-up PV.
  const boost::json::array& VolumeInfos() const { return volume_infos_; }
  const ItemCounts& counts() const { return counts_; }

  // Crash safety (src/backup/journal.h): everything this object has accumulated (the written
  // set, names, snapshot records, counts) as the "items" object of checkpoint.json
  // (docs/formats/backup-journal.md); ParseState reads it back (DataLoss when malformed) and
  // RestoreState puts it in place when a backup resumes.
  struct State {
    ItemCounts counts;
    std::vector<uint64_t> written;
    std::set<std::string> namespaces_used;
    std::set<std::string> group_resources_used;
    std::map<std::string, std::string> resource_list;
    boost::json::array volume_snapshots;
    boost::json::array volume_infos;
    // "ns/claim" -> why its volume must not be snapshotted (a pod's failed pre hook).
    std::map<std::string, std::string> snapshot_blocked;
  };
  boost::json::object SaveState() const;
  static boost::json::object StateToJson(const State& state);
  static StatusOr<State> ParseState(const boost::json::value& state);
  void RestoreState(State state);

  // Backs up an object named by group/resource/ns/name, fetched live (additional items, CRDs).
  // `must_include` skips the inclusion checks.
  Status BackupByName(const plugin::ResourceIdentifier& id, bool must_include);

 private:
  Status Backup(const kube::ApiResource& resource, boost::json::value item, bool listed,
                bool must_include, std::string encoded = {});
  bool Included(const kube::ApiResource& resource, const boost::json::value& item, bool listed,
                bool must_include);
  // Runs the actions; false when an action asked to drop the item.
  // Runs the actions; false when an action asked to drop the item. `changed` tells whether any
  // action ran (its item may differ from the listed one).
  bool RunActions(const kube::ApiResource& resource, boost::json::value& item,
                  std::vector<plugin::ResourceIdentifier>& additional, bool& must_include_more,
                  bool& changed);
  void SnapshotVolume(const boost::json::value& pv);
  // The CSI PVC action for one claim (or its skip when a pod's pre hook blocked the claim).
  StatusOr<plugin::ExecuteOutput> RunCsiAction(CsiPvcAction& action, boost::json::value item,
                                               const LogFields& f);
  // A pod whose pre hook failed with onError Fail: its claims' volumes are not snapshotted.
  void BlockClaims(const boost::json::value& pod, const std::string& why);
  // Velero's finalize step for a VolumeSnapshot this backup created, once it is archived.
  void FinalizeSnapshot(const boost::json::value& vs, const LogFields& f);
  // The native-snapshot attempt of SnapshotVolume: OK with the snapshot record, or why not.
  struct SnapshotOutcome {
    bool attempted = false;
    std::string skipped_reason;  // when not attempted
    boost::json::object record;  // the volumesnapshots entry, when attempted
  };
  SnapshotOutcome TakeSnapshot(const boost::json::value& pv, const LogFields& f);
  Status Write(const kube::ApiResource& resource, const boost::json::value& item,
               std::string_view encoded);
  // The item's bytes are `head` followed by `body`.
  Status Write(const kube::ApiResource& resource, std::string_view ns, std::string_view name,
               std::string_view head, std::string_view body = {});
  // Whether BackupListed(LazyItem) must take the DOM path for an item of `gr` in `ns`.
  bool NeedsDom(const std::string& gr, std::string_view ns, const kube::LazyItem& item);

  const BackupperDeps& deps_;
  const api::Backup& backup_;
  plugin::BackupContext context_;
  const BackupFilters& filters_;
  archive::ArchiveWriter& writer_;
  BackupLog& log_;
  HookRunner& hooks_;
  CancellationToken cancel_;
  std::vector<std::pair<std::shared_ptr<plugin::BackupItemAction>, plugin::ResourceSelector>> actions_;
  // Hashes (ItemKeyHash: stable across processes, so they survive in a checkpoint) of
  // "gr/ns/name" of the items taken.
  absl::flat_hash_set<uint64_t> written_;
  std::set<std::string> namespaces_used_;
  std::set<std::string> group_resources_used_;
  // The names written of one "<apiVersion>/<Kind>", '\n'-separated (one allocation per kind,
  // not per item: a cluster's worth of names stays a few MiB), and whether they arrived sorted
  // and need no JSON escaping (then the resource list is written from `joined` in one pass).
  struct ListedNames {
    std::string joined;
    size_t last = 0;  // where the last name starts
    bool sorted = true;
    bool plain = true;
    void Add(std::string_view ns, std::string_view name);
  };
  std::map<std::string, ListedNames> resource_list_;
  // Write's per-resource work, kept while items of one resource follow each other.
  struct WriteCache {
    std::string group, version, resource, kind;  // the resource it is for
    std::string gr;                              // GroupResource of it
    ListedNames* names = nullptr;                // its resource_list_ entry
    std::string preferred_dir;                   // "<version>-preferredversion"
    std::string last_ns;                         // last namespace added to namespaces_used_
    std::string path;                            // an item's path, reused
  };
  WriteCache write_cache_;
  // BackupListed's per-resource work, kept while items of one resource follow each other: the
  // group-resource and the actions whose resource filter admits it.
  struct ListedCache {
    std::string group, resource;  // the resource it is for
    std::string gr;
    bool valid = false;
    std::string actions_gr;       // the group-resource `actions` is for (NeedsDom)
    std::vector<size_t> actions;  // indexes into actions_ of those whose resource filter admits it
    bool actions_valid = false;
  };
  ListedCache listed_cache_;
  std::string scratch_;  // a listed item's kind/apiVersion fill, when the page's will not do
  boost::json::array volume_snapshots_;
  boost::json::array volume_infos_;
  ItemCounts counts_;
  // What the CSI PVC action did, by PV name, until the PV is backed up (then erased).
  std::map<std::string, CsiSnapshotOutcome> csi_outcomes_;
  // "ns/claim" -> the reason its volume is not snapshotted (checkpointed), and the claims whose
  // skip has already been reported as an error (not checkpointed: at worst reported twice).
  std::map<std::string, std::string> snapshot_blocked_;
  std::set<std::string> blocked_reported_;
};

}  // namespace lifeboat::backup
