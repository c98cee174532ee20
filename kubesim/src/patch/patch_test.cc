#include "kubesim/src/patch/patch.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace kubesim {
namespace {

namespace json = boost::json;
using ::testing::HasSubstr;

json::value J(std::string_view s) { return json::parse(s); }

// ---------------- server-side apply ----------------

ApplyOptions Opts(const std::string& manager, bool force = false) {
  ApplyOptions o;
  o.field_manager = manager;
  o.force = force;
  o.api_version = "apps/v1";
  o.time = "2024-01-01T00:00:00Z";
  return o;
}

const char kApplied[] = R"({
  "apiVersion": "apps/v1", "kind": "Deployment",
  "metadata": {"name": "web", "namespace": "default"},
  "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}},
           "template": {"metadata": {"labels": {"app": "web"}},
                        "spec": {"containers": [{"name": "app", "image": "app:1"}]}}}
})";

const json::object* Entry(const json::value& obj, std::string_view manager) {
  for (const auto& e : obj.at("metadata").at("managedFields").as_array()) {
    if (e.at("manager") == json::value(json::string(manager))) return &e.as_object();
  }
  return nullptr;
}

TEST(ServerSideApplyTest, CreateRecordsApplyEntry) {
  auto r = ServerSideApply(nullptr, J(kApplied), "apps", "Deployment", Opts("mgr"));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->at("spec").at("replicas"), 3);
  const json::object* e = Entry(*r, "mgr");
  ASSERT_NE(e, nullptr) << json::serialize(*r);
  EXPECT_EQ(e->at("operation"), "Apply");
  EXPECT_EQ(e->at("apiVersion"), "apps/v1");
  EXPECT_EQ(e->at("fieldsType"), "FieldsV1");
  EXPECT_EQ(e->at("time"), "2024-01-01T00:00:00Z");
  const json::value& f = e->at("fieldsV1");
  EXPECT_TRUE(f.at("f:spec").at("f:replicas").is_object());
  // metadata.name/namespace, apiVersion and kind are never tracked; LabelSelector is atomic.
  EXPECT_FALSE(f.as_object().contains("f:apiVersion"));
  EXPECT_FALSE(f.as_object().contains("f:metadata"));
  EXPECT_EQ(f.at("f:spec").at("f:selector"), json::object());
  const auto& containers = f.at("f:spec").at("f:template").at("f:spec").at("f:containers").as_object();
  ASSERT_TRUE(containers.contains("k:{\"name\":\"app\"}")) << json::serialize(containers);
  const auto& item = containers.at("k:{\"name\":\"app\"}").as_object();
  EXPECT_TRUE(item.contains("."));
  EXPECT_TRUE(item.contains("f:image"));
  EXPECT_TRUE(item.contains("f:name"));
}

TEST(ServerSideApplyTest, ReapplyWithoutFieldRemovesIt) {
  auto r = ServerSideApply(nullptr, J(kApplied), "apps", "Deployment", Opts("mgr"));
  ASSERT_TRUE(r.ok());
  json::value second = J(kApplied);
  second.at("spec").as_object().erase("replicas");
  auto r2 = ServerSideApply(&*r, second, "apps", "Deployment", Opts("mgr"));
  ASSERT_TRUE(r2.ok()) << r2.status();
  EXPECT_FALSE(r2->at("spec").as_object().contains("replicas")) << json::serialize(*r2);
  EXPECT_FALSE(Entry(*r2, "mgr")->at("fieldsV1").at("f:spec").as_object().contains("f:replicas"));
}

TEST(ServerSideApplyTest, ConflictWithOtherManager) {
  auto r = ServerSideApply(nullptr, J(kApplied), "apps", "Deployment", Opts("other"));
  ASSERT_TRUE(r.ok());
  json::value mine = J(kApplied);
  mine.at("spec").as_object()["replicas"] = 5;
  auto c = ServerSideApply(&*r, mine, "apps", "Deployment", Opts("me"));
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), absl::StatusCode::kAborted);
  EXPECT_EQ(c.status().message(), "Apply failed with 1 conflict: conflict with \"other\" using apps/v1: .spec.replicas");
}

TEST(ServerSideApplyTest, ForceTakesOwnership) {
  auto r = ServerSideApply(nullptr, J(kApplied), "apps", "Deployment", Opts("other"));
  ASSERT_TRUE(r.ok());
  json::value mine = J(kApplied);
  mine.at("spec").as_object()["replicas"] = 5;
  auto f = ServerSideApply(&*r, mine, "apps", "Deployment", Opts("me", true));
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(f->at("spec").at("replicas"), 5);
  EXPECT_TRUE(Entry(*f, "me")->at("fieldsV1").at("f:spec").as_object().contains("f:replicas"));
  const json::object* other = Entry(*f, "other");
  ASSERT_NE(other, nullptr);
  EXPECT_FALSE(other->at("fieldsV1").at("f:spec").as_object().contains("f:replicas"));
}

