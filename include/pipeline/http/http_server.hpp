#pragma once
/// @file
/// `HttpServer`: an HTTP/1.1 server with limits, timeouts and bearer-token auth, on one
/// I/O thread, serving a `Router`.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <string_view>

#include "pipeline/core/metrics_sink.hpp"
#include "pipeline/core/result.hpp"
#include "pipeline/http/router.hpp"

namespace pipeline::inline v0::http {

/// Settings of an `HttpServer`. Every limit has a safe default.
struct HttpServerOptions {
  /// The address to bind. Loopback by default; any other address needs `token`.
  std::string bind_address = "127.0.0.1";
  /// The port; 0 picks a free one (read it back with `HttpServer::port()`).
  std::uint16_t port = 0;
  /// Bearer token every request must carry (`Authorization: Bearer <token>`), except on
  /// `open_paths`. Empty: no auth, allowed only on a loopback address.
  std::string token;
  /// Paths served without the token (liveness and readiness probes).
  std::set<std::string, std::less<>> open_paths{"/health", "/ready"};
  /// Largest body accepted (Pub/Sub's maximum message is 10 MB). Larger: 413.
  std::size_t max_body_bytes = 10 * 1024 * 1024;
  /// Largest request line plus headers. Larger: 431.
  std::size_t max_header_bytes = 16 * 1024;
  /// After a 413, how much of the rest of the body is read and dropped so the client
  /// reads the answer instead of a reset; past it the connection is closed.
  std::size_t max_drain_bytes = 64 * 1024 * 1024;
  /// After an error answer (or the last answer of a connection), how long the server keeps
  /// reading and dropping what the client still sends before it closes — long enough for
  /// a client busy uploading to read the answer before the close resets the connection.
  std::chrono::milliseconds drain_timeout{std::chrono::seconds(5)};
  /// Time from a request's first byte to its last: a slower client gets 408.
  std::chrono::milliseconds request_timeout{std::chrono::seconds(30)};
  /// How long a kept-alive connection may wait for its next request (then it is closed).
  std::chrono::milliseconds idle_timeout{std::chrono::seconds(60)};
  /// How long writing an answer may take before the connection is dropped.
  std::chrono::milliseconds write_timeout{std::chrono::seconds(30)};
  /// Connections served at once; one more is answered 503 and closed.
  std::size_t max_connections = 256;
  /// Where the server's log lines go (one line each, no newline); default: stderr.
  /// Called on the I/O thread. Lines carry the request id, never a token or a body.
  std::function<void(std::string_view)> log;
  /// Request counters and latency (`pipeline_http_requests_total{method,route,code}`,
  /// `pipeline_http_request_seconds`); optional.
  MetricsSink* metrics = nullptr;
};

/// Reads a bearer token from `path`: the file's content without surrounding white space.
/// **Errors:** `kNotFound` (cannot be read), `kInvalidArgument` (empty, or characters
/// outside printable ASCII). The message names the file, never the token.
Result<std::string> load_token_file(const std::string& path);

/// Whether `address` is a loopback address (127.0.0.0/8, ::1, "localhost").
bool is_loopback_address(std::string_view address);

/// An HTTP/1.1 server for a team's own handlers, the library's operations endpoints,
/// Pub/Sub push and the Phase 5 API. Built over Boost.Beast; no Beast type is public.
///
/// Every request is read whole (within the limits) and handed to the router on the one
/// I/O thread the server owns; keep-alive and `Expect: 100-continue` are supported.
/// Over a limit the client gets 413 (body; the rest is drained up to `max_drain_bytes`
/// so the answer is read), 431 (headers), 408 (request too slow; only while the socket
/// is writable), 503 (too many connections), and the server goes on serving others.
/// Bearer-token auth compares in constant time; 401 otherwise.
///
/// **Thread safety:** `start`, `stop`, `port` from any thread; handlers run on the I/O
/// thread, one at a time. **Performance:** one I/O thread; a handler that blocks holds
/// every connection. **Errors:** `create` returns `kInvalidArgument` for bad options
/// (a non-loopback address without a token: "refusing to bind 0.0.0.0 without a
/// token"), `start` `kUnavailable` when the address cannot be bound.
///
/// **Example:**
/// @snippet http_snippets_test.cpp http_server
/// @snippet http_snippets_test.cpp http_server_stop
class HttpServer {
 public:
  [[nodiscard]] static Result<std::unique_ptr<HttpServer>> create(Router router, HttpServerOptions options);

  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  /// Binds, listens and starts the I/O thread.
  [[nodiscard]] Status start();

  /// Stops accepting, lets requests being handled finish (up to `grace`), closes every
  /// connection and joins the I/O thread. Idempotent.
  void stop(std::chrono::milliseconds grace = std::chrono::seconds(10));

  /// The bound port (after `start`).
  [[nodiscard]] std::uint16_t port() const noexcept;

  /// Connections open now.
  [[nodiscard]] std::size_t open_connections() const noexcept;

  struct Impl;  ///< Opaque: the Beast/Asio state.

 private:
  explicit HttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace pipeline::inline v0::http
