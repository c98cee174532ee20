#include "lifeboat/http/client.h"

#include <curl/curl.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <algorithm>
#include <array>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <span>

// Design: a pool of transfer handles, each a CURLM multi handle owning one CURL easy handle.
//
// - A request borrows a handle, drives it on the calling thread and gives it back. The multi
//   handle keeps the connection cache, so a returned handle keeps its kept-alive connections
//   and the next request to the same origin (the pool prefers a handle that last talked to it)
//   reuses them. libcurl does not support sharing one connection cache between threads
//   (CURL_LOCK_DATA_CONNECT), which rules out one CURLSH for connections.
// - Driving the transfer with curl_multi_poll instead of curl_easy_perform lets a
//   CancellationToken wake the thread at once (curl_multi_wakeup) rather than at libcurl's next
//   progress callback.
// - User callbacks (body sources, streaming sinks) run on the caller's thread, so a slow reader
//   or a blocking ByteSource delays only its own request. A single worker thread driving one
//   shared multi handle would give HTTP/2 multiplexing across requests, but then every callback
//   would run on that thread and one slow consumer would stall all transfers.
// - The DNS cache and TLS sessions are shared by every handle through one CURLSH with a mutex
//   per data kind, so a new connection (a fresh handle) resumes TLS sessions.

namespace lifeboat::http {
namespace {

constexpr size_t kMaxIdleHandles = 64;
constexpr long kMaxConnectsPerHandle = 8;
constexpr long kBufferSize = 64 * 1024;

void GlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};
using Slist = std::unique_ptr<curl_slist, SlistDeleter>;

bool Append(Slist& list, const std::string& line) {
  curl_slist* next = curl_slist_append(list.get(), line.c_str());
  if (next == nullptr) return false;
  (void)list.release();
  list.reset(next);
  return true;
}

bool IsToken(std::string_view s) {
  if (s.empty()) return false;
  return std::all_of(s.begin(), s.end(), [](unsigned char c) {
    return std::isalnum(c) || std::strchr("!#$%&'*+-.^_`|~", c) != nullptr;
  });
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n'))
    s.remove_suffix(1);
  return s;
}

// Runs `read` (an OpenSSL PEM reader) over `pem`; true if it found an object.
template <typename ReadFn>
bool PemParses(const std::string& pem, ReadFn read) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  if (bio == nullptr) return false;
  bool ok = read(bio);
  BIO_free(bio);
  return ok;
}

Status ValidatePem(const PemSource& src, const char* what, bool is_key) {
  if (!src.data.empty() && !src.file.empty()) {
    return absl::InvalidArgumentError(std::string(what) + ": give PEM data or a file, not both");
  }
  if (src.data.empty()) return absl::OkStatus();
  bool ok = PemParses(src.data, [is_key](BIO* bio) {
    if (is_key) {
      EVP_PKEY* key = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
      EVP_PKEY_free(key);
      return key != nullptr;
    }
    X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
    X509_free(cert);
    return cert != nullptr;
  });
  if (!ok) return absl::InvalidArgumentError(std::string(what) + ": not valid PEM data");
  return absl::OkStatus();
}

