// The sampler chain's definition (sampler_chain.h), step by step, on examples small enough to compute
// by hand.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <set>

#include "collapse/generate/sampler_chain.h"
#include "collapse/util/error.h"

#include "support/sampling_row.h"

using namespace collapse;

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
const float kLn2 = std::log(2.0f);
const float kLn4 = std::log(4.0f);

using collapse::tests::Row;

std::vector<double> chain(const SamplerConfig& c, const Row& row) {
  return apply_sampler_chain(c, row.view());
}

// Which tokens the chain keeps (finite chained logits).
std::vector<int> kept(const SamplerConfig& c, const Row& row) {
  std::vector<int> out;
  const auto x = chain(c, row);
  for (std::size_t t = 0; t < x.size(); ++t) {
    if (x[t] != -kInf) out.push_back(static_cast<int>(t));
  }
  return out;
}

std::vector<double> widened(const std::vector<float>& v) {
  return std::vector<double>(v.begin(), v.end());
}

void expect_error(const std::function<void()>& f, const std::string& message) {
  try {
    f();
    ADD_FAILURE() << "no error; expected: " << message;
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), message);
  }
}

void expect_error_containing(const std::function<void()>& f, const std::string& part) {
  try {
    f();
    ADD_FAILURE() << "no error; expected one containing: " << part;
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
  }
}

// Probabilities 1/2, 1/4, 1/8, 1/8.
const std::vector<float> kHalves = {kLn4, kLn2, 0.0f, 0.0f};

}  // namespace

TEST(SamplerChain, RepetitionPenaltyDividesPositiveAndMultipliesNegativeLogitsOncePerToken) {
  SamplerConfig c;
  c.repetition_penalty = 2.0f;
  // Token 0 occurs twice and is still divided once; the history is all prompt (prompt included).
  const Row row{{2.0f, -2.0f, 1.0f, 0.5f}, {0, 1, 0}, 3};
  EXPECT_EQ(chain(c, row), (std::vector<double>{1.0, -4.0, 1.0, 0.5}));
  // Generated tokens count as well.
  const Row generated{{2.0f, -2.0f, 1.0f, 0.5f}, {3}, 0};
  EXPECT_EQ(chain(c, generated), (std::vector<double>{2.0, -2.0, 1.0, 0.25}));
}

TEST(SamplerChain, PresenceAndFrequencyPenaltiesCountOnlyGeneratedTokens) {
  SamplerConfig c;
  c.presence_penalty = 0.5f;
  c.frequency_penalty = 0.25f;
  // Token 2 is only in the prompt; token 0 was generated twice, token 1 once.
  const Row row{{1.0f, 1.0f, 1.0f, 1.0f}, {2, 0, 0, 1}, 1};
  EXPECT_EQ(chain(c, row), (std::vector<double>{0.0, 0.25, 1.0, 1.0}));
}

TEST(SamplerChain, TemperatureDividesTheLogits) {
  SamplerConfig c;
  c.temperature = 0.5f;
  EXPECT_EQ(chain(c, Row{{1.0f, 2.0f, -3.0f}}), (std::vector<double>{2.0, 4.0, -6.0}));
}

TEST(SamplerChain, TopKKeepsEveryTokenTiedWithTheKthLargest) {
  SamplerConfig c;
  c.top_k = 2;
  const Row row{{3.0f, 1.0f, 2.0f, 2.0f, 0.0f}};
  EXPECT_EQ(kept(c, row), (std::vector<int>{0, 2, 3}));
  c.top_k = 1;
  EXPECT_EQ(kept(c, row), (std::vector<int>{0}));
  c.top_k = 5;
  EXPECT_EQ(kept(c, row), (std::vector<int>{0, 1, 2, 3, 4}));
  c.top_k = 100;  // more than the vocabulary: nothing removed
  EXPECT_EQ(chain(c, row), widened(row.logits));
}

TEST(SamplerChain, TopPKeepsTheSmallestHeadReachingPAndItsTies) {
  SamplerConfig c;
  const Row row{kHalves};
  c.top_p = 0.4f;  // 1/2 >= 0.4 already
  EXPECT_EQ(kept(c, row), (std::vector<int>{0}));
  c.top_p = 0.6f;  // 1/2 + 1/4 >= 0.6
  EXPECT_EQ(kept(c, row), (std::vector<int>{0, 1}));
  c.top_p = 0.8f;  // reached at the first 1/8; the tied 1/8 stays too
  EXPECT_EQ(kept(c, row), (std::vector<int>{0, 1, 2, 3}));
  // A threshold, not a sorted prefix: the vocabulary's order does not matter.
  c.top_p = 0.6f;
  EXPECT_EQ(kept(c, Row{{0.0f, kLn2, 0.0f, kLn4}}), (std::vector<int>{1, 3}));
}

