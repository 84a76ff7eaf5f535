#pragma once
/// @file
/// `PostgresStateStore`: the `StateStore` port on a networked PostgreSQL database (target
/// `pipeline::postgres`), for pipelines whose processes run on several machines. No libpq
/// header leaks from here.

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "pipeline/core/state_store.hpp"

namespace pipeline::inline v0 {

/// Options of `PostgresStateStore::open`.
struct PostgresStateStoreOptions {
  /// Prepended to every table name, so several pipelines can share one database:
  /// `[a-z_][a-z0-9_]*`, at most 32 bytes (quoted as an identifier besides). A
  /// `table_prefix` parameter in the connection URI sets it too.
  std::string table_prefix;
  /// How long opening one connection may take (libpq's `connect_timeout`, whole seconds,
  /// at least 2).
  std::chrono::milliseconds connect_timeout{5000};
  /// Connections kept open, at most; a call finding them all busy waits for one.
  std::size_t pool_size = 4;
  /// How long a call waits for a busy pool before it returns `kUnavailable`.
  std::chrono::milliseconds pool_wait{30000};
  /// First pause before a transaction is re-run after a serialization failure or a
  /// deadlock; it doubles per attempt up to `max_retry_backoff`, and each pause is drawn
  /// uniformly from [0, that bound] (full jitter), so writers that collided spread out.
  std::chrono::microseconds retry_backoff{500};
  std::chrono::microseconds max_retry_backoff{50000};
  /// After this many conflicts, a write transaction's next attempts first lock the
  /// store's tables against other writers (`LOCK TABLE … SHARE ROW EXCLUSIVE`, before
  /// the attempt's snapshot), so a transaction that keeps losing on a hot key runs alone
  /// and finishes instead of exhausting its attempts. 0 = never.
  int exclusive_after_conflicts = 3;
};

/// `StateStore` over PostgreSQL (15 or later) through libpq: one database shared by
/// processes on any number of hosts.
///
/// **Schema** (tables named `<prefix>rows`, `<prefix>outbox`, `<prefix>pipeline_schema`):
/// `rows(key text COLLATE "C" PRIMARY KEY, value bytea)`; `outbox(sequence bigint identity
/// PRIMARY KEY, id text UNIQUE (the outbox key), message_id (the delivered id when it
/// differs), topic, payload bytea, attributes (JSON text), lease_owner, lease_until
/// (nanoseconds of the caller's clock), claims, sent, sent_at)`; `pipeline_schema(version)`,
/// one row. `open` creates the tables, or migrates an older schema in one transaction,
/// under an advisory lock so processes starting together do not race; a schema newer
/// than this library's is refused (`kFailedPrecondition`).
///
/// **Transactions** are `SERIALIZABLE`. A serialization failure or deadlock (SQLSTATE
/// 40001, 40P01), from any statement or from `COMMIT`, rolls back and re-runs the body
/// (the port's `kConflict` rule), after a jittered pause, up to `max_attempts`; after
/// `exclusive_after_conflicts` conflicts it re-runs holding the tables' write lock, so
/// writers colliding on one key all finish. When the
/// connection breaks during `COMMIT` the outcome is unknown: the call returns
/// `kUnavailable` and the body is not re-run (a re-run body finds what the first one
/// wrote if it did commit; the library's bodies are written so). Rows are bound as
/// binary parameters (values up to the port's 64 MiB); every statement is prepared once
/// per connection with bound parameters. `scan` and `count` read a key range of the
/// primary key (no `LIKE`: `%` and `_` in keys are plain bytes).
///
/// **Outbox order:** `sequence` comes from an identity column, which is allocation order,
/// not commit order: entries of one transaction are in enqueue order, and a transaction
/// that begins after another committed gets greater sequences, but of two transactions
/// running at once the later-committed one may hold the smaller numbers (the port's
/// contract says exactly this). `claim_outbox` leases with `FOR UPDATE SKIP LOCKED` in
/// its own READ COMMITTED statement, comparing leases with the `now` the caller passes,
/// so relays on several hosts share the outbox without waiting on one another.
///
/// **Failures:** a broken connection is dropped and replaced on the next call; during an
/// outage calls return `kUnavailable` (after at most `connect_timeout` when the server is
/// unreachable) and succeed again once it is back, with nothing half-written. With the
/// server's `synchronous_commit=on` (the default) nothing committed is lost in a server
/// crash.
///
/// **Thread safety:** every member may be called from any thread; at most `pool_size`
/// calls run at once, the others wait. A body must not call back into the same store (it
/// would hold two connections and may wait on itself). Share one store across `fork()`
/// never: open a new one in the child. **Performance:** a single-row write transaction
/// is 3 round trips plus the commit's WAL flush. **Errors:** `kInvalidArgument` (bad key,
/// value, entry, prefix or connection string), `kConflict` (serialization failures past
/// `max_attempts`, or the body's), `kUnavailable` (server down or unreachable, refused
/// credentials, pool busy past `pool_wait`, unknown commit outcome), `kDataLoss` (the
/// server reports corruption), `kFailedPrecondition` (a newer schema), `kInternal`
/// (unexpected server errors, a body that threw); messages carry the server's text and
/// SQLSTATE, never the password.
///
/// **Example:**
/// @code
///   auto store = pipeline::PostgresStateStore::open("postgresql://pipeline@db:5432/state?table_prefix=nba_");
///   if (!store) return fail(store.error());
///   auto st = (*store)->transact([](pipeline::Transaction& tx) { return tx.put("runs/p1", "ok"); });
/// @endcode
class PostgresStateStore final : public StateStore {
 public:
  /// The schema version this library writes (`pipeline_schema.version`).
  static constexpr int kSchemaVersion = 1;

  /// Connects with `conninfo` (a libpq URI `postgresql://…` or `key=value` string; a
  /// `table_prefix` URI parameter is taken out and used as `options.table_prefix`),
  /// checks the server, and creates or migrates the tables. **Errors:** `kInvalidArgument`
  /// (malformed connection string, bad prefix, two different prefixes), `kUnavailable`
  /// (cannot connect or authenticate), `kFailedPrecondition` (newer schema).
  static Result<std::unique_ptr<PostgresStateStore>> open(const std::string& conninfo,
                                                          const PostgresStateStoreOptions& options = {});

  ~PostgresStateStore() override;
  PostgresStateStore(const PostgresStateStore&) = delete;
  PostgresStateStore& operator=(const PostgresStateStore&) = delete;

  Status transact(const Body& body, const TransactionOptions& options = {}) override;
  Result<std::vector<OutboxRow>> claim_outbox(const ClaimOutboxParams& params) override;
  Status complete_outbox(const std::vector<std::string>& keys) override;
  Result<std::size_t> pending_outbox() override;
  Result<std::size_t> prune_outbox(TimePoint before) override;
  Result<std::size_t> requeue_outbox(TimePoint since) override;

  /// The table prefix in use.
  [[nodiscard]] const std::string& table_prefix() const noexcept;

  struct Impl;

 private:
  explicit PostgresStateStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace pipeline::inline v0
