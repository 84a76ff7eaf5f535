// The transport bridge: push envelopes and CloudEvents published on to a transport.
#include "pipeline/core/best_effort_settle.hpp"
#include "pipeline/http/transport_bridge.hpp"

#include <functional>
#include <utility>

#include "pipeline/core/topics.hpp"
#include "pipeline/http/cloudevents.hpp"
#include "pipeline/http/push.hpp"

namespace pipeline::inline v0::http {

namespace {

// Publishes the delivery on its topic: ack when the transport took it, nack (503, the
// sender retries) on a transient failure, reject (400) on any other.
Handler publish_to(Transport& transport) {
  return [&transport](const DeliveryPtr& d) {
    auto st = transport.publish(d->topic(), {d->id(), d->payload(), d->attributes()});
    if (st) {
      best_effort_ack(*d);
    } else if (is_transient(st.error().code)) {
      best_effort_nack(*d, st.error().message);
    } else {
      best_effort_reject(*d, st.error().message);
    }
  };
}

// The `?topic=` of the request, validated.
Result<std::string> topic_of(const HttpRequest& req) {
  auto topic = req.query_param("topic");
  if (!topic || topic->empty())
    return fail(ErrorCode::kInvalidArgument, "the topic to publish to is missing (?topic=NAME)");
  PIPELINE_TRY(TopicNaming::validate_topic_name(*topic));
  return std::string(*topic);
}

// A route that reads `?topic=` (400 without a valid one) and answers with the endpoint
// `endpoint_for` builds for that topic.
RequestHandler per_topic(std::function<RequestHandler(std::string)> endpoint_for) {
  return [endpoint_for = std::move(endpoint_for)](const HttpRequest& req) {
    auto topic = topic_of(req);
    if (!topic) return HttpResponse::error(400, "invalid_topic", topic.error().message);
    return endpoint_for(std::move(*topic))(req);
  };
}

}  // namespace

Status mount_transport_bridge(Router& router, Transport& transport, TransportBridgeOptions options) {
  Handler publish = publish_to(transport);
  const std::string subscription = options.subscription;
  PIPELINE_TRY(router.add("POST", options.prefix + "/push", per_topic([publish, subscription](std::string topic) {
                            PushEndpointOptions endpoint;
                            endpoint.topic = std::move(topic);
                            endpoint.subscription = subscription;
                            return push_endpoint(publish, std::move(endpoint));
                          })));
  return router.add("POST", options.prefix + "/events", per_topic([publish, subscription](std::string topic) {
                      CloudEventEndpointOptions endpoint;
                      endpoint.topic = std::move(topic);
                      endpoint.subscription = subscription;
                      return cloudevent_endpoint(publish, std::move(endpoint));
                    }));
}

}  // namespace pipeline::inline v0::http
