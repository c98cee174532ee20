#include "src/storage/drivers/s3/s3_object_store.h"

#include <openssl/evp.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <condition_variable>
#include <pugixml.hpp>
#include <thread>

#include "absl/strings/escaping.h"
#include "lifeboat/common/clock.h"
#include "src/storage/drivers/s3/checksum.h"
#include "src/storage/drivers/s3/s3_settings.h"
#include "src/storage/drivers/s3/s3_store.h"

namespace lifeboat::storage::s3 {
namespace {

bool Ok2xx(int status) { return status >= 200 && status < 300; }

std::string B64(std::string_view s) {
  return absl::Base64Escape(absl::string_view(s.data(), s.size()));
}

Status CheckKey(std::string_view bucket, std::string_view key) {
  if (bucket.empty()) return absl::InvalidArgumentError("empty bucket name");
  if (key.empty())
    return absl::InvalidArgumentError("empty object key in bucket " + std::string(bucket));
  if (key.size() > 1024) return absl::InvalidArgumentError("object key longer than 1024 bytes");
  return absl::OkStatus();
}

// Cancels a download whose data stops flowing for `limit` (a whole-request timeout would cut
// off large objects on slow links).
class StallWatchdog {
 public:
  StallWatchdog(std::chrono::milliseconds limit, CancellationSource* source)
      : limit_(limit), source_(source), last_(Now()), thread_([this] { Run(); }) {}
  ~StallWatchdog() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      done_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  void Progress() { last_.store(Now()); }
  bool fired() const { return fired_.load(); }

 private:
  static int64_t Now() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }
  void Run() {
    std::unique_lock<std::mutex> lock(mu_);
    auto step = std::min<std::chrono::milliseconds>(limit_, std::chrono::milliseconds(200));
    while (!done_) {
      cv_.wait_for(lock, step);
      if (done_) break;
      if (Now() - last_.load() > limit_.count()) {
        fired_.store(true);
        source_->Cancel("no data for " + std::to_string(limit_.count()) + " ms");
        break;
      }
    }
  }

  const std::chrono::milliseconds limit_;
  CancellationSource* source_;
  std::atomic<int64_t> last_;
  std::atomic<bool> fired_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  std::thread thread_;  // last: starts after the fields it reads
};

// "bytes=first-last" (or "bytes=first-" to the end).
std::string Range(const GetOptions& o) {
  std::string range = "bytes=" + std::to_string(o.offset) + "-";
  if (o.length > 0) range += std::to_string(o.offset + o.length - 1);
  return range;
}

int64_t ParseLength(const std::string& v) {
  int64_t n = -1;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  return (ec == std::errc() && p == v.data() + v.size()) ? n : -1;
}

}  // namespace

StatusOr<size_t> ReadUpTo(ByteSource& source, size_t max, std::string* out) {
  // Reserved, not resized: pages are touched only as data arrives, so a small body read with a
  // large limit costs what it holds.
  out->reserve(out->size() + max);
  std::string chunk(std::min<size_t>(max, 256 * 1024), '\0');
  size_t got = 0;
  while (got < max) {
    size_t want = std::min(chunk.size(), max - got);
    LIFEBOAT_ASSIGN_OR_RETURN(size_t n, source.Read(std::span<char>(chunk.data(), want)));
    if (n == 0) break;
    out->append(chunk.data(), n);
    got += n;
  }
  return got;
}

S3ObjectStore::S3ObjectStore(std::unique_ptr<S3Requester> requester)
    : requester_(std::move(requester)), settings_(requester_->settings()) {}

Pairs S3ObjectStore::SseCustomerHeaders() const {
  if (settings_.sse_customer_key.empty()) return {};
  unsigned char md5[EVP_MAX_MD_SIZE];
  unsigned int md5_len = 0;
  EVP_Digest(settings_.sse_customer_key.data(), settings_.sse_customer_key.size(), md5, &md5_len,
             EVP_md5(), nullptr);
  return {{"x-amz-server-side-encryption-customer-algorithm", "AES256"},
          {"x-amz-server-side-encryption-customer-key", B64(settings_.sse_customer_key)},
          {"x-amz-server-side-encryption-customer-key-md5",
           B64(std::string_view(reinterpret_cast<char*>(md5), md5_len))}};
}

