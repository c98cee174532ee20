#include "src/storage/drivers/s3/sigv4.h"

#include <boost/json.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lifeboat/common/clock.h"
#include "lifeboat/storage/registry.h"
#include "src/storage/drivers/s3/s3_object_store.h"

namespace lifeboat::storage::s3 {
namespace {

namespace json = boost::json;

std::string ReadText(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

json::value LoadVectors(const std::string& name) {
  return json::parse(
      ReadText(std::string(LIFEBOAT_SOURCE_DIR) + "/test/testdata/aws-sigv4/" + name));
}

std::string Str(const json::value& v) { return std::string(v.as_string()); }

Pairs ToPairs(const json::value& v) {
  Pairs out;
  for (const auto& p : v.as_array()) {
    out.emplace_back(Str(p.as_array()[0]), Str(p.as_array()[1]));
  }
  return out;
}

std::chrono::system_clock::time_point ParseAmzDate(const std::string& s) {
  std::tm tm{};
  strptime(s.c_str(), "%Y%m%dT%H%M%SZ", &tm);
  return std::chrono::system_clock::from_time_t(timegm(&tm));
}

// Every header case of the AWS SigV4 test suite (sigv4-test-suite.json).
TEST(SigV4SuiteTest, HeaderVectorsMatch) {
  json::value suite = LoadVectors("sigv4-test-suite.json");
  const auto& root = suite.as_object();
  SigningScope scope{Str(root.at("region")), Str(root.at("service")),
                     ParseAmzDate(Str(root.at("time")))};
  int passed = 0;
  for (const auto& v : root.at("vectors").as_array()) {
    const auto& o = v.as_object();
    Credentials creds{Str(root.at("credentials").at("access_key_id")),
                      Str(root.at("credentials").at("secret_access_key")),
                      Str(o.at("session_token"))};
    SigningRequest req{Str(o.at("method")), Str(o.at("path")), ToPairs(o.at("query")),
                       ToPairs(o.at("headers")), HexSha256(Str(o.at("body")))};
    std::string auth = SignHeaders(creds, scope, &req);
    EXPECT_EQ(auth, Str(o.at("authorization"))) << Str(o.at("name"));
    if (auth == Str(o.at("authorization"))) ++passed;
  }
  EXPECT_EQ(passed, 23);
  std::printf("SigV4 test-suite header vectors passing: %d\n", passed);
}

// The worked examples of the S3 API reference (s3-examples.json): S3-style paths, hashed and
// empty payloads, Range, a value-less query parameter, and a presigned URL.
TEST(SigV4SuiteTest, S3ExamplesMatch) {
  json::value suite = LoadVectors("s3-examples.json");
  const auto& root = suite.as_object();
  SigningScope scope{Str(root.at("region")), Str(root.at("service")),
                     ParseAmzDate(Str(root.at("time")))};
  Credentials creds{Str(root.at("credentials").at("access_key_id")),
                    Str(root.at("credentials").at("secret_access_key")), ""};
  int passed = 0;
  for (const auto& v : root.at("vectors").as_array()) {
    const auto& o = v.as_object();
    SigningRequest req{Str(o.at("method")), Str(o.at("path")), ToPairs(o.at("query")),
                       ToPairs(o.at("headers")), Str(o.at("payload_hash"))};
    Signature sig;
    if (o.contains("presign_expires")) {
      std::string q = PresignQuery(creds, scope, req,
                                   std::chrono::seconds(o.at("presign_expires").as_int64()), &sig);
      EXPECT_THAT(q, ::testing::HasSubstr("X-Amz-Signature=" + Str(o.at("signature"))));
      EXPECT_THAT(q, ::testing::HasSubstr(
                         "X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2F"
                         "aws4_request"));
    } else {
      SignHeaders(creds, scope, &req, &sig);
    }
    EXPECT_EQ(sig.signature, Str(o.at("signature"))) << Str(o.at("name"));
    EXPECT_EQ(sig.signed_headers, Str(o.at("signed_headers"))) << Str(o.at("name"));
    if (sig.signature == Str(o.at("signature"))) ++passed;
  }
  EXPECT_EQ(passed, 5);
}

TEST(SigV4Test, CanonicalRequestOfPutObjectExample) {
  SigningRequest req{"PUT",
                     "/test$file.text",
                     {},
                     {{"host", "examplebucket.s3.amazonaws.com"},
                      {"date", "Fri, 24 May 2013 00:00:00 GMT"},
                      {"x-amz-storage-class", "REDUCED_REDUNDANCY"},
                      {"x-amz-content-sha256", HexSha256("Welcome to Amazon S3.")}},
                     HexSha256("Welcome to Amazon S3.")};
  Signature sig;
  SignHeaders({"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", ""},
              {"us-east-1", "s3", ParseAmzDate("20130524T000000Z")}, &req, &sig);
  EXPECT_EQ(sig.canonical_request,
            "PUT\n/test%24file.text\n\n"
            "date:Fri, 24 May 2013 00:00:00 GMT\nhost:examplebucket.s3.amazonaws.com\n"
            "x-amz-content-sha256:"
            "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072\n"
            "x-amz-date:20130524T000000Z\nx-amz-storage-class:REDUCED_REDUNDANCY\n\n"
            "date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class\n"
            "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072");
  EXPECT_EQ(sig.string_to_sign,
            "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n"
            "9e0e90d9c76de8fa5b200d8c849cd5b8dc7a3be3951ddb7f6a76b4158342019d");
}

TEST(SigV4Test, UriEncodeKeepsUnreservedAndEncodesOnce) {
  EXPECT_EQ(UriEncode("a b+c%d/é~._-", false), "a%20b%2Bc%25d/%C3%A9~._-");
  EXPECT_EQ(UriEncode("a/b", true), "a%2Fb");
  // An already-encoded key is a key with '%' in it: encoded once more, never decoded.
  EXPECT_EQ(UriEncode("x%20y", false), "x%2520y");
  EXPECT_EQ(CanonicalQuery({{"b", "2"}, {"a", "x y"}, {"a", "+"}, {"c", ""}}),
            "a=%2B&a=x%20y&b=2&c=");
}

TEST(SigV4Test, SessionTokenIsSignedInHeadersAndQuery) {
  SigningScope scope{"us-east-1", "s3", ParseAmzDate("20150830T123600Z")};
  SigningRequest req{"GET", "/b/k", {}, {{"host", "h"}}, std::string(kUnsignedPayload)};
  Signature sig;
  SignHeaders({"AK", "SK", "TOKEN"}, scope, &req, &sig);
  EXPECT_EQ(sig.signed_headers, "host;x-amz-date;x-amz-security-token");
  std::string q = PresignQuery({"AK", "SK", "TOK/EN"}, scope,
                               {"GET", "/b/k", {}, {{"host", "h"}}, "UNSIGNED-PAYLOAD"},
                               std::chrono::seconds(60), &sig);
  EXPECT_THAT(q, ::testing::HasSubstr("X-Amz-Security-Token=TOK%2FEN"));
  EXPECT_THAT(sig.canonical_request, ::testing::HasSubstr("X-Amz-Security-Token=TOK%2FEN"));
}

// --- botocore comparison ---------------------------------------------------------------------

constexpr char kPython[] = "/usr/bin/python3";

bool HaveBotocore() {
  if (!std::filesystem::exists(kPython)) return false;
  return std::system("/usr/bin/python3 -c 'import botocore' >/dev/null 2>&1") == 0;
}

StatusOr<json::value> RunBotocore(const json::value& input) {
  auto dir =
      std::filesystem::temp_directory_path() / ("lifeboat-sigv4-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "in.json") << json::serialize(input);
  std::string cmd = std::string(kPython) + " " + LIFEBOAT_SOURCE_DIR +
                    "/src/storage/drivers/s3/botocore_sign.py " + (dir / "in.json").string() +
                    " > " + (dir / "out.json").string();
  int rc = std::system(cmd.c_str());
  std::string out = ReadText(dir / "out.json");
  std::filesystem::remove_all(dir);
  if (rc != 0) return absl::InternalError("botocore_sign.py failed: " + std::to_string(rc));
  return json::parse(out);
}

json::array JsonPairs(const Pairs& pairs) {
  json::array a;
  for (const auto& [k, v] : pairs) a.push_back(json::array{json::string(k), json::string(v)});
  return a;
}

struct BotoCase {
  std::string method;
  std::string host;
  std::string path;  // decoded
  Pairs query;
  Pairs headers;  // besides host
  std::string body;
  bool unsigned_payload = false;
  int presign_expires = 0;  // > 0: presigned URL
};

// Signs `c` with our signer (returned: the Authorization header or the presigned URL) and
// appends the same request, for botocore_sign.py, to *requests.
std::string SignCase(const BotoCase& c, const Credentials& creds, const SigningScope& scope,
                     json::array* requests) {
  SigningRequest req{c.method, c.path, c.query, c.headers, ""};
  req.headers.emplace_back("host", c.host);
  json::object r{{"method", c.method},
                 {"url", "http://" + c.host + UriEncode(c.path, false)},
                 {"params", JsonPairs(c.query)},
                 {"headers", JsonPairs(c.headers)},
                 {"body", c.body}};
  std::string ours;
  if (c.presign_expires > 0) {
    r["kind"] = "presign";
    r["expires"] = c.presign_expires;
    req.payload_hash = kUnsignedPayload;
    ours = r["url"].as_string().c_str() + std::string("?") +
           PresignQuery(creds, scope, req, std::chrono::seconds(c.presign_expires));
  } else {
    r["kind"] = "header";
    r["unsigned"] = c.unsigned_payload;
    // botocore only skips payload signing over https.
    if (c.unsigned_payload) r["url"] = "https://" + c.host + UriEncode(c.path, false);
    req.payload_hash = c.unsigned_payload ? std::string(kUnsignedPayload) : HexSha256(c.body);
    req.headers.emplace_back("x-amz-content-sha256", req.payload_hash);
    ours = SignHeaders(creds, scope, &req);
  }
  requests->push_back(r);
  return ours;
}

TEST(SigV4BotocoreTest, HeadersAndPresignedUrlsMatchBotocore) {
  if (!HaveBotocore()) GTEST_SKIP() << "/usr/bin/python3 with botocore (python3-botocore) missing";
  std::vector<BotoCase> cases = {
      {"GET",
       "examplebucket.s3.amazonaws.com",
       "/backups/b 1/ünï+cøde=x&y.tar.gz",
       {},
       {{"Range", "bytes=10-99"}},
       "",
       false,
       0},
      {"PUT",
       "127.0.0.1:9000",
       "/bucket/backups/b1/velero-backup.json",
       {},
       {{"Content-Type", "application/octet-stream"},
        {"x-amz-server-side-encryption", "aws:kms"},
        {"x-amz-checksum-crc32", "AAAAAA=="}},
       "{\"kind\":\"Backup\"}",
       false,
       0},
      {"PUT",
       "bucket.s3.eu-west-1.amazonaws.com",
       "/k",
       {{"partNumber", "3"}, {"uploadId", "a/b+c=="}},
       {},
       std::string(1000, 'x'),
       true,
       0},
      {"GET",
       "127.0.0.1:9000",
       "/bucket",
       {{"list-type", "2"},
        {"prefix", "backups/"},
        {"delimiter", "/"},
        {"continuation-token", "1/2+3=="}},
       {},
       "",
       false,
       0},
      {"DELETE", "127.0.0.1:9000", "/bucket/a key with  spaces", {}, {}, "", false, 0},
      {"GET", "examplebucket.s3.amazonaws.com", "/backups/b1/b1 ü.tar.gz", {}, {}, "", false, 600},
      {"GET",
       "127.0.0.1:9000",
       "/bucket/restores/r1/r1-logs.gz",
       {{"versionId", "v 1"}},
       {},
       "",
       false,
       3600},
  };
  for (const std::string token : {"", "FwoGZXIvYXdzE/session+token=="}) {
    Credentials creds{"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", token};
    SigningScope scope{"eu-west-1", "s3", ParseAmzDate("20240229T235959Z")};
    json::array requests;
    std::vector<std::string> ours;
    for (const auto& c : cases) ours.push_back(SignCase(c, creds, scope, &requests));
    json::object input{{"credentials",
                        {{"access_key_id", creds.access_key_id},
                         {"secret_access_key", creds.secret_access_key},
                         {"session_token", token}}},
                       {"region", "eu-west-1"},
                       {"time", "20240229T235959Z"},
                       {"requests", requests}};
    auto result = RunBotocore(input);
    ASSERT_TRUE(result.ok()) << result.status();
    const auto& out = result->as_array();
    ASSERT_EQ(out.size(), cases.size());
    int matched = 0;
    for (size_t i = 0; i < cases.size(); ++i) {
      const auto& o = out[i].as_object();
      std::string theirs = o.contains("url") ? Str(o.at("url")) : Str(o.at("authorization"));
      if (o.contains("url")) {
        // botocore puts the operation's parameters first and X-Amz-* in its own order: compare
        // the signature and the parameter sets.
        auto sig_of = [](const std::string& u) { return u.substr(u.find("X-Amz-Signature=")); };
        EXPECT_EQ(sig_of(ours[i]), sig_of(theirs)) << "case " << i << " token=" << !token.empty();
        if (sig_of(ours[i]) == sig_of(theirs)) ++matched;
      } else {
        EXPECT_EQ(ours[i], theirs) << "case " << i << " token=" << !token.empty();
        if (ours[i] == theirs) ++matched;
      }
    }
    std::printf("botocore comparison (session token: %s): %d/%zu identical\n",
                token.empty() ? "no" : "yes", matched, cases.size());
  }
}

// The driver's CreateSignedUrl against botocore's generate_presigned_url('get_object'), for
// path-style (s3Url) and virtual-host (AWS) addressing.
TEST(SigV4BotocoreTest, DriverSignedUrlMatchesBotocoreClient) {
  if (!HaveBotocore()) GTEST_SKIP() << "/usr/bin/python3 with botocore (python3-botocore) missing";
  FakeClock clock(ParseAmzDate("20240301T101112Z"));
  struct Case {
    Config config;
    std::string endpoint;
    bool path_style;
  };
  std::vector<Case> cases = {
      {{{"region", "us-west-2"}, {"s3Url", "http://127.0.0.1:9000"}, {"s3ForcePathStyle", "true"}},
       "http://127.0.0.1:9000",
       true},
      {{{"region", "eu-central-1"}}, "https://s3.eu-central-1.amazonaws.com", false},
  };
  const std::string key = "backups/b 1/b+1 ü.tar.gz";
  for (const auto& c : cases) {
    DriverParams params;
    params.config = c.config;
    params.clock = &clock;
    params.env = [](std::string_view name) -> std::optional<std::string> {
      if (name == "AWS_ACCESS_KEY_ID") return "AKIDEXAMPLE";
      if (name == "AWS_SECRET_ACCESS_KEY") return "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
      return std::nullopt;
    };
    auto store = NewS3ObjectStore(params);
    ASSERT_TRUE(store.ok()) << store.status();
    auto url = (*store)->CreateSignedUrl("velero-bucket", key, std::chrono::seconds(600));
    ASSERT_TRUE(url.ok()) << url.status();
    json::object r{{"kind", "client_presign"},
                   {"endpoint_url", c.endpoint},
                   {"bucket", "velero-bucket"},
                   {"key", key},
                   {"expires", 600},
                   {"path_style", c.path_style}};
    json::object input{{"credentials",
                        {{"access_key_id", "AKIDEXAMPLE"},
                         {"secret_access_key", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"}}},
                       {"region", c.config.at("region")},
                       {"time", "20240301T101112Z"},
                       {"requests", json::array{r}}};
    auto result = RunBotocore(input);
    ASSERT_TRUE(result.ok()) << result.status();
    std::string theirs = Str(result->as_array()[0].as_object().at("url"));
    // Same scheme://host/path and the same signature.
    EXPECT_EQ(url->substr(0, url->find('?')), theirs.substr(0, theirs.find('?')));
    EXPECT_EQ(url->substr(url->find("X-Amz-Signature=")),
              theirs.substr(theirs.find("X-Amz-Signature=")));
  }
}

}  // namespace
}  // namespace lifeboat::storage::s3
