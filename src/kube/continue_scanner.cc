#include "src/kube/continue_scanner.h"

#include <boost/json/basic_parser_impl.hpp>

namespace lifeboat::kube {
namespace {

namespace json = boost::json;

// A SAX handler that follows only the top level and the top-level metadata object.
struct Handler {
  static constexpr std::size_t max_object_size = std::size_t(-1);
  static constexpr std::size_t max_array_size = std::size_t(-1);
  static constexpr std::size_t max_key_size = std::size_t(-1);
  static constexpr std::size_t max_string_size = std::size_t(-1);

  int depth = 0;
  bool in_metadata = false;
  bool metadata_seen = false;
  std::string key, top_key, meta_key, value;
  std::optional<std::string> token;
  bool finished = false;  // "items" reached: stop parsing
  bool result_known = false;

  bool on_document_begin(json::error_code&) { return true; }
  bool on_document_end(json::error_code&) { return true; }
  bool on_object_begin(json::error_code&) {
    ++depth;
    if (depth == 2 && top_key == "metadata") in_metadata = true;
    return true;
  }
  bool on_object_end(std::size_t, json::error_code&) {
    if (depth == 2 && in_metadata) {
      in_metadata = false;
      metadata_seen = true;
    }
    --depth;
    return true;
  }
  bool on_array_begin(json::error_code&) {
    ++depth;
    return true;
  }
  bool on_array_end(std::size_t, json::error_code&) {
    --depth;
    return true;
  }
  bool on_key_part(json::string_view s, std::size_t, json::error_code&) {
    key.append(s.data(), s.size());
    return true;
  }
  bool on_key(json::string_view s, std::size_t, json::error_code& ec) {
    key.append(s.data(), s.size());
    if (depth == 1) {
      top_key = key;
      if (top_key == "items") {
        finished = true;
        result_known = metadata_seen;
        if (metadata_seen && !token) token = "";
        key.clear();
        ec = json::error::extra_data;  // any error: stop here, the rest is not needed
        return false;
      }
    } else if (depth == 2 && in_metadata) {
      meta_key = key;
    }
    key.clear();
    return true;
  }
  bool on_string_part(json::string_view s, std::size_t, json::error_code&) {
    if (depth == 2 && in_metadata && meta_key == "continue") value.append(s.data(), s.size());
    return true;
  }
  bool on_string(json::string_view s, std::size_t, json::error_code&) {
    if (depth == 2 && in_metadata && meta_key == "continue") {
      value.append(s.data(), s.size());
      token = value;
    }
    value.clear();
    return true;
  }
  bool on_number_part(json::string_view, json::error_code&) { return true; }
  bool on_int64(std::int64_t, json::string_view, json::error_code&) { return true; }
  bool on_uint64(std::uint64_t, json::string_view, json::error_code&) { return true; }
  bool on_double(double, json::string_view, json::error_code&) { return true; }
  bool on_bool(bool, json::error_code&) { return true; }
  bool on_null(json::error_code&) { return true; }
  bool on_comment_part(json::string_view, json::error_code&) { return true; }
  bool on_comment(json::string_view, json::error_code&) { return true; }
};

}  // namespace

struct ContinueScanner::Impl {
  json::basic_parser<Handler> parser{json::parse_options{}};
  bool done = false;
};

ContinueScanner::ContinueScanner() : impl_(std::make_unique<Impl>()) {}
ContinueScanner::~ContinueScanner() = default;

std::optional<std::string> ContinueScanner::Feed(std::string_view chunk) {
  if (impl_->done) return std::nullopt;
  json::error_code ec;
  impl_->parser.write_some(true, chunk.data(), chunk.size(), ec);
  Handler& h = impl_->parser.handler();
  if (h.finished) {
    impl_->done = true;
    if (h.result_known) return h.token;
    return std::nullopt;
  }
  if (ec) impl_->done = true;  // malformed: the real parser reports it
  return std::nullopt;
}

}  // namespace lifeboat::kube
