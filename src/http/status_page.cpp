// The status page: server-rendered HTML over the same store reads as `pipelinectl status`
// (DateStatus), its JSON, browser sessions and the dead-letter replay form.
#include "pipeline/http/status_page.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "form.hpp"
#include "pipeline/alert/store_alert_sink.hpp"
#include "pipeline/core/timestamp.hpp"
#include "pipeline/orchestrate/dead_letter_recorder.hpp"
#include "pipeline/orchestrate/registry_store.hpp"
#include "pipeline/runtime/date_status.hpp"
#include "status_page_assets.hpp"

namespace pipeline::inline v0::http {

namespace {

constexpr std::string_view kSessionCookie = "pipeline_session";
constexpr std::size_t kMaxSessions = 1024;
constexpr std::size_t kMissingShown = 60;
constexpr std::size_t kDeadLettersShown = 100;

// Escapes text for HTML content and for quoted attribute values alike.
std::string esc(std::string_view s) {
  std::string out;
  out.reserve(s.size() + s.size() / 8);
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

// 32 random bytes as hex: a session id or a CSRF token.
std::string random_token() {
  std::random_device rd;
  std::string out;
  for (int i = 0; i < 8; ++i) out += fmt::format("{:08x}", static_cast<std::uint32_t>(rd()));
  return out;
}

// A processor or phase name with break opportunities after its underscores (names are
// long single words: "bettingpros_player_points_props").
std::string breakable(std::string_view name) {
  std::string out;
  for (char c : esc(name)) {
    out += c;
    if (c == '_') out += "<wbr>";
  }
  return out;
}

std::string instant_html(std::optional<TimePoint> t) {
  if (!t) return "<span class=\"empty\">-</span>";
  const std::string s = format_rfc3339(*t);
  return fmt::format("<time datetime=\"{0}\">{0}</time>", esc(s));
}

std::string seconds_text(std::optional<Duration> d) {
  if (!d) return "-";
  return fmt::format("{:.1f} s", std::chrono::duration<double>(*d).count());
}

// One of the five states, its label and its glyph (the glyph is decoration: the label says it).
struct Shown {
  std::string_view css, label, glyph;
};
constexpr Shown kComplete{"complete", "complete", "\u2713"};
constexpr Shown kRunning{"running", "running", "\u25B6"};
constexpr Shown kPartial{"partial", "partial", "\u25D0"};
constexpr Shown kFailed{"failed", "failed", "\u2717"};
constexpr Shown kNotStarted{"not-started", "not started", "\u25CB"};

std::string badge(const Shown& s, std::string_view cls = "badge") {
  return fmt::format("<span class=\"{} state-{}\"><span aria-hidden=\"true\">{}</span><span class=\"label\">{}</span></span>",
                     cls, s.css, s.glyph, s.label);
}

Shown batch_shown(const BatchReport& r) {
  switch (r.state) {
    case BatchState::kNone: return kNotStarted;
    case BatchState::kWaiting:
    case BatchState::kRunning: return kRunning;
    case BatchState::kComplete: return r.partially_complete ? kPartial : kComplete;
    default: return kFailed;
  }
}

Shown date_shown(const DateStatus& s) {
  switch (s.state()) {
    case DateState::kNothingRecorded: return kNotStarted;
    case DateState::kComplete: return kComplete;
    case DateState::kPartial: break;
  }
  for (const auto& t : s.trackers)
    if (!t.failed.empty()) return kFailed;
  return kPartial;
}

struct Session {
  std::string csrf;
  TimePoint expires{};
};

class StatusPage {
 public:
  StatusPage(StatusPageOptions options, std::string token)
      : options_(std::move(options)), token_(std::move(token)), page_csrf_(random_token()) {}

  HttpResponse page(const HttpRequest& req);
  HttpResponse api(const HttpRequest& req);
  HttpResponse login(const HttpRequest& req);
  HttpResponse logout(const HttpRequest& req);
  HttpResponse replay(const HttpRequest& req);

 private:
  // The session a request's cookie names, if it is live.
  std::optional<Session> session_of(const HttpRequest& req);
  bool bearer_ok(const HttpRequest& req) const;
  // Who may read: anyone without a token; else the bearer or a live session.
  bool may_read(const HttpRequest& req) { return token_.empty() || bearer_ok(req) || session_of(req).has_value(); }
  Result<CalendarDate> date_of(const HttpRequest& req) const;
  Result<nlohmann::json> api_json(CalendarDate date);
  std::string render(CalendarDate date, const DateStatus& status, std::string_view csrf, bool signed_in,
                     const HttpRequest& req);
  HttpResponse sign_in_form(int status, std::string_view message, std::string_view date);

  StatusPageOptions options_;
  std::string token_;
  std::string page_csrf_;  // the replay form's token when no bearer token is configured
  std::mutex mutex_;
  std::map<std::string, Session, std::less<>> sessions_;
};

HttpResponse html(int status, std::string body) {
  HttpResponse r = HttpResponse::text(status, std::move(body), "text/html; charset=utf-8");
  // Nothing but this origin's stylesheet and script; no framing; forms post here only.
  r.headers.emplace_back("Content-Security-Policy",
                         "default-src 'none'; style-src 'self'; script-src 'self'; connect-src 'self'; img-src 'self' data:; "
                         "form-action 'self'; frame-ancestors 'none'; base-uri 'none'");
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  r.headers.emplace_back("Referrer-Policy", "no-referrer");
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}

HttpResponse see_other(std::string location) {
  HttpResponse r = HttpResponse::text(303, "see " + location + "\n");
  r.headers.emplace_back("Location", std::move(location));
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}

std::string head(std::string_view title) {
  return fmt::format(
      "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
      "<title>{}</title><link rel=\"stylesheet\" href=\"/static/status.css\">"
      "<link rel=\"icon\" href=\"data:,\">"
      "<script src=\"/static/status.js\" defer></script></head>\n",
      esc(title));
}

// The session id a request's Cookie header names (empty when none).
std::string session_id_of(const HttpRequest& req) {
  auto cookie = req.header("Cookie");
  if (!cookie) return {};
  std::string_view rest = *cookie;
  std::string id;
  while (!rest.empty()) {
    const auto semi = rest.find(';');
    std::string_view pair = rest.substr(0, semi);
    rest = semi == std::string_view::npos ? std::string_view{} : rest.substr(semi + 1);
    while (!pair.empty() && pair.front() == ' ') pair.remove_prefix(1);
    if (pair.size() > kSessionCookie.size() && pair.starts_with(kSessionCookie) && pair[kSessionCookie.size()] == '=')
      id = std::string(pair.substr(kSessionCookie.size() + 1));
  }
  return id;
}

std::optional<Session> StatusPage::session_of(const HttpRequest& req) {
  const std::string id = session_id_of(req);
  if (id.empty()) return std::nullopt;
  const TimePoint now = options_.clock->now();
  std::lock_guard lock(mutex_);
  auto it = sessions_.find(id);
  if (it == sessions_.end()) return std::nullopt;
  if (it->second.expires <= now) {
    sessions_.erase(it);
    return std::nullopt;
  }
  return it->second;
}

bool StatusPage::bearer_ok(const HttpRequest& req) const {
  auto auth = req.header("Authorization");
  constexpr std::string_view kBearer = "Bearer ";
  if (!auth || auth->size() < kBearer.size()) return false;
  std::string scheme(auth->substr(0, kBearer.size()));
  std::transform(scheme.begin(), scheme.end(), scheme.begin(), [](unsigned char c) { return std::tolower(c); });
  return scheme == "bearer " && detail::constant_time_equal(auth->substr(kBearer.size()), token_);
}

Result<CalendarDate> StatusPage::date_of(const HttpRequest& req) const {
  auto q = req.query_param("date");
  if (!q || q->empty()) return options_.game_date(options_.clock->now());
  return CalendarDate::parse(*q);
}

HttpResponse StatusPage::sign_in_form(int status, std::string_view message, std::string_view date) {
  std::string b = head("Sign in - pipeline status");
  b += "<body><header><h1>Pipeline status</h1></header><main>\n<h2>Sign in</h2>\n";
  if (!message.empty()) b += fmt::format("<p class=\"notice error\" role=\"alert\">{}</p>\n", esc(message));
  b += fmt::format(
      "<p>This server requires its bearer token. Signing in exchanges it for a session cookie of this browser.</p>\n"
      "<form method=\"post\" action=\"/login\" class=\"inline\"><input type=\"hidden\" name=\"date\" value=\"{}\">"
      "<label for=\"token\">Token</label><input type=\"password\" id=\"token\" name=\"token\" autocomplete=\"current-password\" required>"
      "<button type=\"submit\">Sign in</button></form>\n</main></body></html>\n",
      esc(date));
  return html(status, std::move(b));
}

HttpResponse StatusPage::login(const HttpRequest& req) {
  std::map<std::string, std::string, std::less<>> form;
  detail::parse_form(req.body, form);
  // Back to the date the form was for; it goes into a Location header, so only as parsed.
  std::string date;
  if (!form["date"].empty()) {
    auto parsed = CalendarDate::parse(form["date"]);
    if (!parsed) return sign_in_form(400, "date is not YYYY-MM-DD", "");
    date = parsed->to_string();
  }
  if (token_.empty()) return see_other(date.empty() ? "/" : "/?date=" + date);
  if (!detail::constant_time_equal(form["token"], token_)) return sign_in_form(401, "That token was refused.", date);
  const std::string id = random_token();
  const TimePoint now = options_.clock->now();
  {
    std::lock_guard lock(mutex_);
    std::erase_if(sessions_, [&](const auto& kv) { return kv.second.expires <= now; });
    if (sessions_.size() >= kMaxSessions) sessions_.erase(sessions_.begin());  // bounded: an old one goes
    sessions_[id] = Session{random_token(), now + options_.session_lifetime};
  }
  HttpResponse r = see_other(date.empty() ? "/" : "/?date=" + date);
  r.headers.emplace_back("Set-Cookie", fmt::format("{}={}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}", kSessionCookie, id,
                                                   options_.session_lifetime.count()));
  return r;
}

HttpResponse StatusPage::logout(const HttpRequest& req) {
  if (const std::string id = session_id_of(req); !id.empty()) {
    std::lock_guard lock(mutex_);
    sessions_.erase(id);
  }
  HttpResponse r = see_other("/");
  r.headers.emplace_back("Set-Cookie", fmt::format("{}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0", kSessionCookie));
  return r;
}

HttpResponse StatusPage::replay(const HttpRequest& req) {
  std::map<std::string, std::string, std::less<>> form;
  if (req.media_type() == "application/x-www-form-urlencoded") detail::parse_form(req.body, form);
  const bool bearer = !token_.empty() && bearer_ok(req);
  if (!bearer) {
    std::string expected;
    if (token_.empty()) {
      expected = page_csrf_;
    } else if (auto s = session_of(req)) {
      expected = s->csrf;
    } else {
      HttpResponse r = HttpResponse::error(401, "unauthorized", "sign in, or send the bearer token, to replay a dead letter");
      r.headers.emplace_back("WWW-Authenticate", "Bearer");
      return r;
    }
    if (!detail::constant_time_equal(form["csrf"], expected))
      return HttpResponse::error(403, "forbidden", "the form's CSRF token is missing or stale: reload the page and try again");
  }
  const std::string id = form.count("id") ? form["id"] : std::string(req.query_param("id").value_or(""));
  if (id.empty()) return HttpResponse::error(400, "invalid_argument", "the dead letter's id is missing");
  auto r = DeadLetterRecorder::replay(*options_.store, id);
  if (!r) {
    const int status = r.error().code == ErrorCode::kNotFound ? 404
                       : r.error().code == ErrorCode::kInvalidArgument ? 400
                                                                        : 503;
    return HttpResponse::error(status, status == 503 ? "unavailable" : status == 404 ? "not_found" : "invalid_argument",
                               r.error().message);
  }
  if (options_.after_replay) options_.after_replay();
  if (bearer) return HttpResponse::json(200, {{"replayed", r->record.id}, {"outbox_key", r->outbox_key}, {"replay", r->record.replayed}});
  // Back to the page, naming the replayed id (percent-encoded: it goes into a Location header).
  std::string location = "/?replayed=";
  for (char c : r->record.id) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) != 0 || c == '-' || c == '_' || c == '.' || c == '~' || c == '/' || c == ':')
      location += c;
    else
      location += fmt::format("%{:02X}", u);
  }
  if (auto d = CalendarDate::parse(form["date"])) location += "&date=" + d->to_string();
  return see_other(location + "#dead-letters");
}

