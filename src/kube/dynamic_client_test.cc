#include "lifeboat/kube/dynamic_client.h"

#include <algorithm>
#include <map>
#include <optional>
#include <set>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "absl/strings/str_format.h"
#include "lifeboat/common/json.h"
#include "lifeboat/kube/object.h"
#include "src/kube/testing/fake_rest_client.h"

namespace lifeboat::kube {
namespace {

using ::lifeboat::kube::testing::AddDiscovery;
using ::lifeboat::kube::testing::FakeRestClient;
using ::testing::HasSubstr;
using ::testing::Optional;

const GroupVersionResource kConfigMaps{"", "v1", "configmaps"};
const GroupVersionResource kDeployments{"apps", "v1", "deployments"};
const GroupVersionResource kNamespaces{"", "v1", "namespaces"};
const GroupVersionResource kPods{"", "v1", "pods"};

boost::json::value Obj(std::string_view text) { return *ParseJson(text); }

boost::json::value ConfigMap(std::string ns, std::string name, int rv) {
  boost::json::object o;
  o["metadata"] = {{"name", boost::json::string(name)},
                   {"namespace", boost::json::string(ns)},
                   {"resourceVersion", boost::json::string(std::to_string(rv))}};
  return o;
}

class DynamicClientTest : public ::testing::Test {
 protected:
  DynamicClientTest() : discovery_(&fake_), client_(&fake_, &discovery_) { AddDiscovery(fake_); }
  // Answers every request to `path` with `body` and returns the recorded requests later.
  void Serve(const std::string& method, const std::string& path, std::string body = R"({"kind":"X"})") {
    fake_.OnJson(method, path, std::move(body));
  }
  FakeRestClient::Recorded Last() { return fake_.requests().back(); }

