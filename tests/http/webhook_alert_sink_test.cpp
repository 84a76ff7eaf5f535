// WebhookAlertSink against local receivers: the library's HttpServer for HTTP, a small
// Beast TLS server with a certificate made in the test for HTTPS, a socket that never
// answers for the timeout, and a closed port for a dead webhook. Waits are on conditions
// with deadlines; no test asserts on time.
#include <atomic>
#include <deque>
#include <mutex>
#include <thread>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "curl_client.hpp"
#include "pipeline/core/manual_clock.hpp"
#include "pipeline/http/http_server.hpp"
#include "pipeline/http/webhook_alert_sink.hpp"
#include "temp_dir.hpp"

namespace {

using pipeline::http::WebhookAlertSink;
using pipeline::http::WebhookAlertSinkOptions;
using namespace std::chrono_literals;

pipeline::Alert make_alert(std::string key = "coverage/phase5/2025-11-18") {
  pipeline::Alert a;
  a.severity = pipeline::Severity::kCritical;
  a.key = std::move(key);
  a.message = "Phase 5 refused: 10 of 450 entities ready";
  a.context["ready"] = 10;
  a.at = pipeline::ManualClock::kDefaultStart;
  return a;
}

// An HTTP receiver answering each POST /hook with the next scripted status (200 after).
class Receiver {
 public:
  explicit Receiver(std::deque<int> statuses = {}) : statuses_(std::move(statuses)) {
    pipeline::http::Router router;
    (void)router.add("POST", "/hook", [this](const pipeline::http::HttpRequest& r) {
      std::lock_guard lock(mu_);
      bodies_.push_back(r.body);
      auth_.push_back(std::string(r.header("Authorization").value_or("")));
      int status = 200;
      if (!statuses_.empty()) {
        status = statuses_.front();
        statuses_.pop_front();
      }
      return pipeline::http::HttpResponse::text(status, "ok");
    });
    pipeline::http::HttpServerOptions o;
    o.log = [](std::string_view) {};
    server_ = std::move(*pipeline::http::HttpServer::create(std::move(router), o));
    (void)server_->start();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(server_->port()) + "/hook"; }
  std::vector<std::string> bodies() {
    std::lock_guard lock(mu_);
    return bodies_;
  }
  std::vector<std::string> auth() {
    std::lock_guard lock(mu_);
    return auth_;
  }