TEST(ServerSideApplyTest, SharedOwnershipWhenValuesEqual) {
  auto r = ServerSideApply(nullptr, J(kApplied), "apps", "Deployment", Opts("other"));
  ASSERT_TRUE(r.ok());
  auto s = ServerSideApply(&*r, J(kApplied), "apps", "Deployment", Opts("me"));
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_TRUE(Entry(*s, "me")->at("fieldsV1").at("f:spec").as_object().contains("f:replicas"));
  EXPECT_TRUE(Entry(*s, "other")->at("fieldsV1").at("f:spec").as_object().contains("f:replicas"));
  // Now "me" stops applying replicas: "other" still owns it, so it stays.
  json::value without = J(kApplied);
  without.at("spec").as_object().erase("replicas");
  auto t = ServerSideApply(&*s, without, "apps", "Deployment", Opts("me"));
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->at("spec").at("replicas"), 3);
}

TEST(ServerSideApplyTest, RequiresFieldManager) {
  auto r = ServerSideApply(nullptr, J(kApplied), "apps", "Deployment", Opts(""));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
}

// ---------------- RecordUpdateManagedFields ----------------

TEST(RecordUpdateManagedFieldsTest, CreateOwnsAllFields) {
  json::value obj = J(kApplied);
  RecordUpdateManagedFields(nullptr, obj, "kubectl-create", "apps/v1", "2024-01-01T00:00:00Z");
  const json::object* e = Entry(obj, "kubectl-create");
  ASSERT_NE(e, nullptr) << json::serialize(obj);
  EXPECT_EQ(e->at("operation"), "Update");
  EXPECT_TRUE(e->at("fieldsV1").at("f:spec").as_object().contains("f:replicas"));
  EXPECT_TRUE(e->at("fieldsV1").at("f:spec").at("f:template").at("f:spec").at("f:containers").as_object().contains(
      "k:{\"name\":\"app\"}"));
}

TEST(RecordUpdateManagedFieldsTest, UpdateMovesChangedFields) {
  json::value old = J(kApplied);
  RecordUpdateManagedFields(nullptr, old, "creator", "apps/v1", "t1");
  json::value updated = old;
  updated.at("spec").as_object()["replicas"] = 7;
  RecordUpdateManagedFields(&old, updated, "scaler", "apps/v1", "t2");
  const json::object* scaler = Entry(updated, "scaler");
  ASSERT_NE(scaler, nullptr);
  EXPECT_TRUE(scaler->at("fieldsV1").at("f:spec").as_object().contains("f:replicas"));
  EXPECT_FALSE(scaler->at("fieldsV1").at("f:spec").as_object().contains("f:selector"));
  const json::object* creator = Entry(updated, "creator");
  ASSERT_NE(creator, nullptr);
  EXPECT_FALSE(creator->at("fieldsV1").at("f:spec").as_object().contains("f:replicas"));
  EXPECT_TRUE(creator->at("fieldsV1").at("f:spec").as_object().contains("f:selector"));
}

TEST(RecordUpdateManagedFieldsTest, EmptyListClears) {
  json::value old = J(kApplied);
  RecordUpdateManagedFields(nullptr, old, "creator", "apps/v1", "t1");
  json::value updated = old;
  updated.at("metadata").as_object()["managedFields"] = json::array();
  RecordUpdateManagedFields(&old, updated, "clearer", "apps/v1", "t2");
  const json::object& meta = updated.at("metadata").as_object();
  EXPECT_TRUE(!meta.contains("managedFields") || meta.at("managedFields").as_array().empty())
      << json::serialize(updated);
}

TEST(RecordUpdateManagedFieldsTest, UnsetKeepsExisting) {
  json::value old = J(kApplied);
  RecordUpdateManagedFields(nullptr, old, "creator", "apps/v1", "t1");
  json::value updated = J(kApplied);  // no managedFields in the request
  updated.at("metadata").as_object()["labels"] = json::object{{"x", "y"}};
  RecordUpdateManagedFields(&old, updated, "labeler", "apps/v1", "t2");
  EXPECT_NE(Entry(updated, "creator"), nullptr) << json::serialize(updated);
  EXPECT_NE(Entry(updated, "labeler"), nullptr);
}

}  // namespace
}  // namespace kubesim
