// Waits for a condition another thread makes true, with a deadline, so a broken condition
// fails the test instead of hanging it. For threads inside one process; tests against
// processes and servers use their own waits with deadlines.
#pragma once

#include <chrono>
#include <thread>

namespace pipeline_test {

// Polls `condition` (yielding between polls) until it holds or `deadline` has passed on the
// steady clock; returns whether it held. The deadline bounds a hang, not a speed: it is
// generous (sanitizer builds on a loaded machine) and no test asserts on how long it took.
template <class Condition>
[[nodiscard]] bool spin_until(Condition condition, std::chrono::steady_clock::duration deadline = std::chrono::seconds(60)) {
  const auto give_up = std::chrono::steady_clock::now() + deadline;
  while (!condition()) {
    if (std::chrono::steady_clock::now() >= give_up) return false;
    std::this_thread::yield();
  }
  return true;
}

}  // namespace pipeline_test
