#include "store_uri.hpp"

#include "exit_codes.hpp"

#include <algorithm>
#include <filesystem>
#include <system_error>

#include "pipeline/memory/memory_state_store.hpp"
#ifdef PIPELINE_CLI_HAVE_SQLITE
#include "pipeline/sqlite/sqlite_state_store.hpp"
#endif
#ifdef PIPELINE_CLI_HAVE_POSTGRES
#include "pipeline/postgres/postgres_state_store.hpp"
#endif

namespace pipelinectl {

pipeline::Result<StoreUri> parse_store_uri(std::string_view text) {
  using pipeline::ErrorCode;
  if (text == "memory") return StoreUri{StoreUri::Kind::kMemory, {}};
  if (text.starts_with("sqlite:")) {
    std::string_view path = text.substr(7);
    if (path.starts_with("//")) path.remove_prefix(2);  // sqlite://PATH is accepted too
    if (path.empty()) return pipeline::fail(ErrorCode::kInvalidArgument, "--store 'sqlite:' needs a file path (sqlite:PATH)");
    return StoreUri{StoreUri::Kind::kSqlite, std::string(path)};
  }
  if (text.starts_with("postgresql://") || text.starts_with("postgres://")) {
#ifdef PIPELINE_CLI_HAVE_POSTGRES
    return StoreUri{StoreUri::Kind::kPostgres, std::string(text)};
#else
    return pipeline::fail(ErrorCode::kInvalidArgument,
                          "--store: PostgreSQL is not built into this program (use memory or sqlite:PATH)");
#endif
  }
  return pipeline::fail(ErrorCode::kInvalidArgument,
                        "--store '{}' is not a store URI (expected memory, sqlite:PATH or postgresql://...)", text);
}

pipeline::Result<std::unique_ptr<pipeline::StateStore>> open_store(std::string_view text, StoreAccess access) {
  auto uri = parse_store_uri(text);
  if (!uri) return pipeline::fail(uri.error());
  if (uri->kind == StoreUri::Kind::kMemory)
    return pipeline::MemoryStateStore::create().map([](pipeline::MemoryStateStore store) {
      return std::unique_ptr<pipeline::StateStore>(std::make_unique<pipeline::MemoryStateStore>(std::move(store)));
    });
#ifdef PIPELINE_CLI_HAVE_POSTGRES
  if (uri->kind == StoreUri::Kind::kPostgres) {
    // Never echo the URI: it may hold a password. The store's messages do not.
    auto store = pipeline::PostgresStateStore::open(uri->path);
    if (!store) return pipeline::fail(store.error());
    return std::unique_ptr<pipeline::StateStore>(std::move(*store));
  }
#endif
#ifdef PIPELINE_CLI_HAVE_SQLITE
  std::error_code ec;
  if (access == StoreAccess::kExisting && !std::filesystem::exists(uri->path, ec))
    return pipeline::fail(pipeline::ErrorCode::kNotFound, "--store sqlite:{}: no such file", uri->path);
  auto store = pipeline::SqliteStateStore::open(uri->path);
  if (!store) return pipeline::fail(store.error());
  return std::unique_ptr<pipeline::StateStore>(std::move(*store));
#else
  (void)access;
  return pipeline::fail(pipeline::ErrorCode::kInvalidArgument,
                        "--store sqlite:{}: SQLite is not built into this program", uri->path);
#endif
}

std::string redacted_store_uri(std::string_view text) {
  const auto scheme = text.find("://");
  if (scheme == std::string_view::npos) return std::string(text);
  const auto start = scheme + 3;
  const auto end = std::min(text.find_first_of("/?", start), text.size());
  const auto at = text.substr(0, end).rfind('@');
  if (at == std::string_view::npos || at < start) return std::string(text);
  const auto colon = text.substr(start, at - start).find(':');
  if (colon == std::string_view::npos) return std::string(text);
  return std::string(text.substr(0, start + colon + 1)) + "***" + std::string(text.substr(at));
}

CLI::Option* add_required_store_option(CLI::App& sub, std::string& store) {
  return sub.add_option("--store", store, "The store the pipeline records in: sqlite:PATH, postgresql://... (or memory, always empty)")
      ->required();
}

int store_error_exit(const pipeline::Error& error) {
  return error.code == pipeline::ErrorCode::kInvalidArgument || error.code == pipeline::ErrorCode::kNotFound
             ? kExitUsage
             : kExitFailed;
}

}  // namespace pipelinectl
