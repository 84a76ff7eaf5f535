// HttpRequest / HttpResponse helpers and the Router.
#include "pipeline/http/http_message.hpp"

#include <algorithm>
#include <cctype>
#include <exception>

#include <nlohmann/json.hpp>

#include "form.hpp"
#include "pipeline/http/router.hpp"

namespace pipeline::inline v0::http {

namespace {
char lower(char c) noexcept { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }
}  // namespace

bool HeaderNameLess::operator()(std::string_view a, std::string_view b) const noexcept {
  return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end(),
                                      [](char x, char y) { return lower(x) < lower(y); });
}

std::optional<std::string_view> HttpRequest::header(std::string_view name) const {
  auto it = headers.find(name);
  if (it == headers.end()) return std::nullopt;
  return std::string_view(it->second);
}

std::optional<std::string_view> HttpRequest::query_param(std::string_view name) const {
  auto it = query.find(name);
  if (it == query.end()) return std::nullopt;
  return std::string_view(it->second);
}

std::string HttpRequest::media_type() const {
  auto ct = header("Content-Type");
  if (!ct) return {};
  std::string_view v = *ct;
  v = v.substr(0, v.find(';'));
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  std::string out(v);
  for (char& c : out) c = lower(c);
  return out;
}

HttpResponse HttpResponse::json(int status, const nlohmann::json& body) {
  HttpResponse r;
  r.status = status;
  r.content_type = "application/json";
  // Invalid UTF-8 in a value (an echoed input) is replaced, never thrown.
  r.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  r.body += '\n';
  return r;
}

HttpResponse HttpResponse::error(int status, std::string_view code, std::string_view message) {
  return json(status, {{"error", {{"code", code}, {"message", message}, {"status", status}}}});
}

HttpResponse HttpResponse::text(int status, std::string body, std::string content_type) {
  HttpResponse r;
  r.status = status;
  r.content_type = std::move(content_type);
  r.body = std::move(body);
  return r;
}

std::string_view reason_phrase(int status) noexcept {
  switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 303: return "See Other";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 413: return "Content Too Large";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Content";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return "Unknown";
  }
}

std::optional<std::string> percent_decode(std::string_view s, bool plus_as_space) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '%') {
      if (i + 2 >= s.size()) return std::nullopt;
      const int hi = hex(s[i + 1]), lo = hex(s[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else if (c == '+' && plus_as_space) {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out;
}

// ---- Router --------------------------------------------------------------------------

Status Router::add(std::string_view method, std::string_view path, RequestHandler handler) {
  if (path.empty() || path.front() != '/')
    return fail(ErrorCode::kInvalidArgument, "route path '{}' must start with '/'", path);
  if (method.empty() || !std::all_of(method.begin(), method.end(), [](char c) { return c >= 'A' && c <= 'Z'; }))
    return fail(ErrorCode::kInvalidArgument, "route method '{}' must be an upper-case token such as GET", method);
  if (!handler) return fail(ErrorCode::kInvalidArgument, "route {} {} has no handler", method, path);
  auto& methods = routes_[std::string(path)];
  if (methods.count(method) != 0) return fail(ErrorCode::kAlreadyExists, "route {} {} is mounted already", method, path);
  methods.emplace(std::string(method), std::move(handler));
  return ok();
}

bool Router::has_path(std::string_view path) const { return routes_.find(path) != routes_.end(); }

HttpResponse Router::handle(const HttpRequest& request) const {
  auto p = routes_.find(request.path);
  if (p == routes_.end()) return HttpResponse::error(404, "not_found", "no endpoint at this path");
  auto m = p->second.find(request.method);
  if (m == p->second.end() && request.method == "HEAD") m = p->second.find("GET");
  if (m == p->second.end()) {
    std::string allow;
    for (const auto& [name, h] : p->second) {
      if (!allow.empty()) allow += ", ";
      allow += name;
    }
    auto r = HttpResponse::error(405, "method_not_allowed", "this endpoint does not answer " + request.method);
    r.headers.emplace_back("Allow", allow);
    return r;
  }
  try {
    return m->second(request);
  } catch (const std::exception& e) {
    return HttpResponse::error(500, "internal", "the handler failed; see the server log for request " +
                                                    request.request_id);
  } catch (...) {
    return HttpResponse::error(500, "internal", "the handler failed; see the server log for request " +
                                                    request.request_id);
  }
}

namespace detail {

bool constant_time_equal(std::string_view a, std::string_view b) noexcept {
  const std::size_t n = std::max(a.size(), b.size());
  unsigned diff = a.size() == b.size() ? 0U : 1U;
  for (std::size_t i = 0; i < n; ++i) {
    const unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
    const unsigned char y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
    diff |= static_cast<unsigned>(x ^ y);
  }
  return diff == 0;
}

void parse_form(std::string_view text, std::map<std::string, std::string, std::less<>>& out) {
  while (!text.empty()) {
    const auto amp = text.find('&');
    std::string_view pair = text.substr(0, amp);
    text = amp == std::string_view::npos ? std::string_view{} : text.substr(amp + 1);
    if (pair.empty()) continue;
    const auto eq = pair.find('=');
    auto k = percent_decode(pair.substr(0, eq), true);
    auto v = percent_decode(eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1), true);
    if (k && v) out[*k] = *v;
  }
}

}  // namespace detail

}  // namespace pipeline::inline v0::http
