#pragma once
/// @file
/// `IdempotentConsumer`: processes each stable message id once per consumer.

#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "pipeline/core/config.hpp"
#include "pipeline/core/result.hpp"
#include "pipeline/core/state_store.hpp"
#include "pipeline/core/transport.hpp"

namespace pipeline::inline v0 {

/// Options of an `IdempotentConsumer`.
struct IdempotentConsumerOptions {
  /// Names the consumer in its markers (`consumed/<name>/<id>`); required. Consumers with
  /// different names each process an id once.
  std::string name;
};

/// Wraps a subscription handler so each stable id is processed once, even though the
/// transport delivers at least once.
///
/// In ONE transaction it inserts a processed-marker row for (consumer name, delivery id)
/// and runs the body with the same `Transaction`, so the marker commits together with
/// the body's own state changes: if the marker already exists (a redelivery, or a
/// process that crashed after commit but before ack) the delivery is acknowledged
/// without running the body; if the body fails nothing commits and the delivery is
/// nacked with the error text; after a commit it is acknowledged. **Every consumer in
/// this library uses it**; bodies keep their side effects inside the transaction (they
/// may be re-run on `kConflict`) or make them idempotent on the id.
///
/// Markers live under `consumed/<name>/<id>` and are never removed by this class (the
/// `DeadLetterRecorder` removes its own when it replays a dead letter).
///
/// **Thread safety:** `process`, `handle` and the handler may run concurrently on any
/// threads; the store serializes the transactions. The consumer must outlive every
/// subscription its `handler()` was given to.
/// **Performance:** one store transaction per delivery (one conditional insert plus the
/// body's work); `process_all`, one for all its deliveries.
/// **Errors:** `create`: `kInvalidArgument` for an empty name or a null body. `process` returns the body's error, or the store's (`kInvalidArgument`
/// when name + id make a key over 1024 bytes, `kUnavailable`, `kConflict`); `handle`
/// turns any error into a nack with its text.
///
/// **Example:**
/// @snippet orchestrate_snippets_test.cpp idempotent_consumer
class IdempotentConsumer {
 public:
  using Body = std::function<Status(Transaction&, const Delivery&)>;

  /// What `process` did with a delivery.
  enum class Outcome {
    kProcessed,  ///< The body ran and its transaction committed with the marker.
    kDuplicate,  ///< The id was already processed; the body did not run.
  };

  /// Checks the name and the body, then builds the consumer (movable: a reference, a
  /// name and the body). **Errors:** `kInvalidArgument` for an empty name or a null body.
  static Result<IdempotentConsumer> create(StateStore& store, Body body, IdempotentConsumerOptions options);

  [[nodiscard]] const std::string& name() const noexcept { return name_; }

  /// The row key of the marker for `id`.
  [[nodiscard]] std::string marker_key(std::string_view id) const { return marker_key(name_, id); }

  /// The row key of the marker of consumer `name` for `id`: `consumed/<name>/<id>`.
  static std::string marker_key(std::string_view name, std::string_view id);

  /// Runs the body once for this id (marker + body in one transaction). Does not settle
  /// the delivery.
  Result<Outcome> process(const Delivery& delivery);

  /// `process` for several deliveries in ONE transaction: each id's marker with its body,
  /// as `process` does, and one commit for all (for a round of work whose side effects are
  /// stored already). One outcome per delivery, in order; an error fails them all (nothing
  /// commits). Does not settle the deliveries.
  Result<std::vector<Outcome>> process_all(const std::vector<const Delivery*>& deliveries);

  /// `process`, then ack on success (processed or duplicate) or nack with the error text.
  void handle(const DeliveryPtr& delivery);

  /// The handler to pass to `Transport::subscribe`.
  Handler handler();

  /// Whether `id` was already processed by this consumer.
  Result<bool> processed(std::string_view id);

 private:
  IdempotentConsumer(StateStore& store, Body body, std::string name)
      : store_(store), name_(std::move(name)), body_(std::move(body)) {}

  StateStore& store_;
  std::string name_;
  Body body_;
};

}  // namespace pipeline::inline v0

#ifdef PIPELINE_HEADER_ONLY
#include "pipeline/orchestrate/idempotent_consumer-inl.hpp"
#endif
