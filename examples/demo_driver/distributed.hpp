#pragma once
/// @file
/// The multi-process demo: the same game day as `run_demo`, with every role in its own OS
/// process over Redis Streams and a shared store (PostgreSQL), in real time.
///
/// A small supervisor (this process) provisions every consumer group from the pipeline's
/// subscription plan, starts the children — Phase 1 scrapers, N Phase 2 workers, Phases 3
/// and 4, the three trackers and the Phase 5 coordinator with its prediction workers (these
/// two in two processes each, for availability), each running its own outbox relay — as `SELF service ROLE ...`, restarts a child that dies
/// (as systemd would), publishes the day's triggers, watches every topic, and when the day
/// has settled stops them with SIGTERM and reports. Every process runs on `SystemClock`
/// offset so the day starts just before 06:00 PT (the first Phase 5 job fires a minute
/// later); the trackers' debounce and the coordinator's readiness wait (5 and 30 minutes
/// in production) are options in seconds.

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "demo_driver/demo_report.hpp"
#include "pipeline/core/calendar_date.hpp"
#include "pipeline/core/result.hpp"
#include "pipeline/core/transport.hpp"

namespace demo {

/// Every subscription of the example pipeline's services (their consumer groups), and of
/// the dead-letter recorders of the topics they consume: what `pipelinectl provision`
/// creates before any publisher starts, so no message published before a service first
/// subscribes is missed.
std::vector<pipeline::SubscribeParams> subscription_plan();

/// Creates each subscription of `plan` on `transport` (a subscription is created at the
/// topic's end and kept when its handler is detached). Returns how many.
/// **Errors:** the transport's subscribe error.
pipeline::Result<std::size_t> provision(pipeline::Transport& transport,
                                        const std::vector<pipeline::SubscribeParams>& plan);

struct DistributedOptions {
  pipeline::CalendarDate date = *pipeline::CalendarDate::parse("2025-11-18");
  std::string store_uri;       ///< postgresql://… (or sqlite:PATH: the processes share the file)
  std::string transport_uri;   ///< redis://…
  std::string store_label;     ///< How to name the store in the output (password redacted).
  std::filesystem::path dir;   ///< The children's logs, the warehouse and the scraped files.
  std::filesystem::path self;  ///< The executable that runs `service ROLE` (pipelinectl).
  int workers = 2;             ///< Phase 2 worker processes.
  bool injury_update = true;
  /// Kill a Phase 1 scraper (mid-publish: its relay), a Phase 2 worker, the Phase 3
  /// service and the trackers (with their relay) with SIGKILL mid-work, and send one
  /// poison message; the supervisor restarts each.
  bool chaos = false;
  std::chrono::seconds lead{60};          ///< The day starts this long before 06:00 PT.
  std::chrono::seconds debounce{3};       ///< The trackers' incremental window (5 min in production).
  std::chrono::seconds readiness_wait{30};  ///< Phase 5's wait for players to be ready (30 min).
  std::chrono::seconds ack_deadline{5};   ///< Redelivery after a killed consumer (600 s).
  std::chrono::seconds timeout{600};      ///< The whole day, before giving up.
  /// Progress lines ("wave 0: phase 3 triggered") go here; empty: none.
  std::function<void(const std::string&)> progress;
};

/// Runs the day and returns the in-process demo's report plus `distributed` (the processes,
/// the faults and the checks).
/// **Errors:** `kInvalidArgument` for a transport that is not Redis; `kUnavailable` when
/// the store or Redis cannot be reached; `kDeadlineExceeded` when the day does not settle
/// within `timeout` (the children's logs are in `dir`); `kInternal` when a child cannot be
/// started.
pipeline::Result<DemoReport> run_distributed_demo(const DistributedOptions& options);

}  // namespace demo
