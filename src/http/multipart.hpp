#pragma once
// multipart/form-data bodies (RFC 7578): file uploads and the fields sent with them.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"
#include "http/types.hpp"

namespace zhenwu::http {

struct MultipartPart {
  std::string name;                     // the form field's name
  std::optional<std::string> filename;  // set for a file input (may be "" when none chosen)
  std::string content_type;             // of the part; "text/plain" when not given
  std::string data;                     // the raw bytes
};

class MultipartForm {
 public:
  MultipartForm() = default;
  explicit MultipartForm(std::vector<MultipartPart> parts) : parts_(std::move(parts)) {}
  const std::vector<MultipartPart>& parts() const { return parts_; }
  // The first part with this name, or null.
  const MultipartPart* Find(std::string_view name) const;
  // The first non-file part's value with this name.
  std::optional<std::string> Get(std::string_view name) const;
  // The non-file parts as a Form (for the validation code that reads urlencoded forms).
  Form Fields() const;

 private:
  std::vector<MultipartPart> parts_;
};

struct MultipartLimits {
  std::size_t max_parts = 100;
  std::size_t max_header_bytes = 8 * 1024;  // per part
};

// The boundary parameter of a "multipart/form-data; boundary=…" Content-Type (quoted or not);
// nullopt when the type is not multipart/form-data or the boundary is missing or invalid.
std::optional<std::string> MultipartBoundary(std::string_view content_type);

// Parses a body with the given boundary. Preamble and epilogue are ignored; CRLF line ends are
// expected, bare LF is tolerated. Fails with kInvalidInput (field "file") on a body that is not
// well-formed: no opening or closing delimiter, a part without Content-Disposition: form-data
// and a name, headers too long, more than max_parts parts.
Result<MultipartForm> ParseMultipart(std::string_view body, std::string_view boundary,
                                     const MultipartLimits& limits = {});
// The same for a request, taking the boundary from its Content-Type.
Result<MultipartForm> ParseMultipart(const Request& req, const MultipartLimits& limits = {});

}  // namespace zhenwu::http
