// ProcessEnv (declared in registry.h) lives in the core `storage` library, not in
// storage_registry: every driver's factory takes DriverParams, whose `env` defaults to it.

#include <cstdlib>
#include <optional>
#include <string>

#include "lifeboat/storage/registry.h"

namespace lifeboat::storage {

EnvLookup ProcessEnv() {
  return [](std::string_view name) -> std::optional<std::string> {
    const char* value = std::getenv(std::string(name).c_str());
    if (value == nullptr) return std::nullopt;
    return std::string(value);
  };
}

}  // namespace lifeboat::storage
