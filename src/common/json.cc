#include "lifeboat/common/json.h"

#include "src/common/go_json.h"

#include <charconv>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <memory>
#include <vector>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

namespace lifeboat {
namespace json = boost::json;

StatusOr<json::value> ParseJson(std::string_view text, const JsonLimits& limits) {
  if (text.size() > limits.max_bytes) {
    return absl::InvalidArgumentError("invalid JSON: document is larger than " + std::to_string(limits.max_bytes) +
                                      " bytes");
  }
  json::parse_options opts;
  opts.max_depth = limits.max_depth;
  json::stream_parser p(json::storage_ptr(), opts);
  boost::system::error_code ec;
  size_t consumed = p.write_some(text.data(), text.size(), ec);
  if (!ec && consumed < text.size()) {
    return absl::InvalidArgumentError("invalid JSON at offset " + std::to_string(consumed) +
                                      ": unexpected data after the document");
  }
  if (!ec) p.finish(ec);
  if (ec) {
    return absl::InvalidArgumentError("invalid JSON at offset " + std::to_string(consumed) + ": " + ec.message());
  }
  return p.release();
}

const json::value* JsonFind(const json::value& v, std::initializer_list<std::string_view> path) {
  const json::value* cur = &v;
  for (std::string_view key : path) {
    if (!cur->is_object()) return nullptr;
    auto it = cur->get_object().find(key);
    if (it == cur->get_object().end()) return nullptr;
    cur = &it->value();
  }
  return cur;
}

std::optional<std::string> JsonString(const json::value& v, std::initializer_list<std::string_view> path) {
  const json::value* f = JsonFind(v, path);
  if (f == nullptr || !f->is_string()) return std::nullopt;
  return std::string(f->get_string());
}

std::optional<int64_t> JsonInt(const json::value& v, std::initializer_list<std::string_view> path) {
  const json::value* f = JsonFind(v, path);
  if (f == nullptr) return std::nullopt;
  if (f->is_int64()) return f->get_int64();
  if (f->is_uint64() && f->get_uint64() <= static_cast<uint64_t>(INT64_MAX)) {
    return static_cast<int64_t>(f->get_uint64());
  }
  if (f->is_double()) {
    double d = f->get_double();
    if (std::isfinite(d) && std::trunc(d) == d && std::fabs(d) < 9.2e18) return static_cast<int64_t>(d);
  }
  return std::nullopt;
}

std::optional<bool> JsonBool(const json::value& v, std::initializer_list<std::string_view> path) {
  const json::value* f = JsonFind(v, path);
  if (f == nullptr || !f->is_bool()) return std::nullopt;
  return f->get_bool();
}

namespace go_json {

constexpr char kHex[] = "0123456789abcdef";

// Go's encoding/json string encoding (escapeHTML on, as json.Marshal): `"` `\\` and the
// control characters escaped (\b \f \n \r \t short, the rest \u00XX), `<` `>` `&` and
// U+2028/U+2029 as \uXXXX, invalid UTF-8 bytes as \ufffd.
// Bytes GoString copies as they are: printable ASCII except `"` `\\` `<` `>` `&`.
constexpr std::array<bool, 256> kPlain = [] {
  std::array<bool, 256> t{};
  for (int c = 0x20; c < 0x80; ++c) t[c] = c != '"' && c != '\\' && c != '<' && c != '>' && c != '&';
  return t;
}();

namespace {

void Put(char*& w, std::string_view t) {
  std::memcpy(w, t.data(), t.size());
  w += t.size();
}

// Writes the encoding of the byte at data[i], which is not plain (a character to escape, or
// the start of a multi-byte sequence), and returns the index past what it consumed.
size_t EscapeAt(const char* data, size_t n, size_t i, char*& w) {
  const unsigned char c = static_cast<unsigned char>(data[i]);
  if (c < 0x80) {
    switch (c) {
      case '"': Put(w, "\\\""); break;
      case '\\': Put(w, "\\\\"); break;
      case '\b': Put(w, "\\b"); break;
      case '\f': Put(w, "\\f"); break;
      case '\n': Put(w, "\\n"); break;
      case '\r': Put(w, "\\r"); break;
      case '\t': Put(w, "\\t"); break;
      default:  // the other control characters and < > &
        Put(w, "\\u00");
        *w++ = kHex[c >> 4];
        *w++ = kHex[c & 15];
    }
    return i + 1;
  }
  // A multi-byte sequence: validate it (Go replaces invalid bytes by U+FFFD).
  const size_t len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 0;
  bool valid = len > 0 && c <= 0xF4 && i + len <= n;
  uint32_t cp = len == 2 ? c & 0x1F : len == 3 ? c & 0x0F : c & 0x07;
  for (size_t k = 1; valid && k < len; ++k) {
    const unsigned char cc = static_cast<unsigned char>(data[i + k]);
    valid = (cc & 0xC0) == 0x80;
    cp = (cp << 6) | (cc & 0x3F);
  }
  if (valid) {
    valid = (len == 2 && cp >= 0x80) || (len == 3 && cp >= 0x800 && (cp < 0xD800 || cp > 0xDFFF)) ||
            (len == 4 && cp >= 0x10000 && cp <= 0x10FFFF);
  }
  if (!valid) {
    Put(w, "\\ufffd");
    return i + 1;
  }
  if (cp == 0x2028 || cp == 0x2029) {
    Put(w, cp == 0x2028 ? "\\u2028" : "\\u2029");
  } else {
    Put(w, std::string_view(data + i, len));
  }
  return i + len;
}

// Writes Go's encoding of `s`. Reserves the worst case first (6 bytes per input byte: \u00XX,
// \ufffd, or \u2028 for a 3-byte sequence), then writes through a raw cursor. Plain runs go
// sixteen bytes at a time (x86-64 always has SSE2): a signed compare flags the control
// characters and every byte >= 0x80 at once. kPadded: 16 bytes past the end of `s` may be
// read, so a string's last piece is loaded whole too (short strings, keys, take one step).
template <bool kPadded>
void GoStringImpl(std::string_view s, Out& out) {
  const size_t n = s.size();
  out.Reserve(6 * n + 2 + 16);
  char* w = out.cursor();
  *w++ = '"';
  const char* const data = s.data();
  size_t i = 0;
  while (i < n) {
#ifdef __SSE2__
    if (kPadded || i + 16 <= n) {
      const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(data + i));
      __m128i special = _mm_cmplt_epi8(v, _mm_set1_epi8(0x20));
      special = _mm_or_si128(special, _mm_cmpeq_epi8(v, _mm_set1_epi8('"')));
      special = _mm_or_si128(special, _mm_cmpeq_epi8(v, _mm_set1_epi8('\\')));
      special = _mm_or_si128(special, _mm_cmpeq_epi8(v, _mm_set1_epi8('<')));
      special = _mm_or_si128(special, _mm_cmpeq_epi8(v, _mm_set1_epi8('>')));
      special = _mm_or_si128(special, _mm_cmpeq_epi8(v, _mm_set1_epi8('&')));
      auto mask = static_cast<unsigned>(_mm_movemask_epi8(special));
      const size_t left = n - i;
      if (left < 16) mask &= (1u << left) - 1;
      // Store all sixteen (the reserve has room); keep the plain ones.
      _mm_storeu_si128(reinterpret_cast<__m128i*>(w), v);
      const size_t plain = mask == 0 ? std::min<size_t>(16, left) : static_cast<size_t>(__builtin_ctz(mask));
      w += plain;
      i += plain;
      if (mask == 0) continue;
      i = EscapeAt(data, n, i, w);
      continue;
    }
#endif
    const unsigned char c = static_cast<unsigned char>(data[i]);
    if (kPlain[c]) {
      *w++ = static_cast<char>(c);
      ++i;
    } else {
      i = EscapeAt(data, n, i, w);
    }
  }
  *w++ = '"';
  out.Commit(w);
}

}  // namespace

void GoString(std::string_view s, Out& out) { GoStringImpl<false>(s, out); }
void GoStringPadded(std::string_view s, Out& out) { GoStringImpl<true>(s, out); }

// Go's float64 encoding: shortest round-trip digits, 'f' format for 1e-6 <= |f| < 1e21 and
// 'e' format otherwise with a two-digit minimum exponent cleaned up as Go does ("1e-07" ->
// "1e-7").
void GoFloat(double f, Out& out) {
  char buf[64];
  const double a = std::fabs(f);
  const bool exp = a != 0 && (a < 1e-6 || a >= 1e21);
  auto r = std::to_chars(buf, buf + sizeof buf, f,
                         exp ? std::chars_format::scientific : std::chars_format::fixed);
  std::string s(buf, r.ptr);
  if (exp) {
    size_t e = s.find('e');
    if (e != std::string::npos && e + 2 < s.size() && s[e + 2] == '0' && s.size() - e == 4) {
      s.erase(e + 2, 1);  // "e-07" -> "e-7"
    }
  }
  out.Append(s);
}

}  // namespace go_json

