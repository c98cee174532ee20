#include "src/cli/download.h"

#include <cctype>
#include <fstream>
#include <sstream>
#include <thread>

#include "lifeboat/api/time.h"
#include "lifeboat/common/gzip.h"
#include "lifeboat/controller/kinds.h"
#include "lifeboat/http/client.h"

namespace lifeboat::cli {
namespace json = boost::json;

namespace {

std::string PercentDecode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      out += static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

}  // namespace

StatusOr<std::string> FetchUrl(const std::string& url) {
  if (url.starts_with("file://")) {
    std::string path = PercentDecode(url.substr(7));
    std::ifstream in(path, std::ios::binary);
    if (!in) return absl::NotFoundError("cannot read the downloaded file " + path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  if (!url.starts_with("https://") && !url.starts_with("http://")) {
    return absl::InvalidArgumentError(
        "the server answered with a download URL of an unknown scheme");
  }
  LIFEBOAT_ASSIGN_OR_RETURN(auto client, http::Client::Create({}));
  http::ClientRequest request;
  request.url = url;
  LIFEBOAT_ASSIGN_OR_RETURN(http::ClientResponse response, client->Send(request));
  if (response.status != 200) {
    return absl::UnavailableError("fetching the download URL returned HTTP " +
                                  std::to_string(response.status));
  }
  return std::move(response.body);
}

StatusOr<std::string> DownloadBytes(ApiClient& c, api::DownloadTargetKind kind,
                                    const std::string& target, std::chrono::milliseconds timeout) {
  api::DownloadRequest req;
  req.metadata.namespace_ = c.ns;
  req.metadata.generate_name = target + "-";
  req.spec.target_kind = kind;
  req.spec.target_name = target;
  auto created = c.dyn().Create(controller::kDownloadRequests, c.ns, api::ToJson(req));
  if (!created.ok()) {
    return Status(created.status().code(),
                  Explain(created.status(), "create", "downloadrequests", c.ns));
  }
  const std::string name(created->at("metadata").at("name").as_string());
  struct Cleanup {
    ApiClient& c;
    std::string name;
    ~Cleanup() { (void)c.dyn().Delete(controller::kDownloadRequests, c.ns, name); }
  } cleanup{c, name};

  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string url;
  while (true) {
    auto got = controller::GetIfExists(c.dyn(), controller::kDownloadRequests, c.ns, name);
    if (got.ok() && *got) {
      auto dr = api::DownloadRequestFromJson(**got);
      if (dr.ok() && !dr->status.download_url.empty()) {
        url = dr->status.download_url;
        break;
      }
      if (dr.ok() && dr->status.phase == api::DownloadRequestPhase::kFailed) {
        return absl::FailedPreconditionError(
            "the server could not provide the " + std::string(api::ToString(kind)) + " of \"" +
            target +
            "\": " + (dr->status.message.empty() ? "no reason given" : dr->status.message));
      }
      if (dr.ok() && dr->status.phase == api::DownloadRequestPhase::kProcessed) {
        return absl::NotFoundError("the server found no " + std::string(api::ToString(kind)) +
                                   " for \"" + target + "\"" +
                                   (dr->status.message.empty() ? "" : ": " + dr->status.message));
      }
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      return absl::DeadlineExceededError(
          "timed out after " +
          std::to_string(std::chrono::duration_cast<std::chrono::seconds>(timeout).count()) +
          "s waiting for the server to process the download request for " +
          std::string(api::ToString(kind)) + " \"" + target + "\". " + NoServerHint(c.ns));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  return FetchUrl(url);
}

StatusOr<std::string> DownloadText(ApiClient& c, api::DownloadTargetKind kind,
                                   const std::string& target, std::chrono::milliseconds timeout) {
  LIFEBOAT_ASSIGN_OR_RETURN(std::string data, DownloadBytes(c, kind, target, timeout));
  auto text = Gunzip(data);
  if (!text.ok()) {
    return Status(text.status().code(),
                  "the downloaded file is not valid gzip: " + std::string(text.status().message()));
  }
  return std::move(*text);
}

}  // namespace lifeboat::cli
