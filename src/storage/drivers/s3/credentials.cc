#include "src/storage/drivers/s3/credentials.h"

#include <boost/json.hpp>
#include <map>
#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/str_split.h"
#include "lifeboat/common/byte_stream.h"

namespace lifeboat::storage::s3 {
namespace {

std::string Trim(std::string_view s) {
  return std::string(absl::StripAsciiWhitespace(absl::string_view(s.data(), s.size())));
}

std::optional<std::string> NonEmpty(const EnvLookup& env, std::string_view name) {
  if (!env) return std::nullopt;
  auto v = env(name);
  if (!v.has_value() || v->empty()) return std::nullopt;
  return v;
}

std::string ConfigValue(const Config& config, std::string_view key) {
  auto it = config.find(key);
  return it == config.end() ? "" : it->second;
}

StatusOr<std::string> ReadCredentialsFile(const std::string& path, std::string_view what) {
  auto text = ReadFile(path, 1 << 20);
  if (!text.ok()) {
    return absl::FailedPreconditionError("reading " + std::string(what) + " file " + path + ": " +
                                         std::string(text.status().message()));
  }
  return text;
}

// Reads the keys from a profile of an AWS shared credentials file.
StatusOr<Credentials> FromAwsFile(const std::string& path, const std::string& profile,
                                  std::string_view what) {
  LIFEBOAT_ASSIGN_OR_RETURN(std::string text, ReadCredentialsFile(path, what));
  auto keys = ParseIniProfile(text, profile);
  if (!keys.ok()) {
    return absl::FailedPreconditionError("profile \"" + profile + "\" not found in " +
                                         std::string(what) + " file " + path);
  }
  Credentials creds;
  for (const char* name : {"aws_access_key_id", "aws_secret_access_key"}) {
    auto it = keys->find(name);
    if (it == keys->end() || it->second.empty()) {
      return absl::FailedPreconditionError(std::string(name) + " missing from profile \"" +
                                           profile + "\" in " + std::string(what) + " file " +
                                           path);
    }
  }
  creds.access_key_id = keys->at("aws_access_key_id");
  creds.secret_access_key = keys->at("aws_secret_access_key");
  if (auto it = keys->find("aws_session_token"); it != keys->end()) {
    creds.session_token = it->second;
  } else if (auto old = keys->find("aws_security_token"); old != keys->end()) {
    creds.session_token = old->second;
  }
  return creds;
}

// "KEY=VALUE" lines (optionally quoted values, '#' comments), as in an env file.
std::map<std::string, std::string> ParseEnvLines(std::string_view text) {
  std::map<std::string, std::string> out;
  for (absl::string_view line : absl::StrSplit(absl::string_view(text.data(), text.size()), '\n')) {
    std::string l = Trim(std::string_view(line.data(), line.size()));
    if (l.empty() || l[0] == '#') continue;
    if (l.rfind("export ", 0) == 0) l = Trim(l.substr(7));
    auto eq = l.find('=');
    if (eq == std::string::npos) continue;
    std::string value = Trim(l.substr(eq + 1));
    if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') &&
        value.back() == value.front()) {
      value = value.substr(1, value.size() - 2);
    }
    out[Trim(l.substr(0, eq))] = value;
  }
  return out;
}

}  // namespace

StatusOr<std::map<std::string, std::string>> ParseIniProfile(std::string_view text,
                                                             std::string_view profile) {
  std::map<std::string, std::string> keys;
  bool found = false;
  bool in_section = false;
  for (absl::string_view raw : absl::StrSplit(absl::string_view(text.data(), text.size()), '\n')) {
    std::string line = Trim(std::string_view(raw.data(), raw.size()));
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    if (line.front() == '[' && line.back() == ']') {
      std::string name = Trim(line.substr(1, line.size() - 2));
      if (name.rfind("profile ", 0) == 0) name = Trim(name.substr(8));
      in_section = (name == profile);
      found = found || in_section;
      continue;
    }
    if (!in_section) continue;
    auto eq = line.find('=');
    if (eq == std::string::npos) continue;
    keys[absl::AsciiStrToLower(Trim(line.substr(0, eq)))] = Trim(line.substr(eq + 1));
  }
  if (!found) return absl::NotFoundError("profile not found");
  return keys;
}

