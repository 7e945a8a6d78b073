#pragma once
// gzip (RFC 1952) compression for HTTP bodies: static files and cached pages are compressed once,
// other compressible responses per request.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace zhenwu::http {

// Compresses `data` into a gzip member at zlib `level` (1 fastest … 9 smallest). Reuses a
// per-thread deflate state, so calling it per request costs no large allocation. Throws
// std::runtime_error only when zlib fails (out of memory).
std::string GzipCompress(std::string_view data, int level = 6);

// Inflates gzip (or zlib) data. Returns nullopt when the data is corrupt, truncated or would
// inflate beyond `max_size` bytes (a guard against compression bombs).
std::optional<std::string> GzipDecompress(std::string_view data,
                                          std::size_t max_size = 64 * 1024 * 1024);

}  // namespace zhenwu::http
