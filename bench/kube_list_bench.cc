// Lists every config map of a namespace in pages, twice per round: with plain libcurl (the
// baseline: fetch the pages, find the continue token, no parse) and through the kube library
// (RestClient + DynamicClient + a pager: auth, rate limiter — unlimited here —, and the parse of
// every page). `--mode lazy` (the default): ListAllLazyPages, every page parsed whole by
// simdjson into a JsonTape and delivered as LazyItems, each item's name read; `--mode scoped`:
// ListAllScopedPages, Boost.JSON DOM items valid while their page lives; `--mode counted`:
// ListAllPages, DOM items holding counted references to their page's arena; `--mode scan`: an
// old experiment, a SAX pass over each page through the library's RestClient, one page at a
// time, building nothing. Prints JSON with objects/s of both and their ratio (best of
// --rounds), the median of the per-round ratios, and the CPU time this process spent on each
// side (user + system, all threads; the server's CPU is not included). Issue 3's target: the
// library at >= 90% of curl's throughput.
//
// Fairness: both sides send the same Accept-Encoding (gzip: the library's default; kubesim
// answers uncompressed either way), use HTTP keep-alive over one libcurl connection cache with
// TLS, ask for the same pages (limit, continue) and must read the same number of pages. The
// order of the two sides alternates from round to round so that neither always runs first on a
// machine whose load changes.

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include <curl/curl.h>

#include <CLI/CLI.hpp>
#include <boost/json.hpp>
#include <boost/json/basic_parser_impl.hpp>

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

// User + system CPU seconds of this process so far (every thread).
double CpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

double Median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v.size() % 2 == 1 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

// The continue token of a list body without parsing it (what `curl | grep` would do).
std::string ContinueToken(const std::string& body) {
  size_t pos = body.find("\"continue\":\"");
  if (pos == std::string::npos) return "";
  pos += 12;
  size_t end = body.find('"', pos);
  return body.substr(pos, end - pos);
}

// `--mode scan`: what the library's transport plus one SAX pass over each page costs, without
// building any item (the experiment that led to the lazy pager). Counts the items and takes
// metadata.continue.
struct ScanHandler {
  static constexpr std::size_t max_object_size = std::size_t(-1);
  static constexpr std::size_t max_array_size = std::size_t(-1);
  static constexpr std::size_t max_key_size = std::size_t(-1);
  static constexpr std::size_t max_string_size = std::size_t(-1);
  int depth = 0;
  std::string key;       // the key being read (depth <= 2)
  std::string root_key;  // the last key of the list object itself
  bool in_metadata = false, in_items = false, at_continue = false;
  std::string value, continue_token;
  long items = 0;

  bool on_document_begin(boost::json::error_code&) { return true; }
  bool on_document_end(boost::json::error_code&) { return true; }
  bool on_object_begin(boost::json::error_code&) {
    ++depth;
    if (depth == 2) in_metadata = root_key == "metadata";
    if (depth == 3 && in_items) ++items;
    return true;
  }
  bool on_object_end(std::size_t, boost::json::error_code&) {
    if (depth-- == 2) in_metadata = false;
    return true;
  }
  bool on_array_begin(boost::json::error_code&) {
    if (++depth == 2) in_items = root_key == "items";
    return true;
  }
  bool on_array_end(std::size_t, boost::json::error_code&) {
    if (depth-- == 2) in_items = false;
    return true;
  }
  bool on_key_part(boost::json::string_view s, std::size_t, boost::json::error_code&) {
    if (depth <= 2) key.append(s.data(), s.size());
    return true;
  }
  bool on_key(boost::json::string_view s, std::size_t, boost::json::error_code&) {
    if (depth > 2) return true;
    key.append(s.data(), s.size());
    if (depth == 1) root_key = key;
    at_continue = depth == 2 && in_metadata && key == "continue";
    key.clear();
    return true;
  }
  bool on_string_part(boost::json::string_view s, std::size_t, boost::json::error_code&) {
    if (at_continue) value.append(s.data(), s.size());
    return true;
  }
  bool on_string(boost::json::string_view s, std::size_t, boost::json::error_code&) {
    if (at_continue) {
      value.append(s.data(), s.size());
      continue_token.swap(value);
      value.clear();
      at_continue = false;
    }
    return true;
  }
  bool on_number_part(boost::json::string_view, boost::json::error_code&) { return true; }
  bool on_int64(std::int64_t, boost::json::string_view, boost::json::error_code&) { return true; }
  bool on_uint64(std::uint64_t, boost::json::string_view, boost::json::error_code&) { return true; }
  bool on_double(double, boost::json::string_view, boost::json::error_code&) { return true; }
  bool on_bool(bool, boost::json::error_code&) { return true; }
  bool on_null(boost::json::error_code&) { return true; }
  bool on_comment_part(boost::json::string_view, boost::json::error_code&) { return true; }
  bool on_comment(boost::json::string_view, boost::json::error_code&) { return true; }
};

// Lists through the library's RestClient (same transport, auth and pooling as the pager), one
// page after the other, each streamed through ScanHandler. Returns the items seen.
long ScanList(lifeboat::kube::RestClient& rest, const std::string& ns, int page, long& pages,
              std::string& error) {
  std::string cont;
  long items = 0;
  pages = 0;
  do {
    boost::json::basic_parser<ScanHandler> parser{boost::json::parse_options{}};
    lifeboat::kube::RestRequest req;
    req.path = "/api/v1/namespaces/" + ns + "/configmaps";
    req.query = {{"limit", std::to_string(page)}};
    if (!cont.empty()) req.query.emplace_back("continue", cont);
    req.finite_stream = true;
    req.on_body = [&](std::string_view chunk) {
      boost::json::error_code ec;
      parser.write_some(true, chunk.data(), chunk.size(), ec);
      return !ec;
    };
    auto resp = rest.Do(req);
    if (!resp.ok()) {
      error = resp.status().ToString();
      return -1;
    }
    ++pages;
    items += parser.handler().items;
    cont = parser.handler().continue_token;
  } while (!cont.empty());
  return items;
}

