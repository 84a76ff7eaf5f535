#pragma once
/// @file
/// Bodies of pipeline/core/state_store.hpp: the write validation every store shares.

#include "pipeline/core/state_store.hpp"

#include <fmt/format.h>

namespace pipeline::inline v0 {

PIPELINE_INLINE Status validate_key(std::string_view key) {
  if (key.empty() || key.size() > Transaction::kMaxKeyBytes)
    return fail(ErrorCode::kInvalidArgument, "state key must be 1 to {} bytes, got {}", Transaction::kMaxKeyBytes,
                key.size());
  for (char c : key) {
    if (c < 0x20 || c > 0x7E)
      return fail(Error{ErrorCode::kInvalidArgument,
                        fmt::format("state key '{}' contains a byte outside printable ASCII (0x{:02x})",
                                    key.substr(0, 64), static_cast<unsigned char>(c)),
                        {}});
  }
  return ok();
}

namespace internal {
inline Status validate_outbox_id(std::string_view what, std::string_view id) {
  if (id.empty() || id.size() > 256)
    return fail(ErrorCode::kInvalidArgument, "outbox {} must be 1 to 256 bytes, got {}", what, id.size());
  for (char c : id) {
    if (c < 0x20 || c > 0x7E)
      return fail(ErrorCode::kInvalidArgument, "outbox {} '{}' contains a byte outside printable ASCII", what,
                  id.substr(0, 64));
  }
  return ok();
}
}  // namespace internal

PIPELINE_INLINE Status validate_outbox_message(const OutboxMessage& entry) {
  const std::string& id = entry.message.id;
  PIPELINE_TRY(internal::validate_outbox_id("message id", id));
  if (!entry.key.empty()) PIPELINE_TRY(internal::validate_outbox_id("key", entry.key));
  if (entry.topic.empty())
    return fail(Error{ErrorCode::kInvalidArgument, fmt::format("outbox message '{}' has an empty topic", id), {}});
  return ok();
}

PIPELINE_INLINE Status validate_prefix(std::string_view prefix) {
  if (prefix.empty()) return ok();
  return validate_key(prefix);
}

PIPELINE_INLINE Status validate_write(std::string_view key, std::string_view value, bool read_only) {
  if (read_only)
    return fail(ErrorCode::kFailedPrecondition, "write to '{}' in a read-only transaction", key.substr(0, 64));
  PIPELINE_TRY(validate_key(key));
  if (value.size() > Transaction::kMaxValueBytes)
    return fail(ErrorCode::kInvalidArgument, "value of '{}' is {} bytes, more than the {} allowed", key.substr(0, 64),
                value.size(), Transaction::kMaxValueBytes);
  return ok();
}

PIPELINE_INLINE Status validate_enqueue(const OutboxMessage& entry, bool read_only) {
  if (read_only) return fail(ErrorCode::kFailedPrecondition, "enqueue in a read-only transaction");
  return validate_outbox_message(entry);
}

}  // namespace pipeline::inline v0
