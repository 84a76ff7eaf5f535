#include "pipeline/core/best_effort_settle.hpp"
#include "pipeline/redis/redis_transport.hpp"

#include "pipeline/core/uri_parameter.hpp"

#include <hiredis/hiredis.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <charconv>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "pipeline/core/topics.hpp"
#include "redis_scripts.hpp"

namespace pipeline::inline v0 {
namespace {

using Steady = std::chrono::steady_clock;
using std::chrono::milliseconds;

struct ReplyDeleter {
  void operator()(redisReply* r) const noexcept {
    if (r != nullptr) freeReplyObject(r);
  }
};
using ReplyPtr = std::unique_ptr<redisReply, ReplyDeleter>;

struct Endpoint {
  std::string host;
  int port = 6379;
  std::string user;
  std::string password;
  int db = 0;
};

timeval to_timeval(milliseconds ms) {
  timeval tv{};
  tv.tv_sec = static_cast<decltype(tv.tv_sec)>(ms.count() / 1000);
  tv.tv_usec = static_cast<decltype(tv.tv_usec)>((ms.count() % 1000) * 1000);
  return tv;
}

std::string percent_decode(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      int v = 0;
      auto [p, ec] = std::from_chars(s.data() + i + 1, s.data() + i + 3, v, 16);
      if (ec == std::errc{} && p == s.data() + i + 3) {
        out.push_back(static_cast<char>(v));
        i += 2;
        continue;
      }
    }
    out.push_back(s[i]);
  }
  return out;
}

// redis://[user:password@]host[:port][/db]
Result<Endpoint> parse_uri(std::string_view uri) {
  constexpr std::string_view kScheme = "redis://";
  if (uri.substr(0, kScheme.size()) != kScheme)
    return fail(ErrorCode::kInvalidArgument, "Redis URI must start with redis:// (rediss:// and TLS are not supported)");
  std::string_view rest = uri.substr(kScheme.size());
  Endpoint ep;
  if (auto at = rest.rfind('@'); at != std::string_view::npos) {
    std::string_view cred = rest.substr(0, at);
    rest = rest.substr(at + 1);
    if (auto colon = cred.find(':'); colon != std::string_view::npos) {
      ep.user = percent_decode(cred.substr(0, colon));
      ep.password = percent_decode(cred.substr(colon + 1));
    } else {
      ep.password = percent_decode(cred);  // redis://secret@host: a password alone
    }
  }
  std::string_view hostport = rest;
  if (auto slash = rest.find('/'); slash != std::string_view::npos) {
    hostport = rest.substr(0, slash);
    std::string_view db = rest.substr(slash + 1);
    if (!db.empty()) {
      auto [p, ec] = std::from_chars(db.data(), db.data() + db.size(), ep.db);
      if (ec != std::errc{} || p != db.data() + db.size() || ep.db < 0)
        return fail(ErrorCode::kInvalidArgument, "Redis URI database '{}' is not a number", db);
    }
  }
  if (auto colon = hostport.rfind(':'); colon != std::string_view::npos) {
    std::string_view port = hostport.substr(colon + 1);
    auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), ep.port);
    if (ec != std::errc{} || p != port.data() + port.size() || ep.port <= 0 || ep.port > 65535)
      return fail(ErrorCode::kInvalidArgument, "Redis URI port '{}' is not a port number", port);
    hostport = hostport.substr(0, colon);
  }
  if (hostport.empty()) return fail(ErrorCode::kInvalidArgument, "Redis URI has no host");
  ep.host = std::string(hostport);
  return ep;
}

Error reply_error(std::string_view what, std::string_view text) {
  // Transient server states: loading its data after a restart, a busy script, a replica
  // cut off from its master.
  const bool transient = text.starts_with("LOADING") || text.starts_with("BUSY") ||
                         text.starts_with("MASTERDOWN") || text.starts_with("TRYAGAIN");
  return Error{transient ? ErrorCode::kUnavailable : ErrorCode::kInternal,
               fmt::format("redis: {} failed: {}", what, text), {}};
}

// The text of a string, status or error reply ("" for other types).
std::string_view str(const redisReply* r) {
  if (r == nullptr ||
      (r->type != REDIS_REPLY_STRING && r->type != REDIS_REPLY_STATUS && r->type != REDIS_REPLY_ERROR))
    return {};
  return {r->str, r->len};
}

long long integer(const redisReply* r) {
  if (r == nullptr) return 0;
  if (r->type == REDIS_REPLY_INTEGER) return r->integer;
  long long v = 0;
  auto s = str(r);
  std::from_chars(s.data(), s.data() + s.size(), v);
  return v;
}

// One hiredis context. Not thread-safe: its owner locks it.
class Connection {
 public:
  Connection(const Endpoint& ep, const RedisTransportOptions& o, milliseconds command_timeout)
      : ep_(ep), opt_(o), command_timeout_(command_timeout) {}
  ~Connection() { drop(); }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Runs one command (reconnecting first when needed). Error replies come back as
  // replies; only transport failures are errors.
  Result<ReplyPtr> command(const std::vector<std::string_view>& args, std::string_view what) {
    if (auto st = ensure(); !st) return fail(st.error());
    return raw(args, what);
  }

  // Runs the library's script with `keys` and `args`; an error reply becomes an Error.
  Result<ReplyPtr> eval(const std::vector<std::string_view>& keys, const std::vector<std::string_view>& args,
                        std::string_view what) {
    if (auto st = ensure(); !st) return fail(st.error());
    if (sha_.empty()) {
      auto loaded = raw({"SCRIPT", "LOAD", redis_detail::kScript}, "loading the script");
      if (!loaded) return loaded;
      if ((*loaded)->type == REDIS_REPLY_ERROR) return fail(reply_error("loading the script", str(loaded->get())));
      sha_ = std::string(str(loaded->get()));
    }
    std::vector<std::string_view> argv;
    argv.reserve(3 + keys.size() + args.size());
    const std::string nkeys = std::to_string(keys.size());
    argv.push_back("EVALSHA");
    argv.push_back(sha_);
    argv.push_back(nkeys);
    argv.insert(argv.end(), keys.begin(), keys.end());
    argv.insert(argv.end(), args.begin(), args.end());
    auto reply = raw(argv, what);
    if (!reply) return reply;
    if ((*reply)->type == REDIS_REPLY_ERROR && str(reply->get()).starts_with("NOSCRIPT")) {
      // The server restarted (or flushed its scripts): send the body once more.
      argv[0] = "EVAL";
      argv[1] = redis_detail::kScript;
      reply = raw(argv, what);
      if (!reply) return reply;
    }
    if ((*reply)->type == REDIS_REPLY_ERROR) return fail(reply_error(what, str(reply->get())));
    return reply;
  }

