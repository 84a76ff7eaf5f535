#pragma once
/// @file
/// Bodies of pipeline/memory/memory_state_store.hpp.

#include "pipeline/memory/memory_state_store.hpp"

#include <atomic>
#include <cstdint>
#include <exception>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include <fmt/format.h>

namespace pipeline::inline v0 {

struct MemoryStateStore::State {
  Status transact(const Body& body, const TransactionOptions& options) {
    if (owner_.load(std::memory_order_acquire) == std::this_thread::get_id())
      return fail(ErrorCode::kFailedPrecondition, "MemoryStateStore called from inside one of its own transactions");
    std::unique_lock lock(mutex_);
    OwnerMark mark(owner_);
    const int attempts = options.max_attempts < 1 ? 1 : options.max_attempts;
    for (int attempt = 1;; ++attempt) {
      Tx tx(*this, options.read_only);
      Status st;
      try {
        st = body(tx);
      } catch (const std::exception& e) {
        st = fail(ErrorCode::kInternal, "transaction body threw: {}", e.what());
      } catch (...) {
        st = fail(ErrorCode::kInternal, "transaction body threw a non-standard exception");
      }
      if (st) return ok();  // committed: the writes are already in place
      tx.rollback();
      if (st.error().code != ErrorCode::kConflict) return st;
      if (attempt >= attempts) {
        Error e = st.error();
        e.message = fmt::format("transaction gave up after {} attempts: {}", attempts, e.message);
        return fail(std::move(e));
      }
    }
  }

  Result<std::vector<OutboxRow>> claim_outbox(std::string_view owner, std::size_t max, TimePoint now,
                                              Duration lease) {
    if (owner_.load(std::memory_order_acquire) == std::this_thread::get_id())
      return fail(ErrorCode::kFailedPrecondition, "MemoryStateStore called from inside one of its own transactions");
    std::lock_guard lock(mutex_);
    std::vector<OutboxRow> out;
    for (auto& [seq, e] : pending_) {
      if (out.size() >= max) break;
      if (e.claims > 0 && e.lease_until > now) continue;  // leased to a live relay
      e.lease_owner.assign(owner);
      e.lease_until = now + lease;
      ++e.claims;
      out.push_back(OutboxRow{seq, e.entry, e.claims});
    }
    return out;
  }

  Status complete_outbox(const std::vector<std::string>& keys) {
    if (owner_.load(std::memory_order_acquire) == std::this_thread::get_id())
      return fail(ErrorCode::kFailedPrecondition, "MemoryStateStore called from inside one of its own transactions");
    std::lock_guard lock(mutex_);
    for (const auto& key : keys) {
      auto it = keys_.find(key);
      if (it == keys_.end()) continue;
      auto p = pending_.find(it->second);
      if (p == pending_.end()) continue;  // already sent
      sent_.emplace(p->second.lease_until, key);
      sent_entries_.insert(pending_.extract(p));
    }
    return ok();
  }

  Result<std::size_t> pending_outbox() {
    std::lock_guard lock(mutex_);
    return pending_.size();
  }

  Result<std::size_t> prune_outbox(TimePoint before) {
    if (owner_.load(std::memory_order_acquire) == std::this_thread::get_id())
      return fail(ErrorCode::kFailedPrecondition, "MemoryStateStore called from inside one of its own transactions");
    std::lock_guard lock(mutex_);
    std::size_t pruned = 0;
    for (auto it = sent_.begin(); it != sent_.end() && it->first < before; it = sent_.erase(it), ++pruned) {
      auto key = keys_.find(it->second);
      sent_entries_.erase(key->second);
      keys_.erase(key);
    }
    return pruned;
  }

