#pragma once
/// @file
/// `MemoryStateStore`: the in-process implementation of the `StateStore` port.

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "pipeline/core/config.hpp"
#include "pipeline/core/state_store.hpp"

namespace pipeline::inline v0 {

/// The full semantics of the `StateStore` port, in process memory: for tests, the demo,
/// backfills and single-process tools. Nothing survives the process.
///
/// Transactions are serializable because one mutex is held for the whole `transact`
/// call (the body runs under it). Writes go straight to the map and an undo log keeps
/// each touched key's original value, so a failed body is rolled back by replaying the
/// log; readers never see uncommitted state because they cannot take the mutex meanwhile.
/// Outbox keys are remembered after completion so a re-enqueue of the same key is refused.
///
/// **Thread safety:** every member may be called from any thread. A body must not call
/// back into the same store (it would wait for itself); such a call returns
/// `kFailedPrecondition` instead of deadlocking.
/// **Performance:** a transaction is one mutex acquisition plus O(log n) per row access
/// (one tree lookup per write; the undo log is appended to, never searched); `count`
/// walks the prefix without copying rows. Transactions are fully serialized (read-only
/// ones too). Memory grows with rows and with every outbox entry kept, sent or not (until `prune_outbox`).
/// **Errors:** `kInvalidArgument` (bad key, oversize value, bad outbox entry),
/// `kFailedPrecondition` (write in a read-only transaction, re-entrant call),
/// `kConflict` (the body kept returning it), `kInternal` (the body threw), or the body's
/// own error. The store itself never raises `kConflict`.
///
/// **Example:**
/// @snippet memory_snippets_test.cpp memory_state_store
class MemoryStateStore final : public StateStore {
 public:
  /// An empty store. **Errors:** none today; a `Result` like every component's
  /// `create`, so that options can be added without breaking callers.
  [[nodiscard]] static Result<MemoryStateStore> create();

  /// Moving leaves `other` empty: it may only be destroyed or assigned to. Not thread
  /// safe: nothing may use either store meanwhile.
  MemoryStateStore(MemoryStateStore&& other) noexcept;
  MemoryStateStore& operator=(MemoryStateStore&& other) noexcept;
  MemoryStateStore(const MemoryStateStore&) = delete;
  MemoryStateStore& operator=(const MemoryStateStore&) = delete;
  ~MemoryStateStore() override;

  Status transact(const Body& body, const TransactionOptions& options = {}) override;
  Result<std::vector<OutboxRow>> claim_outbox(const ClaimOutboxParams& params) override;
  Status complete_outbox(const std::vector<std::string>& keys) override;
  Result<std::size_t> pending_outbox() override;
  Result<std::size_t> prune_outbox(TimePoint before) override;
  Result<std::size_t> requeue_outbox(TimePoint since) override;

 private:
  MemoryStateStore();

  struct State;  // rows, outbox and the transaction with its undo log (memory_state_store-inl.hpp)
  std::unique_ptr<State> state_;
};

}  // namespace pipeline::inline v0

#ifdef PIPELINE_HEADER_ONLY
#include "pipeline/memory/memory_state_store-inl.hpp"
#endif