Result<nlohmann::json> StatusPage::api_json(CalendarDate date) {
  auto status = load_date_status(*options_.store, date, options_.phase5_prefix);
  if (!status) return fail(status.error());
  nlohmann::json j = status->to_json();
  auto dead = DeadLetterRecorder::list(*options_.store);
  if (!dead) return fail(dead.error());
  j["dead_letters"] = nlohmann::json::array();
  for (const auto& d : *dead) {
    nlohmann::json e = d.to_json();
    e.erase("payload");  // the page lists; `pipelinectl dlq list --json` has the payloads
    j["dead_letters"].push_back(std::move(e));
  }
  auto alerts = StoreAlertSink::list(*options_.store, date);
  if (!alerts) return fail(alerts.error());
  j["alerts"] = nlohmann::json::array();
  for (const auto& a : *alerts)
    j["alerts"].push_back({{"at", format_rfc3339(a.at)},
                           {"severity", std::string(to_string(a.severity))},
                           {"key", a.key},
                           {"message", a.message},
                           {"suppressed_count", a.suppressed_count}});
  auto pending = options_.store->pending_outbox();
  j["outbox_pending"] = pending ? nlohmann::json(*pending) : nlohmann::json();
  j["next_firings"] = nlohmann::json::array();
  if (options_.next_firings)
    for (const auto& f : options_.next_firings(options_.clock->now()))
      j["next_firings"].push_back({{"job", f.job}, {"utc", format_rfc3339(f.at)}, {"local", f.local}});
  return j;
}

