#pragma once
/// @file
/// Bodies of pipeline/orchestrate/dead_letter_recorder.hpp (see pipeline/core/config.hpp).

#include "pipeline/core/best_effort_settle.hpp"
#include "pipeline/orchestrate/dead_letter_recorder.hpp"

#include <cstdlib>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "pipeline/core/timestamp.hpp"
#include "pipeline/core/topics.hpp"

namespace pipeline::inline v0 {

PIPELINE_INLINE Result<std::unique_ptr<DeadLetterRecorder>> DeadLetterRecorder::create(Clock& clock, StateStore& store,
                                                                                       Transport& transport,
                                                                                       DeadLetterRecorderOptions options) {
  if (options.severity < Severity::kInfo || options.severity > Severity::kCritical)
    return fail(ErrorCode::kInvalidArgument, "DeadLetterRecorderOptions::severity {} is not a severity",
                static_cast<int>(options.severity));
  return std::unique_ptr<DeadLetterRecorder>(new DeadLetterRecorder(clock, store, transport, options));
}

PIPELINE_INLINE std::string DeadLetterRecord::key() const { return fmt::format("dlq/{}/{}", subscription, id); }

PIPELINE_INLINE nlohmann::json DeadLetterRecord::to_json() const {
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

PIPELINE_INLINE Result<DeadLetterRecord> DeadLetterRecord::from_json(std::string_view text) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return fail(ErrorCode::kDataLoss, "dead-letter row is not a JSON object");
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

PIPELINE_INLINE Status DeadLetterRecorder::watch(std::string_view topic) {
  const std::string dlq = TopicNaming::dead_letter(topic);
  SubscribeParams config{dlq + "-recorder", dlq, {}};
  auto sub = transport_.subscribe(config, [this](DeliveryPtr d) { handle(d); });
  if (!sub) return fail(sub.error());
  subscriptions_.push_back(std::move(*sub));
  return ok();
}

PIPELINE_INLINE void DeadLetterRecorder::close() {
  for (auto& s : subscriptions_) s->close();
  subscriptions_.clear();
}

PIPELINE_INLINE void DeadLetterRecorder::handle(const DeliveryPtr& delivery) {
  const Attributes& a = delivery->attributes();
  const std::string subscription = attribute(a, attributes::kSourceSubscription);
  auto consumer = consumer_for(subscription);
  if (!consumer) {
    best_effort_nack(*delivery, consumer.error().to_string());
    return;
  }
  auto outcome = (*consumer)->process(*delivery);
  if (!outcome) {
    best_effort_nack(*delivery, outcome.error().to_string());
    return;
  }
  best_effort_ack(*delivery);
  if (*outcome != IdempotentConsumer::Outcome::kProcessed) return;
  recorded_.fetch_add(1, std::memory_order_relaxed);
  if (options_.alerts == nullptr) return;
  const RaiseOutcome r =
      options_.alerts->raise(options_.severity, fmt::format("dlq/{}", subscription),
                     fmt::format("message {} dead-lettered by {} after {} attempts: {}", delivery->id(), subscription,
                                 attribute(a, attributes::kDeliveryAttempts), attribute(a, attributes::kLastError)),
                     nlohmann::json{{"id", delivery->id()},
                      {"subscription", subscription},
                      {"source_topic", attribute(a, attributes::kSourceTopic)}});
  (r.delivered ? alerts_delivered_ : alerts_suppressed_).fetch_add(1, std::memory_order_relaxed);
}

PIPELINE_INLINE Result<std::vector<DeadLetterRecord>> DeadLetterRecorder::list(StateStore& store,
                                                                               const DeadLetterFilter& filter) {
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

PIPELINE_INLINE Result<DeadLetterReplay> DeadLetterRecorder::replay(StateStore& store, std::string_view id) {
  auto all = list(store);
  if (!all) return fail(all.error());
  std::vector<const DeadLetterRecord*> matches;
  for (const auto& r : *all)
    if (r.id == id || r.key() == fmt::format("{}{}", kKeyPrefix, id)) matches.push_back(&r);
  if (matches.empty()) return fail(ErrorCode::kNotFound, "no dead letter with id '{}'", id);
  if (matches.size() > 1)
    return fail(ErrorCode::kInvalidArgument, "id '{}' was dead-lettered on {} subscriptions; pass <subscription>/<id>",
                id, matches.size());
  DeadLetterReplay out;
  const std::string key = matches.front()->key();
  auto st = store.transact([&](Transaction& tx) -> Status {
    auto current = tx.get(key);  // re-read: another replay may have committed meanwhile
    if (!current) return fail(current.error());
    if (!*current) return fail(ErrorCode::kNotFound, "dead letter '{}' disappeared", key);
    auto rec = DeadLetterRecord::from_json(**current);
    if (!rec) return fail(rec.error());
    rec->replayed += 1;
    out.outbox_key = fmt::format("{}~replay{}", rec->id, rec->replayed);
    Attributes attrs = rec->attributes;
    attrs.insert_or_assign(std::string(kReplayAttribute), std::to_string(rec->replayed));
    auto enq = tx.enqueue(
        OutboxMessage{rec->source_topic, OutgoingMessage{rec->id, rec->payload, std::move(attrs)}, out.outbox_key});
    if (!enq) return fail(enq.error());
    if (!*enq) return fail(ErrorCode::kAlreadyExists, "replay '{}' was already enqueued", out.outbox_key);
    PIPELINE_TRY(tx.put(key, rec->to_json().dump()));
    // Re-arms the recorder: the same id dead-lettered again is a new dead letter.
    auto erased = tx.erase(IdempotentConsumer::marker_key(consumer_name(rec->subscription), rec->id));
    if (!erased) return fail(erased.error());
    out.record = std::move(*rec);
    return ok();
  });
  if (!st) return fail(st.error());
  return out;
}

PIPELINE_INLINE std::string DeadLetterRecorder::attribute(const Attributes& a, std::string_view name) {
  auto it = a.find(name);
  return it == a.end() ? std::string() : it->second;
}

PIPELINE_INLINE std::string DeadLetterRecorder::consumer_name(std::string_view subscription) {
  return fmt::format("dead-letter-recorder/{}", subscription);
}

PIPELINE_INLINE Result<IdempotentConsumer*> DeadLetterRecorder::consumer_for(const std::string& subscription) {
  std::lock_guard lock(mu_);
  auto it = consumers_.find(subscription);
  if (it == consumers_.end()) {
    auto consumer = IdempotentConsumer::create(
        store_, [this](Transaction& tx, const Delivery& d) { return write(tx, d); }, {consumer_name(subscription)});
    if (!consumer) return fail(consumer.error());
    it = consumers_.emplace(subscription, std::move(*consumer)).first;
  }
  return &it->second;
}

PIPELINE_INLINE Status DeadLetterRecorder::write(Transaction& tx, const Delivery& d) {
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
    if (k == attributes::kSourceTopic || k == attributes::kSourceSubscription || k == attributes::kDeliveryAttempts ||
        k == attributes::kLastError)
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

}  // namespace pipeline::inline v0
