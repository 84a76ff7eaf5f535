#include "pipeline/postgres/postgres_state_store.hpp"

#include "pipeline/core/sql_transaction.hpp"
#include "pipeline/core/uri_parameter.hpp"

#include <libpq-fe.h>

#include <algorithm>
#include <array>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <exception>
#include <limits>
#include <mutex>
#include <optional>
#include <random>
#include <thread>
#include <utility>

#include <fmt/format.h>

namespace pipeline::inline v0 {
namespace {

std::int64_t to_nanos(TimePoint t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

// ---- errors ---------------------------------------------------------------------------

bool is_conflict_state(std::string_view s) { return s == "40001" || s == "40P01"; }

// SQLSTATE classes as the library's codes: what a retry may fix is kUnavailable or
// kConflict, bad input kInvalidArgument, reported corruption kDataLoss.
ErrorCode code_of_state(std::string_view s) {
  if (is_conflict_state(s)) return ErrorCode::kConflict;
  if (s.size() != 5) return ErrorCode::kUnavailable;  // no SQLSTATE: the connection failed
  const std::string_view cls = s.substr(0, 2);
  if (cls == "08" || cls == "53" || cls == "28" || cls == "57" || cls == "58" || s == "3D000")
    return ErrorCode::kUnavailable;
  if (cls == "22" || s == "54000") return ErrorCode::kInvalidArgument;
  if (s == "XX001" || s == "XX002") return ErrorCode::kDataLoss;
  return ErrorCode::kInternal;
}

using ResultPtr = std::unique_ptr<PGresult, decltype(&PQclear)>;

// "postgres: <what> failed: <server message> (SQLSTATE s)". libpq never puts the password
// in its messages.
Error pg_error(PGconn* conn, const PGresult* res, std::string_view what) {
  const char* state = res != nullptr ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : nullptr;
  const char* primary = res != nullptr ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : nullptr;
  std::string text = primary != nullptr ? primary : (conn != nullptr ? PQerrorMessage(conn) : "no connection");
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  const bool broken = conn == nullptr || PQstatus(conn) != CONNECTION_OK;
  if (state == nullptr || broken) {
    return Error{ErrorCode::kUnavailable,
                 fmt::format("postgres: {} failed: {}{}", what, broken ? "connection lost: " : "", text),
                 {}};
  }
  return Error{code_of_state(state), fmt::format("postgres: {} failed: {} (SQLSTATE {})", what, text, state), {}};
}

// ---- statements -----------------------------------------------------------------------

enum Sql : std::size_t {
  kBeginWrite,
  kBeginRead,
  kBeginRelay,
  kRelayCommitAsync,
  kLockTables,
  kCommit,
  kRollback,
  kGet,
  kPut,
  kInsert,
  kErase,
  kScan,
  kCount,
  kEnqueue,
  kClaim,
  kComplete,
  kPending,
  kPrune,
  kRequeue,
  kSqlCount,
};

// The type of each parameter (OIDs of the built-in types), so binary values need no casts.
constexpr Oid kText = 25, kBytea = 17, kInt8 = 20;

struct Statement {
  std::string text;
  std::vector<Oid> types;
};

// The table names, validated and quoted.
struct Tables {
  std::string rows, outbox, schema, outbox_unsent;
};

std::array<Statement, kSqlCount> statements(const Tables& t) {
  // Keys are printable ASCII (<= 0x7E), so [prefix, prefix + 0x7F) is every key with the
  // prefix; under COLLATE "C" that range is a range of the primary key.
  return {{
      {"BEGIN ISOLATION LEVEL SERIALIZABLE", {}},
      {"BEGIN ISOLATION LEVEL SERIALIZABLE READ ONLY", {}},
      // The relay's claim and mark: READ COMMITTED (the session's level), and committed
      // without waiting for the WAL flush (see Connection::run_relay_statement).
      {"BEGIN", {}},
      {"SET LOCAL synchronous_commit TO off", {}},
      // Before the transaction's first query, so its snapshot is taken once it holds the
      // lock: no write of another transaction can then conflict with it.
      {fmt::format("LOCK TABLE {}, {} IN SHARE ROW EXCLUSIVE MODE", t.rows, t.outbox), {}},
      {"COMMIT", {}},
      {"ROLLBACK", {}},
      {fmt::format("SELECT value FROM {} WHERE key = $1", t.rows), {kText}},
      {fmt::format("INSERT INTO {} (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
                   t.rows),
       {kText, kBytea}},
      {fmt::format("INSERT INTO {} (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING", t.rows), {kText, kBytea}},
      {fmt::format("DELETE FROM {} WHERE key = $1", t.rows), {kText}},
      {fmt::format("SELECT key, value FROM {} WHERE key >= $1 AND key < $2 AND key > $3 ORDER BY key LIMIT $4", t.rows),
       {kText, kText, kText, kInt8}},
      {fmt::format("SELECT count(*) FROM {} WHERE key >= $1 AND key < $2", t.rows), {kText, kText}},
      {fmt::format("INSERT INTO {} (id, topic, payload, attributes, message_id) VALUES ($1, $2, $3, $4, $5)"
                   " ON CONFLICT (id) DO NOTHING",
                   t.outbox),
       {kText, kText, kBytea, kText, kText}},
      {fmt::format("WITH c AS (SELECT sequence FROM {0} WHERE NOT sent AND (claims = 0 OR lease_until <= $3)"
                   " ORDER BY sequence LIMIT $4 FOR UPDATE SKIP LOCKED)"
                   " UPDATE {0} o SET lease_owner = $1, lease_until = $2, claims = o.claims + 1 FROM c"
                   " WHERE o.sequence = c.sequence"
                   " RETURNING o.sequence, o.id, o.topic, o.payload, o.attributes, o.claims::int8, o.message_id",
                   t.outbox),
       {kText, kInt8, kInt8, kInt8}},
      // The keys, joined by '\n' (no outbox key contains one): one statement for any number.
      {fmt::format("UPDATE {} SET sent = true, lease_owner = NULL, sent_at = now()"
                   " WHERE id = ANY (string_to_array($1, E'\\n')) AND NOT sent",
                   t.outbox),
       {kText}},
      {fmt::format("SELECT count(*) FROM {} WHERE NOT sent", t.outbox), {}},
      {fmt::format("DELETE FROM {} WHERE sent AND lease_until < $1", t.outbox), {kInt8}},
      {fmt::format("UPDATE {} SET sent = false, sent_at = NULL, lease_owner = NULL, lease_until = 0"
                   " WHERE sent AND lease_until >= $1",
                   t.outbox),
       {kInt8}},
  }};
}

// The statements that take schema version `from` to `from + 1` (0 = no tables yet).
std::vector<std::string> migration(std::size_t from, const Tables& t) {
  switch (from) {
    case 0:
      return {
          fmt::format("CREATE TABLE {} (key text COLLATE \"C\" PRIMARY KEY, value bytea NOT NULL)", t.rows),
          fmt::format("CREATE TABLE {} ("
                      " sequence bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
                      " id text COLLATE \"C\" NOT NULL UNIQUE,"
                      " message_id text,"
                      " topic text NOT NULL,"
                      " payload bytea NOT NULL,"
                      " attributes text NOT NULL,"
                      " lease_owner text,"
                      " lease_until bigint NOT NULL DEFAULT 0,"
                      " claims integer NOT NULL DEFAULT 0,"
                      " sent boolean NOT NULL DEFAULT false,"
                      " sent_at timestamptz)",
                      t.outbox),
          fmt::format("CREATE INDEX {} ON {} (sequence) WHERE NOT sent", t.outbox_unsent, t.outbox),
          fmt::format("CREATE TABLE {} (singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),"
                      " version integer NOT NULL)",
                      t.schema),
          fmt::format("INSERT INTO {} (version) VALUES (0)", t.schema),
      };
    default:
      return {};
  }
}

// ---- binary parameters and results ----------------------------------------------------

class Params {
 public:
  void text(std::string_view v) { add(v.empty() ? "" : v.data(), v.size()); }
  void bytes(std::string_view v) { text(v); }
  void null() {
    values_.push_back(nullptr);
    lengths_.push_back(0);
    formats_.push_back(1);
  }
  void int8(std::int64_t v) {
    auto& buf = ints_[ints_used_++];
    const auto u = static_cast<std::uint64_t>(v);
    for (int i = 0; i < 8; ++i) buf[static_cast<std::size_t>(i)] = static_cast<char>((u >> (56 - 8 * i)) & 0xFF);
    add(buf.data(), 8);
  }
  int size() const { return static_cast<int>(values_.size()); }
  const char* const* values() const { return values_.data(); }
  const int* lengths() const { return lengths_.data(); }
  const int* formats() const { return formats_.data(); }

 private:
  void add(const char* p, std::size_t n) {
    values_.push_back(p);
    lengths_.push_back(static_cast<int>(n));
    formats_.push_back(1);
  }
  std::vector<const char*> values_;
  std::vector<int> lengths_;
  std::vector<int> formats_;
  std::array<std::array<char, 8>, 4> ints_{};
  std::size_t ints_used_ = 0;
};

std::string bytes_at(const PGresult* r, int row, int col) {
  return std::string(PQgetvalue(r, row, col), static_cast<std::size_t>(PQgetlength(r, row, col)));
}

std::int64_t int8_at(const PGresult* r, int row, int col) {
  const auto* p = reinterpret_cast<const unsigned char*>(PQgetvalue(r, row, col));
  std::uint64_t u = 0;
  for (int i = 0; i < 8; ++i) u = (u << 8) | p[i];
  return static_cast<std::int64_t>(u);
}

std::size_t changed_rows(const PGresult* r) { return static_cast<std::size_t>(std::strtoull(PQcmdTuples(const_cast<PGresult*>(r)), nullptr, 10)); }

// ---- connections ------------------------------------------------------------------------

// One server connection with its prepared statements; used by one thread at a time.
class Connection {
 public:
  explicit Connection(PGconn* c) : c_(c) {}
  ~Connection() { PQfinish(c_); }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  PGconn* get() const { return c_; }
  bool broken() const { return PQstatus(c_) != CONNECTION_OK; }

  Result<ResultPtr> run(Sql which, const Params& p, ExecStatusType expected, std::string_view what) {
    ResultPtr r(PQexecPrepared(c_, name(which), p.size(), p.values(), p.lengths(), p.formats(), 1), &PQclear);
    if (r == nullptr || PQresultStatus(r.get()) != expected) return fail(pg_error(c_, r.get(), what));
    return r;
  }
  Result<ResultPtr> run(Sql which, ExecStatusType expected, std::string_view what) {
    return run(which, Params{}, expected, what);
  }

  // Plain statements of the schema setup (no parameters to splice).
  Status exec(const std::string& sql, std::string_view what) {
    ResultPtr r(PQexec(c_, sql.c_str()), &PQclear);
    if (r == nullptr || (PQresultStatus(r.get()) != PGRES_COMMAND_OK && PQresultStatus(r.get()) != PGRES_TUPLES_OK))
      return fail(pg_error(c_, r.get(), what));
    return ok();
  }

  Status prepare_all(const std::array<Statement, kSqlCount>& stmts) {
    for (std::size_t i = 0; i < kSqlCount; ++i) {
      const auto& s = stmts[i];
      ResultPtr r(PQprepare(c_, name(static_cast<Sql>(i)), s.text.c_str(), static_cast<int>(s.types.size()),
                            s.types.empty() ? nullptr : s.types.data()),
                  &PQclear);
      if (r == nullptr || PQresultStatus(r.get()) != PGRES_COMMAND_OK)
        return fail(pg_error(c_, r.get(), "preparing a statement"));
    }
    return ok();
  }

  void rollback() {
    if (!broken()) ResultPtr(PQexecPrepared(c_, name(kRollback), 0, nullptr, nullptr, nullptr, 1), &PQclear);
  }

  // Runs `which` in its own transaction that commits without waiting for the WAL flush
  // (synchronous_commit off for it alone), all in one round trip (libpq's pipeline mode):
  // BEGIN, SET LOCAL, the statement, COMMIT. For the relay's leases and sent marks only: a
  // crash may lose the last of them, which leaves entries claimable and unsent, so they
  // are published again under the same ids — at least once, as the outbox promises — while
  // every transaction that decides or enqueues still waits for its flush. Returns the
  // statement's result; on any error the transaction is rolled back.
  Result<ResultPtr> run_relay_statement(Sql which, const Params& p, ExecStatusType expected, std::string_view what) {
    if (PQenterPipelineMode(c_) != 1) return fail(pg_error(c_, nullptr, what));
    const std::array<Sql, 4> steps{kBeginRelay, kRelayCommitAsync, which, kCommit};
    bool sent = true;
    for (Sql step : steps) {
      const bool with_params = step == which;
      sent = sent && PQsendQueryPrepared(c_, name(step), with_params ? p.size() : 0, with_params ? p.values() : nullptr,
                                         with_params ? p.lengths() : nullptr, with_params ? p.formats() : nullptr,
                                         1) == 1;
    }
    sent = sent && PQpipelineSync(c_) == 1;
    std::optional<Error> error;
    ResultPtr out(nullptr, &PQclear);
    if (!sent) error = pg_error(c_, nullptr, what);
    // Every step's result (then a null), then the sync's — unless the connection broke.
    for (std::size_t i = 0; sent && i <= steps.size(); ++i) {
      ResultPtr r(PQgetResult(c_), &PQclear);
      if (r == nullptr) {
        error = pg_error(c_, nullptr, what);
        break;
      }
      const ExecStatusType status = PQresultStatus(r.get());
      if (i == steps.size()) {
        if (status != PGRES_PIPELINE_SYNC && !error) error = pg_error(c_, r.get(), what);
        break;
      }
      const ExecStatusType wanted = steps[i] == which ? expected : PGRES_COMMAND_OK;
      if (status != wanted && !error) error = pg_error(c_, r.get(), what);
      if (steps[i] == which && status == expected) out = std::move(r);
      while (ResultPtr(PQgetResult(c_), &PQclear) != nullptr) {
      }
    }
    if (PQexitPipelineMode(c_) != 1 && !error) error = pg_error(c_, nullptr, what);
    if (error) {
      rollback();  // an error inside the block leaves it aborted until ROLLBACK
      return fail(std::move(*error));
    }
    return out;
  }

 private:
  static const char* name(Sql which) {
    static constexpr std::array<const char*, kSqlCount> kNames = {
        "b_w", "b_r", "b_rl", "async", "lck", "com", "rb",  "get", "put",
        "ins", "del", "scn",  "cnt",   "enq", "clm", "cpl", "pnd", "prn", "rq"};
    return kNames[which];
  }
  PGconn* c_;
};

// The Transaction handed to a body; the first failed statement poisons it.
class PgTx final : public internal::PoisonableTransaction {
 public:
  PgTx(Connection& c, bool read_only) : PoisonableTransaction(read_only), c_(c) {}

  Result<std::optional<std::string>> get(std::string_view key) override {
    PIPELINE_TRY(usable());
    PIPELINE_TRY(validate_key(key));
    Params p;
    p.text(key);
    auto r = run(kGet, p, PGRES_TUPLES_OK, "reading a row");
    if (!r) return fail(r.error());
    if (PQntuples(r->get()) == 0) return std::optional<std::string>();
    return std::optional<std::string>(bytes_at(r->get(), 0, 0));
  }

  Status put(std::string_view key, std::string_view value) override {
    PIPELINE_TRY(check_write(key, value));
    Params p;
    p.text(key);
    p.bytes(value);
    return run(kPut, p, PGRES_COMMAND_OK, "writing a row").map([](ResultPtr) {});
  }

  Result<bool> insert(std::string_view key, std::string_view value) override {
    PIPELINE_TRY(check_write(key, value));
    Params p;
    p.text(key);
    p.bytes(value);
    return run(kInsert, p, PGRES_COMMAND_OK, "inserting a row").map([](ResultPtr r) {
      return changed_rows(r.get()) == 1;
    });
  }

  Result<bool> erase(std::string_view key) override {
    PIPELINE_TRY(check_write(key, {}));
    Params p;
    p.text(key);
    return run(kErase, p, PGRES_COMMAND_OK, "deleting a row").map([](ResultPtr r) {
      return changed_rows(r.get()) == 1;
    });
  }

  Result<std::vector<Row>> scan(std::string_view prefix, const ScanOptions& options) override {
    PIPELINE_TRY(usable());
    PIPELINE_TRY(validate_prefix(prefix));
    std::vector<Row> out;
    if (options.limit == 0) return out;
    const std::string upper = std::string(prefix) + '\x7F';
    Params p;
    p.text(prefix);
    p.text(upper);
    p.text(options.start_after);
    const auto max64 = static_cast<std::size_t>(std::numeric_limits<std::int64_t>::max());
    if (options.limit >= max64)
      p.null();  // LIMIT NULL: no limit
    else
      p.int8(static_cast<std::int64_t>(options.limit));
    auto r = run(kScan, p, PGRES_TUPLES_OK, "scanning rows");
    if (!r) return fail(r.error());
    const int n = PQntuples(r->get());
    out.reserve(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) out.push_back(Row{bytes_at(r->get(), i, 0), bytes_at(r->get(), i, 1)});
    return out;
  }

  // Counted by the server over the primary-key range; no row is copied out.
  Result<std::size_t> count(std::string_view prefix) override {
    PIPELINE_TRY(usable());
    PIPELINE_TRY(validate_prefix(prefix));
    const std::string upper = std::string(prefix) + '\x7F';
    Params p;
    p.text(prefix);
    p.text(upper);
    auto r = run(kCount, p, PGRES_TUPLES_OK, "counting rows");
    if (!r) return fail(r.error());
    return static_cast<std::size_t>(int8_at(r->get(), 0, 0));
  }

  Result<bool> enqueue(OutboxMessage entry) override {
    PIPELINE_TRY(check_enqueue(entry));
    const std::string attrs_text = internal::encode_outbox_attributes(entry.message.attributes);
    Params p;
    p.text(entry.outbox_key());
    p.text(entry.topic);
    p.bytes(entry.message.payload);
    p.text(attrs_text);
    // NULL: the delivered id is the key.
    if (entry.key.empty() || entry.key == entry.message.id)
      p.null();
    else
      p.text(entry.message.id);
    return run(kEnqueue, p, PGRES_COMMAND_OK, "enqueueing an outbox entry").map([](ResultPtr r) {
      return changed_rows(r.get()) == 1;
    });
  }

 private:
  Result<ResultPtr> run(Sql which, const Params& p, ExecStatusType expected, std::string_view what) {
    auto r = c_.run(which, p, expected, what);
    if (!r) return poison(r.error());
    return r;
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

// ---- connection strings -------------------------------------------------------------

Status validate_prefix_name(const std::string& prefix) {
  if (prefix.size() > 32)
    return fail(ErrorCode::kInvalidArgument, "table prefix '{}' is longer than 32 bytes", prefix.substr(0, 40));
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    const char c = prefix[i];
    const bool ok = (c >= 'a' && c <= 'z') || c == '_' || (i > 0 && c >= '0' && c <= '9');
    if (!ok)
      return fail(ErrorCode::kInvalidArgument,
                  "table prefix '{}' must match [a-z_][a-z0-9_]* (lower-case letters, digits, underscores)", prefix);
  }
  return ok();
}

// Takes a `table_prefix` query parameter out of a URI (libpq refuses parameters it does
// not know); a key=value connection string has none.
std::optional<std::string> take_table_prefix(std::string& conninfo) {
  if (conninfo.rfind("postgresql://", 0) != 0 && conninfo.rfind("postgres://", 0) != 0) return std::nullopt;
  return internal::take_uri_parameter(conninfo, "table_prefix");
}

std::uint64_t fnv1a(std::string_view s) {
  std::uint64_t h = 14695981039346656037ull;
  for (char c : s) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ull;
  }
  return h;
}

}  // namespace

struct PostgresStateStore::Impl {
  std::string conninfo;
  PostgresStateStoreOptions options;
  Tables tables;
  std::array<Statement, kSqlCount> sql;