// DNS cache and TLS sessions shared by all handles of a Client.
class Share {
 public:
  Share() : share_(curl_share_init()) {
    curl_share_setopt(share_, CURLSHOPT_LOCKFUNC, &Share::Lock);
    curl_share_setopt(share_, CURLSHOPT_UNLOCKFUNC, &Share::Unlock);
    curl_share_setopt(share_, CURLSHOPT_USERDATA, this);
    curl_share_setopt(share_, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    curl_share_setopt(share_, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
  }
  ~Share() { curl_share_cleanup(share_); }
  Share(const Share&) = delete;
  Share& operator=(const Share&) = delete;
  CURLSH* get() const { return share_; }

 private:
  static void Lock(CURL*, curl_lock_data data, curl_lock_access, void* self) {
    static_cast<Share*>(self)->mu_[Index(data)].lock();
  }
  static void Unlock(CURL*, curl_lock_data data, void* self) {
    static_cast<Share*>(self)->mu_[Index(data)].unlock();
  }
  static size_t Index(curl_lock_data data) {
    return std::min<size_t>(static_cast<size_t>(data), CURL_LOCK_DATA_LAST);
  }

  CURLSH* share_;
  std::array<std::mutex, CURL_LOCK_DATA_LAST + 1> mu_;
};

// One pooled transfer handle: a multi handle (which owns the connection cache) and its easy
// handle. Used by one request at a time.
struct Handle {
  Handle() : multi(curl_multi_init()), easy(curl_easy_init()) {
    curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, kMaxConnectsPerHandle);
  }
  ~Handle() {
    curl_easy_cleanup(easy);
    curl_multi_cleanup(multi);
  }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;

  CURLM* multi;
  CURL* easy;
  std::string origin;  // of the last request, to prefer reusing its connection
  char error[CURL_ERROR_SIZE];
};

// Lets a cancellation callback (any thread) wake a transfer without outliving its handle.
struct Waker {
  std::mutex mu;
  CURLM* multi = nullptr;
  void Wake() {
    std::lock_guard<std::mutex> lock(mu);
    if (multi != nullptr) curl_multi_wakeup(multi);
  }
  void Detach() {
    std::lock_guard<std::mutex> lock(mu);
    multi = nullptr;
  }
};

// Limits requests in flight per origin.
class HostSlots {
 public:
  // OK once a slot is taken; Cancelled or DeadlineExceeded otherwise.
  Status Acquire(const std::string& origin, int limit, const CancellationToken& cancel,
                 std::optional<std::chrono::steady_clock::time_point> deadline) {
    std::unique_lock<std::mutex> lock(mu_);
    while (limit > 0 && in_use_[origin] >= limit) {
      if (cancel.IsCancelled()) return cancel.status();
      if (deadline && std::chrono::steady_clock::now() >= *deadline) {
        return absl::DeadlineExceededError("timed out waiting for a connection to " + origin);
      }
      // Polls cancellation: registering a callback that takes mu_ could deadlock when the
      // token is already cancelled (the callback then runs on this thread).
      cv_.wait_for(lock, std::chrono::milliseconds(20));
    }
    ++in_use_[origin];
    return absl::OkStatus();
  }
  void Release(const std::string& origin) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (--in_use_[origin] == 0) in_use_.erase(origin);
    }
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, int> in_use_;
};

// The parts of a URL the client needs; `redacted` has no user info and no query.
struct ParsedUrl {
  std::string scheme, host, port, path;
  bool explicit_port = false;
  std::string origin() const { return scheme + "://" + host + ":" + port; }
  std::string redacted() const { return origin() + path; }
};

struct CurluDeleter {
  void operator()(CURLU* u) const { curl_url_cleanup(u); }
};
using Curlu = std::unique_ptr<CURLU, CurluDeleter>;

std::string UrlPart(CURLU* u, CURLUPart part, unsigned flags = 0) {
  char* out = nullptr;
  if (curl_url_get(u, part, &out, flags) != CURLUE_OK || out == nullptr) return "";
  std::string s(out);
  curl_free(out);
  return s;
}

