#pragma once

// Where the S3 and GCS (HMAC) drivers get their keys from. Errors name the file, the profile and
// the missing key, never a value.

#include <map>
#include <string>
#include <string_view>

#include "lifeboat/common/status.h"
#include "lifeboat/storage/registry.h"
#include "src/storage/drivers/s3/sigv4.h"

namespace lifeboat::storage::s3 {

// AWS, as Velero's AWS plugin resolves them: the shared credentials file named by config
// `credentialsFile` or $AWS_SHARED_CREDENTIALS_FILE, profile config `profile` / $AWS_PROFILE /
// "default" ("[name]" or "[profile name]" sections; aws_access_key_id, aws_secret_access_key,
// optional aws_session_token); else $AWS_ACCESS_KEY_ID / $AWS_SECRET_ACCESS_KEY /
// $AWS_SESSION_TOKEN; else $HOME/.aws/credentials.
// FailedPrecondition when the file cannot be read, the profile or a key is missing, or nothing
// is configured at all.
StatusOr<Credentials> LoadAwsCredentials(const DriverParams& params);

// GCS HMAC keys: the file named by config `credentialsFile` or $GOOGLE_APPLICATION_CREDENTIALS,
// holding either `GOOGLE_HMAC_ACCESS_ID=...` / `GOOGLE_HMAC_SECRET=...` lines or an AWS-style
// [default] profile; else $GOOGLE_HMAC_ACCESS_ID / $GOOGLE_HMAC_SECRET. A service-account (or
// other) JSON key is refused with FailedPrecondition saying that an HMAC key is required.
StatusOr<Credentials> LoadGcsHmacCredentials(const DriverParams& params);

// Parses an INI file into the keys of `profile` (exposed for tests). NotFound when the profile
// has no section.
StatusOr<std::map<std::string, std::string>> ParseIniProfile(std::string_view text,
                                                             std::string_view profile);

}  // namespace lifeboat::storage::s3
