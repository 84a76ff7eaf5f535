// HttpServer over Boost.Beast: one io_context, one thread, every connection's state
// touched only on that thread (no locks; TSan sees one thread per connection object).
#include "pipeline/http/http_server.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <cctype>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <sstream>
#include <thread>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <fmt/format.h>

#include "form.hpp"
#include "pipeline/core/ids.hpp"

namespace pipeline::inline v0::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

Result<std::string> load_token_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail(ErrorCode::kNotFound, "cannot read the token file '{}'", path);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string token = ss.str();
  auto space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!token.empty() && space(token.back())) token.pop_back();
  std::size_t first = 0;
  while (first < token.size() && space(token[first])) ++first;
  token.erase(0, first);
  if (token.empty()) return fail(ErrorCode::kInvalidArgument, "the token file '{}' is empty", path);
  for (char c : token)
    if (c < 0x21 || c > 0x7e)
      return fail(ErrorCode::kInvalidArgument,
                  "the token file '{}' holds a character outside printable ASCII (one token, one line)", path);
  return token;
}

bool is_loopback_address(std::string_view address) {
  if (address == "localhost") return true;
  boost::system::error_code ec;
  auto a = asio::ip::make_address(std::string(address), ec);
  return !ec && a.is_loopback();
}

namespace {

bool valid_request_id(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '_' || c == '.';
  });
}

// A client-supplied string fit for a log line: printable ASCII only, clipped.
std::string loggable(std::string_view s) {
  std::string out;
  for (char c : s.substr(0, 200)) out += (c >= 0x20 && c < 0x7f) ? c : '?';
  if (s.size() > 200) out += "...";
  return out;
}

// The method as a metric label: the verbs HTTP defines, else "other" (bounded cardinality).
std::string method_label(std::string_view m) {
  for (std::string_view known : {"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"})
    if (m == known) return std::string(m);
  return "other";
}

void parse_target(std::string_view target, HttpRequest& r) {
  const auto q = target.find('?');
  std::string_view path = target.substr(0, q);
  auto decoded = percent_decode(path, false);
  r.path = decoded ? *decoded : std::string(path);
  if (q != std::string_view::npos) detail::parse_form(target.substr(q + 1), r.query);
}

}  // namespace

class Connection;

struct HttpServer::Impl {
  Router router;
  HttpServerOptions options;
  std::atomic<std::uint16_t> bound_port{0};
  std::atomic<std::size_t> connections{0};  // served connections (not the 503 ones)
  std::size_t rejecting = 0;                // I/O thread only
  bool stopping = false;                    // I/O thread only
  bool started = false;
  bool stopped = false;
  std::uint64_t next_connection = 0;
  std::map<std::uint64_t, std::weak_ptr<Connection>> live;  // I/O thread only
  std::shared_ptr<Histogram> latency;
  // Last: destroyed first, with every handler (and connection) it still holds, while the
  // members above are alive.
  asio::io_context ioc{1};
  std::optional<tcp::acceptor> acceptor;
  std::thread thread;

  void log(std::string_view line) const {
    if (options.log) {
      options.log(line);
    } else {
      std::cerr << line << '\n';
    }
  }
  void accept();
  void count(const HttpRequest& req, int status, double seconds) {
    if (!options.metrics) return;
    const std::string route = router.has_path(req.path) ? req.path : "other";
    options.metrics
        ->counter("pipeline_http_requests_total", "HTTP requests answered, by method, route and status code",
                  {{"method", method_label(req.method)}, {"route", route}, {"code", std::to_string(status)}})
        ->add();
    if (latency) latency->observe(seconds);
  }
};