  std::mutex mu;
  std::condition_variable freed;
  std::vector<std::unique_ptr<Connection>> idle;
  std::size_t open_count = 0;

  // A connection from the pool; `reused` tells a stale one (its server restarted since)
  // from a fresh one, so a broken reused connection is replaced without an error.
  struct Lease {
    std::unique_ptr<Connection> conn;
    bool reused = false;
  };

  Result<std::unique_ptr<Connection>> connect() const {
    const std::string timeout =
        std::to_string(std::max<long long>(2, (options.connect_timeout.count() + 999) / 1000));
    // The application name says which pipeline a server-side session belongs to.
    const std::string application = "pipeline:" + options.table_prefix;
    const char* keys[] = {"dbname", "connect_timeout", "application_name", nullptr};
    const char* values[] = {conninfo.c_str(), timeout.c_str(), application.c_str(), nullptr};
    auto c = std::make_unique<Connection>(PQconnectdbParams(keys, values, 1));
    if (c->get() == nullptr) return fail(ErrorCode::kUnavailable, "postgres: out of memory opening a connection");
    if (c->broken()) {
      // libpq's text spans lines (a hint after a tab): one line for logs and stderr.
      std::string msg;
      for (const char* p = PQerrorMessage(c->get()); *p != '\0'; ++p) {
        const bool space = *p == '\n' || *p == '\t' || *p == ' ';
        if (!space) msg.push_back(*p);
        else if (!msg.empty() && msg.back() != ' ') msg.push_back(' ');
      }
      while (!msg.empty() && msg.back() == ' ') msg.pop_back();
      return fail(ErrorCode::kUnavailable, "postgres: cannot connect: {}", msg);
    }
    // A library never writes to the process's stderr: the server's notices are dropped
    // (its errors come back as Errors).
    PQsetNoticeProcessor(c->get(), [](void*, const char*) {}, nullptr);
    PIPELINE_TRY(c->exec("SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL READ COMMITTED",
                         "setting the session's isolation level"));
    return c;
  }

