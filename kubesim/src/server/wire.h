#pragma once

// Writing kube-apiserver's wire format: JSON bodies and metav1.Status errors.

#include <string>

#include <boost/json.hpp>

#include "kubesim/src/api/api_status.h"
#include "lifeboat/http/server.h"

namespace kubesim {

using Headers = lifeboat::http::Headers;

void SendJson(lifeboat::http::ResponseWriter& w, int code, const boost::json::value& body,
              const Headers& extra = {});
void SendRawJson(lifeboat::http::ResponseWriter& w, int code, const std::string& body);
// Sends `status` as a metav1.Status with its HTTP code.
void SendStatus(lifeboat::http::ResponseWriter& w, const absl::Status& status,
                const Headers& extra = {});

}  // namespace kubesim
