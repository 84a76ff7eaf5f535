#pragma once
// The PostgreSQL server of a test run: PIPELINE_POSTGRES_URI when set (any server), else
// the one scripts/services.sh starts (idempotent: the ctest fixture usually started it
// already). A test that cannot reach its server fails; it never skips.

#include <libpq-fe.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "pipeline/postgres/postgres_state_store.hpp"

namespace pipeline::testing {

// The server's URI, or "" (with a test failure saying why) when no server can be started.
inline std::string postgres_uri() {
  static const std::string uri = [] {
    if (const char* env = std::getenv("PIPELINE_POSTGRES_URI"); env != nullptr && *env != '\0') return std::string(env);
    const std::string cmd = std::string("'") + PIPELINE_SOURCE_DIR + "/scripts/services.sh' start";
    std::string out;
    if (FILE* p = ::popen(cmd.c_str(), "r")) {
      char buf[512];
      while (std::fgets(buf, sizeof buf, p) != nullptr) out = buf;  // the last line is the URI
      if (::pclose(p) != 0) out.clear();
    }
    while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
    return out;
  }();
  if (uri.empty())
    ADD_FAILURE() << "no PostgreSQL server: set PIPELINE_POSTGRES_URI or make scripts/services.sh start work";
  return uri;
}

// A table prefix no other test (or test process) of this run uses.
inline std::string fresh_prefix() {
  static std::atomic<int> counter{0};
  return "t" + std::to_string(::getpid()) + "_" + std::to_string(counter.fetch_add(1)) + "_";
}

// A plain libpq connection for what the tests do behind the store's back.
class PgAdmin {
 public:
  explicit PgAdmin(const std::string& uri) : c_(PQconnectdb(uri.c_str())) {}
  ~PgAdmin() { PQfinish(c_); }
  PgAdmin(const PgAdmin&) = delete;
  PgAdmin& operator=(const PgAdmin&) = delete;
  bool connected() const { return PQstatus(c_) == CONNECTION_OK; }
  // Runs `sql`; returns the first column of the first row ("" when none), or fails the test.
  std::string exec(const std::string& sql) {
    PGresult* r = PQexec(c_, sql.c_str());
    const auto st = PQresultStatus(r);
    std::string out;
    if (st == PGRES_TUPLES_OK && PQntuples(r) > 0) out = PQgetvalue(r, 0, 0);
    if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) ADD_FAILURE() << sql << ": " << PQerrorMessage(c_);
    PQclear(r);
    return out;
  }
  void drop_tables(const std::string& prefix) {
    exec("DROP TABLE IF EXISTS \"" + prefix + "rows\", \"" + prefix + "outbox\", \"" + prefix + "pipeline_schema\"");
  }

 private:
  PGconn* c_;
};

// A store on fresh tables, dropped with the store.
inline std::shared_ptr<StateStore> make_postgres_store(PostgresStateStoreOptions options = {}) {
  const std::string uri = postgres_uri();
  if (uri.empty()) return nullptr;
  if (options.table_prefix.empty()) options.table_prefix = fresh_prefix();
  auto store = PostgresStateStore::open(uri, options);
  if (!store) {
    ADD_FAILURE() << store.error().to_string();
    return nullptr;
  }
  const std::string prefix = options.table_prefix;
  return std::shared_ptr<StateStore>(store->release(), [uri, prefix](StateStore* s) {
    delete s;
    PgAdmin(uri).drop_tables(prefix);
  });
}

}  // namespace pipeline::testing
