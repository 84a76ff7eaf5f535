#pragma once
/// @file
/// The `StateStore` port: transactional rows plus a transactional outbox.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include <fmt/format.h>

#include "pipeline/core/clock.hpp"
#include "pipeline/core/config.hpp"
#include "pipeline/core/result.hpp"
#include "pipeline/core/transport.hpp"

namespace pipeline::inline v0 {

/// One stored row.
struct Row {
  std::string key;
  std::string value;
  friend bool operator==(const Row&, const Row&) = default;
};

/// A message to publish once the transaction that wrote it commits.
///
/// The outbox holds one entry per **outbox key**, for as long as the entry is kept (sent
/// entries go only through `StateStore::prune_outbox`): an `enqueue` under a key it
/// already has adds nothing. The key defaults to `message.id`, the stable id consumers
/// deduplicate on. Set `key` only to send the same stable id again as a new entry (a
/// dead-letter replay: key `<id>~replay<N>`, delivered as `<id>`).
struct OutboxMessage {
  std::string topic;
  OutgoingMessage message;  ///< Delivered as is; `message.id` is the stable id.
  std::string key = {};     ///< The outbox key; empty = `message.id`.

  /// The key the outbox deduplicates and completes entries by.
  [[nodiscard]] const std::string& outbox_key() const noexcept { return key.empty() ? message.id : key; }
};

/// An outbox entry handed to a relay by `StateStore::claim_outbox`.
struct OutboxRow {
  /// Relays publish in this order. Every store keeps: entries of one transaction in
  /// enqueue order, and entries of a transaction that began after another committed after
  /// that one's. Of two transactions running at once, the later-committed may have the
  /// smaller numbers (PostgreSQL allocates them from a sequence as entries are written);
  /// the memory and SQLite stores, which serialize writers, give commit order exactly.
  std::int64_t sequence = 0;
  OutboxMessage entry;
  int claims = 0;             ///< How many times a relay has claimed it (1 on the first claim).
};

/// The arguments of `StateStore::claim_outbox`: lease up to `max` unsent outbox entries
/// to `owner` until `now + lease`. A struct, so a field added later reaches every store
/// without changing the virtual's signature. `owner` is a view valid for the call only.
struct ClaimOutboxParams {
  std::string_view owner;  ///< Who holds the lease (a relay's name).
  std::size_t max = 0;     ///< At most this many entries.
  TimePoint now{};         ///< The claim's instant: leases that ended before it are over.
  Duration lease{};        ///< How long the entries stay leased to `owner`.
};

/// Options of a prefix scan.
struct ScanOptions {
  std::size_t limit = std::numeric_limits<std::size_t>::max();
  /// Return only keys strictly greater than this (for paging); empty = from the start.
  std::string start_after;
};

/// Options of one `transact` call.
struct TransactionOptions {
  /// Attempts before a `kConflict` (from the store or from the body) is returned.
  int max_attempts = 16;
  /// A read-only body: stores may run it without taking the write lock.
  bool read_only = false;
};

/// The inside of one transaction. Reads see the transaction's own writes. Valid only
/// during the `transact` body that received it.
///
/// Keys are 1–1024 bytes of printable ASCII (0x20–0x7E); values are any bytes up to
/// `kMaxValueBytes`. **Errors:** `kInvalidArgument` for a bad key or an oversize value
/// (the message names the key); `kUnavailable` / `kConflict` from the store.
class Transaction {
 public:
  static constexpr std::size_t kMaxKeyBytes = 1024;
  static constexpr std::size_t kMaxValueBytes = 64u << 20;

