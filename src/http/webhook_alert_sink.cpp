// WebhookAlertSink: a worker thread POSTs queued alerts with Beast (HTTP, or HTTPS over
// OpenSSL with peer and host name verification), one attempt at a time on its own
// io_context, each bounded by the timeout.
#include "pipeline/http/webhook_alert_sink.hpp"

#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "pipeline/core/timestamp.hpp"

namespace pipeline::inline v0::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace ssl = boost::asio::ssl;
using tcp = asio::ip::tcp;

namespace {

struct Url {
  bool tls = false;
  std::string host, port, target;
};

Result<Url> parse_url(std::string_view url) {
  Url u;
  std::string_view rest;
  if (url.rfind("https://", 0) == 0) {
    u.tls = true;
    rest = url.substr(8);
  } else if (url.rfind("http://", 0) == 0) {
    rest = url.substr(7);
  } else {
    return fail(ErrorCode::kInvalidArgument, "webhook URL must start with http:// or https://");
  }
  const auto slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  u.target = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
  if (authority.empty() || authority.find('@') != std::string_view::npos)
    return fail(ErrorCode::kInvalidArgument, "webhook URL needs a host (and no user info)");
  const auto colon = authority.rfind(':');
  if (colon != std::string_view::npos && authority.find(']') == std::string_view::npos) {
    u.host = std::string(authority.substr(0, colon));
    u.port = std::string(authority.substr(colon + 1));
    if (u.port.empty() || u.port.find_first_not_of("0123456789") != std::string::npos)
      return fail(ErrorCode::kInvalidArgument, "webhook URL has a bad port");
  } else {
    u.host = std::string(authority);
    u.port = u.tls ? "443" : "80";
  }
  return u;
}

}  // namespace

struct WebhookAlertSink::Impl {
  Clock& clock;
  WebhookAlertSinkOptions options;
  Url url;
  std::optional<ssl::context> tls;

  mutable std::mutex mu;
  std::condition_variable cv;
  std::deque<Alert> queue;
  bool busy = false;
  bool stopping = false;
  std::deque<TimePoint> sent_at;  // the rate window's sends
  std::string last_error;
  std::atomic<std::uint64_t> delivered{0}, failed{0}, dropped{0};
  std::shared_ptr<Counter> delivered_total, failed_total, dropped_total;
  std::thread worker;

  Impl(Clock& c, WebhookAlertSinkOptions o) : clock(c), options(std::move(o)) {}

  void count(std::atomic<std::uint64_t>& n, const std::shared_ptr<Counter>& c) {
    n.fetch_add(1, std::memory_order_relaxed);
    if (c) c->add();
  }

