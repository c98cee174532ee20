#include "lifeboat/api/duration.h"

#include <cstdint>
#include <optional>
#include <utility>

namespace lifeboat::api {
namespace {

constexpr uint64_t kMaxAbs = uint64_t{1} << 63;

Status Invalid(std::string_view orig) {
  return absl::InvalidArgumentError("time: invalid duration \"" + std::string(orig) + "\"");
}

std::optional<uint64_t> UnitNanos(std::string_view u) {
  if (u == "ns") return 1;
  if (u == "us" || u == "\xC2\xB5s" || u == "\xCE\xBCs") return 1000;
  if (u == "ms") return 1000'000;
  if (u == "s") return 1000'000'000;
  if (u == "m") return uint64_t{60} * 1000'000'000;
  if (u == "h") return uint64_t{3600} * 1000'000'000;
  return std::nullopt;
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Go's leadingInt: false on overflow.
bool LeadingInt(std::string_view& s, uint64_t* x) {
  size_t i = 0;
  *x = 0;
  for (; i < s.size() && IsDigit(s[i]); ++i) {
    if (*x > kMaxAbs / 10) return false;
    *x = *x * 10 + static_cast<uint64_t>(s[i] - '0');
    if (*x > kMaxAbs) return false;
  }
  s.remove_prefix(i);
  return true;
}

// Go's leadingFraction: digits past the precision of uint64 are dropped.
void LeadingFraction(std::string_view& s, uint64_t* x, double* scale) {
  size_t i = 0;
  *x = 0;
  *scale = 1;
  bool overflow = false;
  for (; i < s.size() && IsDigit(s[i]); ++i) {
    if (overflow) continue;
    if (*x > (kMaxAbs - 1) / 10) {
      overflow = true;
      continue;
    }
    uint64_t y = *x * 10 + static_cast<uint64_t>(s[i] - '0');
    if (y > kMaxAbs) {
      overflow = true;
      continue;
    }
    *x = y;
    *scale *= 10;
  }
  s.remove_prefix(i);
}

// Writes the fraction v/10^prec into the front of `out` (built backwards), omitting trailing
// zeros and the point when the fraction is zero; returns v/10^prec.
uint64_t FmtFrac(std::string& out, uint64_t v, int prec) {
  bool print = false;
  std::string digits;
  for (int i = 0; i < prec; ++i) {
    uint64_t digit = v % 10;
    print = print || digit != 0;
    if (print) digits.insert(digits.begin(), static_cast<char>('0' + digit));
    v /= 10;
  }
  if (print) out.insert(0, "." + digits);
  return v;
}

void FmtInt(std::string& out, uint64_t v) { out.insert(0, std::to_string(v)); }

}  // namespace

StatusOr<Duration> ParseGoDuration(std::string_view text) {
  const std::string_view orig = text;
  std::string_view s = text;
  bool neg = false;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    neg = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s == "0") return Duration(0);
  if (s.empty()) return Invalid(orig);
  uint64_t total = 0;
  while (!s.empty()) {
    if (!(s[0] == '.' || IsDigit(s[0]))) return Invalid(orig);
    size_t before = s.size();
    uint64_t v = 0;
    if (!LeadingInt(s, &v)) return Invalid(orig);
    bool pre = before != s.size();
    uint64_t f = 0;
    double scale = 1;
    bool post = false;
    if (!s.empty() && s[0] == '.') {
      s.remove_prefix(1);
      size_t b = s.size();
      LeadingFraction(s, &f, &scale);
      post = b != s.size();
    }
    if (!pre && !post) return Invalid(orig);
    size_t i = 0;
    while (i < s.size() && s[i] != '.' && !IsDigit(s[i])) ++i;
    if (i == 0) {
      return absl::InvalidArgumentError("time: missing unit in duration \"" + std::string(orig) +
                                        "\"");
    }
    std::string_view unit_text = s.substr(0, i);
    s.remove_prefix(i);
    std::optional<uint64_t> unit = UnitNanos(unit_text);
    if (!unit) {
      return absl::InvalidArgumentError("time: unknown unit \"" + std::string(unit_text) +
                                        "\" in duration \"" + std::string(orig) + "\"");
    }
    if (v > kMaxAbs / *unit) return Invalid(orig);
    v *= *unit;
    if (f > 0) {
      v += static_cast<uint64_t>(static_cast<double>(f) * (static_cast<double>(*unit) / scale));
      if (v > kMaxAbs) return Invalid(orig);
    }
    total += v;
    if (total > kMaxAbs) return Invalid(orig);
  }
  if (neg) return Duration(static_cast<int64_t>(0 - total));
  if (total > kMaxAbs - 1) return Invalid(orig);
  return Duration(static_cast<int64_t>(total));
}

std::string FormatGoDuration(Duration d) {
  const int64_t n = d.count();
  const bool neg = n < 0;
  uint64_t u = neg ? 0 - static_cast<uint64_t>(n) : static_cast<uint64_t>(n);
  std::string out;
  if (u < 1000'000'000) {
    if (u == 0) return "0s";
    int prec = 0;
    if (u < 1000) {
      out = "ns";
    } else if (u < 1000'000) {
      prec = 3;
      out = "\xC2\xB5s";
    } else {
      prec = 6;
      out = "ms";
    }
    u = FmtFrac(out, u, prec);
    FmtInt(out, u);
  } else {
    out = "s";
    u = FmtFrac(out, u, 9);
    FmtInt(out, u % 60);
    u /= 60;
    if (u > 0) {
      out.insert(0, "m");
      FmtInt(out, u % 60);
      u /= 60;
      if (u > 0) {
        out.insert(0, "h");
        FmtInt(out, u);
      }
    }
  }
  if (neg) out.insert(0, "-");
  return out;
}

}  // namespace lifeboat::api
