#pragma once

// The REST verbs on resources: decoding bodies and options from the request, calling Cluster,
// and encoding objects, lists, tables and watch streams.

#include "kubesim/src/api/cluster.h"
#include "kubesim/src/pki/auth.h"
#include "kubesim/src/server/api_server.h"
#include "kubesim/src/server/request_info.h"
#include "lifeboat/http/server.h"

namespace kubesim {

struct ResourceRequest {
  Cluster* cluster;
  lifeboat::http::Request& req;
  lifeboat::http::ResponseWriter& w;
  const RequestInfo& info;
  const UserInfo& user;
  const Authorizer* authz;
  const ApiServerOptions& options;
};

void ServeResource(ResourceRequest& r);

}  // namespace kubesim
