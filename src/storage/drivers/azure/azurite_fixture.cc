#include "src/storage/drivers/azure/azurite_fixture.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <thread>
#include <vector>

#include "absl/strings/escaping.h"
#include "lifeboat/common/byte_stream.h"
#include "src/storage/drivers/azure/azure_auth.h"
#include "src/storage/drivers/azure/azure_strings.h"

extern char** environ;

namespace lifeboat::storage::azure::testing {
namespace {

namespace fs = std::filesystem;

std::string MakeTempDir(const std::string& tag) {
  std::string tmpl = (fs::temp_directory_path() / ("lifeboat-" + tag + "-XXXXXX")).string();
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  char* dir = mkdtemp(buf.data());
  return dir ? std::string(dir) : std::string();
}

// Spawns argv with stdout/stderr to `log` (or inherited when empty).
StatusOr<pid_t> Spawn(const std::vector<std::string>& argv, const std::string& log) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  if (!log.empty()) {
    posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
  }
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  int rc = posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) return absl::InternalError(StrCat("spawning ", argv[0], " failed: ", rc));
  return pid;
}

StatusOr<int> RunToCompletion(const std::vector<std::string>& argv, const std::string& log) {
  LIFEBOAT_ASSIGN_OR_RETURN(pid_t pid, Spawn(argv, log));
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

StatusOr<uint16_t> FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    if (fd >= 0) close(fd);
    return absl::UnavailableError("no free port");
  }
  close(fd);
  return ntohs(addr.sin_port);
}

bool Listening(uint16_t port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  close(fd);
  return ok;
}

std::string AzuriteBinary() {
  if (const char* p = std::getenv("AZURITE_BLOB"); p && *p) return p;
  return std::string(LIFEBOAT_SOURCE_DIR) + "/.deps/npm/node_modules/.bin/azurite-blob";
}

std::string Base64Url(std::string_view s) {
  std::string out;
  absl::WebSafeBase64Escape(absl::string_view(s.data(), s.size()), &out);
  return out;
}

std::map<std::string, std::string> ParseForm(const std::string& body) {
  std::map<std::string, std::string> out;
  size_t start = 0;
  while (start <= body.size()) {
    size_t amp = body.find('&', start);
    if (amp == std::string::npos) amp = body.size();
    std::string pair = body.substr(start, amp - start);
    size_t eq = pair.find('=');
    if (eq != std::string::npos) {
      auto k = http::PercentDecode(pair.substr(0, eq), true);
      auto v = http::PercentDecode(pair.substr(eq + 1), true);
      if (k.ok() && v.ok()) out[*k] = *v;
    }
    start = amp + 1;
  }
  return out;
}

}  // namespace

StatusOr<TestCert> MakeTestCert(const std::string& dir) {
  TestCert c{.cert_path = dir + "/cert.pem", .key_path = dir + "/key.pem"};
  LIFEBOAT_ASSIGN_OR_RETURN(
      int rc, RunToCompletion({"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                               "-keyout", c.key_path, "-out", c.cert_path, "-days", "2", "-subj",
                               "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"},
                              dir + "/openssl.log"));
  if (rc != 0) return absl::InternalError("openssl req failed; see " + dir + "/openssl.log");
  LIFEBOAT_ASSIGN_OR_RETURN(c.cert_pem, ReadFile(c.cert_path));
  LIFEBOAT_ASSIGN_OR_RETURN(c.key_pem, ReadFile(c.key_path));
  return c;
}

