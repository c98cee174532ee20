#include "src/kube/impersonation.h"

#include <cctype>

namespace lifeboat::kube {
namespace {

// Extra keys go into header names, so kube percent-encodes every byte outside the unreserved
// set (and header names are case-insensitive: keys are lower-cased first, as client-go does).
std::string EscapeExtraKey(const std::string& key) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : key) {
    c = static_cast<unsigned char>(std::tolower(c));
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

}  // namespace

std::vector<std::pair<std::string, std::string>> ImpersonationHeaders(
    const RestConfig::Impersonation& as) {
  std::vector<std::pair<std::string, std::string>> h;
  if (as.user.empty()) return h;
  h.emplace_back("Impersonate-User", as.user);
  if (!as.uid.empty()) h.emplace_back("Impersonate-Uid", as.uid);
  for (const std::string& g : as.groups) h.emplace_back("Impersonate-Group", g);
  for (const auto& [key, values] : as.extra) {
    for (const std::string& v : values) h.emplace_back("Impersonate-Extra-" + EscapeExtraKey(key), v);
  }
  return h;
}

}  // namespace lifeboat::kube
