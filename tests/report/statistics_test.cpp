// The report's statistics (statistics.h) equal SciPy's and statsmodels' on fixed inputs, to 1e-9
// (tests/report/statistics_scipy.py; under CI a missing reference is a failure, not a skip), and
// say "identical" or "zero variance" where a test has nothing to test.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>

#include <nlohmann/json.hpp>

#include "collapse/report/statistics.h"
#include "collapse/util/atomic_file.h"
#include "collapse/util/error.h"
#include "support/test_support.h"

using namespace collapse;
using nlohmann::json;

namespace {

using Values = std::vector<double>;

// Test perplexities of three or five seeds of two arms, as a report compares them.
const std::vector<std::pair<Values, Values>> kPaired = {
    {{31.2, 35.9, 33.4}, {30.1, 33.0, 32.9}},
    {{101.5, 98.25, 110.0, 104.75, 99.0}, {88.0, 91.5, 90.25, 87.0, 93.5}},
    {{0.61, 0.58}, {0.55, 0.57}},
};
const std::vector<std::pair<Values, Values>> kWelch = {
    {{31.2, 35.9, 33.4}, {30.1, 33.0, 32.9, 29.5}},
    {{101.5, 98.25, 110.0, 104.75, 99.0}, {88.0, 91.5}},
    {{5.0, 5.5}, {1.0, 9.0, 3.0}},
};
const std::vector<Values> kHolm = {{0.01, 0.04, 0.03, 0.2}, {0.5, 0.001, 0.02}, {0.04}};
const std::vector<std::pair<Values, Values>> kSlopes = {
    {{0, 1, 2, 3, 4}, {30.0, 33.5, 38.25, 41.0, 47.5}},
    {{0, 1, 2}, {0.9, 0.8, 0.85}},
};
const std::vector<std::pair<double, double>> kCdf = {{0.0, 3}, {1.5, 2}, {-2.2, 4}, {3.7, 2.5}, {12.0, 7}, {-0.3, 30}, {2.0, 1e6}};
const std::vector<std::pair<double, double>> kQuantile = {{0.975, 1}, {0.975, 2}, {0.975, 4.37}, {0.5, 9}, {0.025, 12}, {0.999, 3}, {0.975, 200}};

json reference() {
  json in;
  for (const auto& [t, dof] : kCdf) in["cdf"].push_back({t, dof});
  for (const auto& [p, dof] : kQuantile) in["quantile"].push_back({p, dof});
  for (const auto& [a, b] : kPaired) in["paired"].push_back({a, b});
  for (const auto& [a, b] : kWelch) in["welch"].push_back({a, b});
  in["holm"] = kHolm;
  for (const auto& [x, y] : kSlopes) in["slopes"].push_back({x, y});
  const auto file = tests::fresh_dir("statistics_scipy") / "cases.json";
  write_file_atomic(file, in.dump());
  const auto run = tests::run_shell(std::string(COLLAPSE_PYTHON) + " " + COLLAPSE_SOURCE_DIR +
                                    "/tests/report/statistics_scipy.py " + file.string());
  if (run.exit_code == 77) return json();  // the caller skips, or fails in CI
  EXPECT_EQ(run.exit_code, 0) << run.out << run.err;
  return run.exit_code == 0 ? json::parse(run.out) : json();
}

void expect_same_test(const Difference& ours, const json& theirs, const std::string& what) {
  EXPECT_NEAR(ours.p, theirs["p"].get<double>(), 1e-9) << what;
  EXPECT_NEAR(ours.ci_low, theirs["ci_low"].get<double>(), 1e-9) << what;
  EXPECT_NEAR(ours.ci_high, theirs["ci_high"].get<double>(), 1e-9) << what;
  EXPECT_NEAR(ours.dof, theirs["dof"].get<double>(), 1e-9) << what;
}

}  // namespace