  Result<Lease> acquire() {
    std::unique_lock lock(mu);
    const auto deadline = std::chrono::steady_clock::now() + options.pool_wait;
    for (;;) {
      if (!idle.empty()) {
        Lease l{std::move(idle.back()), true};
        idle.pop_back();
        return l;
      }
      if (open_count < options.pool_size) break;
      if (freed.wait_until(lock, deadline) == std::cv_status::timeout && idle.empty() &&
          open_count >= options.pool_size)
        return fail(ErrorCode::kUnavailable, "postgres: all {} pooled connections stayed busy for {} ms",
                    options.pool_size, options.pool_wait.count());
    }
    ++open_count;
    lock.unlock();
    auto c = connect();
    if (c) {
      if (auto prepared = (*c)->prepare_all(sql); !prepared) c = fail(prepared.error());
    }
    if (!c) {
      lock.lock();
      --open_count;
      freed.notify_one();
      return fail(c.error());
    }
    return Lease{std::move(*c), false};
  }

  void release(std::unique_ptr<Connection> c) {
    std::lock_guard lock(mu);
    if (c->broken()) {
      c.reset();
      --open_count;
    } else {
      idle.push_back(std::move(c));
    }
    freed.notify_one();
  }

  // Runs `fn(connection)`; when it fails on a reused connection that turns out broken
  // (the server restarted since it was opened), once more on a fresh one. Only for
  // calls whose first statement failing means nothing was written.
  template <class Fn>
  auto with_connection(Fn&& fn) -> decltype(fn(std::declval<Connection&>())) {
    for (;;) {
      auto lease = acquire();
      if (!lease) return fail(lease.error());
      auto out = fn(*lease->conn);
      const bool stale = !out && lease->reused && lease->conn->broken();
      release(std::move(lease->conn));
      if (!stale) return out;
    }
  }

