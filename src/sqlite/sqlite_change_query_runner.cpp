#include "pipeline/sqlite/sqlite_change_query_runner.hpp"

#include <sqlite3.h>

#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include <fmt/format.h>

#include "sqlite_errors.hpp"

namespace pipeline::inline v0 {
namespace {

using sqlite_detail::sqlite_error;

// A diff statement is a few lines; this only keeps the length within SQLite's int.
constexpr std::size_t kMaxSqlBytes = 1 << 20;

struct Finalize {
  void operator()(sqlite3_stmt* s) const noexcept { sqlite3_finalize(s); }
};
using Statement = std::unique_ptr<sqlite3_stmt, Finalize>;

const char* type_name(int type) {
  switch (type) {
    case SQLITE_INTEGER: return "INTEGER";
    case SQLITE_FLOAT: return "REAL";
    case SQLITE_TEXT: return "TEXT";
    case SQLITE_BLOB: return "BLOB";
    default: return "NULL";
  }
}

std::string column_text(sqlite3_stmt* s, int i) {
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s, i));
  const int n = sqlite3_column_bytes(s, i);
  return p == nullptr ? std::string() : std::string(p, static_cast<std::size_t>(n));
}

std::string param_names(std::span<const QueryParam> params) {
  std::string out;
  for (const auto& p : params) out += fmt::format("{}:{}", out.empty() ? "" : ", ", p.name);
  return out.empty() ? "none" : out;
}

}  // namespace

struct SqliteChangeQueryRunner::Impl {
  std::string path;
  std::mutex mutex;  // one call at a time on the connection
  sqlite3* db = nullptr;

  ~Impl() { sqlite3_close_v2(db); }

  // Prepares exactly one read-only statement of one or two columns.
  Result<Statement> prepare(std::string_view sql) {
    if (sql.size() > kMaxSqlBytes)
      return fail(ErrorCode::kInvalidArgument, "the change query is {} bytes, over the limit of {}", sql.size(),
                  kMaxSqlBytes);
    sqlite3_stmt* raw = nullptr;
    const char* tail = nullptr;
    int rc = sqlite3_prepare_v3(db, sql.data(), static_cast<int>(sql.size()), 0, &raw, &tail);
    Statement stmt(raw);
    if (rc != SQLITE_OK) {
      Error e = sqlite_error(db, rc, "preparing the change query");
      // A statement SQLite refuses (syntax, unknown table or column) is the caller's to fix.
      if ((rc & 0xFF) == SQLITE_ERROR) e.code = ErrorCode::kInvalidArgument;
      return fail(std::move(e));
    }
    if (!stmt) return fail(ErrorCode::kInvalidArgument, "the change query holds no SQL statement");
    const std::string_view rest = sql.substr(static_cast<std::size_t>(tail - sql.data()));
    sqlite3_stmt* more = nullptr;
    rc = sqlite3_prepare_v3(db, rest.data(), static_cast<int>(rest.size()), 0, &more, nullptr);
    Statement second(more);
    if (rc != SQLITE_OK || second)
      return fail(ErrorCode::kInvalidArgument,
                  "the change query holds more than one SQL statement; give one SELECT (a WITH … SELECT included)");
    if (sqlite3_stmt_readonly(stmt.get()) == 0)
      return fail(ErrorCode::kInvalidArgument, "the change query may write to the database; it must only read");
    const int columns = sqlite3_column_count(stmt.get());
    if (columns < 1 || columns > 2)
      return fail(ErrorCode::kInvalidArgument,
                  "the change query returns {} columns; it must return the entity id and, optionally, the change "
                  "('added', 'changed' or 'removed')",
                  columns);
    return stmt;
  }

