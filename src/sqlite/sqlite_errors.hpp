#pragma once
// Private to the pipeline::sqlite target: SQLite result codes as the library's errors,
// shared by the state store and the change query runner.

#include <sqlite3.h>

#include <string_view>

#include <fmt/format.h>

#include "pipeline/core/error.hpp"

namespace pipeline::inline v0::sqlite_detail {

// Busy, I/O and "cannot open" are worth retrying (kUnavailable); corruption is kDataLoss.
inline ErrorCode code_of(int rc) {
  switch (rc & 0xFF) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_IOERR:
    case SQLITE_FULL:
    case SQLITE_CANTOPEN:
    case SQLITE_PROTOCOL:
    case SQLITE_NOLFS:
    case SQLITE_READONLY:
      return ErrorCode::kUnavailable;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return ErrorCode::kDataLoss;
    case SQLITE_TOOBIG:
      return ErrorCode::kInvalidArgument;
    default:
      return ErrorCode::kInternal;
  }
}

inline bool is_busy(int rc) { return (rc & 0xFF) == SQLITE_BUSY || (rc & 0xFF) == SQLITE_LOCKED; }

// "sqlite: <what> failed: <SQLite's message> (code N)".
inline Error sqlite_error(sqlite3* db, int rc, std::string_view what) {
  const char* msg = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  return Error{code_of(rc), fmt::format("sqlite: {} failed: {} (code {})", what, msg, rc), {}};
}

}  // namespace pipeline::inline v0::sqlite_detail
