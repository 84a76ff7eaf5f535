#pragma once
/// @file
/// `ChangeDetector`: the interface of "which entities of a date changed since they were
/// last processed", with "process everything" as the fallback.

#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "pipeline/change/change_set.hpp"
#include "pipeline/change/fingerprint.hpp"
#include "pipeline/core/calendar_date.hpp"
#include "pipeline/core/config.hpp"
#include "pipeline/core/metrics_sink.hpp"
#include "pipeline/core/result.hpp"
#include "pipeline/core/state_store.hpp"

namespace pipeline::inline v0 {

class FingerprintChangeDetector;
struct FingerprintChangeDetectorOptions;

/// Detects the changed entities of one kind for a date, so a processor reprocesses the
/// one player who changed instead of 450. `Processor` takes any implementation:
///
/// - `FingerprintChangeDetector` compares the current snapshot with fingerprints stored
///   (through the `StateStore`) after the last successful processing;
/// - `QueryChangeDetector` runs the caller's diff query in the warehouse (the seeds'
///   LEFT JOIN of current rows against the last processed ones, ids bound, never
///   spliced) through an injected `QueryRunner`.
///
/// **Contract:** `detect` never fails a run: on any error it answers "process everything"
/// (`ChangeSet::full_fallback` with `fallback_reason`). `commit` runs inside the
/// transaction that records the processing's success, so what the next `detect` compares
/// against changes only when that processing is recorded.
///
/// **Thread safety:** implementations allow concurrent const calls. **Errors:** `commit`
/// returns the transaction's errors (and an implementation's own, documented there).
///
/// **Migration:** `ChangeDetector` used to be the fingerprint class itself. It is now this
/// interface; `ChangeDetector::create(store, options)` still builds the
/// fingerprint detector (returning a `FingerprintChangeDetector`), so code that only
/// called `create`, `detect`, `diff`, `load` and `commit` compiles unchanged. Code that
/// named the concrete type (`std::make_unique<ChangeDetector>(…)`) names
/// `FingerprintChangeDetector` instead.
///
/// **Example:**
/// @snippet change_snippets_test.cpp change_detector
class ChangeDetector {
 public:
  virtual ~ChangeDetector() = default;

  /// The entity kind the change sets are of ("players", "teams", …).
  [[nodiscard]] virtual const std::string& entity_kind() const = 0;

  /// The changed entities of `date`; never fails (see the contract). `snapshot` is the
  /// current state of every entity, for detectors that compare snapshots; a detector that
  /// reads its source itself (`uses_snapshot()` false) ignores it.
  [[nodiscard]] virtual ChangeSet detect(CalendarDate date, std::span<const EntitySnapshot> snapshot) const = 0;

  /// Records what `changes` describes inside the caller's transaction (the one that
  /// records the processing's success). Re-runnable. The default records nothing: for
  /// detectors whose baseline is the processing's own output.
  virtual Status commit(Transaction& tx, const ChangeSet& changes) const;

  /// Whether `detect` reads its `snapshot` argument (false: pass an empty one).
  [[nodiscard]] virtual bool uses_snapshot() const { return true; }

  /// The fingerprint detector (kept so pre-interface code compiles): same as
  /// `FingerprintChangeDetector::create`.
  [[nodiscard]] static Result<FingerprintChangeDetector> create(StateStore& store,
                                                                FingerprintChangeDetectorOptions options);

 protected:
  ChangeDetector() = default;
  ChangeDetector(const ChangeDetector&) = default;
  ChangeDetector(ChangeDetector&&) = default;
  ChangeDetector& operator=(const ChangeDetector&) = default;
  ChangeDetector& operator=(ChangeDetector&&) = default;
};

namespace internal {
/// What every detector's `create` checks: 1–64 bytes of [A-Za-z0-9_-] (`kInvalidArgument`).
Status validate_entity_kind(std::string_view kind);
/// Reports a fallback the same way for every detector: the counter, the
/// `change_detection_fallback` event and the log line.
void report_change_fallback(MetricsSink& metrics, Counter& fallbacks, const std::function<void(std::string_view)>& log,
                            const ChangeSet& cs);
}  // namespace internal

}  // namespace pipeline::inline v0

// The fingerprint detector is what `ChangeDetector::create` returns: include it here so
// its callers need no other include.
#include "pipeline/change/fingerprint_change_detector.hpp"

#ifdef PIPELINE_HEADER_ONLY
#include "pipeline/change/change_detector-inl.hpp"
#endif
