#pragma once

// Logging: spdlog underneath, one process-wide logger writing to stderr. Messages never carry
// secrets: use RedactedToken() when a credential has to be mentioned at all.

#include <string>
#include <string_view>

#include "lifeboat/common/status.h"
#include "spdlog/spdlog.h"

namespace lifeboat::log {

// Sets the level ("trace", "debug", "info", "warn", "error", "off") and the format.
// InvalidArgument for an unknown level. Safe to call more than once.
Status Init(std::string_view level);

// "abcd…(32 chars)": enough to tell two tokens apart in a log, not enough to use one.
std::string RedactedToken(std::string_view token);

}  // namespace lifeboat::log

#define LB_LOG_TRACE(...) SPDLOG_TRACE(__VA_ARGS__)
#define LB_LOG_DEBUG(...) SPDLOG_DEBUG(__VA_ARGS__)
#define LB_LOG_INFO(...) SPDLOG_INFO(__VA_ARGS__)
#define LB_LOG_WARN(...) SPDLOG_WARN(__VA_ARGS__)
#define LB_LOG_ERROR(...) SPDLOG_ERROR(__VA_ARGS__)