TEST(SamplerChain, MinPKeepsTokensWithAtLeastMTimesTheLargestProbability) {
  SamplerConfig c;
  const Row row{kHalves};
  c.min_p = 0.3f;  // cut 0.15
  EXPECT_EQ(kept(c, row), (std::vector<int>{0, 1}));
  c.min_p = 0.6f;  // cut 0.3
  EXPECT_EQ(kept(c, row), (std::vector<int>{0}));
  c.min_p = 0.2f;  // cut 0.1
  EXPECT_EQ(kept(c, row), (std::vector<int>{0, 1, 2, 3}));
}

TEST(SamplerChain, TypicalPKeepsTheMostTypicalTokensUpToMassQ) {
  // p = 1/2, 1/4, 1/8, 1/8: H = 1.75 ln 2; |surprisal - H| = 0.75, 0.25, 1.25, 1.25 (x ln 2).
  // By typicality: token 1, token 0, then the tied tokens 2 and 3 by id.
  SamplerConfig c;
  const Row row{kHalves};
  c.typical_p = 0.2f;  // 1/4 >= 0.2
  EXPECT_EQ(kept(c, row), (std::vector<int>{1}));
  c.typical_p = 0.5f;  // 1/4 + 1/2
  EXPECT_EQ(kept(c, row), (std::vector<int>{0, 1}));
  c.typical_p = 0.8f;  // + 1/8 from token 2; token 3, tied with it, goes (ties by id)
  EXPECT_EQ(kept(c, row), (std::vector<int>{0, 1, 2}));
}

TEST(SamplerChain, EachFilterSeesTheDistributionTheStepsBeforeItLeft) {
  SamplerConfig c;
  const Row row{kHalves};
  c.top_k = 2;
  c.top_p = 0.6f;
  // top_k first: {1/2, 1/4} renormalised to {2/3, 1/3}; 2/3 >= 0.6 keeps token 0 alone.
  EXPECT_EQ(kept(c, row), (std::vector<int>{0}));
  // top_p first: 1/2 + 1/4 >= 0.6 keeps {0, 1}; top_k 2 keeps both.
  c.order = {SamplerStep::repetition_penalty, SamplerStep::presence_frequency,
             SamplerStep::temperature,        SamplerStep::top_p,
             SamplerStep::top_k,              SamplerStep::min_p,
             SamplerStep::typical_p};
  EXPECT_EQ(kept(c, row), (std::vector<int>{0, 1}));
}

TEST(SamplerChain, MinPBeforeOrAfterTemperatureKeepsDifferentTokens) {
  SamplerConfig c;
  c.min_p = 0.3f;
  c.temperature = 0.5f;
  const Row row{{0.0f, -1.0f}};  // p ratio e^-1 = 0.37 >= 0.3; after T = 0.5: e^-2 = 0.14 < 0.3
  EXPECT_EQ(kept(c, row), (std::vector<int>{0}));  // default order: temperature, then min_p
  c.order = {SamplerStep::min_p,       SamplerStep::repetition_penalty,
             SamplerStep::presence_frequency, SamplerStep::temperature,
             SamplerStep::top_k,       SamplerStep::top_p,
             SamplerStep::typical_p};
  EXPECT_EQ(chain(c, row), (std::vector<double>{0.0, -2.0}));
}

TEST(SamplerChain, PenaltyOrderMatters) {
  SamplerConfig c;
  c.repetition_penalty = 2.0f;
  c.presence_penalty = 1.0f;
  const Row row{{3.0f, 0.0f}, {0}, 0};
  EXPECT_EQ(chain(c, row)[0], 0.5);  // 3 / 2 - 1
  c.order = {SamplerStep::presence_frequency, SamplerStep::repetition_penalty,
             SamplerStep::temperature,        SamplerStep::top_k,
             SamplerStep::top_p,              SamplerStep::min_p,
             SamplerStep::typical_p};
  EXPECT_EQ(chain(c, row)[0], 1.0);  // (3 - 1) / 2
}

