// Lists every config map of a namespace in pages, twice per round: with plain libcurl (the
// baseline: fetch the pages, find the continue token, no parse) and through the kube library
// (RestClient + DynamicClient + ListAllPages: auth, rate limiter — unlimited here —, parse of
// every page into Boost.JSON). Prints JSON with objects/s of both and their ratio (best of
// --rounds). Issue 3's target: the library at ≥ 90% of curl's throughput.

#include <chrono>
#include <cstdio>
#include <string>

#include <curl/curl.h>

#include <CLI/CLI.hpp>
#include <boost/json.hpp>

#include "lifeboat/kube/config.h"
#include "lifeboat/kube/discovery.h"
#include "lifeboat/kube/dynamic_client.h"
#include "lifeboat/kube/rest_client.h"

namespace {

size_t Collect(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

double Seconds(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// The continue token of a list body without parsing it (what `curl | grep` would do).
std::string ContinueToken(const std::string& body) {
  size_t pos = body.find("\"continue\":\"");
  if (pos == std::string::npos) return "";
  pos += 12;
  size_t end = body.find('"', pos);
  return body.substr(pos, end - pos);
}

long CurlList(const std::string& server, const std::string& token, const std::string& ca, const std::string& ns,
              int page, long& pages) {
  CURL* c = curl_easy_init();
  curl_slist* headers = curl_slist_append(nullptr, ("Authorization: Bearer " + token).c_str());
  headers = curl_slist_append(headers, "Accept: application/json");
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(c, CURLOPT_CAINFO, ca.c_str());
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, Collect);
  std::string body, cont;
  long bytes = 0;
  pages = 0;
  do {
    std::string url = server + "/api/v1/namespaces/" + ns + "/configmaps?limit=" + std::to_string(page);
    if (!cont.empty()) {
      char* esc = curl_easy_escape(c, cont.c_str(), static_cast<int>(cont.size()));
      url += "&continue=" + std::string(esc);
      curl_free(esc);
    }
    body.clear();
    curl_easy_setopt(c, CURLOPT_URL, url.c_str());
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
    if (curl_easy_perform(c) != CURLE_OK) break;
    bytes += static_cast<long>(body.size());
    ++pages;
    cont = ContinueToken(body);
  } while (!cont.empty());
  curl_slist_free_all(headers);
  curl_easy_cleanup(c);
  return bytes;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"kube library list throughput vs curl"};
  std::string kubeconfig, ns = "bench", ca;
  int page = 500, rounds = 3;
  std::string only;  // "curl" or "library": profile one side alone
  app.add_option("--only", only);
  app.add_option("--kubeconfig", kubeconfig)->required();
  app.add_option("--ca", ca)->required();
  app.add_option("--namespace", ns);
  app.add_option("--page", page);
  app.add_option("--rounds", rounds);
  CLI11_PARSE(app, argc, argv);

  auto config = lifeboat::kube::LoadKubeconfig({.explicit_path = kubeconfig});
  if (!config.ok()) {
    std::fprintf(stderr, "%s\n", config.status().ToString().c_str());
    return 1;
  }
  lifeboat::kube::RestClientOptions ro;
  ro.qps = 0;  // unlimited: measure the library, not its throttle
  auto rest = lifeboat::kube::RestClient::Create(*config, ro);
  if (!rest.ok()) {
    std::fprintf(stderr, "%s\n", rest.status().ToString().c_str());
    return 1;
  }
  lifeboat::kube::Discovery discovery(rest->get());
  lifeboat::kube::DynamicClient client(rest->get(), &discovery);
  lifeboat::kube::GroupVersionResource gvr{"", "v1", "configmaps"};

  double best_curl = 0, best_lib = 0;
  long objects = 0, pages = 0;
  for (int r = 0; r < rounds; ++r) {
    auto start = std::chrono::steady_clock::now();
    long curl_pages = 0;
    if (only != "library") CurlList(config->server, config->bearer_token, ca, ns, page, curl_pages);
    double curl_s = Seconds(start);

    start = std::chrono::steady_clock::now();
    if (only == "curl") continue;
    lifeboat::kube::ListAllOptions lo;
    lo.page_size = page;
    auto result = lifeboat::kube::ListAllPages(client, gvr, ns, lo, [&](boost::json::array& items) {
      return absl::OkStatus();
    });
    double lib_s = Seconds(start);
    if (!result.ok()) {
      std::fprintf(stderr, "%s\n", result.status().ToString().c_str());
      return 1;
    }
    objects = result->items;
    pages = result->pages;
    if (only.empty() && curl_pages != pages) {
      std::fprintf(stderr, "curl read %ld pages, the library %ld\n", curl_pages, pages);
      return 1;
    }
    best_curl = std::max(best_curl, objects / curl_s);
    best_lib = std::max(best_lib, objects / lib_s);
  }
  boost::json::object out{{"objects", objects},
                          {"pages", pages},
                          {"curl_objects_per_s", best_curl},
                          {"library_objects_per_s", best_lib},
                          {"library_vs_curl", best_lib / best_curl}};
  std::printf("%s\n", boost::json::serialize(out).c_str());
  return 0;
}
