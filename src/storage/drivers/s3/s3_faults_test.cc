// The S3 driver against a local fault-injecting HTTP server: S3 error documents, throttling,
// slow and stalled responses, a body cut off mid-way, and multipart uploads that fail (they must
// be aborted, never completed). Checks the Status codes the retrying decorator relies on.

#include <unistd.h>

#include <atomic>
#include <boost/asio.hpp>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lifeboat/http/server.h"
#include "lifeboat/storage/decorators.h"
#include "src/storage/drivers/s3/checksum.h"
#include "src/storage/drivers/s3/s3_object_store.h"
#include "src/storage/drivers/s3/s3_settings.h"
#include "src/storage/testing/test_streams.h"

namespace lifeboat::storage::s3 {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kSecret[] = "SECRETKEYVALUE-never-in-messages";

std::string ErrorXml(const std::string& code, const std::string& message) {
  return "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>" + code + "</Code><Message>" +
         message + "</Message><RequestId>r1</RequestId></Error>";
}

// A fake S3 endpoint: the test installs a handler; the fixture records what it saw.
class FaultServerTest : public ::testing::Test {
 protected:
  using Fn = std::function<void(http::Request&, http::ResponseWriter&)>;

  void Start(Fn fn) {
    fn_ = std::move(fn);
    http::ServerOptions options;
    options.max_body_bytes = 16 << 20;
    auto server = http::Server::Start(options, [this](http::Request& req, http::ResponseWriter& w) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        seen_.push_back(req.method + " " + req.target);
      }
      fn_(req, w);
    });
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
  }

  void TearDown() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    if (server_) server_->Stop();
  }

  // Blocks a handler until the test ends (bounded: 10 s), or until `done` says so.
  void Hold(const std::function<bool()>& done = [] { return false; }) {
    std::unique_lock<std::mutex> lock(mu_);
    for (int i = 0; i < 500 && !stopping_ && !done(); ++i) {
      cv_.wait_for(lock, std::chrono::milliseconds(20));
    }
  }

  std::unique_ptr<ObjectStore> Store(int64_t part_size = 1024, int concurrency = 2) {
    S3Settings s;
    auto endpoint = ParseEndpoint("s3Url", "http://" + server_->address());
    EXPECT_TRUE(endpoint.ok());
    s.endpoint = *endpoint;
    s.region = "us-east-1";
    s.path_style = true;
    s.credentials = {"AKIDFAULTS", kSecret, ""};
    s.request_timeout = std::chrono::milliseconds(500);
    s.transfer_timeout = std::chrono::milliseconds(5000);
    s.stall_timeout = std::chrono::milliseconds(300);
    s.part_size = part_size;
    s.concurrency = concurrency;
    auto store = NewS3ObjectStoreFromSettings(std::move(s), nullptr);
    EXPECT_TRUE(store.ok()) << store.status();
    return std::move(*store);
  }

  int Count(const std::string& prefix) {
    std::lock_guard<std::mutex> lock(mu_);
    int n = 0;
    for (const auto& s : seen_) n += s.rfind(prefix, 0) == 0;
    return n;
  }

  void ExpectClean(const Status& st) {
    EXPECT_THAT(st.message(), Not(HasSubstr(kSecret)));
    EXPECT_THAT(st.message(), Not(HasSubstr("Signature=")));
    EXPECT_THAT(st.message(), Not(HasSubstr("X-Amz-")));
  }

  Fn fn_;
  std::unique_ptr<http::Server> server_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::vector<std::string> seen_;
};

Status GetInto(ObjectStore& store, const std::string& key, std::string* out,
               int64_t* written = nullptr) {
  auto sink = StringSink(out);
  return store.Get("bucket", key, *sink, {}, written);
}