  FakeRestClient fake_;
  Discovery discovery_;
  DynamicClient client_;
};

TEST_F(DynamicClientTest, PathsFollowDiscovery) {
  EXPECT_EQ(*client_.ResourcePath(kConfigMaps, "ns1", "cm1"), "/api/v1/namespaces/ns1/configmaps/cm1");
  EXPECT_EQ(*client_.ResourcePath(kConfigMaps, ""), "/api/v1/configmaps");  // all namespaces
  EXPECT_EQ(*client_.ResourcePath(kDeployments, "ns1", "d", "scale"),
            "/apis/apps/v1/namespaces/ns1/deployments/d/scale");
  EXPECT_EQ(*client_.ResourcePath(kNamespaces, "", "kube-system"), "/api/v1/namespaces/kube-system");
  EXPECT_EQ(client_.ResourcePath(kNamespaces, "ns1", "x").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(client_.ResourcePath(kConfigMaps, "ns1", "x", "scale").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(client_.ResourcePath({"apps", "v1", "widgets"}, "ns1").status().code(), absl::StatusCode::kNotFound);
  // A name cannot leave its path segment.
  EXPECT_EQ(*client_.ResourcePath(kConfigMaps, "ns1", "a/../b c"), "/api/v1/namespaces/ns1/configmaps/a%2F..%2Fb%20c");
  // Without discovery: namespaced iff a namespace is given.
  DynamicClient bare(&fake_, nullptr);
  EXPECT_EQ(*bare.ResourcePath({"example.com", "v1", "widgets"}, "ns1", "w"),
            "/apis/example.com/v1/namespaces/ns1/widgets/w");
}

TEST_F(DynamicClientTest, GetAndErrors) {
  Serve("GET", "/api/v1/namespaces/ns1/configmaps/cm1", R"({"kind":"ConfigMap","metadata":{"name":"cm1"}})");
  auto got = client_.Get(kConfigMaps, "ns1", "cm1", {.resource_version = "0"});
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(ObjectName(*got), "cm1");
  EXPECT_THAT(Last().Query("resourceVersion"), Optional(std::string("0")));
  auto missing = client_.Get(kConfigMaps, "ns1", "nope");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(missing.status().message()), HasSubstr("get configmaps.v1 ns1/nope"));
}

TEST_F(DynamicClientTest, CreateUpdateAndStatusWithWriteOptions) {
  Serve("POST", "/api/v1/namespaces/ns1/configmaps");
  auto cm = ConfigMap("ns1", "cm1", 5);
  WriteOptions w{.dry_run = true, .field_manager = "lifeboat", .field_validation = "Strict"};
  ASSERT_TRUE(client_.Create(kConfigMaps, "", cm, w).ok());
  auto r = Last();
  EXPECT_EQ(r.content_type, "application/json");
  EXPECT_EQ(*ParseJson(r.body), cm);
  EXPECT_THAT(r.Query("dryRun"), Optional(std::string("All")));
  EXPECT_THAT(r.Query("fieldManager"), Optional(std::string("lifeboat")));
  EXPECT_THAT(r.Query("fieldValidation"), Optional(std::string("Strict")));

  Serve("PUT", "/api/v1/namespaces/ns1/configmaps/cm1");
  ASSERT_TRUE(client_.Update(kConfigMaps, "", cm).ok());
  EXPECT_FALSE(Last().Query("dryRun"));
  Serve("PUT", "/apis/apps/v1/namespaces/ns1/deployments/d1/status");
  ASSERT_TRUE(client_.UpdateStatus(kDeployments, "ns1", Obj(R"({"metadata":{"name":"d1"}})")).ok());
  Serve("PUT", "/apis/apps/v1/namespaces/ns1/deployments/d1/scale");
  ASSERT_TRUE(client_.UpdateSubresource(kDeployments, "ns1", "d1", "scale", Obj(R"({"spec":{"replicas":3}})")).ok());
  Serve("GET", "/apis/apps/v1/namespaces/ns1/deployments/d1/scale", R"({"kind":"Scale"})");
  auto scale = client_.GetSubresource(kDeployments, "ns1", "d1", "scale");
  ASSERT_TRUE(scale.ok());
  EXPECT_EQ(ObjectKind(*scale), "Scale");
  // Nameless objects are refused before anything is sent.
  EXPECT_EQ(client_.Update(kConfigMaps, "ns1", Obj("{}")).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(DynamicClientTest, PatchTypes) {
  Serve("PATCH", "/apis/apps/v1/namespaces/ns1/deployments/d1");
  struct Case {
    PatchType type;
    std::string content_type;
  };
  for (const Case& c : {Case{PatchType::kMerge, "application/merge-patch+json"},
                        Case{PatchType::kJson, "application/json-patch+json"},
                        Case{PatchType::kStrategicMerge, "application/strategic-merge-patch+json"},
                        Case{PatchType::kApply, "application/apply-patch+yaml"}}) {
    PatchOptions o{.field_manager = "lb", .force = true};
    ASSERT_TRUE(client_.Patch(kDeployments, "ns1", "d1", c.type, R"({"a":1})", o).ok());
    auto r = Last();
    EXPECT_EQ(r.content_type, c.content_type);
    EXPECT_EQ(r.body, R"({"a":1})");
    EXPECT_THAT(r.Query("fieldManager"), Optional(std::string("lb")));
    EXPECT_EQ(r.Query("force").has_value(), c.type == PatchType::kApply);
  }
  EXPECT_EQ(client_.Patch(kDeployments, "ns1", "d1", PatchType::kApply, "{}").status().code(),
            absl::StatusCode::kInvalidArgument);
  Serve("PATCH", "/api/v1/namespaces/ns1/pods/p1/status");
  ASSERT_TRUE(client_.Patch(kPods, "ns1", "p1", PatchType::kMerge, "{}", {.dry_run = true}, "status").ok());
  EXPECT_THAT(Last().Query("dryRun"), Optional(std::string("All")));
}

TEST_F(DynamicClientTest, DeleteOptionsGoInTheBody) {
  Serve("DELETE", "/api/v1/namespaces/ns1/configmaps/cm1", R"({"kind":"Status","status":"Success"})");
  DeleteOptions d{.propagation_policy = "Foreground",
                  .precondition_uid = "u-1",
                  .precondition_resource_version = "42",
                  .grace_period_seconds = 0,
                  .dry_run = true};
  ASSERT_TRUE(client_.Delete(kConfigMaps, "ns1", "cm1", d).ok());
  auto r = Last();
  EXPECT_EQ(*ParseJson(r.body), Obj(R"({"kind":"DeleteOptions","apiVersion":"v1",
      "propagationPolicy":"Foreground","preconditions":{"uid":"u-1","resourceVersion":"42"},
      "gracePeriodSeconds":0,"dryRun":["All"]})"));
  EXPECT_THAT(r.Query("dryRun"), Optional(std::string("All")));

  Serve("DELETE", "/api/v1/namespaces/ns1/configmaps", R"({"kind":"ConfigMapList","items":[]})");
  ASSERT_TRUE(client_.DeleteCollection(kConfigMaps, "ns1", {}, {.label_selector = "app=x"}).ok());
  r = Last();
  EXPECT_THAT(r.Query("labelSelector"), Optional(std::string("app=x")));
  EXPECT_EQ(*ParseJson(r.body), Obj(R"({"kind":"DeleteOptions","apiVersion":"v1"})"));
}

TEST_F(DynamicClientTest, ListPageFillsItemTypes) {
  Serve("GET", "/apis/apps/v1/deployments", R"({"kind":"DeploymentList","apiVersion":"apps/v1",
    "metadata":{"resourceVersion":"77","continue":"c1","remainingItemCount":3},
    "items":[{"metadata":{"name":"a","namespace":"x"}},{"kind":"Deployment","apiVersion":"apps/v1","metadata":{"name":"b"}}]})");
  auto page = client_.List(kDeployments, "", {.label_selector = "a=b", .field_selector = "metadata.name=a",
                                              .limit = 2, .continue_token = "c0"});
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_EQ(page->resource_version, "77");
  EXPECT_EQ(page->continue_token, "c1");
  EXPECT_THAT(page->remaining_item_count, Optional(3));
  ASSERT_EQ(page->items.size(), 2u);
  EXPECT_EQ(ObjectKind(page->items[0]), "Deployment");
  EXPECT_EQ(ObjectApiVersion(page->items[0]), "apps/v1");
  auto r = Last();
  EXPECT_THAT(r.Query("limit"), Optional(std::string("2")));
  EXPECT_THAT(r.Query("continue"), Optional(std::string("c0")));
  EXPECT_THAT(r.Query("labelSelector"), Optional(std::string("a=b")));
  EXPECT_THAT(r.Query("fieldSelector"), Optional(std::string("metadata.name=a")));
}

TEST_F(DynamicClientTest, LazyPageReadsItemsInPlaceAndAgreesWithTheDomPage) {
  const std::string body = R"({"kind":"DeploymentList","apiVersion":"apps/v1",
    "metadata":{"resourceVersion":"77","continue":"c1","remainingItemCount":3},
    "items":[{"metadata":{"name":"a","namespace":"x","uid":"u-1","resourceVersion":"5",
                          "labels":{"app":"web"},"annotations":{"note":"<&>"}},
              "spec":{"replicas":2,"ratio":0.5,"paused":false,"selector":null}},
             {"kind":"Deployment","apiVersion":"apps/v1","metadata":{"name":"b"}},
             {"metadata":{"name":"c"},"kind":7}]})";
  Serve("GET", "/apis/apps/v1/deployments", body);
  auto dom = client_.List(kDeployments, "", {.limit = 2});
  auto lazy = client_.ListLazy(kDeployments, "", {.label_selector = "a=b", .limit = 2, .continue_token = "c0"});
  ASSERT_TRUE(dom.ok()) << dom.status();
  ASSERT_TRUE(lazy.ok()) << lazy.status();
  EXPECT_EQ(lazy->resource_version, "77");
  EXPECT_EQ(lazy->continue_token, "c1");
  EXPECT_THAT(lazy->remaining_item_count, Optional(3));
  EXPECT_EQ(lazy->kind, "DeploymentList");
  EXPECT_EQ(lazy->api_version, "apps/v1");
  ASSERT_EQ(lazy->items.size(), 3u);
  const LazyItem& a = lazy->items[0];
  EXPECT_EQ(a.Name(), "a");
  EXPECT_EQ(a.Namespace(), "x");
  EXPECT_EQ(a.Uid(), "u-1");
  EXPECT_EQ(a.ResourceVersion(), "5");
  EXPECT_EQ(a.Kind(), "Deployment");  // filled in from the list
  EXPECT_EQ(a.ApiVersion(), "apps/v1");
  EXPECT_EQ(a.Labels().Find("app").String(), "web");
  EXPECT_EQ(a.Annotations().Find("note").String(), "<&>");
  EXPECT_EQ(lazy->items[1].Namespace(), "");
  EXPECT_EQ(lazy->items[2].Kind(), "");  // an item's own kind wins, even a malformed one
  // The same objects as the DOM page, fill included, and the same Go form.
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(lazy->items[i].Json(), dom->items[i]) << i;
    EXPECT_EQ(lazy->items[i].Canonical(), CanonicalJson(dom->items[i])) << i;
  }
  auto r = Last();
  EXPECT_THAT(r.Query("limit"), Optional(std::string("2")));
  EXPECT_THAT(r.Query("continue"), Optional(std::string("c0")));
  EXPECT_THAT(r.Query("labelSelector"), Optional(std::string("a=b")));
  // The page owns the tape: items stay valid after the page is moved.
  LazyPage moved = std::move(*lazy);
  EXPECT_EQ(moved.items[0].Name(), "a");
  EXPECT_EQ(moved.items[0].Kind(), "Deployment");
}

TEST_F(DynamicClientTest, RawItemsAreTheServersBytesWithTheListsKindPutFirst) {
  const std::string body = R"({"kind":"DeploymentList","apiVersion":"apps/v1","metadata":{},
    "items":[{"metadata":{"name":"a"},"spec":{"replicas":2,"ratio":1.50,"z":"\u003c&"}} ,
             {"kind":"Deployment","apiVersion":"apps/v1","metadata":{"name":"b"}},
             {"apiVersion":"apps/v1beta1","metadata":{"name":"c"}},
             {  },
             {
               "metadata": {"name": "e"}
             }]})";
  Serve("GET", "/apis/apps/v1/deployments", body);
  auto dom = client_.List(kDeployments, "");
  auto plain = client_.ListLazy(kDeployments, "");
  auto raw = client_.ListLazy(kDeployments, "", {.raw_items = true});
  ASSERT_TRUE(dom.ok()) << dom.status();
  ASSERT_TRUE(plain.ok()) << plain.status();
  ASSERT_TRUE(raw.ok()) << raw.status();
  ASSERT_EQ(raw->items.size(), 5u);
  EXPECT_EQ(raw->items[0].Raw(), R"({"metadata":{"name":"a"},"spec":{"replicas":2,"ratio":1.50,"z":"\u003c&"}})");
  const std::vector<std::string> want = {
      R"({"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"a"},"spec":{"replicas":2,"ratio":1.50,"z":"\u003c&"}})",
      R"({"kind":"Deployment","apiVersion":"apps/v1","metadata":{"name":"b"}})",
      R"({"kind":"Deployment","apiVersion":"apps/v1beta1","metadata":{"name":"c"}})",
      R"({"apiVersion":"apps/v1","kind":"Deployment"  })",
      "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\n               \"metadata\": {\"name\": \"e\"}\n             }",
  };
  for (size_t i = 0; i < want.size(); ++i) {
    SCOPED_TRACE(i);
    std::string served;
    raw->items[i].AppendAsServed(served);
    EXPECT_EQ(served, want[i]);
    std::string scratch;
    const LazyItem::Pieces pieces = raw->items[i].AsServed(scratch);
    EXPECT_EQ(std::string(pieces.head) + std::string(pieces.body), want[i]);
    EXPECT_EQ(pieces.body.data() + pieces.body.size(),
              raw->items[i].Raw().data() + raw->items[i].Raw().size());  // not copied
    // The same value as the DOM page's item.
    auto parsed = ParseJson(served);
    ASSERT_TRUE(parsed.ok()) << parsed.status();
    EXPECT_EQ(CanonicalJson(*parsed), CanonicalJson(dom->items[i]));
    // Without raw_items the page has no text: Go's form.
    EXPECT_EQ(plain->items[i].Raw(), "");
    EXPECT_TRUE(plain->items[i].AsServed(scratch).body.empty());
    std::string canonical;
    plain->items[i].AppendAsServed(canonical);
    EXPECT_EQ(canonical, CanonicalJson(dom->items[i]));
  }
}