StatusOr<Credentials> LoadAwsCredentials(const DriverParams& params) {
  std::string profile = ConfigValue(params.config, "profile");
  if (profile.empty()) profile = NonEmpty(params.env, "AWS_PROFILE").value_or("default");
  std::string file = ConfigValue(params.config, "credentialsFile");
  if (file.empty()) file = NonEmpty(params.env, "AWS_SHARED_CREDENTIALS_FILE").value_or("");
  if (!file.empty()) return FromAwsFile(file, profile, "AWS credentials");

  auto id = NonEmpty(params.env, "AWS_ACCESS_KEY_ID");
  auto secret = NonEmpty(params.env, "AWS_SECRET_ACCESS_KEY");
  if (id.has_value() != secret.has_value()) {
    return absl::FailedPreconditionError(
        std::string(id ? "AWS_SECRET_ACCESS_KEY" : "AWS_ACCESS_KEY_ID") +
        " missing from the environment (the other key of the pair is set)");
  }
  if (id.has_value()) {
    return Credentials{*id, *secret, NonEmpty(params.env, "AWS_SESSION_TOKEN").value_or("")};
  }
  if (auto home = NonEmpty(params.env, "HOME")) {
    std::string path = *home + "/.aws/credentials";
    if (ReadFile(path, 1 << 20).ok()) return FromAwsFile(path, profile, "AWS credentials");
  }
  return absl::FailedPreconditionError(
      "no AWS credentials: set the location's credential (config credentialsFile), "
      "AWS_SHARED_CREDENTIALS_FILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY "
      "(instance profiles and IRSA are not supported)");
}

StatusOr<Credentials> LoadGcsHmacCredentials(const DriverParams& params) {
  std::string file = ConfigValue(params.config, "credentialsFile");
  if (file.empty()) file = NonEmpty(params.env, "GOOGLE_APPLICATION_CREDENTIALS").value_or("");
  if (file.empty()) {
    auto id = NonEmpty(params.env, "GOOGLE_HMAC_ACCESS_ID");
    auto secret = NonEmpty(params.env, "GOOGLE_HMAC_SECRET");
    if (id && secret) return Credentials{*id, *secret, ""};
    return absl::FailedPreconditionError(
        "no GCS HMAC key: set the location's credential (config credentialsFile) or "
        "GOOGLE_APPLICATION_CREDENTIALS to a file with GOOGLE_HMAC_ACCESS_ID and "
        "GOOGLE_HMAC_SECRET, or set those two environment variables");
  }
  LIFEBOAT_ASSIGN_OR_RETURN(std::string text, ReadCredentialsFile(file, "GCS credentials"));
  std::string trimmed = Trim(text);
  if (!trimmed.empty() && trimmed.front() == '{') {
    boost::system::error_code ec;
    boost::json::value v = boost::json::parse(trimmed, ec);
    std::string type = "unknown";
    if (!ec && v.is_object() && v.as_object().contains("type") &&
        v.as_object().at("type").is_string()) {
      type = std::string(v.as_object().at("type").as_string());
    }
    return absl::FailedPreconditionError(
        "GCS credentials file " + file + " is a JSON key (type \"" + type +
        "\"); the gcp driver uses GCS's S3-compatible XML API and needs an HMAC key for now: "
        "write GOOGLE_HMAC_ACCESS_ID=<id> and GOOGLE_HMAC_SECRET=<secret> lines into the file");
  }
  if (trimmed.find('[') == 0) return FromAwsFile(file, "default", "GCS credentials");
  auto keys = ParseEnvLines(text);
  for (const char* name : {"GOOGLE_HMAC_ACCESS_ID", "GOOGLE_HMAC_SECRET"}) {
    if (keys[name].empty()) {
      return absl::FailedPreconditionError(std::string(name) +
                                           " missing from GCS credentials file " + file);
    }
  }
  return Credentials{keys["GOOGLE_HMAC_ACCESS_ID"], keys["GOOGLE_HMAC_SECRET"], ""};
}

}  // namespace lifeboat::storage::s3
