// Closed sets of names. Each concept with a fixed list of choices (decode modes, mixing regimes,
// curation steps, sampler steps, ...) has one table of its values: the name a user writes and a
// line saying what it means. The parsers, the CLI's help and checks, the report and the docs
// tests all read that table, so a name exists in exactly one place.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace collapse {

template <typename E>
struct Named {
  E value;
  const char* name;         // as users write it: "eager", "accumulate"
  const char* description;  // one line, for help texts and docs
};

// The name of `value` in `table`; "?" for a value the table lacks (a programming error).
template <typename E>
const char* name_of(std::span<const Named<E>> table, E value) {
  for (const Named<E>& n : table) {
    if (n.value == value) return n.name;
  }
  return "?";
}

// The value named `name`, or nothing.
template <typename E>
std::optional<E> find_named(std::span<const Named<E>> table, std::string_view name) {
  for (const Named<E>& n : table) {
    if (name == n.name) return n.value;
  }
  return std::nullopt;
}

// The names for a message: "auto, eager, fixed or graph"; quoted: "\"auto\", ... or \"graph\"".
template <typename E>
std::string names_of(std::span<const Named<E>> table, bool quoted = false) {
  std::string out;
  for (std::size_t i = 0; i < table.size(); ++i) {
    if (i > 0) out += i + 1 == table.size() ? " or " : ", ";
    if (quoted) out += '"';
    out += table[i].name;
    if (quoted) out += '"';
  }
  return out;
}

// Every name with its description, for a help text: "auto: ...; eager: ...".
template <typename E>
std::string described_names(std::span<const Named<E>> table) {
  std::string out;
  for (const Named<E>& n : table) {
    if (!out.empty()) out += "; ";
    out += n.name;
    out += ": ";
    out += n.description;
  }
  return out;
}

}  // namespace collapse
