#pragma once
/// @file
/// Dead letters as rows in the StateStore (`dlq/<subscription>/<id>`), with an alert per
/// dead letter and replay through the outbox — so an operator can list and replay them
/// after the process that produced them has ended.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "pipeline/alert/alert_manager.hpp"
#include "pipeline/core/clock.hpp"
#include "pipeline/core/result.hpp"
#include "pipeline/core/state_store.hpp"
#include "pipeline/core/timestamp.hpp"
#include "pipeline/core/topics.hpp"
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

  [[nodiscard]] std::string key() const { return fmt::format("dlq/{}/{}", subscription, id); }

  [[nodiscard]] nlohmann::json to_json() const {
    nlohmann::json attrs = nlohmann::json::object();
    for (const auto& [k, v] : attributes) attrs[k] = v;
    return {{"id", id},
            {"source_topic", source_topic},
            {"subscription", subscription},
            {"attempts", attempts},
            {"last_error", last_error},
            {"payload", payload},
            {"attributes", std::move(attrs)},
            {"recorded_at", format_rfc3339(recorded_at)},
            {"replayed", replayed},
            {"format", kFormat}};
  }

  /// **Errors:** `kDataLoss` when `text` is not a dead-letter row.
  static Result<DeadLetterRecord> from_json(std::string_view text) {
    auto j = nlohmann::json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.is_object())
      return fail(ErrorCode::kDataLoss, "dead-letter row is not a JSON object");
    if (const auto f = j.find("format");
        f != j.end() && (!f->is_number_integer() || f->get<long long>() < 1 || f->get<long long>() > kFormat))
      return fail(ErrorCode::kDataLoss, "dead-letter row has format {}, this code reads formats 1 to {}", f->dump(),
                  kFormat);
    try {
      DeadLetterRecord r;
      r.id = j.at("id").get<std::string>();
      r.source_topic = j.at("source_topic").get<std::string>();
      r.subscription = j.at("subscription").get<std::string>();
      r.attempts = j.at("attempts").get<int>();
      r.last_error = j.at("last_error").get<std::string>();
      r.payload = j.at("payload").get<std::string>();
      const nlohmann::json attrs = j.value("attributes", nlohmann::json::object());
      for (const auto& [k, v] : attrs.items()) r.attributes.emplace(k, v.get<std::string>());
      auto at = parse_rfc3339(j.at("recorded_at").get<std::string>());
      if (!at) return fail(at.error());
      r.recorded_at = *at;
      r.replayed = j.value("replayed", 0);
      return r;
    } catch (const nlohmann::json::exception& e) {
      return fail(ErrorCode::kDataLoss, "dead-letter row is malformed: {}", e.what());
    }
  }
};

/// Which recorded dead letters `DeadLetterRecorder::list` returns.
struct DeadLetterFilter {
  std::string subscription;      ///< Only this subscription's; empty = all.
  bool include_replayed = true;  ///< false: only those never replayed.
};

/// What `DeadLetterRecorder::replay` did.
struct DeadLetterReplay {
  DeadLetterRecord record;  ///< The row after the replay (`replayed` incremented).
  std::string replay_id;    ///< The id enqueued: `<original id>~replay<N>`.
};

/// Records every dead letter of the watched topics as a StateStore row and raises a
/// rate-limited alert per dead letter (key `dlq/<subscription>`), so the DLQ survives the
/// process and an operator is told. Replay goes through the outbox under a new id
/// (`<id>~replay<N>`: the outbox never re-sends an id it already had); consumers stay
/// safe because the library's processors are idempotent by content (run history per
/// processor/date/wave, tracker rows per processor/wave).
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
/// @code
///   pipeline::DeadLetterRecorder recorder(transport, store, clock, &alerts);
///   (void)recorder.watch("acme-phase2-raw-complete");   // subscribes to "...-complete-dlq"
///   auto rows = pipeline::DeadLetterRecorder::list(store);
///   auto replay = pipeline::DeadLetterRecorder::replay(store, (*rows)[0].id);
/// @endcode
class DeadLetterRecorder {
 public:
  static constexpr std::string_view kKeyPrefix = "dlq/";

