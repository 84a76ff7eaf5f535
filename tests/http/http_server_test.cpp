// HttpServer, Router and the operations endpoints, driven by the real curl binary.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <fstream>

#include <gtest/gtest.h>

#include "curl_client.hpp"
#include "pipeline/http/http_server.hpp"
#include "pipeline/http/operations.hpp"
#include "spin_until.hpp"
#include "temp_dir.hpp"

namespace {

using pipeline::http::HttpRequest;
using pipeline::http::HttpResponse;
using pipeline::http::HttpServer;
using pipeline::http::HttpServerOptions;
using pipeline::http::Router;
using pipeline::testing::run_curl;
using pipeline::testing::TempDir;

// Log lines of a server, read by the test thread after the server stopped or under a lock.
struct LogLines {
  std::mutex mu;
  std::vector<std::string> lines;
  std::function<void(std::string_view)> sink() {
    return [this](std::string_view line) {
      std::lock_guard lock(mu);
      lines.emplace_back(line);
    };
  }
  std::size_t count_containing(std::string_view part) {
    std::lock_guard lock(mu);
    std::size_t n = 0;
    for (const auto& l : lines) n += l.find(part) != std::string::npos ? 1 : 0;
    return n;
  }
};

class HttpServerTest : public ::testing::Test {
 protected:
  void start(HttpServerOptions options = {}) {
    options.log = log.sink();
    if (!options.metrics) options.metrics = &metrics;
    Router router;
    ASSERT_TRUE(router.add("GET", "/hello", [this](const HttpRequest& r) {
      ++hellos;
      return HttpResponse::text(200, "hello " + std::string(r.query_param("name").value_or("world")) + "\n");
    }));
    ASSERT_TRUE(router.add("POST", "/echo", [](const HttpRequest& r) {
      return HttpResponse::json(200, {{"bytes", r.body.size()}, {"media", r.media_type()}});
    }));
    ASSERT_TRUE(router.add("GET", "/throw", [](const HttpRequest&) -> HttpResponse {
      throw std::runtime_error("boom");
    }));
    ASSERT_TRUE(pipeline::http::mount_operations(router, {&metrics, [this] { return readiness; }, "test"}));
    auto s = HttpServer::create(std::move(router), std::move(options));
    ASSERT_TRUE(s) << s.error().message;
    server = std::move(*s);
    ASSERT_TRUE(server->start());
  }
  std::string url(const std::string& path) const { return "http://127.0.0.1:" + std::to_string(server->port()) + path; }
  std::string write_file(const std::string& name, std::size_t bytes) {
    const std::string path = dir.file(name);
    std::ofstream(path, std::ios::binary) << std::string(bytes, 'x');
    return path;
  }
  // A raw TCP connection to the server (for what curl cannot do: stall mid-request).
  int connect_raw() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(server->port());
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    return fd;
  }
  static std::string read_all(int fd) {
    std::string out;
    char buf[4096];
    for (;;) {
      const ssize_t n = ::read(fd, buf, sizeof buf);
      if (n <= 0) break;
      out.append(buf, static_cast<std::size_t>(n));
    }
    return out;
  }

  TempDir dir;
  LogLines log;
  pipeline::MetricsRegistry metrics = pipeline::MetricsRegistry::create().value();
  pipeline::http::ReadinessReport readiness;  // read on the I/O thread; set before requests
  std::atomic<int> hellos{0};
  std::unique_ptr<HttpServer> server;
};

TEST_F(HttpServerTest, ServesMountedHandlerWithQueryAndRequestId) {
  start();
  auto r = run_curl(dir.path(), {"-H", "X-Request-Id: abc-123", url("/hello?name=ops%20team")});
  EXPECT_EQ(r.exit_code, 0) << r.stderr_text;
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "hello ops team\n");
  EXPECT_TRUE(r.has_header("X-Request-Id: abc-123")) << r.headers;
  server->stop();
  EXPECT_EQ(log.count_containing("request_id=abc-123"), 1U);
}

TEST_F(HttpServerTest, UnknownPathIs404AndWrongMethodIs405WithAllow) {
  start();
  auto r = run_curl(dir.path(), {url("/nope")});
  EXPECT_EQ(r.status, 404);
  EXPECT_NE(r.body.find("\"code\":\"not_found\""), std::string::npos) << r.body;
  r = run_curl(dir.path(), {"-X", "DELETE", url("/hello")});
  EXPECT_EQ(r.status, 405);
  EXPECT_TRUE(r.has_header("Allow: GET")) << r.headers;
  r = run_curl(dir.path(), {"-I", url("/hello")});
  EXPECT_EQ(r.status, 200);
  EXPECT_TRUE(r.has_header("Content-Length: 12")) << r.headers;
}

