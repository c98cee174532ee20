#include "src/restore/backup_contents.h"

#include <algorithm>
#include <fstream>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <system_error>

#include "absl/strings/match.h"
#include "absl/strings/strip.h"
#include "lifeboat/archive/layout.h"

namespace lifeboat::restore {
namespace fs = std::filesystem;
namespace {

std::vector<std::string> SortedChildren(const fs::path& dir, bool directories) {
  std::vector<std::string> out;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code type_ec;
    bool is_dir = it->is_directory(type_ec);
    if (directories != is_dir) continue;
    out.push_back(it->path().filename().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

struct ParsedVersion {
  int major = 0;
  int stage = 3;  // 3 GA, 2 beta, 1 alpha
  int minor = 0;
};

std::optional<ParsedVersion> ParseKubeVersion(std::string_view v) {
  static const std::regex re("^v([0-9]+)(?:(alpha|beta)([0-9]+))?$");
  std::match_results<std::string_view::const_iterator> m;
  if (!std::regex_match(v.begin(), v.end(), m, re)) return std::nullopt;
  ParsedVersion p;
  p.major = std::stoi(m[1].str());
  if (m[2].matched) {
    p.stage = m[2].str() == "beta" ? 2 : 1;
    p.minor = std::stoi(m[3].str());
  }
  return p;
}

}  // namespace

bool VersionPriorityLess(std::string_view a, std::string_view b) {
  auto pa = ParseKubeVersion(a), pb = ParseKubeVersion(b);
  if (pa && !pb) return true;
  if (!pa && pb) return false;
  if (!pa && !pb) return a < b;
  if (pa->stage != pb->stage) return pa->stage > pb->stage;
  if (pa->major != pb->major) return pa->major > pb->major;
  return pa->minor > pb->minor;
}

StatusOr<BackupContents> BackupContents::Scan(
    const fs::path& root, const std::map<std::string, std::string>& preferred_versions) {
  BackupContents c;
  c.root_ = root;
  std::ifstream version_file(root / archive::VersionPath());
  if (!version_file) {
    return absl::DataLossError("the backup has no " + archive::VersionPath() +
                         ": it is not a Velero-format backup");
  }
  std::stringstream text;
  text << version_file.rdbuf();
  c.format_version_ = std::string(absl::StripAsciiWhitespace(text.str()));
  if (c.format_version_ != "1" && !c.format_version_.starts_with("1.")) {
    return absl::FailedPreconditionError("the backup's format version is " + c.format_version_ +
                                   "; this restore reads format 1 and 1.x (" +
                                   std::string(archive::kFormatVersion) + ")");
  }
  std::set<std::string> namespaces;
  const fs::path resources = root / archive::kResourcesDir;
  for (const std::string& gr : SortedChildren(resources, true)) {
    ResourceDirs d;
    d.group_resource = gr;
    if (size_t dot = gr.find('.'); dot == std::string::npos) {
      d.resource = gr;
    } else {
      d.resource = gr.substr(0, dot);
      d.group = gr.substr(dot + 1);
    }
    for (const std::string& sub : SortedChildren(resources / gr, true)) {
      if (sub == archive::kNamespaceScopedDir || sub == archive::kClusterScopedDir) continue;
      if (sub.ends_with(archive::kPreferredVersionSuffix)) {
        d.preferred_version = sub.substr(0, sub.size() - archive::kPreferredVersionSuffix.size());
      } else {
        d.other_versions.push_back(sub);
      }
    }
    if (auto it = preferred_versions.find(gr); d.preferred_version.empty() && it != preferred_versions.end()) {
      d.preferred_version = it->second;
    }
    std::sort(d.other_versions.begin(), d.other_versions.end(), [](const auto& a, const auto& b) {
      return VersionPriorityLess(a, b);
    });
    for (const std::string& ns : c.ItemNamespaces(gr, "")) namespaces.insert(ns);
    if (gr == "namespaces") {
      for (const std::string& name : c.ItemNames(gr, "", "")) namespaces.insert(name);
    }
    c.resources_.emplace(gr, std::move(d));
  }
  c.namespaces_.assign(namespaces.begin(), namespaces.end());
  return c;
}

fs::path BackupContents::Dir(std::string_view gr, std::string_view version_dir) const {
  fs::path p = root_ / archive::kResourcesDir / std::string(gr);
  if (version_dir.empty()) return p;
  auto it = resources_.find(std::string(gr));
  if (it != resources_.end() && it->second.preferred_version == version_dir) {
    // The preferred-version copy holds the unversioned layout's bytes; read those (the copy may
    // not have been extracted).
    return p;
  }
  return p / std::string(version_dir);
}

std::vector<std::string> BackupContents::ItemNamespaces(std::string_view gr,
                                                        std::string_view version_dir) const {
  return SortedChildren(Dir(gr, version_dir) / archive::kNamespaceScopedDir, true);
}

std::vector<std::string> BackupContents::ItemNames(std::string_view gr,
                                                   std::string_view version_dir,
                                                   std::string_view ns) const {
  fs::path dir = ns.empty() ? Dir(gr, version_dir) / archive::kClusterScopedDir
                            : Dir(gr, version_dir) / archive::kNamespaceScopedDir / std::string(ns);
  std::vector<std::string> names;
  for (std::string& file : SortedChildren(dir, false)) {
    if (!file.ends_with(".json")) continue;
    file.resize(file.size() - 5);
    names.push_back(std::move(file));
  }
  return names;
}

int64_t BackupContents::CountItems() const {
  int64_t n = 0;
  for (const auto& [gr, dirs] : resources_) {
    n += static_cast<int64_t>(ItemNames(gr, "", "").size());
    for (const std::string& ns : ItemNamespaces(gr, "")) {
      n += static_cast<int64_t>(ItemNames(gr, "", ns).size());
    }
  }
  return n;
}

fs::path BackupContents::ItemFile(std::string_view gr, std::string_view version_dir,
                                  std::string_view ns, std::string_view name) const {
  fs::path dir = ns.empty() ? Dir(gr, version_dir) / archive::kClusterScopedDir
                            : Dir(gr, version_dir) / archive::kNamespaceScopedDir / std::string(ns);
  return dir / (std::string(name) + ".json");
}

std::string ChooseVersionDir(const ResourceDirs& dirs, const std::vector<std::string>& served,
                             std::string_view cluster_preferred) {
  auto serves = [&](std::string_view v) {
    return std::find(served.begin(), served.end(), v) != served.end();
  };
  auto in_backup = [&](std::string_view v) {
    return v == dirs.preferred_version ||
           std::find(dirs.other_versions.begin(), dirs.other_versions.end(), v) !=
               dirs.other_versions.end();
  };
  if (dirs.preferred_version.empty()) return "";  // format 1: one layout only
  if (!cluster_preferred.empty() && in_backup(cluster_preferred) && serves(cluster_preferred)) {
    return cluster_preferred == dirs.preferred_version ? "" : std::string(cluster_preferred);
  }
  if (serves(dirs.preferred_version)) return "";
  for (const std::string& v : dirs.other_versions) {  // sorted by priority
    if (serves(v)) return v;
  }
  return "";
}

}  // namespace lifeboat::restore