TEST_F(DynamicClientTest, LazyListErrorsAreTheDomListsErrors) {
  Serve("GET", "/api/v1/configmaps", R"({"kind":"ConfigMapList","items":{"a":1}})");
  EXPECT_EQ(client_.ListLazy(kConfigMaps, "").status().code(), absl::StatusCode::kDataLoss);
  Serve("GET", "/api/v1/configmaps", R"([1,2])");
  EXPECT_EQ(client_.ListLazy(kConfigMaps, "").status().code(), absl::StatusCode::kDataLoss);
  Serve("GET", "/api/v1/configmaps", R"({"kind":"ConfigMapList","items":[{"metadata":)");
  auto truncated = client_.ListLazy(kConfigMaps, "");
  EXPECT_EQ(truncated.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(truncated.status().message()), HasSubstr("invalid JSON"));
  Serve("GET", "/api/v1/configmaps", R"({"kind":"ConfigMapList","metadata":{},"items":null})");
  auto empty = client_.ListLazy(kConfigMaps, "");
  ASSERT_TRUE(empty.ok()) << empty.status();
  EXPECT_TRUE(empty->items.empty());
}

TEST_F(DynamicClientTest, ListPageItemsShareACountedArenaUnlessPageScoped) {
  Serve("GET", "/api/v1/configmaps", R"({"kind":"ConfigMapList","apiVersion":"v1","metadata":{},
    "items":[{"metadata":{"name":"a","namespace":"x"},"data":{"k":"v"}}]})");
  std::optional<boost::json::value> kept;
  {
    auto page = client_.List(kConfigMaps, "");
    ASSERT_TRUE(page.ok()) << page.status();
    EXPECT_EQ(page->arena, nullptr);
    EXPECT_TRUE(page->items[0].storage().is_shared());
    kept.emplace(std::move(page->items[0]));
  }
  // The page is gone; the item holds its arena by reference count.
  EXPECT_EQ(ObjectName(*kept), "a");
  EXPECT_EQ(JsonString(*kept, {"data", "k"}), "v");

  auto scoped = client_.List(kConfigMaps, "", {.page_scoped = true});
  ASSERT_TRUE(scoped.ok()) << scoped.status();
  ASSERT_NE(scoped->arena, nullptr);
  const boost::json::value& item = scoped->items[0];
  EXPECT_FALSE(item.storage().is_shared());
  EXPECT_TRUE(item.storage().is_deallocate_trivial());
  EXPECT_EQ(ObjectKind(item), "ConfigMap");  // filled in the arena too
  EXPECT_EQ(ObjectApiVersion(item), "v1");
  // A deep copy is independent of the arena.
  boost::json::value copy(item, boost::json::storage_ptr());
  scoped = absl::UnavailableError("page dropped");
  EXPECT_EQ(ObjectName(copy), "a");
  EXPECT_EQ(ObjectKind(copy), "ConfigMap");
}

