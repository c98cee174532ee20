#pragma once

// Finds a list page's metadata.continue while the page is still streaming in. The API server
// writes kind, apiVersion and metadata before items, so the token is known long before the page
// is parsed; the pager uses it to request the next page while this one is still arriving
// (src/kube/pager.cc).

#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace lifeboat::kube {

class ContinueScanner {
 public:
  ContinueScanner();
  ~ContinueScanner();
  // Feeds the next chunk of the page. Returns, once, the continue token as soon as the top-level
  // "items" key is reached after "metadata" ("" when the page has none: the last page). Returns
  // nullopt before that, afterwards, and when the order is not kube's (then the token is only
  // known from the whole page).
  std::optional<std::string> Feed(std::string_view chunk);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace lifeboat::kube