/// One accepted connection: reads requests one after another (keep-alive), answers each,
/// enforces the limits. Lives as long as an asynchronous operation holds it.
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(HttpServer::Impl& srv, tcp::socket socket, bool overloaded, std::uint64_t id)
      : srv_(srv), stream_(std::move(socket)), timer_(stream_.get_executor()), overloaded_(overloaded), id_(id) {
    boost::system::error_code ec;
    auto ep = stream_.socket().remote_endpoint(ec);
    if (!ec) remote_ = ep.address().to_string();
  }

  ~Connection() {
    srv_.live.erase(id_);
    if (overloaded_) {
      --srv_.rejecting;
    } else {
      srv_.connections.fetch_sub(1, std::memory_order_relaxed);
    }
  }

  void start() { wait_for_request(); }

  // Server stop: an idle connection closes now; a busy one after its answer.
  void shut() {
    if (idle_ || draining_) close();
  }

 private:
  void arm(std::chrono::milliseconds after, bool request_phase) {
    timer_.expires_after(after);
    timer_.async_wait([self = shared_from_this(), request_phase](boost::system::error_code ec) {
      if (ec) return;  // cancelled: the read finished first
      self->timed_out_ = request_phase;
      self->idle_expired_ = !request_phase;
      boost::system::error_code ignored;
      self->stream_.socket().cancel(ignored);
    });
  }

  void wait_for_request() {
    if (srv_.stopping && !overloaded_) return close();
    if (buffer_.size() > 0) return begin_request();  // pipelined bytes already here
    idle_ = true;
    arm(srv_.options.idle_timeout, false);
    stream_.socket().async_wait(tcp::socket::wait_read, [self = shared_from_this()](boost::system::error_code ec) {
      self->idle_ = false;
      self->timer_.cancel();
      if (ec || self->idle_expired_ || self->srv_.stopping) return self->close();
      self->begin_request();
    });
  }

  void begin_request() {
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(std::min<std::size_t>(srv_.options.max_header_bytes, UINT32_MAX)));
    parser_->body_limit(srv_.options.max_body_bytes);
    timed_out_ = false;
    started_ = std::chrono::steady_clock::now();
    arm(srv_.options.request_timeout, true);
    bhttp::async_read_header(stream_, buffer_, *parser_,
                             [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
                               self->on_header(ec);
                             });
  }

  void on_header(boost::system::error_code ec) {
    if (ec || timed_out_) return on_read_error(ec ? ec : asio::error::operation_aborted);
    auto& req = parser_->get();
    if (overloaded_) {
      timer_.cancel();
      return answer_and_close(HttpResponse::error(503, "overloaded", "too many connections; retry later"), true);
    }
    if (auto len = parser_->content_length(); len && *len > srv_.options.max_body_bytes) {
      timer_.cancel();
      return answer_and_close(too_large(), true);
    }
    auto expect = req[bhttp::field::expect];
    if (beast::iequals(expect, "100-continue")) {
      auto cont = std::make_shared<bhttp::response<bhttp::empty_body>>(bhttp::status::continue_, req.version());
      bhttp::async_write(stream_, *cont, [self = shared_from_this(), cont](boost::system::error_code wec, std::size_t) {
        if (wec) return self->close();
        self->read_body();
      });
      return;
    }
    read_body();
  }

  void read_body() {
    bhttp::async_read(stream_, buffer_, *parser_, [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
      self->timer_.cancel();
      if (ec) return self->on_read_error(ec);
      self->dispatch();
    });
  }

  HttpResponse too_large() const {
    return HttpResponse::error(413, "body_too_large",
                               fmt::format("the body is larger than {} bytes", srv_.options.max_body_bytes));
  }

  void on_read_error(boost::system::error_code ec) {
    timer_.cancel();
    if (timed_out_)
      return answer_and_close(HttpResponse::error(408, "request_timeout", "the request was not received in time"),
                              false);
    if (ec == bhttp::error::body_limit) return answer_and_close(too_large(), true);
    if (ec == bhttp::error::header_limit)
      return answer_and_close(
          HttpResponse::error(431, "headers_too_large",
                              fmt::format("the request line and headers exceed {} bytes", srv_.options.max_header_bytes)),
          true);
    if (ec == bhttp::error::end_of_stream || ec == asio::error::eof || ec == asio::error::connection_reset ||
        ec == asio::error::operation_aborted || ec == bhttp::error::partial_message)
      return close();
    answer_and_close(HttpResponse::error(400, "bad_request", "the request is not valid HTTP/1.1: " + ec.message()),
                     true);
  }

  HttpRequest to_request() {
    auto& m = parser_->get();
    HttpRequest r;
    r.method = std::string(m.method_string());
    r.target = std::string(m.target());
    parse_target(r.target, r);
    for (const auto& f : m) {
      std::string name(f.name_string());
      auto [it, fresh] = r.headers.emplace(name, std::string(f.value()));
      if (!fresh) {
        it->second += ", ";
        it->second += std::string(f.value());
      }
    }
    r.body = std::move(m.body());
    auto given = r.header("X-Request-Id");
    r.request_id = given && valid_request_id(*given) ? std::string(*given) : new_execution_id();
    r.remote_address = remote_;
    return r;
  }

  bool authorized(const HttpRequest& r) const {
    const auto& token = srv_.options.token;
    if (token.empty() || srv_.options.open_paths.count(r.path) != 0) return true;
    auto auth = r.header("Authorization");
    if (!auth) return false;
    std::string_view v = *auth;
    constexpr std::string_view kBearer = "Bearer ";
    if (v.size() < kBearer.size() || !beast::iequals(beast::string_view(v.data(), kBearer.size()), beast::string_view(kBearer.data(), kBearer.size()))) return false;
    return detail::constant_time_equal(v.substr(kBearer.size()), token);
  }

  void dispatch() {
    HttpRequest req = to_request();
    const bool keep_alive = parser_->get().keep_alive() && !srv_.stopping;
    const unsigned version = parser_->get().version();
    HttpResponse res;
    if (!authorized(req)) {
      res = HttpResponse::error(401, "unauthorized", "a valid bearer token is required");
      res.headers.emplace_back("WWW-Authenticate", "Bearer");
    } else {
      res = srv_.router.handle(req);
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
    srv_.log(fmt::format("http request_id={} remote={} method={} path={} status={} ms={:.3f}", req.request_id,
                         remote_, loggable(req.method), loggable(req.path), res.status, seconds * 1000.0));
    srv_.count(req, res.status, seconds);
    res.headers.emplace_back("X-Request-Id", req.request_id);
    write(std::move(res), keep_alive, version, req.method == "HEAD", false);
  }

  // Error answers end the connection; `drain`: read and drop what the client still sends
  // (up to max_drain_bytes) so it reads the answer instead of a reset.
  void answer_and_close(HttpResponse res, bool drain) {
    HttpRequest stub;
    stub.method = parser_ ? std::string(parser_->get().method_string()) : std::string("?");
    stub.path = parser_ ? std::string(parser_->get().target().substr(0, parser_->get().target().find('?'))) : "";
    stub.request_id = new_execution_id();
    srv_.log(fmt::format("http request_id={} remote={} method={} path={} status={} (connection closed)",
                         stub.request_id, remote_, loggable(stub.method), loggable(stub.path), res.status));
    srv_.count(stub, res.status, 0.0);
    res.headers.emplace_back("X-Request-Id", stub.request_id);
    write(std::move(res), false, 11, false, drain);
  }

  void write(HttpResponse res, bool keep_alive, unsigned version, bool head, bool drain) {
    auto msg = std::make_shared<bhttp::response<bhttp::string_body>>(static_cast<bhttp::status>(res.status),
                                                                     version == 10 ? 10 : 11);
    msg->reason(std::string(reason_phrase(res.status)));
    msg->set(bhttp::field::server, "pipeline");
    msg->set(bhttp::field::content_type, res.content_type);
    for (auto& [k, v] : res.headers) msg->insert(k, v);
    msg->keep_alive(keep_alive);
    const std::size_t length = res.body.size();
    if (!head) msg->body() = std::move(res.body);
    msg->content_length(length);
    stream_.expires_after(srv_.options.write_timeout);
    bhttp::async_write(stream_, *msg,
                       [self = shared_from_this(), msg, keep_alive, drain](boost::system::error_code ec, std::size_t) {
                         self->stream_.expires_never();
                         if (ec) return self->close();
                         if (drain) return self->start_drain();
                         if (!keep_alive) return self->close_gracefully();
                         self->wait_for_request();
                       });
  }

  void close_gracefully() {
    boost::system::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    start_drain();
  }

  // After our last byte: read until the client closes, the cap, or the drain timeout.
  void start_drain() {
    boost::system::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    drained_ = buffer_.size();
    buffer_.consume(buffer_.size());
    timed_out_ = false;
    draining_ = true;
    // Stopping: the server is waiting on this connection; a short drain is enough for a
    // client that already sent its request.
    arm(srv_.stopping ? std::min(srv_.options.drain_timeout, std::chrono::milliseconds(500)) : srv_.options.drain_timeout,
        true);
    drain_some();
  }

  void drain_some() {
    if (drained_ >= srv_.options.max_drain_bytes || timed_out_) return close();
    stream_.socket().async_read_some(asio::buffer(scratch_),
                                     [self = shared_from_this()](boost::system::error_code ec, std::size_t n) {
                                       if (ec) return self->close();
                                       self->drained_ += n;
                                       self->drain_some();
                                     });
  }

  void close() {
    timer_.cancel();
    boost::system::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.socket().close(ec);
  }

  HttpServer::Impl& srv_;
  beast::tcp_stream stream_;
  asio::steady_timer timer_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  std::array<char, 16 * 1024> scratch_{};
  std::chrono::steady_clock::time_point started_;
  std::size_t drained_ = 0;
  bool overloaded_;
  bool timed_out_ = false;
  bool idle_expired_ = false;
  bool idle_ = false;
  bool draining_ = false;
  std::uint64_t id_;
  std::string remote_;
};