StatusOr<std::unique_ptr<Azurite>> Azurite::Start(const TestCert* cert) {
  std::string bin = AzuriteBinary();
  if (access(bin.c_str(), X_OK) != 0) {
    return absl::UnimplementedError("azurite-blob not installed at " + bin +
                                    " (scripts/install-deps.sh installs it)");
  }
  std::unique_ptr<Azurite> a(new Azurite());
  a->dir_ = MakeTempDir("azurite");
  LIFEBOAT_ASSIGN_OR_RETURN(uint16_t port, FreePort());
  std::vector<std::string> argv = {bin,          "--blobHost",         "127.0.0.1",
                                   "--blobPort", std::to_string(port), "--location",
                                   a->dir_,      "--silent",           "--disableTelemetry"};
  http::ClientOptions options;
  if (cert) {
    argv.insert(argv.end(),
                {"--oauth", "basic", "--cert", cert->cert_path, "--key", cert->key_path});
    options.ca.data = cert->cert_pem;
  }
  LIFEBOAT_ASSIGN_OR_RETURN(a->pid_, Spawn(argv, a->dir_ + "/azurite.log"));
  a->endpoint_ = StrCat(cert ? "https" : "http", "://127.0.0.1:", port, "/", kDevAccount);
  LIFEBOAT_ASSIGN_OR_RETURN(a->client_, http::Client::Create(options));
  for (int i = 0; i < 300; ++i) {  // up to 30 s
    if (Listening(port)) return a;
    int status = 0;
    if (waitpid(a->pid_, &status, WNOHANG) == a->pid_) {
      a->pid_ = -1;
      return absl::InternalError("azurite exited early; see " + a->dir_ + "/azurite.log");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return absl::DeadlineExceededError("azurite did not listen within 30 s");
}

Azurite::~Azurite() {
  if (pid_ > 0) {
    kill(pid_, SIGTERM);
    int status = 0;
    for (int i = 0; i < 50 && waitpid(pid_, &status, WNOHANG) == 0; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    if (waitpid(pid_, &status, WNOHANG) == 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, &status, 0);
    }
  }
  std::error_code ec;
  if (!dir_.empty()) fs::remove_all(dir_, ec);
}

std::string Azurite::NewContainerName() { return StrCat("c", getpid(), "-", containers_++); }

Status Azurite::CreateContainer(const std::string& name) {
  http::ClientRequest req{.method = "PUT",
                          .url = StrCat(endpoint_, "/", name, "?restype=container")};
  req.headers = {{"x-ms-date", FormatRfc1123(std::chrono::system_clock::now())},
                 {"x-ms-version", std::string(kApiVersion)}};
  SignableRequest s{.method = "PUT",
                    .encoded_path = StrCat("/", kDevAccount, "/", name),
                    .query = {{"restype", "container"}},
                    .headers = req.headers};
  LIFEBOAT_ASSIGN_OR_RETURN(std::string auth, SharedKeyAuthorization(kDevAccount, kDevKey, s));
  req.headers.emplace_back("Authorization", auth);
  LIFEBOAT_ASSIGN_OR_RETURN(http::ClientResponse resp, client_->Send(req));
  if (resp.status != 201) {
    return absl::InternalError(
        StrCat("creating container ", name, ": HTTP ", resp.status, " ", resp.body.substr(0, 300)));
  }
  return absl::OkStatus();
}

StatusOr<std::unique_ptr<TokenServer>> TokenServer::Start(Options options, const TestCert& cert) {
  std::unique_ptr<TokenServer> t(new TokenServer());
  t->options_ = std::move(options);
  http::ServerOptions so;
  so.tls = http::TlsConfig{.cert_pem = cert.cert_pem, .key_pem = cert.key_pem};
  TokenServer* self = t.get();
  LIFEBOAT_ASSIGN_OR_RETURN(
      t->server_, http::Server::Start(so, [self](http::Request& r, http::ResponseWriter& w) {
        self->Handle(r, w);
      }));
  return t;
}

std::string TokenServer::authority() const { return "https://" + server_->address(); }

void TokenServer::Handle(http::Request& req, http::ResponseWriter& w) {
  if (req.path.find("/listKeys") != std::string::npos) return HandleListKeys(req, w);
  ++requests_;
  Options o;
  {
    std::lock_guard<std::mutex> l(mu_);
    o = options_;
  }
  auto fail = [&](int status, const std::string& code, const std::string& desc) {
    (void)w.Send(status, {{"Content-Type", "application/json"}},
                 StrCat("{\"error\":\"", code, "\",\"error_description\":\"", desc, "\"}"));
  };
  if (req.method != "POST" || req.path != "/" + o.tenant + "/oauth2/v2.0/token") {
    return fail(404, "not_found", "AADSTS90002: unknown tenant or path");
  }
  auto form = ParseForm(req.body);
  if (form["grant_type"] != "client_credentials") {
    return fail(400, "unsupported_grant_type", "AADSTS70003: unsupported grant");
  }
  const bool arm = form["scope"] == authority() + "/.default";
  if (form["scope"] != "https://storage.azure.com/.default" && !arm) {
    return fail(400, "invalid_scope", "AADSTS70011: bad scope");
  }
  if (form["client_id"] != o.client_id) {
    return fail(400, "unauthorized_client", "AADSTS700016: application not found");
  }
  bool secret_ok = !o.client_secret.empty() && form["client_secret"] == o.client_secret;
  bool assertion_ok =
      !o.assertion.empty() &&
      form["client_assertion_type"] == "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" &&
      form["client_assertion"] == o.assertion;
  if (!secret_ok && !assertion_ok) {
    return fail(401, "invalid_client", "AADSTS7000215: Invalid client secret provided.");
  }
  int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                    std::chrono::system_clock::now().time_since_epoch())
                    .count();
  int64_t exp = expired_next_.exchange(false) ? now - 600 : now + o.expires_in;
  std::string header = Base64Url("{\"alg\":\"RS256\",\"typ\":\"JWT\"}");
  std::string claims =
      Base64Url(StrCat("{\"aud\":\"", arm ? authority() : "https://storage.azure.com",
                       "\",\"iss\":\"https://sts.windows.net/", o.tenant, "/\",\"iat\":", now - 60,
                       ",\"nbf\":", now - 60, ",\"exp\":", exp,
                       ",\"oid\":\"0b5c2f7e-1111-4222-8333-944445555666\",\"tid\":\"", o.tenant,
                       "\",\"appid\":\"", o.client_id, "\",\"n\":", requests_.load(), "}"));
  std::string jwt = StrCat(header, ".", claims, ".", Base64Url("not-a-real-signature"));
  if (arm) {
    std::lock_guard<std::mutex> l(mu_);
    arm_tokens_.insert(jwt);
  }
  (void)w.Send(200, {{"Content-Type", "application/json"}},
               StrCat("{\"token_type\":\"Bearer\",\"expires_in\":", o.expires_in,
                      ",\"ext_expires_in\":", o.expires_in, ",\"access_token\":\"", jwt, "\"}"));
}

void TokenServer::HandleListKeys(http::Request& req, http::ResponseWriter& w) {
  ++list_keys_;
  std::string auth = req.Header("Authorization");
  std::string token = auth.starts_with("Bearer ") ? auth.substr(7) : "";
  bool authorized;
  Options o;
  {
    std::lock_guard<std::mutex> l(mu_);
    authorized = arm_tokens_.count(token) > 0;
    o = options_;
  }
  if (!authorized) {
    (void)w.Send(401, {{"Content-Type", "application/json"}},
                 "{\"error\":{\"code\":\"InvalidAuthenticationToken\",\"message\":\"bad token\"}}");
    return;
  }
  std::string want =
      StrCat("/subscriptions/", o.subscription, "/resourceGroups/", o.resource_group,
             "/providers/Microsoft.Storage/storageAccounts/", kDevAccount, "/listKeys");
  if (req.method != "POST" || req.path != want || req.Query("api-version").empty()) {
    (void)w.Send(404, {{"Content-Type", "application/json"}},
                 "{\"error\":{\"code\":\"ResourceNotFound\",\"message\":\"The Resource was "
                 "not found.\"}}");
    return;
  }
  (void)w.Send(200, {{"Content-Type", "application/json"}},
               StrCat("{\"keys\":[{\"keyName\":\"key0\",\"value\":\"cmVhZG9ubHk=\",\"permissions\":"
                      "\"READ\"},{\"keyName\":\"key1\",\"value\":\"",
                      kDevKey, "\",\"permissions\":\"FULL\"}]}"));
}

}  // namespace lifeboat::storage::azure::testing