TEST(SamplerChain, GreedyTakesTheLowestIdAmongTiedMaximaAndSkipsTheFilters) {
  SamplerConfig c;
  c.temperature = 0.0f;
  const Row row{{1.0f, 3.0f, 3.0f, 2.0f}};
  EXPECT_EQ(sample_token_reference(c, row.view(), 0.99f), 1);
  EXPECT_EQ(sample_token_reference(c, row.view(), 0.01f), 1);
  // Penalties still apply; the filters do not (the chained logits are the penalised ones).
  c.repetition_penalty = 2.0f;
  c.top_k = 1;
  c.top_p = 0.1f;
  c.min_p = 0.9f;
  const Row penalised{{1.0f, 3.0f, 3.0f, 2.0f}, {1}, 1};
  EXPECT_EQ(chain(c, penalised), (std::vector<double>{1.0, 1.5, 3.0, 2.0}));
  EXPECT_EQ(sample_token_reference(c, penalised.view(), 0.5f), 2);
  const auto p = sampler_distribution(c, penalised.view());
  EXPECT_EQ(p, (std::vector<double>{0.0, 0.0, 1.0, 0.0}));
}

TEST(SamplerChain, SamplesByInverseTransformInVocabularyOrder) {
  SamplerConfig c;
  const Row row{{0.0f, std::log(3.0f)}};  // p = 1/4, 3/4: the less likely token comes first
  EXPECT_EQ(sample_token_reference(c, row.view(), 0.2f), 0);
  EXPECT_EQ(sample_token_reference(c, row.view(), 0.3f), 1);
  EXPECT_EQ(sample_token_reference(c, row.view(), 0.99f), 1);
  const Row uniform{{0.0f, 0.0f, 0.0f, 0.0f}};  // boundaries at 1/4, 1/2, 3/4
  EXPECT_EQ(sample_token_reference(c, uniform.view(), 0.1f), 0);
  EXPECT_EQ(sample_token_reference(c, uniform.view(), 0.3f), 1);
  EXPECT_EQ(sample_token_reference(c, uniform.view(), 0.6f), 2);
  EXPECT_EQ(sample_token_reference(c, uniform.view(), 0.9f), 3);
  // At a boundary the cumulative mass must *exceed* u * Z: u = 1/2 exactly picks token 2.
  EXPECT_EQ(sample_token_reference(c, uniform.view(), 0.5f), 2);
}

TEST(SamplerChain, RemovedTokensAreNeverChosen) {
  SamplerConfig c;
  c.top_k = 2;
  const Row row{{5.0f, 1.0f, 5.0f}};
  EXPECT_EQ(sample_token_reference(c, row.view(), 0.4f), 0);
  EXPECT_EQ(sample_token_reference(c, row.view(), 0.6f), 2);
  EXPECT_EQ(choose_token(std::vector<double>{-kInf, -kInf}, 0.5f, false), -1);
  EXPECT_EQ(choose_token(std::vector<double>{-kInf, -kInf}, 0.5f, true), -1);
  // Non-finite logits (a diverged model) are removed tokens too.
  const Row broken{{std::nanf(""), 0.0f, std::numeric_limits<float>::infinity()}};
  for (float u : {0.01f, 0.5f, 0.99f}) EXPECT_EQ(sample_token_reference(c, broken.view(), u), 1);
}

TEST(SamplerChain, TheBannedTokenIsRemovedFirst) {
  SamplerConfig c;
  const Row row{{10.0f, 0.0f, -1.0f}, {}, 0, 0};
  for (float u : {0.01f, 0.5f, 0.99f}) EXPECT_NE(sample_token_reference(c, row.view(), u), 0);
  c.temperature = 0.0f;
  EXPECT_EQ(sample_token_reference(c, row.view(), 0.5f), 1);
  // A penalty on the banned token does not bring it back.
  c.repetition_penalty = 0.5f;
  const Row penalised{{10.0f, 0.0f, -1.0f}, {0}, 1, 0};
  EXPECT_EQ(chain(c, penalised)[0], -kInf);
}

TEST(SamplerChain, DistributionIsTheRenormalisedKeptMass) {
  SamplerConfig c;
  c.top_k = 2;
  const auto p = sampler_distribution(c, Row{kHalves}.view());
  ASSERT_EQ(p.size(), 4u);
  EXPECT_NEAR(p[0], 2.0 / 3.0, 1e-7);
  EXPECT_NEAR(p[1], 1.0 / 3.0, 1e-7);
  EXPECT_EQ(p[2], 0.0);
  EXPECT_EQ(p[3], 0.0);
}

