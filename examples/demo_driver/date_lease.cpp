#include "demo_driver/date_lease.hpp"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <mutex>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "pipeline/core/manual_clock.hpp"
#include "pipeline/orchestrate/run_history.hpp"

namespace demo {

namespace {

std::string lease_key(pipeline::CalendarDate date) { return fmt::format("backfill/lease/{}", date); }

std::string host_name() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0) return "unknown-host";
  return buf;
}

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// This process: host, pid, and when it first held a lease (a pid the kernel reuses is
// then another holder). Looked up again after a fork: a child is not its parent.
nlohmann::json me() {
  static std::mutex mutex;
  static long pid = -1;
  static std::int64_t since = 0;
  std::lock_guard lock(mutex);
  if (pid != static_cast<long>(::getpid())) {
    pid = static_cast<long>(::getpid());
    since = now_ns();
  }
  return nlohmann::json{{"host", host_name()}, {"pid", pid}, {"since", since}};
}

bool same_holder(const nlohmann::json& a, const nlohmann::json& b) {
  return a.value("host", "") == b.value("host", "") && a.value("pid", -1L) == b.value("pid", -2L) &&
         a.value("since", std::int64_t{-1}) == b.value("since", std::int64_t{-2});
}

// A holder is alive while its lease lasts, unless it ran on this host and its pid is gone.
bool alive(const nlohmann::json& holder) {
  if (holder.value("until", std::int64_t{0}) <= now_ns()) return false;
  if (holder.value("host", "") != me()["host"].get<std::string>()) return true;
  const long pid = holder.value("pid", 0L);
  return pid > 0 && !(::kill(static_cast<pid_t>(pid), 0) == -1 && errno == ESRCH);
}

std::string describe(const nlohmann::json& holder) {
  return fmt::format("{} pid {}", holder.value("host", "?"), holder.value("pid", 0L));
}

}  // namespace

pipeline::Result<std::optional<DateLease>> acquire_date(pipeline::StateStore& store, pipeline::CalendarDate date,
                                                        const DateLeaseOptions& options) {
  const std::string key = lease_key(date);
  for (;;) {
    std::optional<std::string> got;  // taken from whom ("" = free); the lease is built after the commit
    auto st = store.transact([&](pipeline::Transaction& tx) -> pipeline::Status {
      got.reset();
      auto row = tx.get(key);
      if (!row) return pipeline::fail(row.error());
      std::string taken_from;
      if (row->has_value()) {
        const auto holder = nlohmann::json::parse(**row, nullptr, false);
        if (!holder.is_discarded() && !same_holder(holder, me())) {
          if (alive(holder)) return pipeline::ok();  // wait below
          taken_from = describe(holder);
        }
      }
      nlohmann::json mine = me();
      mine["until"] = now_ns() + std::chrono::duration_cast<std::chrono::nanoseconds>(options.lease).count();
      PIPELINE_TRY(tx.put(key, mine.dump()));
      got = std::move(taken_from);
      return pipeline::ok();
    });
    if (!st) return pipeline::fail(st.error());
    if (got) return std::optional<DateLease>(std::in_place, store, date, std::move(*got));
    if (options.done) {
      auto done = options.done();
      if (!done) return pipeline::fail(done.error());
      if (*done) return std::optional<DateLease>();
    }
    std::this_thread::sleep_for(options.poll);  // another live process runs the date
  }
}

pipeline::Status recover_date(pipeline::StateStore& store, pipeline::CalendarDate date, const std::string& taken_from) {
  pipeline::ManualClock at_morning{pipeline::TimePoint(date.sys_days())};
  auto history = pipeline::RunHistory::create(at_morning, store);
  if (!history) return pipeline::fail(history.error());
  auto ended = history->abandon_running(date, "the process running the date (" + taken_from + ") died");
  if (!ended) return pipeline::fail(ended.error());
  auto resent = store.requeue_outbox(pipeline::TimePoint(date.sys_days()));
  if (!resent) return pipeline::fail(resent.error());
  return pipeline::ok();
}

DateLease::~DateLease() {
  if (store_ == nullptr) return;
  // Only this process's own lease is erased: a lease taken over after this one expired
  // belongs to its new holder. A failure leaves the row to expire.
  const std::string key = lease_key(date_);
  pipeline::discard_result(store_->transact([&](pipeline::Transaction& tx) -> pipeline::Status {
    auto row = tx.get(key);
    if (!row) return pipeline::fail(row.error());
    if (!row->has_value()) return pipeline::ok();
    const auto holder = nlohmann::json::parse(**row, nullptr, false);
    if (holder.is_discarded() || !same_holder(holder, me())) return pipeline::ok();
    return tx.erase(key).map([](bool) {});
  }));
}

}  // namespace demo
