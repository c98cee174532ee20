#pragma once

// Authentication (bearer tokens from a static token file, client certificates) and
// authorization (allow all, or a read-only viewer group) for kubesim, with kube-apiserver's
// identities and messages.

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lifeboat/common/status.h"

namespace kubesim {

using lifeboat::Status;
using lifeboat::StatusOr;

struct UserInfo {
  std::string name;
  std::string uid;
  std::vector<std::string> groups;  // always includes "system:authenticated"
};

// kube-apiserver's --token-auth-file format: CSV lines `token,user,uid[,"group1,group2"]`.
class TokenFile {
 public:
  struct Entry {
    std::string token;
    UserInfo user;
  };
  static StatusOr<TokenFile> Parse(std::string_view csv);
  const std::vector<Entry>& entries() const { return entries_; }
  // Token of the user "kubesim-admin" (group system:masters) / "kubesim-viewer" (group
  // kubesim:viewers); "" when absent.
  std::string AdminToken() const;
  std::string ViewerToken() const;

 private:
  std::vector<Entry> entries_;
};

// Reads <data_dir>/tokens.csv, creating it (mode 0600, random 32-byte hex tokens) with the
// admin and viewer users when missing. Tokens never appear in logs.
StatusOr<TokenFile> EnsureTokenFile(const std::filesystem::path& data_dir);

class Authenticator {
 public:
  explicit Authenticator(const TokenFile& tokens);
  // `authorization` is the Authorization header value ("Bearer <token>"). Comparison is
  // constant-time. nullopt when missing or unknown (the server answers 401).
  std::optional<UserInfo> FromBearer(std::string_view authorization) const;
  // A verified client certificate: CN is the user, O entries the groups.
  UserInfo FromClientCert(const std::string& common_name, const std::vector<std::string>& organizations) const;

 private:
  std::vector<TokenFile::Entry> entries_;
};

enum class AuthorizationMode {
  kAlwaysAllow,      // every authenticated user may do everything
  kReadOnlyViewer,   // members of "kubesim:viewers" may only get/list/watch; others everything
};

struct RequestAttributes {
  std::string verb;  // get list watch create update patch delete deletecollection
  std::string group;
  std::string resource;
  std::string subresource;
  std::string namespace_;
  std::string name;
};

class Authorizer {
 public:
  explicit Authorizer(AuthorizationMode mode);
  // PermissionDenied with kube's message when forbidden:
  //   pods is forbidden: User "kubesim-viewer" cannot create resource "pods" in API group ""
  //   in the namespace "default"
  //   (cluster scope: `... in API group "" at the cluster scope`; subresource: resource
  //   "pods/exec"; named: `pods "x" is forbidden: ...`).
  Status Authorize(const UserInfo& user, const RequestAttributes& attrs) const;

 private:
  AuthorizationMode mode_;
};

}  // namespace kubesim
