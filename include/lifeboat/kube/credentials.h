#pragma once

// Credentials that the HTTP layer attaches to each request: a bearer token, basic auth, and/or
// a TLS client certificate. Some change over time (a rotated token file, an exec plugin's
// short-lived token), so the HTTP layer asks a CredentialProvider before each request and calls
// Invalidate() when the server answers 401.
//
// Thread safety: every method of every provider may be called concurrently.

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "lifeboat/common/clock.h"
#include "lifeboat/common/status.h"
#include "lifeboat/kube/config.h"

namespace lifeboat::kube {

struct Credential {
  std::string bearer_token;
  std::string username;  // basic auth
  std::string password;
  // The client certificate for TLS (PEM); empty: none. The HTTP layer must rebuild its TLS
  // context (and drop pooled connections) when these change.
  std::string client_cert_pem;
  std::string client_key_pem;
  // When the credential stops being valid (exec plugins); nullopt: until a 401.
  std::optional<Clock::TimePoint> expiry;

  // Secrets replaced by redacted markers; safe for logs.
  std::string Redacted() const;
};

class CredentialProvider {
 public:
  virtual ~CredentialProvider() = default;
  // The credential to use now. May read a file or run a plugin (blocking, bounded by the
  // plugin's timeout). Errors: Unauthenticated for a plugin that failed or printed something
  // unusable, FailedPrecondition for a plugin that is not installed, DeadlineExceeded for a
  // plugin that timed out, NotFound/PermissionDenied for an unreadable token file. Error
  // messages never contain secrets.
  virtual StatusOr<Credential> Get() = 0;
  // The server rejected the last credential (401): the next Get() reloads it.
  virtual void Invalidate() = 0;
  // The server rejected `rejected` (401): reload only if it is still the current credential,
  // so that N requests failing together with the same token run an exec plugin once, not N
  // times (client-go's exec round tripper does the same).
  virtual void InvalidateRejected(const Credential& rejected) { Invalidate(); }
  // What this provider is, for messages ("exec plugin kubelogin", "token file /x").
  virtual std::string Describe() const = 0;
};

// A credential that never changes (kubeconfig token, basic auth, static client certificate).
class StaticTokenProvider : public CredentialProvider {
 public:
  explicit StaticTokenProvider(Credential credential) : credential_(std::move(credential)) {}
  StatusOr<Credential> Get() override { return credential_; }
  void Invalidate() override {}
  std::string Describe() const override;

 private:
  const Credential credential_;
};

// A bearer token read from a file (kubeconfig tokenFile, in-cluster service-account token) and
// re-read when the file changes (checked on every Get by size/mtime/inode) and at least every
// `period` (client-go: one minute minus ten seconds' leeway), and after Invalidate. Leading and
// trailing whitespace is trimmed; an empty file is an error. If a re-read fails after a good
// read, the last good token is kept and the failure logged.
class TokenFileProvider : public CredentialProvider {
 public:
  TokenFileProvider(std::filesystem::path path, Credential base, Clock& clock = RealClock(),
                    Clock::Duration period = std::chrono::seconds(50));
  ~TokenFileProvider() override;
  StatusOr<Credential> Get() override;
  void Invalidate() override;
  std::string Describe() const override;

 private:
  struct State;
  const std::filesystem::path path_;
  const Credential base_;
  Clock& clock_;
  const Clock::Duration period_;
  std::unique_ptr<State> state_;
};

struct ExecPluginOptions {
  std::chrono::milliseconds timeout = std::chrono::seconds(60);
  size_t max_stdout_bytes = 1 << 20;
  size_t max_stderr_bytes = 64 << 10;
  // The cluster passed as spec.cluster when provide_cluster_info is set.
  std::string server;
  std::string tls_server_name;
  bool insecure_skip_tls_verify = false;
  std::string ca_pem;
  std::string proxy_url;
  bool disable_compression = false;
};

// Runs an exec credential plugin (client.authentication.k8s.io/v1 or v1beta1) and caches what
// it returns until its expirationTimestamp (forever if it gives none) or Invalidate().
// The command runs with the process environment plus the configured env plus
// KUBERNETES_EXEC_INFO, stdin from /dev/null (never interactive), stdout captured (bounded),
// stderr logged at debug. Calls are serialised: concurrent Get()s share one run.
class ExecPluginProvider : public CredentialProvider {
 public:
  ExecPluginProvider(ExecConfig config, ExecPluginOptions options, Credential base,
                     Clock& clock = RealClock());
  ~ExecPluginProvider() override;
  StatusOr<Credential> Get() override;
  void Invalidate() override;
  void InvalidateRejected(const Credential& rejected) override;
  std::string Describe() const override;

 private:
  StatusOr<Credential> Run();
  const ExecConfig config_;
  const ExecPluginOptions options_;
  const Credential base_;
  Clock& clock_;
  struct State;
  std::unique_ptr<State> state_;
};

// The provider for a RestConfig: exec plugin, token file, or static credentials (in that
// order of precedence, as client-go: an inline token beats a token file). The static client
// certificate and basic auth of the config are part of every credential it returns.
// InvalidArgument for an exec apiVersion or interactiveMode client-go would reject.
StatusOr<std::unique_ptr<CredentialProvider>> MakeCredentialProvider(
    const RestConfig& config, Clock& clock = RealClock(),
    std::chrono::milliseconds exec_timeout = std::chrono::seconds(60));

// RFC 3339 (as metav1.Time accepts: "2024-01-02T03:04:05Z", fractional seconds, numeric
// offsets). InvalidArgument otherwise.
StatusOr<Clock::TimePoint> ParseRfc3339(std::string_view text);

}  // namespace lifeboat::kube
