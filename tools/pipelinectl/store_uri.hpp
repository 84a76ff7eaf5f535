#pragma once
// The `--store` flag every pipelinectl subcommand shares: parsing and opening in one place.
//
//   memory          a fresh in-process store (empty: useful for demos run in-process)
//   sqlite:PATH     the SQLite state store at PATH
//   postgresql://…  recognised, but not built into this pipelinectl (a clear error)

#include <memory>
#include <string>
#include <string_view>

#include "pipeline/core/result.hpp"
#include "pipeline/core/state_store.hpp"

namespace pipelinectl {

/// A parsed `--store` value.
struct StoreUri {
  enum class Kind { kMemory, kSqlite };
  Kind kind = Kind::kMemory;
  std::string path;  ///< The SQLite file (kSqlite).
};

/// Parses a `--store` value. **Errors:** `kInvalidArgument` with a sentence naming the
/// accepted forms.
pipeline::Result<StoreUri> parse_store_uri(std::string_view text);

/// What `open_store` should do when a SQLite file does not exist yet.
enum class StoreAccess {
  kExisting,  ///< Read-only tools (status, graph): a missing file is an error.
  kCreate,    ///< Writers (demo, backfill): create it.
};

/// Opens the store `text` names. **Errors:** `kInvalidArgument` (bad URI, or a backend
/// not built in), `kNotFound` (kExisting and no such file), or the store's own error.
pipeline::Result<std::unique_ptr<pipeline::StateStore>> open_store(std::string_view text,
                                                                   StoreAccess access = StoreAccess::kExisting);

}  // namespace pipelinectl
