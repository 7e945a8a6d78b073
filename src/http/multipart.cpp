#include "http/multipart.hpp"

#include <cctype>

namespace zhenwu::http {

namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

bool IEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

Error Bad(std::string message) { return Error::Invalid("file", std::move(message)); }

// The value of parameter `name` in "form-data; name=\"x\"; filename=\"y\"" (quoted or token).
std::optional<std::string> HeaderParam(std::string_view header, std::string_view name) {
  std::size_t i = header.find(';');
  while (i != std::string_view::npos && i < header.size()) {
    ++i;
    while (i < header.size() && (header[i] == ' ' || header[i] == '\t')) ++i;
    const std::size_t eq = header.find('=', i);
    if (eq == std::string_view::npos) return std::nullopt;
    std::string_view key = Trim(header.substr(i, eq - i));
    std::size_t j = eq + 1;
    std::string value;
    if (j < header.size() && header[j] == '"') {
      ++j;
      while (j < header.size() && header[j] != '"') {
        if (header[j] == '\\' && j + 1 < header.size()) ++j;
        value += header[j++];
      }
      if (j < header.size()) ++j;  // closing quote
    } else {
      while (j < header.size() && header[j] != ';') value += header[j++];
      value = std::string(Trim(value));
    }
    if (IEquals(key, name)) return value;
    i = header.find(';', j);
  }
  return std::nullopt;
}

}  // namespace

const MultipartPart* MultipartForm::Find(std::string_view name) const {
  for (const auto& p : parts_) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

std::optional<std::string> MultipartForm::Get(std::string_view name) const {
  for (const auto& p : parts_) {
    if (p.name == name && !p.filename) return p.data;
  }
  return std::nullopt;
}

Form MultipartForm::Fields() const {
  Form form;
  for (const auto& p : parts_) {
    if (!p.filename) form.Add(p.name, p.data);
  }
  return form;
}

std::optional<std::string> MultipartBoundary(std::string_view content_type) {
  const std::string_view type = Trim(content_type.substr(0, content_type.find(';')));
  if (!IEquals(type, "multipart/form-data")) return std::nullopt;
  auto boundary = HeaderParam(content_type, "boundary");
  // RFC 2046: 1–70 characters, not ending in a space.
  if (!boundary || boundary->empty() || boundary->size() > 70 || boundary->back() == ' ') {
    return std::nullopt;
  }
  return boundary;
}

Result<MultipartForm> ParseMultipart(std::string_view body, std::string_view boundary,
                                     const MultipartLimits& limits) {
  if (boundary.empty()) return Bad("上传的数据缺少分隔符");
  const std::string delimiter = "--" + std::string(boundary);
  // The first delimiter starts the body or a line.
  std::size_t pos;
  if (body.substr(0, delimiter.size()) == delimiter) {
    pos = 0;
  } else {
    pos = body.find("\n" + delimiter);
    if (pos == std::string_view::npos) return Bad("上传的数据格式不正确");
    pos += 1;
  }
  std::vector<MultipartPart> parts;
  const std::string next_delimiter = "\n" + delimiter;
  while (true) {
    pos += delimiter.size();
    if (body.substr(pos, 2) == "--") return MultipartForm(std::move(parts));  // close delimiter
    // Transport padding, then the line end.
    while (pos < body.size() && (body[pos] == ' ' || body[pos] == '\t')) ++pos;
    if (body.substr(pos, 2) == "\r\n") {
      pos += 2;
    } else if (body.substr(pos, 1) == "\n") {
      pos += 1;
    } else {
      return Bad("上传的数据格式不正确");
    }
    if (parts.size() >= limits.max_parts) return Bad("上传的数据项过多");

    MultipartPart part;
    bool has_disposition = false;
    std::size_t header_bytes = 0;
    while (true) {
      const std::size_t eol = body.find('\n', pos);
      if (eol == std::string_view::npos) return Bad("上传的数据不完整");
      std::string_view line = body.substr(pos, eol - pos);
      header_bytes += line.size() + 1;
      if (header_bytes > limits.max_header_bytes) return Bad("上传的数据项头部过长");
      pos = eol + 1;
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      if (line.empty()) break;
      const std::size_t colon = line.find(':');
      if (colon == std::string_view::npos) return Bad("上传的数据格式不正确");
      const std::string_view name = Trim(line.substr(0, colon));
      const std::string_view value = Trim(line.substr(colon + 1));
      if (IEquals(name, "Content-Disposition")) {
        const std::string_view kind = Trim(value.substr(0, value.find(';')));
        if (!IEquals(kind, "form-data")) return Bad("上传的数据格式不正确");
        auto field = HeaderParam(value, "name");
        if (!field) return Bad("上传的数据项缺少名称");
        part.name = *field;
        part.filename = HeaderParam(value, "filename");
        has_disposition = true;
      } else if (IEquals(name, "Content-Type")) {
        part.content_type = std::string(value);
      }
    }
    if (!has_disposition) return Bad("上传的数据项缺少名称");
    if (part.content_type.empty()) part.content_type = "text/plain";

    const std::size_t end = body.find(next_delimiter, pos);
    if (end == std::string_view::npos) return Bad("上传的数据不完整");
    std::size_t data_end = end;
    if (data_end > pos && body[data_end - 1] == '\r') --data_end;
    part.data = std::string(body.substr(pos, data_end - pos));
    parts.push_back(std::move(part));
    pos = end + 1;
  }
}

Result<MultipartForm> ParseMultipart(const Request& req, const MultipartLimits& limits) {
  auto boundary = MultipartBoundary(req.Header("Content-Type"));
  if (!boundary) return Bad("请以 multipart/form-data 方式上传");
  return ParseMultipart(req.raw.body(), *boundary, limits);
}

}  // namespace zhenwu::http