Pairs S3ObjectStore::WriteHeaders() const {
  Pairs h = SseCustomerHeaders();
  if (!settings_.server_side_encryption.empty()) {
    h.emplace_back("x-amz-server-side-encryption", settings_.server_side_encryption);
  }
  if (!settings_.kms_key_id.empty()) {
    h.emplace_back("x-amz-server-side-encryption-aws-kms-key-id", settings_.kms_key_id);
  }
  if (!settings_.gcs_kms_key_name.empty()) {
    h.emplace_back("x-goog-encryption-kms-key-name", settings_.gcs_kms_key_name);
  }
  if (!settings_.tagging.empty()) h.emplace_back("x-amz-tagging", settings_.tagging);
  return h;
}

Status S3ObjectStore::CheckBucket(std::string_view bucket) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (known_buckets_.contains(bucket)) return absl::OkStatus();
  }
  S3Call call;
  call.method = "HEAD";
  call.bucket = std::string(bucket);
  LIFEBOAT_ASSIGN_OR_RETURN(auto resp, requester_->Send(call));
  if (resp.status == 404) {
    return absl::FailedPreconditionError("bucket " + std::string(bucket) + " does not exist");
  }
  if (!Ok2xx(resp.status))
    return S3Error(resp.status, resp.body, "HEAD", bucket, "", &resp.headers);
  std::lock_guard<std::mutex> lock(mu_);
  known_buckets_.insert(std::string(bucket));
  return absl::OkStatus();
}

Status S3ObjectStore::PutSingle(std::string_view bucket, std::string_view key,
                                const std::string& data) {
  S3Call call;
  call.method = "PUT";
  call.bucket = std::string(bucket);
  call.key = std::string(key);
  call.headers = WriteHeaders();
  if (settings_.checksum != ChecksumAlgorithm::kNone) {
    call.headers.emplace_back(ChecksumHeader(settings_.checksum),
                              ComputeChecksum(settings_.checksum, data));
  }
  call.body = data;
  call.timeout = settings_.transfer_timeout;
  LIFEBOAT_ASSIGN_OR_RETURN(auto resp, requester_->Send(call));
  if (!Ok2xx(resp.status))
    return S3Error(resp.status, resp.body, "PUT", bucket, key, &resp.headers);
  return absl::OkStatus();
}

Status S3ObjectStore::Put(std::string_view bucket, std::string_view key, ByteSource& body) {
  LIFEBOAT_RETURN_IF_ERROR(CheckKey(bucket, key));
  const int64_t declared = body.Size();
  int64_t part_size = settings_.part_size;
  // S3 allows 10,000 parts: grow the parts of a known, very large body to fit.
  if (declared > part_size * 10000) part_size = (declared + 9999) / 10000;
  std::string first;
  // One byte more than a part (or than the declared size) tells a body of exactly one part
  // from a larger one.
  int64_t want = (declared >= 0 && declared < part_size) ? declared + 1 : part_size + 1;
  LIFEBOAT_ASSIGN_OR_RETURN(size_t got, ReadUpTo(body, static_cast<size_t>(want), &first));
  if (got <= static_cast<size_t>(part_size)) {
    if (declared >= 0 && static_cast<int64_t>(got) != declared) {
      return absl::DataLossError("PUT " + Describe(bucket, key) + ": body delivered " +
                                 std::to_string(got) + " bytes, expected " +
                                 std::to_string(declared));
    }
    return PutSingle(bucket, key, first);
  }
  // The extra byte starts the second part.
  std::string carry = first.substr(static_cast<size_t>(part_size));
  first.resize(static_cast<size_t>(part_size));
  return PutMultipart(bucket, key, body, std::move(first), std::move(carry), part_size, declared);
}