HttpResponse StatusPage::api(const HttpRequest& req) {
  if (!may_read(req)) {
    HttpResponse r = HttpResponse::error(401, "unauthorized", "a valid bearer token or a signed-in session is required");
    r.headers.emplace_back("WWW-Authenticate", "Bearer");
    return r;
  }
  auto date = date_of(req);
  if (!date) return HttpResponse::error(400, "invalid_argument", "date: " + date.error().message);
  auto j = api_json(*date);
  if (!j) return HttpResponse::error(503, "unavailable", j.error().message);
  HttpResponse r = HttpResponse::json(200, *j);
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}

HttpResponse StatusPage::page(const HttpRequest& req) {
  auto date = date_of(req);
  const std::string asked(req.query_param("date").value_or(""));
  if (!may_read(req)) return sign_in_form(200, "", date ? date->to_string() : "");
  if (!date) return html(400, head("Bad date") + "<body><main><h1>Bad date</h1><p>" + esc(date.error().message) +
                                  "</p><p><a href=\"/\">Today</a></p></main></body></html>\n");
  auto status = load_date_status(*options_.store, *date, options_.phase5_prefix);
  if (!status)
    return html(503, head("Store unavailable") + "<body><main><h1>The store could not be read</h1><p>" +
                         esc(status.error().message) + "</p></main></body></html>\n");
  std::string csrf = page_csrf_;
  bool signed_in = false;
  if (!token_.empty()) {
    auto s = session_of(req);
    signed_in = s.has_value();
    csrf = s ? s->csrf : std::string();  // a bearer-only client replays with its bearer
  }
  return html(200, render(*date, *status, csrf, signed_in, req));
}

