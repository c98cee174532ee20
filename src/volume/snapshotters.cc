#include "lifeboat/volume/snapshotters.h"

#include "src/volume/azure/azure_snapshotter.h"

namespace lifeboat::volume {

std::vector<std::string> KnownVolumeSnapshotterProviders() { return {"azure"}; }

plugin::VolumeSnapshotterFactory BuiltinVolumeSnapshotters(SnapshotterOptions options) {
  return [options = std::move(options)](const std::string& provider,
                                        const std::map<std::string, std::string>& config)
             -> StatusOr<std::unique_ptr<plugin::VolumeSnapshotter>> {
    std::string name = provider;
    if (name.starts_with("velero.io/")) name = name.substr(10);
    if (name == "azure") return azure::NewAzureSnapshotter(config, options);
    std::string known;
    for (const auto& p : KnownVolumeSnapshotterProviders()) {
      if (!known.empty()) known += ", ";
      known += p + " (or velero.io/" + p + ")";
    }
    return absl::NotFoundError("unknown volume snapshot provider \"" + provider +
                               "\" (known: " + known + ")");
  };
}

}  // namespace lifeboat::volume