// Parses `url` into `u` (kept for rewriting the host for tls_server_name). InvalidArgument for
// malformed URLs and schemes other than http/https.
StatusOr<ParsedUrl> ParseUrl(const std::string& url, Curlu& u) {
  u.reset(curl_url());
  if (!u) return absl::ResourceExhaustedError("out of memory");
  if (CURLUcode uc = curl_url_set(u.get(), CURLUPART_URL, url.c_str(), 0); uc != CURLUE_OK) {
    return absl::InvalidArgumentError(std::string("malformed URL: ") + curl_url_strerror(uc));
  }
  ParsedUrl p;
  p.scheme = UrlPart(u.get(), CURLUPART_SCHEME);
  p.host = UrlPart(u.get(), CURLUPART_HOST);
  p.explicit_port = !UrlPart(u.get(), CURLUPART_PORT).empty();
  p.port = UrlPart(u.get(), CURLUPART_PORT, CURLU_DEFAULT_PORT);
  p.path = UrlPart(u.get(), CURLUPART_PATH);
  if (p.scheme != "http" && p.scheme != "https") {
    return absl::InvalidArgumentError("unsupported URL scheme \"" + p.scheme +
                                      "\" (want http or https)");
  }
  if (p.host.empty()) return absl::InvalidArgumentError("URL has no host");
  return p;
}

// Per-request state seen by libcurl's callbacks.
struct Transfer {
  const ClientRequest* request = nullptr;
  CURL* easy = nullptr;
  ClientResponse response;
  bool head_ready = false;
  bool stopped_by_callback = false;
  Status callback_error;  // from a body source, a limit or an exception
  size_t body_offset = 0;  // into request->body
};

size_t OnHeader(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::string_view line(data, size * n);
  try {
    if (line.rfind("HTTP/", 0) == 0) {
      t->response.headers.clear();  // a new (possibly final) response after 1xx
    } else if (!line.empty() && (line[0] == ' ' || line[0] == '\t')) {
      if (!t->response.headers.empty()) {  // obsolete line folding
        auto last = std::prev(t->response.headers.end());
        last->second.append(" ").append(Trim(line));
      }
    } else if (size_t colon = line.find(':'); colon != std::string_view::npos) {
      t->response.headers.emplace(std::string(Trim(line.substr(0, colon))),
                                  std::string(Trim(line.substr(colon + 1))));
    }
  } catch (...) {
    t->callback_error = absl::ResourceExhaustedError("out of memory storing response headers");
    return 0;
  }
  return size * n;
}

size_t OnBody(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::string_view chunk(data, size * n);
  const ClientRequest& req = *t->request;
  try {
    if (!t->head_ready) {
      long code = 0;
      curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &code);
      t->response.status = static_cast<int>(code);
      t->head_ready = true;
    }
    if (req.on_body) {
      if (!req.on_body(t->response, chunk)) {
        t->stopped_by_callback = true;
        return 0;
      }
      return chunk.size();
    }
    if (t->response.body.size() + chunk.size() > req.max_response_bytes) {
      t->callback_error = absl::ResourceExhaustedError(
          "response body exceeds " + std::to_string(req.max_response_bytes) + " bytes");
      return 0;
    }
    t->response.body.append(chunk);
  } catch (const std::exception& e) {
    t->callback_error = absl::InternalError(std::string("response body handler failed: ") + e.what());
    return 0;
  }
  return chunk.size();
}

size_t OnRead(char* buffer, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const ClientRequest& req = *t->request;
  size_t cap = size * n;
  if (req.body_source == nullptr) {
    size_t len = std::min(cap, req.body.size() - t->body_offset);
    std::memcpy(buffer, req.body.data() + t->body_offset, len);
    t->body_offset += len;
    return len;
  }
  try {
    StatusOr<size_t> got = req.body_source->Read(std::span<char>(buffer, cap));
    if (!got.ok()) {
      t->callback_error = Annotate(got.status(), "reading request body");
      return CURL_READFUNC_ABORT;
    }
    return *got;
  } catch (const std::exception& e) {
    t->callback_error = absl::InternalError(std::string("reading request body: ") + e.what());
    return CURL_READFUNC_ABORT;
  }
}

