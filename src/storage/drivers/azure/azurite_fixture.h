#pragma once

// Test-only: an Azurite blob emulator started on a free loopback port (plain HTTP, or HTTPS
// with --oauth basic and a self-signed certificate made with openssl), and a small AAD-like
// token endpoint implementing the client-credentials and jwt-bearer grants.

#include <sys/types.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <set>
#include <string>

#include "lifeboat/common/status.h"
#include "lifeboat/http/client.h"
#include "lifeboat/http/server.h"

namespace lifeboat::storage::azure::testing {

inline constexpr char kDevAccount[] = "devstoreaccount1";
inline constexpr char kDevKey[] =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

// A self-signed certificate for 127.0.0.1 (also its own CA) in `dir`.
struct TestCert {
  std::string cert_path, key_path, cert_pem, key_pem;
};
StatusOr<TestCert> MakeTestCert(const std::string& dir);

class Azurite {
 public:
  // Unimplemented when the azurite-blob binary is not installed (tests GTEST_SKIP then).
  // With `cert`, serves HTTPS with --oauth basic.
  static StatusOr<std::unique_ptr<Azurite>> Start(const TestCert* cert = nullptr);
  ~Azurite();  // kills the process and removes its workspace

  // "http(s)://127.0.0.1:PORT/devstoreaccount1"
  const std::string& endpoint() const { return endpoint_; }
  // Creates a container with Shared Key auth.
  Status CreateContainer(const std::string& name);
  // A fresh container name.
  std::string NewContainerName();

 private:
  Azurite() = default;
  pid_t pid_ = -1;
  std::string dir_;
  std::string endpoint_;
  std::unique_ptr<http::Client> client_;
  std::atomic<int> containers_{0};
};

// Answers POST /<tenant>/oauth2/v2.0/token like AAD: checks client id and secret (or the
// client assertion), the scope, and issues unsigned-looking JWTs that Azurite accepts
// (iss https://sts.windows.net/<tenant>/, aud https://storage.azure.com, nbf/exp).
class TokenServer {
 public:
  struct Options {
    std::string tenant = "72f988bf-86f1-41af-91ab-2d7cd011db47";
    std::string client_id = "lifeboat-test-app";
    std::string client_secret;  // accepted secret (service principal)
    std::string assertion;      // accepted client assertion (workload identity)
    int64_t expires_in = 3600;
    // ARM listKeys for devstoreaccount1 in this subscription and resource group, with a token
    // issued for the scope <authority>/.default.
    std::string subscription = "sub-1";
    std::string resource_group = "rg-1";
  };
  static StatusOr<std::unique_ptr<TokenServer>> Start(Options options, const TestCert& cert);

  std::string authority() const;  // https://127.0.0.1:PORT
  int requests() const { return requests_.load(); }
  int list_keys_requests() const { return list_keys_.load(); }
  // The next token issued is already expired (Azurite refuses it).
  void IssueExpiredTokenNext() { expired_next_ = true; }
  void SetAssertion(const std::string& a) {
    std::lock_guard<std::mutex> l(mu_);
    options_.assertion = a;
  }

 private:
  void Handle(http::Request& req, http::ResponseWriter& w);
  void HandleListKeys(http::Request& req, http::ResponseWriter& w);
  std::set<std::string> arm_tokens_;  // guarded by mu_
  std::atomic<int> list_keys_{0};
  Options options_;
  std::mutex mu_;
  std::unique_ptr<http::Server> server_;
  std::atomic<int> requests_{0};
  std::atomic<bool> expired_next_{false};
};

}  // namespace lifeboat::storage::azure::testing
