#include "lifeboat/api/validation.h"

#include <gtest/gtest.h>
#include <gmock/gmock.h>

#include "lifeboat/api/builders.h"

namespace lifeboat::api {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using V = std::vector<std::string>;

TEST(ValidateIncludesExcludesTest, VeleroMessages) {
  EXPECT_THAT(ValidateIncludesExcludes({"*"}, {"secrets"}), IsEmpty());
  EXPECT_THAT(ValidateIncludesExcludes({"*", "pods"}, {"*", "pods"}),
              ElementsAre("includes list must either contain '*' only, or a non-empty list of items",
                          "excludes list cannot contain '*'",
                          "excludes list cannot contain an item in the includes list: *",
                          "excludes list cannot contain an item in the includes list: pods"));
  EXPECT_THAT(ValidateScopedIncludesExcludes({"pods"}, {"*"}),
              ElementsAre("when exclude is '*', include cannot have value"));
  EXPECT_THAT(ValidateScopedIncludesExcludes({}, {"*", "x"}),
              ElementsAre("excludes list must either contain '*' only, or a non-empty list of items"));
}

TEST(ValidateNamespacesTest, NamesAndWildcards) {
  EXPECT_THAT(ValidateNamespaceIncludesExcludes({"app-*", "ns-?", "db-[ab]"}, {"x-*"}), IsEmpty());
  EXPECT_THAT(ValidateNamespaceIncludesExcludes({"Bad_NS"}, {}),
              ElementsAre(HasSubstr("invalid namespace \"Bad_NS\": a lowercase RFC 1123 label")));
  EXPECT_THAT(ValidateNamespaceIncludesExcludes({"a**"}, {"{x,y}"}),
              ElementsAre("invalid namespace \"a**\": wildcard pattern contains consecutive "
                          "asterisks (only single * allowed)",
                          "invalid namespace \"{x,y}\": wildcard pattern contains unsupported "
                          "characters: |, (, ), !, {, }, ,"));
  EXPECT_THAT(ValidateNamespaceIncludesExcludes({"app"}, {"app"}),
              ElementsAre("excludes list cannot contain an item in the includes list: app"));
}

TEST(ValidateBackupSpecTest, ValidSpecs) {
  EXPECT_THAT(ValidateBackupSpec(BackupSpec{}), IsEmpty());
  EXPECT_THAT(ValidateBackupSpec(BackupBuilder("velero", "b")
                                     .IncludedNamespaces({"app-*"})
                                     .IncludedResources({"*"})
                                     .ExcludedResources({"secrets"})
                                     .IncludeClusterResources(false)
                                     .Build()
                                     .spec),
              IsEmpty());
}

TEST(ValidateBackupSpecTest, ReportsEveryProblemWithVeleroMessages) {
  BackupSpec s = BackupBuilder("velero", "b")
                     .IncludedNamespaces({"app", "Bad"})
                     .ExcludedNamespaces({"app"})
                     .IncludedResources({"pods"})
                     .ExcludedResources({"pods"})
                     .IncludedClusterScopedResources({"*", "nodes"})
                     .LabelSelector(*LabelSelector::Parse("a=b"))
                     .OrLabelSelectors({*LabelSelector::Parse("c=d")})
                     .Ttl(std::chrono::hours(-1))
                     .Build()
                     .spec;
  std::vector<std::string> errs = ValidateBackupSpec(s);
  EXPECT_THAT(
      errs,
      ElementsAre(
          "include-resources, exclude-resources and include-cluster-resources are old filter "
          "parameters.\ninclude-cluster-scoped-resources, exclude-cluster-scoped-resources, "
          "include-namespace-scoped-resources and exclude-namespace-scoped-resources are new "
          "filter parameters.\nThey cannot be used together",
          "Invalid included/excluded resource lists: excludes list cannot contain an item in the "
          "includes list: pods",
          "Invalid cluster-scoped included/excluded resource lists: includes list must either "
          "contain '*' only, or a non-empty list of items",
          "Invalid included/excluded namespace lists: excludes list cannot contain an item in the "
          "includes list: app",
          HasSubstr("Invalid included/excluded namespace lists: invalid namespace \"Bad\""),
          "encountered labelSelector as well as orLabelSelectors in backup spec, only one can be "
          "specified",
          "invalid ttl \"-1h0m0s\": must not be negative"));
}

TEST(ValidateBackupSpecTest, HooksAndPolicy) {
  BackupSpec s;
  BackupResourceHookSpec h;
  h.pre.push_back(BackupResourceHook{ExecHook{}});
  h.post.push_back(BackupResourceHook{});
  s.hooks.resources.push_back(h);
  s.resource_policy = TypedLocalObjectReference{std::nullopt, "Secret", "p"};
  s.backup_type = "Differential";
  EXPECT_THAT(ValidateBackupSpec(s),
              ElementsAre(HasSubstr("unsupported resource policy kind \"Secret\""),
                          HasSubstr("invalid backupType \"Differential\""),
                          "hooks.resources[0].name: Required value",
                          "hooks.resources[0].pre[0].exec.command: Required value",
                          "hooks.resources[0].post[0].exec: Required value"));
  s.resource_policy->kind = "ConfigMap";  // case-insensitive, as Velero compares it
  s.backup_type = "Full";
  s.hooks = {};
  EXPECT_THAT(ValidateBackupSpec(s), IsEmpty());
}

TEST(ValidateRestoreSpecTest, Messages) {
  EXPECT_THAT(ValidateRestoreSpec(RestoreBuilder("velero", "r").Backup("b1").Build().spec),
              IsEmpty());
  EXPECT_THAT(ValidateRestoreSpec(RestoreSpec{}),
              ElementsAre("Either a backup or schedule must be specified as a source for the "
                          "restore, but not both"));
  RestoreSpec s = RestoreBuilder("velero", "r")
                      .Backup("b1")
                      .Schedule("nightly")
                      .IncludedResources({"nodes", "pods"})
                      .ExcludedResources({"pods"})
                      .LabelSelector(LabelSelector())
                      .OrLabelSelectors({LabelSelector()})
                      .ExistingResourcePolicy("overwrite")
                      .Build()
                      .spec;
  EXPECT_THAT(
      ValidateRestoreSpec(s),
      ElementsAre("Either a backup or schedule must be specified as a source for the restore, "
                  "but not both",
                  "nodes are non-restorable resources",
                  "Invalid included/excluded resource lists: excludes list cannot contain an item "
                  "in the includes list: pods",
                  "encountered labelSelector as well as orLabelSelectors in restore spec, only "
                  "one can be specified",
                  "Invalid ExistingResourcePolicy: overwrite"));
}

TEST(ValidateScheduleSpecTest, EmptyScheduleAndTemplate) {
  ScheduleSpec s = ScheduleBuilder("velero", "s")
                       .Template(BackupBuilder("v", "t").ExcludedResources({"*"}).Build().spec)
                       .Build()
                       .spec;
  EXPECT_THAT(ValidateScheduleSpec(s),
              ElementsAre("invalid schedule: empty spec string",
                          "Invalid included/excluded resource lists: excludes list cannot contain "
                          "'*'"));
}

}  // namespace
}  // namespace lifeboat::api
