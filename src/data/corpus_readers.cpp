// Readers for the user's corpus formats (.txt, .jsonl, folders of .txt).
#include <algorithm>

#include "collapse/data/corpus.h"
#include "collapse/util/atomic_file.h"
#include "collapse/util/checksum.h"
#include "collapse/util/error.h"
#include "collapse/util/utf8.h"

namespace collapse {
namespace fs = std::filesystem;

namespace {

void require_utf8(const fs::path& file, std::string_view bytes) {
  if (auto bad = find_invalid_utf8(bytes)) {
    fail("{}: invalid UTF-8 at byte offset {} (byte 0x{:02x}); corpora must be UTF-8 text",
         file.string(), *bad, static_cast<unsigned char>(bytes[*bad]));
  }
}

bool is_blank(std::string_view line) {
  return std::all_of(line.begin(), line.end(),
                     [](char c) { return c == ' ' || c == '\t' || c == '\r'; });
}

// Trims blank lines at both ends; inner single newlines are kept (they carry layout).
std::string trim_document(std::string_view text) {
  auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  std::size_t b = 0, e = text.size();
  while (b < e && is_space(text[b])) ++b;
  while (e > b && is_space(text[e - 1])) --e;
  return std::string(text.substr(b, e - b));
}

Provenance real_source(const fs::path& path) {
  Provenance p;
  p.source = path.string();
  return p;
}

}  // namespace

Corpus read_txt_corpus(const fs::path& file) {
  const std::string bytes = read_file(file);
  require_utf8(file, bytes);
  Corpus corpus{.provenance = real_source(file), .documents = {}, .checksum = sha256_hex(bytes)};

  // Documents are runs of non-blank lines; one or more blank lines separate them.
  std::string current;
  std::size_t pos = 0, first_line = 0, line_no = 0;
  auto flush = [&] {
    std::string text = trim_document(current);
    if (!text.empty()) {
      corpus.documents.push_back(Document{.id = fmt::format("line:{}", first_line + 1),
                                          .text = std::move(text),
                                          .meta = nlohmann::json::object()});
    }
    current.clear();
  };
  while (pos <= bytes.size()) {
    std::size_t end = bytes.find('\n', pos);
    if (end == std::string::npos) end = bytes.size();
    std::string_view line(bytes.data() + pos, end - pos);
    if (is_blank(line)) {
      flush();
    } else {
      if (current.empty()) first_line = line_no;
      current.append(line);
      current.push_back('\n');
    }
    pos = end + 1;
    ++line_no;
  }
  flush();
  return corpus;
}

Corpus read_jsonl_corpus(const fs::path& file) {
  const std::string bytes = read_file(file);
  require_utf8(file, bytes);
  Corpus corpus{.provenance = real_source(file), .documents = {}, .checksum = sha256_hex(bytes)};

  std::size_t pos = 0, line_no = 0;
  while (pos < bytes.size()) {
    std::size_t end = bytes.find('\n', pos);
    if (end == std::string::npos) end = bytes.size();
    std::string_view line(bytes.data() + pos, end - pos);
    ++line_no;
    pos = end + 1;
    if (is_blank(line)) continue;

    nlohmann::json row;
    try {
      row = nlohmann::json::parse(line);
    } catch (const nlohmann::json::exception& e) {
      fail("{}:{}: not valid JSON ({})", file.string(), line_no, e.what());
    }
    if (!row.is_object() || !row.contains("text") || !row["text"].is_string()) {
      fail("{}:{}: each line must be a JSON object with a string member \"text\"", file.string(),
           line_no);
    }
    std::string text = trim_document(row["text"].get<std::string>());
    if (text.empty()) continue;
    row.erase("text");
    corpus.documents.push_back(Document{
        .id = fmt::format("line:{}", line_no), .text = std::move(text), .meta = std::move(row)});
  }
  return corpus;
}

Corpus read_txt_directory(const fs::path& dir) {
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.is_regular_file() && entry.path().extension() == ".txt") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  if (files.empty()) fail("corpus folder {} holds no .txt files", dir.string());

  Corpus corpus{.provenance = real_source(dir), .documents = {}, .checksum = {}};
  Sha256 all;
  for (const auto& file : files) {
    const std::string bytes = read_file(file);
    require_utf8(file, bytes);
    all.update(file.filename().string());
    all.update(std::string_view("\0", 1));
    all.update(bytes);
    std::string text = trim_document(bytes);
    if (text.empty()) continue;
    corpus.documents.push_back(Document{.id = file.stem().string(),
                                        .text = std::move(text),
                                        .meta = {{"file", file.filename().string()}}});
  }
  corpus.checksum = all.hex();
  return corpus;
}

}  // namespace collapse