// libcurl rewinds when it resends a request on a fresh connection (the kept-alive one was
// closed by the server meanwhile).
int OnSeek(void* user, curl_off_t offset, int origin) {
  auto* t = static_cast<Transfer*>(user);
  if (origin != SEEK_SET || offset < 0) return CURL_SEEKFUNC_CANTSEEK;
  if (t->request->body_source == nullptr) {
    if (static_cast<size_t>(offset) > t->request->body.size()) return CURL_SEEKFUNC_FAIL;
    t->body_offset = static_cast<size_t>(offset);
    return CURL_SEEKFUNC_OK;
  }
  if (offset != 0) return CURL_SEEKFUNC_CANTSEEK;
  return t->request->body_source->Rewind().ok() ? CURL_SEEKFUNC_OK : CURL_SEEKFUNC_CANTSEEK;
}

// Backstop for cancellation while libcurl itself is busy; curl_multi_wakeup is the fast path.
int OnProgress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  return static_cast<Transfer*>(user)->request->cancel.IsCancelled() ? 1 : 0;
}

class CurlClient : public Client {
 public:
  explicit CurlClient(ClientOptions options) : Client(std::move(options)) {}

  StatusOr<ClientResponse> Send(const ClientRequest& request) override;

 private:
  std::unique_ptr<Handle> TakeHandle(const std::string& origin);
  void ReturnHandle(std::unique_ptr<Handle> handle);
  Status Configure(Handle& h, const ClientRequest& req, const ParsedUrl& url, Curlu& u,
                   Transfer& t, Slist& headers, Slist& connect_to, long timeout_ms);
  void SetConnectionOptions(CURL* e, long timeout_ms);
  Status SetUrlAndHeaders(CURL* e, const ClientRequest& req, const ParsedUrl& url, Curlu& u,
                          Slist& headers, Slist& connect_to);
  Status SetMethodAndCallbacks(CURL* e, const ClientRequest& req, Transfer& t);
  // Adds the easy handle to its multi handle, drives it and maps the outcome.
  Status Perform(Handle& h, const ClientRequest& req, const ParsedUrl& url, Transfer& t,
                 long timeout_ms);
  Status Drive(Handle& h, const ClientRequest& req);
  Status MapResult(CURLcode code, Handle& h, const ClientRequest& req, const ParsedUrl& url,
                   const Transfer& t, long timeout_ms);

  Share share_;  // declared before the pool: handles refer to it and must go first
  HostSlots slots_;
  std::mutex pool_mu_;
  std::vector<std::unique_ptr<Handle>> idle_;
};

std::unique_ptr<Handle> CurlClient::TakeHandle(const std::string& origin) {
  {
    std::lock_guard<std::mutex> lock(pool_mu_);
    if (!idle_.empty()) {
      auto it = std::find_if(idle_.rbegin(), idle_.rend(),
                             [&](const auto& h) { return h->origin == origin; });
      auto pick = it == idle_.rend() ? std::prev(idle_.end()) : std::prev(it.base());
      std::unique_ptr<Handle> h = std::move(*pick);
      idle_.erase(pick);
      return h;
    }
  }
  auto h = std::make_unique<Handle>();
  if (h->multi == nullptr || h->easy == nullptr) return nullptr;
  return h;
}

void CurlClient::ReturnHandle(std::unique_ptr<Handle> handle) {
  std::lock_guard<std::mutex> lock(pool_mu_);
  if (idle_.size() < kMaxIdleHandles) idle_.push_back(std::move(handle));
}

// Starts from libcurl's defaults on every request (curl_easy_reset keeps connections, DNS and
// TLS session caches), so that nothing leaks from the previous request on this handle.
Status CurlClient::Configure(Handle& h, const ClientRequest& req, const ParsedUrl& url, Curlu& u,
                             Transfer& t, Slist& headers, Slist& connect_to,
                             long timeout_ms) {
  curl_easy_reset(h.easy);
  h.error[0] = '\0';
  curl_easy_setopt(h.easy, CURLOPT_ERRORBUFFER, h.error);
  SetConnectionOptions(h.easy, timeout_ms);
  LIFEBOAT_RETURN_IF_ERROR(SetUrlAndHeaders(h.easy, req, url, u, headers, connect_to));
  return SetMethodAndCallbacks(h.easy, req, t);
}

