#include "collapse/score/compression.h"

#include <zstd.h>

#include <memory>

#include "collapse/util/error.h"

namespace collapse {

std::string compression_text(const std::vector<std::string>& documents) {
  std::string raw;
  std::size_t size = documents.empty() ? 0 : documents.size() - 1;
  for (const auto& d : documents) size += d.size();
  raw.reserve(size);
  for (std::size_t i = 0; i < documents.size(); ++i) {
    if (i) raw += '\n';
    raw += documents[i];
  }
  return raw;
}

CompressionResult compression_ratio(const std::vector<std::string>& documents, int level) {
  CompressionResult result;
  result.level = level;
  result.zstd_version = ZSTD_versionString();
  const std::string raw = compression_text(documents);
  result.raw_bytes = static_cast<std::int64_t>(raw.size());
  if (raw.empty()) return result;

  const std::unique_ptr<ZSTD_CCtx, decltype(&ZSTD_freeCCtx)> context(ZSTD_createCCtx(), ZSTD_freeCCtx);
  if (!context) fail("zstd: cannot create a compression context");
  auto set = [&](ZSTD_cParameter parameter, int value) {
    const std::size_t rc = ZSTD_CCtx_setParameter(context.get(), parameter, value);
    if (ZSTD_isError(rc)) {
      fail("zstd: setting parameter {} to {}: {}", static_cast<int>(parameter), value,
           ZSTD_getErrorName(rc));
    }
  };
  set(ZSTD_c_compressionLevel, level);
  set(ZSTD_c_enableLongDistanceMatching, 1);
  set(ZSTD_c_windowLog, kCompressionWindowLog);
  set(ZSTD_c_checksumFlag, 0);
  set(ZSTD_c_contentSizeFlag, 0);
  std::string out(ZSTD_compressBound(raw.size()), '\0');
  const std::size_t n = ZSTD_compress2(context.get(), out.data(), out.size(), raw.data(), raw.size());
  if (ZSTD_isError(n)) fail("zstd: compressing {} bytes at level {}: {}", raw.size(), level, ZSTD_getErrorName(n));
  result.compressed_bytes = static_cast<std::int64_t>(n);
  result.ratio = static_cast<double>(result.raw_bytes) / static_cast<double>(result.compressed_bytes);
  return result;
}

}  // namespace collapse
