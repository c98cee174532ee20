#include "src/engine/hook_exec.h"

#include <chrono>

#include <boost/json.hpp>

#include "absl/strings/str_join.h"

namespace lifeboat::engine {
namespace {

namespace json = boost::json;

// The hook's output kept from the exec and written to the log, per stream. Velero logs all of
// it; a runaway command must not fill the log or memory.
constexpr size_t kMaxOutputBytes = 64 << 10;
constexpr size_t kMaxLoggedOutput = 4 << 10;

// Concatenation over std::string_view (Debian's absl::StrCat takes absl::string_view only).
std::string Cat(std::initializer_list<std::string_view> parts) {
  std::string out;
  for (std::string_view p : parts) out.append(p);
  return out;
}

std::string Bounded(std::string_view out, bool truncated) {
  if (out.size() <= kMaxLoggedOutput && !truncated) return std::string(out);
  return Cat({out.substr(0, kMaxLoggedOutput), " ... (output truncated)"});
}

}  // namespace

// Velero's parseStringToCommand: a value starting with '[' that parses as a JSON array of
// strings is the argv; anything else (including a malformed array) is one argument.
std::vector<std::string> ParseHookCommand(std::string_view value) {
  if (!value.empty() && value.front() == '[') {
    boost::system::error_code ec;
    json::value v = json::parse(value, ec);
    if (!ec && v.is_array()) {
      std::vector<std::string> argv;
      bool all_strings = true;
      for (const json::value& e : v.get_array()) {
        if (!e.is_string()) {
          all_strings = false;
          break;
        }
        argv.emplace_back(e.get_string().c_str(), e.get_string().size());
      }
      if (all_strings) return argv;
    }
  }
  return {std::string(value)};
}

// Go's %v of a []string: "[a b c]".
std::string GoStringSlice(const std::vector<std::string>& v) {
  return Cat({"[", absl::StrJoin(v, " "), "]"});
}


Status ExecHookCommand(kube::PodExecutor* exec, BackupLog* log, const LogFields& fields,
                       const std::string& container, const std::vector<std::string>& command,
                       api::Duration timeout, const CancellationToken& cancel) {
  if (exec == nullptr) return absl::FailedPreconditionError("no pod executor to run hooks with");
  kube::ExecOptions options;
  options.ns = fields.ns;
  options.pod = fields.name;
  options.container = container;
  options.command = command;
  options.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(timeout);
  if (options.timeout.count() <= 0) options.timeout = std::chrono::milliseconds(1);
  options.cancel = cancel;
  options.max_output_bytes = kMaxOutputBytes;
  StatusOr<kube::ExecResult> result = exec->Exec(options);
  if (!result.ok()) {
    if (absl::IsDeadlineExceeded(result.status())) {
      return absl::DeadlineExceededError(Cat({"timed out after ", api::FormatGoDuration(timeout)}));
    }
    return result.status();
  }
  log->Info(Cat({"stdout: ", Bounded(result->stdout_data, result->truncated)}), fields);
  log->Info(Cat({"stderr: ", Bounded(result->stderr_data, result->truncated)}), fields);
  if (result->exit_code != 0) {
    return absl::InternalError(
        Cat({"command terminated with exit code ", std::to_string(result->exit_code)}));
  }
  return absl::OkStatus();
}

}  // namespace lifeboat::engine
