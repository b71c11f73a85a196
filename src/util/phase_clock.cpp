#include "collapse/util/phase_clock.h"

#include <utility>

#include <nlohmann/json.hpp>

namespace collapse {

void PhaseClock::start(std::string name) {
  stop();
  running_ = true;
  name_ = std::move(name);
  wall_start_ = std::chrono::steady_clock::now();
  cpu_start_ = std::clock();  // process CPU time: every thread's
}

void PhaseClock::stop() {
  if (!running_) return;
  running_ = false;
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start_).count();
  const double cpu = static_cast<double>(std::clock() - cpu_start_) / CLOCKS_PER_SEC;
  phases_.push_back({std::move(name_), wall, cpu});
}

nlohmann::json PhaseClock::to_json() const {
  nlohmann::json phases = nlohmann::json::array();
  double wall = 0.0, cpu = 0.0;
  for (const Phase& p : phases_) {
    phases.push_back({{"phase", p.name}, {"wall_seconds", p.wall_seconds}, {"cpu_seconds", p.cpu_seconds}});
    wall += p.wall_seconds;
    cpu += p.cpu_seconds;
  }
  return {{"phases", phases}, {"wall_seconds", wall}, {"cpu_seconds", cpu}};
}

}  // namespace collapse
