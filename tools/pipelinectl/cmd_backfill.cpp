// pipelinectl backfill: every date in a range through all five phases, resumable. The
// work is demo::run_backfill (examples/demo_driver/backfill.hpp: the done rows, resume
// rules); this file parses flags, opens the store, draws progress and prints.
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <system_error>
#include <cstdio>
#include <memory>
#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "command.hpp"
#include "pipeline/core/calendar_date.hpp"
#include "store_uri.hpp"

#if __has_include("demo_driver/backfill.hpp")
#include "demo_driver/backfill.hpp"
#define PIPELINE_CTL_HAVE_DEMO 1
#endif

namespace cmd_backfill {

struct Options {
  std::string from;
  std::string to;
  int days = 0;
  int stop_after = 0;  ///< Stop after running this many dates (simulates an interruption).
  std::string store = "memory";
  std::string work_dir;  ///< Warehouse and scraped files; empty: a fresh directory (none with the memory store).
  std::string warehouse;  ///< "memory" | PATH; empty: work_dir/warehouse.db, or memory when there is no work_dir.
  bool json = false;
};

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
#ifdef PIPELINE_CTL_HAVE_DEMO
  auto store = pipelinectl::open_store(opts.store, pipelinectl::StoreAccess::kCreate);
  if (!store) {
    std::fprintf(stderr, "pipelinectl backfill: %s\n", store.error().message.c_str());
    return store.error().code == pipeline::ErrorCode::kInvalidArgument ? pipelinectl::kExitUsage
                                                                       : pipelinectl::kExitFailed;
  }

  // A memory store keeps nothing, so by default neither does the run: the warehouse and the
  // scraped payloads stay in memory (the output says so). A durable store gets its files
  // in --work-dir (a fresh directory by default), so a re-run can resume.
  const bool memory_store = pipelinectl::parse_store_uri(opts.store)->kind == pipelinectl::StoreUri::Kind::kMemory;
  if (opts.warehouse == "memory" && !memory_store) {
    std::fprintf(stderr,
                 "pipelinectl backfill: --warehouse memory loses the data tables a resumed run reads; "
                 "use it with --store memory, or give a file\n");
    return pipelinectl::kExitUsage;
  }
  std::filesystem::path work_dir = opts.work_dir;
  if (work_dir.empty() && !memory_store)
    work_dir = std::filesystem::temp_directory_path() / fmt::format("pipelinectl-backfill-{}", ::getpid());
  if (!work_dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(work_dir, ec);
    if (ec) {
      std::fprintf(stderr, "pipelinectl backfill: --work-dir %s: %s\n", work_dir.string().c_str(),
                   ec.message().c_str());
      return pipelinectl::kExitUsage;
    }
  }

  // The tool's own elapsed time (what the operator waits), not pipeline time.
  const auto started = std::chrono::steady_clock::now();
  auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count(); };
  Progress progress(from->days_until(to) + 1);
  demo::BackfillOptions b;
  b.from = *from;
  b.to = to;
  b.store = store->get();
  b.work_dir = work_dir;
  b.warehouse = opts.warehouse == "memory" ? std::string(demo::kMemoryWarehouse) : opts.warehouse;
  b.stop_after = opts.stop_after;
  b.progress = [&](int index, int, pipeline::CalendarDate date, bool skipped) {
    progress.update(index, date, skipped, elapsed());
  };
  auto result = demo::run_backfill(b);
  progress.finish();
  if (!result) {
    std::fprintf(stderr, "pipelinectl backfill: %s\n", result.error().to_string().c_str());
    return pipelinectl::kExitFailed;
  }
  const double seconds = elapsed();
  auto& r = *result;
  r["seconds"] = seconds;
  r["store"] = opts.store;
  r["work_dir"] = work_dir.empty() ? nlohmann::json() : nlohmann::json(work_dir.string());
  if (r["warehouse"] == std::string(demo::kMemoryWarehouse)) r["warehouse"] = "memory";
  if (opts.json) {
    std::printf("%s\n", r.dump(2).c_str());
  } else {
    std::printf("%s\n",
                fmt::format("backfill {} .. {}: {} dates, {} ran, {} skipped (already complete), {} remaining in {:.2f}s{}\n"
                            "  store {}, warehouse {}, scraped files {}\n"
                            "  phase 5: {} batches complete, {} refused, {} predictions",
                            *from, to, r["dates"].get<int>(), r["ran"].get<int>(), r["skipped"].get<int>(),
                            r["remaining"].get<int>(), seconds,
                            r["interrupted"].get<bool>() ? " (stopped early: re-run to finish)" : "", opts.store,
                            r["warehouse"].get<std::string>(), r["scraped"].get<std::string>(),
                            r["phase5"]["batches_complete"].get<std::int64_t>(),
                            r["phase5"]["batches_refused"].get<std::int64_t>(),
                            r["phase5"]["predictions"].get<std::int64_t>())
                    .c_str());
    for (const auto& day : r["days"])
      if (day["status"] == "failed") {
        std::string why;
        for (const auto& s : day["reasons"]) why += (why.empty() ? "" : "; ") + s.get<std::string>();
        std::printf("  %s failed (not marked done; a re-run runs it again): %s\n",
                    day["date"].get<std::string>().c_str(), why.c_str());
      }
  }
  // A date that failed is a failure; a --stop-after run did what was asked (the JSON says
  // what remains).
  if (r.value("failed", 0) > 0) return pipelinectl::kExitFailed;
  return pipelinectl::kExitOk;
#else
  std::fprintf(stderr, "pipelinectl backfill: this pipelinectl was built without the demo driver\n");
  return pipelinectl::kExitFailed;
#endif
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
       sub.add_option("--store", opts->store, "memory | sqlite:PATH | postgresql://...")->capture_default_str();
       sub.add_option("--work-dir", opts->work_dir,
                      "Directory for the warehouse and scraped files (keep it to resume; default: a fresh one, "
                      "none with --store memory: everything stays in memory)");
       sub.add_option("--warehouse", opts->warehouse,
                      "memory | PATH: the SQLite warehouse of the data tables (default: WORK_DIR/warehouse.db, "
                      "memory with --store memory and no --work-dir)");
       sub.add_flag("--json", opts->json, "Machine output on stdout");
       return [opts] { return run(*opts); };
     }}};

}  // namespace cmd_backfill
