#include "pipeline/sqlite/sqlite_state_store.hpp"

#include "pipeline/core/sql_transaction.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdint>
#include <exception>
#include <limits>
#include <mutex>
#include <thread>
#include <utility>


#include "sqlite_errors.hpp"

namespace pipeline::inline v0 {
namespace {

using sqlite_detail::is_busy;
using sqlite_detail::sqlite_error;

std::int64_t to_nanos(TimePoint t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

const char* synchronous_pragma(SqliteSynchronous s) {
  switch (s) {
    case SqliteSynchronous::kOff: return "PRAGMA synchronous=OFF";
    case SqliteSynchronous::kNormal: return "PRAGMA synchronous=NORMAL";
    case SqliteSynchronous::kFull: return "PRAGMA synchronous=FULL";
    case SqliteSynchronous::kExtra: return "PRAGMA synchronous=EXTRA";
  }
  return "PRAGMA synchronous=NORMAL";
}

// The layout version, kept in `PRAGMA user_version`. 0 is a file written before the
// version was kept: layout 1. Layout 2 added `outbox.message_id`.
constexpr int kSchemaVersion = 2;

// Layout 2 for a new file; on a layout-1 file only the index is new to it (a no-op).
constexpr const char* kSchema =
    "CREATE TABLE IF NOT EXISTS rows(key TEXT PRIMARY KEY NOT NULL, value BLOB NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS outbox("
    "  sequence INTEGER PRIMARY KEY,"  // the rowid: max + 1 on insert, so commit order
    "  id TEXT NOT NULL UNIQUE,"       // the outbox key
    "  topic TEXT NOT NULL,"
    "  payload BLOB NOT NULL,"
    "  attributes TEXT NOT NULL,"
    "  lease_owner TEXT,"
    "  lease_until INTEGER NOT NULL DEFAULT 0,"
    "  claims INTEGER NOT NULL DEFAULT 0,"
    "  sent INTEGER NOT NULL DEFAULT 0,"
    "  message_id TEXT);"              // the delivered id when it differs from the key
    "CREATE INDEX IF NOT EXISTS outbox_unsent ON outbox(sequence) WHERE sent = 0;";

// Layout 1 -> 2: the delivered id may differ from the outbox key (a replay).
constexpr const char* kMigrateTo2 = "ALTER TABLE outbox ADD COLUMN message_id TEXT";

enum Sql : std::size_t {
  kBeginImmediate,
  kBeginDeferred,
  kCommit,
  kRollback,
  kGet,
  kPut,
  kInsert,
  kErase,
  kScan,
  kEnqueue,
  kClaim,
  kComplete,
  kPending,
  kCountRows,
  kPrune,
  kRequeue,
  kSqlCount,
};

constexpr std::array<const char*, kSqlCount> kSqlText = {
    "BEGIN IMMEDIATE",
    "BEGIN",
    "COMMIT",
    "ROLLBACK",
    "SELECT value FROM rows WHERE key = ?1",
    "INSERT INTO rows(key, value) VALUES(?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
    "INSERT INTO rows(key, value) VALUES(?1, ?2) ON CONFLICT(key) DO NOTHING",
    "DELETE FROM rows WHERE key = ?1",
    "SELECT key, value FROM rows WHERE key >= ?1 AND key < ?2 AND key > ?3 ORDER BY key LIMIT ?4",
    "INSERT INTO outbox(id, topic, payload, attributes, message_id) VALUES(?1, ?2, ?3, ?4, ?5)"
    " ON CONFLICT(id) DO NOTHING",
    "UPDATE outbox SET lease_owner = ?1, lease_until = ?2, claims = claims + 1 WHERE sequence IN ("
    "  SELECT sequence FROM outbox WHERE sent = 0 AND (claims = 0 OR lease_until <= ?3) ORDER BY sequence LIMIT ?4)"
    " RETURNING sequence, id, topic, payload, attributes, claims, message_id",
    "UPDATE outbox SET sent = 1, lease_owner = NULL WHERE id = ?1 AND sent = 0",
    "SELECT count(*) FROM outbox WHERE sent = 0",
    "SELECT count(*) FROM rows WHERE key >= ?1 AND key < ?2",
    "DELETE FROM outbox WHERE sent = 1 AND lease_until < ?1",
    "UPDATE outbox SET sent = 0, lease_owner = NULL, lease_until = 0 WHERE sent = 1 AND lease_until >= ?1",
};

// Resets a cached statement and drops its bindings when the use ends.
class Use {
 public:
  explicit Use(sqlite3_stmt* s) : s_(s) {}
  ~Use() {
    sqlite3_reset(s_);
    sqlite3_clear_bindings(s_);
  }
  Use(const Use&) = delete;
  Use& operator=(const Use&) = delete;
  sqlite3_stmt* get() const { return s_; }

 private:
  sqlite3_stmt* s_;
};

int bind_text(sqlite3_stmt* s, int i, std::string_view v) {
  return sqlite3_bind_text64(s, i, v.empty() ? "" : v.data(), v.size(), SQLITE_STATIC, SQLITE_UTF8);
}
int bind_blob(sqlite3_stmt* s, int i, std::string_view v) {
  if (v.empty()) return sqlite3_bind_zeroblob(s, i, 0);
  return sqlite3_bind_blob64(s, i, v.data(), v.size(), SQLITE_STATIC);
}
std::string column_bytes(sqlite3_stmt* s, int i) {
  const void* p = sqlite3_column_blob(s, i);
  const int n = sqlite3_column_bytes(s, i);
  return p == nullptr ? std::string() : std::string(static_cast<const char*>(p), static_cast<std::size_t>(n));
}

// One SQLite connection with its prepared statements. Used by one thread at a time.
class Connection {
 public:
  ~Connection() {
    for (auto* s : stmts_) sqlite3_finalize(s);
    sqlite3_close_v2(db_);
  }

  static Result<std::unique_ptr<Connection>> open(const std::string& path, const SqliteStateStoreOptions& o,
                                                  bool create_schema) {
    auto c = std::unique_ptr<Connection>(new Connection(o));
    const int rc = sqlite3_open_v2(path.c_str(), &c->db_,
                                   SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
    if (rc != SQLITE_OK) {
      Error e = sqlite_error(c->db_, rc, fmt::format("opening '{}'", path));
      return fail(std::move(e));
    }
    sqlite3_busy_timeout(c->db_, static_cast<int>(o.busy_timeout.count()));
    if (create_schema) PIPELINE_TRY(c->exec_retrying("PRAGMA journal_mode=WAL"));
    PIPELINE_TRY(c->exec_retrying(synchronous_pragma(o.synchronous)));
    if (create_schema) {
      PIPELINE_TRY(c->exec_retrying("BEGIN IMMEDIATE"));
      if (auto st = c->create_or_migrate(path); !st) {
        // The migration's error is the one to report; the connection is closed on return.
        discard_result(c->exec("ROLLBACK"));
        return fail(st.error());
      }
      PIPELINE_TRY(c->exec_retrying("COMMIT"));
    }
    for (std::size_t i = 0; i < kSqlCount; ++i) {
      const int prc = sqlite3_prepare_v3(c->db_, kSqlText[i], -1, SQLITE_PREPARE_PERSISTENT, &c->stmts_[i], nullptr);
      if (prc != SQLITE_OK) return fail(sqlite_error(c->db_, prc, "preparing a statement"));
    }
    return c;
  }

  sqlite3* db() const { return db_; }

  // Inside the caller's write transaction, so concurrent openers migrate once.
  Status create_or_migrate(const std::string& path) {
    auto version = query_int("PRAGMA user_version");
    if (!version) return fail(version.error());
    if (*version > kSchemaVersion)
      return fail(ErrorCode::kFailedPrecondition,
                  "'{}' has state-store layout {}, newer than this library's {}; open it with a newer version", path,
                  *version, kSchemaVersion);
    auto had_outbox = query_int("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'outbox'");
    if (!had_outbox) return fail(had_outbox.error());
    PIPELINE_TRY(exec(kSchema));
    if (*had_outbox != 0 && *version < 2) PIPELINE_TRY(exec(kMigrateTo2));
    if (*version != kSchemaVersion) PIPELINE_TRY(exec(fmt::format("PRAGMA user_version = {}", kSchemaVersion).c_str()));
    return ok();
  }

  Result<std::int64_t> query_int(const char* sql) {
    sqlite3_stmt* s = nullptr;
    int rc = sqlite3_prepare_v2(db_, sql, -1, &s, nullptr);
    if (rc != SQLITE_OK) return fail(sqlite_error(db_, rc, sql));
    rc = sqlite3_step(s);
    const std::int64_t value = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
    sqlite3_finalize(s);
    if (rc != SQLITE_ROW) return fail(sqlite_error(db_, rc, sql));
    return value;
  }
  sqlite3_stmt* stmt(Sql which) const { return stmts_[which]; }

  Status exec(const char* sql) {
    const int rc = sqlite3_exec(db_, sql, nullptr, nullptr, nullptr);
    if (rc != SQLITE_OK) return fail(sqlite_error(db_, rc, sql));
    return ok();
  }

  // Runs a statement, repeating it after a busy timeout up to busy_retries times.
  Status exec_retrying(const char* sql) {
    for (int retry = 0;; ++retry) {
      const int rc = sqlite3_exec(db_, sql, nullptr, nullptr, nullptr);
      if (rc == SQLITE_OK) return ok();
      if (!is_busy(rc) || retry >= options_.busy_retries) {
        Error e = sqlite_error(db_, rc, sql);
        if (is_busy(rc)) e.message += fmt::format(" after {} retries", retry);
        return fail(std::move(e));
      }
      pause(retry);
    }
  }

  // Steps a cached statement without result rows (BEGIN/COMMIT/...), with busy retries.
  Status step_retrying(Sql which, const char* what) {
    for (int retry = 0;; ++retry) {
      int rc;
      {
        Use use(stmt(which));
        rc = sqlite3_step(use.get());
      }
      if (rc == SQLITE_DONE) return ok();
      if (!is_busy(rc) || retry >= options_.busy_retries) {
        Error e = sqlite_error(db_, rc, what);
        if (is_busy(rc)) e.message += fmt::format(" after {} retries", retry);
        return fail(std::move(e));
      }
      pause(retry);
    }
  }

  void rollback() {
    Use use(stmt(kRollback));
    (void)sqlite3_step(use.get());
  }

 private:
  explicit Connection(const SqliteStateStoreOptions& o) : options_(o) {}

  // A short growing pause between busy retries (each retry already waited busy_timeout).
  static void pause(int retry) {
    std::this_thread::sleep_for(std::chrono::milliseconds(std::min(1 << std::min(retry, 6), 50)));
  }

  SqliteStateStoreOptions options_;
  sqlite3* db_ = nullptr;
  std::array<sqlite3_stmt*, kSqlCount> stmts_{};
};

// The Transaction handed to a body; the first failed statement poisons it.
class SqliteTx final : public internal::PoisonableTransaction {
 public:
  SqliteTx(Connection& c, bool read_only) : PoisonableTransaction(read_only), c_(c) {}

  Result<std::optional<std::string>> get(std::string_view key) override {
    PIPELINE_TRY(usable());
    PIPELINE_TRY(validate_key(key));
    Use use(c_.stmt(kGet));
    bind_text(use.get(), 1, key);
    const int rc = sqlite3_step(use.get());
    if (rc == SQLITE_ROW) return std::optional<std::string>(column_bytes(use.get(), 0));
    if (rc == SQLITE_DONE) return std::optional<std::string>();
    return poison(rc, "reading a row");
  }

  Status put(std::string_view key, std::string_view value) override {
    PIPELINE_TRY(check_write(key, value));
    Use use(c_.stmt(kPut));
    bind_text(use.get(), 1, key);
    bind_blob(use.get(), 2, value);
    const int rc = sqlite3_step(use.get());
    if (rc != SQLITE_DONE) return poison(rc, "writing a row");
    return ok();
  }

  Result<bool> insert(std::string_view key, std::string_view value) override {
    PIPELINE_TRY(check_write(key, value));
    Use use(c_.stmt(kInsert));
    bind_text(use.get(), 1, key);
    bind_blob(use.get(), 2, value);
    const int rc = sqlite3_step(use.get());
    if (rc != SQLITE_DONE) return poison(rc, "inserting a row");
    return sqlite3_changes(c_.db()) == 1;
  }

  Result<bool> erase(std::string_view key) override {
    PIPELINE_TRY(check_write(key, {}));
    Use use(c_.stmt(kErase));
    bind_text(use.get(), 1, key);
    const int rc = sqlite3_step(use.get());
    if (rc != SQLITE_DONE) return poison(rc, "deleting a row");
    return sqlite3_changes(c_.db()) == 1;
  }

  Result<std::vector<Row>> scan(std::string_view prefix, const ScanOptions& options) override {
    PIPELINE_TRY(usable());
    PIPELINE_TRY(validate_prefix(prefix));
    std::vector<Row> out;
    if (options.limit == 0) return out;
    // Keys are printable ASCII (<= 0x7E), so prefix + 0x7F bounds every key with that prefix.
    std::string upper(prefix);
    upper.push_back('\x7F');
    Use use(c_.stmt(kScan));
    bind_text(use.get(), 1, prefix);
    bind_text(use.get(), 2, upper);
    bind_text(use.get(), 3, options.start_after);
    const auto max64 = static_cast<std::size_t>(std::numeric_limits<std::int64_t>::max());
    sqlite3_bind_int64(use.get(), 4, options.limit >= max64 ? -1 : static_cast<std::int64_t>(options.limit));
    for (;;) {
      const int rc = sqlite3_step(use.get());
      if (rc == SQLITE_DONE) break;
      if (rc != SQLITE_ROW) return poison(rc, "scanning rows");
      out.push_back(Row{column_bytes(use.get(), 0), column_bytes(use.get(), 1)});
    }
    return out;
  }

  // Counted by SQLite over the primary-key range: no row is copied out (the default
  // Transaction::count would scan and copy every row with the prefix).
  Result<std::size_t> count(std::string_view prefix) override {
    PIPELINE_TRY(usable());
    if (!prefix.empty()) PIPELINE_TRY(validate_key(prefix));
    std::string upper(prefix);
    upper.push_back('\x7F');
    Use use(c_.stmt(kCountRows));
    bind_text(use.get(), 1, prefix);
    bind_text(use.get(), 2, upper);
    const int rc = sqlite3_step(use.get());
    if (rc != SQLITE_ROW) return poison(rc, "counting rows");
    return static_cast<std::size_t>(sqlite3_column_int64(use.get(), 0));
  }

  Result<bool> enqueue(OutboxMessage entry) override {
    PIPELINE_TRY(check_enqueue(entry));
    const std::string attrs_text = internal::encode_outbox_attributes(entry.message.attributes);
    Use use(c_.stmt(kEnqueue));
    bind_text(use.get(), 1, entry.outbox_key());
    bind_text(use.get(), 2, entry.topic);
    bind_blob(use.get(), 3, entry.message.payload);
    bind_text(use.get(), 4, attrs_text);
    // NULL: the delivered id is the key (every entry of a layout-1 file reads so).
    if (entry.key.empty() || entry.key == entry.message.id)
      sqlite3_bind_null(use.get(), 5);
    else
      bind_text(use.get(), 5, entry.message.id);
    const int rc = sqlite3_step(use.get());
    if (rc != SQLITE_DONE) return poison(rc, "enqueueing an outbox entry");
    return sqlite3_changes(c_.db()) == 1;
  }

 private:
  tl::unexpected<Error> poison(int rc, std::string_view what) {
    return PoisonableTransaction::poison(sqlite_error(c_.db(), rc, what));
  }

  Connection& c_;
};

Status run_body(const StateStore::Body& body, Transaction& tx) {
  try {
    return body(tx);
  } catch (const std::exception& e) {
    return fail(ErrorCode::kInternal, "transaction body threw: {}", e.what());
  } catch (...) {
    return fail(ErrorCode::kInternal, "transaction body threw a non-standard exception");
  }
}

}  // namespace

struct SqliteStateStore::Impl {
  std::string path;
  SqliteStateStoreOptions options;

  // All writes of this process go through one connection, one at a time: threads queue
  // on this mutex instead of polling SQLite's file lock.
  std::mutex write_mu;
  std::unique_ptr<Connection> writer;
  std::atomic<std::thread::id> writer_thread{};

  std::mutex pool_mu;
  std::vector<std::unique_ptr<Connection>> readers;

  Status reentrant_check() const {
    if (writer_thread.load(std::memory_order_acquire) == std::this_thread::get_id())
      return fail(ErrorCode::kFailedPrecondition,
                  "SqliteStateStore called from inside one of its own write transactions");
    return ok();
  }

  // Runs `fn(writer)` with the write mutex held and the current thread marked.
  template <class Fn>
  auto with_writer(Fn&& fn) -> decltype(fn(*writer)) {
    PIPELINE_TRY(reentrant_check());
    std::lock_guard lock(write_mu);
    writer_thread.store(std::this_thread::get_id(), std::memory_order_release);
    struct Unmark {
      std::atomic<std::thread::id>& t;
      ~Unmark() { t.store(std::thread::id{}, std::memory_order_release); }
    } unmark{writer_thread};
    return fn(*writer);
  }

  Result<std::unique_ptr<Connection>> acquire_reader() {
    {
      std::lock_guard lock(pool_mu);
      if (!readers.empty()) {
        auto c = std::move(readers.back());
        readers.pop_back();
        return c;
      }
    }
    return Connection::open(path, options, false);
  }
  void release_reader(std::unique_ptr<Connection> c) {
    std::lock_guard lock(pool_mu);
    if (readers.size() < options.max_idle_readers) readers.push_back(std::move(c));
  }

  Status write_transaction(const Body& body, int attempts) {
    return with_writer([&](Connection& c) -> Status {
      for (int attempt = 1;; ++attempt) {
        PIPELINE_TRY(c.step_retrying(kBeginImmediate, "BEGIN IMMEDIATE"));
        SqliteTx tx(c, false);
        Status st = run_body(body, tx);
        if (st && tx.failure()) st = fail(*tx.failure());
        if (st) {
          if (auto committed = c.step_retrying(kCommit, "COMMIT"); !committed) {
            c.rollback();
            return committed;
          }
          return ok();
        }
        c.rollback();
        if (st.error().code != ErrorCode::kConflict) return st;
        if (attempt >= attempts) {
          Error e = st.error();
          e.message = fmt::format("transaction gave up after {} attempts: {}", attempts, e.message);
          return fail(std::move(e));
        }
      }
    });
  }

  Status read_transaction(const Body& body, int attempts) {
    auto conn = acquire_reader();
    if (!conn) return fail(conn.error());
    Connection& c = **conn;
    Status result;
    for (int attempt = 1;; ++attempt) {
      if (auto begun = c.step_retrying(kBeginDeferred, "BEGIN"); !begun) {
        result = begun;
        break;
      }
      SqliteTx tx(c, true);
      Status st = run_body(body, tx);
      if (st && tx.failure()) st = fail(*tx.failure());
      if (st) {
        result = c.step_retrying(kCommit, "COMMIT");
        if (!result) c.rollback();
        break;
      }
      c.rollback();
      if (st.error().code != ErrorCode::kConflict || attempt >= attempts) {
        result = st;
        if (!st && st.error().code == ErrorCode::kConflict)
          result = fail(ErrorCode::kConflict, "transaction gave up after {} attempts: {}", attempts,
                        st.error().message);
        break;
      }
    }
    release_reader(std::move(*conn));
    return result;
  }
};

SqliteStateStore::SqliteStateStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SqliteStateStore::~SqliteStateStore() = default;

Result<std::unique_ptr<SqliteStateStore>> SqliteStateStore::open(const std::string& path,
                                                                 const SqliteStateStoreOptions& options) {
  if (path.empty() || path == ":memory:" || path.rfind("file::memory:", 0) == 0)
    return fail(ErrorCode::kInvalidArgument, "SqliteStateStore needs a database file path, got '{}'", path);
  if (sqlite3_threadsafe() == 0)
    return fail(ErrorCode::kFailedPrecondition, "the linked SQLite library was built without thread support");
  auto impl = std::make_unique<Impl>();
  impl->path = path;
  impl->options = options;
  auto writer = Connection::open(path, options, true);
  if (!writer) return fail(writer.error());
  impl->writer = std::move(*writer);
  return std::unique_ptr<SqliteStateStore>(new SqliteStateStore(std::move(impl)));
}

const std::string& SqliteStateStore::path() const noexcept { return impl_->path; }

Status SqliteStateStore::transact(const Body& body, const TransactionOptions& options) {
  const int attempts = options.max_attempts < 1 ? 1 : options.max_attempts;
  return options.read_only ? impl_->read_transaction(body, attempts) : impl_->write_transaction(body, attempts);
}

Result<std::vector<OutboxRow>> SqliteStateStore::claim_outbox(const ClaimOutboxParams& params) {
  return impl_->with_writer([&](Connection& c) -> Result<std::vector<OutboxRow>> {
    std::vector<OutboxRow> out;
    if (params.max == 0) return out;
    PIPELINE_TRY(c.step_retrying(kBeginImmediate, "BEGIN IMMEDIATE"));
    {
      Use use(c.stmt(kClaim));
      bind_text(use.get(), 1, params.owner);
      sqlite3_bind_int64(use.get(), 2, to_nanos(params.now + params.lease));
      sqlite3_bind_int64(use.get(), 3, to_nanos(params.now));
      const auto max64 = static_cast<std::size_t>(std::numeric_limits<std::int64_t>::max());
      sqlite3_bind_int64(use.get(), 4, params.max >= max64 ? -1 : static_cast<std::int64_t>(params.max));
      for (;;) {
        const int rc = sqlite3_step(use.get());
        if (rc == SQLITE_DONE) break;
        if (rc != SQLITE_ROW) {
          Error e = sqlite_error(c.db(), rc, "claiming outbox entries");
          sqlite3_reset(use.get());
          c.rollback();
          return fail(std::move(e));
        }
        OutboxRow row;
        row.sequence = sqlite3_column_int64(use.get(), 0);
        row.entry.message.id = column_bytes(use.get(), 1);
        if (sqlite3_column_type(use.get(), 6) != SQLITE_NULL) {
          row.entry.key = std::move(row.entry.message.id);
          row.entry.message.id = column_bytes(use.get(), 6);
        }
        row.entry.topic = column_bytes(use.get(), 2);
        row.entry.message.payload = column_bytes(use.get(), 3);
        auto attrs = internal::decode_outbox_attributes(column_bytes(use.get(), 4), row.entry.outbox_key());
        if (!attrs) {
          sqlite3_reset(use.get());
          c.rollback();
          return fail(attrs.error());
        }
        row.entry.message.attributes = std::move(*attrs);
        row.claims = static_cast<int>(sqlite3_column_int64(use.get(), 5));
        out.push_back(std::move(row));
      }
    }
    if (auto committed = c.step_retrying(kCommit, "COMMIT"); !committed) {
      c.rollback();
      return fail(committed.error());
    }
    // RETURNING gives no order guarantee; relays publish in commit order.
    std::sort(out.begin(), out.end(), [](const OutboxRow& a, const OutboxRow& b) { return a.sequence < b.sequence; });
    return out;
  });
}

Status SqliteStateStore::complete_outbox(const std::vector<std::string>& keys) {
  if (keys.empty()) return ok();
  return impl_->with_writer([&](Connection& c) -> Status {
    PIPELINE_TRY(c.step_retrying(kBeginImmediate, "BEGIN IMMEDIATE"));
    for (const auto& key : keys) {
      Use use(c.stmt(kComplete));
      bind_text(use.get(), 1, key);
      const int rc = sqlite3_step(use.get());
      if (rc != SQLITE_DONE) {
        Error e = sqlite_error(c.db(), rc, "completing outbox entries");
        sqlite3_reset(use.get());
        c.rollback();
        return fail(std::move(e));
      }
    }
    if (auto committed = c.step_retrying(kCommit, "COMMIT"); !committed) {
      c.rollback();
      return committed;
    }
    return ok();
  });
}

namespace {

// One statement on the writer in its own transaction, with a time bound; returns the
// rows it changed.
Result<std::size_t> change_outbox(Connection& c, Sql sql, TimePoint bound, const char* what) {
  PIPELINE_TRY(c.step_retrying(kBeginImmediate, "BEGIN IMMEDIATE"));
  {
    Use use(c.stmt(sql));
    sqlite3_bind_int64(use.get(), 1, to_nanos(bound));
    const int rc = sqlite3_step(use.get());
    if (rc != SQLITE_DONE) {
      Error e = sqlite_error(c.db(), rc, what);
      sqlite3_reset(use.get());
      c.rollback();
      return fail(std::move(e));
    }
  }
  const auto changed = static_cast<std::size_t>(sqlite3_changes64(c.db()));
  if (auto committed = c.step_retrying(kCommit, "COMMIT"); !committed) {
    c.rollback();
    return fail(committed.error());
  }
  return changed;
}

}  // namespace

Result<std::size_t> SqliteStateStore::prune_outbox(TimePoint before) {
  return impl_->with_writer(
      [&](Connection& c) { return change_outbox(c, kPrune, before, "pruning sent outbox entries"); });
}

Result<std::size_t> SqliteStateStore::requeue_outbox(TimePoint since) {
  return impl_->with_writer(
      [&](Connection& c) { return change_outbox(c, kRequeue, since, "requeueing sent outbox entries"); });
}

Result<std::size_t> SqliteStateStore::pending_outbox() {
  auto conn = impl_->acquire_reader();
  if (!conn) return fail(conn.error());
  Result<std::size_t> out = std::size_t{0};
  {
    Use use((*conn)->stmt(kPending));
    const int rc = sqlite3_step(use.get());
    if (rc == SQLITE_ROW)
      out = static_cast<std::size_t>(sqlite3_column_int64(use.get(), 0));
    else
      out = fail(sqlite_error((*conn)->db(), rc, "counting pending outbox entries"));
  }
  impl_->release_reader(std::move(*conn));
  return out;
}

}  // namespace pipeline::inline v0
