#pragma once
/// @file
/// `mocks::CountingStateStore`: a `StateStore` decorator that counts every call, lets a
/// test act at a chosen one (kill the process there), and records which writes of
/// chosen rows committed — how tests count decisions instead of inferring them.

#include <atomic>
#include <cstddef>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "pipeline/core/result.hpp"
#include "pipeline/core/state_store.hpp"

namespace pipeline::inline v0::mocks {

/// A call `CountingStateStore` passes on.
enum class StoreOperation {
  kTransact,  ///< `transact` was called (once per call, before the first attempt).
  kAttempt,   ///< The body is about to run (again after a conflict).
  kCommit,    ///< The transaction committed; the caller has not learnt it yet.
  kGet,
  kPut,
  kInsert,
  kErase,
  kScan,
  kCount,
  kEnqueue,
  kClaim,     ///< `claim_outbox`, before the store leases anything.
  kComplete,  ///< `complete_outbox`: after the relay published, before the entries are marked.
  kPending,
  kPrune,     ///< `prune_outbox`.
  kRequeue,   ///< `requeue_outbox`.
};

/// One call, as the `on_operation` hook sees it.
struct StoreCall {
  StoreOperation operation = StoreOperation::kTransact;
  /// The row key (get, put, insert, erase), the prefix (scan, count), the outbox id
  /// (enqueue), the relay's owner (claim); empty otherwise.
  std::string_view key;
  /// `complete_outbox`'s outbox keys; null otherwise.
  const std::vector<std::string>* ids = nullptr;
  /// 1-based position of this call among all the calls this store has seen.
  long index = 0;
};

/// A write of a watched row: a conditional insert that found the key absent, or a put
/// (which writes whether or not the row was there).
struct WatchedWrite {
  std::string key;
  std::string value;
  bool conditional = false;  ///< An `insert` (true) or a `put` (false).
};

/// What `CountingStateStore` watches and where it calls back.
struct CountingStateStoreOptions {
  /// Which row writes to record (say, a tracker's decision rows); null: none.
  std::function<bool(std::string_view key)> watch{};
  /// Called before every call is passed on (and at `kCommit`, after the commit), on the
  /// calling thread; a test kills its process here to crash at a chosen operation.
  std::function<void(const StoreCall&)> on_operation{};
  /// Called inside the transaction right after a watched write, with that transaction:
  /// whatever it writes there commits if and only if the watched write commits. An error
  /// becomes the write's error (the body fails, the transaction rolls back).
  std::function<Status(Transaction&, const WatchedWrite&)> on_watched_write{};
};

/// Wraps a real `StateStore`, forwards everything, and counts: every call (by kind and
/// in total, so a test can act at the N-th), and the watched row writes of the
/// transactions that committed. A store re-runs a body after a conflict and commits
/// only its last run, so the writes of the last attempt of a `transact` that returned
/// success are the committed ones; rolled-back attempts never count.
///
/// Tests count decisions with it: watch a tracker's decision rows, and a second decision
/// of a wave shows up as a second committed write of that row, even when the row's value
/// is the same and the outbox ignores the second trigger's id.
///
/// **Thread safety:** every member may be called from any thread; the hooks are called
/// on the thread making the store call, concurrently when calls are, and must be
/// thread-safe. **Performance:** an atomic increment per call, the `watch` predicate per
/// write and a copy of each watched write; a mutex only when a transaction with watched
/// writes commits. **Errors:** the wrapped store's, or the `on_watched_write` hook's.
///
/// **Example:**
/// @code
///   pipeline::MemoryStateStore real;
///   pipeline::mocks::CountingStateStore store(
///       real, {.watch = [](std::string_view k) { return k.find("/decision/") != k.npos; }});
///   auto tracker = pipeline::CompletionTracker::create(clock, store, config);
///   // ... record completions ...
///   for (const auto& [key, n] : store.committed_write_counts()) assert(n == 1);
/// @endcode
class CountingStateStore final : public StateStore {
 public:
  explicit CountingStateStore(StateStore& inner, CountingStateStoreOptions options = {})
      : inner_(inner), options_(std::move(options)) {}

  /// How many calls this store has seen (every `StoreOperation`, `kCommit` included).
  [[nodiscard]] long operations() const noexcept { return ops_.load(); }

  /// How many calls of one kind this store has seen.
  [[nodiscard]] long count(StoreOperation op) const noexcept {
    return by_kind_[static_cast<std::size_t>(op)].load();
  }

  /// The watched writes of committed transactions, in commit order.
  [[nodiscard]] std::vector<WatchedWrite> committed_writes() const {
    std::lock_guard lock(mu_);
    return committed_;
  }