  virtual ~Transaction() = default;
  virtual Result<std::optional<std::string>> get(std::string_view key) = 0;
  virtual Status put(std::string_view key, std::string_view value) = 0;
  /// Conditional insert: writes and returns true only when `key` has no row.
  virtual Result<bool> insert(std::string_view key, std::string_view value) = 0;
  /// Deletes the row; returns whether it existed.
  virtual Result<bool> erase(std::string_view key) = 0;
  /// Rows whose key starts with `prefix`, in ascending byte order of key.
  virtual Result<std::vector<Row>> scan(std::string_view prefix, const ScanOptions& options = {}) = 0;
  /// How many rows have a key starting with `prefix` (what `scan(prefix).size()` would
  /// be). The default scans; stores override it to count without copying rows.
  virtual Result<std::size_t> count(std::string_view prefix) {
    auto rows = scan(prefix);
    if (!rows) return fail(rows.error());
    return rows->size();
  }
  /// Adds a message to the outbox, published after commit by an `OutboxRelay`.
  /// Returns false (and adds nothing) when an entry with the same outbox key
  /// (`OutboxMessage::outbox_key()`) is in the outbox, sent or not.
  virtual Result<bool> enqueue(OutboxMessage entry) = 0;
};

/// Checks a row key against the port's rules: 1 to `Transaction::kMaxKeyBytes` bytes of
/// printable ASCII (0x20–0x7E). Implementations call it on every access.
/// **Errors:** `kInvalidArgument` naming the (clipped) key.
Status validate_key(std::string_view key);

/// Checks a scan or count prefix: empty (everything) or a valid key.
/// **Errors:** as `validate_key`.
Status validate_prefix(std::string_view prefix);

/// Checks a write (`put`, `insert`, `erase`; `value` empty for `erase`): not in a
/// read-only transaction, a valid key, a value of at most `Transaction::kMaxValueBytes`.
/// Every store calls this one function, so they refuse the same writes with the same
/// errors. **Errors:** `kFailedPrecondition` in a read-only transaction,
/// `kInvalidArgument` for the key or the value's size.
Status validate_write(std::string_view key, std::string_view value, bool read_only);

/// Checks an outbox entry: a stable id, and the outbox key when set, of 1–256 printable
/// ASCII bytes, and a non-empty topic. Implementations call it in `Transaction::enqueue` (through `validate_enqueue`).
/// **Errors:** `kInvalidArgument`.
Status validate_outbox_message(const OutboxMessage& entry);

/// Checks an `enqueue`: not in a read-only transaction, and a valid entry.
/// **Errors:** `kFailedPrecondition` in a read-only transaction, else as
/// `validate_outbox_message`.
Status validate_enqueue(const OutboxMessage& entry, bool read_only);

/// The state-store port: small rows addressed by string keys, read and written in
/// serializable transactions, and an outbox whose entries commit with those rows.
///
/// State is kept as many small rows (one per phase, date, wave and processor), never as
/// one hot document, so concurrent writers touch different keys.
///
/// Contract (tests/contracts/state_store_contract.hpp checks it for every
/// implementation): serializable `transact`; all-or-nothing commit of rows and outbox
/// entries; a body returning an error rolls back; `kConflict` (raised by the store or
/// returned by the body) re-runs the body up to `max_attempts` times, so **bodies must
/// be re-runnable** (no side effects outside the transaction); prefix scans in key
/// order; claimed outbox entries not completed before their lease expires are claimed
/// again by the next relay (at-least-once publishing with the same id).
///
/// **Implementing it:** a virtual whose arguments may grow takes one params struct
/// (`claim_outbox` takes `ClaimOutboxParams`; `transact` takes `TransactionOptions`), so a
/// field added to it does not break implementations. Its few callers pass the struct
/// (`store.claim_outbox({"relay-1", 100, clock.now(), lease})`), so the virtual itself
/// takes it and there is no second overload to hide.
///
/// **Thread safety:** every member may be called from any thread; implementations
/// that share storage across processes (SQLite, PostgreSQL) keep the same guarantees
/// across processes. **Errors:** `kInvalidArgument` (bad key, oversize value),
/// `kConflict` (attempts used up), `kUnavailable` (store down / busy past its timeout),
/// `kDataLoss` (corrupt storage), or the body's own error.
///
/// **Example:**
/// @code
///   auto st = store.transact([&](pipeline::Transaction& tx) -> pipeline::Status {
///     auto inserted = tx.insert("tracker/phase3/2025-11-18/w0/decision", "decided");
///     if (!inserted) return pipeline::fail(inserted.error());
///     if (*inserted) return tx.enqueue({"acme-phase3-trigger", {"phase3/2025-11-18/w0", body, {}}}).map([](bool) {});
///     return pipeline::ok();
///   });
/// @endcode
class StateStore {
 public:
  using Body = std::function<Status(Transaction&)>;

