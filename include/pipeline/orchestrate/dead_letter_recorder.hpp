#pragma once
/// @file
/// Dead letters as rows in the StateStore (`dlq/<subscription>/<id>`), with an alert per
/// dead letter and replay through the outbox — so an operator can list and replay them
/// after the process that produced them has ended.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "pipeline/alert/alert_manager.hpp"
#include "pipeline/core/clock.hpp"
#include "pipeline/core/config.hpp"
#include "pipeline/core/result.hpp"
#include "pipeline/core/state_store.hpp"
#include "pipeline/core/transport.hpp"
#include "pipeline/orchestrate/idempotent_consumer.hpp"

namespace pipeline::inline v0 {

/// One recorded dead letter: the row stored at `dlq/<subscription>/<id>`.
struct DeadLetterRecord {
  /// The stored row's format: 2 carries a "format" field; rows without one (format 1,
  /// written before the field existed) read the same.
  static constexpr int kFormat = 2;

  std::string id;               ///< The original message's stable id.
  std::string source_topic;     ///< Where it was published (replay publishes there again).
  std::string subscription;     ///< The subscription that gave up on it.
  int attempts = 0;
  std::string last_error;
  std::string payload;
  Attributes attributes;        ///< The original attributes (without the dead-letter ones).
  TimePoint recorded_at{};
  int replayed = 0;             ///< How many times it has been replayed.

  [[nodiscard]] std::string key() const;

  [[nodiscard]] nlohmann::json to_json() const;

  /// **Errors:** `kDataLoss` when `text` is not a dead-letter row.
  static Result<DeadLetterRecord> from_json(std::string_view text);
};

/// Which recorded dead letters `DeadLetterRecorder::list` returns.
struct DeadLetterFilter {
  std::string subscription;      ///< Only this subscription's; empty = all.
  bool include_replayed = true;  ///< false: only those never replayed.
};

/// What `DeadLetterRecorder::replay` did.
struct DeadLetterReplay {
  DeadLetterRecord record;  ///< The row after the replay (`replayed` incremented).
  /// The replay's outbox key, `<original id>~replay<N>`; the message itself is delivered
  /// with its original stable id, `record.id`.
  std::string outbox_key;
};

/// Options of a `DeadLetterRecorder`.
struct DeadLetterRecorderOptions {
  /// Where a dead letter is reported (rate-limited, key `dlq/<subscription>`). Null: rows
  /// only. Must outlive the recorder.
  AlertManager* alerts = nullptr;
  /// The severity of that alert.
  Severity severity = Severity::kError;
};

/// Records every dead letter of the watched topics as a StateStore row and raises a
/// rate-limited alert per dead letter (key `dlq/<subscription>`), so the DLQ survives the
/// process and an operator is told. Replay goes through the outbox and delivers the
/// message with its **original stable id** and fresh delivery attempts (as
/// `Transport::replay_dead_letter` does); only its outbox key is new (`<id>~replay<N>`,
/// since the outbox never sends a key twice). So the consumers' dedup recognises it: a
/// message that had in fact been processed (its ack lost) is not processed again —
/// `IdempotentConsumer` finds its marker, a `Processor` its delivery's success — and one
/// that had failed runs again. A replay that dies again is recorded and alerted again
/// (the replay re-arms the recorder for that id; the row keeps its replay count).
///
/// **Thread safety:** `watch` must not race with itself; deliveries may arrive on any
/// thread (the counters are atomic); `list`/`replay` are static and thread-safe as the
/// store is. The alert is raised after the row's transaction committed, without locks.
/// **Performance:** one transaction per dead letter (dead letters are rare).
/// **Errors:** `watch` returns the transport's subscribe error; a failed row write nacks
/// the dead letter so it is redelivered; `replay` returns `kNotFound` for an unknown id
/// and `kInvalidArgument` when a bare id was dead-lettered on several subscriptions.
///
/// **Example:**
/// @snippet orchestrate_snippets_test.cpp dead_letter_recorder
/// @snippet orchestrate_snippets_test.cpp dead_letter_list
class DeadLetterRecorder {
 public:
  static constexpr std::string_view kKeyPrefix = "dlq/";

  /// A recorder that watches nothing yet (`watch`). **Errors:** `kInvalidArgument` for a
  /// severity outside the enum.
  static Result<std::unique_ptr<DeadLetterRecorder>> create(Clock& clock, StateStore& store, Transport& transport,
                                                           DeadLetterRecorderOptions options = {});

  DeadLetterRecorder(const DeadLetterRecorder&) = delete;
  DeadLetterRecorder& operator=(const DeadLetterRecorder&) = delete;
  ~DeadLetterRecorder() { close(); }

  /// Subscribes to `TopicNaming::dead_letter(topic)` (subscription `<dlq topic>-recorder`).
  Status watch(std::string_view topic);

  /// Closes every subscription `watch` opened.
  void close();

  /// Records one dead-letter delivery (the subscription handler; public for tests and
  /// for transports that hand dead letters over another way).
  void handle(const DeliveryPtr& delivery);

  [[nodiscard]] std::uint64_t recorded() const noexcept { return recorded_.load(std::memory_order_relaxed); }
  [[nodiscard]] std::uint64_t alerts_delivered() const noexcept {
    return alerts_delivered_.load(std::memory_order_relaxed);
  }
  [[nodiscard]] std::uint64_t alerts_suppressed() const noexcept {
    return alerts_suppressed_.load(std::memory_order_relaxed);
  }

  /// The recorded dead letters in key order (subscription, then id).
  static Result<std::vector<DeadLetterRecord>> list(StateStore& store, const DeadLetterFilter& filter = {});

  /// Replays one dead letter: in one transaction, enqueues its payload and attributes
  /// (plus `pipeline.replay` = N) to its source topic with its original id under the
  /// outbox key `<id>~replay<N>`, increments `replayed`, and removes the recorder's
  /// marker for the id so a new dead-lettering is recorded. `id` is the original id, or
  /// `<subscription>/<id>` when the id was dead-lettered on several subscriptions.
  static Result<DeadLetterReplay> replay(StateStore& store, std::string_view id);

  /// The attribute a replay carries: its replay number, "1" for the first.
  static constexpr std::string_view kReplayAttribute = "pipeline.replay";

 private:
  static std::string attribute(const Attributes& a, std::string_view name);

  // The name of the idempotent consumer that records `subscription`'s dead letters.
  static std::string consumer_name(std::string_view subscription);

  // One idempotent consumer per source subscription: the same id dead-lettered by two
  // subscriptions of one topic is two dead letters, not a duplicate.
  Result<IdempotentConsumer*> consumer_for(const std::string& subscription);

  Status write(Transaction& tx, const Delivery& d);

  DeadLetterRecorder(Clock& clock, StateStore& store, Transport& transport, DeadLetterRecorderOptions options)
      : transport_(transport), store_(store), clock_(clock), options_(options) {}

  Transport& transport_;
  StateStore& store_;
  Clock& clock_;
  DeadLetterRecorderOptions options_;
  std::mutex mu_;  // guards consumers_ only
  std::map<std::string, IdempotentConsumer> consumers_;  // node-based: pointers stay valid
  std::vector<std::unique_ptr<Subscription>> subscriptions_;
  std::atomic<std::uint64_t> recorded_{0};
  std::atomic<std::uint64_t> alerts_delivered_{0};
  std::atomic<std::uint64_t> alerts_suppressed_{0};
};

}  // namespace pipeline::inline v0

#ifdef PIPELINE_HEADER_ONLY
#include "pipeline/orchestrate/dead_letter_recorder-inl.hpp"
#endif
