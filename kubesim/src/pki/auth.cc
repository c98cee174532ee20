#include "kubesim/src/pki/auth.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace kubesim {
namespace {

namespace fs = std::filesystem;

constexpr char kAdminUser[] = "kubesim-admin";
constexpr char kViewerUser[] = "kubesim-viewer";
constexpr char kMastersGroup[] = "system:masters";
constexpr char kViewersGroup[] = "kubesim:viewers";
constexpr char kAuthenticatedGroup[] = "system:authenticated";
constexpr char kTokenFileName[] = "tokens.csv";
constexpr size_t kTokenBytes = 32;

std::string_view TrimSpace(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Splits one CSV record (RFC 4180 quoting, leading spaces of a field ignored as Go's
// encoding/csv with TrimLeadingSpace does). Errors never include the line's text: it holds a
// token.
StatusOr<std::vector<std::string>> SplitCsvRecord(std::string_view line) {
  std::vector<std::string> fields;
  size_t i = 0;
  while (true) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    std::string field;
    if (i < line.size() && line[i] == '"') {
      ++i;
      bool closed = false;
      while (i < line.size()) {
        char c = line[i++];
        if (c == '"') {
          if (i < line.size() && line[i] == '"') {
            field.push_back('"');
            ++i;
          } else {
            closed = true;
            break;
          }
        } else {
          field.push_back(c);
        }
      }
      if (!closed) return absl::InvalidArgumentError("unterminated quoted field");
      while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
      if (i < line.size() && line[i] != ',') {
        return absl::InvalidArgumentError("unexpected text after a quoted field");
      }
    } else {
      size_t end = line.find(',', i);
      if (end == std::string_view::npos) end = line.size();
      std::string_view raw = line.substr(i, end - i);
      if (raw.find('"') != std::string_view::npos) {
        return absl::InvalidArgumentError("bare quote in an unquoted field");
      }
      field.assign(raw);
      i = end;
    }
    fields.push_back(std::move(field));
    if (i >= line.size()) break;
    ++i;  // the comma
  }
  return fields;
}

std::vector<std::string> SplitGroups(std::string_view groups) {
  std::vector<std::string> out;
  while (true) {
    size_t comma = groups.find(',');
    std::string_view group = TrimSpace(groups.substr(0, comma));
    if (!group.empty()) out.emplace_back(group);
    if (comma == std::string_view::npos) break;
    groups.remove_prefix(comma + 1);
  }
  return out;
}

std::string ErrnoMessage(int err) {
  return std::error_code(err, std::generic_category()).message();
}

// nullopt when the file does not exist.
StatusOr<std::optional<std::string>> ReadFileIfExists(const fs::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return std::optional<std::string>();
    return absl::InternalError(absl::StrCat("opening ", path.string(), ": ", ErrnoMessage(errno)));
  }
  std::string data;
  char buf[8192];
  while (true) {
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      return absl::InternalError(absl::StrCat("reading ", path.string(), ": ", ErrnoMessage(err)));
    }
    if (n == 0) break;
    data.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return std::optional<std::string>(std::move(data));
}

// Writes a temporary file beside `path` (created with `mode`), fsyncs it and renames it into
// place.
Status WriteFileAtomic(const fs::path& path, std::string_view data, mode_t mode) {
  std::string tmpl =
      (path.parent_path() / ("." + path.filename().string() + ".tmp-XXXXXX")).string();
  std::vector<char> name(tmpl.begin(), tmpl.end());
  name.push_back('\0');
  int fd = ::mkstemp(name.data());
  if (fd < 0) {
    return absl::InternalError(
        absl::StrCat("creating temporary file for ", path.string(), ": ", ErrnoMessage(errno)));
  }
  const std::string tmp(name.data());
  auto fail = [&](std::string_view what) {
    int err = errno;
    ::close(fd);
    ::unlink(tmp.c_str());
    return absl::InternalError(
        absl::StrCat(std::string(what), " ", path.string(), ": ", ErrnoMessage(err)));
  };
  if (::fchmod(fd, mode) != 0) return fail("setting mode of");
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail("writing");
    }
    off += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) return fail("syncing");
  if (::close(fd) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return absl::InternalError(absl::StrCat("closing ", path.string(), ": ", ErrnoMessage(err)));
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return absl::InternalError(
        absl::StrCat("renaming into ", path.string(), ": ", ErrnoMessage(err)));
  }
  int dfd = ::open(path.parent_path().empty() ? "." : path.parent_path().c_str(),
                   O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    (void)::fsync(dfd);
    ::close(dfd);
  }
  return absl::OkStatus();
}