  // Pipelines several script calls: all are written, then all replies read (one round
  // trip for the batch). `calls[i]` is {keys, args}; each result is the reply or the
  // error `eval` would have returned. A broken connection fails the calls not yet
  // answered with kUnavailable (they may or may not have run).
  using Call = std::pair<std::vector<std::string_view>, std::vector<std::string_view>>;
  std::vector<Result<ReplyPtr>> eval_many(const std::vector<Call>& calls, std::string_view what) {
    std::vector<Result<ReplyPtr>> out;
    out.reserve(calls.size());
    if (calls.size() == 1) {
      out.push_back(eval(calls[0].first, calls[0].second, what));
      return out;
    }
    auto fail_all = [&](const Error& e) {
      for (auto& r : out)
        if (!r && r.error().message.empty()) r = fail(e);  // a NOSCRIPT placeholder never re-run
      while (out.size() < calls.size()) out.emplace_back(fail(e));
      return std::move(out);
    };
    if (auto st = ensure(); !st) return fail_all(st.error());
    if (sha_.empty()) {
      auto loaded = raw({"SCRIPT", "LOAD", redis_detail::kScript}, "loading the script");
      if (!loaded) return fail_all(loaded.error());
      if ((*loaded)->type == REDIS_REPLY_ERROR) return fail_all(reply_error("loading the script", str(loaded->get())));
      sha_ = std::string(str(loaded->get()));
    }
    std::vector<const char*> argv;
    std::vector<std::size_t> lens;
    for (const auto& [keys, args] : calls) {
      argv.clear();
      lens.clear();
      const std::string nkeys = std::to_string(keys.size());
      auto push = [&](std::string_view a) {
        argv.push_back(a.data());
        lens.push_back(a.size());
      };
      push("EVALSHA");
      push(sha_);
      push(nkeys);
      for (auto k : keys) push(k);
      for (auto a : args) push(a);
      redisAppendCommandArgv(c_, static_cast<int>(argv.size()), argv.data(), lens.data());
    }
    for (std::size_t i = 0; i < calls.size(); ++i) {
      void* r = nullptr;
      if (redisGetReply(c_, &r) != REDIS_OK || r == nullptr) {
        Error e{ErrorCode::kUnavailable,
                fmt::format("redis: {} failed: connection to {}:{} lost ({})", what, ep_.host, ep_.port, c_->errstr),
                {}};
        drop();
        backoff();
        return fail_all(e);
      }
      ReplyPtr reply(static_cast<redisReply*>(r));
      if (reply->type == REDIS_REPLY_ERROR && str(reply.get()).starts_with("NOSCRIPT")) {
        out.emplace_back(fail(Error{}));  // a placeholder: re-run below with the body
        continue;
      }
      if (reply->type == REDIS_REPLY_ERROR) {
        out.emplace_back(fail(reply_error(what, str(reply.get()))));
        continue;
      }
      out.emplace_back(std::move(reply));
    }
    for (std::size_t i = 0; i < calls.size(); ++i) {
      if (!out[i] && out[i].error().message.empty()) {
        sha_.clear();  // the server forgot the script: eval loads it again
        out[i] = eval(calls[i].first, calls[i].second, what);
      }
    }
    return out;
  }

  void drop() {
    if (c_ != nullptr) redisFree(c_);
    c_ = nullptr;
  }

 private:
  Result<ReplyPtr> raw(const std::vector<std::string_view>& args, std::string_view what) {
    std::vector<const char*> argv;
    std::vector<std::size_t> lens;
    argv.reserve(args.size());
    lens.reserve(args.size());
    for (auto a : args) {
      argv.push_back(a.data());
      lens.push_back(a.size());
    }
    auto* r = static_cast<redisReply*>(redisCommandArgv(c_, static_cast<int>(argv.size()), argv.data(), lens.data()));
    if (r == nullptr) {
      std::string why = c_->errstr;
      drop();
      backoff();
      return fail(ErrorCode::kUnavailable, "redis: {} failed: connection to {}:{} lost ({})", what, ep_.host,
                  ep_.port, why);
    }
    return ReplyPtr(r);
  }

  void backoff() {
    backoff_ = backoff_.count() == 0 ? opt_.reconnect_backoff : std::min(backoff_ * 2, opt_.max_reconnect_backoff);
    retry_at_ = Steady::now() + backoff_;
  }