// ---------------------------------------------------------------------------------------------
// Pager.

// A paged list endpoint over `items`; continue tokens are "<generation>:<offset>" and tokens of
// an older generation expire (410) once `Compact()` was called.
class FakeListServer {
 public:
  FakeListServer(FakeRestClient& fake, std::string path) {
    fake.On("GET", path, [this](const RestRequest& r) { return Serve(r); });
  }
  // Keeps the list in key order (namespace, name), as etcd-backed API servers list.
  void Add(boost::json::value item) {
    std::lock_guard<std::mutex> lock(mu_);
    auto key = [](const boost::json::value& v) {
      return std::pair(std::string(ObjectNamespace(v)), std::string(ObjectName(v)));
    };
    auto pos = std::upper_bound(items_.begin(), items_.end(), item,
                                [&](const auto& a, const auto& b) { return key(a) < key(b); });
    items_.insert(pos, std::move(item));
    ++rv_;
  }
  // Appends regardless of order (a server that does not list in key order).
  void Append(boost::json::value item) {
    std::lock_guard<std::mutex> lock(mu_);
    items_.push_back(std::move(item));
    ++rv_;
  }
  void Compact() {
    std::lock_guard<std::mutex> lock(mu_);
    ++generation_;
  }
  // Compacts when the page at `offset` is requested (once).
  void CompactBeforeOffset(size_t offset) { compact_at_ = offset; }