Status S3ObjectStore::Get(std::string_view bucket, std::string_view key, ByteSink& sink,
                          const GetOptions& options, int64_t* written) {
  if (written != nullptr) *written = 0;
  LIFEBOAT_RETURN_IF_ERROR(CheckKey(bucket, key));
  if (options.offset < 0 || options.length < -1) {
    return absl::InvalidArgumentError("bad range for " + Describe(bucket, key));
  }
  if (options.length == 0) {
    LIFEBOAT_ASSIGN_OR_RETURN(bool exists, Exists(bucket, key));
    if (!exists) return absl::NotFoundError("no such key: " + Describe(bucket, key));
    return absl::OkStatus();
  }
  S3Call call;
  call.bucket = std::string(bucket);
  call.key = std::string(key);
  call.headers = SseCustomerHeaders();
  if (options.offset > 0 || options.length > 0) call.headers.emplace_back("Range", Range(options));
  CancellationSource cancel;
  call.cancel = cancel.token();
  call.timeout = std::chrono::milliseconds(0);  // the watchdog limits stalls instead
  int64_t n = 0, expected = -1;
  int status = 0;
  Status sink_error;
  std::string error_body;
  StallWatchdog watchdog(settings_.stall_timeout, &cancel);
  call.on_body = [&](const http::ClientResponse& head, std::string_view chunk) {
    watchdog.Progress();
    status = head.status;
    if (!Ok2xx(head.status)) {
      if (error_body.size() < 64 * 1024) error_body.append(chunk);
      return true;
    }
    if (expected < 0) expected = ParseLength(head.Header("Content-Length"));
    if (chunk.empty()) return true;
    sink_error = sink.Write(chunk);
    if (!sink_error.ok()) return false;
    n += static_cast<int64_t>(chunk.size());
    if (written != nullptr) *written = n;
    return true;
  };
  auto resp = requester_->Send(call);
  if (!sink_error.ok()) return sink_error;
  if (watchdog.fired()) {
    return absl::DeadlineExceededError("GET " + Describe(bucket, key) + ": no data for " +
                                       std::to_string(settings_.stall_timeout.count()) +
                                       " ms after " + std::to_string(n) + " bytes");
  }
  if (!resp.ok()) {
    if (Ok2xx(status) && resp.status().code() == absl::StatusCode::kUnavailable) {
      return absl::DataLossError("GET " + Describe(bucket, key) + ": response ended after " +
                                 std::to_string(n) + " of " + std::to_string(expected) +
                                 " bytes: " + std::string(resp.status().message()));
    }
    return resp.status();
  }
  if (!Ok2xx(resp->status)) {
    return S3Error(resp->status, error_body, "GET", bucket, key, &resp->headers);
  }
  if (expected >= 0 && n != expected) {
    return absl::DataLossError("GET " + Describe(bucket, key) + ": response ended after " +
                               std::to_string(n) + " of " + std::to_string(expected) + " bytes");
  }
  return absl::OkStatus();
}

StatusOr<bool> S3ObjectStore::Exists(std::string_view bucket, std::string_view key) {
  LIFEBOAT_RETURN_IF_ERROR(CheckKey(bucket, key));
  S3Call call;
  call.method = "HEAD";
  call.bucket = std::string(bucket);
  call.key = std::string(key);
  call.headers = SseCustomerHeaders();
  LIFEBOAT_ASSIGN_OR_RETURN(auto resp, requester_->Send(call));
  if (Ok2xx(resp.status)) return true;
  if (resp.status == 404) {
    // A HEAD answer has no body: ask whether the bucket itself is missing.
    LIFEBOAT_RETURN_IF_ERROR(CheckBucket(bucket));
    return false;
  }
  return S3Error(resp.status, resp.body, "HEAD", bucket, key, &resp.headers);
}

