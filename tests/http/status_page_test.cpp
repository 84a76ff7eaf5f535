// The status page's handlers, driven through the router (the browser test in tests/browser
// drives the real server in Chromium): escaping, sign-in, the replay form's guards, and
// /api/status against the DateStatus JSON `pipelinectl status --json` prints.
#include <chrono>
#include <memory>
#include <regex>
#include <string>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "pipeline/alert/store_alert_sink.hpp"
#include "pipeline/core/manual_clock.hpp"
#include "pipeline/core/timestamp.hpp"
#include "pipeline/http/status_page.hpp"
#include "pipeline/memory/memory_state_store.hpp"
#include "pipeline/orchestrate/dead_letter_recorder.hpp"
#include "pipeline/orchestrate/tracker_keys.hpp"
#include "pipeline/orchestrate/tracker_records.hpp"
#include "pipeline/runtime/date_status.hpp"

namespace {

using pipeline::http::HttpRequest;
using pipeline::http::HttpResponse;

constexpr std::string_view kScript = "<script>alert('x')</script>";
constexpr std::string_view kEscaped = "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;";

class StatusPageTest : public ::testing::Test {
 protected:
  void mount(std::string token) {
    server.token = std::move(token);
    pipeline::http::StatusPageOptions page;
    page.store = &store;
    page.clock = &clock;
    page.game_date = [](pipeline::TimePoint) { return *pipeline::CalendarDate::parse("2025-11-18"); };
    page.next_firings = [](pipeline::TimePoint now) {
      return std::vector<pipeline::http::ScheduledFiring>{{"backup", now + std::chrono::hours(1), "06:00 PST <b>"}};
    };
    page.after_replay = [this] { ++replays_drained; };
    ASSERT_TRUE(pipeline::http::mount_status_page(router, server, page));
  }
  // A dead letter whose id, subscription and error carry markup.
  void add_dead_letter() {
    pipeline::DeadLetterRecord r;
    r.id = fmt::format("msg-\"{}", kScript);
    r.subscription = "sub";
    r.source_topic = "topic";
    r.attempts = 5;
    r.last_error = fmt::format("bad payload {}", kScript);
    r.payload = "{}";
    r.recorded_at = clock.now();
    ASSERT_TRUE(store.transact([&](pipeline::Transaction& tx) { return tx.put(r.key(), r.to_json().dump()); }));
  }
  HttpResponse send(std::string method, std::string target, std::string body = {},
                    std::vector<std::pair<std::string, std::string>> headers = {}) {
    HttpRequest r;
    r.method = std::move(method);
    r.target = target;
    const auto q = target.find('?');
    r.path = target.substr(0, q);
    if (q != std::string::npos) {
      std::string rest = target.substr(q + 1);
      for (std::size_t i = 0; i <= rest.size();) {
        const auto amp = std::min(rest.find('&', i), rest.size());
        const std::string pair = rest.substr(i, amp - i);
        const auto eq = pair.find('=');
        if (!pair.empty()) r.query[pair.substr(0, eq)] = eq == std::string::npos ? "" : *pipeline::http::percent_decode(pair.substr(eq + 1), true);
        i = amp + 1;
      }
    }
    r.body = std::move(body);
    if (!r.body.empty()) r.headers["Content-Type"] = "application/x-www-form-urlencoded";
    for (auto& [k, v] : headers) r.headers[k] = v;
    return router.handle(r);
  }
  static std::string header(const HttpResponse& r, std::string_view name) {
    for (const auto& [k, v] : r.headers)
      if (k == name) return v;
    return {};
  }
  // Signs in; returns the Cookie header value.
  std::string sign_in() {
    auto r = send("POST", "/login", "token=tok%2B1&date=2025-11-18");
    EXPECT_EQ(r.status, 303);
    const std::string set = header(r, "Set-Cookie");
    return set.substr(0, set.find(';'));
  }
  static std::string csrf_of(const std::string& html) {
    std::smatch m;
    return std::regex_search(html, m, std::regex("name=\"csrf\" value=\"([0-9a-f]+)\"")) ? m[1].str() : "";
  }

