#pragma once
/// @file
/// `Connection`: the handle of a callback connected to one of the publish layer's hooks.

#include <memory>
#include <utility>

#include "pipeline/core/config.hpp"

namespace pipeline::inline v0 {

namespace internal {
struct ConnectionImpl;  // defined in connection-inl.hpp (wraps the signal library's handle)
}  // namespace internal

/// The handle `SendStep::on_published` (and the other hooks) return: disconnects the
/// callback it names. Copies name the same connection. Dropping the handle does **not**
/// disconnect (the callback stays for the hook's lifetime); use `ScopedConnection` for
/// that.
///
/// **Thread safety:** `disconnect` and `connected` may be called from any thread, also
/// while the hook fires (a callback already running finishes; it is not called again).
/// Safe to call after the hook's owner is gone. **Errors:** none.
///
/// **Example:**
/// @snippet publish_snippets_test.cpp connection
/// @snippet publish_snippets_test.cpp connection_disconnect
class Connection {
 public:
  Connection() noexcept = default;
  explicit Connection(std::shared_ptr<internal::ConnectionImpl> impl) noexcept : impl_(std::move(impl)) {}

  /// Disconnects the callback (idempotent).
  void disconnect();
  /// True while the callback is connected and its hook alive.
  [[nodiscard]] bool connected() const;

 private:
  std::shared_ptr<internal::ConnectionImpl> impl_;
};

/// A `Connection` that disconnects when destroyed (move-only).
class ScopedConnection {
 public:
  ScopedConnection() noexcept = default;
  ScopedConnection(Connection c) noexcept : c_(std::move(c)) {}  // NOLINT(google-explicit-constructor)
  ScopedConnection(ScopedConnection&& o) noexcept : c_(std::exchange(o.c_, Connection{})) {}
  ScopedConnection& operator=(ScopedConnection&& o) noexcept {
    if (this != &o) {
      c_.disconnect();
      c_ = std::exchange(o.c_, Connection{});
    }
    return *this;
  }
  ScopedConnection(const ScopedConnection&) = delete;
  ScopedConnection& operator=(const ScopedConnection&) = delete;
  ~ScopedConnection() { c_.disconnect(); }

  void disconnect() { c_.disconnect(); }
  [[nodiscard]] bool connected() const { return c_.connected(); }
  /// Gives up ownership: the callback stays connected.
  Connection release() noexcept { return std::exchange(c_, Connection{}); }

 private:
  Connection c_;
};

}  // namespace pipeline::inline v0

#ifdef PIPELINE_HEADER_ONLY
#include "pipeline/publish/connection-inl.hpp"
#endif
