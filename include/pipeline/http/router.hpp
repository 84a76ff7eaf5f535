#pragma once
/// @file
/// `Router`: maps a method and an exact path to a `RequestHandler`.

#include <map>
#include <string>
#include <string_view>

#include "pipeline/core/result.hpp"
#include "pipeline/http/http_message.hpp"

namespace pipeline::inline v0::http {

/// Routes requests by exact path and method. An unknown path answers 404, a known path
/// with another method 405 with an `Allow` header (HEAD is served by GET's handler with
/// the body dropped by the server), both with the library's JSON error body.
///
/// **Thread safety:** mount everything before the server starts; `handle` is then
/// read-only and may run concurrently.
/// **Performance:** one map lookup per request.
/// **Errors:** `add` returns `kInvalidArgument` for a path that does not start with '/'
/// or a method that is not an upper-case token, `kAlreadyExists` for a route mounted twice.
///
/// **Example:**
/// @snippet http_snippets_test.cpp router
class Router {
 public:
  [[nodiscard]] Status add(std::string_view method, std::string_view path, RequestHandler handler);

  /// Whether `path` has any route.
  [[nodiscard]] bool has_path(std::string_view path) const;

  /// The handler's answer, or 404/405. A throwing handler is answered 500 ("internal").
  [[nodiscard]] HttpResponse handle(const HttpRequest& request) const;

 private:
  std::map<std::string, std::map<std::string, RequestHandler, std::less<>>, std::less<>> routes_;
};

}  // namespace pipeline::inline v0::http