  Result<std::size_t> requeue_outbox(TimePoint since) {
    if (owner_.load(std::memory_order_acquire) == std::this_thread::get_id())
      return fail(ErrorCode::kFailedPrecondition, "MemoryStateStore called from inside one of its own transactions");
    std::lock_guard lock(mutex_);
    std::size_t requeued = 0;
    for (auto it = sent_.lower_bound(since); it != sent_.end(); it = sent_.erase(it), ++requeued) {
      auto node = sent_entries_.extract(keys_.at(it->second));
      node.mapped().lease_owner.clear();
      node.mapped().lease_until = TimePoint{};  // claimable at once
      pending_.insert(std::move(node));
    }
    return requeued;
  }

  struct Pending {
    OutboxMessage entry;
    int claims = 0;
    std::string lease_owner;
    TimePoint lease_until{};
  };

  // Marks the thread that holds the mutex so a re-entrant call fails instead of deadlocking.
  struct OwnerMark {
    explicit OwnerMark(std::atomic<std::thread::id>& o) : owner(o) {
      owner.store(std::this_thread::get_id(), std::memory_order_release);
    }
    ~OwnerMark() { owner.store(std::thread::id{}, std::memory_order_release); }
    OwnerMark(const OwnerMark&) = delete;
    OwnerMark& operator=(const OwnerMark&) = delete;
    std::atomic<std::thread::id>& owner;
  };

  class Tx final : public Transaction {
   public:
    Tx(State& store, bool read_only) : s_(store), read_only_(read_only) {}

    Result<std::optional<std::string>> get(std::string_view key) override {
      PIPELINE_TRY(validate_key(key));
      auto it = s_.rows_.find(key);
      if (it == s_.rows_.end()) return std::optional<std::string>{};
      return std::optional<std::string>{it->second};
    }

    Status put(std::string_view key, std::string_view value) override {
      PIPELINE_TRY(check_write(key, value));
      auto it = s_.rows_.lower_bound(key);  // one lookup serves the test and the insert
      if (it != s_.rows_.end() && it->first == key) {
        undo_.push_back({it->first, std::exchange(it->second, std::string(value))});
      } else {
        it = s_.rows_.emplace_hint(it, std::string(key), std::string(value));
        undo_.push_back({it->first, std::nullopt});
      }
      return ok();
    }

    Result<bool> insert(std::string_view key, std::string_view value) override {
      PIPELINE_TRY(check_write(key, value));
      auto it = s_.rows_.lower_bound(key);
      if (it != s_.rows_.end() && it->first == key) return false;
      it = s_.rows_.emplace_hint(it, std::string(key), std::string(value));
      undo_.push_back({it->first, std::nullopt});
      return true;
    }

    Result<bool> erase(std::string_view key) override {
      PIPELINE_TRY(check_write(key, {}));
      auto it = s_.rows_.find(key);
      if (it == s_.rows_.end()) return false;
      auto node = s_.rows_.extract(it);  // the undo log takes the row itself: no copy
      undo_.push_back({std::move(node.key()), std::move(node.mapped())});
      return true;
    }

    Result<std::vector<Row>> scan(std::string_view prefix, const ScanOptions& options) override {
      PIPELINE_TRY(validate_prefix(prefix));
      std::vector<Row> out;
      for (auto it = scan_start(prefix, options.start_after); it != s_.rows_.end() && out.size() < options.limit; ++it) {
        if (!std::string_view(it->first).starts_with(prefix)) break;
        out.push_back(Row{it->first, it->second});
      }
      return out;
    }

    // Counts in place: no row is copied.
    Result<std::size_t> count(std::string_view prefix) override {
      PIPELINE_TRY(validate_prefix(prefix));
      std::size_t n = 0;
      for (auto it = s_.rows_.lower_bound(prefix); it != s_.rows_.end(); ++it, ++n)
        if (!std::string_view(it->first).starts_with(prefix)) break;
      return n;
    }

