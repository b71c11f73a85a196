// The report page's statistics sections (report_html.cpp puts them on the page): the headline box
// and the comparisons of arm pairs. Internal to the report layer.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "collapse/experiment/run_results.h"

namespace collapse {

// The box at the top: [report] headline's metric, each arm's last generation against generation
// 0 (headline.h), and each compared pair's verdict.
std::string headline_section(const RunResults& run, const std::vector<std::pair<std::string, std::string>>& pairs);

// Per compared pair: a table per summary metric (difference of means, 95% CI, p, Holm p, test)
// and the arms' slopes per generation (comparison.h).
std::string comparison_section(const RunResults& run, const std::vector<std::pair<std::string, std::string>>& pairs);

}  // namespace collapse
