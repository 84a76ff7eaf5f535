#pragma once
/// @file
/// `mocks::FaultInjectingTransport`: wraps a `Transport` and, deterministically from a
/// seed, drops deliveries, duplicates deliveries and fails publishes.

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "pipeline/core/result.hpp"
#include "pipeline/core/transport.hpp"

namespace pipeline::inline v0::mocks {

/// The share (0..1) of each fault and the seed that makes them reproducible.
struct FaultInjectionConfig {
  std::uint64_t seed = 1;
  double drop_delivery = 0.0;       ///< Handler not called; neither acked nor nacked.
  double duplicate_delivery = 0.0;  ///< Handler called twice with the same id.
  double fail_publish = 0.0;        ///< `publish` returns kUnavailable, nothing sent.
};

/// How many faults were injected, and how much passed through.
struct FaultCounts {
  std::uint64_t deliveries = 0;         ///< Deliveries that reached the wrapper.
  std::uint64_t dropped = 0;
  std::uint64_t duplicated = 0;
  std::uint64_t redelivered = 0;        ///< Deliveries with attempt > 1 (after a drop, nack or deadline).
  std::uint64_t publishes = 0;          ///< `publish` calls.
  std::uint64_t publish_failures = 0;   ///< Of which failed by injection.
};

/// Forwards every call to the wrapped transport, injecting the three faults an
/// at-least-once transport lets through in production: a lost delivery (the handler never
/// sees it, the transport redelivers after the ack deadline), a duplicate delivery (the
/// handler sees the same id twice: first a copy whose ack/nack go nowhere, then the real
/// one), and a failed publish (`kUnavailable`; an `OutboxRelay` keeps the row pending and
/// retries). Decisions come from a splitmix64 stream seeded by `config.seed`, so a run
/// with the same seed and the same call order injects the same faults.
///
/// **Thread safety:** every member may be called from any thread; handlers are called
/// without the wrapper's lock held.
/// **Performance:** one short lock per delivery and per publish on top of the wrapped
/// transport.
/// **Errors:** injected publish failures are `kUnavailable` "injected publish failure";
/// everything else is the wrapped transport's.
///
/// **Example:**
/// @code
///   pipeline::MemoryTransport inner{clock};
///   pipeline::mocks::FaultInjectingTransport transport{inner, {.seed = 7, .drop_delivery = 0.1,
///                                                              .duplicate_delivery = 0.1,
///                                                              .fail_publish = 0.2}};
///   // ... run the pipeline on `transport` ...
///   pipeline::mocks::FaultCounts c = transport.counts();
/// @endcode
class FaultInjectingTransport final : public Transport {
 public:
  FaultInjectingTransport(Transport& inner, FaultInjectionConfig config) : inner_(inner), config_(config) {
    state_->rng = config.seed;
  }

  Result<std::unique_ptr<Subscription>> subscribe(const SubscribeParams& config, Handler handler) override {
    // The state is shared so a late delivery after the wrapper is gone stays safe.
    return inner_.subscribe(config, [state = state_, cfg = config_, handler = std::move(handler)](DeliveryPtr d) {
      bool drop = false;
      bool duplicate = false;
      {
        std::lock_guard lock(state->mu);
        ++state->counts.deliveries;
        if (d->attempt() > 1) ++state->counts.redelivered;
        const double r = state->draw();
        drop = r < cfg.drop_delivery;
        duplicate = !drop && r < cfg.drop_delivery + cfg.duplicate_delivery;
        if (drop) ++state->counts.dropped;
        if (duplicate) ++state->counts.duplicated;
      }
      if (drop) return;  // never acked nor nacked: redelivered after the ack deadline
      if (duplicate) handler(std::make_shared<DetachedCopy>(d));
      handler(std::move(d));
    });
  }

  Result<std::vector<DeadLetter>> dead_letters(std::string_view subscription) override {
    return inner_.dead_letters(subscription);
  }

  Status replay_dead_letter(std::string_view subscription, std::string_view id) override {
    return inner_.replay_dead_letter(subscription, id);
  }

  [[nodiscard]] FaultCounts counts() const {
    std::lock_guard lock(state_->mu);
    return state_->counts;
  }

 protected:
  Status do_publish(PublishParams params) override {
    bool fail_it = false;
    {
      std::lock_guard lock(state_->mu);
      ++state_->counts.publishes;
      fail_it = state_->draw() < config_.fail_publish;
      if (fail_it) ++state_->counts.publish_failures;
    }
    if (fail_it) return fail(ErrorCode::kUnavailable, "injected publish failure on '{}'", params.topic);
    return inner_.publish(std::move(params));
  }

 private:
  struct State {
    std::mutex mu;
    std::uint64_t rng = 0;
    FaultCounts counts;

    /// splitmix64, mapped to [0, 1).
    double draw() {
      std::uint64_t z = (rng += 0x9E3779B97F4A7C15ull);
      z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
      z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
      z ^= z >> 31;
      return static_cast<double>(z >> 11) * 0x1.0p-53;
    }
  };

  /// The duplicate: reads forward to the real delivery; ack/nack/extend go nowhere, as a
  /// second copy's would on a transport that had already settled the first.
  class DetachedCopy final : public Delivery {
   public:
    explicit DetachedCopy(DeliveryPtr inner) : inner_(std::move(inner)) {}
    const std::string& id() const noexcept override { return inner_->id(); }
    const std::string& topic() const noexcept override { return inner_->topic(); }
    const std::string& subscription() const noexcept override { return inner_->subscription(); }
    const std::string& payload() const noexcept override { return inner_->payload(); }
    const Attributes& attributes() const noexcept override { return inner_->attributes(); }
    int attempt() const noexcept override { return inner_->attempt(); }
    TimePoint deadline() const override { return inner_->deadline(); }
    Status ack() override { return ok(); }
    Status nack(std::string_view) override { return ok(); }
    Status reject(std::string_view) override { return ok(); }
    Status extend_deadline(Duration) override { return ok(); }

   private:
    DeliveryPtr inner_;
  };

  Transport& inner_;
  FaultInjectionConfig config_;
  std::shared_ptr<State> state_ = std::make_shared<State>();
};

}  // namespace pipeline::inline v0::mocks