StatusOr<std::string> RandomHexToken() {
  std::array<unsigned char, kTokenBytes> bytes{};
  if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1) {
    return absl::InternalError("RAND_bytes failed");
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char b : bytes) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 0xf]);
  }
  OPENSSL_cleanse(bytes.data(), bytes.size());
  return out;
}

using Digest = std::array<unsigned char, 32>;

// Hashing first makes the comparison independent of the tokens' lengths.
Digest Sha256(std::string_view data) {
  Digest out{};
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), out.data(), &len, EVP_sha256(), nullptr) != 1) {
    out.fill(0);
  }
  return out;
}

bool HasGroup(const UserInfo& user, std::string_view group) {
  return std::find(user.groups.begin(), user.groups.end(), group) != user.groups.end();
}

void AddAuthenticated(UserInfo& user) {
  if (!HasGroup(user, kAuthenticatedGroup)) user.groups.emplace_back(kAuthenticatedGroup);
}

// Go's %q for the strings kube puts in its messages.
std::string Quote(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof(buf), "\\x%02x", static_cast<unsigned char>(c));
          out += buf;
        } else {
          out.push_back(c);
        }
    }
  }
  out += "\"";
  return out;
}

// k8s.io/apiserver/pkg/endpoints/handlers/responsewriters.forbiddenMessage wrapped by
// apierrors.NewForbidden.
std::string ForbiddenMessage(const UserInfo& user, const RequestAttributes& attrs) {
  std::string resource = attrs.resource;
  if (!attrs.subresource.empty()) resource += "/" + attrs.subresource;
  std::string reason = absl::StrCat("User ", Quote(user.name), " cannot ", attrs.verb, " resource ",
                                    Quote(resource), " in API group ", Quote(attrs.group));
  if (!attrs.namespace_.empty()) {
    absl::StrAppend(&reason, " in the namespace ", Quote(attrs.namespace_));
  } else {
    absl::StrAppend(&reason, " at the cluster scope");
  }
  if (attrs.resource.empty() && attrs.group.empty()) return absl::StrCat("forbidden: ", reason);
  std::string qualified = attrs.resource;
  if (!attrs.group.empty()) absl::StrAppend(&qualified, ".", attrs.group);
  if (attrs.name.empty()) return absl::StrCat(qualified, " is forbidden: ", reason);
  return absl::StrCat(qualified, " ", Quote(attrs.name), " is forbidden: ", reason);
}

}  // namespace

StatusOr<TokenFile> TokenFile::Parse(std::string_view csv) {
  TokenFile file;
  size_t line_no = 0;
  while (!csv.empty()) {
    size_t nl = csv.find('\n');
    std::string_view line = csv.substr(0, nl);
    csv = nl == std::string_view::npos ? std::string_view() : csv.substr(nl + 1);
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    std::string_view trimmed = TrimSpace(line);
    if (trimmed.empty() || trimmed.front() == '#') continue;

    auto fields = SplitCsvRecord(line);
    if (!fields.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("token file line ", line_no, ": ", fields.status().message()));
    }
    if (fields->size() < 3) {
      return absl::InvalidArgumentError(
          absl::StrCat("token file line ", line_no,
                       ": expected at least 3 fields (token,user,uid), found ", fields->size()));
    }
    Entry entry;
    entry.token = std::string(TrimSpace((*fields)[0]));
    entry.user.name = std::string(TrimSpace((*fields)[1]));
    entry.user.uid = std::string(TrimSpace((*fields)[2]));
    if (entry.token.empty()) {
      return absl::InvalidArgumentError(absl::StrCat("token file line ", line_no, ": empty token"));
    }
    if (entry.user.name.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("token file line ", line_no, ": empty user name"));
    }
    if (fields->size() >= 4) entry.user.groups = SplitGroups((*fields)[3]);
    for (const Entry& other : file.entries_) {
      if (other.token == entry.token) {
        return absl::InvalidArgumentError(
            absl::StrCat("token file line ", line_no, ": duplicate token"));
      }
    }
    file.entries_.push_back(std::move(entry));
  }
  return file;
}