namespace {

using go_json::GoFloat;
using go_json::GoString;
using go_json::KeyLess;
using go_json::Out;

void GoMarshal(const json::value& v, Out& out) {
  switch (v.kind()) {
    case json::kind::object: {
      const json::object& o = v.get_object();
      // Sorted by key bytes, as Go sorts a map's keys. Most objects are small: their order is
      // kept on the stack (no allocation per object), and not sorted when already in order.
      constexpr size_t kSmall = 32;
      std::array<const json::key_value_pair*, kSmall> small;
      std::vector<const json::key_value_pair*> large;
      const json::key_value_pair** keys = small.data();
      if (o.size() > kSmall) {
        large.resize(o.size());
        keys = large.data();
      }
      size_t n = 0;
      bool sorted = true;
      for (const auto& kv : o) {
        if (n > 0 && !KeyLess(keys[n - 1]->key(), kv.key())) sorted = false;
        keys[n++] = &kv;
      }
      if (!sorted) {
        std::sort(keys, keys + n, [](const json::key_value_pair* x, const json::key_value_pair* y) {
          return KeyLess(x->key(), y->key());
        });
      }
      out.Char('{');
      for (size_t i = 0; i < n; ++i) {
        if (i > 0) out.Char(',');
        GoString(keys[i]->key(), out);
        out.Char(':');
        GoMarshal(keys[i]->value(), out);
      }
      out.Char('}');
      return;
    }
    case json::kind::array: {
      out.Char('[');
      bool first = true;
      for (const auto& item : v.get_array()) {
        if (!first) out.Char(',');
        first = false;
        GoMarshal(item, out);
      }
      out.Char(']');
      return;
    }
    case json::kind::string:
      GoString(v.get_string(), out);
      return;
    case json::kind::int64: {
      out.Reserve(24);
      out.Commit(std::to_chars(out.cursor(), out.cursor() + 24, v.get_int64()).ptr);
      return;
    }
    case json::kind::uint64: {
      out.Reserve(24);
      out.Commit(std::to_chars(out.cursor(), out.cursor() + 24, v.get_uint64()).ptr);
      return;
    }
    case json::kind::double_:
      GoFloat(v.get_double(), out);
      return;
    case json::kind::bool_:
      out.Append(v.get_bool() ? "true" : "false");
      return;
    case json::kind::null:
      out.Append("null");
      return;
  }
}

// Go's json.MarshalIndent(v, "", "  ") layout, keys in the object's own order (a Go struct's
// field order, as the Kubernetes serializer writes objects in pretty mode).
void GoIndent(const json::value& v, Out& out, int depth) {
  auto newline = [&](int d) {
    out.Reserve(1 + 2 * static_cast<size_t>(d));
    char* w = out.cursor();
    *w++ = '\n';
    std::memset(w, ' ', 2 * static_cast<size_t>(d));
    out.Commit(w + 2 * d);
  };
  if (v.is_object() && !v.get_object().empty()) {
    out.Char('{');
    bool first = true;
    for (const auto& kv : v.get_object()) {
      if (!first) out.Char(',');
      first = false;
      newline(depth + 1);
      GoString(kv.key(), out);
      out.Append(": ");
      GoIndent(kv.value(), out, depth + 1);
    }
    newline(depth);
    out.Char('}');
  } else if (v.is_array() && !v.get_array().empty()) {
    out.Char('[');
    bool first = true;
    for (const auto& item : v.get_array()) {
      if (!first) out.Char(',');
      first = false;
      newline(depth + 1);
      GoIndent(item, out, depth + 1);
    }
    newline(depth);
    out.Char(']');
  } else {
    GoMarshal(v, out);  // scalars, {} and []
  }
}

}  // namespace

std::string CanonicalJson(const json::value& v) {
  // Written into a buffer kept by the thread (no reallocation as it grows), then copied out at
  // its exact size.
  thread_local Out buffer;
  buffer.Clear();
  GoMarshal(v, buffer);
  std::string out(buffer.view());
  if (buffer.capacity() > (size_t{4} << 20)) buffer = Out();  // not kept after a huge item
  return out;
}

std::string GoJsonIndent(const json::value& v) {
  Out out;
  GoIndent(v, out, 0);  // the serializer writes MarshalIndent's bytes as they are: no newline
  return std::string(out.view());
}

}  // namespace lifeboat
