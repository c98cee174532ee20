#pragma once

// absl::StrCat for std::string_view arguments: Debian's abseil has its own string_view type
// (absl::string_view != std::string_view), so views are converted here. Private to `archive`.

#include <string>
#include <string_view>
#include <type_traits>

#include "absl/strings/str_cat.h"

namespace lifeboat::archive {

inline absl::string_view Sv(std::string_view s) { return absl::string_view(s.data(), s.size()); }

namespace internal {
template <typename T>
decltype(auto) AlphaArg(const T& value) {
  if constexpr (!std::is_arithmetic_v<T> && std::is_convertible_v<const T&, std::string_view>) {
    return Sv(std::string_view(value));
  } else {
    return (value);
  }
}
}  // namespace internal

template <typename... Args>
std::string Cat(const Args&... args) {
  return absl::StrCat(internal::AlphaArg(args)...);
}

}  // namespace lifeboat::archive
