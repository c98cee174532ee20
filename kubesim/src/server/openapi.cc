#include "kubesim/src/server/openapi.h"

#include "kubesim/src/server/wire.h"

namespace kubesim {

void ServeOpenApi(lifeboat::http::Request& req, lifeboat::http::ResponseWriter& w, const Registry& registry) {
  SendStatus(w, ApiError(404, "NotFound", "the server could not find the requested resource"));
}

}  // namespace kubesim