 private:
  StatusOr<RestResponse> Serve(const RestRequest& r) {
    std::lock_guard<std::mutex> lock(mu_);
    size_t limit = items_.size(), offset = 0;
    for (const auto& [k, v] : r.query) {
      if (k == "limit") limit = std::stoul(v);
      if (k == "continue") {
        auto colon = v.find(':');
        if (std::stoi(v.substr(0, colon)) != generation_) {
          return FakeRestClient::Error(410, "Expired", "The provided continue parameter is too old");
        }
        offset = std::stoul(v.substr(colon + 1));
      }
    }
    if (compact_at_ && *compact_at_ == offset) {
      compact_at_.reset();
      ++generation_;
      return FakeRestClient::Error(410, "Expired", "The provided continue parameter is too old");
    }
    boost::json::object list{{"kind", "ConfigMapList"}, {"apiVersion", "v1"}};
    boost::json::array page;
    for (size_t i = offset; i < items_.size() && i < offset + limit; ++i) page.push_back(items_[i]);
    boost::json::object md{{"resourceVersion", std::to_string(rv_)}};
    if (offset + limit < items_.size()) {
      md["continue"] = boost::json::string(std::to_string(generation_) + ":" + std::to_string(offset + limit));
    }
    list["metadata"] = std::move(md);
    list["items"] = std::move(page);
    return FakeRestClient::Json(boost::json::serialize(list));
  }

  std::mutex mu_;
  std::vector<boost::json::value> items_;
  int rv_ = 100;
  int generation_ = 0;
  std::optional<size_t> compact_at_;
};

class PagerTest : public DynamicClientTest {
 protected:
  PagerTest() : server_(fake_, "/api/v1/namespaces/ns1/configmaps") {
    // Zero-padded names: the API server lists in key order, and so does the fake.
    for (int i = 0; i < 1234; ++i) server_.Add(ConfigMap("ns1", absl::StrFormat("cm-%04d", i), i));
  }
  FakeListServer server_;
};

TEST_F(PagerTest, StreamsPagesOfTheRequestedSize) {
  std::vector<size_t> page_sizes;
  std::vector<std::string> names;
  auto result = ListAllPages(client_, kConfigMaps, "ns1", {}, [&](boost::json::array& items) {
    page_sizes.push_back(items.size());
    for (auto& i : items) names.emplace_back(ObjectName(i));
    return absl::OkStatus();
  });
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_THAT(page_sizes, ::testing::ElementsAre(500, 500, 234));
  ASSERT_EQ(names.size(), 1234u);
  EXPECT_EQ(names[777], "cm-0777");
  EXPECT_EQ(result->items, 1234);
  EXPECT_EQ(result->pages, 3);
  EXPECT_FALSE(result->restarted);
  EXPECT_EQ(result->resource_version, "1334");
  for (const auto& r : fake_.RequestsTo("GET", "/api/v1/namespaces/ns1/configmaps")) {
    EXPECT_THAT(r.Query("limit"), Optional(std::string("500")));
  }
}