TEST_F(FaultServerTest, SlowDownAndServerErrorsAreUnavailable) {
  Start([](http::Request& req, http::ResponseWriter& w) {
    if (req.method == "GET" && req.HasQuery("list-type")) {
      (void)w.Send(429, {}, "");
    } else if (req.method == "GET") {
      (void)w.Send(503, {{"Content-Type", "application/xml"}},
                   ErrorXml("SlowDown", "Please reduce your request rate."));
    } else {
      (void)w.Send(500, {{"Content-Type", "application/xml"}},
                   ErrorXml("InternalError", "We encountered an internal error."));
    }
  });
  auto store = Store();
  std::string out;
  Status get = GetInto(*store, "k", &out);
  EXPECT_EQ(get.code(), absl::StatusCode::kUnavailable) << get;
  EXPECT_THAT(get.message(), HasSubstr("SlowDown"));
  EXPECT_THAT(get.message(), HasSubstr("Please reduce your request rate."));
  ExpectClean(get);
  EXPECT_TRUE(out.empty());  // an error document never reaches the sink
  Status put = PutString(*store, "bucket", "k", "data");
  EXPECT_EQ(put.code(), absl::StatusCode::kUnavailable) << put;
  EXPECT_THAT(put.message(), HasSubstr("InternalError"));
  ExpectClean(put);
  EXPECT_EQ(store->ListObjects("bucket", "").status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(store->Delete("bucket", "k").code(), absl::StatusCode::kUnavailable);
}

TEST_F(FaultServerTest, ForbiddenIsPermissionDeniedAndMissingIsNotFound) {
  Start([](http::Request& req, http::ResponseWriter& w) {
    const bool bucket_only = req.path == "/bucket" || req.path == "/nobucket";
    if (req.path.rfind("/nobucket", 0) == 0) {
      (void)w.Send(404, {}, req.method == "HEAD" ? "" : ErrorXml("NoSuchBucket", "no bucket"));
    } else if (req.path == "/bucket/denied") {
      (void)w.Send(403, {}, req.method == "HEAD" ? "" : ErrorXml("AccessDenied", "Access Denied"));
    } else if (req.path == "/bucket/badsig") {
      (void)w.Send(403, {},
                   ErrorXml("SignatureDoesNotMatch",
                            "The request signature we calculated "
                            "does not match the signature you provided."));
    } else if (bucket_only && req.method == "HEAD") {
      (void)w.Send(200, {}, "");
    } else {
      (void)w.Send(
          404, {},
          req.method == "HEAD" ? "" : ErrorXml("NoSuchKey", "The specified key does not exist."));
    }
  });
  auto store = Store();
  std::string out;
  EXPECT_EQ(GetInto(*store, "denied", &out).code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(store->Exists("bucket", "denied").status().code(), absl::StatusCode::kPermissionDenied);
  Status badsig = PutString(*store, "bucket", "badsig", "x");
  EXPECT_EQ(badsig.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(badsig.message(), HasSubstr("SignatureDoesNotMatch"));
  ExpectClean(badsig);
  Status missing = GetInto(*store, "missing", &out);
  EXPECT_EQ(missing.code(), absl::StatusCode::kNotFound) << missing;
  EXPECT_THAT(missing.message(), HasSubstr("NoSuchKey"));
  auto exists = store->Exists("bucket", "missing");
  ASSERT_TRUE(exists.ok()) << exists.status();
  EXPECT_FALSE(*exists);
  EXPECT_TRUE(store->Delete("bucket", "missing").ok());
  auto nobucket = store->Exists("nobucket", "k");
  EXPECT_EQ(nobucket.status().code(), absl::StatusCode::kFailedPrecondition);
  Status nb_get = store->Get("nobucket", "k", *StringSink(&out));
  EXPECT_EQ(nb_get.code(), absl::StatusCode::kFailedPrecondition) << nb_get;
}

TEST_F(FaultServerTest, SlowResponseIsDeadlineExceeded) {
  Start([this](http::Request& req, http::ResponseWriter& w) {
    if (req.method == "HEAD") {
      Hold();  // longer than request_timeout
      (void)w.Send(200, {}, "");
      return;
    }
    // GET: headers and a little data, then silence (longer than stall_timeout).
    (void)w.BeginStream(200, {{"Content-Type", "application/octet-stream"}});
    (void)w.WriteChunk("abc");
    Hold([&] { return w.PeerClosed(); });
    (void)w.EndStream();
  });
  auto store = Store();
  auto exists = store->Exists("bucket", "slow");
  EXPECT_EQ(exists.status().code(), absl::StatusCode::kDeadlineExceeded) << exists.status();
  std::string out;
  int64_t written = -1;
  Status get = GetInto(*store, "stall", &out, &written);
  EXPECT_EQ(get.code(), absl::StatusCode::kDeadlineExceeded) << get;
  EXPECT_EQ(out, "abc");
  EXPECT_EQ(written, 3);
}

TEST_F(FaultServerTest, DelimiterListingFollowsContinuationTokens) {
  Start([](http::Request& req, http::ResponseWriter& w) {
    std::string token = req.Query("continuation-token");
    bool ok = req.Query("list-type") == "2" && req.Query("prefix") == "backups/" &&
              req.Query("delimiter") == "/";
    if (!ok) {
      (void)w.Send(400, {}, ErrorXml("InvalidArgument", "bad listing request"));
    } else if (token.empty()) {
      (void)w.Send(200, {},
                   "<ListBucketResult><IsTruncated>true</IsTruncated>"
                   "<NextContinuationToken>1/2+3==</NextContinuationToken>"
                   "<CommonPrefixes><Prefix>backups/b2/</Prefix></CommonPrefixes>"
                   "<Contents><Key>backups/top.json</Key></Contents>"
                   "</ListBucketResult>");
    } else if (token == "1/2+3==") {
      (void)w.Send(200, {},
                   "<ListBucketResult><IsTruncated>false</IsTruncated>"
                   "<CommonPrefixes><Prefix>backups/b1/</Prefix></CommonPrefixes>"
                   "<CommonPrefixes><Prefix>backups/b &amp; c/</Prefix></CommonPrefixes>"
                   "</ListBucketResult>");
    } else {
      (void)w.Send(400, {}, ErrorXml("InvalidArgument", "bad token"));
    }
  });
  auto store = Store();
  auto prefixes = store->ListCommonPrefixes("bucket", "backups/", "/");
  ASSERT_TRUE(prefixes.ok()) << prefixes.status();
  EXPECT_THAT(*prefixes, ::testing::ElementsAre("backups/b & c/", "backups/b1/", "backups/b2/"));
  EXPECT_EQ(Count("GET /bucket?"), 2);
}

TEST_F(FaultServerTest, TruncatedListingWithoutTokenIsAnError) {
  Start([](http::Request& req, http::ResponseWriter& w) {
    (void)w.Send(200, {}, "<ListBucketResult><IsTruncated>true</IsTruncated></ListBucketResult>");
  });
  auto store = Store();
  EXPECT_EQ(store->ListObjects("bucket", "").status().code(), absl::StatusCode::kDataLoss);
}

// The driver under RetryingObjectStore: a 503 on PUT and a download that stalls half-way are
// retried (the download resumes with a Range, so the sink gets every byte exactly once); 403
// and 404 are not retried.
TEST_F(FaultServerTest, RetryingDecoratorRecoversAndDoesNotRetryPermanentErrors) {
  const std::string body(10000, 'q');
  std::string stored;
  int put_attempts = 0, get_attempts = 0;
  std::string resumed_range;
  Start([&](http::Request& req, http::ResponseWriter& w) {
    if (req.method == "PUT") {
      if (++put_attempts == 1) {
        (void)w.Send(503, {}, ErrorXml("SlowDown", "Please reduce your request rate."));
      } else {
        stored = req.body;
        (void)w.Send(200, {{"ETag", "\"e\""}}, "");
      }
    } else if (req.method == "GET" && req.path == "/bucket/k") {
      if (++get_attempts == 1) {
        (void)w.BeginStream(200, {});
        (void)w.WriteChunk(std::string_view(stored).substr(0, 4000));
        Hold([&] { return w.PeerClosed(); });
        return;
      }
      resumed_range = req.Header("Range");
      (void)w.Send(206, {}, std::string_view(stored).substr(4000));
    } else if (req.path == "/bucket/denied") {
      (void)w.Send(403, {}, req.method == "HEAD" ? "" : ErrorXml("AccessDenied", "Access Denied"));
    } else {
      (void)w.Send(404, {}, ErrorXml("NoSuchKey", "The specified key does not exist."));
    }
  });
  RetryingObjectStore store(Store(/*part_size=*/1 << 20),
                            {.max_attempts = 4,
                             .initial_backoff = std::chrono::milliseconds(1),
                             .max_backoff = std::chrono::milliseconds(5)});
  Status put = PutString(store, "bucket", "k", body);
  ASSERT_TRUE(put.ok()) << put;
  EXPECT_EQ(put_attempts, 2);
  EXPECT_EQ(stored, body);
  auto back = GetString(store, "bucket", "k");
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, body);
  EXPECT_EQ(get_attempts, 2);
  EXPECT_EQ(resumed_range, "bytes=4000-");
  EXPECT_EQ(store.Exists("bucket", "denied").status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(Count("HEAD /bucket/denied"), 1);
  EXPECT_EQ(GetString(store, "bucket", "missing").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(Count("GET /bucket/missing"), 1);
}

// The gcp factory: path-style requests to the storeEndpoint, SigV4 scope region "auto",
// the CMEK header on writes, no x-amz checksum headers.
TEST_F(FaultServerTest, GcsFactorySendsXmlApiRequests) {
  std::vector<http::Headers> puts;
  Start([&](http::Request& req, http::ResponseWriter& w) {
    if (req.method == "PUT") {
      std::lock_guard<std::mutex> lock(mu_);
      puts.push_back(req.headers);
    }
    (void)w.Send(200, {}, "");
  });
  auto file =
      std::filesystem::temp_directory_path() / ("lifeboat-gcs-fault-" + std::to_string(::getpid()));
  std::ofstream(file) << "GOOGLE_HMAC_ACCESS_ID=GOOG1EXAMPLE\nGOOGLE_HMAC_SECRET=" << kSecret
                      << "\n";
  DriverParams params;
  params.config = {{"storeEndpoint", "http://" + server_->address()},
                   {"credentialsFile", file.string()},
                   {"kmsKeyName", "projects/p/locations/l/keyRings/r/cryptoKeys/k"}};
  auto store = NewGcsObjectStore(params);
  std::filesystem::remove(file);
  ASSERT_TRUE(store.ok()) << store.status();
  ASSERT_TRUE(PutString(**store, "my-bucket", "backups/b1/x.json", "{}").ok());
  ASSERT_EQ(Count("PUT /my-bucket/backups/b1/x.json"), 1);
  std::lock_guard<std::mutex> lock(mu_);
  ASSERT_EQ(puts.size(), 1u);
  const http::Headers& h = puts[0];
  EXPECT_THAT(h.at("Authorization"), HasSubstr("Credential=GOOG1EXAMPLE/"));
  EXPECT_THAT(h.at("Authorization"), HasSubstr("/auto/s3/aws4_request"));
  EXPECT_EQ(h.at("x-goog-encryption-kms-key-name"),
            "projects/p/locations/l/keyRings/r/cryptoKeys/k");
  EXPECT_EQ(h.count("x-amz-checksum-crc32"), 0u);
  EXPECT_EQ(h.at("Host"), server_->address());
}

// Answers one request with a Content-Length it does not honour, then closes the connection
// (the lifeboat server always frames its responses correctly, so this one is raw asio).
class TruncatingServer {
 public:
  TruncatingServer() : acceptor_(io_, {boost::asio::ip::make_address("127.0.0.1"), 0}) {
    thread_ = std::thread([this] {
      boost::asio::ip::tcp::socket socket(io_);
      boost::system::error_code ec;
      acceptor_.accept(socket, ec);
      if (ec || stop_) return;
      boost::asio::streambuf buf;
      boost::asio::read_until(socket, buf, "\r\n\r\n", ec);
      std::string response =
          "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\nContent-Type: application/octet-stream\r\n"
          "\r\n" +
          std::string(500, 'x');
      boost::asio::write(socket, boost::asio::buffer(response), ec);
      socket.shutdown(boost::asio::ip::tcp::socket::shutdown_both, ec);
      socket.close(ec);
    });
  }
  ~TruncatingServer() {
    stop_ = true;
    // Unblocks accept() if no request came.
    boost::asio::ip::tcp::socket poke(io_);
    boost::system::error_code ec;
    poke.connect(acceptor_.local_endpoint(), ec);
    thread_.join();
  }
  uint16_t port() const { return acceptor_.local_endpoint().port(); }

 private:
  boost::asio::io_context io_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

TEST(TruncatedResponseTest, BodyCutOffIsDataLoss) {
  TruncatingServer server;
  S3Settings s;
  s.endpoint = *ParseEndpoint("s3Url", "http://127.0.0.1:" + std::to_string(server.port()));
  s.region = "us-east-1";
  s.path_style = true;
  s.credentials = {"AK", kSecret, ""};
  auto store = NewS3ObjectStoreFromSettings(std::move(s), nullptr);
  ASSERT_TRUE(store.ok());
  std::string out;
  int64_t written = -1;
  auto sink = StringSink(&out);
  Status get = (*store)->Get("bucket", "cut", *sink, {}, &written);
  EXPECT_EQ(get.code(), absl::StatusCode::kDataLoss) << get;
  EXPECT_EQ(written, 500);
  EXPECT_EQ(out.size(), 500u);
}

// A fake multipart endpoint. Part `fail_part` answers 500; `complete_error` makes the completion
// answer 200 with an <Error> document.
struct MultipartFake {
  int fail_part = 0;
  bool complete_error = false;
  std::mutex mu;
  std::map<int, std::string> parts;
  std::string complete_body;
  int in_flight = 0, max_in_flight = 0;
  bool signatures_ok = true;

  void Handle(http::Request& req, http::ResponseWriter& w) {
    if (req.Header("Authorization").rfind("AWS4-HMAC-SHA256 Credential=AKIDFAULTS/", 0) != 0 ||
        req.Header("x-amz-content-sha256") != HexSha256(req.body)) {
      std::lock_guard<std::mutex> lock(mu);
      signatures_ok = false;
    }
    if (req.method == "POST" && req.HasQuery("uploads")) {
      (void)w.Send(200, {},
                   "<InitiateMultipartUploadResult><Bucket>bucket</Bucket><Key>k</Key>"
                   "<UploadId>up-1</UploadId></InitiateMultipartUploadResult>");
    } else if (req.method == "PUT" && req.HasQuery("partNumber")) {
      int n = std::stoi(req.Query("partNumber"));
      {
        std::lock_guard<std::mutex> lock(mu);
        max_in_flight = std::max(max_in_flight, ++in_flight);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));  // lets parts overlap
      bool ok = n != fail_part && req.Header("x-amz-checksum-crc32") ==
                                      ComputeChecksum(ChecksumAlgorithm::kCrc32, req.body);
      {
        std::lock_guard<std::mutex> lock(mu);
        --in_flight;
        if (ok) parts[n] = req.body;
      }
      if (ok) {
        (void)w.Send(200, {{"ETag", "\"etag-" + std::to_string(n) + "\""}}, "");
      } else {
        (void)w.Send(500, {}, ErrorXml("InternalError", "part failed"));
      }
    } else if (req.method == "POST" && req.HasQuery("uploadId")) {
      {
        std::lock_guard<std::mutex> lock(mu);
        complete_body = req.body;
      }
      (void)w.Send(200, {},
                   complete_error ? ErrorXml("InternalError", "try again")
                                  : "<CompleteMultipartUploadResult/>");
    } else if (req.method == "DELETE" && req.HasQuery("uploadId")) {
      (void)w.Send(204, {}, "");
    } else {
      (void)w.Send(400, {}, ErrorXml("InvalidRequest", "unexpected " + req.method));
    }
  }
};

TEST_F(FaultServerTest, MultipartUploadSendsBoundedParallelPartsWithChecksums) {
  MultipartFake fake;
  Start([&](http::Request& req, http::ResponseWriter& w) { fake.Handle(req, w); });
  auto store = Store(/*part_size=*/1024, /*concurrency=*/2);
  testing::PseudoRandomSource body({.seed = 7, .length = 5000, .report_size = false});
  ASSERT_TRUE(store->Put("bucket", "k", body).ok());
  std::lock_guard<std::mutex> lock(fake.mu);
  ASSERT_EQ(fake.parts.size(), 5u);
  std::string joined;
  for (auto& [n, data] : fake.parts) joined += data;
  testing::PseudoRandomSource again({.seed = 7, .length = 5000});
  EXPECT_EQ(joined, *ReadAll(again));
  EXPECT_LE(fake.max_in_flight, 2);
  EXPECT_TRUE(fake.signatures_ok);
  EXPECT_THAT(fake.complete_body, HasSubstr("<PartNumber>5</PartNumber><ETag>\"etag-5\"</ETag>"
                                            "<ChecksumCRC32>"));
  EXPECT_EQ(Count("DELETE"), 0);
}

TEST_F(FaultServerTest, FailedPartAbortsTheUpload) {
  MultipartFake fake;
  fake.fail_part = 2;
  Start([&](http::Request& req, http::ResponseWriter& w) { fake.Handle(req, w); });
  auto store = Store();
  testing::PseudoRandomSource body({.seed = 1, .length = 5000});
  Status st = store->Put("bucket", "k", body);
  EXPECT_EQ(st.code(), absl::StatusCode::kUnavailable) << st;
  EXPECT_EQ(Count("DELETE /bucket/k?uploadId=up-1"), 1);
  std::lock_guard<std::mutex> lock(fake.mu);
  EXPECT_TRUE(fake.complete_body.empty());
}

TEST_F(FaultServerTest, SourceErrorAndShortBodyAbortTheUpload) {
  MultipartFake fake;
  Start([&](http::Request& req, http::ResponseWriter& w) { fake.Handle(req, w); });
  auto store = Store();
  testing::PseudoRandomSource failing({.seed = 1,
                                       .length = 5000,
                                       .fail_with = absl::CancelledError("job cancelled"),
                                       .fail_after = 3000});
  Status st = store->Put("bucket", "k", failing);
  EXPECT_EQ(st, absl::CancelledError("job cancelled"));  // returned unchanged
  EXPECT_EQ(Count("DELETE /bucket/k?uploadId=up-1"), 1);
  testing::PseudoRandomSource lying({.seed = 1, .length = 4000, .reported_size = 5000});
  EXPECT_EQ(store->Put("bucket", "k", lying).code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(Count("DELETE /bucket/k?uploadId=up-1"), 2);
  std::lock_guard<std::mutex> lock(fake.mu);
  EXPECT_TRUE(fake.complete_body.empty());
}

TEST_F(FaultServerTest, CompletionErrorInA200IsUnavailableAndAborts) {
  MultipartFake fake;
  fake.complete_error = true;
  Start([&](http::Request& req, http::ResponseWriter& w) { fake.Handle(req, w); });
  auto store = Store();
  testing::PseudoRandomSource body({.seed = 1, .length = 3000});
  Status st = store->Put("bucket", "k", body);
  EXPECT_EQ(st.code(), absl::StatusCode::kUnavailable) << st;
  EXPECT_EQ(Count("DELETE /bucket/k?uploadId=up-1"), 1);
}

}  // namespace
}  // namespace lifeboat::storage::s3
