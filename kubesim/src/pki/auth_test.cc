#include "kubesim/src/pki/auth.h"

#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace kubesim {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::path(::testing::TempDir()) / "kubesim_auth_XXXXXX").string();
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back('\0');
    const char* made = ::mkdtemp(buf.data());
    EXPECT_NE(made, nullptr);
    path_ = made ? made : "";
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST(TokenFileTest, ParsesLinesCommentsAndQuotedGroups) {
  auto file = TokenFile::Parse(
      "# comment\n"
      "\n"
      "tok1,alice,100\n"
      "tok2,bob,101,\"dev,ops\"\r\n"
      "  \n"
      "tok3,carol,102,single\n"
      "tok4, dave ,103, \"a, b\"");
  ASSERT_TRUE(file.ok()) << file.status();
  ASSERT_EQ(file->entries().size(), 4u);
  EXPECT_EQ(file->entries()[0].token, "tok1");
  EXPECT_EQ(file->entries()[0].user.name, "alice");
  EXPECT_EQ(file->entries()[0].user.uid, "100");
  EXPECT_TRUE(file->entries()[0].user.groups.empty());
  EXPECT_THAT(file->entries()[1].user.groups, ElementsAre("dev", "ops"));
  EXPECT_THAT(file->entries()[2].user.groups, ElementsAre("single"));
  EXPECT_EQ(file->entries()[3].user.name, "dave");
  EXPECT_THAT(file->entries()[3].user.groups, ElementsAre("a", "b"));
  EXPECT_EQ(file->AdminToken(), "");
  EXPECT_EQ(file->ViewerToken(), "");
}

TEST(TokenFileTest, MalformedLineNamesLineButNotToken) {
  for (const char* bad :
       {"s3cr3ttoken,onlyuser\n", "s3cr3ttoken,u,1,\"unterminated\n", "s3cr3ttoken,u,1,\"g\"junk\n",
        ",u,1\n", "s3cr3ttoken,,1\n", "s3cr3ttoken,u\"x,1\n"}) {
    auto file = TokenFile::Parse(std::string("# header\nok,u,1\n") + bad);
    EXPECT_EQ(file.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_THAT(std::string(file.status().message()), HasSubstr("line 3")) << bad;
    EXPECT_THAT(std::string(file.status().message()), Not(HasSubstr("s3cr3t"))) << bad;
  }
  auto dup = TokenFile::Parse("s3cr3t,a,1\ns3cr3t,b,2\n");
  EXPECT_EQ(dup.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(dup.status().message()), Not(HasSubstr("s3cr3t")));
}

TEST(TokenFileTest, EnsureTokenFileCreatesPrivateStableFile) {
  TempDir tmp;
  const fs::path dir = tmp.path() / "data";
  auto first = EnsureTokenFile(dir);
  ASSERT_TRUE(first.ok()) << first.status();
  const fs::path path = dir / "tokens.csv";
  EXPECT_EQ(fs::status(path).permissions() & fs::perms::mask,
            fs::perms::owner_read | fs::perms::owner_write);
  EXPECT_EQ(first->AdminToken().size(), 64u);
  EXPECT_EQ(first->ViewerToken().size(), 64u);
  EXPECT_NE(first->AdminToken(), first->ViewerToken());
  EXPECT_EQ(first->AdminToken().find_first_not_of("0123456789abcdef"), std::string::npos);
  ASSERT_EQ(first->entries().size(), 2u);
  EXPECT_EQ(first->entries()[0].user.name, "kubesim-admin");
  EXPECT_EQ(first->entries()[0].user.uid, "1");
  EXPECT_THAT(first->entries()[0].user.groups, ElementsAre("system:masters"));
  EXPECT_EQ(first->entries()[1].user.name, "kubesim-viewer");
  EXPECT_EQ(first->entries()[1].user.uid, "2");
  EXPECT_THAT(first->entries()[1].user.groups, ElementsAre("kubesim:viewers"));

  const std::string content = ReadFile(path);
  auto second = EnsureTokenFile(dir);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->AdminToken(), first->AdminToken());
  EXPECT_EQ(second->ViewerToken(), first->ViewerToken());
  EXPECT_EQ(ReadFile(path), content);
}

TEST(TokenFileTest, EnsureTokenFileReportsCorruptFile) {
  TempDir tmp;
  {
    std::ofstream out(tmp.path() / "tokens.csv");
    out << "secrettoken-only\n";
  }
  auto file = EnsureTokenFile(tmp.path());
  EXPECT_EQ(file.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(file.status().message()), HasSubstr("tokens.csv"));
  EXPECT_THAT(std::string(file.status().message()), Not(HasSubstr("secrettoken")));
}

TokenFile Tokens() {
  auto file = TokenFile::Parse(
      "admintoken,kubesim-admin,1,\"system:masters\"\n"
      "viewertoken,kubesim-viewer,2,\"kubesim:viewers\"\n");
  EXPECT_TRUE(file.ok());
  return *file;
}

