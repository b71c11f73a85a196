// How sampling batches are decoded (beam search always decodes eagerly): the one table of decode
// modes that `collapse generate --decode`, the experiment key generate.decode and the docs read.
//   auto:   graph where FixedStepDecoder::can_capture holds, else eager.
//   eager:  finished rows leave the batch, attention reads the slots filled so far.
//   fixed:  fixed_step_decoder.h's fixed-shape step, run eagerly: every row stays, attention
//           reads the whole cache under a mask.
//   graph:  the fixed-shape step captured as a CUDA graph and replayed (CUDA only).
// All give the same documents up to floating-point rounding (on the CPU, identical ones).
#pragma once

#include <span>

#include "collapse/util/named.h"

namespace collapse {

enum class DecodeMode { automatic, eager, fixed, graph };

std::span<const Named<DecodeMode>> decode_modes();
inline const char* decode_mode_name(DecodeMode mode) { return name_of(decode_modes(), mode); }

}  // namespace collapse
