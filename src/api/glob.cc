// Glob matching with gobwas/glob's syntax and Velero's wildcard validation.

#include <optional>
#include <string>
#include <vector>

#include "lifeboat/api/filters.h"

namespace lifeboat::api {
namespace {

// Length of the UTF-8 rune starting at s[0] (1 for invalid bytes).
size_t RuneLen(std::string_view s) {
  unsigned char c = static_cast<unsigned char>(s[0]);
  size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 1;
  return n <= s.size() ? n : 1;
}

// Index just past the `]` closing the class that starts at p[0] == '[', or npos.
size_t ClassEnd(std::string_view p) {
  size_t i = 1;
  if (i < p.size() && p[i] == '!') ++i;
  for (; i < p.size(); ++i) {
    if (p[i] == '\\') {
      ++i;
      continue;
    }
    if (p[i] == ']') return i + 1;
  }
  return std::string_view::npos;
}

// Index just past the `}` closing the group at p[0] == '{', and its top-level alternatives.
size_t GroupEnd(std::string_view p, std::vector<std::string_view>* alts) {
  int depth = 0;
  size_t start = 1;
  for (size_t i = 0; i < p.size(); ++i) {
    char c = p[i];
    if (c == '\\') {
      ++i;
    } else if (c == '[') {
      size_t e = ClassEnd(p.substr(i));
      if (e == std::string_view::npos) return e;
      i += e - 1;
    } else if (c == '{') {
      ++depth;
    } else if (c == '}') {
      if (--depth == 0) {
        alts->push_back(p.substr(start, i - start));
        return i + 1;
      }
    } else if (c == ',' && depth == 1) {
      alts->push_back(p.substr(start, i - start));
      start = i + 1;
    }
  }
  return std::string_view::npos;
}

bool ClassMatches(std::string_view cls, std::string_view rune) {
  bool negate = !cls.empty() && cls[0] == '!';
  if (negate) cls.remove_prefix(1);
  bool hit = false;
  while (!cls.empty()) {
    if (cls[0] == '\\' && cls.size() > 1) cls.remove_prefix(1);
    size_t n = RuneLen(cls);
    std::string_view lo = cls.substr(0, n);
    cls.remove_prefix(n);
    if (cls.size() >= 2 && cls[0] == '-') {
      cls.remove_prefix(1);
      size_t m = RuneLen(cls);
      std::string_view hi = cls.substr(0, m);
      cls.remove_prefix(m);
      if (rune >= lo && rune <= hi && rune.size() == lo.size()) hit = true;
    } else if (rune == lo) {
      hit = true;
    }
  }
  return hit != negate;
}

// -1: invalid pattern, 0: no match, 1: match.
int Match(std::string_view p, std::string_view s) {
  while (!p.empty()) {
    char c = p[0];
    if (c == '*') {
      while (!p.empty() && p[0] == '*') p.remove_prefix(1);
      for (size_t i = 0;; i += RuneLen(s.substr(i))) {
        int r = Match(p, s.substr(i));
        if (r != 0) return r;
        if (i >= s.size()) return 0;
      }
    }
    if (c == '{') {
      std::vector<std::string_view> alts;
      size_t end = GroupEnd(p, &alts);
      if (end == std::string_view::npos) return -1;
      std::string_view rest = p.substr(end);
      int result = 0;
      for (std::string_view alt : alts) {
        int r = Match(std::string(alt) + std::string(rest), s);
        if (r < 0) return r;
        if (r == 1) result = 1;
      }
      return result;
    }
    if (s.empty()) {
      // Still validate the remaining pattern so that invalid patterns never match.
      if (c == '[' && ClassEnd(p) == std::string_view::npos) return -1;
      return 0;
    }
    size_t n = RuneLen(s);
    if (c == '?') {
      p.remove_prefix(1);
    } else if (c == '[') {
      size_t end = ClassEnd(p);
      if (end == std::string_view::npos) return -1;
      if (!ClassMatches(p.substr(1, end - 2), s.substr(0, n))) return 0;
      p.remove_prefix(end);
    } else {
      if (c == '\\' && p.size() > 1) p.remove_prefix(1);
      size_t m = RuneLen(p);
      if (p.substr(0, m) != s.substr(0, n)) return 0;
      p.remove_prefix(m);
    }
    s.remove_prefix(n);
  }
  return s.empty() ? 1 : 0;
}

}  // namespace

bool GlobMatch(std::string_view pattern, std::string_view text) {
  return Match(pattern, text) == 1;
}

bool ContainsWildcard(std::string_view pattern) {
  return pattern.find_first_of("*?[{") != std::string_view::npos;
}

std::optional<std::string> ValidateWildcardPattern(std::string_view pattern) {
  if (pattern.find_first_of("|()!{},") != std::string_view::npos) {
    return "wildcard pattern contains unsupported characters: |, (, ), !, {, }, ,";
  }
  if (pattern.find("**") != std::string_view::npos) {
    return "wildcard pattern contains consecutive asterisks (only single * allowed)";
  }
  for (size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] == '[') {
      size_t close = pattern.find(']', i + 1);
      if (close == std::string_view::npos) {
        return "wildcard pattern contains unclosed bracket '['";
      }
      if (close == i + 1) return "wildcard pattern contains empty bracket pattern '[]'";
      i = close;
    } else if (pattern[i] == ']') {
      return "wildcard pattern contains unmatched closing bracket ']'";
    }
  }
  return std::nullopt;
}

}  // namespace lifeboat::api