    Result<bool> enqueue(OutboxMessage entry) override {
      PIPELINE_TRY(validate_enqueue(entry, read_only_));
      if (s_.keys_.count(entry.outbox_key()) != 0) return false;
      const std::int64_t seq = ++s_.last_sequence_;
      std::string key = entry.outbox_key();
      s_.pending_.emplace(seq, Pending{std::move(entry), 0, {}, {}});
      s_.keys_.emplace(key, seq);
      enqueued_.push_back(std::move(key));
      return true;
    }

    // Restores every touched row and forgets the outbox entries of this attempt. The
    // log holds each write's previous state in order, so undoing it backwards restores
    // the original even when a key was written several times.
    void rollback() {
      for (auto u = undo_.rbegin(); u != undo_.rend(); ++u) {
        if (u->before)
          s_.rows_.insert_or_assign(std::move(u->key), std::move(*u->before));
        else
          s_.rows_.erase(u->key);
      }
      for (const auto& key : enqueued_) {
        auto it = s_.keys_.find(key);
        s_.pending_.erase(it->second);
        s_.keys_.erase(it);
      }
      undo_.clear();
      enqueued_.clear();
    }

   private:
    Status check_write(std::string_view key, std::string_view value) {
      return validate_write(key, value, read_only_);
    }

    using RowIt = std::map<std::string, std::string, std::less<>>::iterator;
    RowIt scan_start(std::string_view prefix, const std::string& start_after) {
      return start_after.empty() || start_after < prefix ? s_.rows_.lower_bound(prefix)
                                                         : s_.rows_.upper_bound(start_after);
    }

    // One write's undo entry: the key and its value before the write (nullopt: absent).
    struct Undo {
      std::string key;
      std::optional<std::string> before;
    };

    State& s_;
    bool read_only_;
    std::vector<Undo> undo_;  // an append-only log: no lookup per write
    std::vector<std::string> enqueued_;
  };

  std::mutex mutex_;
  std::atomic<std::thread::id> owner_{};
  std::map<std::string, std::string, std::less<>> rows_;
  std::map<std::int64_t, Pending> pending_;                // unsent entries by sequence
  std::unordered_map<std::string, std::int64_t> keys_;     // every outbox key kept, sent or not
  std::map<std::int64_t, Pending> sent_entries_;           // sent entries by sequence, until pruned
  std::multimap<TimePoint, std::string> sent_;             // sent keys by the end of their last lease
  std::int64_t last_sequence_ = 0;
};

PIPELINE_INLINE MemoryStateStore::MemoryStateStore() : state_(std::make_unique<State>()) {}

PIPELINE_INLINE Result<MemoryStateStore> MemoryStateStore::create() { return MemoryStateStore(); }

PIPELINE_INLINE MemoryStateStore::MemoryStateStore(MemoryStateStore&& other) noexcept = default;

PIPELINE_INLINE MemoryStateStore& MemoryStateStore::operator=(MemoryStateStore&& other) noexcept = default;

PIPELINE_INLINE MemoryStateStore::~MemoryStateStore() = default;

PIPELINE_INLINE Status MemoryStateStore::transact(const Body& body, const TransactionOptions& options) {
  return state_->transact(body, options);
}

PIPELINE_INLINE Result<std::vector<OutboxRow>> MemoryStateStore::claim_outbox(const ClaimOutboxParams& params) {
  return state_->claim_outbox(params.owner, params.max, params.now, params.lease);
}

PIPELINE_INLINE Status MemoryStateStore::complete_outbox(const std::vector<std::string>& keys) {
  return state_->complete_outbox(keys);
}

PIPELINE_INLINE Result<std::size_t> MemoryStateStore::pending_outbox() { return state_->pending_outbox(); }

PIPELINE_INLINE Result<std::size_t> MemoryStateStore::prune_outbox(TimePoint before) {
  return state_->prune_outbox(before);
}

PIPELINE_INLINE Result<std::size_t> MemoryStateStore::requeue_outbox(TimePoint since) {
  return state_->requeue_outbox(since);
}

}  // namespace pipeline::inline v0