  // One POST; the HTTP status, or an error sentence.
  Result<int> attempt(const std::string& body) {
    asio::io_context ioc;
    tcp::resolver resolver(ioc);
    beast::tcp_stream plain(ioc);
    std::optional<beast::ssl_stream<beast::tcp_stream>> secure;
    if (url.tls) {
      secure.emplace(ioc, *tls);
      if (!SSL_set_tlsext_host_name(secure->native_handle(), url.host.c_str()))
        return fail(ErrorCode::kUnavailable, "webhook: cannot set the TLS server name");
      secure->set_verify_callback(ssl::host_name_verification(url.host));
    }
    beast::tcp_stream& lower = url.tls ? beast::get_lowest_layer(*secure) : plain;
    bhttp::request<bhttp::string_body> req{bhttp::verb::post, url.target, 11};
    req.set(bhttp::field::host, url.host);
    req.set(bhttp::field::user_agent, "pipeline-webhook");
    req.set(bhttp::field::content_type, "application/json");
    for (const auto& [k, v] : options.headers) req.set(k, v);
    req.body() = body;
    req.prepare_payload();
    bhttp::response<bhttp::string_body> res;
    beast::flat_buffer buffer;
    boost::system::error_code failure;
    std::string step = "resolve";
    auto on_fail = [&](boost::system::error_code ec, const char* where) {
      failure = ec;
      step = where;
    };
    // The whole attempt runs under one deadline: the stream's timer (set before connect)
    // and run_for below.
    lower.expires_after(options.timeout);
    resolver.async_resolve(url.host, url.port, [&](boost::system::error_code ec, tcp::resolver::results_type results) {
      if (ec) return on_fail(ec, "resolve");
      lower.async_connect(results, [&](boost::system::error_code ec2, const tcp::endpoint&) {
        if (ec2) return on_fail(ec2, "connect");
        auto write_and_read = [&] {
          auto read = [&] {
            auto on_read = [&](boost::system::error_code ec4, std::size_t) {
              if (ec4) on_fail(ec4, "read");
            };
            if (url.tls) {
              bhttp::async_read(*secure, buffer, res, on_read);
            } else {
              bhttp::async_read(plain, buffer, res, on_read);
            }
          };
          auto on_write = [&, read](boost::system::error_code ec3, std::size_t) {
            if (ec3) return on_fail(ec3, "write");
            read();
          };
          if (url.tls) {
            bhttp::async_write(*secure, req, on_write);
          } else {
            bhttp::async_write(plain, req, on_write);
          }
        };
        if (url.tls) {
          secure->async_handshake(ssl::stream_base::client, [&, write_and_read](boost::system::error_code ec3) {
            if (ec3) return on_fail(ec3, "TLS handshake");
            write_and_read();
          });
        } else {
          write_and_read();
        }
      });
    });
    ioc.run_for(options.timeout + std::chrono::milliseconds(100));
    if (!ioc.stopped() || failure == beast::error::timeout) {
      ioc.stop();
      return fail(ErrorCode::kDeadlineExceeded, "webhook {}:{}: no answer within {} ms (at {})", url.host, url.port,
                  options.timeout.count(), step);
    }
    if (failure)
      return fail(ErrorCode::kUnavailable, "webhook {}:{}: {} failed: {}", url.host, url.port, step, failure.message());
    boost::system::error_code ignored;
    lower.socket().shutdown(tcp::socket::shutdown_both, ignored);
    return static_cast<int>(res.result_int());
  }

  void deliver(const Alert& alert) {
    const std::string body = render(alert, options.format).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    auto backoff = options.initial_backoff;
    std::string error;
    for (int n = 1; n <= options.max_attempts; ++n) {
      auto status = attempt(body);
      if (status && *status >= 200 && *status < 300) {
        count(delivered, delivered_total);
        return;
      }
      error = status ? fmt::format("webhook {}:{} answered {}", url.host, url.port, *status) : status.error().message;
      const bool retryable = !status || *status >= 500 || *status == 429 || *status == 408;
      if (!retryable || n == options.max_attempts) break;
      std::unique_lock lock(mu);
      if (cv.wait_for(lock, backoff, [&] { return stopping; })) break;  // shutting down: give up now
      backoff = std::min(backoff * 2, options.max_backoff);
    }
    count(failed, failed_total);
    std::lock_guard lock(mu);
    last_error = error;
  }

  void run() {
    std::unique_lock lock(mu);
    for (;;) {
      cv.wait(lock, [&] { return stopping || !queue.empty(); });
      if (stopping) return;
      Alert a = std::move(queue.front());
      queue.pop_front();
      busy = true;
      lock.unlock();
      deliver(a);
      lock.lock();
      busy = false;
      cv.notify_all();
    }
  }
};

nlohmann::json WebhookAlertSink::render(const Alert& a, WebhookAlertSinkOptions::Format format) {
  const std::string severity(to_string(a.severity));
  if (format == WebhookAlertSinkOptions::Format::kGeneric) {
    nlohmann::json j{{"severity", severity},
                     {"key", a.key},
                     {"message", a.message},
                     {"context", *a.context},
                     {"at", format_rfc3339(a.at)},
                     {"suppressed_count", a.suppressed_count}};
    return j;
  }
  static constexpr const char* kColors[] = {"#439FE0", "warning", "danger", "danger"};
  const char* color = kColors[static_cast<int>(a.severity) & 3];
  std::string text = fmt::format("[{}] {}", severity, a.message);
  if (a.suppressed_count > 0) text += fmt::format(" ({} similar alerts suppressed)", a.suppressed_count);
  nlohmann::json fields = nlohmann::json::array({{{"title", "key"}, {"value", a.key}, {"short", true}},
                                                 {{"title", "at"}, {"value", format_rfc3339(a.at)}, {"short", true}}});
  if (a.context->is_object())
    for (auto it = a.context->begin(); it != a.context->end(); ++it)
      fields.push_back({{"title", it.key()},
                        {"value", it.value().is_string() ? it.value().get<std::string>() : it.value().dump()},
                        {"short", true}});
  return {{"text", text}, {"attachments", nlohmann::json::array({{{"color", color}, {"fields", fields}}})}};
}

