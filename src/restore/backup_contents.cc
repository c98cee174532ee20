#include "src/restore/backup_contents.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>
#include <regex>
#include <set>
#include <utility>

#include "absl/strings/strip.h"
#include "lifeboat/archive/layout.h"

namespace lifeboat::restore {
namespace fs = std::filesystem;
namespace {

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

namespace {

Status WriteAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return absl::InternalError(std::string("writing the restore's spool file: ") +
                                           std::strerror(errno));
    data.remove_prefix(static_cast<size_t>(n));
  }
  return absl::OkStatus();
}

}  // namespace

BackupContents::BackupContents(BackupContents&& o) noexcept { *this = std::move(o); }

BackupContents& BackupContents::operator=(BackupContents&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(o.fd_, -1);
    format_version_ = std::move(o.format_version_);
    resources_ = std::move(o.resources_);
    layouts_ = std::move(o.layouts_);
    namespaces_ = std::move(o.namespaces_);
    spooled_items_ = o.spooled_items_;
  }
  return *this;
}

BackupContents::~BackupContents() {
  if (fd_ >= 0) ::close(fd_);
}

StatusOr<BackupContents> BackupContents::Read(ByteSource& tarball, const fs::path& spool,
                                              archive::ReaderLimits limits) {
  BackupContents c;
  c.fd_ = ::open(spool.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (c.fd_ < 0) {
    return absl::InternalError("creating " + spool.string() + ": " + std::strerror(errno));
  }
  LIFEBOAT_ASSIGN_OR_RETURN(auto reader, archive::ArchiveReader::Open(&tarball, limits));
  std::map<std::string, std::string> preferred;
  bool has_version = false;
  std::string buffer;  // writes go out in blocks of about 1 MiB
  int64_t offset = 0;
  for (;;) {
    LIFEBOAT_ASSIGN_OR_RETURN(std::optional<archive::Entry> entry, reader->Next());
    if (!entry) break;
    if (entry->path == archive::VersionPath()) {
      has_version = true;
      c.format_version_ = std::string(absl::StripAsciiWhitespace(entry->data));
      continue;
    }
    std::optional<archive::ItemLocation> loc = archive::ParseItemPath(entry->path);
    if (!loc) continue;  // not an item: ignored, as Velero does
    if (loc->preferred()) {
      preferred.emplace(loc->resource_group,
                        loc->version_dir.substr(
                            0, loc->version_dir.size() - archive::kPreferredVersionSuffix.size()));
      continue;
    }
    c.layouts_[loc->resource_group][loc->version_dir][loc->ns][loc->name] =
        Location{offset, static_cast<int64_t>(entry->data.size())};
    offset += static_cast<int64_t>(entry->data.size());
    buffer += entry->data;
    ++c.spooled_items_;
    if (buffer.size() >= (1u << 20)) {
      LIFEBOAT_RETURN_IF_ERROR(WriteAll(c.fd_, buffer));
      buffer.clear();
    }
  }
  LIFEBOAT_RETURN_IF_ERROR(WriteAll(c.fd_, buffer));
  if (!has_version) {
    return absl::DataLossError("the backup has no " + archive::VersionPath() +
                               ": it is not a Velero-format backup");
  }
  if (c.format_version_ != "1" && !c.format_version_.starts_with("1.")) {
    return absl::FailedPreconditionError("the backup's format version is " + c.format_version_ +
                                         "; this restore reads format 1 and 1.x (" +
                                         std::string(archive::kFormatVersion) + ")");
  }
  std::set<std::string> namespaces;
  for (const auto& [gr, by_version] : c.layouts_) {
    ResourceDirs d;
    d.group_resource = gr;
    if (size_t dot = gr.find('.'); dot == std::string::npos) {
      d.resource = gr;
    } else {
      d.resource = gr.substr(0, dot);
      d.group = gr.substr(dot + 1);
    }
    if (auto it = preferred.find(gr); it != preferred.end()) d.preferred_version = it->second;
    for (const auto& [dir, layout] : by_version) {
      if (!dir.empty() && dir != d.preferred_version) d.other_versions.push_back(dir);
    }
    std::sort(d.other_versions.begin(), d.other_versions.end(),
              [](const auto& a, const auto& b) { return VersionPriorityLess(a, b); });
    if (auto it = by_version.find(""); it != by_version.end()) {
      for (const auto& [ns, names] : it->second) {
        if (!ns.empty()) namespaces.insert(ns);
        if (gr == "namespaces" && ns.empty()) {
          for (const auto& [name, where] : names) namespaces.insert(name);
        }
      }
    }
    c.resources_.emplace(gr, std::move(d));
  }
  c.namespaces_.assign(namespaces.begin(), namespaces.end());
  return c;
}

const BackupContents::Layout* BackupContents::Find(std::string_view gr,
                                                   std::string_view version_dir) const {
  auto r = resources_.find(std::string(gr));
  if (r != resources_.end() && r->second.preferred_version == version_dir) version_dir = "";
  auto by_version = layouts_.find(gr);
  if (by_version == layouts_.end()) return nullptr;
  auto layout = by_version->second.find(version_dir);
  return layout == by_version->second.end() ? nullptr : &layout->second;
}

std::vector<std::string> BackupContents::ItemNamespaces(std::string_view gr,
                                                        std::string_view version_dir) const {
  std::vector<std::string> out;
  if (const Layout* l = Find(gr, version_dir)) {
    for (const auto& [ns, names] : *l) {
      if (!ns.empty()) out.push_back(ns);
    }
  }
  return out;
}

std::vector<std::string> BackupContents::ItemNames(std::string_view gr,
                                                   std::string_view version_dir,
                                                   std::string_view ns) const {
  std::vector<std::string> out;
  if (const Layout* l = Find(gr, version_dir)) {
    if (auto it = l->find(ns); it != l->end()) {
      for (const auto& [name, where] : it->second) out.push_back(name);
    }
  }
  return out;
}

int64_t BackupContents::CountItems() const {
  int64_t n = 0;
  for (const auto& [gr, by_version] : layouts_) {
    if (auto it = by_version.find(""); it != by_version.end()) {
      for (const auto& [ns, names] : it->second) n += static_cast<int64_t>(names.size());
    }
  }
  return n;
}

StatusOr<std::string> BackupContents::ReadItem(std::string_view gr, std::string_view version_dir,
                                               std::string_view ns, std::string_view name) const {
  const Layout* l = Find(gr, version_dir);
  auto by_ns = l != nullptr ? l->find(ns) : Layout::const_iterator();
  if (l == nullptr || by_ns == l->end() || by_ns->second.find(name) == by_ns->second.end()) {
    return absl::NotFoundError("the backup has no item " + std::string(gr) + "/" +
                               (ns.empty() ? "" : std::string(ns) + "/") + std::string(name));
  }
  const Location& where = by_ns->second.find(name)->second;
  std::string data(static_cast<size_t>(where.size), '\0');
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::pread(fd_, data.data() + done, data.size() - done,
                        static_cast<off_t>(where.offset + static_cast<int64_t>(done)));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      return absl::InternalError(std::string("reading the restore's spool file: ") +
                                 (n == 0 ? "unexpected end" : std::strerror(errno)));
    }
    done += static_cast<size_t>(n);
  }
  return data;
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