TEST_F(HttpServerTest, ThrowingHandlerIs500AndServerGoesOn) {
  start();
  auto r = run_curl(dir.path(), {url("/throw")});
  EXPECT_EQ(r.status, 500);
  EXPECT_NE(r.body.find("\"code\":\"internal\""), std::string::npos);
  EXPECT_EQ(run_curl(dir.path(), {url("/health")}).status, 200);
}

TEST_F(HttpServerTest, BearerTokenGuardsEverythingButHealthAndReady) {
  HttpServerOptions o;
  o.token = "s3cret-token";
  start(o);
  auto r = run_curl(dir.path(), {url("/hello")});
  EXPECT_EQ(r.status, 401);
  EXPECT_TRUE(r.has_header("WWW-Authenticate: Bearer")) << r.headers;
  EXPECT_EQ(run_curl(dir.path(), {"-H", "Authorization: Bearer wrong", url("/hello")}).status, 401);
  EXPECT_EQ(run_curl(dir.path(), {"-H", "Authorization: Bearer s3cret-token-and-more", url("/hello")}).status, 401);
  EXPECT_EQ(run_curl(dir.path(), {"-H", "Authorization: Basic czNjcmV0LXRva2Vu", url("/hello")}).status, 401);
  EXPECT_EQ(run_curl(dir.path(), {"-H", "Authorization: Bearer s3cret-token", url("/hello")}).status, 200);
  EXPECT_EQ(run_curl(dir.path(), {url("/health")}).status, 200);
  EXPECT_EQ(run_curl(dir.path(), {url("/ready")}).status, 200);
  EXPECT_EQ(run_curl(dir.path(), {url("/metrics")}).status, 401);
  server->stop();
  EXPECT_EQ(log.count_containing("s3cret"), 0U);
  EXPECT_EQ(log.count_containing("without a token"), 0U);
}

TEST(HttpServerCreate, RefusesNonLoopbackAddressWithoutToken) {
  HttpServerOptions o;
  o.bind_address = "0.0.0.0";
  auto s = HttpServer::create(Router{}, o);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, pipeline::ErrorCode::kInvalidArgument);
  EXPECT_NE(s.error().message.find("refusing to bind 0.0.0.0 without a token"), std::string::npos)
      << s.error().message;
  o.token = "t";
  EXPECT_TRUE(HttpServer::create(Router{}, o));
  o.bind_address = "not-an-address";
  EXPECT_FALSE(HttpServer::create(Router{}, o));
  EXPECT_TRUE(pipeline::http::is_loopback_address("127.0.0.1"));
  EXPECT_TRUE(pipeline::http::is_loopback_address("::1"));
  EXPECT_FALSE(pipeline::http::is_loopback_address("10.0.0.1"));
}

TEST_F(HttpServerTest, LoopbackWithoutTokenServesAndWarnsOnce) {
  start();
  EXPECT_EQ(run_curl(dir.path(), {url("/hello")}).status, 200);
  EXPECT_EQ(run_curl(dir.path(), {url("/hello")}).status, 200);
  server->stop();
  EXPECT_EQ(log.count_containing("without a token"), 1U);
}

TEST(HttpTokenFile, LoadsTrimmedTokenAndNamesTheFileNeverTheToken) {
  TempDir dir;
  std::ofstream(dir.file("token")) << "  abc.DEF-123 \n";
  auto t = pipeline::http::load_token_file(dir.file("token"));
  ASSERT_TRUE(t) << t.error().message;
  EXPECT_EQ(*t, "abc.DEF-123");
  std::ofstream(dir.file("empty")) << "\n";
  EXPECT_FALSE(pipeline::http::load_token_file(dir.file("empty")));
  std::ofstream(dir.file("two")) << "abc def\n";
  auto two = pipeline::http::load_token_file(dir.file("two"));
  ASSERT_FALSE(two);
  EXPECT_EQ(two.error().message.find("abc"), std::string::npos);
  EXPECT_EQ(pipeline::http::load_token_file(dir.file("missing")).error().code, pipeline::ErrorCode::kNotFound);
}