Result<std::shared_ptr<WebhookAlertSink>> WebhookAlertSink::create(Clock& clock, WebhookAlertSinkOptions options) {
  auto url = parse_url(options.url);
  if (!url) return fail(url.error());
  if (options.timeout.count() <= 0 || options.max_attempts < 1 || options.queue_capacity == 0 ||
      options.rate_limit == 0 || options.rate_window <= Duration::zero())
    return fail(ErrorCode::kInvalidArgument,
                "webhook options: timeout, attempts, queue capacity, rate limit and window must be positive");
  auto impl = std::make_unique<Impl>(clock, std::move(options));
  impl->url = std::move(*url);
  if (impl->url.tls) {
    try {
      impl->tls.emplace(ssl::context::tls_client);
      impl->tls->set_verify_mode(ssl::verify_peer);
      impl->tls->set_default_verify_paths();
      if (!impl->options.ca_file.empty()) impl->tls->load_verify_file(impl->options.ca_file);
    } catch (const std::exception& e) {
      return fail(ErrorCode::kInvalidArgument, "webhook TLS setup failed (ca_file '{}'): {}", impl->options.ca_file,
                  e.what());
    }
  }
  if (auto* m = impl->options.metrics) {
    const char* help = "Alerts the webhook sink delivered, gave up on, or dropped (queue full or rate-limited)";
    impl->delivered_total = m->counter("pipeline_webhook_alerts_total", help, {{"outcome", "delivered"}});
    impl->failed_total = m->counter("pipeline_webhook_alerts_total", help, {{"outcome", "failed"}});
    impl->dropped_total = m->counter("pipeline_webhook_alerts_total", help, {{"outcome", "dropped"}});
  }
  Impl* raw = impl.get();
  raw->worker = std::thread([raw] { raw->run(); });
  return std::shared_ptr<WebhookAlertSink>(new WebhookAlertSink(std::move(impl)));
}

WebhookAlertSink::WebhookAlertSink(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

WebhookAlertSink::~WebhookAlertSink() {
  {
    std::lock_guard lock(impl_->mu);
    impl_->stopping = true;
    // What never left the queue is dropped, and counted as such.
    for (std::size_t i = 0; i < impl_->queue.size(); ++i) impl_->count(impl_->dropped, impl_->dropped_total);
    impl_->queue.clear();
  }
  impl_->cv.notify_all();
  if (impl_->worker.joinable()) impl_->worker.join();
}

Status WebhookAlertSink::send(const Alert& alert) {
  auto& s = *impl_;
  const TimePoint now = s.clock.now();
  {
    std::lock_guard lock(s.mu);
    while (!s.sent_at.empty() && now - s.sent_at.front() >= s.options.rate_window) s.sent_at.pop_front();
    if (s.sent_at.size() >= s.options.rate_limit) {
      s.count(s.dropped, s.dropped_total);
      return fail(ErrorCode::kUnavailable, "webhook rate limit: {} alerts in the window already; alert '{}' dropped",
                  s.options.rate_limit, alert.key);
    }
    if (s.queue.size() >= s.options.queue_capacity) {
      s.count(s.dropped, s.dropped_total);
      return fail(ErrorCode::kBackpressure, "webhook queue is full ({}); alert '{}' dropped", s.options.queue_capacity,
                  alert.key);
    }
    s.sent_at.push_back(now);
    s.queue.push_back(alert);
  }
  s.cv.notify_all();
  return ok();
}

bool WebhookAlertSink::wait_idle(std::chrono::milliseconds deadline) {
  std::unique_lock lock(impl_->mu);
  return impl_->cv.wait_for(lock, deadline, [&] { return impl_->queue.empty() && !impl_->busy; });
}

std::uint64_t WebhookAlertSink::delivered() const noexcept { return impl_->delivered.load(); }
std::uint64_t WebhookAlertSink::failed() const noexcept { return impl_->failed.load(); }
std::uint64_t WebhookAlertSink::dropped() const noexcept { return impl_->dropped.load(); }

std::string WebhookAlertSink::last_error() const {
  std::lock_guard lock(impl_->mu);
  return impl_->last_error;
}

}  // namespace pipeline::inline v0::http
