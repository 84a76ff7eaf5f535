#pragma once
/// @file
/// `SqliteStateStore`: the embedded, durable implementation of the `StateStore` port
/// (target `pipeline::sqlite`). No SQLite header leaks from here.

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "pipeline/core/state_store.hpp"

namespace pipeline::inline v0 {

/// How hard SQLite pushes each commit to disk (`PRAGMA synchronous`). The store always
/// runs in WAL mode; in WAL mode the levels survive:
enum class SqliteSynchronous {
  /// No fsync at all. Survives a process kill (the WAL is in the OS page cache), but a
  /// power loss or OS crash may lose recent commits **or corrupt the database**.
  kOff,
  /// The default. Survives a process kill (`kill -9`): committed transactions are in
  /// the WAL. On power loss or OS crash the last transactions may roll back (the WAL is
  /// fsynced only at checkpoints), but the database stays consistent.
  kNormal,
  /// fsync of the WAL on every commit: a committed transaction survives power loss and
  /// OS crashes, at the cost of one fsync per commit (~180 µs instead of ~28 µs here).
  kFull,
  /// Like `kFull`, and also fsyncs the directory after the WAL is reset, for the rare
  /// file systems where `kFull` alone could lose the last commit on power loss.
  kExtra,
};

/// Options of `SqliteStateStore::open`.
struct SqliteStateStoreOptions {
  SqliteSynchronous synchronous = SqliteSynchronous::kNormal;
  /// How long one attempt waits for another process's write lock (SQLite's busy timeout).
  std::chrono::milliseconds busy_timeout{2000};
  /// Further attempts after a busy timeout (with a short growing pause between them)
  /// before the call returns `kUnavailable`.
  int busy_retries = 4;
  /// Connections kept for read-only transactions (more are opened on demand and closed
  /// when the pool is full).
  std::size_t max_idle_readers = 4;
};

/// `StateStore` over one SQLite database file: the durable default for a single machine.
///
/// Rows live in table `rows(key TEXT PRIMARY KEY, value BLOB)`; outbox entries in table
/// `outbox(sequence INTEGER PRIMARY KEY, id TEXT UNIQUE, topic, payload BLOB, attributes
/// (JSON), lease_owner, lease_until, claims, sent, message_id)`, where `id` is the outbox
/// key and `message_id` the delivered id when it differs from the key (NULL otherwise).
/// Sent entries stay (marked sent), so a key is not enqueued twice, until `prune_outbox`.
///
/// The table layout's version is kept in `PRAGMA user_version` (currently 2). `open`
/// migrates an older file in place, in one transaction (layout 1, a file without a
/// version: `ALTER TABLE outbox ADD COLUMN message_id`), and refuses a file whose layout
/// is newer than this library's (`kFailedPrecondition`).
///
/// Write transactions run under `BEGIN IMMEDIATE` on the process's one writer connection,
/// serialized in-process by a mutex, so threads of one process never spin on SQLite's
/// busy handler; other processes opening the same file are serialized by SQLite's file
/// lock (busy timeout, then bounded retries). Read-only transactions run under a
/// deferred `BEGIN` on pooled reader connections and proceed in parallel with the writer
/// (WAL snapshot isolation). Every statement is prepared once per connection and reused;
/// every value is a bound parameter.
///
/// **Thread safety:** every member may be called from any thread. Several processes may
/// open the same file, each with its own `SqliteStateStore`; do not share one across
/// `fork()` (open a new one in the child). A body must not call back into the same store
/// from a write transaction (it returns `kFailedPrecondition`).
/// **Performance:** a single-row write transaction is ~3 statements plus the commit;
/// tens of thousands per second at `kNormal`, bounded by one fsync per commit at `kFull`.
/// **Errors:** `kInvalidArgument` (bad key, oversize value, bad outbox entry, bad path),
/// `kUnavailable` (file locked by another process past the busy retries, I/O error, disk
/// full, cannot open), `kDataLoss` (corrupt database), `kConflict` (the body kept
/// returning it), `kFailedPrecondition` (a file of a newer layout), `kInternal` (a body
/// threw, or SQLite misuse); messages carry SQLite's own text.
///
/// **Example:**
/// @code
///   auto store = pipeline::SqliteStateStore::open("state.db", {.synchronous = pipeline::SqliteSynchronous::kFull});
///   if (!store) return fail(store.error());
///   auto st = (*store)->transact([](pipeline::Transaction& tx) { return tx.put("runs/p1", "ok"); });
/// @endcode
class SqliteStateStore final : public StateStore {
 public:
  /// Opens (creating if needed) the database at `path`, switches it to WAL and creates
  /// the tables, or migrates an older layout. ":memory:" is refused (each connection
  /// would see its own database); a newer layout is `kFailedPrecondition`.
  static Result<std::unique_ptr<SqliteStateStore>> open(const std::string& path,
                                                        const SqliteStateStoreOptions& options = {});

  ~SqliteStateStore() override;
  SqliteStateStore(const SqliteStateStore&) = delete;
  SqliteStateStore& operator=(const SqliteStateStore&) = delete;

  Status transact(const Body& body, const TransactionOptions& options = {}) override;
  Result<std::vector<OutboxRow>> claim_outbox(const ClaimOutboxParams& params) override;
  Status complete_outbox(const std::vector<std::string>& keys) override;
  Result<std::size_t> pending_outbox() override;
  Result<std::size_t> prune_outbox(TimePoint before) override;
  Result<std::size_t> requeue_outbox(TimePoint since) override;

  /// The file this store was opened on.
  [[nodiscard]] const std::string& path() const noexcept;

  struct Impl;

 private:
  explicit SqliteStateStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace pipeline::inline v0