  Status ensure() {
    if (c_ != nullptr) return ok();
    if (Steady::now() < retry_at_)
      return fail(ErrorCode::kUnavailable, "redis: {}:{} is unreachable; reconnecting after a pause", ep_.host,
                  ep_.port);
    c_ = redisConnectWithTimeout(ep_.host.c_str(), ep_.port, to_timeval(opt_.connect_timeout));
    if (c_ == nullptr || c_->err != 0) {
      std::string why = c_ != nullptr ? c_->errstr : "out of memory";
      drop();
      backoff();
      return fail(ErrorCode::kUnavailable, "redis: cannot connect to {}:{}: {}", ep_.host, ep_.port, why);
    }
    redisSetTimeout(c_, to_timeval(command_timeout_));
    redisEnableKeepAlive(c_);
    sha_.clear();
    if (!ep_.password.empty()) {
      std::vector<std::string_view> auth{"AUTH"};
      if (!ep_.user.empty()) auth.push_back(ep_.user);
      auth.push_back(ep_.password);
      auto r = raw(auth, "AUTH");
      if (!r) return fail(r.error());
      if ((*r)->type == REDIS_REPLY_ERROR) {
        // The server's text names no password; ours neither.
        Error e{ErrorCode::kUnavailable,
                fmt::format("redis: authentication to {}:{} failed: {}", ep_.host, ep_.port, str(r->get())), {}};
        drop();
        backoff();
        return fail(std::move(e));
      }
    }
    if (ep_.db != 0) {
      const std::string db = std::to_string(ep_.db);
      auto r = raw({"SELECT", db}, "SELECT");
      if (!r) return fail(r.error());
      if ((*r)->type == REDIS_REPLY_ERROR) {
        Error e = reply_error("SELECT", str(r->get()));
        drop();
        backoff();
        return fail(std::move(e));
      }
    }
    backoff_ = milliseconds{0};
    return ok();
  }

  Endpoint ep_;
  const RedisTransportOptions& opt_;
  milliseconds command_timeout_;
  redisContext* c_ = nullptr;
  std::string sha_;
  Steady::time_point retry_at_{};
  milliseconds backoff_{0};
};

struct Slot {
  std::mutex mu;
  std::unique_ptr<Connection> conn;
};

long long to_ms(TimePoint t) {
  return std::chrono::duration_cast<milliseconds>(t.time_since_epoch()).count();
}
long long to_ms(Duration d) { return std::chrono::duration_cast<milliseconds>(d).count(); }

Status validate_id(std::string_view id) {
  if (id.empty() || id.size() > 256)
    return fail(ErrorCode::kInvalidArgument, "message id must be 1 to 256 characters (got {})", id.size());
  for (char c : id)
    if (c < 0x20 || c > 0x7e)
      return fail(ErrorCode::kInvalidArgument, "message id '{}' must be printable ASCII", id.substr(0, 64));
  return ok();
}

Duration backoff_for(const SubscriptionSettings& s, int attempt) {
  Duration d = s.min_backoff;
  for (int i = 1; i < attempt && d < s.max_backoff; ++i) d *= 2;
  return std::min(d, s.max_backoff);
}

std::string default_consumer_name() {
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) != 0) host[0] = '\0';
  std::random_device rd;
  return fmt::format("{}-{}-{:08x}", host[0] != '\0' ? host : "host", ::getpid(), rd());
}

}  // namespace

// What one subscription's calls need: names and keys, fixed at subscribe time.
struct SubscriptionKeys {
  SubscribeParams config;
  std::string dlq_topic;
  std::string stream, groups, due, lease, error, dead, dlq_stream, dlq_groups, meta;
  std::vector<std::string_view> settle_keys() const {
    return {stream, groups, due, lease, error, dead, dlq_stream, dlq_groups};
  }
};


struct SubState {
  std::shared_ptr<const SubscriptionKeys> keys;
  Handler handler;
  std::string consumer;
  Slot pump_slot;  // pump mode: this subscription's own connection
  std::vector<std::thread> threads;
  std::atomic<bool> stopping{false};
  std::mutex run_mu;
  std::condition_variable run_cv;
  int running = 0;  // handler calls in progress
  std::atomic<int> in_flight{0};          // threads between the start of a fetch and the end of its dispatch
  std::atomic<std::uint64_t> fetches{0};  // fetches started
};

struct Fetched {
  std::string last_id;
  std::vector<std::shared_ptr<Delivery>> deliveries;
};

struct RedisTransport::Impl : std::enable_shared_from_this<RedisTransport::Impl> {
  Impl(Clock& c, Endpoint e, RedisTransportOptions o) : clock(c), ep(std::move(e)), opt(std::move(o)) {}

  Clock& clock;
  Endpoint ep;
  RedisTransportOptions opt;
  std::vector<std::unique_ptr<Slot>> pool;
  std::atomic<std::size_t> next_slot{0};
  std::mutex mu;  // attached, publish_counts
  std::map<std::string, std::shared_ptr<SubState>, std::less<>> attached;
  std::map<std::string, std::size_t, std::less<>> publish_counts;

  // Group commit of publishes: concurrent publishers queue their calls; one of them (the
  // flusher) sends everything queued on one connection, consecutive calls to one topic
  // merged into one script call, so N threads publishing at once pay about one round trip
  // and one script call instead of N. A call is never split: one caller's messages are one
  // script, all or a prefix.
  struct PublishCall {
    std::string_view topic;
    std::span<const OutgoingMessage> messages;  // the caller's; it waits until `done`
    std::size_t published = 0;
    std::string full_group;       // when not all were published: the group at its limit
    std::optional<Error> error;   // the script did not run, or failed
    bool done = false;
  };
  std::mutex pub_mu;
  std::condition_variable pub_cv;
  std::vector<PublishCall*> pub_queue;
  bool pub_flushing = false;
  // Messages one script call takes at most: a caller's larger batch becomes several calls,
  // sent one after another, and a script never holds the server for long.
  static constexpr std::size_t kMaxScriptMessages = 256;

  void submit(PublishCall& call);
  void send_publishes(const std::vector<PublishCall*>& batch);

  std::string key(std::string_view kind, std::string_view name, std::string_view suffix = {}) const {
    std::string k = opt.key_prefix;
    k.append(kind).append(":").append(name);
    if (!suffix.empty()) k.append(":").append(suffix);
    return k;
  }

  std::unique_ptr<Connection> new_connection(milliseconds command_timeout) const {
    return std::make_unique<Connection>(ep, opt, command_timeout);
  }

  // Runs `fn(Connection&)` on a pooled connection: a free one if any, else the next in turn.
  template <class Fn>
  auto with_connection(Fn&& fn) {
    const std::size_t n = pool.size();
    const std::size_t start = next_slot.fetch_add(1, std::memory_order_relaxed);
    for (std::size_t i = 0; i < n; ++i) {
      Slot& s = *pool[(start + i) % n];
      std::unique_lock lock(s.mu, std::try_to_lock);
      if (lock.owns_lock()) return fn(*s.conn);
    }
    Slot& s = *pool[start % n];
    std::lock_guard lock(s.mu);
    return fn(*s.conn);
  }