void HttpServer::Impl::accept() {
  acceptor->async_accept(ioc, [this](boost::system::error_code ec, tcp::socket socket) {
    if (stopping || !acceptor->is_open()) return;
    if (!ec) {
      const bool over = connections.load(std::memory_order_relaxed) >= options.max_connections;
      if (over && rejecting >= options.max_connections) {
        boost::system::error_code ignored;
        socket.close(ignored);  // far over the limit: not even a 503
      } else {
        if (over) {
          ++rejecting;
        } else {
          connections.fetch_add(1, std::memory_order_relaxed);
        }
        const auto id = ++next_connection;
        auto c = std::make_shared<Connection>(*this, std::move(socket), over, id);
        live.emplace(id, c);
        c->start();
      }
    }
    accept();
  });
}

Result<std::unique_ptr<HttpServer>> HttpServer::create(Router router, HttpServerOptions options) {
  boost::system::error_code ec;
  if (options.bind_address != "localhost") {
    (void)asio::ip::make_address(options.bind_address, ec);
    if (ec) return fail(ErrorCode::kInvalidArgument, "bind address '{}' is not an IP address", options.bind_address);
  }
  if (!is_loopback_address(options.bind_address) && options.token.empty())
    return fail(ErrorCode::kInvalidArgument,
                "refusing to bind {} without a token: give a token file (--token-file) or bind a loopback address "
                "such as 127.0.0.1",
                options.bind_address);
  if (options.max_body_bytes == 0 || options.max_header_bytes < 256 || options.max_connections == 0)
    return fail(ErrorCode::kInvalidArgument,
                "HTTP limits must be positive (body >= 1 byte, headers >= 256 bytes, connections >= 1)");
  if (options.request_timeout.count() <= 0 || options.idle_timeout.count() <= 0 || options.write_timeout.count() <= 0 ||
      options.drain_timeout.count() <= 0)
    return fail(ErrorCode::kInvalidArgument, "HTTP timeouts must be positive");
  auto impl = std::make_unique<Impl>();
  impl->router = std::move(router);
  impl->options = std::move(options);
  if (impl->options.metrics)
    impl->latency = impl->options.metrics->histogram(
        "pipeline_http_request_seconds", "Time from a request's first byte to its answer being handed to the socket",
        {0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5});
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

HttpServer::~HttpServer() { stop(std::chrono::seconds(1)); }

Status HttpServer::start() {
  auto& s = *impl_;
  if (s.started) return fail(ErrorCode::kFailedPrecondition, "the HTTP server was started already");
  boost::system::error_code ec;
  const std::string host = s.options.bind_address == "localhost" ? "127.0.0.1" : s.options.bind_address;
  tcp::endpoint ep(asio::ip::make_address(host, ec), s.options.port);
  if (ec) return fail(ErrorCode::kInvalidArgument, "bind address '{}' is not an IP address", host);
  s.acceptor.emplace(s.ioc);
  s.acceptor->open(ep.protocol(), ec);
  if (!ec) s.acceptor->set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) s.acceptor->bind(ep, ec);
  if (!ec) s.acceptor->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    s.acceptor.reset();
    return fail(Error{ErrorCode::kUnavailable,
                      fmt::format("cannot listen on {}:{}: {}", host, s.options.port, ec.message()),
                      {{"address", host}}});
  }
  s.bound_port = s.acceptor->local_endpoint().port();
  if (s.options.token.empty())
    s.log(fmt::format("http warning: serving {}:{} without a token (loopback only); give a token file to require one",
                      host, s.bound_port.load()));
  s.started = true;
  s.accept();
  s.thread = std::thread([&s] { s.ioc.run(); });
  return ok();
}

