#pragma once
/// @file
/// Bodies of pipeline/orchestrate/idempotent_consumer.hpp (see pipeline/core/config.hpp).

#include "pipeline/core/best_effort_settle.hpp"
#include "pipeline/orchestrate/idempotent_consumer.hpp"

namespace pipeline::inline v0 {

PIPELINE_INLINE Result<IdempotentConsumer> IdempotentConsumer::create(StateStore& store, Body body,
                                                                     IdempotentConsumerOptions options) {
  if (options.name.empty()) return fail(ErrorCode::kInvalidArgument, "IdempotentConsumerOptions::name must not be empty");
  if (!body) return fail(ErrorCode::kInvalidArgument, "IdempotentConsumer '{}' needs a body (got none)", options.name);
  return IdempotentConsumer(store, std::move(body), std::move(options.name));
}

PIPELINE_INLINE std::string IdempotentConsumer::marker_key(std::string_view name, std::string_view id) {
  std::string key = "consumed/";
  key.append(name).append("/").append(id);
  return key;
}

PIPELINE_INLINE Result<IdempotentConsumer::Outcome> IdempotentConsumer::process(const Delivery& delivery) {
  Outcome outcome = Outcome::kDuplicate;
  const std::string key = marker_key(delivery.id());
  auto st = store_.transact([&](Transaction& tx) -> Status {
    outcome = Outcome::kDuplicate;  // the body may be re-run on kConflict
    auto inserted = tx.insert(key, delivery.topic());
    if (!inserted) return fail(inserted.error());
    if (!*inserted) return ok();
    PIPELINE_TRY(body_(tx, delivery));
    outcome = Outcome::kProcessed;
    return ok();
  });
  if (!st) return fail(st.error().with("delivery_id", delivery.id()).with("consumer", name_));
  return outcome;
}

PIPELINE_INLINE Result<std::vector<IdempotentConsumer::Outcome>> IdempotentConsumer::process_all(
    const std::vector<const Delivery*>& deliveries) {
  std::vector<Outcome> outcomes;
  auto st = store_.transact([&](Transaction& tx) -> Status {
    outcomes.assign(deliveries.size(), Outcome::kDuplicate);  // the body may be re-run on kConflict
    for (std::size_t i = 0; i < deliveries.size(); ++i) {
      const Delivery& d = *deliveries[i];
      auto inserted = tx.insert(marker_key(d.id()), d.topic());
      if (!inserted) return fail(inserted.error().with("delivery_id", d.id()));
      if (!*inserted) continue;
      auto body = body_(tx, d);
      if (!body) return fail(body.error().with("delivery_id", d.id()));
      outcomes[i] = Outcome::kProcessed;
    }
    return ok();
  });
  if (!st) return fail(st.error().with("consumer", name_));
  return outcomes;
}

PIPELINE_INLINE void IdempotentConsumer::handle(const DeliveryPtr& delivery) {
  auto result = process(*delivery);
  // A failed ack or nack (lease lost) needs nothing more: a redelivery is deduplicated.
  if (result)
    best_effort_ack(*delivery);
  else
    best_effort_nack(*delivery, result.error().to_string());
}

PIPELINE_INLINE Handler IdempotentConsumer::handler() {
  return [this](DeliveryPtr delivery) { handle(delivery); };
}

PIPELINE_INLINE Result<bool> IdempotentConsumer::processed(std::string_view id) {
  auto r = store_.get(marker_key(id));
  if (!r) return fail(r.error());
  return r->has_value();
}

}  // namespace pipeline::inline v0
