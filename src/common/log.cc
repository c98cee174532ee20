#include "lifeboat/common/log.h"

#include <memory>

#include "spdlog/pattern_formatter.h"
#include "spdlog/sinks/stdout_color_sinks.h"

namespace lifeboat::log {

namespace {

// %* in a pattern: the message as the contents of a JSON string (quotes, backslashes and
// control characters escaped; other bytes as they are, so UTF-8 stays UTF-8).
class JsonMessageFlag : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    static constexpr char kHex[] = "0123456789abcdef";
    for (char c : std::string_view(msg.payload.data(), msg.payload.size())) {
      const auto u = static_cast<unsigned char>(c);
      switch (c) {
        case '"': dest.append(std::string_view("\\\"")); break;
        case '\\': dest.append(std::string_view("\\\\")); break;
        case '\n': dest.append(std::string_view("\\n")); break;
        case '\r': dest.append(std::string_view("\\r")); break;
        case '\t': dest.append(std::string_view("\\t")); break;
        default:
          if (u < 0x20) {
            const char esc[] = {'\\', 'u', '0', '0', kHex[u >> 4], kHex[u & 15]};
            dest.append(esc, esc + sizeof(esc));
          } else {
            dest.push_back(c);
          }
      }
    }
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<JsonMessageFlag>();
  }
};

}  // namespace

StatusOr<std::unique_ptr<spdlog::formatter>> MakeFormatter(std::string_view format) {
  auto f = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc);
  if (format == "text") {
    f->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %^%l%$ %v");
  } else if (format == "json") {
    f->add_flag<JsonMessageFlag>('*').set_pattern(
        R"({"time":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%l","msg":"%*"})");
  } else {
    return absl::InvalidArgumentError("unknown log format \"" + std::string(format) +
                                      "\" (want text or json)");
  }
  return std::unique_ptr<spdlog::formatter>(std::move(f));
}

Status Init(std::string_view level, std::string_view format) {
  spdlog::level::level_enum lvl = spdlog::level::from_str(std::string(level));
  if (lvl == spdlog::level::off && level != "off") {
    return absl::InvalidArgumentError(
        "unknown log level \"" + std::string(level) + "\" (want trace, debug, info, warn, error, off)");
  }
  auto formatter = MakeFormatter(format);
  if (!formatter.ok()) return formatter.status();
  static bool initialised = false;
  if (!initialised) {
    spdlog::set_default_logger(spdlog::stderr_color_mt("lifeboat"));
    initialised = true;
  }
  spdlog::set_formatter(std::move(*formatter));
  spdlog::set_level(lvl);
  return absl::OkStatus();
}

std::string RedactedToken(std::string_view token) {
  std::string out(token.substr(0, token.size() >= 16 ? 4 : 0));
  out += "…(" + std::to_string(token.size()) + " chars)";
  return out;
}

}  // namespace lifeboat::log