void CurlClient::SetConnectionOptions(CURL* e, long timeout_ms) {
  const ClientOptions& o = options_;
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_SHARE, share_.get());
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(o.connect_timeout.count()));
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_easy_setopt(e, CURLOPT_USERAGENT, o.user_agent.c_str());
  curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, o.accept_gzip ? "gzip" : nullptr);
  curl_easy_setopt(e, CURLOPT_HTTP_VERSION,
                   o.enable_http2 ? CURL_HTTP_VERSION_2TLS : CURL_HTTP_VERSION_1_1);
  curl_easy_setopt(e, CURLOPT_BUFFERSIZE, kBufferSize);
  curl_easy_setopt(e, CURLOPT_UPLOAD_BUFFERSIZE, kBufferSize);
  if (o.tcp_keepalive.count() > 0) {
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPIDLE, static_cast<long>(o.tcp_keepalive.count()));
    curl_easy_setopt(e, CURLOPT_TCP_KEEPINTVL, static_cast<long>(o.tcp_keepalive.count()));
  }

  // TLS material. Blobs are copied by libcurl (CURL_BLOB_COPY).
  auto blob = [](const std::string& s) {
    return curl_blob{const_cast<char*>(s.data()), s.size(), CURL_BLOB_COPY};
  };
  if (!o.ca.data.empty()) {
    curl_blob b = blob(o.ca.data);
    curl_easy_setopt(e, CURLOPT_CAINFO_BLOB, &b);
  } else if (!o.ca.file.empty()) {
    curl_easy_setopt(e, CURLOPT_CAINFO, o.ca.file.c_str());
  }
  curl_easy_setopt(e, CURLOPT_SSLCERTTYPE, "PEM");
  curl_easy_setopt(e, CURLOPT_SSLKEYTYPE, "PEM");
  if (!o.client_cert.data.empty()) {
    curl_blob b = blob(o.client_cert.data);
    curl_easy_setopt(e, CURLOPT_SSLCERT_BLOB, &b);
  } else if (!o.client_cert.file.empty()) {
    curl_easy_setopt(e, CURLOPT_SSLCERT, o.client_cert.file.c_str());
  }
  if (!o.client_key.data.empty()) {
    curl_blob b = blob(o.client_key.data);
    curl_easy_setopt(e, CURLOPT_SSLKEY_BLOB, &b);
  } else if (!o.client_key.file.empty()) {
    curl_easy_setopt(e, CURLOPT_SSLKEY, o.client_key.file.c_str());
  }
  if (o.insecure_skip_verify) {
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
  }
  if (!o.proxy_url.empty()) curl_easy_setopt(e, CURLOPT_PROXY, o.proxy_url.c_str());
}

