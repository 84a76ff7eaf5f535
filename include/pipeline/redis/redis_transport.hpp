#pragma once
/// @file
/// `RedisTransport`: the `Transport` port on Redis Streams (target `pipeline::redis`), so
/// processes on several hosts share topics and subscriptions. No hiredis header leaks
/// from here.

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "pipeline/core/clock.hpp"
#include "pipeline/core/result.hpp"
#include "pipeline/core/transport.hpp"

namespace pipeline::inline v0 {

/// Options of `RedisTransport::open`.
struct RedisTransportOptions {
  /// Prepended to every key, so several pipelines share one Redis: `[A-Za-z0-9_.:-]`, at
  /// most 64 bytes (may be empty). A `key_prefix=` parameter of the URI replaces it.
  std::string key_prefix = "pipeline:";
  /// The password; when empty, the URI's password, else the environment variable named
  /// by `password_env` (when set and non-empty). Never logged or put in an error.
  std::string password;
  std::string password_env = "PIPELINE_REDIS_PASSWORD";
  /// How long opening one connection may take.
  std::chrono::milliseconds connect_timeout{2000};
  /// How long one command may take before the call returns `kUnavailable`.
  std::chrono::milliseconds command_timeout{2000};
  /// Connections shared by publishers and by settling calls (ack, nack, …), at most.
  std::size_t pool_size = 4;
  /// Unacknowledged messages one subscription may hold (delivered and not yet settled,
  /// plus not yet delivered). When any subscription of a topic holds this many,
  /// `publish` to that topic answers `kBackpressure` and the message goes nowhere.
  std::size_t max_unacked_per_subscription = 100000;
  /// Handler threads per subscription, each with its own connection and its own consumer
  /// in the group. 0 = pump mode: nothing is delivered until someone calls `pump()`.
  std::size_t handler_threads = 0;
  /// Messages one fetch takes at most.
  std::size_t fetch_batch = 64;
  /// Threaded mode: the longest a handler thread waits for new messages before it looks
  /// for due redeliveries again (the granularity of redelivery on a system clock).
  std::chrono::milliseconds poll_interval{100};
  /// After a connection fails, the first pause before the next connection attempt; it
  /// doubles per failure up to `max_reconnect_backoff`. Calls in between answer
  /// `kUnavailable` at once.
  std::chrono::milliseconds reconnect_backoff{20};
  std::chrono::milliseconds max_reconnect_backoff{1000};
  /// The consumer name of this process in every group (handler threads append `-<n>`);
  /// empty: `<hostname>-<pid>-<random>`.
  std::string consumer_name;
  /// Publishes between two retention passes over a topic (`trim`), per process.
  std::size_t trim_every = 1024;
};

/// `Transport` over Redis Streams (Redis 7.0 or later) through hiredis.
///
/// **Layout** (docs/architecture.md lists every key and field): a topic is the stream
/// `<prefix>topic:<topic>`; a subscription is a consumer group of that name, created at the
/// stream's end with `MKSTREAM`; each pump (or handler thread) is its own consumer. Due
/// times of delivered messages live in the sorted set `<prefix>sub:<name>:due`, scored in
/// milliseconds of the **injected clock**, so redelivery follows that clock; due entries
/// are taken over with `XCLAIM`, whose delivery count is `attempt()` across processes and
/// restarts. Fetching, `ack`, `nack`, `reject` and `extend_deadline` are each one Lua script
/// (atomic): a settling call checks that its lease is still the live one, and
/// dead-lettering acknowledges the message, appends it to the dead-letter topic and to the
/// subscription's dead-letter record in the same script.
///
/// **Order:** in pump mode or with one handler thread, first deliveries follow publish
/// order; redeliveries come in due order.
///
/// **Retention:** `trim` (every `trim_every` publishes, and on demand) drops entries below
/// a `MINID` that every group has acknowledged (its oldest pending entry, and its last
/// delivered one); nothing unacknowledged is ever trimmed. `publish` refuses with
/// `kBackpressure` when a subscription's unacknowledged count reaches the limit.
///
/// **Failures:** a broken connection is dropped; the next call reconnects after a backoff.
/// While Redis is down calls answer `kUnavailable` within `command_timeout` (or at once
/// during a backoff); handler threads retry on their own and deliveries resume once Redis
/// is back. Durability is Redis's: with `appendfsync always` an acknowledged `publish`
/// survives a server crash, with `everysec` up to a second of writes may be lost on power
/// loss (docs/operations.md). hiredis 0.14 has no TLS: run Redis on a private network or
/// behind a local TLS proxy.
///
/// **Thread safety:** every member may be called from any thread. hiredis connections
/// are not shared without a lock: publishers and settling calls take one from a pool of
/// `pool_size`; each handler thread and each pumped subscription has its own.
/// **Performance:** `publish` is one script call and one round trip; `publish_batch` is
/// one round trip and one script call per 256 messages (the script adds them with one
/// backlog check), which is what reaches 100k+ messages/s. Publishes from several threads
/// at once are group-committed: one of them sends everything queued as one pipelined
/// batch on one connection, consecutive calls to one topic merged into one script call.
/// A delivery costs its share of a fetch (one round trip per batch) and one round trip to
/// settle. docs/operations.md has the figures.
/// **Errors:** as the port; `open` → `kInvalidArgument` (malformed URI, bad option),
/// `kUnavailable` (cannot connect or authenticate). Messages never carry the password.
///
/// **Example:**
/// @code
///   pipeline::SystemClock clock;
///   auto redis = pipeline::RedisTransport::open(clock, "redis://127.0.0.1:6379/0", {.handler_threads = 2});
///   if (!redis) return fail(redis.error());
///   auto sub = (*redis)->subscribe({"phase3-sub", "acme-phase2-raw-complete", {}}, handler);
///   (*redis)->publish("acme-phase2-raw-complete", {"phase2/2025-11-18/orders_feed", json, {}});
/// @endcode
class RedisTransport final : public Transport {
 public:
  /// Connects to `uri` (`redis://[user:password@]host[:port][/db][?key_prefix=P]`) and
  /// checks the server.
  static Result<std::unique_ptr<RedisTransport>> open(Clock& clock, std::string_view uri,
                                                      RedisTransportOptions options = {});