std::string TokenFile::AdminToken() const {
  for (const Entry& e : entries_) {
    if (e.user.name == kAdminUser) return e.token;
  }
  return "";
}

std::string TokenFile::ViewerToken() const {
  for (const Entry& e : entries_) {
    if (e.user.name == kViewerUser) return e.token;
  }
  return "";
}

StatusOr<TokenFile> EnsureTokenFile(const std::filesystem::path& data_dir) {
  std::error_code ec;
  if (!fs::is_directory(data_dir, ec)) {
    fs::create_directories(data_dir, ec);
    if (ec) {
      return absl::InternalError(absl::StrCat("creating ", data_dir.string(), ": ", ec.message()));
    }
    fs::permissions(data_dir, fs::perms::owner_all, fs::perm_options::replace, ec);
  }
  const fs::path path = data_dir / kTokenFileName;
  LIFEBOAT_ASSIGN_OR_RETURN(std::optional<std::string> existing, ReadFileIfExists(path));
  if (existing) {
    auto parsed = TokenFile::Parse(*existing);
    if (!parsed.ok()) return lifeboat::Annotate(parsed.status(), path.string());
    return parsed;
  }
  LIFEBOAT_ASSIGN_OR_RETURN(std::string admin, RandomHexToken());
  LIFEBOAT_ASSIGN_OR_RETURN(std::string viewer, RandomHexToken());
  std::string content = absl::StrCat(
      "# kubesim static tokens (kube-apiserver --token-auth-file format: "
      "token,user,uid,\"groups\"). Keep secret.\n",
      admin, ",", kAdminUser, ",1,\"", kMastersGroup, "\"\n", viewer, ",", kViewerUser, ",2,\"",
      kViewersGroup, "\"\n");
  LIFEBOAT_RETURN_IF_ERROR(WriteFileAtomic(path, content, 0600));
  auto parsed = TokenFile::Parse(content);
  OPENSSL_cleanse(content.data(), content.size());
  return parsed;
}

Authenticator::Authenticator(const TokenFile& tokens) : entries_(tokens.entries()) {}

std::optional<UserInfo> Authenticator::FromBearer(std::string_view authorization) const {
  std::string_view auth = TrimSpace(authorization);
  constexpr std::string_view kScheme = "bearer";
  if (auth.size() <= kScheme.size() + 1) return std::nullopt;
  std::string scheme = absl::AsciiStrToLower(std::string(auth.substr(0, kScheme.size())));
  if (scheme != kScheme || auth[kScheme.size()] != ' ') return std::nullopt;
  std::string_view token = TrimSpace(auth.substr(kScheme.size() + 1));
  if (token.empty() || token.find_first_of(" \t") != std::string_view::npos) return std::nullopt;

  // Every entry is compared, so the time taken does not reveal which (if any) matched.
  const Digest presented = Sha256(token);
  const TokenFile::Entry* match = nullptr;
  for (const TokenFile::Entry& entry : entries_) {
    const Digest known = Sha256(entry.token);
    const bool equal = CRYPTO_memcmp(presented.data(), known.data(), presented.size()) == 0;
    if (equal && match == nullptr) match = &entry;
  }
  if (match == nullptr) return std::nullopt;
  UserInfo user = match->user;
  AddAuthenticated(user);
  return user;
}

UserInfo Authenticator::FromClientCert(const std::string& common_name,
                                       const std::vector<std::string>& organizations) const {
  UserInfo user;
  user.name = common_name;
  user.groups = organizations;
  AddAuthenticated(user);
  return user;
}

Authorizer::Authorizer(AuthorizationMode mode) : mode_(mode) {}

Status Authorizer::Authorize(const UserInfo& user, const RequestAttributes& attrs) const {
  if (mode_ == AuthorizationMode::kAlwaysAllow) return absl::OkStatus();
  if (HasGroup(user, kMastersGroup)) return absl::OkStatus();
  if (!HasGroup(user, kViewersGroup)) return absl::OkStatus();
  if (attrs.verb == "get" || attrs.verb == "list" || attrs.verb == "watch") {
    return absl::OkStatus();
  }
  return absl::PermissionDeniedError(ForbiddenMessage(user, attrs));
}

}  // namespace kubesim
