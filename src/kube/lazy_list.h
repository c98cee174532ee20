#pragma once

// DynamicClient::ListLazy in two steps, so that the pager (pager.cc) can fetch the next page's
// body on its thread while the previous body is parsed on another: a lazy page is parsed only
// once whole (simdjson), unlike a DOM page, which is parsed as it streams in.

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "lifeboat/common/json_tape.h"
#include "lifeboat/kube/dynamic_client.h"

namespace lifeboat::kube {

struct RawListPage {
  std::string what;                            // "list configmaps ns1", for errors
  std::unique_ptr<JsonTapeBuilder> body;       // gathered, not parsed yet
  std::optional<std::string> continue_token;   // when found while streaming ("" on the last page)
  bool raw_items = false;                      // ListOptions::raw_items
  size_t bytes = 0;                            // the body's size
};

// The request and the body (transport errors, size limits); options.on_continue is called too.
StatusOr<RawListPage> FetchListPage(DynamicClient& client, const GroupVersionResource& gvr,
                                    std::string_view ns, const ListOptions& options);
// The parse and the page (invalid JSON, a body that is not a list).
StatusOr<LazyPage> ParseListPage(RawListPage raw);

}  // namespace lifeboat::kube
