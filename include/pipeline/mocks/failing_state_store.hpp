#pragma once
/// @file
/// `FailingStateStore`: a `StateStore` double that fails chosen calls on demand.

#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "pipeline/core/state_store.hpp"

namespace pipeline::inline v0::mocks {

/// Wraps a real `StateStore` and makes `transact`, `claim_outbox` or `complete_outbox`
/// fail with a chosen `ErrorCode`, for the next N calls or until healed; everything
/// else is forwarded. Used to test what callers do when the store is down or a relay
/// dies between publishing and marking.
///
/// **Thread safety:** every member may be called from any thread.
/// **Performance:** one mutex acquisition per call on top of the wrapped store.
/// **Errors:** the injected code with message "injected failure: <operation>", or the
/// wrapped store's own errors.
///
/// **Example:**
/// @code
///   pipeline::MemoryStateStore real;
///   pipeline::mocks::FailingStateStore store(real);
///   store.fail_complete(pipeline::ErrorCode::kUnavailable, 1);  // next complete_outbox fails
/// @endcode
class FailingStateStore final : public StateStore {
 public:
  /// How many calls of an operation fail; -1 = every call until `heal()`.
  static constexpr int kForever = -1;

  explicit FailingStateStore(StateStore& inner) : inner_(inner) {}

  void fail_transact(ErrorCode code, int times = kForever) { arm(transact_, code, times); }
  void fail_claim(ErrorCode code, int times = kForever) { arm(claim_, code, times); }
  void fail_complete(ErrorCode code, int times = kForever) { arm(complete_, code, times); }
  /// Stops every injected failure.
  void heal() {
    std::lock_guard lock(mu_);
    transact_ = claim_ = complete_ = Plan{};
  }
  /// How many failures were injected so far.
  [[nodiscard]] int injected() const {
    std::lock_guard lock(mu_);
    return injected_;
  }

  Status transact(const Body& body, const TransactionOptions& options = {}) override {
    PIPELINE_TRY(maybe_fail(transact_, "transact"));
    return inner_.transact(body, options);
  }
  Result<std::vector<OutboxRow>> claim_outbox(const ClaimOutboxParams& params) override {
    PIPELINE_TRY(maybe_fail(claim_, "claim_outbox"));
    return inner_.claim_outbox(params);
  }
  Status complete_outbox(const std::vector<std::string>& ids) override {
    PIPELINE_TRY(maybe_fail(complete_, "complete_outbox"));
    return inner_.complete_outbox(ids);
  }
  Result<std::size_t> pending_outbox() override { return inner_.pending_outbox(); }
  Result<std::size_t> prune_outbox(TimePoint before) override { return inner_.prune_outbox(before); }
  Result<std::size_t> requeue_outbox(TimePoint since) override { return inner_.requeue_outbox(since); }

 private:
  struct Plan {
    ErrorCode code = ErrorCode::kUnavailable;
    int remaining = 0;  // 0 = healthy, -1 = forever
  };

  void arm(Plan& plan, ErrorCode code, int times) {
    std::lock_guard lock(mu_);
    plan = Plan{code, times};
  }

  Status maybe_fail(Plan& plan, std::string_view what) {
    std::lock_guard lock(mu_);
    if (plan.remaining == 0) return ok();
    if (plan.remaining > 0) --plan.remaining;
    ++injected_;
    return fail(plan.code, "injected failure: {}", what);
  }

  StateStore& inner_;
  mutable std::mutex mu_;
  Plan transact_, claim_, complete_;
  int injected_ = 0;
};

}  // namespace pipeline::inline v0::mocks
