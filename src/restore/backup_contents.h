#pragma once

// The contents of a backup tarball, read once (Velero §6.3 step 1) into a private spool file:
// every item's bytes appended one after another, and an index of names -> (offset, size) by
// resource, version directory and namespace. Items are read back one at a time when restored,
// so memory grows only with the number of item names (about 100 bytes each), never with their
// contents, and no file is created per item (a 100k-item backup extracted to files spends most
// of its time creating and deleting inodes). No path from the archive ever reaches the file
// system. Plus Velero's API-group-version choice (§6.11).
//
// Thread safety: a BackupContents is immutable after Read; every method is const and may be
// called from any thread (items are read with pread).

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "lifeboat/archive/reader.h"
#include "lifeboat/common/byte_stream.h"
#include "lifeboat/common/status.h"

namespace lifeboat::restore {

struct ResourceDirs {
  std::string group_resource;  // "deployments.apps", "pods"
  std::string group;           // "apps", "" for core
  std::string resource;        // "deployments"
  std::string preferred_version;  // from "<v>-preferredversion"; "" in format-1 backups
  std::vector<std::string> other_versions;  // other version directories ("v2beta2"), by priority
};

class BackupContents {
 public:
  // Reads the whole tarball from `tarball`, checking every entry (archive::ArchiveReader: a
  // hostile or corrupt archive is DataLoss), and spools the items into `spool` (created, 0600;
  // the caller removes it). The "<v>-preferredversion" copies hold the unversioned layout's bytes
  // and are checked but not spooled. A later entry with the same path replaces an earlier one.
  // FailedPrecondition for a format version this restore does not know (major version other
  // than 1); DataLoss for a tarball without metadata/version.
  static StatusOr<BackupContents> Read(ByteSource& tarball, const std::filesystem::path& spool,
                                       archive::ReaderLimits limits = {});

  BackupContents(BackupContents&&) noexcept;
  BackupContents& operator=(BackupContents&&) noexcept;
  ~BackupContents();

  const std::string& format_version() const { return format_version_; }
  const std::map<std::string, ResourceDirs>& resources() const { return resources_; }
  // Every namespace that has items in the backup (unversioned layout) or a Namespace object.
  const std::vector<std::string>& namespaces() const { return namespaces_; }
  int64_t spooled_items() const { return spooled_items_; }

  // `version_dir`: "" (unversioned, the backup's preferred version) or a version directory as
  // returned by ChooseVersionDir (the preferred version reads the unversioned layout). Names of
  // namespaces with items, sorted.
  std::vector<std::string> ItemNamespaces(std::string_view gr, std::string_view version_dir) const;
  // Item names of one namespace ("" for cluster-scoped), sorted.
  std::vector<std::string> ItemNames(std::string_view gr, std::string_view version_dir,
                                     std::string_view ns) const;
  // Number of items in the unversioned layout (the restore's estimate of its total).
  int64_t CountItems() const;
  // The item's bytes. NotFound when the backup has no such item.
  StatusOr<std::string> ReadItem(std::string_view gr, std::string_view version_dir,
                                 std::string_view ns, std::string_view name) const;

 private:
  BackupContents() = default;
  struct Location {
    int64_t offset = 0;
    int64_t size = 0;
  };
  // resource -> version dir -> namespace ("" cluster) -> name -> bytes in the spool.
  using Names = std::map<std::string, Location, std::less<>>;
  using Layout = std::map<std::string, Names, std::less<>>;
  const Layout* Find(std::string_view gr, std::string_view version_dir) const;

  int fd_ = -1;
  std::string format_version_;
  std::map<std::string, ResourceDirs> resources_;
  std::map<std::string, std::map<std::string, Layout, std::less<>>, std::less<>> layouts_;
  std::vector<std::string> namespaces_;
  int64_t spooled_items_ = 0;
};

// Kubernetes version priority: GA before beta before alpha, higher numbers first, then other
// strings alphabetically ("v2" > "v1" > "v1beta2" > "v1beta1" > "v1alpha1" > "foo").
bool VersionPriorityLess(std::string_view a, std::string_view b);  // a sorts before b

// Velero's version choice (§6.11) for one resource: (1) the cluster's preferred version if the
// backup has it, (2) the backup's preferred version if the cluster serves it, (3) the first
// version both have, by priority, (4) else the backup's preferred version. `served`: the
// versions the target cluster serves the resource in (any order); `cluster_preferred`: the
// group's preferred version there ("" if unknown). Returns "" for the unversioned layout (which
// holds the backup's preferred version) or a version directory name.
std::string ChooseVersionDir(const ResourceDirs& dirs, const std::vector<std::string>& served,
                             std::string_view cluster_preferred);

}  // namespace lifeboat::restore