  void backoff(int attempt) const {
    thread_local std::minstd_rand rng(std::random_device{}());
    const auto cap = std::min<std::int64_t>(options.max_retry_backoff.count(),
                                            options.retry_backoff.count() << std::min(attempt - 1, 20));
    if (cap <= 0) return;
    std::uniform_int_distribution<std::int64_t> pick(0, cap);
    std::this_thread::sleep_for(std::chrono::microseconds(pick(rng)));
  }

  // One attempt: BEGIN, the body, COMMIT. Returns the body's, a statement's or COMMIT's
  // error; `unknown` is set when the connection broke during COMMIT.
  Status attempt_once(Connection& c, const Body& body, bool read_only, bool exclusive, bool& unknown) {
    PIPELINE_TRY(c.run(read_only ? kBeginRead : kBeginWrite, PGRES_COMMAND_OK, "beginning a transaction"));
    if (exclusive) {
      if (auto locked = c.run(kLockTables, PGRES_COMMAND_OK, "locking the tables"); !locked) {
        c.rollback();
        return fail(locked.error());
      }
    }
    PgTx tx(c, read_only);
    Status st = run_body(body, tx);
    if (st && tx.failure()) st = fail(*tx.failure());
    if (!st) {
      c.rollback();
      return st;
    }
    auto committed = c.run(kCommit, PGRES_COMMAND_OK, "committing");
    if (!committed) {
      if (c.broken()) {
        unknown = true;
        Error e = committed.error();
        e.code = ErrorCode::kUnavailable;
        e.message += "; the transaction may or may not have committed";
        return fail(std::move(e));
      }
      c.rollback();
      return fail(committed.error());
    }
    return ok();
  }