long CurlList(const std::string& server, const std::string& token, const std::string& ca, const std::string& ns,
              int page, long& pages) {
  CURL* c = curl_easy_init();
  curl_slist* headers = curl_slist_append(nullptr, ("Authorization: Bearer " + token).c_str());
  headers = curl_slist_append(headers, "Accept: application/json");
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
  // What the library asks for (RestConfig::disable_compression is false by default); libcurl
  // inflates a gzip answer as the library's client does.
  curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "gzip");
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
  std::string mode = "lazy";  // the pager the library side uses
  app.add_option("--mode", mode)->check(CLI::IsMember({"scoped", "counted", "scan", "lazy"}));
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
  double min_curl_cpu = 0, min_lib_cpu = 0;
  std::vector<double> ratios;
  boost::json::array per_round;
  long objects = 0, pages = 0;
  for (int r = 0; r < rounds; ++r) {
    long curl_pages = 0;
    double curl_s = 0, curl_cpu = 0, lib_s = 0, lib_cpu = 0;
    auto run_curl = [&] {
      if (only == "library") return true;
      double cpu = CpuSeconds();
      auto start = std::chrono::steady_clock::now();
      CurlList(config->server, config->bearer_token, ca, ns, page, curl_pages);
      curl_s = Seconds(start);
      curl_cpu = CpuSeconds() - cpu;
      return true;
    };
    auto run_library = [&] {
      if (only == "curl") return true;
      double cpu = CpuSeconds();
      auto start = std::chrono::steady_clock::now();
      lifeboat::kube::ListAllOptions lo;
      lo.page_size = page;
      if (mode == "scan") {
        std::string error;
        long scanned_pages = 0;
        long scanned = ScanList(**rest, ns, page, scanned_pages, error);
        lib_s = Seconds(start);
        lib_cpu = CpuSeconds() - cpu;
        if (scanned < 0) {
          std::fprintf(stderr, "%s\n", error.c_str());
          return false;
        }
        objects = scanned;
        pages = scanned_pages;
        return true;
      }
      long unnamed = 0;
      auto result =
          mode == "lazy"
              ? lifeboat::kube::ListAllLazyPages(client, gvr, ns, lo,
                                                 [&](lifeboat::kube::LazyPage& p) {
                                                   for (const auto& item : p.items) unnamed += item.Name().empty();
                                                   return absl::OkStatus();
                                                 })
          : mode == "scoped"
              ? lifeboat::kube::ListAllScopedPages(client, gvr, ns, lo,
                                                   [&](lifeboat::kube::ListPage&) { return absl::OkStatus(); })
              : lifeboat::kube::ListAllPages(client, gvr, ns, lo,
                                             [&](boost::json::array&) { return absl::OkStatus(); });
      lib_s = Seconds(start);
      lib_cpu = CpuSeconds() - cpu;
      if (!result.ok()) {
        std::fprintf(stderr, "%s\n", result.status().ToString().c_str());
        return false;
      }
      if (unnamed > 0) {
        std::fprintf(stderr, "%ld listed objects have no name\n", unnamed);
        return false;
      }
      objects = result->items;
      pages = result->pages;
      return true;
    };
    // Alternate which side goes first.
    bool ok = r % 2 == 0 ? run_curl() && run_library() : run_library() && run_curl();
    if (!ok) return 1;
    if (only == "curl") {
      std::fprintf(stderr, "curl: %ld pages in %.3f s, %.3f CPU-s\n", curl_pages, curl_s, curl_cpu);
      continue;
    }
    if (only.empty() && curl_pages != pages) {
      std::fprintf(stderr, "curl read %ld pages, the library %ld\n", curl_pages, pages);
      return 1;
    }
    if (only.empty()) {
      best_curl = std::max(best_curl, objects / curl_s);
      ratios.push_back(curl_s / lib_s);
      min_curl_cpu = r == 0 ? curl_cpu : std::min(min_curl_cpu, curl_cpu);
    }
    best_lib = std::max(best_lib, objects / lib_s);
    min_lib_cpu = r == 0 ? lib_cpu : std::min(min_lib_cpu, lib_cpu);
    per_round.push_back(boost::json::object{{"curl_s", curl_s},
                                            {"library_s", lib_s},
                                            {"curl_cpu_s", curl_cpu},
                                            {"library_cpu_s", lib_cpu},
                                            {"library_first", r % 2 == 1}});
  }
  boost::json::object out{{"mode", mode},
                          {"objects", objects},
                          {"pages", pages},
                          {"rounds", rounds},
                          {"curl_objects_per_s", best_curl},
                          {"library_objects_per_s", best_lib},
                          {"library_vs_curl", best_curl > 0 ? best_lib / best_curl : 0.0},
                          {"median_round_ratio", Median(ratios)},
                          {"curl_cpu_s", min_curl_cpu},
                          {"library_cpu_s", min_lib_cpu},
                          {"per_round", std::move(per_round)}};
  std::printf("%s\n", boost::json::serialize(out).c_str());
  return 0;
}