  /// How many committed watched writes each key received.
  [[nodiscard]] std::map<std::string, int> committed_write_counts() const {
    std::lock_guard lock(mu_);
    std::map<std::string, int> n;
    for (const auto& w : committed_) ++n[w.key];
    return n;
  }

  Status transact(const Body& body, const TransactionOptions& options = {}) override {
    call(StoreOperation::kTransact);
    std::vector<WatchedWrite> writes;  // the current attempt's
    auto st = inner_.transact(
        [&](Transaction& tx) -> Status {
          writes.clear();
          call(StoreOperation::kAttempt);
          Tx wrapped(*this, tx, writes);
          return body(wrapped);
        },
        options);
    if (!st) return st;
    if (!writes.empty()) {
      std::lock_guard lock(mu_);
      for (auto& w : writes) committed_.push_back(std::move(w));
    }
    call(StoreOperation::kCommit);
    return st;
  }

  Result<std::vector<OutboxRow>> claim_outbox(const ClaimOutboxParams& params) override {
    call(StoreOperation::kClaim, params.owner);
    return inner_.claim_outbox(params);
  }

  Status complete_outbox(const std::vector<std::string>& ids) override {
    call(StoreOperation::kComplete, {}, &ids);
    return inner_.complete_outbox(ids);
  }

  Result<std::size_t> pending_outbox() override {
    call(StoreOperation::kPending);
    return inner_.pending_outbox();
  }

  Result<std::size_t> prune_outbox(TimePoint before) override {
    call(StoreOperation::kPrune);
    return inner_.prune_outbox(before);
  }

  Result<std::size_t> requeue_outbox(TimePoint since) override {
    call(StoreOperation::kRequeue);
    return inner_.requeue_outbox(since);
  }

 private:
  static constexpr std::size_t kKinds = static_cast<std::size_t>(StoreOperation::kRequeue) + 1;

  void call(StoreOperation op, std::string_view key = {}, const std::vector<std::string>* ids = nullptr) {
    const long index = ++ops_;
    ++by_kind_[static_cast<std::size_t>(op)];
    if (options_.on_operation) options_.on_operation(StoreCall{op, key, ids, index});
  }

  class Tx final : public Transaction {
   public:
    Tx(CountingStateStore& s, Transaction& inner, std::vector<WatchedWrite>& writes)
        : s_(s), inner_(inner), writes_(writes) {}

    Result<std::optional<std::string>> get(std::string_view key) override {
      s_.call(StoreOperation::kGet, key);
      return inner_.get(key);
    }
    Status put(std::string_view key, std::string_view value) override {
      s_.call(StoreOperation::kPut, key);
      PIPELINE_TRY(inner_.put(key, value));
      return watched(key, value, false);
    }
    Result<bool> insert(std::string_view key, std::string_view value) override {
      s_.call(StoreOperation::kInsert, key);
      auto inserted = inner_.insert(key, value);
      if (!inserted || !*inserted) return inserted;
      PIPELINE_TRY(watched(key, value, true));
      return true;
    }
    Result<bool> erase(std::string_view key) override {
      s_.call(StoreOperation::kErase, key);
      return inner_.erase(key);
    }
    Result<std::vector<Row>> scan(std::string_view prefix, const ScanOptions& options = {}) override {
      s_.call(StoreOperation::kScan, prefix);
      return inner_.scan(prefix, options);
    }
    Result<std::size_t> count(std::string_view prefix) override {
      s_.call(StoreOperation::kCount, prefix);
      return inner_.count(prefix);
    }
    Result<bool> enqueue(OutboxMessage entry) override {
      s_.call(StoreOperation::kEnqueue, entry.message.id);
      return inner_.enqueue(std::move(entry));
    }

   private:
    Status watched(std::string_view key, std::string_view value, bool conditional) {
      if (!s_.options_.watch || !s_.options_.watch(key)) return ok();
      WatchedWrite w{std::string(key), std::string(value), conditional};
      if (s_.options_.on_watched_write) PIPELINE_TRY(s_.options_.on_watched_write(inner_, w));
      writes_.push_back(std::move(w));
      return ok();
    }

    CountingStateStore& s_;
    Transaction& inner_;
    std::vector<WatchedWrite>& writes_;
  };

  StateStore& inner_;
  CountingStateStoreOptions options_;
  std::atomic<long> ops_{0};
  std::atomic<long> by_kind_[kKinds] = {};
  mutable std::mutex mu_;
  std::vector<WatchedWrite> committed_;
};

}  // namespace pipeline::inline v0::mocks
