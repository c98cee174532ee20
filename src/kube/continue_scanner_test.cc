#include "src/kube/continue_scanner.h"

#include "gtest/gtest.h"

namespace lifeboat::kube {
namespace {

// Feeds `text` in chunks of `n` bytes; returns what the scanner reported (and how often).
std::pair<std::optional<std::string>, int> Scan(const std::string& text, size_t n) {
  ContinueScanner s;
  std::optional<std::string> got;
  int reports = 0;
  for (size_t i = 0; i < text.size(); i += n) {
    if (auto t = s.Feed(std::string_view(text).substr(i, n))) {
      got = t;
      ++reports;
    }
  }
  return {got, reports};
}

TEST(ContinueScannerTest, FindsTheTokenBeforeTheItemsWhateverTheChunking) {
  const std::string page =
      R"({"kind":"ConfigMapList","apiVersion":"v1","metadata":{"resourceVersion":"7",)"
      R"("continue":"eyJ2Ijoi\"x\"","remainingItemCount":3},"items":[{"metadata":{"continue":"no"}}]})";
  for (size_t n : {1, 2, 3, 7, 64, 4096}) {
    auto [token, reports] = Scan(page, n);
    ASSERT_TRUE(token.has_value()) << n;
    EXPECT_EQ(*token, "eyJ2Ijoi\"x\"") << n;
    EXPECT_EQ(reports, 1);
  }
  // Reported before the items have arrived.
  ContinueScanner s;
  EXPECT_EQ(s.Feed(page.substr(0, page.find("[{"))), std::optional<std::string>("eyJ2Ijoi\"x\""));
}

TEST(ContinueScannerTest, LastPageAndUnusualOrder) {
  EXPECT_EQ(Scan(R"({"metadata":{"resourceVersion":"7"},"items":[]})", 5).first,
            std::optional<std::string>(""));
  // Items first: unknown until the end, so nothing is reported.
  EXPECT_FALSE(Scan(R"({"items":[],"metadata":{"continue":"t"}})", 4).first.has_value());
  // Nested "continue" keys elsewhere are not the list's.
  EXPECT_EQ(Scan(R"({"kind":"X","spec":{"continue":"no"},"metadata":{},"items":[]})", 3).first,
            std::optional<std::string>(""));
  EXPECT_FALSE(Scan("not json", 2).first.has_value());
}

}  // namespace
}  // namespace lifeboat::kube