Status CurlClient::SetUrlAndHeaders(CURL* e, const ClientRequest& req, const ParsedUrl& url,
                                    Curlu& u, Slist& headers, Slist& connect_to) {
  const ClientOptions& o = options_;
  bool has_host_header = false, has_expect_header = false;
  for (const auto& [name, value] : req.headers) {
    if (!IsToken(name)) return absl::InvalidArgumentError("invalid header name \"" + name + "\"");
    // The value is never quoted: it may be a credential.
    if (value.find_first_of("\r\n", 0) != std::string::npos || value.find('\0') != std::string::npos) {
      return absl::InvalidArgumentError("header " + name + " has a line break in its value");
    }
    has_host_header |= EqualsIgnoreCase(name, "Host");
    has_expect_header |= EqualsIgnoreCase(name, "Expect");
    std::string line = value.empty() ? name + ";" : name + ": " + value;
    if (!Append(headers, line)) return absl::ResourceExhaustedError("out of memory");
  }
  // Our servers do not answer `Expect: 100-continue`; waiting for it costs a second per upload.
  if (!has_expect_header && !Append(headers, "Expect:")) {
    return absl::ResourceExhaustedError("out of memory");
  }

  // tls_server_name: put the name into the URL (so libcurl uses it for SNI and verification)
  // and send the connection to the real address with CONNECT_TO; Host keeps the real host.
  std::string effective_url = req.url;
  if (!o.tls_server_name.empty() && url.scheme == "https") {
    if (curl_url_set(u.get(), CURLUPART_HOST, o.tls_server_name.c_str(), 0) != CURLUE_OK) {
      return absl::InvalidArgumentError("invalid tls_server_name \"" + o.tls_server_name + "\"");
    }
    effective_url = UrlPart(u.get(), CURLUPART_URL);
    if (!Append(connect_to, o.tls_server_name + ":" + url.port + ":" + url.host + ":" + url.port)) {
      return absl::ResourceExhaustedError("out of memory");
    }
    curl_easy_setopt(e, CURLOPT_CONNECT_TO, connect_to.get());
    if (!has_host_header &&
        !Append(headers, "Host: " + url.host + (url.explicit_port ? ":" + url.port : ""))) {
      return absl::ResourceExhaustedError("out of memory");
    }
  }
  curl_easy_setopt(e, CURLOPT_URL, effective_url.c_str());
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers.get());
  return absl::OkStatus();
}

Status CurlClient::SetMethodAndCallbacks(CURL* e, const ClientRequest& req, Transfer& t) {
  if (!IsToken(req.method)) return absl::InvalidArgumentError("invalid HTTP method");
  bool wants_body = req.method == "POST" || req.method == "PUT" || req.method == "PATCH" ||
                    !req.body.empty() || req.body_source != nullptr;
  if (req.method == "HEAD") {
    curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
  } else if (wants_body) {
    curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);  // PUT semantics with our method name
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, req.method.c_str());
    curl_easy_setopt(e, CURLOPT_READFUNCTION, &OnRead);
    curl_easy_setopt(e, CURLOPT_READDATA, &t);
    curl_easy_setopt(e, CURLOPT_SEEKFUNCTION, &OnSeek);
    curl_easy_setopt(e, CURLOPT_SEEKDATA, &t);
    curl_off_t size = req.body_source ? req.body_source->Size()
                                      : static_cast<curl_off_t>(req.body.size());
    // -1: unknown, sent chunked over HTTP/1.1.
    curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE, size < 0 ? curl_off_t{-1} : size);
  } else if (req.method != "GET") {
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, req.method.c_str());
  }
  curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, &OnHeader);
  curl_easy_setopt(e, CURLOPT_HEADERDATA, &t);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &OnBody);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, &t);
  curl_easy_setopt(e, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(e, CURLOPT_XFERINFOFUNCTION, &OnProgress);
  curl_easy_setopt(e, CURLOPT_XFERINFODATA, &t);
  return absl::OkStatus();
}

// Runs the transfer to completion on this thread. Returns Cancelled if the token fired first;
// otherwise OK (the transfer's own result is read from the multi handle by the caller).
Status CurlClient::Drive(Handle& h, const ClientRequest& req) {
  auto waker = std::make_shared<Waker>();
  waker->multi = h.multi;
  uint64_t id = req.cancel.OnCancel([waker] { waker->Wake(); });
  Status result;
  for (;;) {
    int running = 0;
    CURLMcode mc = curl_multi_perform(h.multi, &running);
    if (mc != CURLM_OK) {
      result = absl::InternalError(std::string("libcurl: ") + curl_multi_strerror(mc));
      break;
    }
    if (running == 0) break;
    if (req.cancel.IsCancelled()) {
      result = req.cancel.status();
      break;
    }
    mc = curl_multi_poll(h.multi, nullptr, 0, 1000, nullptr);
    if (mc != CURLM_OK) {
      result = absl::InternalError(std::string("libcurl: ") + curl_multi_strerror(mc));
      break;
    }
  }
  req.cancel.Unregister(id);
  waker->Detach();
  return result;
}

