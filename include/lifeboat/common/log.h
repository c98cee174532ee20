#pragma once

// Logging: spdlog underneath, one process-wide logger writing to stderr. Messages never carry
// secrets: use RedactedToken() when a credential has to be mentioned at all.

#include <memory>
#include <string>
#include <string_view>

#include "lifeboat/common/status.h"
#include "spdlog/formatter.h"
#include "spdlog/spdlog.h"

namespace lifeboat::log {

// Sets the level ("trace", "debug", "info", "warn", "error", "off") and the format (Velero's
// --log-format): "text" — `<RFC 3339 UTC time> <level> <message>` — or "json" — one object per
// line, {"time": ..., "level": ..., "msg": ...}, for log collectors. InvalidArgument for an
// unknown level or format. Safe to call more than once.
Status Init(std::string_view level, std::string_view format = "text");

// The formatter Init installs for `format` (tests format messages with it directly).
StatusOr<std::unique_ptr<spdlog::formatter>> MakeFormatter(std::string_view format);

// "abcd…(32 chars)": enough to tell two tokens apart in a log, not enough to use one.
std::string RedactedToken(std::string_view token);

}  // namespace lifeboat::log

#define LB_LOG_TRACE(...) SPDLOG_TRACE(__VA_ARGS__)
#define LB_LOG_DEBUG(...) SPDLOG_DEBUG(__VA_ARGS__)
#define LB_LOG_INFO(...) SPDLOG_INFO(__VA_ARGS__)
#define LB_LOG_WARN(...) SPDLOG_WARN(__VA_ARGS__)
#define LB_LOG_ERROR(...) SPDLOG_ERROR(__VA_ARGS__)