TEST_F(PagerTest, ScopedPagesKeepTheirItemsWhileThePageLives) {
  std::vector<ListPage> pages;
  auto result = ListAllScopedPages(client_, kConfigMaps, "ns1", {}, [&](ListPage& page) {
    EXPECT_NE(page.arena, nullptr);
    EXPECT_FALSE(page.items.empty());
    pages.push_back(std::move(page));  // kept past the callback, arena and all
    return absl::OkStatus();
  });
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->items, 1234);
  ASSERT_EQ(pages.size(), 3u);
  EXPECT_EQ(pages[0].continue_token.empty(), false);
  EXPECT_EQ(pages[2].continue_token, "");
  std::vector<std::string> names;
  for (const auto& p : pages) {
    for (const auto& i : p.items) {
      EXPECT_FALSE(i.storage().is_shared());
      names.emplace_back(ObjectName(i));
    }
  }
  ASSERT_EQ(names.size(), 1234u);
  EXPECT_EQ(names[0], "cm-0000");
  EXPECT_EQ(names[1233], "cm-1233");
}

TEST_F(PagerTest, ScopedPagesRestartWithoutDuplicates) {
  server_.CompactBeforeOffset(1000);
  server_.Add(ConfigMap("ns1", "late", 2000));
  std::multiset<std::string> seen;
  auto result = ListAllScopedPages(client_, kConfigMaps, "ns1", {.page_size = 250}, [&](ListPage& page) {
    for (const auto& item : page.items) seen.insert(ObjectKey(item));
    return absl::OkStatus();
  });
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_TRUE(result->restarted);
  EXPECT_EQ(seen.size(), 1235u);
  EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()).size(), seen.size()) << "duplicates";
  EXPECT_EQ(result->skipped_duplicates, 1000);
}

TEST_F(PagerTest, LazyPagesStreamKeepAndRestartWithoutDuplicates) {
  server_.CompactBeforeOffset(1000);
  server_.Add(ConfigMap("ns1", "late", 2000));
  std::vector<LazyPage> pages;
  auto result = ListAllLazyPages(client_, kConfigMaps, "ns1", {.page_size = 250}, [&](LazyPage& page) {
    EXPECT_NE(page.source, nullptr);
    pages.push_back(std::move(page));  // kept past the callback
    return absl::OkStatus();
  });
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_TRUE(result->restarted);
  EXPECT_EQ(result->skipped_duplicates, 1000);
  std::vector<std::string> keys;
  for (const auto& p : pages) {
    for (const auto& item : p.items) {
      keys.push_back(std::string(item.Namespace()) + "/" + std::string(item.Name()));
      EXPECT_EQ(item.Kind(), "ConfigMap");
      EXPECT_EQ(ObjectKey(item.Json()), keys.back());
    }
  }
  ASSERT_EQ(keys.size(), 1235u);
  EXPECT_EQ(std::set<std::string>(keys.begin(), keys.end()).size(), keys.size()) << "duplicates";
  EXPECT_EQ(keys[0], "ns1/cm-0000");
  EXPECT_EQ(keys[1233], "ns1/cm-1233");
}

TEST_F(PagerTest, ExpiredContinueRestartsOnceWithoutDuplicates) {
  server_.CompactBeforeOffset(1000);
  // Objects created while listing: one lands in the restarted list.
  server_.Add(ConfigMap("ns1", "late", 2000));
  std::multiset<std::string> seen;
  auto result = ListAll(client_, kConfigMaps, "ns1", {.page_size = 250}, [&](boost::json::value&& item) {
    seen.insert(ObjectKey(item));
    return absl::OkStatus();
  });
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_TRUE(result->restarted);
  EXPECT_EQ(seen.size(), 1235u);
  EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()).size(), seen.size()) << "duplicates";
  EXPECT_EQ(result->items, 1235);
  EXPECT_EQ(result->skipped_duplicates, 1000);
  // After the restart the list begins again without a continue token.
  auto requests = fake_.RequestsTo("GET", "/api/v1/namespaces/ns1/configmaps");
  ASSERT_EQ(requests.size(), 5u + 5u);
  EXPECT_TRUE(requests[4].Query("continue").has_value());
  EXPECT_FALSE(requests[5].Query("continue").has_value());
}

TEST_F(PagerTest, RestartSkipsByKeyOrderWithoutRememberingEveryKey) {
  // An object created during the list that sorts before the restart point was not in the first
  // snapshot and is skipped; one that sorts after it is delivered.
  server_.CompactBeforeOffset(500);
  server_.Add(ConfigMap("ns1", "cm-0001a", 3000));  // before the restart point: skipped
  server_.Add(ConfigMap("ns1", "zz", 3001));        // after it: delivered
  std::vector<std::string> seen;
  auto result = ListAll(client_, kConfigMaps, "ns1", {.page_size = 500}, [&](boost::json::value&& item) {
    seen.emplace_back(ObjectName(item));
    return absl::OkStatus();
  });
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_TRUE(result->restarted);
  EXPECT_FALSE(result->possible_duplicates);
  EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()).size(), seen.size()) << "duplicates";
  EXPECT_TRUE(std::is_sorted(seen.begin(), seen.end()));
  EXPECT_EQ(seen.back(), "zz");
}

