#pragma once
/// @file
/// The Phase 5 coordinator's HTTP API over a `BatchCoordinator`: `POST /start`,
/// `POST /trigger`, `POST /retry`, `GET /status?date=`, `GET /health`.

#include <functional>
#include <string>
#include <string_view>

#include "pipeline/coordinate/batch_coordinator.hpp"
#include "pipeline/core/message.hpp"
#include "pipeline/core/result.hpp"
#include "pipeline/http/router.hpp"

namespace pipeline::inline v0::http {

/// Settings of `mount_coordinator_api`.
struct CoordinatorApiOptions {
  /// Path prefix of every route ("" → `/start`, "/phase5" → `/phase5/start`).
  std::string prefix;
  /// Decodes a `/trigger` payload into the upstream completion; empty: the unified
  /// message codec (`decode_message`). A pipeline with an older upstream format plugs its
  /// reader here (the NBA example's `phase4_complete`).
  std::function<Result<Message>(std::string_view)> decode;
  /// `/status`'s answer; empty: `BatchCoordinator::status`. (A service without an
  /// upstream entity list answers from the rows: `BatchCoordinator::load_report`.)
  std::function<Result<BatchReport>(CalendarDate)> status;
};

/// The HTTP status for a coordinator error: 400 bad input, 404 not found, 409 no batch
/// (failed precondition), 503 transient (store down, conflict, backpressure), else 500.
int http_status_for(ErrorCode code) noexcept;

/// Mounts the seeds' Phase 5 API on `router`, each call a few store transactions on the
/// server's thread — the readiness wait runs on the coordinator's clock, never on the
/// connection:
/// - `POST /start` `{"game_date":"2025-11-18","force":false}` (or `?date=`): 202 with the
///   batch id and `status_url` when started, waiting or running; 200 `already_complete`;
///   503 refused (too few entities ready: the coordinator raises the critical alert);
///   400 for a missing or invalid `game_date`. `X-CloudScheduler: true` marks
///   `triggered_by=scheduler`, else `manual`.
/// - `POST /trigger`: a Pub/Sub push envelope whose data is the upstream completion (as
///   the push subscription sends it), the completion as plain JSON, or `{"game_date":..}`
///   alone; answered like `/start`, `triggered_by=event` (`scheduler` with the header).
/// - `POST /retry` `{"game_date":...}`: 202 `retrying` (work enqueued for the missing
///   entities), 200 `complete` (nothing missing), 409 when the date has no batch.
/// - `GET /status?date=`: 200 with the report (coverage, missing, latency, Go/No-Go).
/// - `GET /health`: 200 with batches waiting/running, outbox backlog, last error.
///
/// **Thread safety:** mount before the server starts; the coordinator must outlive it.
/// **Errors:** the router's (`kAlreadyExists`).
///
/// **Example:**
/// @snippet http_snippets_test.cpp coordinator_api
[[nodiscard]] Status mount_coordinator_api(Router& router, BatchCoordinator& coordinator,
                                           CoordinatorApiOptions options = {});

}  // namespace pipeline::inline v0::http
