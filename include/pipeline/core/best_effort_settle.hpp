#pragma once
/// @file
/// Settling a delivery when the settle's own failure needs no handling.

#include <string_view>

#include "pipeline/core/transport.hpp"

namespace pipeline::inline v0 {

/// Acks `delivery` and drops the ack's result. Right in a handler that has nothing better
/// to do with a failed ack than what the transport does anyway: the delivery stays
/// unacked, so it is redelivered after its ack deadline (at least once), and the consumers
/// the library provides recognise the redelivery by its stable id.
///
/// **Thread safety:** as `Delivery::ack`. **Performance:** one virtual call.
///
/// **Example:** `if (done) best_effort_ack(*d); else best_effort_nack(*d, why);`
inline void best_effort_ack(Delivery& delivery) { discard_result(delivery.ack()); }

/// Nacks `delivery` and drops the nack's result: a failed nack leaves the delivery
/// unacked, which the transport redelivers after its ack deadline, as the nack would have.
inline void best_effort_nack(Delivery& delivery, std::string_view reason) {
  discard_result(delivery.nack(reason));
}

/// Rejects `delivery` (dead letter) and drops the result: a failed reject leaves it
/// unacked, so it is redelivered, refused again by the same check, and rejected then.
inline void best_effort_reject(Delivery& delivery, std::string_view reason) {
  discard_result(delivery.reject(reason));
}

}  // namespace pipeline::inline v0
