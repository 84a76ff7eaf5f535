#pragma once
/// @file
/// What the SQL stores (SQLite, PostgreSQL) share to implement the `StateStore` port: a
/// transaction that a failed statement poisons, and the stored form of outbox attributes.
/// For store implementers, not for users of a store.

#include <optional>
#include <string>
#include <string_view>

#include "pipeline/core/result.hpp"
#include "pipeline/core/state_store.hpp"
#include "pipeline/core/transport.hpp"

namespace pipeline::inline v0::internal {

/// Base of a SQL store's `Transaction`: the first failed statement poisons it, so a body
/// that ignores an error can never commit a partial transaction (the store checks
/// `failure()` before COMMIT), and every later call returns that first error.
///
/// **Thread safety:** none; a transaction belongs to the thread running its body.
/// **Performance:** a few branches per call; no allocation unless a statement fails.
/// **Errors:** `usable` returns the poisoning error; `check_write` and `check_enqueue`
/// add the port's validation (`validate_write`, `validate_enqueue`).
///
/// **Example:**
/// @snippet sqlite_state_store.cpp poisonable_put
class PoisonableTransaction : public Transaction {
 public:
  /// The error that poisoned this transaction, if any.
  [[nodiscard]] const std::optional<Error>& failure() const noexcept { return failure_; }

 protected:
  explicit PoisonableTransaction(bool read_only) noexcept : read_only_(read_only) {}

  [[nodiscard]] bool read_only() const noexcept { return read_only_; }

  /// Fails with the poisoning error once a statement has failed.
  Status usable() const {
    if (failure_) return fail(*failure_);
    return ok();
  }
  /// `usable`, then the port's checks of a write.
  Status check_write(std::string_view key, std::string_view value) const {
    PIPELINE_TRY(usable());
    return validate_write(key, value, read_only_);
  }
  /// `usable`, then the port's checks of an enqueue.
  Status check_enqueue(const OutboxMessage& entry) const {
    PIPELINE_TRY(usable());
    return validate_enqueue(entry, read_only_);
  }
  /// Poisons the transaction with `error` and returns it, for `return poison(...)`.
  tl::unexpected<Error> poison(Error error) {
    failure_ = std::move(error);
    return fail(*failure_);
  }

 private:
  bool read_only_;
  std::optional<Error> failure_;
};

/// The stored form of outbox attributes: a JSON object of strings (bytes that are not
/// UTF-8 are replaced, as the library's JSON does everywhere).
std::string encode_outbox_attributes(const Attributes& attributes);

/// Reads what `encode_outbox_attributes` wrote. Non-string members are skipped.
/// **Errors:** `kDataLoss` naming `outbox_key` when the text is not a JSON object.
Result<Attributes> decode_outbox_attributes(std::string_view text, std::string_view outbox_key);

}  // namespace pipeline::inline v0::internal

#ifdef PIPELINE_HEADER_ONLY
#include "pipeline/core/sql_transaction-inl.hpp"
#endif
