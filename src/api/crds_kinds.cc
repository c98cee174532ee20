// The schemas of the velero.io/v1 kinds: the single source of truth for Lifeboat's CRDs.
// Field names, types, enums, formats, nullability and required lists follow Velero's published
// CRDs (checked by src/api/crds_test.cc against test/testdata/api/crds); descriptions are
// Lifeboat's own and deliberately short.

#include "src/api/crds_schema.h"

namespace lifeboat::api::crd {
namespace {

Schema Strings() { return Array(String()); }
Schema NullableStrings() { return Array(String()).Nullable(); }
Schema StringMap() { return Map(String()); }

// metav1.LabelSelector.
Schema LabelSelector() {
  Schema requirement =
      Object({{"key", String()}, {"operator", String()}, {"values", Strings().Atomic()}})
          .Required({"key", "operator"});
  return Object({{"matchExpressions", Array(requirement).Atomic()}, {"matchLabels", StringMap()}})
      .Atomic();
}

// corev1.TypedLocalObjectReference (resource policies, resource modifiers).
Schema TypedLocalObjectReference() {
  return Object({{"apiGroup", String()}, {"kind", String()}, {"name", String()}})
      .Required({"kind", "name"})
      .Atomic();
}

// corev1.SecretKeySelector (location credentials, CA certificate references).
Schema SecretKeySelector() {
  return Object({{"key", String()},
                 {"name", String().Default(boost::json::string(""))},
                 {"optional", Boolean()}})
      .Required({"key"})
      .Atomic();
}

Schema ObjectRoot(Schema spec, Schema status, std::string doc) {
  return Object({{"apiVersion", String()},
                 {"kind", String()},
                 {"metadata", Object({})},
                 {"spec", std::move(spec)},
                 {"status", std::move(status)}})
      .Doc(std::move(doc));
}

Schema OnError() { return String().Enum({"Continue", "Fail"}); }

// The namespace/resource/label filters every hook spec starts with.
std::vector<Field> HookSelection() {
  return {{"excludedNamespaces", NullableStrings()},     {"excludedResources", NullableStrings()},
          {"includedNamespaces", NullableStrings()},     {"includedResources", NullableStrings()},
          {"labelSelector", LabelSelector().Nullable()}, {"name", String()}};
}

Schema BackupHooks() {
  Schema exec = Object({{"command", Strings().MinItems(1)},
                        {"container", String()},
                        {"onError", OnError()},
                        {"timeout", Duration()}})
                    .Required({"command"});
  Schema hook = Object({{"exec", exec}}).Required({"exec"});
  std::vector<Field> fields = HookSelection();
  fields.push_back({"pre", Array(hook)});
  fields.push_back({"post", Array(hook)});
  Schema resource = Object(std::move(fields)).Required({"name"});
  return Object({{"resources", Array(resource).Nullable()}})
      .Doc("Commands run in pods before and after they are backed up.");
}

Schema RestoreHooks() {
  Schema exec = Object({{"command", Strings().MinItems(1)},
                        {"container", String()},
                        {"execTimeout", Duration()},
                        {"onError", OnError()},
                        {"waitForReady", Boolean().Nullable()},
                        {"waitTimeout", Duration()}})
                    .Required({"command"});
  // Init containers are kept verbatim (corev1.Container as raw extensions).
  Schema init =
      Object({{"initContainers", Array(Object({}).PreserveUnknownFields()).PreserveUnknownFields()},
              {"timeout", Duration()}});
  std::vector<Field> fields = HookSelection();
  fields.push_back({"postHooks", Array(Object({{"exec", exec}, {"init", init}}))});
  Schema resource = Object(std::move(fields)).Required({"name"});
  return Object({{"resources", Array(resource)}})
      .Doc("Init containers added to and commands run in restored pods.");
}

Schema BackupSpec() {
  return Object({
      {"backupType", String().Enum({"Full", "Incremental"})},
      {"csiSnapshotTimeout", Duration()},
      {"datamover", String()},
      {"defaultVolumesToFsBackup", Boolean().Nullable()},
      {"defaultVolumesToRestic", Boolean().Nullable()},
      {"excludedClusterScopedResources", NullableStrings()},
      {"excludedNamespaceScopedResources", NullableStrings()},
      {"excludedNamespaces", NullableStrings()},
      {"excludedResources", NullableStrings()},
      {"hooks", BackupHooks()},
      {"includeClusterResources", Boolean().Nullable()},
      {"includedClusterScopedResources", NullableStrings()},
      {"includedNamespaceScopedResources", NullableStrings()},
      {"includedNamespaces", NullableStrings()},
      {"includedResources", NullableStrings()},
      {"itemOperationTimeout", Duration()},
      {"labelSelector", LabelSelector().Nullable()},
      {"metadata", Object({{"annotations", StringMap().Nullable()}, {"labels", StringMap()}})},
      {"orLabelSelectors", Array(LabelSelector()).Nullable()},
      {"orderedResources", StringMap().Nullable()},
      {"resourcePolicy", TypedLocalObjectReference()},
      {"snapshotMoveData", Boolean().Nullable()},
      {"snapshotVolumes", Boolean().Nullable()},
      {"storageLocation", String()},
      {"ttl", Duration()},
      {"uploaderConfig", Object({{"parallelFilesUpload", Integer()}}).Nullable()},
      {"volumeGroupSnapshotLabelKey", String()},
      {"volumeSnapshotLocations", Strings()},
  });
}

Schema BackupStatus() {
  return Object({
      {"backupItemOperationsAttempted", Integer()},
      {"backupItemOperationsCompleted", Integer()},
      {"backupItemOperationsFailed", Integer()},
      {"completionTimestamp", Timestamp()},
      {"csiVolumeSnapshotsAttempted", Integer()},
      {"csiVolumeSnapshotsCompleted", Integer()},
      {"errors", Integer()},
      {"expiration", Timestamp()},
      {"failureReason", String()},
      {"formatVersion", String()},
      {"hookStatus",
       Object({{"hooksAttempted", Integer()}, {"hooksFailed", Integer()}}).Nullable()},
      {"phase",
       String().Enum({"New", "Queued", "ReadyToStart", "FailedValidation", "InProgress",
                      "WaitingForPluginOperations", "WaitingForPluginOperationsPartiallyFailed",
                      "Finalizing", "FinalizingPartiallyFailed", "Completed", "PartiallyFailed",
                      "Failed", "Deleting"})},
      {"progress", Object({{"itemsBackedUp", Integer()}, {"totalItems", Integer()}}).Nullable()},
      {"queuePosition", Integer()},
      {"startTimestamp", Timestamp()},
      {"validationErrors", NullableStrings()},
      {"version", Integer()},
      {"volumeSnapshotsAttempted", Integer()},
      {"volumeSnapshotsCompleted", Integer()},
      {"warnings", Integer()},
  });
}

Schema RestoreSpec() {
  return Object({
      {"backupName", String()},
      {"excludedNamespaces", NullableStrings()},
      {"excludedResources", NullableStrings()},
      {"existingResourcePolicy", String().Nullable()},
      {"hooks", RestoreHooks()},
      {"includeClusterResources", Boolean().Nullable()},
      {"includedNamespaces", NullableStrings()},
      {"includedResources", NullableStrings()},
      {"itemOperationTimeout", Duration()},
      {"labelSelector", LabelSelector().Nullable()},
      {"namespaceMapping", StringMap()},
      {"orLabelSelectors", Array(LabelSelector()).Nullable()},
      {"preserveNodePorts", Boolean().Nullable()},
      {"resourceModifier", TypedLocalObjectReference().Nullable()},
      {"resourcePolicy", TypedLocalObjectReference().Nullable()},
      {"restorePVs", Boolean().Nullable()},
      {"restoreStatus",
       Object({{"excludedResources", NullableStrings()}, {"includedResources", NullableStrings()}})
           .Nullable()},
      {"scheduleName", String()},
      {"skipDefaultResourceModifier", Boolean().Nullable()},
      {"uploaderConfig",
       Object({{"parallelFilesDownload", Integer()}, {"writeSparseFiles", Boolean().Nullable()}})
           .Nullable()},
  });
}

Schema RestoreStatus() {
  return Object({
      {"completionTimestamp", Timestamp()},
      {"errors", Integer()},
      {"failureReason", String()},
      {"hookStatus",
       Object({{"hooksAttempted", Integer()}, {"hooksFailed", Integer()}}).Nullable()},
      {"phase",
       String().Enum({"New", "FailedValidation", "InProgress", "WaitingForPluginOperations",
                      "WaitingForPluginOperationsPartiallyFailed", "Completed", "PartiallyFailed",
                      "Failed", "Finalizing", "FinalizingPartiallyFailed"})},
      {"progress", Object({{"itemsRestored", Integer()}, {"totalItems", Integer()}}).Nullable()},
      {"restoreItemOperationsAttempted", Integer()},
      {"restoreItemOperationsCompleted", Integer()},
      {"restoreItemOperationsFailed", Integer()},
      {"startTimestamp", Timestamp()},
      {"validationErrors", NullableStrings()},
      {"warnings", Integer()},
  });
}

Schema ScheduleSpec() {
  return Object({{"paused", Boolean()},
                 {"schedule", String().Doc("Cron expression, @every <duration> or @hourly etc.")},
                 {"skipImmediately", Boolean()},
                 {"template", BackupSpec()},
                 {"useOwnerReferencesInBackup", Boolean().Nullable()}})
      .Required({"schedule", "template"});
}

Schema ScheduleStatus() {
  return Object({{"lastBackup", Timestamp()},
                 {"lastSkipped", Timestamp()},
                 {"phase", String().Enum({"New", "Enabled", "FailedValidation"})},
                 {"validationErrors", Strings()}});
}

Schema AccessMode() { return String().Enum({"ReadOnly", "ReadWrite"}); }
Schema LocationPhase() { return String().Enum({"Available", "Unavailable"}); }

Schema BackupStorageLocationSpec() {
  return Object({{"accessMode", AccessMode()},
                 {"backupSyncPeriod", Duration().Nullable()},
                 {"config", StringMap()},
                 {"credential", SecretKeySelector()},
                 {"default", Boolean()},
                 {"objectStorage", Object({{"bucket", String()},
                                           {"caCert", String().Format("byte")},
                                           {"caCertRef", SecretKeySelector()},
                                           {"prefix", String()}})
                                       .Required({"bucket"})},
                 {"provider", String()},
                 {"validationFrequency", Duration().Nullable()}})
      .Required({"objectStorage", "provider"});
}

Schema BackupStorageLocationStatus() {
  return Object({{"accessMode", AccessMode()},
                 {"lastSyncedRevision", String()},
                 {"lastSyncedTime", Timestamp()},
                 {"lastValidationTime", Timestamp()},
                 {"message", String()},
                 {"phase", LocationPhase()}});
}

Schema DownloadTargetKind() {
  return String().Enum({"BackupLog", "BackupContents", "BackupVolumeSnapshots",
                        "BackupItemOperations", "BackupResourceList", "BackupResults", "RestoreLog",
                        "RestoreResults", "RestoreResourceList", "RestoreItemOperations",
                        "CSIBackupVolumeSnapshots", "CSIBackupVolumeSnapshotContents",
                        "BackupVolumeInfos", "RestoreVolumeInfo"});
}

const PrinterColumn kAge{"Age", "date", ".metadata.creationTimestamp", ""};

KindDefinition BackupKind() {
  return {"Backup",
          "backups",
          {"bak"},
          {{"Status", "string", ".status.phase", "Phase of the backup (New, InProgress, ...)"},
           {"Errors", "integer", ".status.errors", "Errors logged by the backup"},
           {"Warnings", "integer", ".status.warnings", "Warnings logged by the backup"},
           {"Started", "date", ".status.startTimestamp", "When the backup started"},
           kAge},
          ObjectRoot(BackupSpec(), BackupStatus(),
                     "A request to back up Kubernetes resources (and volumes) to a location.")};
}

KindDefinition BackupStorageLocationKind() {
  return {"BackupStorageLocation",
          "backupstoragelocations",
          {"bsl"},
          {{"Phase", "string", ".status.phase", "Available or Unavailable"},
           {"Last Validated", "date", ".status.lastValidationTime",
            "When the location was last validated"},
           kAge,
           {"Default", "boolean", ".spec.default", "Whether this is the default location"}},
          ObjectRoot(BackupStorageLocationSpec(), BackupStorageLocationStatus(),
                     "An object storage bucket (and prefix) where backups are kept.")};
}

KindDefinition DeleteBackupRequestKind() {
  return {"DeleteBackupRequest",
          "deletebackuprequests",
          {"dbr"},
          {{"BackupName", "string", ".spec.backupName", "The backup to delete"},
           {"Status", "string", ".status.phase", "Phase of the request"}},
          ObjectRoot(Object({{"backupName", String()}}).Required({"backupName"}),
                     Object({{"errors", NullableStrings()},
                             {"phase", String().Enum({"New", "InProgress", "Processed"})}}),
                     "A request to delete a backup, its files and its snapshots.")};
}

KindDefinition DownloadRequestKind() {
  return {"DownloadRequest",
          "downloadrequests",
          {"dreq"},
          {{"Target Kind", "string", ".spec.target.kind", "The kind of file to download"},
           {"Target Name", "string", ".spec.target.name", "The backup or restore it belongs to"},
           {"Status", "string", ".status.phase", "Phase of the request"},
           kAge},
          ObjectRoot(Object({{"target", Object({{"kind", DownloadTargetKind()}, {"name", String()}})
                                            .Required({"kind", "name"})}})
                         .Required({"target"}),
                     Object({{"downloadURL", String()},
                             {"expiration", Timestamp()},
                             {"message", String()},
                             {"phase", String().Enum({"New", "Processed", "Failed"})}}),
                     "A request for a signed URL to a backup's or restore's file.")};
}

KindDefinition RestoreKind() {
  return {"Restore",
          "restores",
          {"rst"},
          {{"Backup", "string", ".spec.backupName", "The backup restored from"},
           {"Status", "string", ".status.phase", "Phase of the restore (New, InProgress, ...)"},
           {"Errors", "integer", ".status.errors", "Errors logged by the restore"},
           {"Warnings", "integer", ".status.warnings", "Warnings logged by the restore"},
           kAge},
          ObjectRoot(RestoreSpec(), RestoreStatus(),
                     "A request to restore resources (and volumes) from a backup.")};
}

KindDefinition ScheduleKind() {
  return {"Schedule",
          "schedules",
          {"sched"},
          {{"Status", "string", ".status.phase", "Phase of the schedule"},
           {"Schedule", "string", ".spec.schedule", "When backups are made"},
           {"LastBackup", "date", ".status.lastBackup", "When the last backup was made"},
           kAge,
           {"Paused", "boolean", ".spec.paused", ""}},
          ObjectRoot(ScheduleSpec(), ScheduleStatus(), "Backups made repeatedly from a template.")};
}

KindDefinition ServerStatusRequestKind() {
  return {"ServerStatusRequest",
          "serverstatusrequests",
          {"ssr"},
          {{"Status", "string", ".status.phase", "Phase of the request"},
           {"Server Version", "string", ".status.serverVersion", "Version of the server"},
           {"Processed", "date", ".status.processedTimestamp", "When the server answered"},
           kAge},
          ObjectRoot(Object({}),
                     Object({{"phase", String().Enum({"New", "Processed"})},
                             {"plugins", Array(Object({{"kind", String()}, {"name", String()}})
                                                   .Required({"kind", "name"}))
                                             .Nullable()},
                             {"processedTimestamp", Timestamp()},
                             {"serverVersion", String()}}),
                     "A request for the server's version and plugins.")};
}

KindDefinition VolumeSnapshotLocationKind() {
  return {"VolumeSnapshotLocation",
          "volumesnapshotlocations",
          {"vsl"},
          {{"Provider", "string", ".spec.provider", "Provider of the volume snapshots"},
           {"Phase", "string", ".status.phase", "Available or Unavailable"},
           kAge},
          ObjectRoot(Object({{"config", StringMap()},
                             {"credential", SecretKeySelector()},
                             {"provider", String()}})
                         .Required({"provider"}),
                     Object({{"phase", LocationPhase()}}),
                     "Where and how volume snapshots are taken.")};
}

}  // namespace

std::vector<KindDefinition> VeleroKinds() {
  return {BackupKind(),
          BackupStorageLocationKind(),
          DeleteBackupRequestKind(),
          DownloadRequestKind(),
          RestoreKind(),
          ScheduleKind(),
          ServerStatusRequestKind(),
          VolumeSnapshotLocationKind()};
}

}  // namespace lifeboat::api::crd
