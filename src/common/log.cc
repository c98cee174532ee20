#include "lifeboat/common/log.h"

#include "spdlog/sinks/stdout_color_sinks.h"

namespace lifeboat::log {

Status Init(std::string_view level) {
  spdlog::level::level_enum lvl = spdlog::level::from_str(std::string(level));
  if (lvl == spdlog::level::off && level != "off") {
    return absl::InvalidArgumentError(
        "unknown log level \"" + std::string(level) + "\" (want trace, debug, info, warn, error, off)");
  }
  static bool initialised = false;
  if (!initialised) {
    spdlog::set_default_logger(spdlog::stderr_color_mt("lifeboat"));
    initialised = true;
  }
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %^%l%$ %v", spdlog::pattern_time_type::utc);
  spdlog::set_level(lvl);
  return absl::OkStatus();
}

std::string RedactedToken(std::string_view token) {
  std::string out(token.substr(0, token.size() >= 16 ? 4 : 0));
  out += "…(" + std::to_string(token.size()) + " chars)";
  return out;
}

}  // namespace lifeboat::log