TEST(SamplerChain, RejectsHistoryOutsideTheVocabulary) {
  SamplerConfig c;
  c.repetition_penalty = 1.5f;
  expect_error([&] { chain(c, Row{{0.0f, 0.0f}, {2}, 1}); },
               "sampling: history token 2 outside the vocabulary [0, 2)");
  expect_error([&] { chain(c, Row{{0.0f, 0.0f}, {1}, 2}); },
               "sampling: prompt length 2 outside the history's 1 tokens");
  expect_error([&] { chain(c, Row{{0.0f, 0.0f}, {}, 0, 5}); },
               "sampling: banned token 5 outside the vocabulary [0, 2)");
}

TEST(SamplerConfig, ValidationNamesTheSettingAsTheCallerDoesAndSaysWhatIsAllowed) {
  // The caller's names: the CLI passes its flags, an experiment its TOML keys; here a marker.
  const SettingNames marked = [](const std::string& key) { return "<" + key + ">"; };
  auto with = [&](auto set) {
    SamplerConfig c;
    set(c);
    return [c, marked] { c.validate(marked); };
  };
  SamplerConfig().validate();
  expect_error(with([](SamplerConfig& c) { c.top_p = 1.5f; }),
               "<top_p> must be a number in (0, 1] (1 = off), got 1.5");
  expect_error(with([](SamplerConfig& c) { c.top_p = 0.0f; }),
               "<top_p> must be a number in (0, 1] (1 = off), got 0");
  expect_error(with([](SamplerConfig& c) { c.min_p = 1.0f; }),
               "<min_p> must be a number in [0, 1) (0 = off), got 1");
  expect_error(with([](SamplerConfig& c) { c.typical_p = -0.5f; }),
               "<typical_p> must be a number in (0, 1] (1 = off), got -0.5");
  expect_error(with([](SamplerConfig& c) { c.top_k = -3; }),
               "<top_k> must be an integer >= 0 (0 = off), got -3");
  expect_error(with([](SamplerConfig& c) { c.temperature = -1.0f; }),
               "<temperature> must be a number >= 0 (0 = greedy, 1 = off), got -1");
  expect_error(with([](SamplerConfig& c) { c.repetition_penalty = 0.0f; }),
               "<repetition_penalty> must be a number > 0 (1 = off), got 0");
  expect_error(with([](SamplerConfig& c) { c.presence_penalty = std::nanf(""); }),
               "<presence_penalty> must be a finite number (0 = off), got nan");
  expect_error(with([](SamplerConfig& c) { c.beams = 0; }),
               "<beams> must be an integer >= 1 (1 = sampling), got 0");
  expect_error_containing(with([](SamplerConfig& c) { c.order.pop_back(); }),
                          "<order> lacks 'typical_p'");
  expect_error_containing(with([](SamplerConfig& c) { c.order.push_back(SamplerStep::top_k); }),
                          "<order> names 'top_k' 2 times");
  // Without names of its own a caller gets the keys.
  SamplerConfig c;
  c.top_p = 2.0f;
  expect_error([&] { c.validate(); }, "top_p must be a number in (0, 1] (1 = off), got 2");
}

TEST(SamplerConfig, TheTablesNameEveryStepAndSettingOnce) {
  std::set<std::string> steps, keys;
  for (const SamplerStepInfo& s : sampler_steps()) EXPECT_TRUE(steps.insert(s.name).second) << s.name;
  EXPECT_EQ(steps.size(), SamplerConfig::default_order().size());
  for (const SamplerSetting& s : sampler_settings()) EXPECT_TRUE(keys.insert(s.key).second) << s.key;
  // Every setting is a key of the JSON, and nothing else is.
  std::set<std::string> json_keys;
  const nlohmann::json defaults = SamplerConfig{}.to_json();
  for (const auto& [key, value] : defaults.items()) json_keys.insert(key);
  EXPECT_EQ(keys, json_keys);
  // Every step but `penalties` has a setting of its own name; every setting of a step is neutral
  // by default, so the default chain is pure sampling.
  for (const SamplerStepInfo& step : sampler_steps()) {
    EXPECT_FALSE(SamplerConfig{}.active(step.step)) << step.name;
    if (step.step != SamplerStep::presence_frequency) {
      EXPECT_TRUE(keys.count(step.name)) << step.name;
    }
  }
}

TEST(SamplerConfig, AStepIsActiveWhenASettingOfItIsOffItsNeutralValue) {
  SamplerConfig c;
  c.frequency_penalty = 0.5f;
  EXPECT_TRUE(c.active(SamplerStep::presence_frequency));
  EXPECT_TRUE(c.penalizes());
  c.top_k = 5;
  EXPECT_TRUE(c.active(SamplerStep::top_k));
  c.temperature = 0.0f;  // greedy: the filters are skipped, the penalties still apply
  EXPECT_FALSE(c.active(SamplerStep::top_k));
  EXPECT_TRUE(c.active(SamplerStep::presence_frequency));
}