 private:
  std::mutex mu_;
  std::deque<int> statuses_;
  std::vector<std::string> bodies_, auth_;
  std::unique_ptr<pipeline::http::HttpServer> server_;
};

WebhookAlertSinkOptions fast(std::string url) {
  WebhookAlertSinkOptions o;
  o.url = std::move(url);
  o.timeout = 2s;
  o.initial_backoff = 5ms;
  o.max_backoff = 20ms;
  return o;
}

TEST(WebhookAlertSink, PostsSlackShapeOverHttp) {
  Receiver receiver;
  pipeline::ManualClock clock;
  auto o = fast(receiver.url());
  o.headers = {{"Authorization", "Bearer hook-secret"}};
  auto sink = WebhookAlertSink::create(clock, o);
  ASSERT_TRUE(sink) << sink.error().message;
  ASSERT_TRUE((*sink)->send(make_alert()));
  ASSERT_TRUE((*sink)->wait_idle(60s));
  EXPECT_EQ((*sink)->delivered(), 1U) << (*sink)->last_error();
  auto bodies = receiver.bodies();
  ASSERT_EQ(bodies.size(), 1U);
  auto j = nlohmann::json::parse(bodies[0]);
  EXPECT_EQ(j["text"], "[critical] Phase 5 refused: 10 of 450 entities ready");
  EXPECT_EQ(j["attachments"][0]["color"], "danger");
  EXPECT_EQ(receiver.auth()[0], "Bearer hook-secret");
}

TEST(WebhookAlertSink, GenericShapeCarriesTheAlert) {
  auto j = WebhookAlertSink::render(make_alert(), WebhookAlertSinkOptions::Format::kGeneric);
  EXPECT_EQ(j["severity"], "critical");
  EXPECT_EQ(j["key"], "coverage/phase5/2025-11-18");
  EXPECT_EQ(j["context"]["ready"], 10);
}

TEST(WebhookAlertSink, RetriesTransientAnswersWithBackoffAndGivesUpOnOther4xx) {
  Receiver receiver({503, 429, 200, 400});
  pipeline::ManualClock clock;
  auto sink = WebhookAlertSink::create(clock, fast(receiver.url()));
  ASSERT_TRUE(sink);
  ASSERT_TRUE((*sink)->send(make_alert("a")));
  ASSERT_TRUE((*sink)->wait_idle(60s));
  EXPECT_EQ((*sink)->delivered(), 1U);
  EXPECT_EQ(receiver.bodies().size(), 3U);
  ASSERT_TRUE((*sink)->send(make_alert("b")));  // answered 400: not retried
  ASSERT_TRUE((*sink)->wait_idle(60s));
  EXPECT_EQ((*sink)->failed(), 1U);
  EXPECT_EQ(receiver.bodies().size(), 4U);
  EXPECT_NE((*sink)->last_error().find("answered 400"), std::string::npos) << (*sink)->last_error();
}

TEST(WebhookAlertSink, DeadOrSilentWebhookNeverBlocksTheCaller) {
  namespace asio = boost::asio;
  asio::io_context ioc;
  // Accepts connections and never answers: each attempt ends at the timeout.
  asio::ip::tcp::acceptor silent(ioc, {asio::ip::make_address("127.0.0.1"), 0});
  pipeline::ManualClock clock;
  auto o = fast("http://127.0.0.1:" + std::to_string(silent.local_endpoint().port()) + "/hook");
  o.timeout = 2s;  // far longer than ten send calls take: the queue is still full after them
  o.max_attempts = 1;
  o.queue_capacity = 2;
  auto sink = WebhookAlertSink::create(clock, o);
  ASSERT_TRUE(sink);
  int refused = 0;
  for (int i = 0; i < 10; ++i)
    if (!(*sink)->send(make_alert("k" + std::to_string(i)))) ++refused;
  EXPECT_GE(refused, 7);  // the queue holds 2 (+1 being sent); the rest are dropped at once
  EXPECT_EQ((*sink)->dropped(), static_cast<std::uint64_t>(refused));
  ASSERT_TRUE((*sink)->wait_idle(120s));
  EXPECT_EQ((*sink)->delivered(), 0U);
  EXPECT_EQ((*sink)->failed(), 10U - static_cast<std::uint64_t>(refused));
  EXPECT_NE((*sink)->last_error().find("no answer"), std::string::npos) << (*sink)->last_error();
  // A closed port: connection refused, counted as failed.
  const auto port = silent.local_endpoint().port();
  silent.close();
  auto dead = WebhookAlertSink::create(clock, fast("http://127.0.0.1:" + std::to_string(port) + "/hook"));
  ASSERT_TRUE(dead);
  ASSERT_TRUE((*dead)->send(make_alert()));
  ASSERT_TRUE((*dead)->wait_idle(120s));
  EXPECT_EQ((*dead)->failed(), 1U);
  EXPECT_NE((*dead)->last_error().find("connect"), std::string::npos) << (*dead)->last_error();
}

TEST(WebhookAlertSink, OwnRateLimitOnTheInjectedClock) {
  Receiver receiver;
  pipeline::ManualClock clock;
  auto o = fast(receiver.url());
  o.rate_limit = 2;
  o.rate_window = std::chrono::minutes(1);
  auto sink = WebhookAlertSink::create(clock, o);
  ASSERT_TRUE(sink);
  EXPECT_TRUE((*sink)->send(make_alert("a")));
  EXPECT_TRUE((*sink)->send(make_alert("b")));
  auto third = (*sink)->send(make_alert("c"));
  ASSERT_FALSE(third);
  EXPECT_EQ(third.error().code, pipeline::ErrorCode::kUnavailable);
  clock.advance(std::chrono::minutes(1));
  EXPECT_TRUE((*sink)->send(make_alert("d")));
  ASSERT_TRUE((*sink)->wait_idle(60s));
  EXPECT_EQ((*sink)->delivered(), 3U);
  EXPECT_EQ((*sink)->dropped(), 1U);
}

TEST(WebhookAlertSink, RefusesBadUrls) {
  pipeline::ManualClock clock;
  for (std::string url : {"", "ftp://x/y", "http://", "http://user:pw@host/x", "http://host:port/x"})
    EXPECT_FALSE(WebhookAlertSink::create(clock, fast(url))) << url;
}

// A one-connection-at-a-time HTTPS receiver with the test's certificate.
class TlsReceiver {
 public:
  TlsReceiver(const std::string& cert, const std::string& key) : tls_(boost::asio::ssl::context::tls_server) {
    tls_.use_certificate_chain_file(cert);
    tls_.use_private_key_file(key, boost::asio::ssl::context::pem);
    acceptor_.emplace(ioc_, boost::asio::ip::tcp::endpoint{boost::asio::ip::make_address("127.0.0.1"), 0});
    port_ = acceptor_->local_endpoint().port();
    thread_ = std::thread([this] { serve(); });
  }
  ~TlsReceiver() {
    stop_ = true;
    // Wakes the accept with one last connection.
    boost::system::error_code ec;
    boost::asio::ip::tcp::socket s(ioc_);
    s.connect({boost::asio::ip::make_address("127.0.0.1"), port_}, ec);
    thread_.join();
  }
  std::uint16_t port() const { return port_; }
  int received() const { return received_.load(); }

