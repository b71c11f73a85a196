// The real side of embedding precision/recall (embedding_metrics.h): windows of the real test
// documents shaped like the synthetic documents they are compared with.
//
// Real test documents are whole texts (a State of the Union address runs to thousands of tokens)
// and there are few of them, while synthetic documents are short and many. Features of whole
// documents would compare a mean over a long text's first `context` positions with a mean over a
// short one's, and a k-NN manifold of a dozen points says little. So the real documents are cut
// into consecutive, non-overlapping windows of `length` tokens (a document shorter than that is one
// window; a shorter remainder is dropped), and `count` of them are taken evenly spaced over all
// windows in corpus order: window floor(i * W / count) for i < count, W the number of windows (all
// of them when W <= count). Deterministic, no seed.
#pragma once

#include <cstdint>

#include "collapse/data/token_corpus.h"

namespace collapse {

struct FeatureWindows {
  TokenCorpus windows;        // the chosen windows, as documents
  std::int64_t available = 0;  // W: every window the corpus has
};

// length >= 1, count >= 0; Error otherwise.
FeatureWindows feature_windows(const TokenCorpus& real, std::int64_t length, std::int64_t count);

// The window length that matches `synthetic`: the median document length (the lower middle of an
// even count), at least 1 and at most `max_length`.
std::int64_t matching_window_length(const TokenCorpus& synthetic, std::int64_t max_length);

}  // namespace collapse
