// bench_http: pipeline::http over loopback.
//
// BM_Http_PushAck: a Pub/Sub push envelope (a unified completion, base64) POSTed to the
// push endpoint, decoded, handed to a handler that acks, answered 200 — per request, on
// one kept-alive connection per client thread, 2 client threads, one server I/O thread.
// Includes: the client's write and read syscalls, HTTP parsing on both sides, the
// envelope's JSON parse and base64 decode, the message decode, the ack. Excludes: TLS,
// any store (the handler only acks). items_per_second is requests/s over both threads;
// p50_us / p99_us are each thread's request latency percentiles, averaged over threads.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>
#include <nlohmann/json.hpp>

#include "pipeline/core/best_effort_settle.hpp"
#include "pipeline/core/message_codec.hpp"
#include "pipeline/http/http_server.hpp"
#include "pipeline/http/push.hpp"

namespace {

struct Server {
  std::unique_ptr<pipeline::http::HttpServer> server;
  std::atomic<std::uint64_t> acked{0};
  std::string request;
};

Server& server() {
  static Server* s = [] {
    auto* out = new Server;  // lives for the process: benchmark threads use it until exit
    pipeline::http::Router router;
    auto added = router.add("POST", "/push", pipeline::http::push_endpoint(
                                                 [out](pipeline::DeliveryPtr d) {
                                                   pipeline::best_effort_ack(*d);
                                                   out->acked.fetch_add(1, std::memory_order_relaxed);
                                                 },
                                                 {"phase4-complete", "bench"}));
    if (!added) std::abort();  // a constant route: refused only by a bug
    pipeline::http::HttpServerOptions o;
    o.log = [](std::string_view) {};
    auto created = pipeline::http::HttpServer::create(std::move(router), o);
    if (!created || !(*created)->start()) std::abort();
    out->server = std::move(*created);
    pipeline::Message m;
    m.processor_name = "ml_feature_store";
    m.phase = "phase4_precompute";
    m.execution_id = "exec-1";
    m.partition_date = *pipeline::CalendarDate::parse("2025-11-18");
    m.entities_changed = pipeline::EntityChanges{{"players", {"p001", "p002", "p003"}}};
    const std::string body =
        nlohmann::json{{"message",
                        {{"data", pipeline::http::base64_encode(pipeline::encode_message(m))},
                         {"messageId", "1"},
                         {"publishTime", "2025-11-18T06:00:00Z"}}},
                       {"subscription", "projects/p/subscriptions/bench"}}
            .dump();
    out->request = "POST /push HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\nContent-Length: " +
                   std::to_string(body.size()) + "\r\n\r\n" + body;
    return out;
  }();
  return *s;
}

int connect_to(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) std::abort();
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

// Reads one response (headers + Content-Length body); returns its status code.
int read_response(int fd, std::string& buf) {
  buf.clear();
  for (;;) {
    const auto end = buf.find("\r\n\r\n");
    if (end != std::string::npos) {
      const auto cl = buf.find("Content-Length: ");
      const std::size_t length = cl == std::string::npos ? 0 : std::strtoul(buf.c_str() + cl + 16, nullptr, 10);
      if (buf.size() >= end + 4 + length) return std::atoi(buf.c_str() + 9);
    }
    char tmp[4096];
    const ssize_t n = ::read(fd, tmp, sizeof tmp);
    if (n <= 0) return 0;
    buf.append(tmp, static_cast<std::size_t>(n));
  }
}

void BM_Http_PushAck(benchmark::State& state) {
  Server& s = server();
  const int fd = connect_to(s.server->port());
  std::vector<double> latencies;
  latencies.reserve(1 << 16);
  std::string buf;
  for (auto _ : state) {
    const auto t0 = std::chrono::steady_clock::now();
    if (::write(fd, s.request.data(), s.request.size()) != static_cast<ssize_t>(s.request.size())) std::abort();
    if (read_response(fd, buf) != 200) {
      state.SkipWithError("the push was not acked");
      break;
    }
    latencies.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
  }
  ::close(fd);
  state.SetItemsProcessed(state.iterations());
  if (!latencies.empty()) {
    std::sort(latencies.begin(), latencies.end());
    auto pct = [&](double p) { return latencies[std::min(latencies.size() - 1, static_cast<std::size_t>(p * latencies.size()))]; };
    state.counters["p50_us"] = benchmark::Counter(pct(0.50), benchmark::Counter::kAvgThreads);
    state.counters["p99_us"] = benchmark::Counter(pct(0.99), benchmark::Counter::kAvgThreads);
  }
}
BENCHMARK(BM_Http_PushAck)->Threads(2)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