  pipeline::ManualClock clock{*pipeline::parse_rfc3339("2025-11-18T20:00:00Z")};
  pipeline::MemoryStateStore store = pipeline::MemoryStateStore::create().value();
  pipeline::http::Router router;
  pipeline::http::HttpServerOptions server;
  int replays_drained = 0;
};

TEST_F(StatusPageTest, EscapesEveryStoredValueInTextAndAttributes) {
  mount("");
  add_dead_letter();
  auto alerts = pipeline::StoreAlertSink::create(store).value();
  pipeline::Alert a;
  a.key = fmt::format("dlq/{}/2025-11-18", kScript);
  a.message = fmt::format("dead-lettered: {}", kScript);
  a.at = clock.now();
  ASSERT_TRUE(alerts->send(a));
  pipeline::TrackerDescription t{fmt::format("t{}", kScript), "phase2", "phase3", "topic", {"loader"}};
  ASSERT_TRUE(store.transact([&](pipeline::Transaction& tx) {
    return tx.put(pipeline::TrackerKeys::description_key(t.name), pipeline::internal::encode_description(t));
  }));

  auto r = send("GET", "/?date=2025-11-18");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.content_type, "text/html; charset=utf-8");
  EXPECT_EQ(r.body.find("<script>alert"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find(fmt::format("bad payload {}", kEscaped)), std::string::npos);       // error text
  EXPECT_NE(r.body.find(fmt::format("dead-lettered: {}", kEscaped)), std::string::npos);    // alert message
  EXPECT_NE(r.body.find(fmt::format("t{}", kEscaped)), std::string::npos);                  // tracker name
  EXPECT_NE(r.body.find(fmt::format("value=\"sub/msg-&quot;{}\"", kEscaped)), std::string::npos);  // attribute
  EXPECT_NE(r.body.find("06:00 PST &lt;b&gt;"), std::string::npos);
  // The only scripts are the page's own, from this origin.
  EXPECT_EQ(r.body.find("<script"), r.body.find("<script src=\"/static/status.js\" defer></script>"));
  EXPECT_NE(header(r, "Content-Security-Policy").find("script-src 'self'"), std::string::npos);
}

TEST_F(StatusPageTest, ATokenMakesThePageASignInFormThatSetsAnHttpOnlyStrictSessionCookie) {
  mount("tok+1");
  EXPECT_TRUE(server.open_paths.count("/"));  // the page checks its own auth
  auto form = send("GET", "/?date=2025-11-18");
  EXPECT_EQ(form.status, 200);
  EXPECT_NE(form.body.find("action=\"/login\""), std::string::npos);
  EXPECT_EQ(form.body.find("id=\"graph\""), std::string::npos);
  EXPECT_EQ(send("GET", "/api/status?date=2025-11-18").status, 401);

  auto refused = send("POST", "/login", "token=wrong");
  EXPECT_EQ(refused.status, 401);
  EXPECT_TRUE(header(refused, "Set-Cookie").empty());

  auto ok = send("POST", "/login", "token=tok%2B1&date=2025-11-18");
  ASSERT_EQ(ok.status, 303);
  EXPECT_EQ(header(ok, "Location"), "/?date=2025-11-18");
  const std::string cookie = header(ok, "Set-Cookie");
  EXPECT_NE(cookie.find("HttpOnly"), std::string::npos);
  EXPECT_NE(cookie.find("SameSite=Strict"), std::string::npos);
  const std::string session = cookie.substr(0, cookie.find(';'));
  auto page = send("GET", "/?date=2025-11-18", {}, {{"Cookie", "other=1; " + session}});
  EXPECT_NE(page.body.find("id=\"graph\""), std::string::npos);
  EXPECT_EQ(send("GET", "/api/status?date=2025-11-18", {}, {{"Cookie", session}}).status, 200);
  EXPECT_EQ(send("GET", "/api/status?date=2025-11-18", {}, {{"Authorization", "Bearer tok+1"}}).status, 200);

  // Sessions end: at sign-out, and after their lifetime.
  EXPECT_EQ(send("POST", "/logout", {}, {{"Cookie", session}}).status, 303);
  EXPECT_EQ(send("GET", "/api/status", {}, {{"Cookie", session}}).status, 401);
  const std::string again = sign_in();
  clock.advance(std::chrono::hours(13));
  EXPECT_EQ(send("GET", "/api/status", {}, {{"Cookie", again}}).status, 401);
}

TEST_F(StatusPageTest, ReplayNeedsTheSessionAndItsCsrfTokenOrTheBearerToken) {
  mount("tok+1");
  add_dead_letter();
  const std::string form_id = "id=" + std::string("sub%2Fmsg-%22%3Cscript%3Ealert('x')%3C%2Fscript%3E");
  auto replayed = [&] { return pipeline::DeadLetterRecorder::list(store)->front().replayed; };

  EXPECT_EQ(send("POST", "/dlq/replay", form_id + "&csrf=x").status, 401);
  const std::string session = sign_in();
  const std::string csrf = csrf_of(send("GET", "/?date=2025-11-18", {}, {{"Cookie", session}}).body);
  ASSERT_FALSE(csrf.empty());
  EXPECT_EQ(send("POST", "/dlq/replay", form_id, {{"Cookie", session}}).status, 403);
  EXPECT_EQ(send("POST", "/dlq/replay", form_id + "&csrf=" + std::string(csrf.size(), '0'), {{"Cookie", session}}).status, 403);
  EXPECT_EQ(send("POST", "/dlq/replay", form_id + "&csrf=" + csrf, {{"Authorization", "Bearer nope"}}).status, 401);
  EXPECT_EQ(replayed(), 0);
  EXPECT_EQ(replays_drained, 0);

  auto ok = send("POST", "/dlq/replay", form_id + "&csrf=" + csrf + "&date=2025-11-18", {{"Cookie", session}});
  ASSERT_EQ(ok.status, 303) << ok.body;
  EXPECT_EQ(header(ok, "Location").find("/?replayed=msg-%22%3Cscript%3E"), 0u);  // encoded for the header
  EXPECT_NE(header(ok, "Location").find("&date=2025-11-18#dead-letters"), std::string::npos);
  EXPECT_EQ(replayed(), 1);
  EXPECT_EQ(replays_drained, 1);
  auto scripted = send("POST", "/dlq/replay", form_id, {{"Authorization", "Bearer tok+1"}});
  ASSERT_EQ(scripted.status, 200) << scripted.body;
  EXPECT_EQ(nlohmann::json::parse(scripted.body)["replay"], 2);
  EXPECT_EQ(send("POST", "/dlq/replay", "id=sub%2Fnone", {{"Authorization", "Bearer tok+1"}}).status, 404);
}

TEST_F(StatusPageTest, WithoutATokenThePageCarriesACsrfTokenTheReplayNeeds) {
  mount("");
  add_dead_letter();
  const std::string csrf = csrf_of(send("GET", "/").body);
  ASSERT_FALSE(csrf.empty());
  const std::string form_id = "id=sub%2Fmsg-%22%3Cscript%3Ealert('x')%3C%2Fscript%3E";
  EXPECT_EQ(send("POST", "/dlq/replay", form_id).status, 403);  // a cross-site form cannot know it
  EXPECT_EQ(send("POST", "/dlq/replay", form_id + "&csrf=" + csrf).status, 303);
}

TEST_F(StatusPageTest, ApiStatusIsTheDateStatusJsonPlusTheDeadLettersAlertsRelayAndSchedule) {
  mount("");
  add_dead_letter();
  auto r = send("GET", "/api/status?date=2025-11-18");
  ASSERT_EQ(r.status, 200) << r.body;
  auto j = nlohmann::json::parse(r.body);
  auto shared = pipeline::load_date_status(store, *pipeline::CalendarDate::parse("2025-11-18"));
  ASSERT_TRUE(shared);
  const nlohmann::json expected = shared->to_json();
  for (const auto& [k, v] : expected.items()) EXPECT_EQ(j[k], v) << k;
  EXPECT_EQ(j["state"], "nothing_recorded");
  ASSERT_EQ(j["dead_letters"].size(), 1u);
  EXPECT_EQ(j["dead_letters"][0]["attempts"], 5);
  EXPECT_FALSE(j["dead_letters"][0].contains("payload"));
  EXPECT_EQ(j["outbox_pending"], 0);
  EXPECT_EQ(j["next_firings"][0]["job"], "backup");
  EXPECT_TRUE(j["alerts"].is_array());
  EXPECT_EQ(nlohmann::json::parse(send("GET", "/api/status").body)["date"], "2025-11-18");  // the default date
  EXPECT_EQ(send("GET", "/api/status?date=2025-02-30").status, 400);
  EXPECT_EQ(send("GET", "/?date=nope").status, 400);
}

}  // namespace
