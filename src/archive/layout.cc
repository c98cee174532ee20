#include "lifeboat/archive/layout.h"

#include <vector>

#include "src/archive/str.h"

namespace lifeboat::archive {
namespace {

constexpr std::string_view kJsonSuffix = ".json";


bool SafeSegment(std::string_view s) { return !s.empty() && s != "." && s != ".."; }

// "<name>.json" -> "<name>"; nullopt for anything else.
std::optional<std::string> ItemName(std::string_view file) {
  if (!file.ends_with(kJsonSuffix)) return std::nullopt;
  file.remove_suffix(kJsonSuffix.size());
  if (!SafeSegment(file)) return std::nullopt;
  return std::string(file);
}

}  // namespace

std::string VersionPath() { return Cat(kMetadataDir, "/version"); }

std::string VersionFileContents() { return Cat(kFormatVersion, "\n"); }

std::string ItemPath(std::string_view resource_group, std::string_view ns, std::string_view name) {
  return VersionedItemPath(resource_group, "", ns, name);
}

std::string PreferredVersionItemPath(std::string_view resource_group, std::string_view version,
                                     std::string_view ns, std::string_view name) {
  return VersionedItemPath(resource_group, Cat(version, kPreferredVersionSuffix), ns, name);
}

std::string VersionedItemPath(std::string_view resource_group, std::string_view version_dir,
                              std::string_view ns, std::string_view name) {
  std::string out;
  AppendVersionedItemPath(out, resource_group, version_dir, ns, name);
  return out;
}

void AppendVersionedItemPath(std::string& out, std::string_view resource_group, std::string_view version_dir,
                             std::string_view ns, std::string_view name) {
  out.append(kResourcesDir).append("/").append(resource_group).append("/");
  if (!version_dir.empty()) out.append(version_dir).append("/");
  if (ns.empty()) {
    out.append(kClusterScopedDir).append("/");
  } else {
    out.append(kNamespaceScopedDir).append("/").append(ns).append("/");
  }
  out.append(name).append(kJsonSuffix);
}

bool ItemLocation::preferred() const {
  return version_dir.size() > kPreferredVersionSuffix.size() &&
         std::string_view(version_dir).ends_with(kPreferredVersionSuffix);
}

std::optional<ItemLocation> ParseItemPath(std::string_view path) {
  std::vector<std::string_view> s;
  for (size_t start = 0;;) {
    size_t slash = path.find('/', start);
    if (slash == std::string_view::npos) {
      s.push_back(path.substr(start));
      break;
    }
    s.push_back(path.substr(start, slash - start));
    start = slash + 1;
  }
  if (s.size() < 4 || s.size() > 6 || s[0] != kResourcesDir) return std::nullopt;
  for (std::string_view segment : s) {
    if (!SafeSegment(segment)) return std::nullopt;
  }
  ItemLocation loc;
  loc.resource_group = std::string(s[1]);
  // Shapes, by segment count: 4 = gr/cluster/x, 5 = gr/namespaces/ns/x or gr/v/cluster/x,
  // 6 = gr/v/namespaces/ns/x. A version directory is never called "namespaces".
  size_t scope = 2;
  if (s.size() == 6 || (s.size() == 5 && s[2] != kNamespaceScopedDir)) {
    loc.version_dir = std::string(s[2]);
    scope = 3;
  }
  size_t rest = s.size() - scope;  // scope dir, [ns], file
  if (s[scope] == kNamespaceScopedDir && rest == 3) {
    loc.ns = std::string(s[scope + 1]);
  } else if (!(s[scope] == kClusterScopedDir && rest == 2)) {
    return std::nullopt;
  }
  std::optional<std::string> name = ItemName(s.back());
  if (!name) return std::nullopt;
  loc.name = std::move(*name);
  return loc;
}

}  // namespace lifeboat::archive
