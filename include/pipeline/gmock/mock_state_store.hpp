#pragma once
/// @file
/// `mocks::MockStateStore` and `mocks::MockTransaction`: GoogleMock mocks of the
/// `StateStore` port (target `pipeline::gmock`, which links GoogleTest's gmock).

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <gmock/gmock.h>

#include "pipeline/core/clock.hpp"
#include "pipeline/core/result.hpp"
#include "pipeline/core/state_store.hpp"

namespace pipeline::inline v0::mocks {

/// A GoogleMock `Transaction`, for a test that runs a body (a component's, or its own)
/// against chosen reads and checks its writes: give it to the body from a
/// `MockStateStore::transact` action. Unset calls return the defaults of their types
/// (`get` finds nothing, `insert` and `erase` return false, writes succeed).
///
/// **Thread safety:** like a real transaction, used by the one body that received it;
/// set expectations before. **Performance:** for unit tests.
///
/// **Example:**
/// @code
///   ::testing::NiceMock<pipeline::mocks::MockTransaction> tx;
///   EXPECT_CALL(tx, put("tracker/phase3/state", ::testing::_))
///       .WillOnce(::testing::Return(pipeline::fail(pipeline::ErrorCode::kConflict, "raced")));
///   EXPECT_CALL(store, transact).WillOnce([&](const auto& body, const auto&) { return body(tx); });
/// @endcode
class MockTransaction : public Transaction {
 public:
  MOCK_METHOD(Result<std::optional<std::string>>, get, (std::string_view key), (override));
  MOCK_METHOD(Status, put, (std::string_view key, std::string_view value), (override));
  MOCK_METHOD(Result<bool>, insert, (std::string_view key, std::string_view value), (override));
  MOCK_METHOD(Result<bool>, erase, (std::string_view key), (override));
  MOCK_METHOD(Result<std::vector<Row>>, scan, (std::string_view prefix, const ScanOptions& options), (override));
  MOCK_METHOD(Result<std::size_t>, count, (std::string_view prefix), (override));
  MOCK_METHOD(Result<bool>, enqueue, (OutboxMessage entry), (override));
};

/// A GoogleMock `StateStore`, for a test that checks what a component asks of its store
/// or makes one call fail (`MemoryStateStore` and the fakes in pipeline/mocks/ cover the
/// rest).
///
/// The mocked members are the port's virtuals (`transact`, `claim_outbox`,
/// `complete_outbox`, `pending_outbox`, `prune_outbox`, `requeue_outbox`); `read`, `get`
/// and `scan` go through `transact`. Unless a test sets an action, `transact` fails with
/// `kFailedPrecondition` without running the body (a body that is not run cannot be
/// answered for: set an action, or delegate), `claim_outbox` claims nothing, the others
/// succeed with 0. `delegate_to(real)` forwards every unset call to a real store, so a
/// test can fail one call of an otherwise working component (an `EXPECT_CALL` or
/// `ON_CALL` set after `delegate_to` takes precedence for its member).
/// `ClaimOutboxParams::owner` is a view valid during the call only.
///
/// **Thread safety:** as any GoogleMock mock: its members may be called from any thread;
/// set expectations before other threads call. **Performance:** for unit tests (each
/// call takes GoogleMock's lock and matches expectations). **Errors:** what the test's
/// actions return.
///
/// **Example:**
/// @code
///   pipeline::MemoryStateStore real;
///   ::testing::NiceMock<pipeline::mocks::MockStateStore> store;
///   store.delegate_to(real);
///   EXPECT_CALL(store, complete_outbox(::testing::_))
///       .WillOnce(::testing::Return(pipeline::fail(pipeline::ErrorCode::kUnavailable, "store down")));
/// @endcode
class MockStateStore : public StateStore {
 public:
  MockStateStore() {
    ON_CALL(*this, transact).WillByDefault([](const Body&, const TransactionOptions&) -> Status {
      return fail(ErrorCode::kFailedPrecondition,
                  "MockStateStore::transact has no action: set one (EXPECT_CALL / ON_CALL) or call delegate_to");
    });
  }

  /// Every call without an action of its own goes to `real` (which must outlive this).
  void delegate_to(StateStore& real) {
    ON_CALL(*this, transact).WillByDefault([&real](const Body& body, const TransactionOptions& options) {
      return real.transact(body, options);
    });
    ON_CALL(*this, claim_outbox).WillByDefault([&real](const ClaimOutboxParams& params) {
      return real.claim_outbox(params);
    });
    ON_CALL(*this, complete_outbox).WillByDefault([&real](const std::vector<std::string>& keys) {
      return real.complete_outbox(keys);
    });
    ON_CALL(*this, pending_outbox).WillByDefault([&real] { return real.pending_outbox(); });
    ON_CALL(*this, prune_outbox).WillByDefault([&real](TimePoint before) { return real.prune_outbox(before); });
    ON_CALL(*this, requeue_outbox).WillByDefault([&real](TimePoint since) { return real.requeue_outbox(since); });
  }

  MOCK_METHOD(Status, transact, (const Body& body, const TransactionOptions& options), (override));
  MOCK_METHOD(Result<std::vector<OutboxRow>>, claim_outbox, (const ClaimOutboxParams& params), (override));
  MOCK_METHOD(Status, complete_outbox, (const std::vector<std::string>& keys), (override));
  MOCK_METHOD(Result<std::size_t>, pending_outbox, (), (override));
  MOCK_METHOD(Result<std::size_t>, prune_outbox, (TimePoint before), (override));
  MOCK_METHOD(Result<std::size_t>, requeue_outbox, (TimePoint since), (override));
};

}  // namespace pipeline::inline v0::mocks
