#pragma once
/// @file
/// `HttpRequest` and `HttpResponse`: the plain values a `pipeline::http` handler receives
/// and returns (no Beast or Asio type reaches a handler).

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace pipeline::inline v0::http {

/// Case-insensitive ordering for header names.
struct HeaderNameLess {
  using is_transparent = void;
  bool operator()(std::string_view a, std::string_view b) const noexcept;
};

/// Request headers by name (case-insensitive); a repeated header keeps its values joined
/// with ", " as RFC 9110 allows.
using HeaderMap = std::map<std::string, std::string, HeaderNameLess>;

/// One HTTP request as a handler sees it: the whole body is read (within the server's
/// body limit) before the handler runs.
///
/// **Thread safety:** a plain value. **Performance:** owns its strings.
struct HttpRequest {
  std::string method;       ///< "GET", "POST", ... (upper case as sent).
  std::string target;       ///< The request target as sent ("/status?date=2025-11-18").
  std::string path;         ///< The target's path, without the query ("/status").
  std::map<std::string, std::string, std::less<>> query;  ///< Decoded query parameters (last one wins).
  HeaderMap headers;
  std::string body;
  std::string request_id;   ///< The server's id for this request (also the `X-Request-Id` answer header).
  std::string remote_address;

  /// The header's value, or nothing when absent.
  [[nodiscard]] std::optional<std::string_view> header(std::string_view name) const;
  /// The query parameter's value, or nothing when absent.
  [[nodiscard]] std::optional<std::string_view> query_param(std::string_view name) const;
  /// The media type of `Content-Type` in lower case, without parameters ("application/json").
  [[nodiscard]] std::string media_type() const;
};

/// The answer a handler returns.
///
/// **Example:**
/// @snippet http_snippets_test.cpp http_message
struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  ///< Extra headers (Location, Allow, ...).

  /// A JSON body.
  static HttpResponse json(int status, const nlohmann::json& body);
  /// The library's error body: `{"error":{"code":"...","message":"..."}}`.
  static HttpResponse error(int status, std::string_view code, std::string_view message);
  /// A text body (`text/plain; charset=utf-8` unless `content_type` says otherwise).
  static HttpResponse text(int status, std::string body, std::string content_type = "text/plain; charset=utf-8");
};

/// What a server calls for each request. Called on the server's one I/O thread: it
/// should not block for long (long waits answer 202 and go on elsewhere). A throw is
/// caught and answered 500.
using RequestHandler = std::function<HttpResponse(const HttpRequest&)>;

/// The reason phrase of a status code ("Not Found"), or "Unknown".
std::string_view reason_phrase(int status) noexcept;

/// Percent-decodes `s` (`+` as space when `plus_as_space`); nothing when an escape is bad.
std::optional<std::string> percent_decode(std::string_view s, bool plus_as_space);

}  // namespace pipeline::inline v0::http
