#pragma once

// Every path inside a backup tarball is built here (docs/formats/backup-archive.md), the way
// Velero builds them in pkg/archive/filesystem.go:
//
//   metadata/version                                              "1.1.0\n"
//   resources/<resource>[.<group>]/namespaces/<ns>/<name>.json    (unversioned copy)
//   resources/<resource>[.<group>]/cluster/<name>.json            (cluster-scoped)
//   resources/<resource>[.<group>]/<version>-preferredversion/... (copy in the preferred version)
//   resources/<resource>[.<group>]/<version>/...                  (other versions)
//
// The core group has no suffix ("pods"); other groups are joined with a dot
// ("deployments.apps"). All functions are pure and thread-safe.

#include <optional>
#include <string>
#include <string_view>

namespace lifeboat::archive {

// The value of status.formatVersion and of metadata/version (without its newline).
inline constexpr std::string_view kFormatVersion = "1.1.0";
inline constexpr std::string_view kResourcesDir = "resources";
inline constexpr std::string_view kMetadataDir = "metadata";
inline constexpr std::string_view kNamespaceScopedDir = "namespaces";
inline constexpr std::string_view kClusterScopedDir = "cluster";
inline constexpr std::string_view kPreferredVersionSuffix = "-preferredversion";

// "metadata/version".
std::string VersionPath();
// The bytes of metadata/version: kFormatVersion plus "\n", as Velero writes it.
std::string VersionFileContents();

// resource_group: "pods" (core group) or "deployments.apps"; ns empty => cluster-scoped.
// The arguments are not validated here (Kubernetes names never contain '/'); ArchiveWriter::Add
// refuses any path that is not a clean relative path.
std::string ItemPath(std::string_view resource_group, std::string_view ns, std::string_view name);
// ".../<version>-preferredversion/..." e.g. resources/pods/v1-preferredversion/namespaces/a/b.json
std::string PreferredVersionItemPath(std::string_view resource_group, std::string_view version,
                                     std::string_view ns, std::string_view name);
// ".../<version_dir>/..." for any version directory ("v2beta2", or "v1-preferredversion").
// An empty version_dir gives ItemPath.
std::string VersionedItemPath(std::string_view resource_group, std::string_view version_dir,
                              std::string_view ns, std::string_view name);
// The same, appended to `out` (the backup's per-item path, without temporaries).
void AppendVersionedItemPath(std::string& out, std::string_view resource_group, std::string_view version_dir,
                             std::string_view ns, std::string_view name);

// An item path parsed back (for the restore side).
struct ItemLocation {
  std::string resource_group;  // "pods", "deployments.apps"
  std::string version_dir;     // "" (unversioned), "v1-preferredversion", "v2beta2"
  std::string ns;              // "" for cluster-scoped items
  std::string name;            // without ".json"

  bool preferred() const;  // version_dir ends with kPreferredVersionSuffix
  bool operator==(const ItemLocation&) const = default;
};

// Parses any of the item paths above; nullopt for anything else (metadata/version, paths with
// empty, "." or ".." segments, names without ".json", unknown shapes). A namespace literally
// named "cluster" parses as resources/<gr>/namespaces/cluster/<name>.json (version directories
// are never called "namespaces").
std::optional<ItemLocation> ParseItemPath(std::string_view path);

}  // namespace lifeboat::archive
