// Static and token-file credentials, the provider factory, and RFC 3339 parsing.

#include "lifeboat/kube/credentials.h"

#include <sys/stat.h>

#include <ctime>
#include <mutex>

#include "absl/strings/ascii.h"
#include "lifeboat/common/byte_stream.h"
#include "lifeboat/common/log.h"

namespace lifeboat::kube {

namespace {

std::string Redact(const std::string& secret) {
  return "<redacted " + std::to_string(secret.size()) + " bytes>";
}

Credential BaseCredential(const RestConfig& config) {
  Credential c;
  c.username = config.username;
  c.password = config.password;
  c.client_cert_pem = config.tls.client_cert_pem;
  c.client_key_pem = config.tls.client_key_pem;
  return c;
}

}  // namespace

std::string Credential::Redacted() const {
  std::string out;
  auto add = [&](const std::string& s) { out += (out.empty() ? "" : " ") + s; };
  if (!bearer_token.empty()) add("token=" + Redact(bearer_token));
  if (!username.empty() || !password.empty()) add("basic=" + username + ":" + Redact(password));
  if (!client_cert_pem.empty()) add("client-cert(key=" + Redact(client_key_pem) + ")");
  if (expiry.has_value()) {
    add("expires=" +
        std::to_string(
            std::chrono::duration_cast<std::chrono::seconds>(expiry->time_since_epoch()).count()));
  }
  return out.empty() ? "anonymous" : out;
}

std::string StaticTokenProvider::Describe() const {
  if (!credential_.bearer_token.empty()) return "static token";
  if (!credential_.username.empty()) return "basic auth";
  if (!credential_.client_cert_pem.empty()) return "client certificate";
  return "anonymous";
}

// ---------------------------------------------------------------------------------------------

struct TokenFileProvider::State {
  std::mutex mu;
  std::string token;
  Clock::TimePoint read_at{};
  bool valid = false;
  // What the file looked like when last read: a change means it was rotated.
  struct timespec mtime {};
  off_t size = -1;
  ino_t inode = 0;
};

TokenFileProvider::TokenFileProvider(std::filesystem::path path, Credential base, Clock& clock,
                                     Clock::Duration period)
    : path_(std::move(path)),
      base_(std::move(base)),
      clock_(clock),
      period_(period),
      state_(std::make_unique<State>()) {}

TokenFileProvider::~TokenFileProvider() = default;

StatusOr<Credential> TokenFileProvider::Get() {
  std::lock_guard<std::mutex> lock(state_->mu);
  struct stat st {};
  bool stat_ok = ::stat(path_.c_str(), &st) == 0;
  bool changed = stat_ok && (st.st_size != state_->size || st.st_ino != state_->inode ||
                             st.st_mtim.tv_sec != state_->mtime.tv_sec ||
                             st.st_mtim.tv_nsec != state_->mtime.tv_nsec);
  Clock::TimePoint now = clock_.Now();
  if (!state_->valid || changed || now - state_->read_at >= period_) {
    Status error;
    StatusOr<std::string> data = ReadFile(path_, 1 << 20);
    if (!data.ok()) {
      error = Status(data.status().code(), "reading token file " + path_.string() + ": " +
                                               std::string(data.status().message()));
    } else if (std::string token(absl::StripAsciiWhitespace(*data)); token.empty()) {
      error = absl::UnauthenticatedError("read empty token from file \"" + path_.string() + "\"");
    } else {
      if (state_->valid && token != state_->token)
        LB_LOG_DEBUG("token file {} rotated", path_.string());
      state_->token = std::move(token);
      state_->valid = true;
      state_->read_at = now;
      if (stat_ok) {
        state_->mtime = st.st_mtim;
        state_->size = st.st_size;
        state_->inode = st.st_ino;
      }
    }
    if (!error.ok()) {
      if (!state_->valid) return error;
      // Mid-rotation (file briefly missing or empty): keep the last good token.
      LB_LOG_WARN("{}; keeping the previous token", std::string(error.message()));
    }
  }
  Credential c = base_;
  c.bearer_token = state_->token;
  return c;
}

void TokenFileProvider::Invalidate() {
  std::lock_guard<std::mutex> lock(state_->mu);
  state_->read_at = Clock::TimePoint{};
  state_->size = -1;
}

std::string TokenFileProvider::Describe() const { return "token file " + path_.string(); }

// ---------------------------------------------------------------------------------------------

StatusOr<std::unique_ptr<CredentialProvider>> MakeCredentialProvider(
    const RestConfig& config, Clock& clock, std::chrono::milliseconds exec_timeout) {
  Credential base = BaseCredential(config);
  if (!config.bearer_token_file.empty()) {
    return std::unique_ptr<CredentialProvider>(
        std::make_unique<TokenFileProvider>(config.bearer_token_file, base, clock));
  }
  if (!config.bearer_token.empty()) {
    if (config.exec.has_value()) {
      LB_LOG_WARN(
          "user \"{}\" has both a token and an exec plugin; the token is used (as kubectl does)",
          config.user_name);
    }
    base.bearer_token = config.bearer_token;
    return std::unique_ptr<CredentialProvider>(std::make_unique<StaticTokenProvider>(base));
  }
  if (config.exec.has_value()) {
    if (config.exec->interactive_mode == "Always") {
      return absl::InvalidArgumentError(
          "exec plugin " + config.exec->command +
          " cannot support interactive mode: interactiveMode is Always but Lifeboat never runs "
          "plugins interactively (set interactiveMode: IfAvailable or Never)");
    }
    ExecPluginOptions options;
    options.timeout = exec_timeout;
    options.server = config.server;
    options.tls_server_name = config.tls.server_name;
    options.insecure_skip_tls_verify = config.tls.insecure_skip_verify;
    options.ca_pem = config.tls.ca_pem;
    options.proxy_url = config.proxy_url;
    options.disable_compression = config.disable_compression;
    return std::unique_ptr<CredentialProvider>(
        std::make_unique<ExecPluginProvider>(*config.exec, options, base, clock));
  }
  return std::unique_ptr<CredentialProvider>(std::make_unique<StaticTokenProvider>(base));
}

// ---------------------------------------------------------------------------------------------

StatusOr<Clock::TimePoint> ParseRfc3339(std::string_view s) {
  auto bad = [&] {
    return absl::InvalidArgumentError("invalid RFC 3339 timestamp (" + std::to_string(s.size()) +
                                      " chars)");
  };
  auto digits = [&](size_t pos, size_t n, int* out) {
    if (pos + n > s.size()) return false;
    int v = 0;
    for (size_t i = pos; i < pos + n; ++i) {
      if (!absl::ascii_isdigit(static_cast<unsigned char>(s[i]))) return false;
      v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
  };
  int year, mon, day, hour, min, sec;
  if (!digits(0, 4, &year) || s.size() < 20 || s[4] != '-' || !digits(5, 2, &mon) || s[7] != '-' ||
      !digits(8, 2, &day) || (s[10] != 'T' && s[10] != 't') || !digits(11, 2, &hour) ||
      s[13] != ':' || !digits(14, 2, &min) || s[16] != ':' || !digits(17, 2, &sec)) {
    return bad();
  }
  if (mon < 1 || mon > 12 || day < 1 || day > 31 || hour > 23 || min > 59 || sec > 59) return bad();
  size_t pos = 19;
  int64_t nanos = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    size_t start = pos;
    int64_t scale = 100'000'000;
    while (pos < s.size() && absl::ascii_isdigit(static_cast<unsigned char>(s[pos]))) {
      nanos += (s[pos] - '0') * scale;
      scale /= 10;
      ++pos;
    }
    if (pos == start) return bad();
  }
  int offset_seconds = 0;
  if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
    ++pos;
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    int oh, om;
    if (!digits(pos + 1, 2, &oh) || pos + 3 >= s.size() || s[pos + 3] != ':' ||
        !digits(pos + 4, 2, &om)) {
      return bad();
    }
    offset_seconds = (oh * 3600 + om * 60) * (s[pos] == '-' ? -1 : 1);
    pos += 6;
  } else {
    return bad();
  }
  if (pos != s.size()) return bad();
  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = mon - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = min;
  tm.tm_sec = sec;
  time_t t = ::timegm(&tm);
  return Clock::TimePoint(std::chrono::seconds(t - offset_seconds)) +
         std::chrono::duration_cast<Clock::TimePoint::duration>(std::chrono::nanoseconds(nanos));
}

}  // namespace lifeboat::kube
