// pipelinectl backfill: every date in a range through all five phases, resumable.
// A finished date leaves the row `backfill/done/<date>` (its summary) in the store, written
// after the day's own decisions committed; a re-run skips those dates and finishes the
// rest. The day itself is idempotent (run history per processor/date/wave, tracker rows
// per processor/wave), so a date interrupted half-way is simply run again.
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <system_error>
#include <cstdio>
#include <memory>
#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "backfill_runner.hpp"
#include "command.hpp"
#include "pipeline/core/calendar_date.hpp"
#include "store_uri.hpp"

namespace cmd_backfill {

struct Options {
  std::string from;
  std::string to;
  int days = 0;
  int stop_after = 0;  ///< Stop after running this many dates (simulates an interruption).
  std::string store = "memory";
  std::string work_dir;  ///< Warehouse and scraped files; empty: a fresh temporary directory.
  bool json = false;
};

std::string done_key(pipeline::CalendarDate d) { return fmt::format("backfill/done/{}", d); }

/// Progress on stderr: a redrawn bar on a terminal, one plain line per date otherwise.
class Progress {
 public:
  explicit Progress(int total) : total_(total), tty_(::isatty(2) == 1) {}

  void update(int index, pipeline::CalendarDate date, bool skipped, double seconds) {
    if (tty_) {
      constexpr int kWidth = 30;
      const int filled = total_ > 0 ? (index * kWidth) / total_ : kWidth;
      std::fprintf(stderr, "\r[%s%s] %d/%d %s %s %.1fs ", std::string(static_cast<std::size_t>(filled), '#').c_str(),
                   std::string(static_cast<std::size_t>(kWidth - filled), '-').c_str(), index, total_,
                   date.to_string().c_str(), skipped ? "skipped" : "done   ", seconds);
      std::fflush(stderr);
    } else {
      std::fprintf(stderr, "backfill %s %s (%d/%d, %.1fs)\n", date.to_string().c_str(),
                   skipped ? "skipped (already complete)" : "done", index, total_, seconds);
    }
  }

  void finish() const {
    if (tty_) std::fputc('\n', stderr);
  }

