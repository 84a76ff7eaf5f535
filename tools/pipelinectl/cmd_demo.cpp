// `pipelinectl demo`: the interim demo of the unified completion message. It builds the
// message a Phase 3 processor publishes, encodes it, decodes it back, and shows the
// precise error a broken message gets. (The multi-phase demo replaces this file.)
#include <cstdio>
#include <memory>
#include <string>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "command.hpp"
#include "pipeline/core/message_codec.hpp"
#include "pipeline/core/trace_context.hpp"

namespace pipelinectl::cmd_demo {

struct Options {
  bool json = false;
};

pipeline::Message phase3_completion() {
  pipeline::Message m;
  m.processor_name = "player_game_summary";
  m.phase = "phase3_analytics";
  // Fixed ids keep the demo's output the same on every run.
  m.execution_id = "5b2e0f6c-3d1a-4c8e-9f47-2a6d8b1c0e93";
  m.correlation_id = "a1b2c3d4";
  m.trace_links = {pipeline::TraceLink{"xyz789", "a1b2c3d4"}};
  m.traceparent = pipeline::TraceContext{"4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7", 1}.to_string();
  m.game_date = *pipeline::CalendarDate::parse("2025-11-18");
  m.output_table = "player_game_summary";
  m.output_dataset = "nba_analytics";
  m.record_count = 3;
  m.duration_seconds = 2.75;
  m.entities_changed = pipeline::EntityChanges{{"players", {"curry", "durant", "lebron-james"}}};
  m.is_incremental = true;
  m.metadata = {{"source_tables", {"nbac_gamebook_player_stats", "bdl_player_boxscores"}}};
  return m;
}

constexpr const char* kBrokenMessage =
    R"({"processor_name":"player_game_summary","phase":"phase3_analytics","execution_id":"e-1",)"
    R"("game_date":"2025-02-30","status":"done","record_count":-5})";

int run(const Options& opts) {
  const pipeline::Message m = phase3_completion();
  if (auto st = pipeline::validate_message(m); !st) {
    std::fprintf(stderr, "demo message is invalid: %s\n", st.error().to_string().c_str());
    return kExitFailed;
  }
  const std::string encoded = pipeline::encode_message(m);
  auto decoded = pipeline::decode_message(encoded);
  if (!decoded || !(*decoded == m)) {
    std::fprintf(stderr, "round trip failed: %s\n", decoded ? "messages differ" : decoded.error().to_string().c_str());
    return kExitFailed;
  }
  auto broken = pipeline::decode_message(kBrokenMessage);
  if (broken) {
    std::fprintf(stderr, "the broken message decoded, which it must not\n");
    return kExitFailed;
  }

  if (opts.json) {
    nlohmann::json out = {{"message", nlohmann::json::parse(encoded)},
                          {"round_trip_equal", true},
                          {"broken_input", kBrokenMessage},
                          {"decode_error",
                           {{"code", pipeline::to_string(broken.error().code)},
                            {"message", broken.error().message},
                            {"context", broken.error().context}}}};
    std::printf("%s\n", out.dump(2).c_str());
    return kExitOk;
  }

  const auto& d = *decoded;
  std::string kinds;
  if (!d.entities_changed) {
    kinds = "all (full run)";
  } else {
    for (const auto& [kind, ids] : *d.entities_changed)
      kinds += fmt::format("{}{} {} ({})", kinds.empty() ? "" : ", ", ids.size(), kind, fmt::join(ids, ", "));
  }
  std::printf("Encoded completion message (%zu bytes):\n%s\n\n", encoded.size(), encoded.c_str());
  std::printf("Decoded back, equal to the original:\n");
  std::printf("  %s / %s finished %s for %s: %lld records in %.2f s\n", d.phase.c_str(), d.processor_name.c_str(),
              std::string(pipeline::to_string(d.status)).c_str(), d.game_date.to_string().c_str(),
              static_cast<long long>(d.record_count), d.duration_seconds);
  std::printf("  changed: %s%s\n", kinds.c_str(), d.is_incremental ? " — incremental" : "");
  std::printf("  correlation %s, from upstream execution %s, traceparent %s\n\n", d.correlation_id.c_str(),
              d.trace_links.front().execution_id.c_str(), d.traceparent.c_str());
  std::printf("Decoding a broken message:\n%s\n", kBrokenMessage);
  std::printf("  -> %s\n", broken.error().to_string().c_str());
  return kExitOk;
}

const Registrar kRegistrar{{"demo", "Encode and decode a completion message and show a decode error",
                            [](CLI::App& sub) -> Runner {
                              auto opts = std::make_shared<Options>();
                              sub.add_flag("--json", opts->json, "Machine output on stdout");
                              return [opts] { return run(*opts); };
                            }}};

}  // namespace pipelinectl::cmd_demo