TEST(SamplerConfig, StepNamesRoundTrip) {
  for (SamplerStep s : SamplerConfig::default_order()) {
    EXPECT_EQ(parse_sampler_step(to_string(s), "--sampler-order"), s);
  }
  EXPECT_EQ(to_string(SamplerStep::presence_frequency), "penalties");
  expect_error([] { parse_sampler_step("top-p", "--sampler-order"); },
               "--sampler-order: unknown sampler step 'top-p' (the steps are repetition_penalty, "
               "penalties, temperature, top_k, top_p, min_p, typical_p)");
}

TEST(SamplerConfig, JsonRoundTripsEveryField) {
  SamplerConfig c;
  c.repetition_penalty = 1.3f;
  c.presence_penalty = -0.5f;
  c.frequency_penalty = 0.1f;
  c.temperature = 0.7f;
  c.top_k = 40;
  c.top_p = 0.95f;
  c.min_p = 0.05f;
  c.typical_p = 0.9f;
  c.order = {SamplerStep::top_k,       SamplerStep::temperature, SamplerStep::repetition_penalty,
             SamplerStep::presence_frequency, SamplerStep::min_p, SamplerStep::top_p,
             SamplerStep::typical_p};
  c.beams = 5;
  c.length_penalty = 0.8f;
  const nlohmann::json j = c.to_json();
  EXPECT_EQ(j.at("top_p").dump(), "0.95");  // the shortest decimal, not 0.949999988079071
  const SamplerConfig back = SamplerConfig::from_json(nlohmann::json::parse(j.dump()), "x.json");
  EXPECT_EQ(back.repetition_penalty, c.repetition_penalty);
  EXPECT_EQ(back.presence_penalty, c.presence_penalty);
  EXPECT_EQ(back.frequency_penalty, c.frequency_penalty);
  EXPECT_EQ(back.temperature, c.temperature);
  EXPECT_EQ(back.top_k, c.top_k);
  EXPECT_EQ(back.top_p, c.top_p);
  EXPECT_EQ(back.min_p, c.min_p);
  EXPECT_EQ(back.typical_p, c.typical_p);
  EXPECT_EQ(back.order, c.order);
  EXPECT_EQ(back.beams, c.beams);
  EXPECT_EQ(back.length_penalty, c.length_penalty);
  EXPECT_EQ(back.to_json(), j);
}

TEST(SamplerConfig, JsonIsStrictAboutKeysAndTypes) {
  using nlohmann::json;
  const SamplerConfig partial = SamplerConfig::from_json(json{{"top_p", 0.9}}, "x.json");
  EXPECT_EQ(partial.top_p, 0.9f);  // absent keys keep their defaults
  EXPECT_EQ(partial.temperature, 1.0f);
  EXPECT_EQ(partial.order, SamplerConfig::default_order());
  expect_error([] { SamplerConfig::from_json(json{{"top-p", 0.9}}, "x.json"); },
               "x.json: unknown sampler key 'top-p'");
  expect_error([] { SamplerConfig::from_json(json{{"top_p", "0.9"}}, "x.json"); },
               "x.json: sampler key 'top_p' must be a number, got \"0.9\"");
  expect_error([] { SamplerConfig::from_json(json{{"top_k", 2.5}}, "x.json"); },
               "x.json: sampler key 'top_k' must be an integer, got 2.5");
  expect_error([] { SamplerConfig::from_json(json{{"order", "top_k"}}, "x.json"); },
               "x.json: sampler key 'order' must be a list of step names, got \"top_k\"");
  expect_error_containing([] { SamplerConfig::from_json(json{{"order", json::array({"top_k", "nope"})}}, "x.json"); },
                          "unknown sampler step 'nope'");
  expect_error([] { SamplerConfig::from_json(json::array(), "x.json"); },
               "x.json: the sampler settings must be a JSON object, got []");
}

TEST(SamplerConfig, DescribeListsTheActiveSteps) {
  SamplerConfig c;
  EXPECT_EQ(c.describe(), "pure sampling (temperature=1)");
  c.temperature = 0.8f;
  c.top_p = 0.95f;
  EXPECT_EQ(c.describe(), "temperature=0.8 top_p=0.95");
  c.repetition_penalty = 1.2f;
  c.temperature = 0.0f;
  EXPECT_EQ(c.describe(), "repetition_penalty=1.2 greedy");
  c.beams = 5;
  EXPECT_EQ(c.describe(), "beams=5 length_penalty=1 repetition_penalty=1.2");
}
