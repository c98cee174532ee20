#include "src/kube/testing/kubesim_process.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include "lifeboat/common/byte_stream.h"

extern char** environ;

namespace lifeboat::kube::testing {
namespace fs = std::filesystem;

namespace {

std::string Field(const std::string& text, const std::string& key) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    size_t pos = line.find(key + ":");
    if (pos == std::string::npos) continue;
    std::string v = line.substr(pos + key.size() + 1);
    size_t start = v.find_first_not_of(" \"");
    size_t end = v.find_last_not_of(" \"\r");
    if (start == std::string::npos) return "";
    return v.substr(start, end - start + 1);
  }
  return "";
}

}  // namespace

StatusOr<std::unique_ptr<KubesimProcess>> KubesimProcess::Start(const std::vector<std::string>& flags) {
  std::unique_ptr<KubesimProcess> k(new KubesimProcess());
  std::string tmpl = (fs::temp_directory_path() / "kubesim-kube-test-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) return absl::InternalError("mkdtemp failed");
  k->dir_ = tmpl;
  k->flags_ = flags;
  LIFEBOAT_RETURN_IF_ERROR(k->Launch());
  return k;
}

Status KubesimProcess::Launch() {
  std::error_code ec;
  fs::remove(kubeconfig(), ec);
  std::vector<std::string> args = {LIFEBOAT_KUBESIM_BINARY, "--data-dir", dir_.string(), "--listen", "127.0.0.1:0",
                                   "--write-kubeconfig", kubeconfig().string(), "--log-level", "warn"};
  args.insert(args.end(), flags_.begin(), flags_.end());
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  std::string out = (dir_ / "kubesim.out").string();
  std::string err = (dir_ / "kubesim.err").string();
  posix_spawn_file_actions_addopen(&actions, 1, out.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_addopen(&actions, 2, err.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  int rc = posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) return absl::InternalError(std::string("cannot start kubesim: ") + std::strerror(rc));
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < deadline) {
    auto text = ReadFile(kubeconfig());
    if (text.ok() && !text->empty()) {
      server_ = Field(*text, "server");
      admin_token_ = Field(*text, "token");
      if (!server_.empty() && !admin_token_.empty()) return absl::OkStatus();
    }
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      auto log = ReadFile(err);
      return absl::InternalError("kubesim exited early: " + (log.ok() ? *log : std::string()));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return absl::DeadlineExceededError("kubesim did not write its kubeconfig within 20 s");
}

Status KubesimProcess::Restart() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  return Launch();
}

KubesimProcess::~KubesimProcess() {
  if (pid_ > 0) {
    ::kill(pid_, SIGTERM);
    ::waitpid(pid_, nullptr, 0);
  }
  std::error_code ec;
  if (!dir_.empty()) fs::remove_all(dir_, ec);
}

}  // namespace lifeboat::kube::testing
