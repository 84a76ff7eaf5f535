#pragma once
/// @file
/// `TrackerKeys`: where a `CompletionTracker` keeps its rows in the `StateStore`.

#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "pipeline/core/calendar_date.hpp"
#include "pipeline/core/config.hpp"

namespace pipeline::inline v0 {

/// The key schema of one `CompletionTracker` (named `name`). Every row of a date is under
/// `tracker/<name>/<date>/`:
/// - `exec/<execution_id>` — dedup of deliveries (value: the processor);
/// - `w<NNN>/done/<processor>`, `w<NNN>/unexpected/<processor>` — one completion record
///   per wave and processor (`tracker_records.hpp`);
/// - `w<NNN>/first` — the wave's first completion time; `w<NNN>/alerted` — the deadline
///   passed below the threshold;
/// - `late/<processor>` — completions without changes after the date's trigger;
/// - `decision/w<NNN>` — one decision row per wave, inserted conditionally.
/// Besides: `tracker/<name>/open/<date>/w<NNN>` (due time) while a wave waits for a
/// deadline or debounce, `tracker/<name>/registry` (the tracker's trigger registry, see
/// `registry_store.hpp`) and `trackers/<name>` (the tracker's description for tools).
/// Waves are zero-padded to three digits so keys sort by wave.
///
/// **Thread safety:** immutable after construction. **Performance:** keys are built by
/// appending (several are built per completion). **Errors:** none; parsers return
/// `nullopt` for keys that are not theirs.
///
/// **Example:**
/// @snippet orchestrate_snippets_test.cpp tracker_keys
class TrackerKeys {
 public:
  /// Where tracker descriptions live: `trackers/<name>`.
  static constexpr std::string_view kDescriptionPrefix = "trackers/";

  explicit TrackerKeys(std::string name) : name_(std::move(name)) {}

  [[nodiscard]] const std::string& name() const noexcept { return name_; }

  /// `trackers/<name>`.
  [[nodiscard]] static std::string description_key(std::string_view name);
  /// `tracker/<name>/registry`: the trigger registry the tracker was created with. A date
  /// is never "registry", so the key is apart from every date's rows.
  [[nodiscard]] static std::string registry_key(std::string_view name);
  /// `tracker/<name>/<date>/`.
  [[nodiscard]] std::string date_prefix(CalendarDate date) const;
  /// `<date_prefix>w<NNN>/`.
  [[nodiscard]] static std::string wave_prefix(std::string_view date_prefix, int wave);
  /// `<date_prefix>decision/w<NNN>`.
  [[nodiscard]] static std::string decision_key(std::string_view date_prefix, int wave);
  /// `tracker/<name>/open/`.
  [[nodiscard]] std::string open_prefix() const;
  /// `tracker/<name>/open/<date>/w<NNN>`.
  [[nodiscard]] std::string open_key(CalendarDate date, int wave) const;
  /// The date and wave of an open key of this tracker.
  [[nodiscard]] std::optional<std::pair<CalendarDate, int>> parse_open_key(std::string_view key) const;

  /// Appends "w" and the wave number, zero-padded to 3 digits.
  static void append_wave(std::string& out, int wave);
  /// The number after a "w" (non-negative, digits only).
  [[nodiscard]] static std::optional<int> parse_wave_number(std::string_view s);

 private:
  std::string name_;
};

}  // namespace pipeline::inline v0

#ifdef PIPELINE_HEADER_ONLY
#include "pipeline/orchestrate/tracker_keys-inl.hpp"
#endif
