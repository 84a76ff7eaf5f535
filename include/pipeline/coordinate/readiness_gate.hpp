#pragma once
/// @file
/// `ReadinessGate`: is Phase 4 ready enough for Phase 5 to predict a date?

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>


#include "pipeline/core/calendar_date.hpp"
#include "pipeline/core/clock.hpp"
#include "pipeline/core/config.hpp"
#include "pipeline/core/message.hpp"
#include "pipeline/core/result.hpp"

namespace pipeline::inline v0 {

/// How many entities (players) have what the next phase needs, out of how many expected.
struct ReadinessCounts {
  std::size_t ready = 0;
  std::size_t total = 0;
  [[nodiscard]] double fraction() const { return total == 0 ? 0.0 : static_cast<double>(ready) / total; }
  friend bool operator==(const ReadinessCounts&, const ReadinessCounts&) = default;
};

/// Where readiness counts come from (the feature store, a warehouse query, ...).
/// Called on the thread that runs the gate's timers; may fail with any `Error`.
class ReadinessSource {
 public:
  virtual ~ReadinessSource() = default;
  virtual Result<ReadinessCounts> counts(CalendarDate date) = 0;
};

/// Settings of a `ReadinessGate`; defaults are the seeds' Phase 4 → 5 rules.
struct ReadinessGateOptions {
  double threshold = 0.80;                            ///< Ready when ready/total >= this.
  Duration max_wait = std::chrono::minutes(30);       ///< How long `wait_until_ready` polls.
  Duration first_poll = std::chrono::seconds(30);     ///< Delay before the second poll.
  Duration max_poll = std::chrono::minutes(5);        ///< Cap of the doubling poll interval.
  std::size_t min_entities = 50;                      ///< Fewer ready at the end: refuse.

  /// A threshold in (0, 1], a `max_wait` not negative (zero: decide on the first poll)
  /// and positive poll intervals. **Errors:** `kInvalidArgument` naming
  /// the first bad option.
  [[nodiscard]] Status validate() const;
};

/// The answer of a readiness check or wait.
struct Readiness {
  enum class Outcome {
    kReady,     ///< At or above the threshold.
    kNotReady,  ///< Below the threshold (a single check, or a wait still running).
    kTimedOut,  ///< The wait ran out; `proceed` says whether enough is there to go on partially.
  };
  Outcome outcome = Outcome::kNotReady;
  ReadinessCounts counts;
  int polls = 0;            ///< Source queries made (waits only).
  Duration waited{};        ///< From the start of the wait to this answer.
  /// Whether the caller should go on: ready, or timed out with at least `min_entities`
  /// ready (process what is there, retry the rest later). False means refuse.
  bool proceed = false;
  std::string message;      ///< A sentence for logs and alerts.
};

/// "ready" | "not_ready" | "timed_out".
constexpr std::string_view to_string(Readiness::Outcome o) noexcept {
  switch (o) {
    case Readiness::Outcome::kReady: return "ready";
    case Readiness::Outcome::kNotReady: return "not_ready";
    case Readiness::Outcome::kTimedOut: return "timed_out";
  }
  return "not_ready";
}

/// Decides whether an upstream phase is ready for a date: at least `threshold` of the
/// expected entities ready. `wait_until_ready` polls with doubling intervals on the
/// injected clock up to `max_wait` — it never blocks the caller; the answer arrives in
/// a callback — and at the end proceeds partially when at least `min_entities` are
/// ready, or refuses.
///
/// An upstream completion message may carry the generic `metadata.entities_ready` and
/// `metadata.entities_total`; `counts_from_message` reads them so the event path can
/// decide without querying the source (a pipeline's own format maps its counts to them in
/// its adapter, as the NBA example's `phase4_complete` reader does).
///
/// **Thread safety:** `check` may be called from any thread. Wait callbacks run on the
/// clock's timer thread (or the caller's, for an immediate answer), never under a lock
/// of the gate. Destroying the gate cancels pending waits without calling them.
/// **Performance:** one source query per poll; the default schedule polls at 0, 30 s,
/// 1.5 min, 3.5 min, 7.5 min, then every 5 minutes, and exactly at `max_wait`.
/// **Errors:** `check` returns the source's error. A wait treats a failing poll as
/// "not ready yet" and keeps polling; the final answer's message names the last error.
///
/// **Example:**
/// @snippet coordinate_snippets_test.cpp readiness_gate
class ReadinessGate {
 public:
  using Callback = std::function<void(const Readiness&)>;

  /// Validates `options`, then builds a gate. **Errors:** `kInvalidArgument` naming the
  /// first bad option.
  static Result<std::unique_ptr<ReadinessGate>> create(Clock& clock, ReadinessSource& source,
                                                      ReadinessGateOptions options = {});
  /// Cancels pending waits without calling them.
  ~ReadinessGate();

  ReadinessGate(const ReadinessGate&) = delete;
  ReadinessGate& operator=(const ReadinessGate&) = delete;

  [[nodiscard]] const ReadinessGateOptions& options() const { return options_; }

  /// Classifies counts against the threshold.
  [[nodiscard]] Readiness evaluate(CalendarDate date, ReadinessCounts counts) const;

  /// One query of the source, classified.
  Result<Readiness> check(CalendarDate date);

  /// Reads `entities_ready` / `entities_total` from a completion's metadata, if both are
  /// there and sane (0 <= ready <= total).
  static std::optional<ReadinessCounts> counts_from_message(const Message& m);

  /// The last poll of a wait that has run `waited`, made now: one query of the source,
  /// answered `ready`, or `timed_out` with `proceed` when at least `min_entities` are
  /// ready — what `wait_until_ready` would have answered at its deadline. A failing query
  /// reads as nothing ready (so: refuse), its error in the message. A coordinator that
  /// takes over a wait whose owner died calls it.
  Readiness conclude(CalendarDate date, Duration waited);

  /// Polls until ready or `max_wait`, then calls `done` once. The first poll runs now,
  /// on the caller's thread; if it is ready, `done` runs before this returns.
  void wait_until_ready(CalendarDate date, Callback done);

 private:
  struct Alive;      // shared with pending timers: whether the gate still exists
  struct WaitState;  // one wait's progress

  ReadinessGate(Clock& clock, ReadinessSource& source, ReadinessGateOptions options);

  void poll(const std::shared_ptr<WaitState>& s);
  /// One query, classified; a failure reads as nothing ready and names the error.
  Readiness query(CalendarDate date, std::string* error);
  /// Marks `r` timed out after `waited`: proceed when at least `min_entities` are ready.
  void time_out(Readiness& r, Duration waited) const;

  Clock& clock_;
  ReadinessSource& source_;
  ReadinessGateOptions options_;
  std::shared_ptr<Alive> alive_;
};

}  // namespace pipeline::inline v0

#ifdef PIPELINE_HEADER_ONLY
#include "pipeline/coordinate/readiness_gate-inl.hpp"
#endif
