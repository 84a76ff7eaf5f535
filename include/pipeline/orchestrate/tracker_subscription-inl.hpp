#pragma once
/// @file
/// Bodies of pipeline/orchestrate/tracker_subscription.hpp (see pipeline/core/config.hpp).

#include "pipeline/orchestrate/tracker_subscription.hpp"

#include <utility>

#include "pipeline/core/message_codec.hpp"

namespace pipeline::inline v0 {

PIPELINE_INLINE Result<std::unique_ptr<Subscription>> subscribe_tracker(Transport& transport,
                                                                         CompletionTracker& tracker,
                                                                         std::string_view topic,
                                                                         TrackerSubscriptionOptions options) {
  SubscriptionConfig config{options.subscription.empty() ? tracker.config().name + "-tracker"
                                                         : std::move(options.subscription),
                            std::string(topic), options.settings};
  return transport.subscribe(config, tracker_handler(tracker));
}

PIPELINE_INLINE Handler tracker_handler(CompletionTracker& tracker) {
  return [&tracker](DeliveryPtr d) {
    auto m = decode_message(d->payload());
    if (!m) {
      (void)d->reject(m.error().to_string());
      return;
    }
    auto r = tracker.record_completion(*m);
    if (r)
      (void)d->ack();
    else if (r.error().code == ErrorCode::kInvalidArgument)
      (void)d->reject(r.error().to_string());  // the same message would be refused again
    else
      (void)d->nack(r.error().to_string());
  };
}

}  // namespace pipeline::inline v0