  Result<ReplyPtr> eval(const std::vector<std::string_view>& keys, const std::vector<std::string_view>& args,
                        std::string_view what) {
    return with_connection([&](Connection& c) { return c.eval(keys, args, what); });
  }

  std::shared_ptr<SubscriptionKeys> make_keys(const SubscribeParams& config) const {
    auto k = std::make_shared<SubscriptionKeys>();
    k->config = config;
    k->dlq_topic = config.settings.dead_letter_topic.empty() ? TopicNaming::dead_letter(config.topic)
                                                             : config.settings.dead_letter_topic;
    k->stream = key("topic", config.topic);
    k->groups = key("topic", config.topic, "groups");
    k->due = key("sub", config.name, "due");
    k->lease = key("sub", config.name, "lease");
    k->error = key("sub", config.name, "error");
    k->dead = key("sub", config.name, "dead");
    k->dlq_stream = key("topic", k->dlq_topic);
    k->dlq_groups = key("topic", k->dlq_topic, "groups");
    k->meta = key("sub", config.name);
    return k;
  }

  PublishBatchResult publish(std::string_view topic, std::span<const OutgoingMessage> messages);
  Result<Fetched> fetch(Connection& c, SubState& s, const std::string& consumer);
  std::size_t dispatch(SubState& s, Fetched& batch);
  void run_thread(std::shared_ptr<SubState> s, std::size_t index);
  Status settle(const SubscriptionKeys& k, std::string_view op, const std::string& eid, int attempt,
                std::vector<std::string> extra, std::string_view id);
  Result<std::size_t> trim(std::string_view topic);
  Result<bool> idle(const SubState& s);
  void detach(const std::shared_ptr<SubState>& s);
};

namespace {

class RedisDelivery final : public Delivery {
 public:
  RedisDelivery(std::shared_ptr<RedisTransport::Impl> impl, std::shared_ptr<const SubscriptionKeys> keys,
                std::string eid, int attempt, TimePoint deadline)
      : impl_(std::move(impl)), keys_(std::move(keys)), eid_(std::move(eid)), attempt_(attempt), deadline_(deadline) {}

  const std::string& id() const noexcept override { return id_; }
  const std::string& topic() const noexcept override { return keys_->config.topic; }
  const std::string& subscription() const noexcept override { return keys_->config.name; }
  const std::string& payload() const noexcept override { return payload_; }
  const Attributes& attributes() const noexcept override { return attributes_; }
  int attempt() const noexcept override { return attempt_; }
  TimePoint deadline() const override {
    std::lock_guard lock(mu_);
    return deadline_;
  }
  Status ack() override { return impl_->settle(*keys_, "ack", eid_, attempt_, {}, id_); }
  Status nack(std::string_view reason) override {
    const auto& s = keys_->config.settings;
    return impl_->settle(*keys_, "nack", eid_, attempt_,
                         {std::to_string(s.max_delivery_attempts), std::to_string(to_ms(backoff_for(s, attempt_))),
                          std::string(reason)},
                         id_);
  }
  Status reject(std::string_view reason) override {
    return impl_->settle(*keys_, "reject", eid_, attempt_, {std::string(reason)}, id_);
  }
  Status extend_deadline(Duration extension) override {
    const TimePoint due = impl_->clock.now() + extension;
    auto st = impl_->settle(*keys_, "extend", eid_, attempt_, {std::to_string(to_ms(due))}, id_);
    if (st) {
      std::lock_guard lock(mu_);
      deadline_ = due;
    }
    return st;
  }

  std::string id_;
  std::string payload_;
  Attributes attributes_;

 private:
  std::shared_ptr<RedisTransport::Impl> impl_;
  std::shared_ptr<const SubscriptionKeys> keys_;
  std::string eid_;
  int attempt_;
  mutable std::mutex mu_;
  TimePoint deadline_;
};

class RedisSubscription final : public Subscription {
 public:
  RedisSubscription(std::shared_ptr<RedisTransport::Impl> impl, std::shared_ptr<SubState> state)
      : impl_(std::move(impl)), state_(std::move(state)) {}
  ~RedisSubscription() override { close(); }
  const std::string& name() const noexcept override { return state_->keys->config.name; }
  void close() override {
    if (!closed_.exchange(true)) impl_->detach(state_);
  }

 private:
  std::shared_ptr<RedisTransport::Impl> impl_;
  std::shared_ptr<SubState> state_;
  std::atomic<bool> closed_{false};
};

}  // namespace

void RedisTransport::Impl::submit(PublishCall& call) {
  std::unique_lock lock(pub_mu);
  pub_queue.push_back(&call);
  for (;;) {
    pub_cv.wait(lock, [&] { return call.done || !pub_flushing; });
    if (call.done) return;
    // Nobody is sending: this thread sends what is queued (its own call included), up to
    // about kMaxScriptMessages messages per script call and 16 script calls per flush.
    pub_flushing = true;
    std::size_t n = 0, messages = 0;
    while (n < pub_queue.size() && (n == 0 || messages + pub_queue[n]->messages.size() <= 16 * kMaxScriptMessages))
      messages += pub_queue[n++]->messages.size();
    std::vector<PublishCall*> batch(pub_queue.begin(), pub_queue.begin() + static_cast<std::ptrdiff_t>(n));
    pub_queue.erase(pub_queue.begin(), pub_queue.begin() + static_cast<std::ptrdiff_t>(n));
    lock.unlock();
    send_publishes(batch);
    lock.lock();
    for (auto* c : batch) c->done = true;
    pub_flushing = false;
    pub_cv.notify_all();
  }
}

