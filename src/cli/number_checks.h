// Validators for numeric flags that say what is wanted. CLI11's PositiveNumber says "Value 0 not
// in range 0.000000 to 1797693134862315708..." (309 digits), and an unchecked "-1" for an
// unsigned seed silently becomes 18446744073709551615.
#pragma once

#include <CLI/CLI.hpp>

namespace collapse::cli {

// A whole number >= lo (and <= 10^18), written in decimal: "--seed: must be a whole number >= 0, got '-1'".
CLI::Validator whole_at_least(long long lo);

// A finite number (no nan or inf); the range is the library's to check, naming the flag.
CLI::Validator finite_number();

}  // namespace collapse::cli