Status CurlClient::MapResult(CURLcode code, Handle& h, const ClientRequest& req,
                             const ParsedUrl& url, const Transfer& t, long timeout_ms) {
  std::string what = req.method + " " + url.redacted();
  std::string detail = h.error[0] != '\0' ? h.error : curl_easy_strerror(code);
  switch (code) {
    case CURLE_OK:
      return absl::OkStatus();
    case CURLE_ABORTED_BY_CALLBACK:
      if (!t.callback_error.ok()) return Annotate(t.callback_error, what);  // body source
      if (req.cancel.IsCancelled()) return Annotate(req.cancel.status(), what);
      return absl::InternalError(what + ": aborted: " + detail);
    case CURLE_WRITE_ERROR:
    case CURLE_READ_ERROR:
      if (t.stopped_by_callback) return absl::OkStatus();
      if (!t.callback_error.ok()) return Annotate(t.callback_error, what);
      return absl::UnavailableError(what + ": " + detail);
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
      return absl::InvalidArgumentError(what + ": " + detail);
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH: {
      constexpr std::string_view kPrefix = "SSL certificate problem: ";
      if (detail.rfind(kPrefix, 0) == 0) detail = detail.substr(kPrefix.size());
      return absl::FailedPreconditionError("TLS verification of " + url.scheme + "://" +
                                           url.host + ":" + url.port + " failed: " + detail);
    }
    case CURLE_SSL_CERTPROBLEM:
      return absl::InvalidArgumentError(what + ": client certificate: " + detail);
    case CURLE_OPERATION_TIMEDOUT: {
      curl_off_t pretransfer = 0;
      curl_easy_getinfo(h.easy, CURLINFO_PRETRANSFER_TIME_T, &pretransfer);
      if (pretransfer == 0) return absl::UnavailableError(what + ": connecting: " + detail);
      return absl::DeadlineExceededError(what + ": request timed out after " +
                                         std::to_string(timeout_ms) + " ms");
    }
    case CURLE_OUT_OF_MEMORY:
      return absl::ResourceExhaustedError(what + ": out of memory");
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_SEND_FAIL_REWIND:
    case CURLE_PROXY:
    case CURLE_RECURSIVE_API_CALL:
    default:
      return absl::UnavailableError(what + ": " + detail);
  }
}

StatusOr<ClientResponse> CurlClient::Send(const ClientRequest& req) {
  Curlu u;
  LIFEBOAT_ASSIGN_OR_RETURN(ParsedUrl url, ParseUrl(req.url, u));
  if (req.body_source != nullptr && !req.body.empty()) {
    return absl::InvalidArgumentError("request has both body and body_source");
  }
  if (req.cancel.IsCancelled()) return req.cancel.status();

  long timeout_ms = static_cast<long>(req.timeout.value_or(options_.request_timeout).count());
  auto start = std::chrono::steady_clock::now();
  std::optional<std::chrono::steady_clock::time_point> deadline;
  if (timeout_ms > 0) deadline = start + std::chrono::milliseconds(timeout_ms);
  std::string origin = url.origin();
  LIFEBOAT_RETURN_IF_ERROR(
      slots_.Acquire(origin, options_.max_connections_per_host, req.cancel, deadline));
  struct SlotRelease {
    HostSlots& slots;
    const std::string& origin;
    ~SlotRelease() { slots.Release(origin); }
  } release{slots_, origin};

  std::unique_ptr<Handle> h = TakeHandle(origin);
  if (!h) return absl::ResourceExhaustedError("cannot create a libcurl handle");
  struct HandleReturn {
    CurlClient* client;
    std::unique_ptr<Handle>& handle;
    ~HandleReturn() { client->ReturnHandle(std::move(handle)); }
  } handle_return{this, h};

  Transfer t;
  t.request = &req;
  t.easy = h->easy;
  Slist headers, connect_to;
  // Time spent waiting for a slot counts against the request's timeout.
  long curl_timeout_ms = timeout_ms;
  if (deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        *deadline - std::chrono::steady_clock::now());
    curl_timeout_ms = std::max<long>(1, static_cast<long>(left.count()));
  }
  LIFEBOAT_RETURN_IF_ERROR(Annotate(Configure(*h, req, url, u, t, headers, connect_to,
                                              curl_timeout_ms),
                                    req.method + " " + url.redacted()));
  h->origin = origin;
  LIFEBOAT_RETURN_IF_ERROR(Perform(*h, req, url, t, timeout_ms));
  return std::move(t.response);
}

