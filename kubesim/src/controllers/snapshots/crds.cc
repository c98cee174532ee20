// The snapshot.storage.k8s.io/v1 CustomResourceDefinitions as external-snapshotter (v8)
// publishes them (client/config/crd): same names, scopes, short names, printer columns, status
// subresources and structural schemas. Differences: the CEL rules (x-kubernetes-validations)
// are left out (kubesim does not evaluate CEL); the one-of rules of the sources are kept as
// `oneOf` value validations, which kube-apiserver also accepts.

#include "kubesim/src/controllers/snapshots/snapshots.h"

namespace kubesim::snapshots {

namespace json = boost::json;

namespace {

constexpr char kQuantityPattern[] =
    R"(^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$)";

json::value Crd(const char* plural, const char* singular, const char* kind, const char* list_kind,
                const char* scope, json::array short_names, json::value schema, json::array columns,
                bool status_subresource) {
  json::object version{{"name", "v1"},
                       {"served", true},
                       {"storage", true},
                       {"schema", json::object{{"openAPIV3Schema", std::move(schema)}}},
                       {"additionalPrinterColumns", std::move(columns)}};
  if (status_subresource) version["subresources"] = json::object{{"status", json::object()}};
  return json::object{
      {"apiVersion", "apiextensions.k8s.io/v1"},
      {"kind", "CustomResourceDefinition"},
      {"metadata",
       json::object{
           {"name", std::string(plural) + "." + kGroup},
           {"annotations",
            json::object{{"api-approved.kubernetes.io",
                          "https://github.com/kubernetes-csi/external-snapshotter/pull/814"},
                         {"controller-gen.kubebuilder.io/version", "v0.15.0"}}}}},
      {"spec", json::object{{"group", kGroup},
                            {"names", json::object{{"kind", kind},
                                                   {"listKind", list_kind},
                                                   {"plural", plural},
                                                   {"singular", singular},
                                                   {"shortNames", std::move(short_names)}}},
                            {"scope", scope},
                            {"versions", json::array{std::move(version)}}}}};
}

json::object Column(const char* name, const char* type, const char* path, const char* description,
                    int priority = -1) {
  json::object c{{"name", name}, {"type", type}, {"jsonPath", path}};
  if (description != nullptr) c["description"] = description;
  if (priority >= 0) c["priority"] = priority;
  return c;
}

json::value ErrorSchema() {
  return json::object{
      {"type", "object"},
      {"description", "error is the last observed error during snapshot creation, if any."},
      {"properties",
       json::object{{"message", json::object{{"type", "string"}}},
                    {"time", json::object{{"type", "string"}, {"format", "date-time"}}}}}};
}

json::value ObjectMetaSchema() { return json::object{{"type", "object"}}; }

}  // namespace

json::value VolumeSnapshotCrd() {
  json::value schema = json::object{
      {"type", "object"},
      {"description",
       "VolumeSnapshot is a user's request for either creating a point-in-time snapshot of a "
       "persistent volume, or binding to a pre-existing snapshot."},
      {"required", json::array{"spec"}},
      {"properties",
       json::object{
           {"apiVersion", json::object{{"type", "string"}}},
           {"kind", json::object{{"type", "string"}}},
           {"metadata", ObjectMetaSchema()},
           {"spec",
            json::object{
                {"type", "object"},
                {"required", json::array{"source"}},
                {"properties",
                 json::object{
                     {"source",
                      json::object{
                          {"type", "object"},
                          {"oneOf",
                           json::array{
                               json::object{{"required", json::array{"persistentVolumeClaimName"}}},
                               json::object{
                                   {"required", json::array{"volumeSnapshotContentName"}}}}},
                          {"properties",
                           json::object{
                               {"persistentVolumeClaimName", json::object{{"type", "string"}}},
                               {"volumeSnapshotContentName", json::object{{"type", "string"}}}}}}},
                     {"volumeSnapshotClassName", json::object{{"type", "string"}}}}}}},
           {"status",
            json::object{
                {"type", "object"},
                {"properties",
                 json::object{
                     {"boundVolumeSnapshotContentName", json::object{{"type", "string"}}},
                     {"creationTime", json::object{{"type", "string"}, {"format", "date-time"}}},
                     {"error", ErrorSchema()},
                     {"readyToUse", json::object{{"type", "boolean"}}},
                     {"restoreSize",
                      json::object{{"anyOf", json::array{json::object{{"type", "integer"}},
                                                         json::object{{"type", "string"}}}},
                                   {"pattern", kQuantityPattern},
                                   {"x-kubernetes-int-or-string", true}}},
                     {"volumeGroupSnapshotName", json::object{{"type", "string"}}}}}}}}}};
  json::array columns{
      Column("ReadyToUse", "boolean", ".status.readyToUse",
             "Indicates if the snapshot is ready to be used to restore a volume."),
      Column("SourcePVC", "string", ".spec.source.persistentVolumeClaimName",
             "If a new snapshot needs to be created, this contains the name of the source PVC from "
             "which this "
             "snapshot was (or will be) created."),
      Column("SourceSnapshotContent", "string", ".spec.source.volumeSnapshotContentName",
             "If a snapshot already exists, this contains the name of the existing "
             "VolumeSnapshotContent object "
             "representing the existing snapshot."),
      Column("RestoreSize", "string", ".status.restoreSize",
             "Represents the minimum size of volume required to rehydrate from this snapshot."),
      Column("SnapshotClass", "string", ".spec.volumeSnapshotClassName",
             "The name of the VolumeSnapshotClass requested by the VolumeSnapshot."),
      Column("SnapshotContent", "string", ".status.boundVolumeSnapshotContentName",
             "Name of the VolumeSnapshotContent object to which the VolumeSnapshot object intends "
             "to bind to."),
      Column(
          "CreationTime", "date", ".status.creationTime",
          "Timestamp when the point-in-time snapshot was taken by the underlying storage system."),
      Column("Age", "date", ".metadata.creationTimestamp", nullptr)};
  return Crd("volumesnapshots", "volumesnapshot", "VolumeSnapshot", "VolumeSnapshotList",
             "Namespaced", json::array{"vs"}, std::move(schema), std::move(columns), true);
}

json::value VolumeSnapshotContentCrd() {
  json::value ref = json::object{
      {"type", "object"},
      {"x-kubernetes-map-type", "atomic"},
      {"properties", json::object{{"apiVersion", json::object{{"type", "string"}}},
                                  {"fieldPath", json::object{{"type", "string"}}},
                                  {"kind", json::object{{"type", "string"}}},
                                  {"name", json::object{{"type", "string"}}},
                                  {"namespace", json::object{{"type", "string"}}},
                                  {"resourceVersion", json::object{{"type", "string"}}},
                                  {"uid", json::object{{"type", "string"}}}}}};
  json::value schema = json::object{
      {"type", "object"},
      {"description",
       "VolumeSnapshotContent represents the actual \"on-disk\" snapshot object in the underlying "
       "storage system"},
      {"required", json::array{"spec"}},
      {"properties",
       json::object{
           {"apiVersion", json::object{{"type", "string"}}},
           {"kind", json::object{{"type", "string"}}},
           {"metadata", ObjectMetaSchema()},
           {"spec",
            json::object{
                {"type", "object"},
                {"required",
                 json::array{"deletionPolicy", "driver", "source", "volumeSnapshotRef"}},
                {"properties",
                 json::object{
                     {"deletionPolicy",
                      json::object{{"type", "string"}, {"enum", json::array{"Delete", "Retain"}}}},
                     {"driver", json::object{{"type", "string"}}},
                     {"source",
                      json::object{
                          {"type", "object"},
                          {"oneOf",
                           json::array{json::object{{"required", json::array{"snapshotHandle"}}},
                                       json::object{{"required", json::array{"volumeHandle"}}}}},
                          {"properties",
                           json::object{{"snapshotHandle", json::object{{"type", "string"}}},
                                        {"volumeHandle", json::object{{"type", "string"}}}}}}},
                     {"sourceVolumeMode",
                      json::object{{"type", "string"},
                                   {"enum", json::array{"Block", "Filesystem"}}}},
                     {"volumeSnapshotClassName", json::object{{"type", "string"}}},
                     {"volumeSnapshotRef", std::move(ref)}}}}},
           {"status",
            json::object{
                {"type", "object"},
                {"properties",
                 json::object{
                     {"creationTime", json::object{{"type", "integer"}, {"format", "int64"}}},
                     {"error", ErrorSchema()},
                     {"readyToUse", json::object{{"type", "boolean"}}},
                     {"restoreSize",
                      json::object{{"type", "integer"}, {"format", "int64"}, {"minimum", 0}}},
                     {"snapshotHandle", json::object{{"type", "string"}}},
                     {"volumeGroupSnapshotHandle", json::object{{"type", "string"}}}}}}}}}};
  json::array columns{
      Column("ReadyToUse", "boolean", ".status.readyToUse",
             "Indicates if a snapshot is ready to be used to restore a volume."),
      Column("RestoreSize", "integer", ".status.restoreSize",
             "Represents the complete size of the snapshot in bytes"),
      Column("DeletionPolicy", "string", ".spec.deletionPolicy",
             "Determines whether this VolumeSnapshotContent and its physical snapshot on the "
             "underlying storage "
             "system should be deleted when its bound VolumeSnapshot is deleted."),
      Column("Driver", "string", ".spec.driver",
             "Name of the CSI driver used to create the physical snapshot on the underlying "
             "storage system."),
      Column("VolumeSnapshotClass", "string", ".spec.volumeSnapshotClassName",
             "Name of the VolumeSnapshotClass to which this snapshot belongs."),
      Column(
          "VolumeSnapshot", "string", ".spec.volumeSnapshotRef.name",
          "Name of the VolumeSnapshot object to which this VolumeSnapshotContent object is bound."),
      Column("VolumeSnapshotNamespace", "string", ".spec.volumeSnapshotRef.namespace",
             "Namespace of the VolumeSnapshot object to which this VolumeSnapshotContent object is "
             "bound."),
      Column("Age", "date", ".metadata.creationTimestamp", nullptr)};
  return Crd("volumesnapshotcontents", "volumesnapshotcontent", "VolumeSnapshotContent",
             "VolumeSnapshotContentList", "Cluster", json::array{"vsc", "vscs"}, std::move(schema),
             std::move(columns), true);
}

json::value VolumeSnapshotClassCrd() {
  json::value schema = json::object{
      {"type", "object"},
      {"description",
       "VolumeSnapshotClass specifies parameters that a underlying storage system uses when "
       "creating "
       "a volume snapshot."},
      {"required", json::array{"deletionPolicy", "driver"}},
      {"properties",
       json::object{{"apiVersion", json::object{{"type", "string"}}},
                    {"kind", json::object{{"type", "string"}}},
                    {"metadata", ObjectMetaSchema()},
                    {"deletionPolicy",
                     json::object{{"type", "string"}, {"enum", json::array{"Delete", "Retain"}}}},
                    {"driver", json::object{{"type", "string"}}},
                    {"parameters",
                     json::object{{"type", "object"},
                                  {"additionalProperties", json::object{{"type", "string"}}}}}}}};
  json::array columns{
      Column("Driver", "string", ".driver", nullptr),
      Column("DeletionPolicy", "string", ".deletionPolicy",
             "Determines whether a VolumeSnapshotContent created through the VolumeSnapshotClass "
             "should be deleted when its bound VolumeSnapshot is deleted."),
      Column("Age", "date", ".metadata.creationTimestamp", nullptr)};
  return Crd("volumesnapshotclasses", "volumesnapshotclass", "VolumeSnapshotClass",
             "VolumeSnapshotClassList", "Cluster", json::array{"vsclass", "vsclasses"},
             std::move(schema), std::move(columns), false);
}

}  // namespace kubesim::snapshots