Status S3ObjectStore::List(std::string_view bucket, std::string_view prefix,
                           std::string_view delimiter, std::vector<std::string>* keys,
                           std::vector<std::string>* prefixes) {
  if (bucket.empty()) return absl::InvalidArgumentError("empty bucket name");
  std::string token;
  for (int page = 0;; ++page) {
    S3Call call;
    call.bucket = std::string(bucket);
    call.query = {{"list-type", "2"}, {"prefix", std::string(prefix)}, {"max-keys", "1000"}};
    if (!delimiter.empty()) call.query.emplace_back("delimiter", std::string(delimiter));
    if (!token.empty()) call.query.emplace_back("continuation-token", token);
    LIFEBOAT_ASSIGN_OR_RETURN(auto resp, requester_->Send(call));
    if (!Ok2xx(resp.status))
      return S3Error(resp.status, resp.body, "LIST", bucket, prefix, &resp.headers);
    pugi::xml_document doc;
    if (!doc.load_buffer(resp.body.data(), resp.body.size())) {
      return absl::DataLossError("LIST " + Describe(bucket, prefix) + ": unparsable XML answer");
    }
    pugi::xml_node result = doc.child("ListBucketResult");
    if (!result)
      return absl::DataLossError("LIST " + Describe(bucket, prefix) + ": no ListBucketResult");
    for (auto c : result.children("Contents")) {
      if (keys != nullptr) keys->emplace_back(c.child_value("Key"));
    }
    for (auto c : result.children("CommonPrefixes")) {
      if (prefixes != nullptr) prefixes->emplace_back(c.child_value("Prefix"));
    }
    if (std::string_view(result.child_value("IsTruncated")) != "true") break;
    std::string next = result.child_value("NextContinuationToken");
    if (next.empty() || next == token) {
      return absl::DataLossError("LIST " + Describe(bucket, prefix) +
                                 ": truncated page without a new continuation token");
    }
    token = std::move(next);
  }
  return absl::OkStatus();
}

StatusOr<std::vector<std::string>> S3ObjectStore::ListCommonPrefixes(std::string_view bucket,
                                                                     std::string_view prefix,
                                                                     std::string_view delimiter) {
  if (delimiter.empty()) return absl::InvalidArgumentError("empty delimiter");
  std::vector<std::string> prefixes;
  LIFEBOAT_RETURN_IF_ERROR(List(bucket, prefix, delimiter, nullptr, &prefixes));
  std::sort(prefixes.begin(), prefixes.end());
  prefixes.erase(std::unique(prefixes.begin(), prefixes.end()), prefixes.end());
  return prefixes;
}

StatusOr<std::vector<std::string>> S3ObjectStore::ListObjects(std::string_view bucket,
                                                              std::string_view prefix) {
  std::vector<std::string> keys;
  LIFEBOAT_RETURN_IF_ERROR(List(bucket, prefix, "", &keys, nullptr));
  std::sort(keys.begin(), keys.end());
  return keys;
}

Status S3ObjectStore::Delete(std::string_view bucket, std::string_view key) {
  LIFEBOAT_RETURN_IF_ERROR(CheckKey(bucket, key));
  S3Call call;
  call.method = "DELETE";
  call.bucket = std::string(bucket);
  call.key = std::string(key);
  LIFEBOAT_ASSIGN_OR_RETURN(auto resp, requester_->Send(call));
  if (Ok2xx(resp.status)) return absl::OkStatus();
  Status st = S3Error(resp.status, resp.body, "DELETE", bucket, key, &resp.headers);
  if (absl::IsNotFound(st)) return absl::OkStatus();
  return st;
}

StatusOr<std::string> S3ObjectStore::CreateSignedUrl(std::string_view bucket, std::string_view key,
                                                     std::chrono::seconds ttl) {
  LIFEBOAT_RETURN_IF_ERROR(CheckKey(bucket, key));
  return requester_->PresignGet(bucket, key, ttl);
}

StatusOr<std::unique_ptr<ObjectStore>> NewS3ObjectStoreFromSettings(S3Settings settings,
                                                                    Clock* clock) {
  LIFEBOAT_ASSIGN_OR_RETURN(auto client, http::Client::Create(settings.http));
  if (clock == nullptr) clock = &RealClock();
  return std::unique_ptr<ObjectStore>(std::make_unique<S3ObjectStore>(
      std::make_unique<S3Requester>(std::move(settings), std::move(client), clock)));
}

StatusOr<std::unique_ptr<ObjectStore>> NewS3ObjectStore(const DriverParams& params) {
  LIFEBOAT_ASSIGN_OR_RETURN(S3Settings settings, ParseAwsSettings(params));
  return NewS3ObjectStoreFromSettings(std::move(settings), params.clock);
}

StatusOr<std::unique_ptr<ObjectStore>> NewGcsObjectStore(const DriverParams& params) {
  LIFEBOAT_ASSIGN_OR_RETURN(S3Settings settings, ParseGcsSettings(params));
  return NewS3ObjectStoreFromSettings(std::move(settings), params.clock);
}

}  // namespace lifeboat::storage::s3