  virtual ~StateStore() = default;

  /// Runs `body` in one serializable transaction and commits if it returns success.
  virtual Status transact(const Body& body, const TransactionOptions& options = {}) = 0;

  /// Leases up to `params.max` unsent outbox entries to `params.owner` until
  /// `params.now + params.lease`, oldest first. Entries whose previous lease expired are
  /// included (a relay died).
  virtual Result<std::vector<OutboxRow>> claim_outbox(const ClaimOutboxParams& params) = 0;

  /// Marks entries as sent, by outbox key (`OutboxMessage::outbox_key()`). Idempotent;
  /// keys that are unknown or already sent are ignored.
  virtual Status complete_outbox(const std::vector<std::string>& keys) = 0;

  /// How many outbox entries are not yet marked sent.
  virtual Result<std::size_t> pending_outbox() = 0;

  /// Deletes the sent outbox entries whose last lease ended before `before` (a claim at
  /// `now` leases until `now + lease`) and returns how many went. Unsent entries stay,
  /// whatever their age. A deleted entry's outbox key is forgotten: an `enqueue` under it
  /// afterwards adds a new entry, so retention must keep entries longer than anything
  /// that could enqueue them again (the decision rows that guard each enqueue).
  /// **Errors:** `kUnavailable` / `kDataLoss` from the store.
  virtual Result<std::size_t> prune_outbox(TimePoint before) = 0;

  /// Marks the sent outbox entries whose last lease ended at or after `since` unsent and
  /// claimable at once (claims kept), so the next relay publishes them again under their
  /// stable ids,
  /// and returns how many. For a transport that lost what it had accepted: an in-memory
  /// one whose process died, a broker restored from an older snapshot. Consumers
  /// deduplicate by stable id, so sending again is safe; what was never sent is unchanged.
  /// **Errors:** `kUnavailable` / `kDataLoss` from the store.
  virtual Result<std::size_t> requeue_outbox(TimePoint since) = 0;

  /// Runs `body(tx) -> Result<T>` in one read-only transaction (re-run on conflict like
  /// any body, so it must be re-runnable) and returns its value.
  /// **Errors:** the body's error or the store's.
  template <class F>
  auto read(F&& body) -> std::invoke_result_t<F&, Transaction&> {
    using R = std::invoke_result_t<F&, Transaction&>;
    std::optional<typename R::value_type> out;
    auto st = transact(
        [&](Transaction& tx) -> Status {
          auto r = body(tx);
          if (!r) return fail(r.error());
          out = std::move(*r);
          return ok();
        },
        TransactionOptions{.max_attempts = 16, .read_only = true});
    if (!st) return fail(st.error());
    return std::move(*out);
  }

  /// Reads one row outside any explicit transaction.
  Result<std::optional<std::string>> get(std::string_view key) {
    return read([&](Transaction& tx) { return tx.get(key); });
  }

  /// Scans rows outside any explicit transaction.
  Result<std::vector<Row>> scan(std::string_view prefix, const ScanOptions& options = {}) {
    return read([&](Transaction& tx) { return tx.scan(prefix, options); });
  }
};

}  // namespace pipeline::inline v0

#ifdef PIPELINE_HEADER_ONLY
#include "pipeline/core/state_store-inl.hpp"
#endif
