// A consumer of the installed (or added) package: compiles against the public headers
// and runs a few calls, as a team linking `pipeline` would.
#include <cstdio>

#include <pipeline/pipeline.hpp>

int main() {
  pipeline::ManualClock clock;
  bool fired = false;
  clock.schedule_after(std::chrono::minutes(30), [&] { fired = true; });
  clock.advance(std::chrono::minutes(30));
  auto date = pipeline::CalendarDate::parse("2025-11-18");
  if (!fired || !date) return 1;
  std::printf("pipeline %s consumer ok: %s\n", pipeline::kVersion, date->to_string().c_str());
  return 0;
}