TEST(AuthenticatorTest, Bearer) {
  TokenFile tokens = Tokens();
  EXPECT_EQ(tokens.AdminToken(), "admintoken");
  EXPECT_EQ(tokens.ViewerToken(), "viewertoken");
  Authenticator authn(tokens);

  auto admin = authn.FromBearer("Bearer admintoken");
  ASSERT_TRUE(admin.has_value());
  EXPECT_EQ(admin->name, "kubesim-admin");
  EXPECT_EQ(admin->uid, "1");
  EXPECT_THAT(admin->groups, ElementsAre("system:masters", "system:authenticated"));

  auto viewer = authn.FromBearer("bearer viewertoken");
  ASSERT_TRUE(viewer.has_value());
  EXPECT_EQ(viewer->name, "kubesim-viewer");
  EXPECT_THAT(viewer->groups, ElementsAre("kubesim:viewers", "system:authenticated"));
  EXPECT_TRUE(authn.FromBearer("BEARER admintoken").has_value());

  EXPECT_FALSE(authn.FromBearer("Bearer unknown").has_value());
  EXPECT_FALSE(authn.FromBearer("Bearer admintokenx").has_value());
  EXPECT_FALSE(authn.FromBearer("Bearer admintoke").has_value());
  EXPECT_FALSE(authn.FromBearer("").has_value());
  EXPECT_FALSE(authn.FromBearer("Bearer").has_value());
  EXPECT_FALSE(authn.FromBearer("Bearer ").has_value());
  EXPECT_FALSE(authn.FromBearer("admintoken").has_value());
  EXPECT_FALSE(authn.FromBearer("Basic admintoken").has_value());
  EXPECT_FALSE(authn.FromBearer("Bearerx admintoken").has_value());
}

TEST(AuthenticatorTest, ClientCert) {
  Authenticator authn(Tokens());
  UserInfo user = authn.FromClientCert("alice", {"dev", "ops"});
  EXPECT_EQ(user.name, "alice");
  EXPECT_THAT(user.groups, ElementsAre("dev", "ops", "system:authenticated"));
}

UserInfo Viewer() { return {"kubesim-viewer", "2", {"kubesim:viewers", "system:authenticated"}}; }

RequestAttributes Attrs(std::string verb, std::string group, std::string resource,
                        std::string subresource, std::string ns, std::string name) {
  RequestAttributes a;
  a.verb = std::move(verb);
  a.group = std::move(group);
  a.resource = std::move(resource);
  a.subresource = std::move(subresource);
  a.namespace_ = std::move(ns);
  a.name = std::move(name);
  return a;
}

TEST(AuthorizerTest, AlwaysAllow) {
  Authorizer authz(AuthorizationMode::kAlwaysAllow);
  EXPECT_TRUE(authz.Authorize(Viewer(), Attrs("delete", "", "pods", "", "default", "x")).ok());
}

TEST(AuthorizerTest, ViewerMayOnlyRead) {
  Authorizer authz(AuthorizationMode::kReadOnlyViewer);
  for (const char* verb : {"get", "list", "watch"}) {
    EXPECT_TRUE(authz.Authorize(Viewer(), Attrs(verb, "", "pods", "", "default", "")).ok());
  }
  for (const char* verb : {"create", "update", "patch", "delete", "deletecollection"}) {
    EXPECT_EQ(authz.Authorize(Viewer(), Attrs(verb, "", "pods", "", "default", "")).code(),
              absl::StatusCode::kPermissionDenied);
  }
}

TEST(AuthorizerTest, KubeForbiddenMessages) {
  Authorizer authz(AuthorizationMode::kReadOnlyViewer);
  EXPECT_EQ(authz.Authorize(Viewer(), Attrs("create", "", "pods", "", "default", "")).message(),
            "pods is forbidden: User \"kubesim-viewer\" cannot create resource \"pods\" in API "
            "group \"\" in the namespace \"default\"");
  EXPECT_EQ(authz.Authorize(Viewer(), Attrs("delete", "", "pods", "", "default", "x")).message(),
            "pods \"x\" is forbidden: User \"kubesim-viewer\" cannot delete resource \"pods\" in "
            "API group \"\" in the namespace \"default\"");
  EXPECT_EQ(authz.Authorize(Viewer(), Attrs("create", "", "namespaces", "", "", "")).message(),
            "namespaces is forbidden: User \"kubesim-viewer\" cannot create resource "
            "\"namespaces\" in API group \"\" at the cluster scope");
  EXPECT_EQ(
      authz.Authorize(Viewer(), Attrs("create", "", "pods", "exec", "default", "x")).message(),
      "pods \"x\" is forbidden: User \"kubesim-viewer\" cannot create resource "
      "\"pods/exec\" in API group \"\" in the namespace \"default\"");
  EXPECT_EQ(
      authz.Authorize(Viewer(), Attrs("patch", "apps", "deployments", "", "prod", "web")).message(),
      "deployments.apps \"web\" is forbidden: User \"kubesim-viewer\" cannot patch resource "
      "\"deployments\" in API group \"apps\" in the namespace \"prod\"");
}

TEST(AuthorizerTest, MastersAndOthersAreAllowed) {
  Authorizer authz(AuthorizationMode::kReadOnlyViewer);
  UserInfo both = Viewer();
  both.groups.push_back("system:masters");
  EXPECT_TRUE(authz.Authorize(both, Attrs("delete", "", "pods", "", "default", "x")).ok());
  UserInfo other{"alice", "", {"dev", "system:authenticated"}};
  EXPECT_TRUE(authz.Authorize(other, Attrs("delete", "", "pods", "", "default", "x")).ok());
}

}  // namespace
}  // namespace kubesim
