#include "lifeboat/http/metrics_endpoint.h"

#include <string_view>
#include <utility>

namespace lifeboat::http {
namespace {

constexpr std::string_view kTextPlain = "text/plain; charset=utf-8";

void SendText(ResponseWriter& w, int status, std::string_view content_type, std::string_view body,
              Headers extra = {}) {
  extra["Content-Type"] = std::string(content_type);
  extra["Cache-Control"] = "no-store";
  // A failed write means the client went away; there is nobody left to tell.
  (void)w.Send(status, extra, body);
}

}  // namespace

Handler MetricsHandler(const metrics::Registry& registry, ReadinessCheck ready) {
  return [&registry, ready = std::move(ready)](Request& req, ResponseWriter& w) {
    const bool known = req.path == "/metrics" || req.path == "/healthz" || req.path == "/readyz";
    if (!known) {
      SendText(w, 404, kTextPlain, "not found\n");
      return;
    }
    if (req.method != "GET") {
      SendText(w, 405, kTextPlain, "method not allowed\n", Headers{{"Allow", "GET"}});
      return;
    }
    if (req.path == "/metrics") {
      SendText(w, 200, metrics::kExpositionContentType, registry.Exposition());
    } else if (req.path == "/healthz") {
      SendText(w, 200, kTextPlain, "ok");
    } else {
      Status st = ready ? ready() : absl::OkStatus();
      if (st.ok()) {
        SendText(w, 200, kTextPlain, "ok");
      } else {
        SendText(w, 503, kTextPlain, "not ready: " + std::string(st.message()) + "\n");
      }
    }
  };
}

StatusOr<std::unique_ptr<Server>> StartMetricsServer(const MetricsEndpointOptions& options,
                                                     const metrics::Registry& registry) {
  ServerOptions so;
  so.listen = options.listen;
  // Go's net.Listen(":8085") listens on every interface; Server::Start wants an explicit host.
  if (!so.listen.empty() && so.listen.front() == ':') so.listen = "0.0.0.0" + so.listen;
  so.max_body_bytes = 64 * 1024;  // GET only: no real body is ever accepted
  return Server::Start(std::move(so), MetricsHandler(registry, options.ready));
}

}  // namespace lifeboat::http