std::string StatusPage::render(CalendarDate date, const DateStatus& status, std::string_view csrf, bool signed_in,
                               const HttpRequest& req) {
  StateStore& store = *options_.store;
  const TimePoint now = options_.clock->now();
  const std::string d = date.to_string();
  std::string b = head(fmt::format("{} - pipeline status", d));
  b += fmt::format("<body data-date=\"{}\" data-refresh=\"{}\">\n<header><h1>Pipeline status</h1>\n", esc(d),
                   options_.refresh.count());
  b += fmt::format(
      "<form method=\"get\" action=\"/\" class=\"inline\"><label for=\"date\">Game date (US Eastern)</label>"
      "<input type=\"text\" id=\"date\" name=\"date\" value=\"{}\" required pattern=\"[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}\" "
      "inputmode=\"numeric\" size=\"10\" aria-describedby=\"date-format\"><span id=\"date-format\" class=\"meta\">YYYY-MM-DD</span>"
      "<button type=\"submit\">Show</button></form>\n",
      esc(d));
  b += fmt::format("<p class=\"meta\">{} {} &middot; rendered {} (UTC) &middot; <span id=\"refresh-note\" aria-live=\"polite\"></span></p>\n",
                   esc(d), badge(date_shown(status)), instant_html(std::chrono::floor<std::chrono::seconds>(now)));
  if (signed_in)
    b += "<form method=\"post\" action=\"/logout\" class=\"inline\"><button type=\"submit\">Sign out</button></form>\n";
  b += "</header>\n<main>\n";
  if (auto replayed = req.query_param("replayed"))
    b += fmt::format("<p class=\"notice\" role=\"status\">Replayed dead letter <code>{}</code> through the outbox.</p>\n",
                     esc(*replayed));

  // --- at a glance ----------------------------------------------------------------------
  auto dead = DeadLetterRecorder::list(store);
  auto alerts = StoreAlertSink::list(store, date);
  auto pending = store.pending_outbox();
  {
    const BatchReport& r = status.phase5;
    std::size_t waiting = 0;
    if (dead)
      for (const auto& e : *dead) waiting += e.replayed == 0 ? 1 : 0;
    b += "<section id=\"summary\" data-refresh aria-label=\"At a glance\"><dl class=\"glance\">";
    b += fmt::format("<div><dt>Phase 5 coverage</dt><dd>{}</dd></div>",
                     r.batch_id.empty() ? std::string("no batch")
                                        : fmt::format("{} of {} ({:.1f}%) &middot; {}", r.done, r.expected,
                                                      100.0 * r.completion_rate, r.no_go_reasons().empty() ? "GO" : "NO-GO"));
    b += fmt::format("<div><dt>Dead letters</dt><dd>{}</dd></div>",
                     dead ? fmt::format("{} ({} never replayed)", dead->size(), waiting) : std::string("unknown"));
    b += fmt::format("<div><dt>Alerts this date</dt><dd>{}</dd></div>",
                     alerts ? fmt::format("{}", alerts->size()) : std::string("unknown"));
    b += fmt::format("<div><dt>Relay lag</dt><dd>{}</dd></div>",
                     pending ? fmt::format("{} unsent", *pending) : std::string("unknown"));
    b += "</dl></section>\n";
  }

  // --- the graph ---------------------------------------------------------------------
  // A phase some tracker waits on has its processors' completions recorded; a phase none
  // waits on (the last one) is what the trackers trigger: with a Phase 5 batch, the
  // batch's state is its state, else it is running once triggered.
  std::map<std::string, ProcessorState, std::less<>> states;
  std::set<std::string, std::less<>> tracked, triggered;
  std::map<std::string, bool, std::less<>> phase_started, phase_decided_partial;
  for (const auto& t : status.trackers) {
    tracked.insert(t.upstream_phase);
    for (const auto& [name, state] : t.processor_states()) states[name] = state;
    if (!t.done.empty() || !t.failed.empty()) phase_started[t.upstream_phase] = true;
    for (const auto& w : t.waves) {
      if (w.number == 0 && w.decided && w.partial) phase_decided_partial[t.upstream_phase] = true;
      if (w.decided) triggered.insert(w.run_processors.begin(), w.run_processors.end());
    }
  }
  const bool has_batch = !status.phase5.batch_id.empty();
  auto processor_shown = [&](const std::string& phase, const std::string& p) -> Shown {
    if (!tracked.count(phase)) return has_batch ? batch_shown(status.phase5) : triggered.count(p) ? kRunning : kNotStarted;
    auto it = states.find(p);
    if (it == states.end()) return kNotStarted;
    if (it->second == ProcessorState::kDone) return kComplete;
    if (it->second == ProcessorState::kFailed) return kFailed;
    return phase_decided_partial[phase] ? kPartial : phase_started[phase] ? kRunning : kNotStarted;
  };
  b += "<section id=\"graph\" data-refresh aria-labelledby=\"graph-h\"><h2 id=\"graph-h\">Phase graph</h2>\n";
  b += "<ul class=\"legend\" aria-label=\"Legend\">";
  for (const Shown* s : {&kComplete, &kRunning, &kPartial, &kFailed, &kNotStarted}) b += "<li>" + badge(*s) + "</li>";
  b += "</ul>\n";
  auto registry = load_registry(store);
  if (!registry) {
    b += "<p class=\"notice error\">The trigger registry could not be read: " + esc(registry.error().message) + "</p>\n";
  } else if (!*registry) {
    b += "<p class=\"empty\">No trigger registry in this store yet (a completion tracker stores it when it is created).</p>\n";
  } else {
    const TriggerRegistry& reg = **registry;
    b += "<ol class=\"phases\">\n";
    for (const auto& phase : reg.phases()) {
      const auto procs = reg.processors(phase);
      std::map<std::string_view, std::size_t> count;  // by state
      std::string nodes;
      for (const auto& p : procs) {
        const Shown s = processor_shown(phase, p);
        ++count[s.css];
        nodes += fmt::format(
            "<li class=\"node state-{0}\" data-processor=\"{1}\" data-state=\"{0}\"><span class=\"name\">"
            "<span aria-hidden=\"true\">{2}</span> {3}</span><span class=\"label\">{4}</span></li>\n",
            s.css, esc(p), s.glyph, breakable(p), s.label);
      }
      const std::size_t n = procs.size();
      const Shown ps = count[kFailed.css] > 0                       ? kFailed
                       : n > 0 && count[kComplete.css] == n         ? kComplete
                       : count[kPartial.css] > 0                    ? kPartial
                       : count[kNotStarted.css] == n                ? kNotStarted
                                                                    : kRunning;
      b += fmt::format("<li class=\"phase\" data-phase=\"{0}\"><h3>{1} {2}</h3><p class=\"meta\">{3} of {4} complete{5}</p><ul>\n",
                       esc(phase), breakable(phase), badge(ps), count[kComplete.css], n,
                       !tracked.count(phase) && has_batch
                           ? fmt::format("; batch: {} of {} predicted", status.phase5.done, status.phase5.expected)
                           : std::string());
      b += nodes + "</ul>";
      std::string edges;
      for (const auto& p : procs)
        if (const auto& t = reg.targets(p); !t.empty())
          edges += fmt::format("<li>{} &rarr; {}</li>", esc(p), esc(fmt::format("{}", fmt::join(t, ", "))));
      if (!edges.empty()) b += "<details class=\"edges\"><summary>Triggers</summary><ul>" + edges + "</ul></details>";
      b += "</li>\n";
    }
    b += "</ol>\n";
  }
  b += "</section>\n\n";

  // --- trackers -----------------------------------------------------------------------
  b += "<section id=\"trackers\" data-refresh aria-labelledby=\"trackers-h\"><h2 id=\"trackers-h\">Hand-offs (trackers and waves)</h2>\n";
  if (status.trackers.empty()) b += "<p class=\"empty\">No tracker is recorded in this store.</p>\n";
  for (const auto& t : status.trackers) {
    b += fmt::format(
        "<div class=\"table-wrap\"><table><caption>{} &middot; {} &rarr; {} &middot; {} of {} completed{}{}</caption>\n",
        esc(t.tracker), esc(t.upstream_phase), esc(t.downstream_phase), t.done.size(), t.expected.size(),
        t.failed.empty() ? std::string() : fmt::format(", failed: {}", esc(fmt::format("{}", fmt::join(t.failed, ", ")))),
        t.missing.empty() || t.empty() ? std::string()
                                       : fmt::format(", missing: {}", esc(fmt::format("{}", fmt::join(t.missing, ", ")))));
    b += "<thead><tr><th scope=\"col\">Wave</th><th scope=\"col\">Decision</th><th scope=\"col\">Decided (UTC)</th>"
         "<th scope=\"col\" class=\"num\">Processors in</th><th scope=\"col\" class=\"num\">Delivered to</th>"
         "<th scope=\"col\">Entities changed</th><th scope=\"col\" class=\"num\">Fan-in took</th></tr></thead><tbody>\n";
    if (t.waves.empty()) b += "<tr><td colspan=\"7\" class=\"empty\">nothing recorded for this date</td></tr>\n";
    for (const auto& w : t.waves) {
      std::string decision = !w.decided ? badge(kRunning)
                                        : (w.partial ? badge(kPartial) : badge(kComplete)) + " " + esc(w.reason);
      std::string changed;
      if (!w.entities_changed) {
        changed = "all (full run)";
      } else if (w.entities_changed->empty()) {
        changed = "none";
      } else {
        for (const auto& [kind, ids] : *w.entities_changed)
          changed += fmt::format("{}{} {}", changed.empty() ? "" : ", ", ids.size(), esc(kind));
      }
      b += fmt::format("<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td>"
                       "<td class=\"num\">{}</td></tr>\n",
                       w.number == 0 ? std::string("0 (full)") : fmt::format("{} (incremental)", w.number), decision,
                       instant_html(w.triggered_at), w.processors.size(), w.decided ? fmt::format("{}", w.run_processors.size()) : "-",
                       changed, seconds_text(w.latency()));
    }
    b += "</tbody></table></div>\n";
  }
  b += "</section>\n";

  // --- Phase 5 ------------------------------------------------------------------------
  const BatchReport& r = status.phase5;
  b += "<section id=\"phase5\" data-refresh aria-labelledby=\"phase5-h\"><h2 id=\"phase5-h\">Phase 5 predictions</h2>\n";
  if (r.batch_id.empty()) {
    b += "<p class=\"empty\">No Phase 5 batch for this date.</p>\n";
  } else {
    const auto why = r.no_go_reasons();
    b += "<dl class=\"facts\">";
    b += fmt::format("<dt>Batch</dt><dd><code>{}</code> {} (triggered by {}, attempt {})</dd>", esc(r.batch_id), badge(batch_shown(r)),
                     r.triggered_by ? esc(to_string(*r.triggered_by)) : "-", r.attempts);
    b += fmt::format(
        "<dt>Coverage</dt><dd id=\"coverage\" data-coverage=\"{:.4f}\"><meter min=\"0\" max=\"1\" low=\"0.9\" optimum=\"1\" value=\"{:.4f}\" "
        "aria-label=\"Coverage\"></meter> {} of {} predicted ({:.1f}%)</dd>",
        r.completion_rate, r.completion_rate, r.done, r.expected, 100.0 * r.completion_rate);
    std::string missing = r.missing.empty() ? std::string("none") : fmt::format("{}: ", r.missing.size());
    for (std::size_t i = 0; i < r.missing.size() && i < kMissingShown; ++i) missing += (i ? ", " : "") + esc(r.missing[i]);
    if (r.missing.size() > kMissingShown) missing += fmt::format(" and {} more", r.missing.size() - kMissingShown);
    b += fmt::format("<dt>Missing players</dt><dd>{}</dd>", missing);
    b += fmt::format("<dt>Phase 4 &rarr; 5 latency</dt><dd>{}</dd>", seconds_text(r.phase4_to_phase5_latency));
    b += fmt::format("<dt>Phase 4 completed (UTC)</dt><dd>{}</dd><dt>Batch completed (UTC)</dt><dd>{}</dd>",
                     instant_html(r.phase4_completed_at), instant_html(r.completed_at));
    b += fmt::format("<dt>Go/No-Go</dt><dd><span class=\"go\">{}</span> {}</dd>", why.empty() ? "GO" : "NO-GO",
                     why.empty() ? std::string("(latency under 10 min, completion over 95%)")
                                 : esc(fmt::format("{}", fmt::join(why, "; "))));
    b += "</dl>\n";
  }
  if (options_.next_firings) {
    b += "<div class=\"table-wrap\"><table><caption>Next scheduled firings (US Pacific)</caption><thead><tr>"
         "<th scope=\"col\">Job</th><th scope=\"col\">Local time (zone named)</th><th scope=\"col\">UTC</th></tr></thead><tbody>\n";
    for (const auto& f : options_.next_firings(now))
      b += fmt::format("<tr><td>{}</td><td>{}</td><td>{}</td></tr>\n", esc(f.job), esc(f.local), instant_html(f.at));
    b += "</tbody></table></div>\n";
  }
  b += "</section>\n";

  // --- dead letters -------------------------------------------------------------------
  b += "<section id=\"dead-letters\" data-refresh aria-labelledby=\"dlq-h\"><h2 id=\"dlq-h\">Dead letters</h2>\n";
  if (!dead) {
    b += "<p class=\"notice error\">" + esc(dead.error().message) + "</p>\n";
  } else if (dead->empty()) {
    b += "<p class=\"empty\">No dead letters.</p>\n";
  } else {
    std::sort(dead->begin(), dead->end(), [](const auto& x, const auto& y) { return x.recorded_at > y.recorded_at; });
    b += "<div class=\"table-wrap\"><table><thead><tr><th scope=\"col\">Message id</th><th scope=\"col\">Subscription</th>"
         "<th scope=\"col\" class=\"num\">Attempts</th><th scope=\"col\">Last error</th><th scope=\"col\">Recorded (UTC)</th>"
         "<th scope=\"col\" class=\"num\">Replayed</th><th scope=\"col\">Action</th></tr></thead><tbody>\n";
    for (std::size_t i = 0; i < dead->size() && i < kDeadLettersShown; ++i) {
      const auto& e = (*dead)[i];
      std::string action;
      if (!csrf.empty() || token_.empty())
        action = fmt::format(
            "<form method=\"post\" action=\"/dlq/replay\"><input type=\"hidden\" name=\"id\" value=\"{0}\">"
            "<input type=\"hidden\" name=\"csrf\" value=\"{1}\"><input type=\"hidden\" name=\"date\" value=\"{2}\">"
            "<button type=\"submit\" aria-label=\"Replay dead letter {0}\">Replay</button></form>",
            esc(e.subscription + "/" + e.id), esc(csrf), esc(d));
      else
        action = "<span class=\"empty\">sign in to replay</span>";
      b += fmt::format("<tr><td><code>{}</code></td><td>{}</td><td class=\"num\">{}</td><td><pre class=\"error-text\">{}</pre></td>"
                       "<td>{}</td><td class=\"num\">{}</td><td>{}</td></tr>\n",
                       esc(e.id), esc(e.subscription), e.attempts, esc(e.last_error), instant_html(e.recorded_at), e.replayed,
                       action);
    }
    b += "</tbody></table></div>\n";
    if (dead->size() > kDeadLettersShown)
      b += fmt::format("<p class=\"meta\">{} more: <code>pipelinectl dlq list</code> lists them all.</p>\n",
                       dead->size() - kDeadLettersShown);
  }
  b += "</section>\n";

  // --- alerts and the relay ------------------------------------------------------------
  b += "<section id=\"alerts\" data-refresh aria-labelledby=\"alerts-h\"><h2 id=\"alerts-h\">Alerts and relay</h2>\n";
  b += fmt::format("<p>Relay lag: <strong id=\"outbox-pending\">{}</strong> outbox entries committed and not yet published.</p>\n",
                   pending ? fmt::format("{}", *pending) : "unknown (" + esc(pending.error().message) + ")");
  if (!alerts) {
    b += "<p class=\"notice error\">" + esc(alerts.error().message) + "</p>\n";
  } else if (alerts->empty()) {
    b += "<p class=\"empty\">No alert recorded for this date.</p>\n";
  } else {
    b += "<div class=\"table-wrap\"><table><caption>Recent alerts for this date, newest first</caption><thead><tr>"
         "<th scope=\"col\">Raised (UTC)</th><th scope=\"col\">Severity</th><th scope=\"col\">Key</th><th scope=\"col\">Message</th>"
         "</tr></thead><tbody>\n";
    for (const auto& a : *alerts)
      b += fmt::format("<tr><td>{0}</td><td><span class=\"badge sev-{1}\">{1}</span></td><td><code>{2}</code></td><td>{3}{4}</td></tr>\n",
                       instant_html(a.at), esc(to_string(a.severity)), esc(a.key), esc(a.message),
                       a.suppressed_count ? fmt::format(" (and {} similar suppressed)", a.suppressed_count) : "");
    b += "</tbody></table></div>\n";
  }
  b += "</section>\n</main>\n</body></html>\n";
  return b;
}

}  // namespace

