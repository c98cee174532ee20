#include "kubesim/src/server/wire.h"

namespace kubesim {

void SendJson(lifeboat::http::ResponseWriter& w, int code, const boost::json::value& body,
              const Headers& extra) {
  Headers h = extra;
  h["Content-Type"] = "application/json";
  (void)w.Send(code, h, boost::json::serialize(body));
}

void SendRawJson(lifeboat::http::ResponseWriter& w, int code, const std::string& body) {
  (void)w.Send(code, {{"Content-Type", "application/json"}}, body);
}

void SendStatus(lifeboat::http::ResponseWriter& w, const absl::Status& status, const Headers& extra) {
  ApiErrorInfo info = ErrorInfo(status);
  SendJson(w, info.code, StatusBody(status), extra);
}

}  // namespace kubesim