  Status transact(const Body& body, const TransactionOptions& o) {
    const int attempts = std::max(1, o.max_attempts);
    for (int attempt = 1;;) {
      auto lease = acquire();
      if (!lease) return fail(lease.error());
      bool unknown = false;
      // A write that keeps losing to other writers runs alone (see
      // PostgresStateStoreOptions::exclusive_after_conflicts).
      const bool exclusive = !o.read_only && options.exclusive_after_conflicts > 0 &&
                             attempt > options.exclusive_after_conflicts;
      Status st = attempt_once(*lease->conn, body, o.read_only, exclusive, unknown);
      // A pooled connection whose server restarted since: nothing was committed (unless
      // COMMIT itself broke), so the body runs again on a fresh connection, uncounted.
      const bool stale = !st && !unknown && lease->reused && lease->conn->broken();
      release(std::move(lease->conn));
      if (stale) continue;
      if (st || unknown || st.error().code != ErrorCode::kConflict) return st;
      if (attempt >= attempts) {
        Error e = st.error();
        e.message = fmt::format("transaction gave up after {} attempts: {}", attempts, e.message);
        return fail(std::move(e));
      }
      backoff(attempt);
      ++attempt;
    }
  }
};

namespace {

// Creates the tables or migrates them to kSchemaVersion, in one transaction, under an
// advisory lock on the prefix so processes starting together run it once.
Status create_or_migrate(Connection& c, const Tables& t, const std::string& prefix) {
  PIPELINE_TRY(c.exec("BEGIN", "beginning the schema check"));
  auto body = [&]() -> Status {
    Params lock_key;
    lock_key.int8(static_cast<std::int64_t>(fnv1a("pipeline_schema:" + prefix)));
    ResultPtr locked(PQexecParams(c.get(), "SELECT pg_advisory_xact_lock($1)", 1, std::array<Oid, 1>{kInt8}.data(),
                                  lock_key.values(), lock_key.lengths(), lock_key.formats(), 1),
                     &PQclear);
    if (PQresultStatus(locked.get()) != PGRES_TUPLES_OK) return fail(pg_error(c.get(), locked.get(), "locking the schema"));
    Params name;
    name.text(t.schema);
    ResultPtr exists(PQexecParams(c.get(), "SELECT to_regclass($1) IS NOT NULL", 1, std::array<Oid, 1>{kText}.data(),
                                  name.values(), name.lengths(), name.formats(), 0),
                     &PQclear);
    if (PQresultStatus(exists.get()) != PGRES_TUPLES_OK)
      return fail(pg_error(c.get(), exists.get(), "reading the schema version"));
    int version = 0;
    if (std::string_view(PQgetvalue(exists.get(), 0, 0)) == "t") {
      ResultPtr v(PQexecParams(c.get(), fmt::format("SELECT version FROM {}", t.schema).c_str(), 0, nullptr, nullptr,
                               nullptr, nullptr, 0),
                  &PQclear);
      if (PQresultStatus(v.get()) != PGRES_TUPLES_OK || PQntuples(v.get()) != 1)
        return fail(ErrorCode::kDataLoss, "postgres: table {} does not hold one schema version row", t.schema);
      version = std::atoi(PQgetvalue(v.get(), 0, 0));
    }
    if (version > PostgresStateStore::kSchemaVersion)
      return fail(ErrorCode::kFailedPrecondition,
                  "postgres: tables with prefix '{}' have schema version {}, newer than this library's {}; "
                  "use a newer library or another table_prefix",
                  prefix, version, PostgresStateStore::kSchemaVersion);
    if (version == PostgresStateStore::kSchemaVersion) return ok();
    for (int from = version; from < PostgresStateStore::kSchemaVersion; ++from)
      for (const auto& sql : migration(static_cast<std::size_t>(from), t)) PIPELINE_TRY(c.exec(sql, "migrating the schema"));
    return c.exec(fmt::format("UPDATE {} SET version = {}", t.schema, PostgresStateStore::kSchemaVersion),
                  "recording the schema version");
  };
  if (auto st = body(); !st) {
    // The migration's error is the one to report; a failed ROLLBACK ends with the session.
    discard_result(c.exec("ROLLBACK", "rolling back"));
    return st;
  }
  return c.exec("COMMIT", "committing the schema");
}

}  // namespace

PostgresStateStore::PostgresStateStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

PostgresStateStore::~PostgresStateStore() = default;

Result<std::unique_ptr<PostgresStateStore>> PostgresStateStore::open(const std::string& conninfo,
                                                                     const PostgresStateStoreOptions& options) {
  if (PQisthreadsafe() == 0)
    return fail(ErrorCode::kFailedPrecondition, "the linked libpq was built without thread support");
  if (options.pool_size == 0) return fail(ErrorCode::kInvalidArgument, "PostgresStateStore needs a pool_size of at least 1");
  auto impl = std::make_unique<Impl>();
  impl->conninfo = conninfo;
  impl->options = options;
  if (auto from_uri = take_table_prefix(impl->conninfo)) {
    if (!options.table_prefix.empty() && *from_uri != options.table_prefix)
      return fail(ErrorCode::kInvalidArgument, "table prefix '{}' in the URI differs from the option's '{}'", *from_uri,
                  options.table_prefix);
    impl->options.table_prefix = *from_uri;
  }
  const std::string& prefix = impl->options.table_prefix;
  PIPELINE_TRY(validate_prefix_name(prefix));
  char* parse_error = nullptr;
  PQconninfoOption* parsed = PQconninfoParse(impl->conninfo.c_str(), &parse_error);
  if (parsed == nullptr) {
    std::string msg = parse_error != nullptr ? parse_error : "out of memory";
    PQfreemem(parse_error);
    while (!msg.empty() && msg.back() == '\n') msg.pop_back();
    return fail(ErrorCode::kInvalidArgument, "postgres: malformed connection string: {}", msg);
  }
  PQconninfoFree(parsed);

  auto quoted = [&](std::string_view name) { return fmt::format("\"{}{}\"", prefix, name); };
  impl->tables = Tables{quoted("rows"), quoted("outbox"), quoted("pipeline_schema"), quoted("outbox_unsent")};
  impl->sql = statements(impl->tables);

  auto first = impl->connect();
  if (!first) return fail(first.error());
  PIPELINE_TRY(create_or_migrate(**first, impl->tables, prefix));
  PIPELINE_TRY((*first)->prepare_all(impl->sql));
  impl->open_count = 1;
  impl->idle.push_back(std::move(*first));
  return std::unique_ptr<PostgresStateStore>(new PostgresStateStore(std::move(impl)));
}

const std::string& PostgresStateStore::table_prefix() const noexcept { return impl_->options.table_prefix; }

Status PostgresStateStore::transact(const Body& body, const TransactionOptions& options) {
  return impl_->transact(body, options);
}

Result<std::vector<OutboxRow>> PostgresStateStore::claim_outbox(const ClaimOutboxParams& params) {
  std::vector<OutboxRow> out;
  if (params.max == 0) return out;
  Params p;
  p.text(params.owner);
  p.int8(to_nanos(params.now + params.lease));
  p.int8(to_nanos(params.now));
  p.int8(static_cast<std::int64_t>(std::min<std::size_t>(params.max, std::numeric_limits<std::int64_t>::max())));
  // One READ COMMITTED statement: SKIP LOCKED lets relays pass each other's claims by,
  // which under SERIALIZABLE would mostly fail instead. Its commit does not wait for the
  // WAL flush (run_relay_statement says why that is safe).
  auto r = impl_->with_connection(
      [&](Connection& c) { return c.run_relay_statement(kClaim, p, PGRES_TUPLES_OK, "claiming outbox entries"); });
  if (!r) return fail(r.error());
  const PGresult* res = r->get();
  for (int i = 0, n = PQntuples(res); i < n; ++i) {
    OutboxRow row;
    row.sequence = int8_at(res, i, 0);
    row.entry.message.id = bytes_at(res, i, 1);
    if (PQgetisnull(res, i, 6) == 0) {
      row.entry.key = std::move(row.entry.message.id);
      row.entry.message.id = bytes_at(res, i, 6);
    }
    row.entry.topic = bytes_at(res, i, 2);
    row.entry.message.payload = bytes_at(res, i, 3);
    auto attrs = internal::decode_outbox_attributes(bytes_at(res, i, 4), row.entry.outbox_key());
    if (!attrs) return fail(attrs.error());
    row.entry.message.attributes = std::move(*attrs);
    row.claims = static_cast<int>(int8_at(res, i, 5));
    out.push_back(std::move(row));
  }
  // RETURNING gives no order; relays publish in sequence order.
  std::sort(out.begin(), out.end(), [](const OutboxRow& a, const OutboxRow& b) { return a.sequence < b.sequence; });
  return out;
}

Status PostgresStateStore::complete_outbox(const std::vector<std::string>& keys) {
  std::string joined;
  for (const auto& key : keys) {
    // A key no entry can have (enqueue validated every one) is unknown: ignored.
    if (!validate_outbox_message(OutboxMessage{"t", OutgoingMessage{key, {}, {}}})) continue;
    joined += joined.empty() ? "" : "\n";
    joined += key;
  }
  if (joined.empty()) return ok();
  Params p;
  p.text(joined);
  return impl_->with_connection([&](Connection& c) {
    return c.run_relay_statement(kComplete, p, PGRES_COMMAND_OK, "completing outbox entries").map([](ResultPtr) {});
  });
}

Result<std::size_t> PostgresStateStore::pending_outbox() {
  return impl_->with_connection([&](Connection& c) -> Result<std::size_t> {
    auto r = c.run(kPending, PGRES_TUPLES_OK, "counting pending outbox entries");
    if (!r) return fail(r.error());
    return static_cast<std::size_t>(int8_at(r->get(), 0, 0));
  });
}

namespace {
Result<std::size_t> change_outbox(PostgresStateStore::Impl& impl, Sql sql, TimePoint bound, std::string_view what) {
  Params p;
  p.int8(to_nanos(bound));
  return impl.with_connection([&](Connection& c) -> Result<std::size_t> {
    auto r = c.run(sql, p, PGRES_COMMAND_OK, what);
    if (!r) return fail(r.error());
    return changed_rows(r->get());
  });
}
}  // namespace

Result<std::size_t> PostgresStateStore::prune_outbox(TimePoint before) {
  return change_outbox(*impl_, kPrune, before, "pruning sent outbox entries");
}

Result<std::size_t> PostgresStateStore::requeue_outbox(TimePoint since) {
  return change_outbox(*impl_, kRequeue, since, "requeueing sent outbox entries");
}

}  // namespace pipeline::inline v0
