// Load driver for kubesim's benchmark (bench/kubesim_bench.sh): parallel creates, paginated
// lists, and a transport baseline (GET /healthz over the same keep-alive HTTPS connections),
// all against one running kubesim. Prints one JSON object with the figures.
//
//   kubesim_load --server https://127.0.0.1:PORT --token T --ca ca.pem
//                --namespace bench --creates 100000 --threads 8 --page 500

#include <curl/curl.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "CLI/CLI.hpp"
#include "boost/json.hpp"

namespace {

struct Options {
  std::string server, token, ca, ns = "bench";
  int creates = 100000;
  int threads = 8;
  int page = 500;
  int baseline_requests = 4000;
};

size_t Collect(char* p, size_t s, size_t n, void* out) {
  static_cast<std::string*>(out)->append(p, s * n);
  return s * n;
}

class Conn {
 public:
  explicit Conn(const Options& o) : o_(o), curl_(curl_easy_init()) {
    auth_ = curl_slist_append(nullptr, ("Authorization: Bearer " + o.token).c_str());
    auth_ = curl_slist_append(auth_, "Content-Type: application/json");
    curl_easy_setopt(curl_, CURLOPT_HTTPHEADER, auth_);
    curl_easy_setopt(curl_, CURLOPT_CAINFO, o.ca.c_str());
    curl_easy_setopt(curl_, CURLOPT_WRITEFUNCTION, Collect);
    curl_easy_setopt(curl_, CURLOPT_TCP_NODELAY, 1L);
  }
  ~Conn() {
    curl_slist_free_all(auth_);
    curl_easy_cleanup(curl_);
  }
  long Do(const std::string& method, const std::string& path, const std::string& body, std::string* out) {
    out->clear();
    curl_easy_setopt(curl_, CURLOPT_URL, (o_.server + path).c_str());
    curl_easy_setopt(curl_, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(curl_, CURLOPT_CUSTOMREQUEST, method.c_str());
    if (method == "POST") {
      curl_easy_setopt(curl_, CURLOPT_POSTFIELDS, body.c_str());
      curl_easy_setopt(curl_, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
    } else {
      curl_easy_setopt(curl_, CURLOPT_HTTPGET, 1L);
      curl_easy_setopt(curl_, CURLOPT_CUSTOMREQUEST, nullptr);
    }
    if (curl_easy_perform(curl_) != CURLE_OK) return -1;
    long code = 0;
    curl_easy_getinfo(curl_, CURLINFO_RESPONSE_CODE, &code);
    return code;
  }

 private:
  const Options& o_;
  CURL* curl_;
  curl_slist* auth_ = nullptr;
};

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

// Runs fn(conn, i) for i in [0, n) spread over the threads; returns wall seconds and failures.
template <typename Fn>
std::pair<double, int> Parallel(const Options& o, int n, Fn fn) {
  std::atomic<int> next{0}, failures{0};
  auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> ts;
  for (int t = 0; t < o.threads; ++t) {
    ts.emplace_back([&] {
      Conn c(o);
      for (int i = next++; i < n; i = next++) {
        if (!fn(c, i)) ++failures;
      }
    });
  }
  for (auto& t : ts) t.join();
  return {Seconds(start), failures.load()};
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{"kubesim load driver"};
  app.add_option("--server", o.server)->required();
  app.add_option("--token", o.token)->required();
  app.add_option("--ca", o.ca)->required();
  app.add_option("--namespace", o.ns);
  app.add_option("--creates", o.creates);
  app.add_option("--threads", o.threads);
  app.add_option("--page", o.page);
  app.add_option("--baseline-requests", o.baseline_requests);
  CLI11_PARSE(app, argc, argv);
  curl_global_init(CURL_GLOBAL_DEFAULT);

  std::string out;
  {
    Conn c(o);
    c.Do("POST", "/api/v1/namespaces",
         R"({"apiVersion":"v1","kind":"Namespace","metadata":{"name":")" + o.ns + R"("}})", &out);
  }
  // Transport baseline: the cheapest authenticated round trip on the same connections.
  auto [base_s, base_fail] = Parallel(o, o.baseline_requests, [&](Conn& c, int) {
    std::string r;
    return c.Do("GET", "/version", "", &r) == 200;
  });
  const std::string prefix = "/api/v1/namespaces/" + o.ns + "/configmaps";
  auto [create_s, create_fail] = Parallel(o, o.creates, [&](Conn& c, int i) {
    std::string r;
    std::string body = R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"cm-)" + std::to_string(i) +
                       R"(","labels":{"app":"bench","shard":")" + std::to_string(i % 16) +
                       R"("}},"data":{"key":"value-)" + std::to_string(i) + R"(","other":"some small payload"}})";
    return c.Do("POST", prefix, body, &r) == 201;
  });
  // Paginated list of everything, as a backup would read it.
  Conn c(o);
  std::string cont;
  long items = 0, pages = 0, ours = 0;
  auto list_start = std::chrono::steady_clock::now();
  bool list_ok = true;
  do {
    std::string path = prefix + "?limit=" + std::to_string(o.page);
    if (!cont.empty()) path += "&continue=" + cont;
    if (c.Do("GET", path, "", &out) != 200) {
      list_ok = false;
      break;
    }
    boost::json::value v = boost::json::parse(out);
    for (const auto& item : v.at("items").as_array()) {
      ++items;
      // Every namespace also holds kube-root-ca.crt: count ours by their label.
      const auto* labels = item.at("metadata").as_object().if_contains("labels");
      if (labels != nullptr && labels->is_object() && labels->as_object().if_contains("app") != nullptr &&
          labels->as_object().at("app") == "bench") {
        ++ours;
      }
    }
    ++pages;
    const auto& meta = v.at("metadata").as_object();
    auto it = meta.find("continue");
    cont = it != meta.end() ? std::string(it->value().as_string()) : "";
  } while (!cont.empty());
  double list_s = Seconds(list_start);

  boost::json::object r;
  r["baseline_requests_per_s"] = o.baseline_requests / base_s;
  r["baseline_failures"] = base_fail;
  r["creates"] = o.creates;
  r["create_threads"] = o.threads;
  r["creates_per_s"] = o.creates / create_s;
  r["create_failures"] = create_fail;
  r["create_vs_baseline"] = (o.creates / create_s) / (o.baseline_requests / base_s);
  r["listed_items"] = items;
  r["list_pages"] = pages;
  r["list_ok"] = list_ok;
  r["list_objects_per_s"] = items / list_s;
  r["list_pages_per_s_vs_baseline"] = (pages / list_s) / (o.baseline_requests / base_s);
  std::printf("%s\n", boost::json::serialize(r).c_str());
  curl_global_cleanup();
  return (create_fail == 0 && list_ok && ours == o.creates) ? 0 : 1;
}
