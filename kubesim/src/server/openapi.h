#pragma once

// OpenAPI documents (/openapi/v2 and /openapi/v3[/...]) built from the registry: what kubectl
// needs for apply (client- and server-side), validation and explain.

#include "kubesim/src/api/registry.h"
#include "lifeboat/http/server.h"

namespace kubesim {

// Answers any GET under /openapi/ (404 Status for unknown paths).
void ServeOpenApi(lifeboat::http::Request& req, lifeboat::http::ResponseWriter& w,
                  const Registry& registry);

}  // namespace kubesim
