// A phase clock records each phase's wall-clock and CPU time, in the order the phases ran: a
// sleeping phase takes wall time but no CPU time, a busy one both.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <ctime>
#include <thread>

#include <nlohmann/json.hpp>

#include "collapse/util/phase_clock.h"

using collapse::PhaseClock;

namespace {
// Keeps this thread busy until the process has used `seconds` of CPU time.
double spin(double seconds) {
  const std::clock_t end = std::clock() + static_cast<std::clock_t>(seconds * CLOCKS_PER_SEC);
  volatile double x = 0.0;
  while (std::clock() < end) x = x + std::sqrt(x + 1.0);
  return x;
}
}  // namespace

TEST(PhaseClock, RecordsEachPhaseInOrderWithItsWallAndCpuTime) {
  PhaseClock clock;
  clock.start("sleep");
  std::this_thread::sleep_for(std::chrono::milliseconds(60));
  clock.start("spin");  // ends "sleep"
  spin(0.06);
  clock.stop();
  clock.stop();  // a second stop records nothing

  ASSERT_EQ(clock.phases().size(), 2U);
  const auto& sleep = clock.phases()[0];
  const auto& busy = clock.phases()[1];
  EXPECT_EQ(sleep.name, "sleep");
  EXPECT_EQ(busy.name, "spin");
  EXPECT_GE(sleep.wall_seconds, 0.055);
  EXPECT_LT(sleep.cpu_seconds, 0.03);  // sleeping costs no CPU time
  EXPECT_GE(busy.cpu_seconds, 0.06);   // spinning does
  EXPECT_GE(busy.wall_seconds, 0.055);  // one thread: its CPU time fits in the wall time

  const nlohmann::json j = clock.to_json();
  ASSERT_EQ(j.at("phases").size(), 2U);
  EXPECT_EQ(j["phases"][1]["phase"], "spin");
  EXPECT_DOUBLE_EQ(j["wall_seconds"].get<double>(), sleep.wall_seconds + busy.wall_seconds);
  EXPECT_DOUBLE_EQ(j["cpu_seconds"].get<double>(), sleep.cpu_seconds + busy.cpu_seconds);
}