namespace {
// On the I/O thread: ends the loop once the busy connections have answered, or at `give_up`.
void wait_drained(HttpServer::Impl& s, std::shared_ptr<asio::steady_timer> timer,
                  std::chrono::steady_clock::time_point give_up) {
  if ((s.connections.load() == 0 && s.rejecting == 0) || std::chrono::steady_clock::now() >= give_up) {
    s.ioc.stop();
    return;
  }
  timer->expires_after(std::chrono::milliseconds(5));
  timer->async_wait([&s, timer, give_up](boost::system::error_code) { wait_drained(s, timer, give_up); });
}
}  // namespace

void HttpServer::stop(std::chrono::milliseconds grace) {
  auto& s = *impl_;
  if (!s.started || s.stopped) return;
  s.stopped = true;
  const auto give_up = std::chrono::steady_clock::now() + grace;
  asio::post(s.ioc, [&s, give_up] {
    s.stopping = true;
    boost::system::error_code ec;
    s.acceptor->close(ec);
    std::vector<std::weak_ptr<Connection>> open;
    for (auto& [id, weak] : s.live) open.push_back(weak);
    for (auto& weak : open)
      if (auto c = weak.lock()) c->shut();
    wait_drained(s, std::make_shared<asio::steady_timer>(s.ioc), give_up);
  });
  if (s.thread.joinable()) s.thread.join();
}

std::uint16_t HttpServer::port() const noexcept { return impl_->bound_port.load(); }

std::size_t HttpServer::open_connections() const noexcept { return impl_->connections.load(); }

}  // namespace pipeline::inline v0::http
