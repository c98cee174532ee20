#include "kubesim/src/exec/exec.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <map>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <thread>

#include <boost/json.hpp>

#include "kubesim/src/api/api_status.h"
#include "kubesim/src/exec/exec_internal.h"
#include "kubesim/src/exec/spdy.h"
#include "lifeboat/common/log.h"

namespace kubesim {
namespace exec_internal {
namespace {

constexpr size_t kChunk = 32 * 1024;

void CloseFd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

void SetNonBlocking(int fd) {
  int flags = ::fcntl(fd, F_GETFL);
  if (flags >= 0) ::fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

bool IsExecutableFile(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return false;
  return ::access(path.c_str(), X_OK) == 0;
}

// Marks every descriptor from 3 up close-on-exec (in the child, after fork: async-signal-safe).
void CloexecFrom3(int keep) {
#ifdef SYS_close_range
  // CLOSE_RANGE_CLOEXEC = 4 (Linux 5.11).
  if (::syscall(SYS_close_range, 3u, ~0u, 4u) == 0) return;
#endif
  long max = ::sysconf(_SC_OPEN_MAX);
  if (max < 0 || max > 65536) max = 65536;
  for (int fd = 3; fd < max; ++fd) {
    if (fd != keep) ::fcntl(fd, F_SETFD, FD_CLOEXEC);
  }
}

}  // namespace

absl::StatusOr<std::string> ResolveExecutable(const std::string& name, const std::string& path_env,
                                              const std::filesystem::path& cwd) {
  if (name.empty()) {
    return absl::NotFoundError("exec: \"\": executable file not found in $PATH");
  }
  if (name.find('/') != std::string::npos) {
    std::string full = name[0] == '/' ? name : (cwd / name).string();
    struct stat st {};
    if (::stat(full.c_str(), &st) != 0) {
      return absl::NotFoundError("exec: \"" + name + "\": stat " + name + ": no such file or directory");
    }
    if (!S_ISREG(st.st_mode) || ::access(full.c_str(), X_OK) != 0) {
      return absl::PermissionDeniedError("exec: \"" + name + "\": permission denied");
    }
    return name;
  }
  size_t start = 0;
  for (;;) {
    size_t colon = path_env.find(':', start);
    std::string dir = path_env.substr(start, colon == std::string::npos ? std::string::npos : colon - start);
    std::filesystem::path base = dir.empty() ? cwd : std::filesystem::path(dir);
    if (base.is_relative()) base = cwd / base;
    std::string candidate = (base / name).string();
    if (IsExecutableFile(candidate)) return candidate;
    if (colon == std::string::npos) break;
    start = colon + 1;
  }
  return absl::NotFoundError("exec: \"" + name + "\": executable file not found in $PATH");
}

absl::StatusOr<std::unique_ptr<Process>> Process::Start(const ProcessOptions& options) {
  if (options.argv.empty()) return absl::InvalidArgumentError("no command");
  std::string path_env = "/usr/local/bin:/usr/bin:/bin";
  for (const std::string& e : options.env) {
    if (e.rfind("PATH=", 0) == 0) path_env = e.substr(5);
  }
  LIFEBOAT_ASSIGN_OR_RETURN(std::string exe, ResolveExecutable(options.argv[0], path_env, options.cwd));

  std::unique_ptr<Process> p(new Process());
  p->tty_ = options.tty;
  // Descriptors the child gets as 0, 1, 2 (closed in the parent after fork).
  int child_in = -1, child_out = -1, child_err = -1;
  std::string slave_name;
  auto cleanup_child_fds = [&] {
    CloseFd(child_in);
    CloseFd(child_out);
    CloseFd(child_err);
  };
  if (options.tty) {
    int master = ::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (master < 0) return absl::InternalError(std::string("posix_openpt: ") + std::strerror(errno));
    char name[128];
    if (::grantpt(master) != 0 || ::unlockpt(master) != 0 || ::ptsname_r(master, name, sizeof(name)) != 0) {
      ::close(master);
      return absl::InternalError(std::string("setting up a pty: ") + std::strerror(errno));
    }
    slave_name = name;
    p->out_fd_ = master;
    p->in_fd_ = ::fcntl(master, F_DUPFD_CLOEXEC, 3);
    struct winsize ws {};
    ws.ws_col = 80;
    ws.ws_row = 24;
    ::ioctl(master, TIOCSWINSZ, &ws);
  } else {
    int in[2], out[2], err[2];
    if (::pipe2(in, O_CLOEXEC) != 0) return absl::InternalError("pipe failed");
    if (::pipe2(out, O_CLOEXEC) != 0) {
      ::close(in[0]), ::close(in[1]);
      return absl::InternalError("pipe failed");
    }
    if (::pipe2(err, O_CLOEXEC) != 0) {
      ::close(in[0]), ::close(in[1]), ::close(out[0]), ::close(out[1]);
      return absl::InternalError("pipe failed");
    }
    child_in = in[0];
    p->in_fd_ = in[1];
    child_out = out[1];
    p->out_fd_ = out[0];
    child_err = err[1];
    p->err_fd_ = err[0];
  }
  int wake[2];
  if (::pipe2(wake, O_CLOEXEC | O_NONBLOCK) != 0) {
    cleanup_child_fds();
    return absl::InternalError("pipe failed");
  }
  p->wake_r_ = wake[0];
  p->wake_w_ = wake[1];
  int errpipe[2];
  if (::pipe2(errpipe, O_CLOEXEC) != 0) {
    cleanup_child_fds();
    return absl::InternalError("pipe failed");
  }

  // Everything the child needs, prepared before fork (after it only async-signal-safe calls).
  std::vector<char*> argv;
  for (const std::string& a : options.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (const std::string& e : options.env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  const std::string cwd = options.cwd.string();

  pid_t pid = ::fork();
  if (pid < 0) {
    int e = errno;
    cleanup_child_fds();
    ::close(errpipe[0]), ::close(errpipe[1]);
    return absl::InternalError(std::string("fork: ") + std::strerror(e));
  }
  if (pid == 0) {
    // Child.
    auto fail = [&](int e) {
      ssize_t ignored = ::write(errpipe[1], &e, sizeof(e));
      (void)ignored;
      ::_exit(127);
    };
    ::setsid();
    if (options.tty) {
      int slave = ::open(slave_name.c_str(), O_RDWR);
      if (slave < 0) fail(errno);
      ::ioctl(slave, TIOCSCTTY, 0);
      if (::dup2(slave, 0) < 0 || ::dup2(slave, 1) < 0 || ::dup2(slave, 2) < 0) fail(errno);
      if (slave > 2) ::close(slave);
    } else {
      if (::dup2(child_in, 0) < 0 || ::dup2(child_out, 1) < 0 || ::dup2(child_err, 2) < 0) fail(errno);
    }
    if (!cwd.empty() && ::chdir(cwd.c_str()) != 0) fail(errno);
    struct sigaction sa {};
    sa.sa_handler = SIG_DFL;
    for (int sig = 1; sig < NSIG; ++sig) ::sigaction(sig, &sa, nullptr);
    sigset_t all;
    sigemptyset(&all);
    ::sigprocmask(SIG_SETMASK, &all, nullptr);
    CloexecFrom3(errpipe[1]);
    ::execve(exe.c_str(), argv.data(), envp.data());
    fail(errno);
  }
  // Parent.
  p->pid_ = pid;
  cleanup_child_fds();
  ::close(errpipe[1]);
  int child_errno = 0;
  ssize_t n;
  do {
    n = ::read(errpipe[0], &child_errno, sizeof(child_errno));
  } while (n < 0 && errno == EINTR);
  ::close(errpipe[0]);
  if (n == static_cast<ssize_t>(sizeof(child_errno))) {
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    p->reaped_ = true;
    const std::string& name = options.argv[0];
    if (child_errno == ENOENT) {
      return absl::NotFoundError("exec: \"" + name + "\": executable file not found in $PATH");
    }
    if (child_errno == EACCES) return absl::PermissionDeniedError("exec: \"" + name + "\": permission denied");
    return absl::InternalError("exec: \"" + name + "\": " + std::strerror(child_errno));
  }
  if (p->out_fd_ >= 0) SetNonBlocking(p->out_fd_);
  if (p->err_fd_ >= 0) SetNonBlocking(p->err_fd_);
  if (p->in_fd_ >= 0) SetNonBlocking(p->in_fd_);
  return p;
}

Process::~Process() {
  if (pid_ > 0 && !reaped_) {
    KillGroup();
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    reaped_ = true;
  }
  CloseFd(out_fd_);
  CloseFd(err_fd_);
  CloseFd(wake_r_);
  CloseFd(wake_w_);
  std::lock_guard<std::mutex> lock(stdin_mu_);
  CloseFd(in_fd_);
}

void Process::KillGroup() {
  if (pid_ <= 0 || reaped_) return;
  ::kill(-pid_, SIGKILL);
  ::kill(pid_, SIGKILL);
}

absl::Status Process::WriteStdin(std::string_view data) {
  std::lock_guard<std::mutex> lock(stdin_mu_);
  if (in_fd_ < 0 || stdin_closed_.load()) return absl::FailedPreconditionError("stdin is closed");
  // A write to a pipe whose reader is gone raises SIGPIPE: block it here and swallow it.
  sigset_t pipe_set, old;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  ::pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
  absl::Status result = absl::OkStatus();
  while (!data.empty()) {
    ssize_t n = ::write(in_fd_, data.data(), data.size());
    if (n > 0) {
      data.remove_prefix(static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) {
      if (stdin_closed_.load() || Cancelled()) {
        result = absl::FailedPreconditionError("stdin is closed");
        break;
      }
      pollfd pfd{in_fd_, POLLOUT, 0};
      ::poll(&pfd, 1, 100);
      continue;
    }
    result = absl::UnavailableError(std::string("writing stdin: ") + std::strerror(errno));
    if (errno == EPIPE) {
      timespec zero{0, 0};
      ::sigtimedwait(&pipe_set, nullptr, &zero);
    }
    break;
  }
  ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
  return result;
}

void Process::CloseStdin() {
  if (tty_) {
    // The terminal's EOF character (VEOF, ^D) ends input at the start of a line.
    std::lock_guard<std::mutex> lock(stdin_mu_);
    if (in_fd_ >= 0) {
      ssize_t ignored = ::write(in_fd_, "\x04", 1);
      (void)ignored;
    }
    return;
  }
  stdin_closed_.store(true);
  std::lock_guard<std::mutex> lock(stdin_mu_);
  CloseFd(in_fd_);
}

void Process::Resize(uint16_t width, uint16_t height) {
  if (!tty_) return;
  std::lock_guard<std::mutex> lock(stdin_mu_);
  if (in_fd_ < 0) return;
  struct winsize ws {};
  ws.ws_col = width;
  ws.ws_row = height;
  ::ioctl(in_fd_, TIOCSWINSZ, &ws);
}

void Process::Cancel() {
  cancelled_.store(true);
  if (wake_w_ >= 0) {
    ssize_t ignored = ::write(wake_w_, "x", 1);
    (void)ignored;
  }
}

ExitResult Process::Reap(bool block) {
  if (reaped_) return result_;
  int status = 0;
  pid_t r;
  do {
    r = ::waitpid(pid_, &status, block ? 0 : WNOHANG);
  } while (r < 0 && errno == EINTR);
  if (r == 0) return result_;  // still running
  reaped_ = true;
  if (r < 0) {
    result_.exit_code = 1;
  } else if (WIFEXITED(status)) {
    result_.exit_code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    result_.signal = WTERMSIG(status);
    result_.exit_code = 128 + result_.signal;
  }
  return result_;
}

ExitResult Process::Pump(const std::function<bool(int channel, std::string_view data)>& sink) {
  std::vector<char> buf(kChunk);
  bool kill = false;
  while ((out_fd_ >= 0 || err_fd_ >= 0) && !kill) {
    pollfd fds[3];
    int nfds = 0;
    fds[nfds++] = {wake_r_, POLLIN, 0};
    int out_idx = -1, err_idx = -1;
    if (out_fd_ >= 0) {
      out_idx = nfds;
      fds[nfds++] = {out_fd_, POLLIN, 0};
    }
    if (err_fd_ >= 0) {
      err_idx = nfds;
      fds[nfds++] = {err_fd_, POLLIN, 0};
    }
    int r = ::poll(fds, static_cast<nfds_t>(nfds), -1);
    if (r < 0) {
      if (errno == EINTR) continue;
      kill = true;
      break;
    }
    if (Cancelled()) {
      kill = true;
      break;
    }
    auto drain = [&](int idx, int& fd, int channel) {
      if (idx < 0 || fds[idx].revents == 0 || kill) return;
      ssize_t n = ::read(fd, buf.data(), buf.size());
      if (n > 0) {
        if (!sink(channel, std::string_view(buf.data(), static_cast<size_t>(n)))) kill = true;
        return;
      }
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
      CloseFd(fd);  // EOF (or EIO: the pty's last slave closed)
    };
    drain(out_idx, out_fd_, 1);
    drain(err_idx, err_fd_, 2);
  }
  if (!kill) {
    // Output ended; wait for the process itself, still honouring Cancel.
    for (;;) {
      Reap(false);
      if (reaped_) break;
      pollfd pfd{wake_r_, POLLIN, 0};
      ::poll(&pfd, 1, 50);
      if (Cancelled()) {
        kill = true;
        break;
      }
    }
  }
  if (kill && !reaped_) {
    KillGroup();
    Reap(true);
    result_.killed = true;
  }
  return result_;
}

namespace {

bool IsDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

// Seconds since the epoch of an RFC 3339 time ("2026-01-02T03:04:05Z", fractions and offsets
// allowed), or nullopt.
std::optional<int64_t> ParseRfc3339(std::string_view s) {
  if (s.size() < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') || s[13] != ':' ||
      s[16] != ':') {
    return std::nullopt;
  }
  if (!IsDigits(s.substr(0, 4)) || !IsDigits(s.substr(5, 2)) || !IsDigits(s.substr(8, 2)) ||
      !IsDigits(s.substr(11, 2)) || !IsDigits(s.substr(14, 2)) || !IsDigits(s.substr(17, 2))) {
    return std::nullopt;
  }
  std::tm tm{};
  tm.tm_year = std::atoi(std::string(s.substr(0, 4)).c_str()) - 1900;
  tm.tm_mon = std::atoi(std::string(s.substr(5, 2)).c_str()) - 1;
  tm.tm_mday = std::atoi(std::string(s.substr(8, 2)).c_str());
  tm.tm_hour = std::atoi(std::string(s.substr(11, 2)).c_str());
  tm.tm_min = std::atoi(std::string(s.substr(14, 2)).c_str());
  tm.tm_sec = std::atoi(std::string(s.substr(17, 2)).c_str());
  std::string_view rest = s.substr(19);
  if (!rest.empty() && rest[0] == '.') {
    size_t i = 1;
    while (i < rest.size() && rest[i] >= '0' && rest[i] <= '9') ++i;
    if (i == 1) return std::nullopt;
    rest.remove_prefix(i);
  }
  int64_t offset = 0;
  if (rest == "Z" || rest == "z") {
  } else if (rest.size() == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':' &&
             IsDigits(rest.substr(1, 2)) && IsDigits(rest.substr(4, 2))) {
    offset = (std::atoi(std::string(rest.substr(1, 2)).c_str()) * 60 +
              std::atoi(std::string(rest.substr(4, 2)).c_str())) *
             60;
    if (rest[0] == '-') offset = -offset;
  } else {
    return std::nullopt;
  }
  return static_cast<int64_t>(::timegm(&tm)) - offset;
}

std::string FormatLog(std::string_view content, const LogOptions& options) {
  // Split into lines (keeping a final line without '\n').
  std::vector<std::string_view> lines;
  while (!content.empty()) {
    size_t nl = content.find('\n');
    if (nl == std::string_view::npos) {
      lines.push_back(content);
      break;
    }
    lines.push_back(content.substr(0, nl + 1));
    content.remove_prefix(nl + 1);
  }
  std::vector<std::string_view> kept;
  kept.reserve(lines.size());
  for (std::string_view line : lines) {
    size_t sp = line.find(' ');
    std::optional<int64_t> ts;
    if (sp != std::string_view::npos) ts = ParseRfc3339(line.substr(0, sp));
    if (options.since_unix && ts && *ts < *options.since_unix) continue;
    if (ts && !options.timestamps) line.remove_prefix(sp + 1);
    kept.push_back(line);
  }
  size_t first = 0;
  if (options.tail_lines && *options.tail_lines >= 0 &&
      static_cast<uint64_t>(*options.tail_lines) < kept.size()) {
    first = kept.size() - static_cast<size_t>(*options.tail_lines);
  }
  std::string out;
  for (size_t i = first; i < kept.size(); ++i) out.append(kept[i]);
  if (options.limit_bytes && *options.limit_bytes >= 0 &&
      static_cast<uint64_t>(*options.limit_bytes) < out.size()) {
    out.resize(static_cast<size_t>(*options.limit_bytes));
  }
  return out;
}

std::string ExitStatusJson(const std::vector<std::string>& command, int exit_code) {
  boost::json::object o;
  o["metadata"] = boost::json::object();
  if (exit_code == 0) {
    o["status"] = "Success";
    return boost::json::serialize(o);
  }
  std::string cmd;
  for (const std::string& c : command) {
    if (!cmd.empty()) cmd += ' ';
    cmd += c;
  }
  o["status"] = "Failure";
  o["message"] = "command terminated with non-zero exit code: error executing command [" + cmd +
                 "], exit code " + std::to_string(exit_code);
  o["reason"] = "NonZeroExitCode";
  boost::json::object cause;
  cause["reason"] = "ExitCode";
  cause["message"] = std::to_string(exit_code);
  boost::json::object details;
  details["causes"] = boost::json::array{cause};
  o["details"] = std::move(details);
  return boost::json::serialize(o);
}

}  // namespace exec_internal

namespace {

namespace json = boost::json;
namespace http = lifeboat::http;
using exec_internal::ExitStatusJson;
using exec_internal::FormatLog;
using exec_internal::LogOptions;
using exec_internal::Process;
using exec_internal::ProcessOptions;

void SendApiStatus(http::ResponseWriter& w, const absl::Status& status) {
  ApiErrorInfo info = ErrorInfo(status);
  (void)w.Send(info.code, {{"Content-Type", "application/json"}}, json::serialize(StatusBody(status)));
}

const json::value* Field(const json::value& v, std::initializer_list<std::string_view> path) {
  const json::value* cur = &v;
  for (std::string_view key : path) {
    const json::object* o = cur->if_object();
    if (!o) return nullptr;
    auto it = o->find(key);
    if (it == o->end()) return nullptr;
    cur = &it->value();
  }
  return cur;
}

std::string StringField(const json::value& v, std::initializer_list<std::string_view> path) {
  const json::value* f = Field(v, path);
  if (!f || !f->is_string()) return "";
  return std::string(f->get_string());
}

bool SafeComponent(std::string_view s) {
  return !s.empty() && s != "." && s != ".." && s.size() <= 253 && s.find('/') == std::string_view::npos &&
         s.find('\0') == std::string_view::npos;
}

std::vector<std::string> ContainerNames(const json::value& pod, std::string_view list) {
  std::vector<std::string> names;
  const json::value* arr = Field(pod, {"spec", list});
  if (!arr || !arr->is_array()) return names;
  for (const json::value& c : arr->get_array()) {
    std::string n = StringField(c, {"name"});
    if (!n.empty()) names.push_back(n);
  }
  return names;
}

// The container a request addresses: `requested`, or the pod's default container.
absl::StatusOr<std::string> PickContainer(const json::value& pod, const std::string& requested,
                                          const std::string& pod_name) {
  std::vector<std::string> main = ContainerNames(pod, "containers");
  std::vector<std::string> all = main;
  for (const char* list : {"initContainers", "ephemeralContainers"}) {
    for (std::string& n : ContainerNames(pod, list)) all.push_back(std::move(n));
  }
  if (requested.empty()) {
    std::string def = StringField(pod, {"metadata", "annotations", "kubectl.kubernetes.io/default-container"});
    if (!def.empty() && std::find(all.begin(), all.end(), def) != all.end()) return def;
    if (main.empty()) return BadRequestError("pod " + pod_name + " does not have a container");
    return main.front();
  }
  if (std::find(all.begin(), all.end(), requested) == all.end()) {
    return BadRequestError("container " + requested + " is not valid for pod " + pod_name);
  }
  return requested;
}

bool BoolParam(const http::Request& req, const std::string& key) {
  std::string v = req.Query(key);
  return v == "true" || v == "1" || v == "True" || v == "TRUE";
}

absl::StatusOr<std::optional<int64_t>> IntParam(const http::Request& req, const std::string& key) {
  if (!req.HasQuery(key)) return std::optional<int64_t>();
  std::string v = req.Query(key);
  char* end = nullptr;
  errno = 0;
  long long n = std::strtoll(v.c_str(), &end, 10);
  if (v.empty() || errno != 0 || *end != '\0') {
    return BadRequestError("invalid value for " + key + ": " + v);
  }
  return std::optional<int64_t>(static_cast<int64_t>(n));
}

std::string Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return std::string(s);
}

// The channel.k8s.io subprotocols kubesim speaks, preferred first.
constexpr const char* kProtocols[] = {"v5.channel.k8s.io", "v4.channel.k8s.io", "v3.channel.k8s.io",
                                      "v2.channel.k8s.io", "channel.k8s.io"};

// The subprotocol to answer: the most preferred one the client offered; "" when the client
// offered none (then the original channel.k8s.io framing is used); nullopt when it offered
// only unsupported ones.
std::optional<std::string> NegotiateProtocol(const std::string& header,
                                             const std::vector<std::string>& accepted) {
  std::vector<std::string> offered;
  size_t start = 0;
  while (start <= header.size()) {
    size_t comma = header.find(',', start);
    std::string p = Trim(std::string_view(header).substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    if (!p.empty()) offered.push_back(p);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  if (offered.empty()) return std::string();
  for (const char* p : kProtocols) {
    if (!accepted.empty() && std::find(accepted.begin(), accepted.end(), p) == accepted.end()) continue;
    if (std::find(offered.begin(), offered.end(), p) != offered.end()) return std::string(p);
  }
  return std::nullopt;
}


// True if the request asks to upgrade to SPDY/3.1 (kubectl before 1.30).
bool IsSpdyUpgrade(const http::Request& req) {
  std::string upgrade = req.Header("Upgrade");
  std::transform(upgrade.begin(), upgrade.end(), upgrade.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return upgrade.find("spdy/3.1") != std::string::npos;
}

// remotecommand protocols over SPDY, preferred first (v5 exists only over WebSocket).
constexpr const char* kSpdyProtocols[] = {"v4.channel.k8s.io", "v3.channel.k8s.io", "v2.channel.k8s.io",
                                          "channel.k8s.io"};

// The X-Stream-Protocol-Version to answer (the header may repeat: comma-joined); "" when the
// client named none (legacy channel.k8s.io); nullopt when none is supported.
std::optional<std::string> NegotiateSpdyProtocol(const std::string& header) {
  std::vector<std::string> offered;
  size_t start = 0;
  for (;;) {
    size_t comma = header.find(',', start);
    std::string p = Trim(std::string_view(header).substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    if (!p.empty()) offered.push_back(p);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  if (offered.empty()) return std::string();
  for (const char* p : kSpdyProtocols) {
    if (std::find(offered.begin(), offered.end(), p) != offered.end()) return std::string(p);
  }
  return std::nullopt;
}

struct SpdyExec {
  std::string ns, pod;
  std::string protocol;
  std::vector<std::string> command;
  ProcessOptions popts;
  bool tty = false;
  bool want_stdin = false, want_stdout = false, want_stderr = false;
};

constexpr auto kSpdyStreamWait = std::chrono::seconds(30);     // as kubelet
constexpr auto kSpdyCloseWait = std::chrono::milliseconds(5000);  // for the client to hang up

// exec over SPDY/3.1 (k8s.io/apimachinery/pkg/util/httpstream/spdy): after the upgrade the
// client opens one stream per channel ("streamtype" header: error, stdin, stdout, stderr,
// resize); the command starts once all the expected ones are there. At the end: FIN on the
// output streams, the status on the error stream (a metav1.Status for v4), and the client
// hangs up.
void ServeSpdyExec(http::ResponseWriter& w, const SpdyExec& x) {
  http::Headers headers{{"Connection", "Upgrade"}, {"Upgrade", "SPDY/3.1"}};
  if (!x.protocol.empty()) headers["X-Stream-Protocol-Version"] = x.protocol;
  auto accepted = w.AcceptUpgrade(headers);
  if (!accepted.ok()) {
    LB_LOG_DEBUG("kubesim: exec {}/{}: {}", x.ns, x.pod, accepted.status().ToString());
    return;
  }
  std::unique_ptr<http::UpgradedConnection> conn = std::move(*accepted);
  const bool json_errors = x.protocol == "v4.channel.k8s.io";
  const bool resizable = x.tty && (x.protocol == "v4.channel.k8s.io" || x.protocol == "v3.channel.k8s.io");

  std::mutex mu;
  std::condition_variable cv;
  std::map<std::string, uint32_t> ids;  // streamtype -> first stream of that type
  spdy::Session::Options opts;
  opts.on_stream = [&](uint32_t id, const spdy::HeaderBlock& h) {
    std::lock_guard lock(mu);
    ids.emplace(spdy::HeaderValue(h, "streamtype"), id);
    cv.notify_all();
  };
  spdy::Session session(conn.get(), std::move(opts));
  session.Start();

  std::vector<std::string> expected{"error"};
  if (x.want_stdin) expected.push_back("stdin");
  if (x.want_stdout) expected.push_back("stdout");
  if (x.want_stderr) expected.push_back("stderr");
  if (resizable) expected.push_back("resize");
  uint32_t error_id = 0, stdin_id = 0, stdout_id = 0, stderr_id = 0, resize_id = 0;
  {
    std::unique_lock lock(mu);
    auto have_all = [&] {
      for (const std::string& t : expected) {
        if (!ids.count(t)) return false;
      }
      return true;
    };
    auto deadline = std::chrono::steady_clock::now() + kSpdyStreamWait;
    while (!have_all() && !session.PeerGoingAway() && std::chrono::steady_clock::now() < deadline) {
      cv.wait_for(lock, std::chrono::milliseconds(100));
    }
    if (!have_all()) {
      lock.unlock();
      LB_LOG_DEBUG("kubesim: exec {}/{}: the client did not create the expected streams", x.ns, x.pod);
      (void)session.GoAway();
      session.Shutdown();
      return;
    }
    auto id = [&](const char* t) { return ids.count(t) ? ids[t] : 0u; };
    error_id = id("error");
    stdin_id = x.want_stdin ? id("stdin") : 0;
    stdout_id = x.want_stdout ? id("stdout") : 0;
    stderr_id = x.want_stderr ? id("stderr") : 0;
    resize_id = resizable ? id("resize") : 0;
  }

  auto send_status = [&](int exit_code, const std::string& message) {
    if (stdout_id) (void)session.SendData(stdout_id, "", true);
    if (stderr_id) (void)session.SendData(stderr_id, "", true);
    std::string status;
    if (json_errors) {
      status = ExitStatusJson(x.command, exit_code);
    } else if (exit_code != 0) {
      std::string cmd;
      for (const std::string& c : x.command) cmd += (cmd.empty() ? "" : " ") + c;
      status = message.empty() ? "error executing command [" + cmd + "], exit code " + std::to_string(exit_code)
                               : message;
    }
    (void)session.SendData(error_id, status, true);
  };
  auto hang_up = [&] {
    if (!session.WaitClosed(kSpdyCloseWait)) (void)session.GoAway();
    session.Shutdown();
  };

  auto started = Process::Start(x.popts);
  if (!started.ok()) {
    const int code = started.status().code() == absl::StatusCode::kPermissionDenied ? 126 : 127;
    std::string msg = "OCI runtime exec failed: exec failed: unable to start container process: " +
                      std::string(started.status().message()) + ": unknown";
    uint32_t out = x.want_stderr ? stderr_id : (x.tty ? stdout_id : 0);
    if (out) (void)session.SendData(out, msg + (x.tty ? "\r\n" : "\n"), false);
    send_status(code, msg);
    hang_up();
    return;
  }
  std::unique_ptr<Process> proc = std::move(*started);
  if (!x.want_stdin && !x.tty) proc->CloseStdin();

  std::atomic<bool> finishing{false};
  std::atomic<bool> peer_gone{false};
  std::thread stdin_thread;
  if (stdin_id) {
    stdin_thread = std::thread([&] {
      bool ok = true;
      while (auto data = session.Receive(stdin_id)) {
        if (ok && !data->empty() && !proc->WriteStdin(*data).ok()) ok = false;
      }
      // FIN (or reset): end of input for the command.
      if (!finishing.load()) proc->CloseStdin();
    });
  }
  std::thread resize_thread;
  if (resize_id) {
    resize_thread = std::thread([&] {
      std::string pending;
      auto apply = [&](std::string_view text) {
        boost::system::error_code jec;
        json::value size = json::parse(text, jec);
        if (jec || !size.is_object()) return false;
        const json::value* wv = size.as_object().if_contains("Width");
        const json::value* hv = size.as_object().if_contains("Height");
        if (wv && hv && wv->is_number() && hv->is_number()) {
          proc->Resize(static_cast<uint16_t>(wv->to_number<double>()), static_cast<uint16_t>(hv->to_number<double>()));
        }
        return true;
      };
      while (auto data = session.Receive(resize_id)) {
        pending += *data;
        size_t nl;
        while ((nl = pending.find('\n')) != std::string::npos) {
          (void)apply(std::string_view(pending).substr(0, nl));
          pending.erase(0, nl + 1);
        }
        if (!pending.empty() && apply(pending)) pending.clear();  // a message without newline
      }
    });
  }
  // The client hanging up (Ctrl-C, a broken pipe) kills the command.
  std::thread watcher([&] {
    while (!finishing.load()) {
      if (session.WaitClosed(std::chrono::milliseconds(200))) {
        if (!finishing.load()) {
          peer_gone.store(true);
          proc->Cancel();
        }
        return;
      }
    }
  });

  exec_internal::ExitResult result = proc->Pump([&](int channel, std::string_view data) {
    uint32_t id = channel == 1 ? stdout_id : (channel == 2 ? stderr_id : 0);
    if (id == 0) return true;
    return session.SendData(id, data, false).ok();
  });
  finishing.store(true);
  proc->CloseStdin();
  // (The watcher is joined last: it notices `finishing` only at its next poll.)
  if (!peer_gone.load() && !result.killed) {
    send_status(result.exit_code, "");
    hang_up();
  } else {
    (void)session.GoAway();
    session.Shutdown();
  }
  watcher.join();
  if (stdin_thread.joinable()) stdin_thread.join();
  if (resize_thread.joinable()) resize_thread.join();
}

}  // namespace

ExecService::ExecService(Cluster* cluster, std::filesystem::path data_dir,
                         std::vector<std::string> websocket_protocols)
    : cluster_(cluster),
      data_dir_(std::move(data_dir)),
      websocket_protocols_(std::move(websocket_protocols)) {}

ExecService::~ExecService() = default;

namespace {

struct PodRef {
  json::value pod;
  std::string uid;
  std::string phase;
};

absl::StatusOr<PodRef> LoadPod(Cluster* cluster, const std::string& ns, const std::string& name) {
  auto type = cluster->registry().StorageType("", "pods");
  if (!type) return InternalError("the pods resource is not registered");
  LIFEBOAT_ASSIGN_OR_RETURN(json::value pod, cluster->Get(type->type, ns, name));
  PodRef ref;
  ref.uid = StringField(pod, {"metadata", "uid"});
  ref.phase = StringField(pod, {"status", "phase"});
  ref.pod = std::move(pod);
  return ref;
}

// Reads at most the last `max` bytes of `path` ("" if it does not exist).
std::string ReadTail(const std::filesystem::path& path, size_t max, uint64_t* size_out) {
  std::ifstream in(path, std::ios::binary);
  if (size_out) *size_out = 0;
  if (!in) return "";
  in.seekg(0, std::ios::end);
  std::streamoff size = in.tellg();
  if (size <= 0) return "";
  if (size_out) *size_out = static_cast<uint64_t>(size);
  std::streamoff start = size > static_cast<std::streamoff>(max) ? size - static_cast<std::streamoff>(max) : 0;
  in.seekg(start);
  std::string data(static_cast<size_t>(size - start), '\0');
  in.read(data.data(), static_cast<std::streamsize>(data.size()));
  data.resize(static_cast<size_t>(in.gcount()));
  if (start > 0) {
    // Drop the partial first line.
    size_t nl = data.find('\n');
    data.erase(0, nl == std::string::npos ? data.size() : nl + 1);
  }
  return data;
}

constexpr size_t kMaxLogBytes = 64 * 1024 * 1024;

void ServeLog(Cluster* cluster, const std::filesystem::path& data_dir, http::Request& req,
              http::ResponseWriter& w, const std::string& ns, const std::string& name) {
  if (req.method != "GET") {
    return SendApiStatus(w, MethodNotSupportedError({"", "pods/log"}, req.method));
  }
  auto ref = LoadPod(cluster, ns, name);
  if (!ref.ok()) return SendApiStatus(w, ref.status());
  auto container = PickContainer(ref->pod, req.Query("container"), name);
  if (!container.ok()) return SendApiStatus(w, container.status());
  LogOptions opts;
  opts.timestamps = BoolParam(req, "timestamps");
  auto tail = IntParam(req, "tailLines");
  if (!tail.ok()) return SendApiStatus(w, tail.status());
  if (*tail && **tail < 0) {
    return SendApiStatus(w, BadRequestError("tailLines: Invalid value: " + std::to_string(**tail) +
                                            ": must be greater than or equal to 0"));
  }
  opts.tail_lines = *tail;
  auto limit = IntParam(req, "limitBytes");
  if (!limit.ok()) return SendApiStatus(w, limit.status());
  if (*limit && **limit < 1) {
    return SendApiStatus(w, BadRequestError("limitBytes: Invalid value: " + std::to_string(**limit) +
                                            ": must be greater than 0"));
  }
  opts.limit_bytes = *limit;
  auto since = IntParam(req, "sinceSeconds");
  if (!since.ok()) return SendApiStatus(w, since.status());
  if (*since) {
    if (**since < 1) {
      return SendApiStatus(w, BadRequestError("sinceSeconds: Invalid value: " + std::to_string(**since) +
                                              ": must be greater than 0"));
    }
    opts.since_unix = static_cast<int64_t>(std::time(nullptr)) - **since;
  }
  if (req.HasQuery("sinceTime")) {
    auto t = exec_internal::ParseRfc3339(req.Query("sinceTime"));
    if (!t) return SendApiStatus(w, BadRequestError("sinceTime: Invalid value: \"" + req.Query("sinceTime") + "\""));
    opts.since_unix = *t;
  }
  if (BoolParam(req, "previous")) {
    return SendApiStatus(w, BadRequestError("previous terminated container \"" + *container + "\" in pod \"" +
                                            name + "\" not found"));
  }
  if (!SafeComponent(ref->uid) || !SafeComponent(*container)) {
    return SendApiStatus(w, InternalError("pod " + name + " has no usable uid"));
  }
  const std::filesystem::path file = data_dir / "kubelet" / "pods" / ref->uid / "logs" / (*container + ".log");
  std::error_code ec;
  bool exists = std::filesystem::exists(file, ec);
  if (!exists && (ref->phase.empty() || ref->phase == "Pending")) {
    return SendApiStatus(w, BadRequestError("container \"" + *container + "\" in pod \"" + name +
                                            "\" is waiting to start: ContainerCreating"));
  }
  uint64_t size = 0;
  std::string body = FormatLog(ReadTail(file, kMaxLogBytes, &size), opts);
  const http::Headers headers{{"Content-Type", "text/plain"}};
  if (!BoolParam(req, "follow")) {
    (void)w.Send(200, headers, body);
    return;
  }
  // follow: stream what is there, then what is appended, until the client goes away, the
  // container's pod ends or is replaced, or the byte limit is reached.
  if (!w.BeginStream(200, headers).ok()) return;
  int64_t remaining = opts.limit_bytes ? *opts.limit_bytes - static_cast<int64_t>(body.size()) : -1;
  if (!w.WriteChunk(body).ok()) return;
  LogOptions more = opts;
  more.tail_lines.reset();
  std::string partial;
  auto last_check = std::chrono::steady_clock::now();
  while (!w.PeerClosed() && (remaining < 0 || remaining > 0)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    uint64_t now_size = 0;
    {
      std::ifstream in(file, std::ios::binary);
      if (in) {
        in.seekg(0, std::ios::end);
        now_size = static_cast<uint64_t>(std::max<std::streamoff>(0, in.tellg()));
        if (now_size < size) size = 0;  // truncated or rotated: start over
        if (now_size > size) {
          uint64_t n = std::min<uint64_t>(now_size - size, 1 << 20);
          in.seekg(static_cast<std::streamoff>(size));
          std::string data(static_cast<size_t>(n), '\0');
          in.read(data.data(), static_cast<std::streamsize>(n));
          data.resize(static_cast<size_t>(in.gcount()));
          size += data.size();
          partial += data;
        }
      }
    }
    size_t nl = partial.rfind('\n');
    if (nl != std::string::npos) {
      more.limit_bytes = remaining >= 0 ? std::optional<int64_t>(remaining) : std::nullopt;
      std::string chunk = FormatLog(std::string_view(partial).substr(0, nl + 1), more);
      partial.erase(0, nl + 1);
      if (remaining >= 0) remaining -= static_cast<int64_t>(chunk.size());
      if (!w.WriteChunk(chunk).ok()) return;
    }
    if (std::chrono::steady_clock::now() - last_check > std::chrono::seconds(2)) {
      last_check = std::chrono::steady_clock::now();
      auto cur = LoadPod(cluster, ns, name);
      if (!cur.ok() || cur->uid != ref->uid || cur->phase == "Succeeded" || cur->phase == "Failed") break;
    }
  }
  (void)w.EndStream();
}

}  // namespace

void ExecService::Handle(lifeboat::http::Request& req, lifeboat::http::ResponseWriter& w,
                         const std::string& ns, const std::string& pod) {
  std::string sub = req.path;
  while (!sub.empty() && sub.back() == '/') sub.pop_back();
  sub = sub.substr(sub.rfind('/') + 1);
  if (sub == "log") return ServeLog(cluster_, data_dir_, req, w, ns, pod);
  if (sub == "attach") {
    return SendApiStatus(w, BadRequestError("attach is not supported by kubesim"));
  }
  if (sub != "exec") {
    return SendApiStatus(w, ApiError(404, "NotFound", "the server could not find the requested resource"));
  }
  if (req.method != "GET" && req.method != "POST") {
    return SendApiStatus(w, MethodNotSupportedError({"", "pods/exec"}, req.method));
  }
  auto ref = LoadPod(cluster_, ns, pod);
  if (!ref.ok()) return SendApiStatus(w, ref.status());
  auto container = PickContainer(ref->pod, req.Query("container"), pod);
  if (!container.ok()) return SendApiStatus(w, container.status());
  std::vector<std::string> command;
  for (auto [it, end] = req.query.equal_range("command"); it != end; ++it) command.push_back(it->second);
  if (command.empty()) {
    return SendApiStatus(w, BadRequestError("you must specify at least one command for the container"));
  }
  const bool tty = BoolParam(req, "tty");
  const bool want_stdin = BoolParam(req, "stdin");
  const bool want_stdout = BoolParam(req, "stdout");
  const bool want_stderr = BoolParam(req, "stderr") && !tty;
  if (!want_stdin && !want_stdout && !BoolParam(req, "stderr")) {
    return SendApiStatus(w, BadRequestError("you must specify at least 1 of stdin, stdout, stderr"));
  }
  if (ref->phase == "Succeeded" || ref->phase == "Failed") {
    return SendApiStatus(w, BadRequestError("cannot exec into a container in a completed pod; current phase is " +
                                            ref->phase));
  }
  if (ref->phase != "Running") {
    return SendApiStatus(w, BadRequestError("container not found (\"" + *container + "\")"));
  }
  if (!SafeComponent(ref->uid)) return SendApiStatus(w, InternalError("pod " + pod + " has no usable uid"));
  const bool websocket = http::IsWebSocketUpgrade(req);
  const bool spdy_upgrade = !websocket && IsSpdyUpgrade(req);
  if (!websocket && !spdy_upgrade) {
    std::string upgrade = req.Header("Upgrade");
    std::string why = upgrade.empty()
                          ? "Upgrade request required"
                          : "unable to upgrade connection: kubesim serves exec over WebSocket "
                            "(v5.channel.k8s.io, v4.channel.k8s.io) or SPDY/3.1, not " + upgrade;
    return SendApiStatus(w, BadRequestError(why));
  }
  std::optional<std::string> protocol;
  if (spdy_upgrade) {
    protocol = NegotiateSpdyProtocol(req.Header("X-Stream-Protocol-Version"));
    if (!protocol) {
      return SendApiStatus(w, BadRequestError("unable to upgrade connection: unable to negotiate protocol: client "
                                              "supports " + req.Header("X-Stream-Protocol-Version") +
                                              ", server accepts v4.channel.k8s.io, v3.channel.k8s.io, "
                                              "v2.channel.k8s.io, channel.k8s.io"));
    }
  } else {
    protocol = NegotiateProtocol(req.Header("Sec-WebSocket-Protocol"), websocket_protocols_);
    if (!protocol) {
      return SendApiStatus(w, BadRequestError("unable to upgrade connection: none of the requested subprotocols (" +
                                              req.Header("Sec-WebSocket-Protocol") + ") is supported"));
    }
  }
  const bool json_errors = *protocol == "v5.channel.k8s.io" || *protocol == "v4.channel.k8s.io";
  const bool has_close = *protocol == "v5.channel.k8s.io";

  const std::filesystem::path pod_dir = data_dir_ / "kubelet" / "pods" / ref->uid;
  std::error_code ec;
  std::filesystem::create_directories(pod_dir, ec);

  ProcessOptions popts;
  popts.argv = command;
  popts.cwd = pod_dir;
  popts.tty = tty;
  const char* path_env = std::getenv("PATH");
  popts.env = {std::string("PATH=") + (path_env ? path_env : "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"),
               "HOME=" + pod_dir.string(), "POD_NAME=" + pod, "POD_NAMESPACE=" + ns,
               "CONTAINER=" + *container, "HOSTNAME=" + pod};
  if (tty) popts.env.push_back("TERM=xterm");
  // The container's root: the kubelet links each of its volumeMounts in there
  // ($KUBESIM_ROOT/data for a mount at /data).
  if (SafeComponent(*container)) {
    const std::filesystem::path root = pod_dir / "containers" / *container;
    std::filesystem::create_directories(root, ec);
    popts.env.push_back("KUBESIM_ROOT=" + root.string());
  }

  if (spdy_upgrade) {
    SpdyExec exec{.ns = ns,
                  .pod = pod,
                  .protocol = *protocol,
                  .command = command,
                  .popts = popts,
                  .tty = tty,
                  .want_stdin = want_stdin,
                  .want_stdout = want_stdout,
                  .want_stderr = want_stderr};
    return ServeSpdyExec(w, exec);
  }

  auto accepted = w.AcceptWebSocket(*protocol);
  if (!accepted.ok()) {
    LB_LOG_DEBUG("kubesim: exec {}/{}: {}", ns, pod, accepted.status().ToString());
    return;
  }
  std::unique_ptr<http::WebSocket> ws = std::move(*accepted);
  auto frame = [](int channel, std::string_view data) {
    std::string f;
    f.reserve(data.size() + 1);
    f.push_back(static_cast<char>(channel));
    f.append(data);
    return f;
  };
  auto finish = [&](int exit_code, const std::string& message) {
    // message: a failure to start the command (exit_code is then 126/127).
    if (json_errors) {
      (void)ws->Write(frame(3, ExitStatusJson(command, exit_code)));
    } else if (exit_code != 0) {
      std::string cmd;
      for (const std::string& c : command) cmd += (cmd.empty() ? "" : " ") + c;
      (void)ws->Write(frame(3, message.empty() ? "error executing command [" + cmd + "], exit code " +
                                                    std::to_string(exit_code)
                                              : message));
    }
  };

  auto started = Process::Start(popts);
  if (!started.ok()) {
    const int code = started.status().code() == absl::StatusCode::kPermissionDenied ? 126 : 127;
    std::string msg = "OCI runtime exec failed: exec failed: unable to start container process: " +
                      std::string(started.status().message()) + ": unknown";
    if (want_stderr || tty) (void)ws->Write(frame(want_stderr ? 2 : 1, msg + (tty ? "\r\n" : "\n")));
    finish(code, msg);
    (void)ws->Close();
    return;
  }
  std::unique_ptr<Process> proc = std::move(*started);
  if (!want_stdin && !tty) proc->CloseStdin();

  std::atomic<bool> finishing{false};
  std::atomic<bool> peer_gone{false};
  std::thread reader([&] {
    bool stdin_ok = want_stdin;
    for (;;) {
      auto msg = ws->Read();
      if (!msg.ok()) {
        if (!finishing.load()) {
          peer_gone.store(true);
          proc->Cancel();
        }
        return;
      }
      if (msg->empty()) continue;
      const unsigned char channel = static_cast<unsigned char>((*msg)[0]);
      std::string_view payload = std::string_view(*msg).substr(1);
      if (channel == 0) {
        if (stdin_ok && !payload.empty() && !proc->WriteStdin(payload).ok()) stdin_ok = false;
      } else if (channel == 4) {
        boost::system::error_code jec;
        json::value size = json::parse(payload, jec);
        if (!jec && size.is_object()) {
          const json::value* wv = size.as_object().if_contains("Width");
          const json::value* hv = size.as_object().if_contains("Height");
          if (wv && hv && wv->is_number() && hv->is_number()) {
            proc->Resize(static_cast<uint16_t>(wv->to_number<double>()),
                         static_cast<uint16_t>(hv->to_number<double>()));
          }
        }
      } else if (channel == 255 && has_close) {
        if (!payload.empty() && payload[0] == 0) {
          proc->CloseStdin();
          stdin_ok = false;
        }
      }
    }
  });

  exec_internal::ExitResult result = proc->Pump([&](int channel, std::string_view data) {
    if (channel == 1 && !want_stdout && !tty) return true;
    if (channel == 2 && !want_stderr) return true;
    return ws->Write(frame(channel, data)).ok();
  });
  finishing.store(true);
  proc->CloseStdin();
  if (peer_gone.load() || result.killed) {
    // The client went away (or a write to it failed): nothing more to say.
    if (!peer_gone.load()) (void)ws->Close();
    reader.join();
    return;
  }
  finish(result.exit_code, "");
  // The close frame ends the session; the reader returns when the client answers it (the
  // WebSocket allows a close while a read is pending).
  (void)ws->Close();
  reader.join();
}

}  // namespace kubesim