void RedisTransport::Impl::send_publishes(const std::vector<PublishCall*>& batch) {
  // One script call per run of calls to one topic (up to kMaxScriptMessages messages):
  // KEYS stream, groups; ARGV "publish", limit, then per message its field count and fields.
  struct Script {
    std::size_t first = 0, last = 0;  // calls [first, last)
    Connection::Call call;
  };
  std::deque<std::string> strings;  // what the arguments point into (a deque never moves them)
  const std::string& limit = strings.emplace_back(std::to_string(opt.max_unacked_per_subscription));
  std::vector<Script> scripts;
  for (std::size_t i = 0; i < batch.size();) {
    Script& sc = scripts.emplace_back();
    sc.first = i;
    std::size_t messages = 0;
    do messages += batch[i++]->messages.size();
    while (i < batch.size() && batch[i]->topic == batch[sc.first]->topic &&
           messages + batch[i]->messages.size() <= kMaxScriptMessages);
    sc.last = i;
    const std::string_view topic = batch[sc.first]->topic;
    sc.call.first = {strings.emplace_back(key("topic", topic)), strings.emplace_back(key("topic", topic, "groups"))};
    auto& args = sc.call.second;
    args.push_back("publish");
    args.push_back(limit);
    for (std::size_t c = sc.first; c < sc.last; ++c) {
      for (const auto& m : batch[c]->messages) {
        args.push_back(strings.emplace_back(std::to_string(4 + 2 * m.attributes.size())));
        args.insert(args.end(), {"id", m.id, "payload", m.payload});
        for (const auto& [k, v] : m.attributes) {
          args.push_back(strings.emplace_back("a:" + k));
          args.push_back(v);
        }
      }
    }
  }
  std::vector<Connection::Call> calls;
  calls.reserve(scripts.size());
  for (auto& sc : scripts) calls.push_back(std::move(sc.call));
  auto replies = with_connection([&](Connection& conn) { return conn.eval_many(calls, "publish"); });
  for (std::size_t s = 0; s < scripts.size(); ++s) {
    const Script& sc = scripts[s];
    const redisReply* r = replies[s] ? replies[s]->get() : nullptr;
    if (replies[s] && (r->type != REDIS_REPLY_ARRAY || r->elements != 2))
      replies[s] = fail(ErrorCode::kInternal, "redis: publish got an unexpected reply");
    if (!replies[s]) {
      for (std::size_t c = sc.first; c < sc.last; ++c) batch[c]->error = replies[s].error();
      continue;
    }
    // The script published a prefix of the merged messages: share it out in call order.
    auto left = static_cast<std::size_t>(std::max<long long>(0, integer(r->element[0])));
    for (std::size_t c = sc.first; c < sc.last; ++c) {
      batch[c]->published = std::min(left, batch[c]->messages.size());
      left -= batch[c]->published;
      batch[c]->full_group = str(r->element[1]);
    }
  }
}

PublishBatchResult RedisTransport::Impl::publish(std::string_view topic, std::span<const OutgoingMessage> messages) {
  PublishBatchResult out;
  if (auto st = TopicNaming::validate_topic_name(topic); !st) {
    out.status = st;
    return out;
  }
  // Only the messages before the first invalid one are sent; that one is then the refusal.
  std::size_t valid = 0;
  Status invalid;
  for (; valid < messages.size(); ++valid)
    if (invalid = validate_id(messages[valid].id); !invalid) break;
  while (out.published < valid) {
    PublishCall call;
    call.topic = topic;
    call.messages = messages.subspan(out.published, std::min(kMaxScriptMessages, valid - out.published));
    submit(call);
    out.published += call.published;
    if (call.error) {
      out.status = fail(call.error->with("topic", std::string(topic)));
      break;
    }
    if (call.published < call.messages.size()) {
      out.status = fail(Error{ErrorCode::kBackpressure,
                              fmt::format("subscription '{}' of topic '{}' holds {} unacknowledged messages (the "
                                          "limit); publish refused, retry after consumers catch up",
                                          call.full_group, topic, opt.max_unacked_per_subscription),
                              {{"topic", std::string(topic)}}});
      break;
    }
  }
  if (out.status && !invalid) out.status = invalid;
  bool trim_now = false;
  if (out.published > 0) {
    std::lock_guard lock(mu);
    auto& n = publish_counts[std::string(topic)];
    n += out.published;
    if (n >= opt.trim_every) {
      n = 0;
      trim_now = true;
    }
  }
  if (trim_now) discard_result(trim(topic));  // retention is best effort; the next pass catches up
  return out;
}

Result<std::size_t> RedisTransport::Impl::trim(std::string_view topic) {
  if (auto st = TopicNaming::validate_topic_name(topic); !st) return fail(st.error());
  const std::string stream = key("topic", topic);
  auto reply = eval({stream}, {"trim"}, "trim");
  if (!reply) return fail(reply.error());
  return static_cast<std::size_t>(integer(reply->get()));
}

Result<Fetched> RedisTransport::Impl::fetch(Connection& c, SubState& s, const std::string& consumer) {
  const SubscriptionKeys& k = *s.keys;
  const TimePoint now = clock.now();
  const std::string now_ms = std::to_string(to_ms(now));
  const std::string deadline = std::to_string(to_ms(k.config.settings.ack_deadline));
  const std::string max = std::to_string(k.config.settings.max_delivery_attempts);
  const std::string count = std::to_string(opt.fetch_batch);
  std::vector<std::string_view> args{"fetch", k.config.name, k.config.topic, now_ms, consumer, deadline, max, count};
  auto reply = c.eval(k.settle_keys(), args, "fetch");
  if (!reply) return fail(reply.error());
  const redisReply* r = reply->get();
  if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 || r->element[1]->type != REDIS_REPLY_ARRAY)
    return fail(ErrorCode::kInternal, "redis: fetch got an unexpected reply");
  Fetched out;
  out.last_id = std::string(str(r->element[0]));
  auto self = shared_from_this();
  const TimePoint deadline_at = now + k.config.settings.ack_deadline;
  for (std::size_t i = 0; i < r->element[1]->elements; ++i) {
    const redisReply* e = r->element[1]->element[i];
    if (e->type != REDIS_REPLY_ARRAY || e->elements != 3) continue;
    auto d = std::make_shared<RedisDelivery>(self, s.keys, std::string(str(e->element[0])),
                                             static_cast<int>(integer(e->element[1])), deadline_at);
    const redisReply* f = e->element[2];
    for (std::size_t j = 0; f->type == REDIS_REPLY_ARRAY && j + 1 < f->elements; j += 2) {
      std::string_view name = str(f->element[j]);
      std::string_view value = str(f->element[j + 1]);
      if (name == "id") {
        d->id_ = value;
      } else if (name == "payload") {
        d->payload_ = value;
      } else if (name.starts_with("a:")) {
        d->attributes_.emplace(std::string(name.substr(2)), std::string(value));
      }
    }
    out.deliveries.push_back(std::move(d));
  }
  return out;
}