 private:
  void serve() {
    namespace beast = boost::beast;
    while (!stop_) {
      boost::system::error_code ec;
      boost::asio::ip::tcp::socket socket(ioc_);
      acceptor_->accept(socket, ec);
      if (ec || stop_) return;
      beast::ssl_stream<boost::asio::ip::tcp::socket&> stream(socket, tls_);
      stream.handshake(boost::asio::ssl::stream_base::server, ec);
      if (ec) continue;  // the client refused our certificate
      beast::flat_buffer buffer;
      beast::http::request<beast::http::string_body> req;
      beast::http::read(stream, buffer, req, ec);
      if (ec) continue;
      ++received_;
      beast::http::response<beast::http::string_body> res{beast::http::status::ok, 11};
      res.body() = "ok";
      res.prepare_payload();
      beast::http::write(stream, res, ec);
      stream.shutdown(ec);
    }
  }
  boost::asio::io_context ioc_;
  boost::asio::ssl::context tls_;
  std::optional<boost::asio::ip::tcp::acceptor> acceptor_;
  std::uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> received_{0};
  std::thread thread_;
};

TEST(WebhookAlertSink, HttpsVerifiesTheCertificateAndHostName) {
  pipeline::testing::TempDir dir;
  auto [rc, out] = pipeline::testing::run_shell(
      dir.path().string(),
      "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost -addext "
      "subjectAltName=DNS:localhost -keyout " +
          dir.file("key.pem") + " -out " + dir.file("cert.pem"));
  ASSERT_EQ(rc, 0) << out;
  TlsReceiver receiver(dir.file("cert.pem"), dir.file("key.pem"));
  pipeline::ManualClock clock;
  const std::string url = "https://localhost:" + std::to_string(receiver.port()) + "/hook";
  // Trusted through ca_file: delivered.
  auto o = fast(url);
  o.ca_file = dir.file("cert.pem");
  auto trusted = WebhookAlertSink::create(clock, o);
  ASSERT_TRUE(trusted) << trusted.error().message;
  ASSERT_TRUE((*trusted)->send(make_alert()));
  ASSERT_TRUE((*trusted)->wait_idle(60s));
  EXPECT_EQ((*trusted)->delivered(), 1U) << (*trusted)->last_error();
  EXPECT_EQ(receiver.received(), 1);
  // Not trusted (system CAs only): the handshake fails, nothing is sent.
  auto untrusted = WebhookAlertSink::create(clock, fast(url));
  ASSERT_TRUE(untrusted);
  ASSERT_TRUE((*untrusted)->send(make_alert()));
  ASSERT_TRUE((*untrusted)->wait_idle(60s));
  EXPECT_EQ((*untrusted)->failed(), 1U);
  EXPECT_NE((*untrusted)->last_error().find("TLS handshake"), std::string::npos) << (*untrusted)->last_error();
  // Trusted certificate, wrong host name (the certificate names localhost, not 127.0.0.1).
  auto o2 = fast("https://127.0.0.1:" + std::to_string(receiver.port()) + "/hook");
  o2.ca_file = dir.file("cert.pem");
  o2.max_attempts = 1;
  auto wrong_host = WebhookAlertSink::create(clock, o2);
  ASSERT_TRUE(wrong_host);
  ASSERT_TRUE((*wrong_host)->send(make_alert()));
  ASSERT_TRUE((*wrong_host)->wait_idle(60s));
  EXPECT_EQ((*wrong_host)->failed(), 1U) << (*wrong_host)->last_error();
  EXPECT_EQ(receiver.received(), 1);
}

}  // namespace