TEST_F(DynamicClientTest, PagerRestartOnAnUnorderedServerSaysDuplicatesArePossible) {
  FakeListServer server(fake_, "/api/v1/namespaces/ns1/configmaps");
  // Descending names: the order breaks at the second object, before the restart.
  for (int i = 19; i >= 0; --i) server.Append(ConfigMap("ns1", absl::StrFormat("cm-%02d", i), i));
  server.CompactBeforeOffset(10);
  int delivered = 0;
  auto result = ListAll(client_, kConfigMaps, "ns1", {.page_size = 5}, [&](boost::json::value&&) {
    ++delivered;
    return absl::OkStatus();
  });
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_TRUE(result->restarted);
  EXPECT_TRUE(result->possible_duplicates);
  EXPECT_EQ(delivered, 30);  // 10 before the restart, all 20 after it
}

TEST_F(DynamicClientTest, PagerRefusesToResumeWhenTheOrderBreaksAfterTheRestart) {
  FakeListServer server(fake_, "/api/v1/namespaces/ns1/configmaps");
  // In order up to the restart point, then not: skipping by order could lose objects.
  for (int i = 0; i < 20; ++i) server.Append(ConfigMap("ns1", "cm-" + std::to_string(i), i));
  server.CompactBeforeOffset(10);
  auto result = ListAll(client_, kConfigMaps, "ns1", {.page_size = 5},
                        [&](boost::json::value&&) { return absl::OkStatus(); });
  EXPECT_EQ(result.status().code(), absl::StatusCode::kFailedPrecondition) << result.status();
}

TEST_F(PagerTest, SecondExpiryIsReturned) {
  server_.CompactBeforeOffset(500);
  int calls = 0;
  auto result = ListAllPages(client_, kConfigMaps, "ns1", {.page_size = 100}, [&](boost::json::array&) {
    // Pages 0-400, then (after the restart, whose first five pages hold only duplicates and are
    // not delivered) page 500: compact again. Whether or not the page the pager asked for early
    // was already served, a later continue token is now too old.
    if (++calls == 6) server_.Compact();
    return absl::OkStatus();
  });
  EXPECT_EQ(result.status().code(), absl::StatusCode::kOutOfRange);
}

TEST_F(PagerTest, OnRestartHandsDuplicatesToTheCaller) {
  server_.CompactBeforeOffset(500);
  int restarts = 0;
  int64_t delivered = 0;
  ListAllOptions o;
  o.on_restart = [&] { ++restarts; };
  auto result = ListAll(client_, kConfigMaps, "ns1", o, [&](boost::json::value&&) {
    ++delivered;
    return absl::OkStatus();
  });
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(restarts, 1);
  EXPECT_EQ(delivered, 500 + 1234);
  EXPECT_EQ(result->skipped_duplicates, 0);
}