TEST_F(HttpServerTest, OversizedBodyIs413AndTheClientReadsIt) {
  HttpServerOptions o;
  o.max_body_bytes = 64 * 1024;
  start(o);
  // Announced by Content-Length (answered before the body; curl sends Expect for big bodies
  // or not, either way it reads the 413, not a reset).
  const auto big = write_file("big", 3 * 1024 * 1024);
  auto r = run_curl(dir.path(), {"-H", "Content-Type: application/json", "--data-binary", "@" + big, url("/echo")});
  EXPECT_EQ(r.exit_code, 0) << r.stderr_text;
  EXPECT_EQ(r.status, 413);
  EXPECT_NE(r.body.find("body_too_large"), std::string::npos) << r.body;
  // Without Expect: curl sends the body straight away; the rest is drained.
  r = run_curl(dir.path(),
               {"-H", "Expect:", "-H", "Content-Type: application/json", "--data-binary", "@" + big, url("/echo")});
  EXPECT_EQ(r.exit_code, 0) << r.stderr_text;
  EXPECT_EQ(r.status, 413);
  // Chunked (no length known up front): the parser's limit answers 413 mid-body.
  r = run_curl(dir.path(), {"-H", "Transfer-Encoding: chunked", "-H", "Content-Type: application/json",
                            "--data-binary", "@" + big, url("/echo")});
  EXPECT_EQ(r.status, 413) << r.stderr_text;
  // The server is fine afterwards, and a body at the limit passes.
  const auto fits = write_file("fits", 64 * 1024);
  r = run_curl(dir.path(), {"-H", "Content-Type: application/json", "--data-binary", "@" + fits, url("/echo")});
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(r.body.find("\"bytes\":65536"), std::string::npos) << r.body;
}

TEST_F(HttpServerTest, LargeBodyWithinLimitIsReadWhole) {
  start();  // 10 MB default
  const auto body = write_file("body", 4 * 1024 * 1024);
  auto r = run_curl(dir.path(), {"-H", "Content-Type: application/json", "--data-binary", "@" + body, url("/echo")});
  EXPECT_EQ(r.status, 200) << r.stderr_text;
  EXPECT_NE(r.body.find("\"bytes\":4194304"), std::string::npos) << r.body;
}

TEST_F(HttpServerTest, OversizedHeadersAre431) {
  HttpServerOptions o;
  o.max_header_bytes = 4096;
  start(o);
  auto r = run_curl(dir.path(), {"-H", "X-Big: " + std::string(8000, 'h'), url("/hello")});
  EXPECT_EQ(r.exit_code, 0) << r.stderr_text;
  EXPECT_EQ(r.status, 431);
  EXPECT_EQ(run_curl(dir.path(), {url("/hello")}).status, 200);
}

TEST_F(HttpServerTest, SlowUploadIs408AndTheServerGoesOn) {
  HttpServerOptions o;
  o.request_timeout = std::chrono::milliseconds(500);
  start(o);
  const auto body = write_file("slow", 256 * 1024);
  // 2 KB/s: the body would take two minutes; the request timeout answers first.
  auto r = run_curl(dir.path(), {"--limit-rate", "2k", "-H", "Expect:", "-H", "Content-Type: application/json",
                                 "--data-binary", "@" + body, url("/echo")});
  EXPECT_EQ(r.status, 408) << r.stderr_text;
  EXPECT_EQ(run_curl(dir.path(), {url("/hello")}).status, 200);
}

TEST_F(HttpServerTest, StalledHeaderIs408OnRawSocket) {
  HttpServerOptions o;
  o.request_timeout = std::chrono::milliseconds(300);
  start(o);
  const int fd = connect_raw();
  const std::string part = "GET /hello HTTP/1.1\r\nHost: x\r\n";  // never finished
  ASSERT_EQ(::write(fd, part.data(), part.size()), static_cast<ssize_t>(part.size()));
  const std::string answer = read_all(fd);  // ends when the server closes
  ::close(fd);
  EXPECT_EQ(answer.rfind("HTTP/1.1 408", 0), 0U) << answer;
}

TEST_F(HttpServerTest, IdleKeepAliveConnectionIsClosedWithoutAnswer) {
  HttpServerOptions o;
  o.idle_timeout = std::chrono::milliseconds(200);
  start(o);
  const int fd = connect_raw();
  const std::string answer = read_all(fd);  // nothing sent: closed after the idle timeout
  ::close(fd);
  EXPECT_EQ(answer, "");
  EXPECT_TRUE(pipeline_test::spin_until([&] { return server->open_connections() == 0; }));
}

TEST_F(HttpServerTest, OverConnectionLimitIs503AndServedAfter) {
  HttpServerOptions o;
  o.max_connections = 1;
  start(o);
  const int held = connect_raw();
  ASSERT_TRUE(pipeline_test::spin_until([&] { return server->open_connections() == 1; }));
  auto r = run_curl(dir.path(), {url("/hello")});
  EXPECT_EQ(r.exit_code, 0) << r.stderr_text;
  EXPECT_EQ(r.status, 503);
  EXPECT_NE(r.body.find("overloaded"), std::string::npos);
  ::close(held);
  ASSERT_TRUE(pipeline_test::spin_until([&] { return server->open_connections() == 0; }));
  EXPECT_EQ(run_curl(dir.path(), {url("/hello")}).status, 200);
}