std::size_t RedisTransport::Impl::dispatch(SubState& s, Fetched& batch) {
  std::size_t handled = 0;
  for (auto& d : batch.deliveries) {
    {
      std::lock_guard lock(s.run_mu);
      if (s.stopping) break;  // closed: what is left is redelivered after its deadline
      ++s.running;
    }
    try {
      s.handler(d);
    } catch (const std::exception& e) {
      best_effort_nack(*d, e.what());
    } catch (...) {
      best_effort_nack(*d, "handler threw a non-standard exception");
    }
    ++handled;
    {
      std::lock_guard lock(s.run_mu);
      --s.running;
    }
    s.run_cv.notify_all();
  }
  return handled;
}

void RedisTransport::Impl::run_thread(std::shared_ptr<SubState> s, std::size_t index) {
  // Blocking reads wait up to poll_interval on top of the command timeout.
  auto conn = new_connection(opt.command_timeout + opt.poll_interval);
  const std::string consumer = fmt::format("{}-{}", s->consumer, index);
  const std::string block_ms = std::to_string(std::max<long long>(1, opt.poll_interval.count()));
  while (!s->stopping) {
    s->in_flight.fetch_add(1);
    s->fetches.fetch_add(1);
    auto batch = fetch(*conn, *s, consumer);
    if (batch && !batch->deliveries.empty()) dispatch(*s, *batch);
    s->in_flight.fetch_sub(1);
    if (!batch) {
      // Redis is down or refused: wait a little (or until closed) and retry.
      std::unique_lock lock(s->run_mu);
      s->run_cv.wait_for(lock, opt.reconnect_backoff, [&] { return s->stopping.load(); });
      continue;
    }
    if (batch->deliveries.size() < opt.fetch_batch && !s->stopping) {
      // Wait for anything newer than what the group has seen, up to poll_interval. Only the
      // wait matters: a failed XREAD shows again, and is handled, in the next XREADGROUP.
      discard_result(conn->command({"XREAD", "COUNT", "1", "BLOCK", block_ms, "STREAMS", s->keys->stream, batch->last_id},
                          "waiting for messages"));
    }
  }
}

Status RedisTransport::Impl::settle(const SubscriptionKeys& k, std::string_view op, const std::string& eid,
                                    int attempt, std::vector<std::string> extra, std::string_view id) {
  const std::string now_ms = std::to_string(to_ms(clock.now()));
  const std::string attempt_s = std::to_string(attempt);
  std::vector<std::string_view> args{op, k.config.name, k.config.topic, now_ms, eid, attempt_s};
  for (const auto& e : extra) args.push_back(e);
  auto reply = eval(k.settle_keys(), args, op);
  if (!reply) return fail(reply.error().with("subscription", k.config.name));
  if (integer(reply->get()) == 0)
    return fail(Error{ErrorCode::kFailedPrecondition,
                      fmt::format("delivery {} of '{}' to subscription '{}' is already settled or its lease was lost "
                                  "(it was redelivered)",
                                  attempt, id, k.config.name),
                      {{"subscription", k.config.name}}});
  return ok();
}

Result<bool> RedisTransport::Impl::idle(const SubState& s) {
  const std::string now_ms = std::to_string(to_ms(clock.now()));
  auto reply = eval({s.keys->stream, s.keys->due}, {"idle", s.keys->config.name, now_ms}, "idle");
  if (!reply) return fail(reply.error());
  return integer(reply->get()) == 1;
}

void RedisTransport::Impl::detach(const std::shared_ptr<SubState>& s) {
  {
    std::lock_guard lock(mu);
    auto it = attached.find(s->keys->config.name);
    if (it != attached.end() && it->second == s) attached.erase(it);
  }
  {
    std::lock_guard lock(s->run_mu);
    s->stopping = true;
  }
  s->run_cv.notify_all();
  for (auto& t : s->threads) {
    if (t.get_id() == std::this_thread::get_id()) {
      t.detach();  // closed from its own handler: it ends after this call returns
    } else if (t.joinable()) {
      t.join();
    }
  }
  {
    std::unique_lock lock(s->run_mu);
    s->run_cv.wait(lock, [&] { return s->running == 0; });
  }
  // Leave no empty consumers behind (one with pending entries stays until they are
  // claimed by others; Redis deletes a consumer's pending entries with it).
  std::vector<std::string> consumers{s->consumer};
  for (std::size_t i = 0; i < s->threads.size(); ++i) consumers.push_back(fmt::format("{}-{}", s->consumer, i));
  // Tidiness only: a consumer left behind holds nothing and is forgotten by the next close.
  for (const auto& c : consumers)
    discard_result(eval({s->keys->stream}, {"forget-consumer", s->keys->config.name, c}, "forgetting a consumer"));
}

// ---- RedisTransport --------------------------------------------------------------------