TEST_F(PagerTest, CallbackErrorStopsTheList) {
  int pages = 0;
  auto result = ListAllPages(client_, kConfigMaps, "ns1", {}, [&](boost::json::array&) {
    ++pages;
    return absl::DataLossError("disk full");
  });
  EXPECT_EQ(result.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(pages, 1);
}

TEST_F(PagerTest, CancelledBeforeTheNextPage) {
  CancellationSource source;
  ListAllOptions o;
  o.list.cancel = source.token();
  auto result = ListAllPages(client_, kConfigMaps, "ns1", o, [&](boost::json::array&) {
    source.Cancel("stop");
    return absl::OkStatus();
  });
  EXPECT_EQ(result.status().code(), absl::StatusCode::kCancelled);
}

TEST(NextPageLimitTest, AsManyItemsAsFitBetweenOneAndThePageSize) {
  const int64_t kib = 1024;
  EXPECT_EQ(NextPageLimit(500, 2048 * kib, 0, 500), 500);          // no byte bound
  EXPECT_EQ(NextPageLimit(500, 2048 * kib, 512 * kib, 500), 125);  // 4 KiB items
  EXPECT_EQ(NextPageLimit(125, 500 * kib, 512 * kib, 500), 128);
  EXPECT_EQ(NextPageLimit(128, 64 * kib, 512 * kib, 500), 500);   // small items again
  EXPECT_EQ(NextPageLimit(500, 100 * kib, 512 * kib, 500), 500);  // never above page_size
  EXPECT_EQ(NextPageLimit(10, 10240 * kib, 512 * kib, 500), 1);   // 1 MiB items: one each
  EXPECT_EQ(NextPageLimit(1, 3072 * kib, 512 * kib, 500), 1);     // at least one
  EXPECT_EQ(NextPageLimit(77, 0, 512 * kib, 500), 77);            // size unknown
  // The first page: as many 16 KiB objects as fit.
  EXPECT_EQ(FirstPageLimit(0, 500), 500);
  EXPECT_EQ(FirstPageLimit(512 * kib, 500), 32);
  EXPECT_EQ(FirstPageLimit(512 * kib, 20), 20);
  EXPECT_EQ(FirstPageLimit(4 * kib, 500), 1);
  EXPECT_EQ(FirstPageLimit(64 * 1024 * kib, 500), 500);
}

// A ConfigMap with `bytes` of data.
boost::json::value BigConfigMap(std::string ns, std::string name, size_t bytes) {
  boost::json::value cm = ConfigMap(std::move(ns), std::move(name), 1);
  cm.as_object()["data"] = {{"blob", boost::json::string(std::string(bytes, 'x'))}};
  return cm;
}

TEST_F(DynamicClientTest, LazyPagesOfLargeObjectsAreBoundedInBytesAndComeBackForSmallOnes) {
  FakeListServer server(fake_, "/api/v1/namespaces/big/configmaps");
  // 300 objects of ~4 KiB, then 900 of ~100 bytes, in key order.
  for (int i = 0; i < 300; ++i) server.Add(BigConfigMap("big", absl::StrFormat("a-%04d", i), 4000));
  for (int i = 0; i < 900; ++i) server.Add(BigConfigMap("big", absl::StrFormat("b-%04d", i), 10));
  ListAllOptions o;
  o.page_size = 200;
  o.page_bytes = 64 * 1024;
  std::vector<size_t> sizes;
  std::vector<std::string> names;
  auto result = ListAllLazyPages(client_, kConfigMaps, "big", o, [&](LazyPage& page) {
    sizes.push_back(page.items.size());
    for (const auto& item : page.items) names.emplace_back(item.Name());
    return absl::OkStatus();
  });
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_EQ(names.size(), 1200u);
  EXPECT_EQ(std::set<std::string>(names.begin(), names.end()).size(), 1200u) << "duplicates";
  EXPECT_TRUE(std::is_sorted(names.begin(), names.end()));
  std::vector<int64_t> limits;
  for (const auto& r : fake_.RequestsTo("GET", "/api/v1/namespaces/big/configmaps")) {
    limits.push_back(std::stoll(r.Query("limit").value_or("0")));
  }
  ASSERT_EQ(limits.size(), sizes.size());
  // The first page asks for as many 16 KiB objects as fit in 64 KiB (4); the next ones for as
  // many ~4 KiB objects as fit (15 or 16), then, once a page had small objects, for more, up
  // to page_size.
  EXPECT_EQ(limits[0], 4);
  EXPECT_EQ(sizes[0], 4u);
  size_t k = 1, big = 4;
  for (; big + sizes[k] <= 300; big += sizes[k++]) {
    EXPECT_GE(limits[k], 15) << "page " << k;
    EXPECT_LE(limits[k] * 4000, 64 * 1024) << "page " << k;
  }
  EXPECT_GE(k, 19u);
  EXPECT_EQ(limits.back(), 200);
  EXPECT_EQ(limits.size(), 27u);  // 4, 15 x 20, 21, 200 x 5
  // DOM pages have no size before they are parsed: page_bytes does not apply to them.
  size_t dom_items = 0;
  auto dom = ListAllPages(client_, kConfigMaps, "big", o, [&](boost::json::array& items) {
    EXPECT_EQ(items.size(), std::min<size_t>(200, 1200 - dom_items));
    dom_items += items.size();
    return absl::OkStatus();
  });
  ASSERT_TRUE(dom.ok()) << dom.status();
  EXPECT_EQ(dom_items, 1200u);
}

TEST(ObjectTest, MetadataAccessors) {
  auto o = Obj(R"({"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"d","namespace":"n",
    "uid":"u","resourceVersion":"9","labels":{"a":"1","bad":2},"annotations":{"x":"y"},
    "ownerReferences":[{"apiVersion":"v1","kind":"K","name":"o","uid":"ou","controller":true}]}})");
  EXPECT_EQ(ObjectKey(o), "n/d");
  EXPECT_EQ(ObjectUid(o), "u");
  EXPECT_EQ(ObjectResourceVersion(o), "9");
  EXPECT_EQ(ObjectLabels(o), (std::map<std::string, std::string>{{"a", "1"}}));
  EXPECT_EQ(ObjectAnnotations(o).at("x"), "y");
  auto refs = ObjectOwnerReferences(o);
  ASSERT_EQ(refs.size(), 1u);
  EXPECT_TRUE(refs[0].controller);
  EXPECT_EQ(refs[0].uid, "ou");
  EXPECT_EQ(ObjectKey(Obj(R"({"metadata":{"name":"cluster-wide"}})")), "cluster-wide");
  EXPECT_EQ(ObjectName(Obj("[1]")), "");
}

}  // namespace
}  // namespace lifeboat::kube
