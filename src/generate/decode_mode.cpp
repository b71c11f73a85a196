#include "collapse/generate/decode_mode.h"

namespace collapse {
namespace {

constexpr Named<DecodeMode> kDecodeModes[] = {
    {DecodeMode::automatic, "auto", "CUDA graphs where the step can be captured, else eager"},
    {DecodeMode::eager, "eager", "finished rows leave the batch; attention reads the filled slots"},
    {DecodeMode::fixed, "fixed", "the graph's fixed-shape step, run without capture"},
    {DecodeMode::graph, "graph", "the fixed-shape step captured once as a CUDA graph and replayed"},
};

}  // namespace

std::span<const Named<DecodeMode>> decode_modes() { return kDecodeModes; }

}  // namespace collapse