RedisTransport::RedisTransport(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

RedisTransport::~RedisTransport() {
  std::vector<std::shared_ptr<SubState>> subs;
  {
    std::lock_guard lock(impl_->mu);
    for (auto& [name, s] : impl_->attached) subs.push_back(s);
  }
  for (auto& s : subs) impl_->detach(s);
}

Result<std::unique_ptr<RedisTransport>> RedisTransport::open(Clock& clock, std::string_view uri,
                                                             RedisTransportOptions options) {
  std::string server(uri);
  if (auto prefix = internal::take_uri_parameter(server, "key_prefix")) options.key_prefix = *prefix;
  if (server.find('?') != std::string::npos)
    return fail(ErrorCode::kInvalidArgument, "Redis URI parameters other than key_prefix are not known");
  auto ep = parse_uri(server);
  if (!ep) return fail(ep.error());
  if (options.key_prefix.size() > 64)
    return fail(ErrorCode::kInvalidArgument, "key_prefix must be at most 64 bytes (got {})", options.key_prefix.size());
  for (char c : options.key_prefix)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == ':' || c == '-'))
      return fail(ErrorCode::kInvalidArgument, "key_prefix '{}' may hold only letters, digits and _ . : -",
                  options.key_prefix);
  if (options.pool_size == 0) return fail(ErrorCode::kInvalidArgument, "pool_size must be at least 1");
  if (options.fetch_batch == 0) return fail(ErrorCode::kInvalidArgument, "fetch_batch must be at least 1");
  if (options.max_unacked_per_subscription == 0)
    return fail(ErrorCode::kInvalidArgument, "max_unacked_per_subscription must be at least 1");
  if (options.connect_timeout.count() <= 0 || options.command_timeout.count() <= 0 ||
      options.poll_interval.count() <= 0 || options.reconnect_backoff.count() <= 0 ||
      options.max_reconnect_backoff < options.reconnect_backoff)
    return fail(ErrorCode::kInvalidArgument,
                "timeouts, poll_interval and reconnect_backoff must be positive (max_reconnect_backoff >= "
                "reconnect_backoff)");
  if (options.trim_every == 0) options.trim_every = 1;
  if (!options.password.empty()) {
    ep->password = options.password;
  } else if (ep->password.empty() && !options.password_env.empty()) {
    if (const char* env = std::getenv(options.password_env.c_str()); env != nullptr) ep->password = env;
  }
  options.password.clear();  // kept once, in the endpoint
  if (options.consumer_name.empty()) options.consumer_name = default_consumer_name();
  auto impl = std::make_shared<Impl>(clock, std::move(*ep), std::move(options));
  for (std::size_t i = 0; i < impl->opt.pool_size; ++i) {
    impl->pool.push_back(std::make_unique<Slot>());
    impl->pool.back()->conn = impl->new_connection(impl->opt.command_timeout);
  }
  auto pong = impl->with_connection([](Connection& c) { return c.command({"PING"}, "PING"); });
  if (!pong) return fail(pong.error());
  if ((*pong)->type == REDIS_REPLY_ERROR) return fail(reply_error("PING", str(pong->get())));
  return std::unique_ptr<RedisTransport>(new RedisTransport(std::move(impl)));
}

Status RedisTransport::do_publish(PublishParams params) {
  return impl_->publish(params.topic, {&params.message, 1}).status;
}

PublishBatchResult RedisTransport::do_publish_batch(PublishBatchParams params) {
  return impl_->publish(params.topic, params.messages);
}

Result<std::unique_ptr<Subscription>> RedisTransport::subscribe(const SubscribeParams& config, Handler handler) {
  if (auto st = TopicNaming::validate_topic_name(config.topic); !st) return fail(st.error());
  if (auto st = TopicNaming::validate_topic_name(config.name); !st)
    return fail(ErrorCode::kInvalidArgument, "subscription name '{}' is not valid: {}", config.name,
                st.error().message);
  if (!config.settings.dead_letter_topic.empty())
    if (auto st = TopicNaming::validate_topic_name(config.settings.dead_letter_topic); !st) return fail(st.error());
  if (!handler) return fail(ErrorCode::kInvalidArgument, "subscribe needs a handler");
  if (config.settings.max_delivery_attempts < 1)
    return fail(ErrorCode::kInvalidArgument, "max_delivery_attempts must be at least 1");
  if (config.settings.ack_deadline <= Duration::zero())
    return fail(ErrorCode::kInvalidArgument, "ack_deadline must be positive");
  auto keys = impl_->make_keys(config);
  std::lock_guard lock(impl_->mu);
  if (impl_->attached.contains(config.name))
    return fail(Error{ErrorCode::kAlreadyExists,
                      fmt::format("a handler is already attached to subscription '{}'", config.name),
                      {{"subscription", config.name}}});
  auto reply = impl_->eval({keys->stream, keys->groups, keys->meta}, {"subscribe", config.name, config.topic},
                           "subscribe");
  if (!reply) return fail(reply.error());
  const redisReply* r = reply->get();
  if (r->type == REDIS_REPLY_ARRAY && r->elements == 2 && integer(r->element[0]) == 0)
    return fail(ErrorCode::kInvalidArgument, "subscription '{}' is on topic '{}', not '{}'", config.name,
                str(r->element[1]), config.topic);
  auto state = std::make_shared<SubState>();
  state->keys = std::move(keys);
  state->handler = std::move(handler);
  state->consumer = fmt::format("{}-{}", impl_->opt.consumer_name, config.name);
  state->pump_slot.conn = impl_->new_connection(impl_->opt.command_timeout);
  impl_->attached.emplace(config.name, state);
  for (std::size_t i = 0; i < impl_->opt.handler_threads; ++i)
    state->threads.emplace_back([impl = impl_, state, i] { impl->run_thread(state, i); });
  return std::unique_ptr<Subscription>(new RedisSubscription(impl_, state));
}

