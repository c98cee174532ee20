#include "lifeboat/archive/layout.h"

#include <gtest/gtest.h>

namespace lifeboat::archive {
namespace {

TEST(ArchiveLayoutTest, VersionFile) {
  EXPECT_EQ(VersionPath(), "metadata/version");
  EXPECT_EQ(VersionFileContents(), "1.1.0\n");
}

TEST(ArchiveLayoutTest, ItemPathsLikeVelero) {
  EXPECT_EQ(ItemPath("pods", "shop", "web"), "resources/pods/namespaces/shop/web.json");
  EXPECT_EQ(ItemPath("deployments.apps", "shop", "web"),
            "resources/deployments.apps/namespaces/shop/web.json");
  EXPECT_EQ(ItemPath("persistentvolumes", "", "pv1"),
            "resources/persistentvolumes/cluster/pv1.json");
  EXPECT_EQ(ItemPath("namespaces", "", "shop"), "resources/namespaces/cluster/shop.json");
  EXPECT_EQ(PreferredVersionItemPath("pods", "v1", "shop", "web"),
            "resources/pods/v1-preferredversion/namespaces/shop/web.json");
  EXPECT_EQ(PreferredVersionItemPath("persistentvolumes", "v1", "", "pv1"),
            "resources/persistentvolumes/v1-preferredversion/cluster/pv1.json");
  EXPECT_EQ(PreferredVersionItemPath("clusterroles.rbac.authorization.k8s.io", "v1", "",
                                     "system:aggregate-to-admin"),
            "resources/clusterroles.rbac.authorization.k8s.io/v1-preferredversion/cluster/"
            "system:aggregate-to-admin.json");
  EXPECT_EQ(VersionedItemPath("horizontalpodautoscalers.autoscaling", "v2beta2", "ns1", "h"),
            "resources/horizontalpodautoscalers.autoscaling/v2beta2/namespaces/ns1/h.json");
  EXPECT_EQ(VersionedItemPath("pods", "", "a", "b"), ItemPath("pods", "a", "b"));
}

TEST(ArchiveLayoutTest, ParsesEveryShapeBack) {
  struct Case {
    std::string gr, version_dir, ns, name;
  };
  for (const Case& c : std::vector<Case>{{"pods", "", "shop", "web"},
                                         {"persistentvolumes", "", "", "pv1"},
                                         {"deployments.apps", "v1-preferredversion", "shop", "d"},
                                         {"namespaces", "v1-preferredversion", "", "shop"},
                                         {"hpa.autoscaling", "v2beta2", "ns1", "h"},
                                         {"crontabs.stable.example.com", "v1", "", "c.x.json"},
                                         {"configmaps", "", "cluster", "kube-root-ca.crt"}}) {
    std::string path = VersionedItemPath(c.gr, c.version_dir, c.ns, c.name);
    std::optional<ItemLocation> loc = ParseItemPath(path);
    ASSERT_TRUE(loc.has_value()) << path;
    EXPECT_EQ(*loc, (ItemLocation{c.gr, c.version_dir, c.ns, c.name})) << path;
    EXPECT_EQ(loc->preferred(), c.version_dir == "v1-preferredversion") << path;
  }
}

TEST(ArchiveLayoutTest, RejectsOtherPaths) {
  for (std::string_view p :
       {"metadata/version", "resources/pods", "resources/pods/namespaces/a/b",
        "resources/pods/namespaces/a/.json", "resources/pods/cluster/a/b.json",
        "resources/pods/namespaces/../b.json", "resources/pods/namespaces//b.json",
        "resources/pods/v1/namespaces/a/b/c.json", "other/pods/cluster/a.json",
        "resources//cluster/a.json", "resources/pods/v1/x/a.json", "/resources/pods/cluster/a.json",
        "resources/pods/namespaces/ns/..json", "resources/pods/cluster/...json"}) {
    EXPECT_FALSE(ParseItemPath(p).has_value()) << p;
  }
}

}  // namespace
}  // namespace lifeboat::archive
