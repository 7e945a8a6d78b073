#pragma once
// Representation helpers shared by the server, the page cache and static files: entity tags,
// conditional requests, which content types are worth compressing, types by file extension.

#include <cstddef>
#include <string>
#include <string_view>

namespace zhenwu::http {

// Bodies smaller than this are sent uncompressed: gzip would save less than a packet.
inline constexpr std::size_t kGzipMinBytes = 512;

// A strong entity tag for `body`, quoted ("\"3f9a…\""): a 96-bit BLAKE2b hash of the bytes.
std::string ContentEtag(std::string_view body);

// The weak form of a strong tag ("W/\"…\""), sent with a gzip-coded body so that one tag does
// not name two different byte sequences.
std::string WeakEtag(std::string_view etag);

// Whether an If-None-Match header value names `etag` (weak comparison, RFC 9110 13.1.2):
// true for "*" and for a list member equal to `etag` ignoring any W/ prefix on either side.
bool EtagMatches(std::string_view if_none_match, std::string_view etag);

// Whether a Content-Type (parameters allowed) is text-like and worth gzip: text/*,
// application/json, application/javascript, application/xml, application/atom+xml,
// image/svg+xml, application/manifest+json.
bool IsCompressibleType(std::string_view content_type);

// The Content-Type for a file name by its extension ("application/octet-stream" when unknown).
std::string_view ContentTypeForPath(std::string_view path);

}  // namespace zhenwu::http
