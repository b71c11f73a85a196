#include "collapse/util/regex.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "collapse/util/error.h"
#include "collapse/util/unicode.h"

namespace collapse {

namespace {

std::string pcre2_message(int code) {
  PCRE2_UCHAR buffer[256];
  pcre2_get_error_message(code, buffer, sizeof buffer);
  return reinterpret_cast<const char*>(buffer);
}

std::size_t utf8_length_at(std::string_view text, std::size_t i) {
  return std::min(utf8_sequence_length(static_cast<unsigned char>(text[i])), text.size() - i);
}

}  // namespace

struct Regex::Impl {
  pcre2_code* code = nullptr;
  ~Impl() { pcre2_code_free(code); }
};

namespace {

struct CompileContext {
  pcre2_compile_context* context = pcre2_compile_context_create(nullptr);
  ~CompileContext() { pcre2_compile_context_free(context); }
};

}  // namespace

Regex::Regex(std::string_view pattern, std::string_view what)
    : impl_(std::make_unique<Impl>()), pattern_(pattern) {
  int error = 0;
  PCRE2_SIZE offset = 0;
  // UCP: \s, \w, \d and POSIX classes follow Unicode properties, as in the patterns' home
  // engines. MULTILINE with LF newlines: Oniguruma's Ruby syntax, which the tokenizers library
  // compiles its patterns with, lets ^ and $ match at every line's start and end.
  // NO_UTF_CHECK at match time: callers pass validated UTF-8.
  CompileContext context;
  pcre2_set_newline(context.context, PCRE2_NEWLINE_LF);
  impl_->code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                              PCRE2_UTF | PCRE2_UCP | PCRE2_MULTILINE, &error, &offset,
                              context.context);
  if (impl_->code == nullptr) {
    fail("{}: the regular expression '{}' does not compile at offset {}: {}", what, pattern,
         offset, pcre2_message(error));
  }
  // JIT is an optimisation only: where it is unavailable the interpreter gives the same matches.
  pcre2_jit_compile(impl_->code, PCRE2_JIT_COMPLETE);
}

Regex::~Regex() = default;
Regex::Regex(Regex&&) noexcept = default;
Regex& Regex::operator=(Regex&&) noexcept = default;

namespace {

// One match data block per thread and pattern size: allocation per call would dominate short
// matches. Sized for the largest pattern a thread has used.
struct MatchData {
  pcre2_match_data* data = nullptr;
  ~MatchData() { pcre2_match_data_free(data); }
};

pcre2_match_data* match_data_for(const pcre2_code* code) {
  thread_local MatchData m;
  thread_local std::uint32_t capacity = 0;
  std::uint32_t pairs = 0;
  pcre2_pattern_info(code, PCRE2_INFO_CAPTURECOUNT, &pairs);
  pairs += 1;
  if (m.data == nullptr || pairs > capacity) {
    pcre2_match_data_free(m.data);
    m.data = pcre2_match_data_create(pairs, nullptr);
    capacity = pairs;
  }
  return m.data;
}

// The match starting the search at `from`; nullopt when none.
std::optional<TextRange> match_at(const pcre2_code* code, std::string_view pattern,
                                  std::string_view text, std::size_t from) {
  pcre2_match_data* data = match_data_for(code);
  const int rc = pcre2_match(code, reinterpret_cast<PCRE2_SPTR>(text.data()), text.size(), from,
                             PCRE2_NO_UTF_CHECK, data, nullptr);
  if (rc == PCRE2_ERROR_NOMATCH) return std::nullopt;
  if (rc < 0) fail("the regular expression '{}' failed to match: {}", pattern, pcre2_message(rc));
  const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(data);
  return TextRange{ovector[0], ovector[1]};
}

}  // namespace

std::vector<TextRange> Regex::find_all(std::string_view text) const {
  std::vector<TextRange> out;
  std::size_t from = 0;
  while (from <= text.size()) {
    const auto m = match_at(impl_->code, pattern_, text, from);
    if (!m) break;
    // An empty match right where the previous match ended is not a match (the rule of Rust's
    // regex and Oniguruma's iterators, which the reference uses): the search moves one
    // character on. Any other empty match counts, and the next search starts after it.
    const bool empty = m->end == m->begin;
    if (!(empty && !out.empty() && out.back().end == m->begin)) out.push_back(*m);
    if (!empty) {
      from = m->end;
    } else if (m->end < text.size()) {
      from = m->end + utf8_length_at(text, m->end);
    } else {
      break;
    }
  }
  return out;
}

std::optional<TextRange> Regex::find(std::string_view text) const {
  return match_at(impl_->code, pattern_, text, 0);
}

bool Regex::search(std::string_view text) const { return find(text).has_value(); }

}  // namespace collapse