  ~RedisTransport() override;
  RedisTransport(const RedisTransport&) = delete;
  RedisTransport& operator=(const RedisTransport&) = delete;

  Result<std::unique_ptr<Subscription>> subscribe(const SubscribeParams& config, Handler handler) override;
  Result<std::vector<DeadLetter>> dead_letters(std::string_view subscription) override;
  Status replay_dead_letter(std::string_view subscription, std::string_view id) override;
  /// `PING` on a pooled connection: `kUnavailable` when Redis cannot be reached within the
  /// timeouts (or a reconnect backoff is running).
  Status ping() override;

  /// Pump mode: fetches once for every attached subscription (new messages and due
  /// redeliveries) and runs their handlers on this thread. Returns how many deliveries
  /// it handed out; 0 also when Redis is unreachable. Call it until it returns 0 to
  /// settle. In threaded mode it does nothing and returns 0.
  std::size_t pump();

  /// Threaded mode: waits until no handler call runs and no attached subscription has a
  /// message to deliver (new, or due on the clock), or `timeout` passes (then
  /// `kDeadlineExceeded`). In pump mode it pumps until nothing is deliverable.
  Status wait_until_idle(std::chrono::milliseconds timeout = std::chrono::seconds(60));

  /// Retention: trims `topic`'s stream below what every group acknowledged. Returns the
  /// number of entries removed.
  Result<std::size_t> trim(std::string_view topic);

  /// Unacknowledged messages of `subscription` (its backlog counter).
  Result<std::size_t> unacked(std::string_view subscription);

  /// The key prefix in use.
  [[nodiscard]] const std::string& key_prefix() const noexcept;

  struct Impl;

 protected:
  Status do_publish(PublishParams params) override;
  /// One script call and one round trip per 256 messages; the calls go one after another
  /// and stop at the first refusal, so what was accepted is always a prefix.
  PublishBatchResult do_publish_batch(PublishBatchParams params) override;

 private:
  explicit RedisTransport(std::shared_ptr<Impl> impl);
  std::shared_ptr<Impl> impl_;
};

}  // namespace pipeline::inline v0