  /// `alerts` is optional (nullptr: rows only).
  DeadLetterRecorder(Transport& transport, StateStore& store, Clock& clock, AlertManager* alerts = nullptr,
                     Severity severity = Severity::kError)
      : transport_(transport),
        store_(store),
        clock_(clock),
        alerts_(alerts),
        severity_(severity) {}

  DeadLetterRecorder(const DeadLetterRecorder&) = delete;
  DeadLetterRecorder& operator=(const DeadLetterRecorder&) = delete;
  ~DeadLetterRecorder() { close(); }

  /// Subscribes to `TopicNaming::dead_letter(topic)` (subscription `<dlq topic>-recorder`).
  Status watch(std::string_view topic) {
    const std::string dlq = TopicNaming::dead_letter(topic);
    SubscriptionConfig config{dlq + "-recorder", dlq, {}};
    auto sub = transport_.subscribe(config, [this](DeliveryPtr d) { handle(d); });
    if (!sub) return fail(sub.error());
    subscriptions_.push_back(std::move(*sub));
    return ok();
  }

  /// Closes every subscription `watch` opened.
  void close() {
    for (auto& s : subscriptions_) s->close();
    subscriptions_.clear();
  }

  /// Records one dead-letter delivery (the subscription handler; public for tests and
  /// for transports that hand dead letters over another way).
  void handle(const DeliveryPtr& delivery) {
    const Attributes& a = delivery->attributes();
    const std::string subscription = attribute(a, attributes::kSourceSubscription);
    auto outcome = consumer_for(subscription).process(*delivery);
    if (!outcome) {
      (void)delivery->nack(outcome.error().to_string());
      return;
    }
    (void)delivery->ack();
    if (*outcome != IdempotentConsumer::Outcome::kProcessed) return;
    recorded_.fetch_add(1, std::memory_order_relaxed);
    if (alerts_ == nullptr) return;
    const RaiseOutcome r = alerts_->raise(
        severity_, fmt::format("dlq/{}", subscription),
        fmt::format("message {} dead-lettered by {} after {} attempts: {}", delivery->id(), subscription,
                    attribute(a, attributes::kDeliveryAttempts), attribute(a, attributes::kLastError)),
        {{"id", delivery->id()},
         {"subscription", subscription},
         {"source_topic", attribute(a, attributes::kSourceTopic)}});
    (r.delivered ? alerts_delivered_ : alerts_suppressed_).fetch_add(1, std::memory_order_relaxed);
  }

  [[nodiscard]] std::uint64_t recorded() const noexcept { return recorded_.load(std::memory_order_relaxed); }
  [[nodiscard]] std::uint64_t alerts_delivered() const noexcept {
    return alerts_delivered_.load(std::memory_order_relaxed);
  }
  [[nodiscard]] std::uint64_t alerts_suppressed() const noexcept {
    return alerts_suppressed_.load(std::memory_order_relaxed);
  }

  /// The recorded dead letters in key order (subscription, then id).
  static Result<std::vector<DeadLetterRecord>> list(StateStore& store, const DeadLetterFilter& filter = {}) {
    std::string prefix(kKeyPrefix);
    if (!filter.subscription.empty()) prefix.append(filter.subscription).append("/");
    auto rows = store.scan(prefix);
    if (!rows) return fail(rows.error());
    std::vector<DeadLetterRecord> out;
    for (const Row& row : *rows) {
      auto r = DeadLetterRecord::from_json(row.value);
      if (!r) return fail(r.error().with("key", row.key));
      if (!filter.include_replayed && r->replayed > 0) continue;
      out.push_back(std::move(*r));
    }
    return out;
  }