Result<std::vector<DeadLetter>> RedisTransport::dead_letters(std::string_view subscription) {
  if (auto st = TopicNaming::validate_topic_name(subscription); !st) return fail(st.error());
  const std::string dead = impl_->key("sub", subscription, "dead");
  auto reply = impl_->with_connection(
      [&](Connection& c) { return c.command({"XRANGE", dead, "-", "+"}, "listing dead letters"); });
  if (!reply) return fail(reply.error());
  const redisReply* r = reply->get();
  if (r->type == REDIS_REPLY_ERROR) return fail(reply_error("listing dead letters", str(r)));
  std::vector<DeadLetter> out;
  for (std::size_t i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements; ++i) {
    const redisReply* e = r->element[i];
    if (e->type != REDIS_REPLY_ARRAY || e->elements != 2) continue;
    const redisReply* f = e->element[1];
    DeadLetter dl;
    dl.subscription = std::string(subscription);
    for (std::size_t j = 0; f->type == REDIS_REPLY_ARRAY && j + 1 < f->elements; j += 2) {
      std::string_view name = str(f->element[j]);
      const redisReply* v = f->element[j + 1];
      if (name == "id") dl.id = str(v);
      else if (name == "payload") dl.payload = str(v);
      else if (name == "topic") dl.source_topic = str(v);
      else if (name == "attempts") dl.attempts = static_cast<int>(integer(v));
      else if (name == "error") dl.last_error = str(v);
      else if (name == "at") dl.dead_lettered_at = TimePoint{} + milliseconds{integer(v)};
      else if (name.starts_with("a:")) dl.attributes.emplace(std::string(name.substr(2)), std::string(str(v)));
    }
    out.push_back(std::move(dl));
  }
  return out;
}

Status RedisTransport::replay_dead_letter(std::string_view subscription, std::string_view id) {
  if (auto st = TopicNaming::validate_topic_name(subscription); !st) return st;
  const std::string meta = impl_->key("sub", subscription);
  auto topic = impl_->with_connection([&](Connection& c) { return c.command({"HGET", meta, "topic"}, "HGET"); });
  if (!topic) return fail(topic.error());
  if ((*topic)->type != REDIS_REPLY_STRING)
    return fail(ErrorCode::kNotFound, "no subscription '{}' in this Redis (prefix '{}')", subscription,
                impl_->opt.key_prefix);
  const std::string t(str(topic->get()));
  const std::string dead = impl_->key("sub", subscription, "dead");
  const std::string stream = impl_->key("topic", t);
  const std::string groups = impl_->key("topic", t, "groups");
  auto reply = impl_->eval({dead, stream, groups}, {"replay", subscription, id}, "replay");
  if (!reply) return fail(reply.error());
  if (integer(reply->get()) == 0)
    return fail(Error{ErrorCode::kNotFound,
                      fmt::format("subscription '{}' has no dead letter with id '{}'", subscription, id),
                      {{"subscription", std::string(subscription)}}});
  return ok();
}

Status RedisTransport::ping() {
  auto pong = impl_->with_connection([](Connection& c) { return c.command({"PING"}, "PING"); });
  if (!pong) return fail(pong.error());
  if ((*pong)->type == REDIS_REPLY_ERROR) return fail(reply_error("PING", str(pong->get())));
  return ok();
}

std::size_t RedisTransport::pump() {
  if (impl_->opt.handler_threads > 0) return 0;
  std::vector<std::shared_ptr<SubState>> subs;
  {
    std::lock_guard lock(impl_->mu);
    for (auto& [name, s] : impl_->attached) subs.push_back(s);
  }
  std::size_t total = 0;
  for (auto& s : subs) {
    if (s->stopping) continue;
    Result<Fetched> batch = fail(ErrorCode::kInternal, "");
    {
      std::lock_guard lock(s->pump_slot.mu);
      batch = impl_->fetch(*s->pump_slot.conn, *s, s->consumer);
    }
    if (batch) total += impl_->dispatch(*s, *batch);
  }
  return total;
}

Status RedisTransport::wait_until_idle(std::chrono::milliseconds timeout) {
  const auto give_up = Steady::now() + timeout;
  if (impl_->opt.handler_threads == 0) {
    while (pump() > 0) {
      if (Steady::now() >= give_up) return fail(ErrorCode::kDeadlineExceeded, "wait_until_idle: still delivering");
    }
    return ok();
  }
  for (;;) {
    std::vector<std::shared_ptr<SubState>> subs;
    {
      std::lock_guard lock(impl_->mu);
      for (auto& [name, s] : impl_->attached) subs.push_back(s);
    }
    bool all_idle = true;
    for (auto& s : subs) {
      const auto fetches = s->fetches.load();
      if (s->in_flight.load() != 0) {
        all_idle = false;
        break;
      }
      auto server_idle = impl_->idle(*s);
      if (!server_idle || !*server_idle || s->in_flight.load() != 0 || s->fetches.load() != fetches) {
        all_idle = false;
        break;
      }
    }
    if (all_idle) return ok();
    if (Steady::now() >= give_up)
      return fail(ErrorCode::kDeadlineExceeded, "wait_until_idle: deliveries still pending after {} ms",
                  timeout.count());
    std::this_thread::sleep_for(milliseconds(1));
  }
}

Result<std::size_t> RedisTransport::trim(std::string_view topic) { return impl_->trim(topic); }

Result<std::size_t> RedisTransport::unacked(std::string_view subscription) {
  if (auto st = TopicNaming::validate_topic_name(subscription); !st) return fail(st.error());
  const std::string meta = impl_->key("sub", subscription);
  auto topic = impl_->with_connection([&](Connection& c) { return c.command({"HGET", meta, "topic"}, "HGET"); });
  if (!topic) return fail(topic.error());
  if ((*topic)->type != REDIS_REPLY_STRING) return std::size_t{0};
  const std::string groups = impl_->key("topic", str(topic->get()), "groups");
  const std::string name(subscription);
  auto n = impl_->with_connection([&](Connection& c) { return c.command({"HGET", groups, name}, "HGET"); });
  if (!n) return fail(n.error());
  return static_cast<std::size_t>(std::max<long long>(0, integer(n->get())));
}

const std::string& RedisTransport::key_prefix() const noexcept { return impl_->opt.key_prefix; }

}  // namespace pipeline::inline v0