Status CurlClient::Perform(Handle& h, const ClientRequest& req, const ParsedUrl& url,
                           Transfer& t, long timeout_ms) {
  CURLMcode mc = curl_multi_add_handle(h.multi, h.easy);
  if (mc != CURLM_OK) {
    return absl::InternalError(std::string("libcurl: ") + curl_multi_strerror(mc));
  }
  Status driven = Drive(h, req);
  CURLcode code = CURLE_OK;
  bool done = false;
  int left = 0;
  while (CURLMsg* msg = curl_multi_info_read(h.multi, &left)) {
    if (msg->msg == CURLMSG_DONE && msg->easy_handle == h.easy) {
      code = msg->data.result;
      done = true;
    }
  }
  // Removing an unfinished transfer closes its connection; a finished one stays cached.
  curl_multi_remove_handle(h.multi, h.easy);
  if (!driven.ok()) return Annotate(driven, req.method + " " + url.redacted());
  LIFEBOAT_RETURN_IF_ERROR(MapResult(code, h, req, url, t, timeout_ms));
  if (!done) return absl::InternalError("libcurl transfer did not complete");
  long status = 0;
  curl_easy_getinfo(h.easy, CURLINFO_RESPONSE_CODE, &status);
  t.response.status = static_cast<int>(status);
  return absl::OkStatus();
}

}  // namespace

std::string ClientResponse::Header(const std::string& name) const {
  auto it = headers.find(name);
  return it == headers.end() ? "" : it->second;
}

std::vector<std::string> ClientResponse::HeaderValues(const std::string& name) const {
  std::vector<std::string> out;
  auto [begin, end] = headers.equal_range(name);
  for (auto it = begin; it != end; ++it) out.push_back(it->second);
  return out;
}

StatusOr<std::unique_ptr<Client>> Client::Create(ClientOptions options) {
  GlobalInit();
  LIFEBOAT_RETURN_IF_ERROR(ValidatePem(options.ca, "CA", false));
  LIFEBOAT_RETURN_IF_ERROR(ValidatePem(options.client_cert, "client certificate", false));
  LIFEBOAT_RETURN_IF_ERROR(ValidatePem(options.client_key, "client key", true));
  if (options.client_cert.empty() != options.client_key.empty()) {
    return absl::InvalidArgumentError("client certificate and key must be given together");
  }
  if (!options.proxy_url.empty()) {
    Curlu u(curl_url());
    if (!u || curl_url_set(u.get(), CURLUPART_URL, options.proxy_url.c_str(), 0) != CURLUE_OK) {
      return absl::InvalidArgumentError("malformed proxy URL");
    }
    std::string scheme = UrlPart(u.get(), CURLUPART_SCHEME);
    static const char* kSchemes[] = {"http", "https", "socks4", "socks4a", "socks5", "socks5h"};
    if (std::none_of(std::begin(kSchemes), std::end(kSchemes),
                     [&](const char* s) { return scheme == s; })) {
      return absl::InvalidArgumentError("unsupported proxy scheme \"" + scheme + "\"");
    }
  }
  if (options.max_connections_per_host < 0) {
    return absl::InvalidArgumentError("max_connections_per_host must not be negative");
  }
  return std::unique_ptr<Client>(new CurlClient(std::move(options)));
}

}  // namespace lifeboat::http