  /// Replays one dead letter: enqueues its payload to its source topic under the id
  /// `<id>~replay<N>` and increments `replayed`, in one transaction. `id` is the original
  /// id, or `<subscription>/<id>` when the id was dead-lettered on several subscriptions.
  static Result<DeadLetterReplay> replay(StateStore& store, std::string_view id) {
    auto all = list(store);
    if (!all) return fail(all.error());
    std::vector<const DeadLetterRecord*> matches;
    for (const auto& r : *all)
      if (r.id == id || r.key() == fmt::format("{}{}", kKeyPrefix, id)) matches.push_back(&r);
    if (matches.empty()) return fail(ErrorCode::kNotFound, "no dead letter with id '{}'", id);
    if (matches.size() > 1)
      return fail(ErrorCode::kInvalidArgument,
                  "id '{}' was dead-lettered on {} subscriptions; pass <subscription>/<id>", id, matches.size());
    DeadLetterReplay out;
    const std::string key = matches.front()->key();
    auto st = store.transact([&](Transaction& tx) -> Status {
      auto current = tx.get(key);  // re-read: another replay may have committed meanwhile
      if (!current) return fail(current.error());
      if (!*current) return fail(ErrorCode::kNotFound, "dead letter '{}' disappeared", key);
      auto rec = DeadLetterRecord::from_json(**current);
      if (!rec) return fail(rec.error());
      rec->replayed += 1;
      out.replay_id = fmt::format("{}~replay{}", rec->id, rec->replayed);
      Attributes attrs = rec->attributes;
      attrs.insert_or_assign("pipeline.replay_of", rec->id);
      auto enq = tx.enqueue(OutboxMessage{rec->source_topic, OutgoingMessage{out.replay_id, rec->payload, attrs}});
      if (!enq) return fail(enq.error());
      if (!*enq) return fail(ErrorCode::kAlreadyExists, "replay id '{}' was already enqueued", out.replay_id);
      PIPELINE_TRY(tx.put(key, rec->to_json().dump()));
      out.record = std::move(*rec);
      return ok();
    });
    if (!st) return fail(st.error());
    return out;
  }

 private:
  static std::string attribute(const Attributes& a, std::string_view name) {
    auto it = a.find(name);
    return it == a.end() ? std::string() : it->second;
  }

  // One idempotent consumer per source subscription: the same id dead-lettered by two
  // subscriptions of one topic is two dead letters, not a duplicate.
  IdempotentConsumer& consumer_for(const std::string& subscription) {
    std::lock_guard lock(mu_);
    auto it = consumers_.find(subscription);
    if (it == consumers_.end()) {
      it = consumers_
               .emplace(subscription, std::make_unique<IdempotentConsumer>(
                                          store_, fmt::format("dead-letter-recorder/{}", subscription),
                                          [this](Transaction& tx, const Delivery& d) { return write(tx, d); }))
               .first;
    }
    return *it->second;
  }

  Status write(Transaction& tx, const Delivery& d) {
    DeadLetterRecord r;
    const Attributes& a = d.attributes();
    r.id = d.id();
    r.source_topic = attribute(a, attributes::kSourceTopic);
    r.subscription = attribute(a, attributes::kSourceSubscription);
    if (r.source_topic.empty() || r.subscription.empty())
      return fail(ErrorCode::kInvalidArgument, "dead letter '{}' lacks its source topic or subscription attribute",
                  d.id());
    r.attempts = std::atoi(attribute(a, attributes::kDeliveryAttempts).c_str());
    r.last_error = attribute(a, attributes::kLastError);
    r.payload = d.payload();
    for (const auto& [k, v] : a) {
      if (k == attributes::kSourceTopic || k == attributes::kSourceSubscription ||
          k == attributes::kDeliveryAttempts || k == attributes::kLastError)
        continue;
      r.attributes.emplace(k, v);
    }
    r.recorded_at = clock_.now();
    PIPELINE_TRY(validate_key(r.key()));
    // A second dead-lettering of the same id on the same subscription (e.g. after a
    // replay under the original id) keeps the first row's replay count.
    auto existing = tx.get(r.key());
    if (!existing) return fail(existing.error());
    if (*existing) {
      auto old = DeadLetterRecord::from_json(**existing);
      if (old) r.replayed = old->replayed;
    }
    return tx.put(r.key(), r.to_json().dump());
  }

  Transport& transport_;
  StateStore& store_;
  Clock& clock_;
  AlertManager* alerts_;
  Severity severity_;
  std::mutex mu_;  // guards consumers_ only
  std::map<std::string, std::unique_ptr<IdempotentConsumer>> consumers_;
  std::vector<std::unique_ptr<Subscription>> subscriptions_;
  std::atomic<std::uint64_t> recorded_{0};
  std::atomic<std::uint64_t> alerts_delivered_{0};
  std::atomic<std::uint64_t> alerts_suppressed_{0};
};

}  // namespace pipeline::inline v0
