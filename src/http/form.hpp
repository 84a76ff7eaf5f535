#pragma once
// Internal to pipeline::http: what the server's auth and query parsing share with the
// status page's sign-in and replay forms.

#include <functional>
#include <map>
#include <string>
#include <string_view>

namespace pipeline::inline v0::http::detail {

// Compares in time that depends only on the lengths, never on where they differ.
bool constant_time_equal(std::string_view a, std::string_view b) noexcept;

// Decodes `a=1&b=x+y` (a query string, or an application/x-www-form-urlencoded body) into
// `out`; the last of a repeated name wins, a pair with a bad escape is dropped.
void parse_form(std::string_view text, std::map<std::string, std::string, std::less<>>& out);

}  // namespace pipeline::inline v0::http::detail