TEST(Statistics, EqualScipyAndStatsmodelsOnFixedInputs) {
  const json ref = reference();
  if (ref.is_null()) SKIP_WITHOUT_REFERENCE("scipy or statsmodels not importable by " << COLLAPSE_PYTHON);
  for (std::size_t i = 0; i < kCdf.size(); ++i) {
    EXPECT_NEAR(student_t_cdf(kCdf[i].first, kCdf[i].second), ref["cdf"][i].get<double>(), 1e-10) << i;
  }
  for (std::size_t i = 0; i < kQuantile.size(); ++i) {
    EXPECT_NEAR(student_t_quantile(kQuantile[i].first, kQuantile[i].second), ref["quantile"][i].get<double>(), 1e-9) << i;
  }
  for (std::size_t i = 0; i < kPaired.size(); ++i) {
    const Difference d = paired_difference(kPaired[i].first, kPaired[i].second);
    EXPECT_EQ(d.test, "paired");
    expect_same_test(d, ref["paired"][i], "paired " + std::to_string(i));
  }
  for (std::size_t i = 0; i < kWelch.size(); ++i) {
    const Difference d = welch_difference(kWelch[i].first, kWelch[i].second);
    EXPECT_EQ(d.test, "welch");
    expect_same_test(d, ref["welch"][i], "welch " + std::to_string(i));
  }
  for (std::size_t i = 0; i < kHolm.size(); ++i) {
    const auto ours = holm_adjust(kHolm[i]);
    for (std::size_t j = 0; j < ours.size(); ++j) EXPECT_NEAR(ours[j], ref["holm"][i][j].get<double>(), 1e-12) << i;
  }
  for (std::size_t i = 0; i < kSlopes.size(); ++i) {
    EXPECT_NEAR(least_squares_slope(kSlopes[i].first, kSlopes[i].second), ref["slopes"][i].get<double>(), 1e-12) << i;
  }
}

TEST(Statistics, ArmsThatShareGenerationZeroAreIdenticalByConstructionNotNaN) {
  const Values same = {30.5, 31.0, 29.75};
  const Values four = {4.0, 4.0};
  for (const Difference& d : {paired_difference(same, same), welch_difference(four, four)}) {
    EXPECT_TRUE(d.identical) << d.test;
    EXPECT_EQ(d.diff, 0.0);
    EXPECT_EQ(d.ci_low, 0.0);
    EXPECT_EQ(d.ci_high, 0.0);
    EXPECT_TRUE(std::isnan(d.p)) << "no test: nothing to test";
  }
  // Differing by the same amount in every seed: no spread, a point CI and no p-value.
  const Difference shifted = paired_difference(Values{3.0, 4.0, 5.0}, Values{1.0, 2.0, 3.0});
  EXPECT_FALSE(shifted.identical);
  EXPECT_TRUE(shifted.zero_variance);
  EXPECT_EQ(shifted.diff, 2.0);
  EXPECT_EQ(shifted.ci_low, 2.0);
  EXPECT_EQ(shifted.ci_high, 2.0);
  EXPECT_TRUE(std::isnan(shifted.p));
  EXPECT_THROW(paired_difference(Values{1.0, 2.0}, Values{1.0}), Error);
}

TEST(Statistics, HolmLeavesMissingPValuesOutOfTheFamily) {
  const double nan = std::nan("");
  const auto adjusted = holm_adjust(Values{0.01, nan, 0.04});
  EXPECT_DOUBLE_EQ(adjusted[0], 0.02);  // m = 2: 2 x 0.01
  EXPECT_TRUE(std::isnan(adjusted[1]));
  EXPECT_DOUBLE_EQ(adjusted[2], 0.04);  // max(0.02, 1 x 0.04)
}

TEST(Statistics, TheSlopeIsTheMeanOfPerSeedSlopesWithATIntervalOverSeeds) {
  // Three lineages growing by exactly 1, 2 and 3 per generation.
  const Slope s = mean_slope({{0, 1, 2}, {0, 1, 2, 3}, {0, 1}}, {{5, 6, 7}, {0, 2, 4, 6}, {1, 4}});
  EXPECT_EQ(s.seeds, 3);
  EXPECT_NEAR(s.slope, 2.0, 1e-12);
  // sd of {1, 2, 3} = 1; t_{0.975, 2} = 4.302652729749462 (SciPy).
  EXPECT_NEAR(s.ci_high - s.slope, 4.302652729749462 / std::sqrt(3.0), 1e-9);
  const Slope one = mean_slope({{0, 1, 2}}, {{1, 3, 5}});
  EXPECT_EQ(one.slope, 2.0);
  EXPECT_TRUE(std::isnan(one.ci_low)) << "one lineage: no interval";
}
