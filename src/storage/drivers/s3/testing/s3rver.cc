#include "src/storage/drivers/s3/testing/s3rver.h"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include "lifeboat/common/clock.h"
#include "src/storage/drivers/s3/s3_request.h"

namespace lifeboat::storage::s3::testing {
namespace {

std::string ReadLog(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

std::string S3rverBinary() {
  if (const char* env = std::getenv("LIFEBOAT_S3RVER"); env != nullptr && *env != '\0') return env;
  return std::string(LIFEBOAT_SOURCE_DIR) + "/.deps/npm/node_modules/.bin/s3rver";
}

StatusOr<std::unique_ptr<S3rver>> S3rver::Start() {
  std::string bin = S3rverBinary();
  if (::access(bin.c_str(), X_OK) != 0) {
    return absl::UnimplementedError("s3rver not installed at " + bin +
                                    " (scripts/install-deps.sh installs it)");
  }
  std::string tmpl = (std::filesystem::temp_directory_path() / "lifeboat-s3rver-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) return absl::InternalError("mkdtemp failed");
  std::unique_ptr<S3rver> server(new S3rver());
  server->dir_ = tmpl;
  std::filesystem::create_directories(server->dir_ / "data");
  std::string log = (server->dir_ / "log").string();
  std::string data = (server->dir_ / "data").string();
  std::vector<std::string> args = {bin, "-d", data, "-a", "127.0.0.1", "-p", "0", "--silent"};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  // s3rver encrypts ListObjectsV2 continuation tokens with DES, which Node >= 17 (OpenSSL 3)
  // only offers through the legacy provider.
  std::vector<std::string> env_strings;
  std::string node_options = "NODE_OPTIONS=--openssl-legacy-provider";
  for (char** e = environ; *e != nullptr; ++e) {
    std::string_view entry(*e);
    if (entry.rfind("NODE_OPTIONS=", 0) == 0) {
      node_options += " " + std::string(entry.substr(13));
    } else {
      env_strings.emplace_back(entry);
    }
  }
  env_strings.push_back(node_options);
  std::vector<char*> envp;
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);

  pid_t pid = ::fork();
  if (pid < 0) return absl::InternalError("fork failed");
  if (pid == 0) {
    ::setpgid(0, 0);
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
      ::dup2(fd, 1);
      ::dup2(fd, 2);
    }
    ::execve(argv[0], argv.data(), envp.data());
    ::_exit(127);
  }
  server->pid_ = pid;
  const std::string marker = "S3rver listening on 127.0.0.1:";
  for (int i = 0; i < 600; ++i) {  // up to 30 s
    std::string text = ReadLog(log);
    auto at = text.find(marker);
    if (at != std::string::npos) {
      auto end = text.find_first_not_of("0123456789", at + marker.size());
      if (end != std::string::npos) {
        server->endpoint_ =
            "http://127.0.0.1:" + text.substr(at + marker.size(), end - at - marker.size());
        return server;
      }
    }
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid) {
      server->pid_ = -1;
      return absl::UnavailableError("s3rver exited before listening: " + text.substr(0, 2000));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return absl::UnavailableError("s3rver did not report its port within 30 s");
}

S3rver::~S3rver() {
  if (pid_ > 0) {
    ::kill(-pid_, SIGKILL);
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
  }
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

std::string S3rver::NewBucketName() {
  static std::atomic<int> counter{0};
  return "lb-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
}

Config S3rver::AwsConfig() const {
  return {{"s3Url", endpoint_},
          {"s3ForcePathStyle", "true"},
          {"region", "us-east-1"},
          {"partSizeInBytes", std::to_string(5 << 20)},
          {"uploadConcurrency", "3"}};
}

Status S3rver::CreateBucket(const std::string& name) {
  S3Settings settings;
  LIFEBOAT_ASSIGN_OR_RETURN(settings.endpoint, ParseEndpoint("s3Url", endpoint_));
  settings.region = "us-east-1";
  settings.path_style = true;
  settings.credentials = {kS3rverAccessKey, kS3rverSecretKey, ""};
  LIFEBOAT_ASSIGN_OR_RETURN(auto client, http::Client::Create(settings.http));
  S3Requester requester(std::move(settings), std::move(client), &RealClock());
  S3Call call;
  call.method = "PUT";
  call.bucket = name;
  LIFEBOAT_ASSIGN_OR_RETURN(auto resp, requester.Send(call));
  if (resp.status != 200) return S3Error(resp.status, resp.body, "PUT", name, "");
  return absl::OkStatus();
}

}  // namespace lifeboat::storage::s3::testing