 private:
  int total_;
  bool tty_;
};

int run(const Options& opts) {
  auto from = pipeline::CalendarDate::parse(opts.from);
  if (!from) {
    std::fprintf(stderr, "pipelinectl backfill: --from: %s\n", from.error().message.c_str());
    return pipelinectl::kExitUsage;
  }
  pipeline::CalendarDate to = *from;
  if (!opts.to.empty()) {
    auto t = pipeline::CalendarDate::parse(opts.to);
    if (!t) {
      std::fprintf(stderr, "pipelinectl backfill: --to: %s\n", t.error().message.c_str());
      return pipelinectl::kExitUsage;
    }
    to = *t;
  } else if (opts.days > 0) {
    to = from->plus_days(opts.days - 1);
  } else {
    std::fprintf(stderr, "pipelinectl backfill: give --to D or --days N (N >= 1)\n");
    return pipelinectl::kExitUsage;
  }
  if (to < *from) {
    std::fprintf(stderr, "pipelinectl backfill: --to %s is before --from %s\n", to.to_string().c_str(),
                 from->to_string().c_str());
    return pipelinectl::kExitUsage;
  }
  const pipelinectl::DayRunner& run_day = pipelinectl::day_runner();
  if (!run_day) {
    std::fprintf(stderr, "pipelinectl backfill: this pipelinectl was built without the demo driver\n");
    return pipelinectl::kExitFailed;
  }
  auto store = pipelinectl::open_store(opts.store, pipelinectl::StoreAccess::kCreate);
  if (!store) {
    std::fprintf(stderr, "pipelinectl backfill: %s\n", store.error().message.c_str());
    return store.error().code == pipeline::ErrorCode::kInvalidArgument ? pipelinectl::kExitUsage
                                                                       : pipelinectl::kExitFailed;
  }

  std::filesystem::path work_dir = opts.work_dir;
  if (work_dir.empty())
    work_dir = std::filesystem::temp_directory_path() / fmt::format("pipelinectl-backfill-{}", ::getpid());
  std::error_code ec;
  std::filesystem::create_directories(work_dir, ec);
  if (ec) {
    std::fprintf(stderr, "pipelinectl backfill: --work-dir %s: %s\n", work_dir.string().c_str(),
                 ec.message().c_str());
    return pipelinectl::kExitUsage;
  }

  // The tool's own elapsed time (what the operator waits), not pipeline time.
  const auto started = std::chrono::steady_clock::now();
  auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count(); };
  const int total = from->days_until(to) + 1;
  Progress progress(total);
  int ran = 0;
  int skipped = 0;
  bool interrupted = false;
  nlohmann::json days = nlohmann::json::array();
  for (int i = 0; i < total; ++i) {
    const pipeline::CalendarDate date = from->plus_days(i);
    auto done = (*store)->get(done_key(date));
    if (!done) {
      progress.finish();
      std::fprintf(stderr, "pipelinectl backfill: %s: %s\n", date.to_string().c_str(),
                   done.error().to_string().c_str());
      return pipelinectl::kExitFailed;
    }
    if (done->has_value()) {
      ++skipped;
      days.push_back({{"date", date.to_string()}, {"status", "skipped"}});
      progress.update(i + 1, date, true, elapsed());
      continue;
    }
    if (opts.stop_after > 0 && ran >= opts.stop_after) {
      interrupted = true;
      break;
    }
    auto summary = run_day(**store, date, work_dir);
    if (!summary) {
      progress.finish();
      std::fprintf(stderr, "pipelinectl backfill: %s: %s\n", date.to_string().c_str(),
                   summary.error().to_string().c_str());
      return pipelinectl::kExitFailed;
    }
    auto st = (*store)->transact([&](pipeline::Transaction& tx) -> pipeline::Status {
      return tx.put(done_key(date), summary->dump());
    });
    if (!st) {
      progress.finish();
      std::fprintf(stderr, "pipelinectl backfill: %s: %s\n", date.to_string().c_str(), st.error().to_string().c_str());
      return pipelinectl::kExitFailed;
    }
    ++ran;
    days.push_back({{"date", date.to_string()}, {"status", "ran"}, {"summary", std::move(*summary)}});
    progress.update(i + 1, date, false, elapsed());
  }
  progress.finish();
  const double seconds = elapsed();
  const int remaining = total - ran - skipped;
  if (opts.json) {
    nlohmann::json j{{"from", from->to_string()}, {"to", to.to_string()},   {"dates", total},
                     {"ran", ran},                {"skipped", skipped},     {"remaining", remaining},
                     {"complete", remaining == 0}, {"interrupted", interrupted}, {"seconds", seconds},
                     {"days", std::move(days)}};
    std::printf("%s\n", j.dump(2).c_str());
  } else {
    std::printf("%s\n", fmt::format("backfill {} .. {}: {} dates, {} ran, {} skipped (already complete), {} remaining "
                                    "in {:.2f}s{}",
                                    *from, to, total, ran, skipped, remaining, seconds,
                                    interrupted ? " (stopped early: re-run to finish)" : "")
                            .c_str());
  }
  return pipelinectl::kExitOk;  // a --stop-after run did what was asked; the JSON says what remains
}

const pipelinectl::Registrar kRegistrar{
    {"backfill", "Run every date in a range through all five phases (resumable)",
     [](CLI::App& sub) -> pipelinectl::Runner {
       auto opts = std::make_shared<Options>();
       sub.add_option("--from", opts->from, "First date, YYYY-MM-DD")->required();
       auto* to = sub.add_option("--to", opts->to, "Last date, YYYY-MM-DD (inclusive)");
       auto* days = sub.add_option("--days", opts->days, "Number of dates from --from")->check(CLI::PositiveNumber);
       to->excludes(days);
       sub.add_option("--stop-after", opts->stop_after, "Stop after running N dates (simulates an interruption)")
           ->check(CLI::NonNegativeNumber);
       sub.add_option("--store", opts->store, "memory | sqlite:PATH")->capture_default_str();
       sub.add_option("--work-dir", opts->work_dir,
                      "Directory for the warehouse and scraped files (keep it to resume; default: a fresh one)");
       sub.add_flag("--json", opts->json, "Machine output on stdout");
       return [opts] { return run(*opts); };
     }}};

}  // namespace cmd_backfill