Status mount_status_page(Router& router, HttpServerOptions& server, StatusPageOptions options) {
  if (options.store == nullptr || options.clock == nullptr || !options.game_date)
    return fail(ErrorCode::kInvalidArgument, "the status page needs a store, a clock and a game_date function");
  auto page = std::make_shared<StatusPage>(std::move(options), server.token);
  const std::array<std::pair<std::string_view, RequestHandler>, 7> routes{{
      {"GET /", [page](const HttpRequest& r) { return page->page(r); }},
      {"GET /api/status", [page](const HttpRequest& r) { return page->api(r); }},
      {"POST /login", [page](const HttpRequest& r) { return page->login(r); }},
      {"POST /logout", [page](const HttpRequest& r) { return page->logout(r); }},
      {"POST /dlq/replay", [page](const HttpRequest& r) { return page->replay(r); }},
      {"GET /static/status.css",
       [](const HttpRequest&) { return HttpResponse::text(200, std::string(detail::kStatusCss), "text/css; charset=utf-8"); }},
      {"GET /static/status.js",
       [](const HttpRequest&) { return HttpResponse::text(200, std::string(detail::kStatusJs), "text/javascript; charset=utf-8"); }},
  }};
  for (const auto& [route, handler] : routes) {
    const auto space = route.find(' ');
    const std::string_view path = route.substr(space + 1);
    PIPELINE_TRY(router.add(route.substr(0, space), path, handler));
    server.open_paths.insert(std::string(path));
  }
  return ok();
}

}  // namespace pipeline::inline v0::http
