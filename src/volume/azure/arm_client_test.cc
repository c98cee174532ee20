// ARM client pieces that need no server: Retry-After parsing, the error mapping, and the refusal
// to send the bearer token off the ARM endpoint.

#include "src/volume/azure/arm_client.h"

#include <gtest/gtest.h>

namespace lifeboat::volume::azure {
namespace {

class StaticTokens : public storage::azure::TokenSource {
 public:
  StatusOr<std::string> Token(bool) override { return std::string("static-token-value"); }
};

TEST(ParseRetryAfterTest, DeltaSecondsOnly) {
  EXPECT_EQ(ParseRetryAfter("17"), std::chrono::seconds(17));
  EXPECT_EQ(ParseRetryAfter(" 0 "), std::chrono::seconds(0));
  EXPECT_EQ(ParseRetryAfter(""), std::nullopt);
  EXPECT_EQ(ParseRetryAfter("-3"), std::nullopt);
  EXPECT_EQ(ParseRetryAfter("Wed, 21 Oct 2015 07:28:00 GMT"), std::nullopt);
  EXPECT_EQ(ParseRetryAfter("999999"), std::chrono::seconds(3600));  // capped
}

TEST(ArmErrorTest, MapsStatusAndCarriesCodeAndMessage) {
  http::ClientResponse r;
  r.status = 404;
  r.body = R"({"error":{"code":"ResourceNotFound","message":"The Resource 'x' was not found."}})";
  Status s = ArmError(r, "GET /x");
  EXPECT_TRUE(absl::IsNotFound(s));
  EXPECT_NE(std::string(s.message()).find("ResourceNotFound: The Resource 'x' was not found."),
            std::string::npos);
  r.status = 429;
  EXPECT_TRUE(absl::IsUnavailable(ArmError(r, "x")));
  r.status = 503;
  EXPECT_TRUE(absl::IsUnavailable(ArmError(r, "x")));
  r.status = 403;
  EXPECT_TRUE(absl::IsPermissionDenied(ArmError(r, "x")));
  r.status = 401;
  EXPECT_TRUE(absl::IsUnauthenticated(ArmError(r, "x")));
  r.status = 400;
  EXPECT_TRUE(absl::IsInvalidArgument(ArmError(r, "x")));
  r.status = 409;
  EXPECT_TRUE(absl::IsFailedPrecondition(ArmError(r, "x")));
}

TEST(ArmClientTest, RefusesToSendTheTokenToAnotherOrigin) {
  auto http = http::Client::Create({});
  ASSERT_TRUE(http.ok());
  StaticTokens tokens;
  ArmClient arm({.endpoint = "http://127.0.0.1:9"}, http->get(), &tokens, &RealClock());
  auto deadline = RealClock().Now() + std::chrono::seconds(5);
  auto r =
      arm.Send("GET", "http://127.0.0.2:9/subscriptions/x?api-version=1", std::nullopt, deadline);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(absl::IsFailedPrecondition(r.status())) << r.status();
  EXPECT_EQ(std::string(r.status().message()).find("static-token-value"), std::string::npos);
  EXPECT_EQ(std::string(r.status().message()).find("api-version"), std::string::npos);
}

}  // namespace
}  // namespace lifeboat::volume::azure
