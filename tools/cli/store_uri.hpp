#pragma once
// The `--store` flag every pipelinectl subcommand and example service shares: parsing and
// opening in one place.
//
//   memory          a fresh in-process store (empty: useful for demos run in-process)
//   sqlite:PATH     the SQLite state store at PATH
//   postgresql://…  the PostgreSQL state store (libpq URI; `table_prefix=` picks the
//                   pipeline's tables), when built with pipeline::postgres

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <CLI/CLI.hpp>

#include "pipeline/core/result.hpp"
#include "pipeline/core/state_store.hpp"

namespace pipelinectl {

/// A parsed `--store` value.
struct StoreUri {
  enum class Kind { kMemory, kSqlite, kPostgres };
  Kind kind = Kind::kMemory;
  std::string path;  ///< The SQLite file (kSqlite) or the connection URI (kPostgres).
};

/// Parses a `--store` value. **Errors:** `kInvalidArgument` with a sentence naming the
/// accepted forms.
pipeline::Result<StoreUri> parse_store_uri(std::string_view text);

/// What `open_store` should do when a SQLite file does not exist yet.
enum class StoreAccess {
  kExisting,  ///< Read-only tools (status, graph): a missing file is an error.
  kCreate,    ///< Writers (demo, backfill): create it.
};

/// Opens the store `text` names. A PostgreSQL store is opened (its tables created when
/// missing) whatever `access` says: a database without them has recorded nothing.
/// **Errors:** `kInvalidArgument` (bad URI, or a backend not built in), `kNotFound`
/// (kExisting and no such file), or the store's own error (`kUnavailable`: server
/// unreachable or credentials refused, within the connect timeout).
pipeline::Result<std::unique_ptr<pipeline::StateStore>> open_store(std::string_view text,
                                                                   StoreAccess access = StoreAccess::kExisting);

/// `text` fit for output: a password in a URI's user info becomes `***`.
std::string redacted_store_uri(std::string_view text);

/// Declares `--store` on a command that reads what a pipeline recorded (status, graph,
/// dlq): required, since a store nobody named (a fresh in-memory one) holds nothing.
/// Without it the command exits 2 with CLI11's "--store is required".
CLI::Option* add_required_store_option(CLI::App& sub, std::string& store);

/// The exit code for an `open_store` error: a bad URI or a missing file is bad usage (2),
/// anything else a failed operation (1).
int store_error_exit(const pipeline::Error& error);

}  // namespace pipelinectl
