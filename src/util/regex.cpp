#include "collapse/util/regex.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "collapse/util/error.h"

namespace collapse {

namespace {

std::string pcre2_message(int code) {
  PCRE2_UCHAR buffer[256];
  pcre2_get_error_message(code, buffer, sizeof buffer);
  return reinterpret_cast<const char*>(buffer);
}

std::size_t utf8_length_at(std::string_view text, std::size_t i) {
  const auto c = static_cast<unsigned char>(text[i]);
  const std::size_t n = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
  return std::min(n, text.size() - i);
}

}  // namespace

struct Regex::Impl {
  pcre2_code* code = nullptr;
  ~Impl() { pcre2_code_free(code); }
};

Regex::Regex(std::string_view pattern, std::string_view what)
    : impl_(std::make_unique<Impl>()), pattern_(pattern) {
  int error = 0;
  PCRE2_SIZE offset = 0;
  // UCP: \s, \w, \d and POSIX classes follow Unicode properties, as in the patterns' home
  // engines. NO_UTF_CHECK at match time: callers pass validated UTF-8.
  impl_->code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                              PCRE2_UTF | PCRE2_UCP, &error, &offset, nullptr);
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
std::optional<TextRange> match_at(const pcre2_code* code, std::string_view text, std::size_t from) {
  pcre2_match_data* data = match_data_for(code);
  const int rc = pcre2_match(code, reinterpret_cast<PCRE2_SPTR>(text.data()), text.size(), from,
                             PCRE2_NO_UTF_CHECK, data, nullptr);
  if (rc == PCRE2_ERROR_NOMATCH) return std::nullopt;
  if (rc < 0) fail("regular expression match failed: {}", pcre2_message(rc));
  const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(data);
  return TextRange{ovector[0], ovector[1]};
}

}  // namespace

std::vector<TextRange> Regex::find_all(std::string_view text) const {
  std::vector<TextRange> out;
  std::size_t from = 0;
  while (from <= text.size()) {
    const auto m = match_at(impl_->code, text, from);
    if (!m) break;
    out.push_back(*m);
    if (m->end > m->begin) {
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
  return match_at(impl_->code, text, 0);
}

bool Regex::search(std::string_view text) const { return find(text).has_value(); }

}  // namespace collapse
