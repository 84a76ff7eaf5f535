#pragma once
/// @file
/// What several bench_<layer> binaries share: a temporary directory, a transport that
/// accepts every publish and, with PostgreSQL built in, the server and fresh tables.

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "pipeline/core/result.hpp"
#include "pipeline/core/transport.hpp"
#include "tests/temp_dir.hpp"

#if defined(PIPELINE_BENCH_HAVE_POSTGRES) || defined(PIPELINE_BENCH_HAVE_REDIS)
#include <cstdio>
#include <cstdlib>
#endif

#ifdef PIPELINE_BENCH_HAVE_POSTGRES
#include <libpq-fe.h>
#include <unistd.h>

#include <atomic>

#include "pipeline/postgres/postgres_state_store.hpp"
#endif

namespace bench_support {

/// A temporary directory on the real disk (so a FULL-synchronous store pays its fsync),
/// removed with everything in it when destroyed: the tests' own.
using BenchDir = pipeline::testing::TempDir;

/// Accepts and counts every publish; no subscriptions, no dead letters. Not thread-safe
/// beyond one publishing thread (the benches' workers publish from one thread).
class NullTransport final : public pipeline::Transport {
 public:
  pipeline::Status do_publish(pipeline::PublishParams) override {
    ++published;
    return pipeline::ok();
  }
  pipeline::Result<std::unique_ptr<pipeline::Subscription>> subscribe(const pipeline::SubscribeParams&,
                                                                       pipeline::Handler) override {
    return pipeline::fail(pipeline::ErrorCode::kFailedPrecondition, "the bench transport has no subscriptions");
  }
  pipeline::Result<std::vector<pipeline::DeadLetter>> dead_letters(std::string_view) override {
    return std::vector<pipeline::DeadLetter>{};
  }
  pipeline::Status replay_dead_letter(std::string_view, std::string_view) override {
    return pipeline::fail(pipeline::ErrorCode::kNotFound, "the bench transport has no dead letters");
  }
  std::size_t published = 0;
};

#if defined(PIPELINE_BENCH_HAVE_POSTGRES) || defined(PIPELINE_BENCH_HAVE_REDIS)
/// A server's URI: the environment variable `env` when set, else the last line that
/// `scripts/services.sh <verb>` prints (it starts the server and leaves it running;
/// `scripts/services.sh stop` ends it). "" when there is none.
inline std::string server_uri(const char* env, const char* verb) {
  if (const char* set = std::getenv(env); set != nullptr && *set != '\0') return std::string(set);
  std::string out;
  const std::string command = std::string("bash '" PIPELINE_SOURCE_DIR "/scripts/services.sh' ") + verb;
  if (FILE* p = ::popen(command.c_str(), "r")) {
    char buf[512];
    while (std::fgets(buf, sizeof buf, p) != nullptr) out = buf;
    if (::pclose(p) != 0) out.clear();
  }
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}
#endif

#ifdef PIPELINE_BENCH_HAVE_REDIS
/// The Redis server: PIPELINE_REDIS_URI, else the one scripts/services.sh starts.
inline const std::string& redis_uri() {
  static const std::string uri = server_uri("PIPELINE_REDIS_URI", "start-redis");
  return uri;
}
#endif

#ifdef PIPELINE_BENCH_HAVE_POSTGRES
/// The PostgreSQL server: PIPELINE_POSTGRES_URI, else the one scripts/services.sh starts.
inline const std::string& postgres_uri() {
  static const std::string uri = server_uri("PIPELINE_POSTGRES_URI", "start");
  return uri;
}

/// Fresh tables on the server for one benchmark, dropped with the object.
class PostgresTables {
 public:
  PostgresTables() {
    static std::atomic<int> counter{0};
    prefix_ = "bench_" + std::to_string(::getpid()) + "_" + std::to_string(counter++) + "_";
  }
  ~PostgresTables() {
    if (postgres_uri().empty()) return;
    PGconn* c = PQconnectdb(postgres_uri().c_str());
    const std::string sql = "DROP TABLE IF EXISTS \"" + prefix_ + "rows\", \"" + prefix_ + "outbox\", \"" + prefix_ +
                            "pipeline_schema\"";
    PQclear(PQexec(c, sql.c_str()));
    PQfinish(c);
  }
  PostgresTables(const PostgresTables&) = delete;
  PostgresTables& operator=(const PostgresTables&) = delete;
  const std::string& prefix() const { return prefix_; }

  /// A store on these tables (a new connection pool each call).
  pipeline::Result<std::unique_ptr<pipeline::PostgresStateStore>> open() const {
    if (postgres_uri().empty())
      return pipeline::fail(pipeline::ErrorCode::kUnavailable,
                            "no PostgreSQL server: set PIPELINE_POSTGRES_URI or run scripts/services.sh start");
    pipeline::PostgresStateStoreOptions o;
    o.table_prefix = prefix_;
    return pipeline::PostgresStateStore::open(postgres_uri(), o);
  }

 private:
  std::string prefix_;
};
#endif

}  // namespace bench_support