  // Binds every parameter of the statement by name; every one of `params` must be used.
  Status bind(sqlite3_stmt* stmt, std::span<const QueryParam> params) {
    for (std::size_t i = 0; i < params.size(); ++i)
      for (std::size_t j = i + 1; j < params.size(); ++j)
        if (params[i].name == params[j].name)
          return fail(ErrorCode::kInvalidArgument, "change query parameter '{}' is given more than once",
                      params[i].name);
    std::vector<bool> used(params.size(), false);
    const int count = sqlite3_bind_parameter_count(stmt);
    for (int index = 1; index <= count; ++index) {
      const char* spelled = sqlite3_bind_parameter_name(stmt, index);
      if (spelled == nullptr || spelled[0] == '?')
        return fail(ErrorCode::kInvalidArgument,
                    "the change query uses a positional parameter ('{}'); name every parameter (:date, :name)",
                    spelled == nullptr ? "?" : spelled);
      const std::string_view name = std::string_view(spelled).substr(1);  // past ':', '@' or '$'
      std::size_t k = 0;
      while (k < params.size() && params[k].name != name) ++k;
      if (k == params.size())
        return fail(ErrorCode::kInvalidArgument,
                    "the change query uses parameter '{}', which is not given (given: {})", spelled,
                    param_names(params));
      used[k] = true;
      int rc = SQLITE_OK;
      if (const auto* text = std::get_if<std::string>(&params[k].value))
        rc = sqlite3_bind_text64(stmt, index, text->data(), text->size(), SQLITE_STATIC, SQLITE_UTF8);
      else
        rc = sqlite3_bind_int64(stmt, index, std::get<std::int64_t>(params[k].value));
      if (rc != SQLITE_OK) return fail(sqlite_error(db, rc, fmt::format("binding '{}'", spelled)));
    }
    for (std::size_t k = 0; k < params.size(); ++k)
      if (!used[k])
        return fail(ErrorCode::kInvalidArgument,
                    "change query parameter '{}' is not used by the statement (write it as :{})", params[k].name,
                    params[k].name);
    return ok();
  }
};

SqliteChangeQueryRunner::SqliteChangeQueryRunner(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SqliteChangeQueryRunner::~SqliteChangeQueryRunner() = default;

const std::string& SqliteChangeQueryRunner::path() const noexcept { return impl_->path; }

Result<std::unique_ptr<SqliteChangeQueryRunner>> SqliteChangeQueryRunner::open(
    const std::string& path, const SqliteChangeQueryRunnerOptions& options) {
  if (path.empty() || path == ":memory:" || path.rfind("file:", 0) == 0)
    return fail(ErrorCode::kInvalidArgument,
                "SqliteChangeQueryRunner needs the path of an existing database file (not ':memory:' or a "
                "'file:' URI), got '{}'",
                path);
  auto impl = std::make_unique<Impl>();
  impl->path = path;
  // Read-only and never created: the runner only reads what the warehouse's writers wrote.
  const int rc = sqlite3_open_v2(path.c_str(), &impl->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) return fail(sqlite_error(impl->db, rc, fmt::format("opening '{}' read-only", path)));
  sqlite3_busy_timeout(impl->db, static_cast<int>(options.busy_timeout.count()));
  sqlite3_db_config(impl->db, SQLITE_DBCONFIG_DEFENSIVE, 1, nullptr);
  // Touch the schema now, so a file that is not a database fails here rather than later.
  char* message = nullptr;
  const int check = sqlite3_exec(impl->db, "SELECT count(*) FROM sqlite_schema", nullptr, nullptr, &message);
  sqlite3_free(message);
  if (check != SQLITE_OK) return fail(sqlite_error(impl->db, check, fmt::format("reading '{}'", path)));
  return std::unique_ptr<SqliteChangeQueryRunner>(new SqliteChangeQueryRunner(std::move(impl)));
}

Result<std::vector<ChangeQueryRow>> SqliteChangeQueryRunner::changed_entities(std::string_view sql,
                                                                              std::span<const QueryParam> params) {
  std::lock_guard lock(impl_->mutex);
  auto stmt = impl_->prepare(sql);
  if (!stmt) return fail(stmt.error());
  sqlite3_stmt* s = stmt->get();
  PIPELINE_TRY(impl_->bind(s, params));
  const bool with_change = sqlite3_column_count(s) == 2;
  std::vector<ChangeQueryRow> rows;
  for (std::size_t row = 1;; ++row) {
    const int rc = sqlite3_step(s);
    if (rc == SQLITE_DONE) break;
    if (rc != SQLITE_ROW) return fail(sqlite_error(impl_->db, rc, "running the change query"));
    const int id_type = sqlite3_column_type(s, 0);
    if (id_type != SQLITE_TEXT && id_type != SQLITE_INTEGER)
      return fail(ErrorCode::kInvalidArgument, "the change query's row {} has a {} id; ids are TEXT or INTEGER", row,
                  type_name(id_type));
    ChangeQueryRow out;
    out.id = column_text(s, 0);
    if (with_change) {
      const int change_type = sqlite3_column_type(s, 1);
      if (change_type != SQLITE_TEXT)
        return fail(ErrorCode::kInvalidArgument,
                    "the change query's row {} has a {} change; it must be TEXT ('added', 'changed' or 'removed')",
                    row, type_name(change_type));
      out.change = column_text(s, 1);
    }
    rows.push_back(std::move(out));
  }
  return rows;
}

}  // namespace pipeline::inline v0