TEST_F(HttpServerTest, ConcurrentClientsWithKeepAliveAreAllServed) {
  start();
  constexpr int kClients = 6, kPerClient = 20;
  std::vector<std::string> urls;
  for (int i = 0; i < kPerClient; ++i) urls.push_back(url("/hello"));
  std::vector<pid_t> pids;
  for (int c = 0; c < kClients; ++c) {
    // One curl, many URLs: one kept-alive connection (-o for each URL).
    std::vector<std::string> args{"-sS", "--max-time", "60"};
    for (int i = 0; i < kPerClient; ++i) {
      args.push_back("-o");
      args.push_back("/dev/null");
      args.push_back(urls[static_cast<std::size_t>(i)]);
    }
    std::vector<char*> argv{const_cast<char*>("curl")};
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    const pid_t pid = ::fork();
    if (pid == 0) {
      ::execvp("curl", argv.data());
      ::_exit(127);
    }
    pids.push_back(pid);
  }
  for (pid_t pid : pids) {
    auto st = pipeline::testing::wait_child(pid, std::chrono::seconds(120));
    ASSERT_TRUE(st);
    EXPECT_TRUE(pipeline::testing::exited_cleanly(*st)) << pipeline::testing::describe_status(*st);
  }
  EXPECT_EQ(hellos.load(), kClients * kPerClient);
  EXPECT_EQ(metrics.counter_value("pipeline_http_requests_total", {{"method", "GET"}, {"route", "/hello"}, {"code", "200"}}),
            static_cast<std::uint64_t>(kClients * kPerClient));
}

TEST_F(HttpServerTest, ReadyAnswersFromTheProbe) {
  readiness.checks = {{"store", true, ""}, {"transport", false, "redis://127.0.0.1:6399 is not answering"}};
  start();
  auto r = run_curl(dir.path(), {url("/ready")});
  EXPECT_EQ(r.status, 503);
  EXPECT_NE(r.body.find("\"status\":\"not_ready\""), std::string::npos) << r.body;
  server->stop();
  readiness.checks[1].ok = true;
  start();
  r = run_curl(dir.path(), {url("/ready")});
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(r.body.find("\"status\":\"ready\""), std::string::npos) << r.body;
}

TEST_F(HttpServerTest, MetricsScrapePassesPromtool) {
  metrics.counter("pipeline_published_total", "Messages published", {{"topic", "t\"1"}})->add(3);
  metrics.gauge("pipeline_outbox_backlog", "Outbox rows not yet published")->set(2);
  metrics.histogram("pipeline_fanin_seconds", "Fan-in latency", {0.001, 0.01})->observe(0.005);
  start();
  ASSERT_EQ(run_curl(dir.path(), {url("/hello")}).status, 200);
  auto r = run_curl(dir.path(), {url("/metrics")});
  ASSERT_EQ(r.status, 200);
  EXPECT_TRUE(r.has_header("Content-Type: text/plain; version=0.0.4")) << r.headers;
  EXPECT_NE(r.body.find("pipeline_http_requests_total{code=\"200\",method=\"GET\",route=\"/hello\"} 1"),
            std::string::npos)
      << r.body;
  // A real scrape through promtool's parser and linter.
  auto [rc, out] = pipeline::testing::run_shell(
      dir.path().string(), "curl -sS --max-time 60 " + url("/metrics") + " | promtool check metrics");
  EXPECT_EQ(rc, 0) << out;
}

TEST_F(HttpServerTest, StopAnswersInFlightAndRefusesNew) {
  start();
  EXPECT_EQ(run_curl(dir.path(), {url("/hello")}).status, 200);
  const auto port = server->port();
  server->stop();
  auto r = run_curl(dir.path(), {"http://127.0.0.1:" + std::to_string(port) + "/hello"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_EQ(r.status, 0);
}

}  // namespace

namespace {

TEST(HttpReadiness, FromServiceHealth) {
  pipeline::ServiceHealth h;
  EXPECT_TRUE(pipeline::http::readiness_from(h).ready());
  h.transport_error = pipeline::Error{pipeline::ErrorCode::kUnavailable, "redis is down", {}};
  auto r = pipeline::http::readiness_from(h);
  EXPECT_FALSE(r.ready());
  EXPECT_EQ(r.checks[1].name, "transport");
  EXPECT_EQ(r.checks[1].detail, "redis is down");
  h.transport_error.reset();
  h.stopping = true;
  EXPECT_FALSE(pipeline::http::readiness_from(h).ready());
}

}  // namespace
