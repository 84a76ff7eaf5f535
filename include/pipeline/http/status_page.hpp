#pragma once
/// @file
/// `mount_status_page`: the day at a glance in a browser (`GET /`), its JSON
/// (`GET /api/status`), sign-in for a browser when a token is configured, and the
/// dead-letter replay form.

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "pipeline/core/calendar_date.hpp"
#include "pipeline/core/clock.hpp"
#include "pipeline/core/result.hpp"
#include "pipeline/core/state_store.hpp"
#include "pipeline/http/http_server.hpp"
#include "pipeline/http/router.hpp"

namespace pipeline::inline v0::http {

/// One scheduled job's next firing, as the page lists it.
struct ScheduledFiring {
  std::string job;
  TimePoint at{};      ///< The exact instant.
  std::string local;   ///< The wall time in the schedule's zone, zone named ("2025-11-19T06:00:00-08:00 PST").
};

/// What the page reads and how it authenticates a browser.
struct StatusPageOptions {
  /// The store `pipelinectl status` would read (trackers, Phase 5 rows, dead letters,
  /// alerts, outbox). Required.
  StateStore* store = nullptr;
  /// Tells "now" (the page's render time, sessions' expiry, the next firings). Required.
  Clock* clock = nullptr;
  /// The coordinator's key prefix (`BatchCoordinatorOptions::key_prefix`).
  std::string phase5_prefix = "phase5";
  /// The date shown when the request names none: today's game date (the Eastern
  /// calendar day, as `pipeline::game_date_of` tells). Required.
  std::function<CalendarDate(TimePoint now)> game_date;
  /// The schedule's next firings after `now` (optional: no schedule section without it).
  std::function<std::vector<ScheduledFiring>(TimePoint now)> next_firings;
  /// Called on the I/O thread after a replay committed its outbox entry (optional): e.g.
  /// a running relay's `notify`, so the replay is published at once, not at the next poll.
  std::function<void()> after_replay;
  /// How long a browser session lasts after sign-in.
  std::chrono::seconds session_lifetime = std::chrono::hours(12);
  /// How often the page's script refreshes it (0: never).
  std::chrono::seconds refresh = std::chrono::seconds(30);
};

/// Mounts on `router`:
///   - `GET /` — the page for `?date=YYYY-MM-DD` (default `game_date(now)`): the trigger
///     graph coloured by state, per tracker and wave the fan-in, Phase 5 (batch,
///     coverage, missing, latency, Go/No-Go, next firings), dead letters with a replay
///     button, the date's alerts (`StoreAlertSink`) and the relay's lag. Server-rendered
///     and self-contained (its CSS and script are compiled in, served from `/static/`);
///     every stored value is HTML-escaped. With a token and no session, a sign-in form.
///   - `GET /api/status?date=` — `DateStatus::to_json()` (what `pipelinectl status --json`
///     prints) plus `dead_letters`, `alerts`, `outbox_pending` and `next_firings`.
///   - `POST /login` (form field `token`) — on the right token, a session cookie
///     (`HttpOnly; SameSite=Strict`); `POST /logout` ends it.
///   - `POST /dlq/replay` (form fields `id`, `csrf`) — replays a dead letter
///     (`DeadLetterRecorder::replay`); needs the bearer token, or a session and its CSRF
///     token (without a configured token: the page's CSRF token).
/// The page's paths are added to `server.open_paths`: they check the bearer token or the
/// session themselves (`server.token`, so mount after setting it).
///
/// **Thread safety:** mount before the server starts; handlers run on its I/O thread
/// (sessions are guarded by a mutex all the same).
/// **Performance:** a page costs what `pipelinectl status` costs plus a scan of the dead
/// letters and of the date's alerts.
/// **Errors:** `kInvalidArgument` when `store`, `clock` or `game_date` is missing;
/// `kAlreadyExists` when a path is mounted already.
///
/// **Example:**
/// @snippet http_snippets_test.cpp status_page
[[nodiscard]] Status mount_status_page(Router& router, HttpServerOptions& server, StatusPageOptions options);

}  // namespace pipeline::inline v0::http
