#include "http/static_files.hpp"

#include <map>
#include <memory>

#include "http/content.hpp"
#include "http/gzip.hpp"

namespace zhenwu::http {
namespace {

constexpr std::string_view kStaticPrefix = "assets/static/";
constexpr std::string_view kCacheControl = "public, max-age=3600";

struct StaticFile {
  std::string_view data;
  std::string_view content_type;
  std::string etag;       // strong, of the identity bytes
  std::string gzip;       // empty when not worth it
  std::string gzip_etag;  // weak form of etag, sent with the gzip body
};

using Table = std::map<std::string, StaticFile, std::less<>>;

std::shared_ptr<const Table> BuildTable(std::span<const embedded::File> files) {
  auto table = std::make_shared<Table>();
  for (const embedded::File& f : files) {
    if (!f.path.starts_with(kStaticPrefix) || f.path.size() == kStaticPrefix.size()) continue;
    StaticFile file;
    file.data = f.data;
    file.content_type = ContentTypeForPath(f.path);
    file.etag = ContentEtag(f.data);
    if (IsCompressibleType(file.content_type) && f.data.size() >= kGzipMinBytes) {
      std::string gz = GzipCompress(f.data, 9);
      if (gz.size() < f.data.size()) {
        file.gzip = std::move(gz);
        file.gzip_etag = WeakEtag(file.etag);
      }
    }
    table->emplace(std::string(f.path.substr(kStaticPrefix.size())), std::move(file));
  }
  return table;
}

const std::shared_ptr<const Table>& EmbeddedTable() {
  static const std::shared_ptr<const Table> table = BuildTable(embedded::Files());
  return table;
}

Response Serve(const StaticFile& file, const Request& req) {
  bool gzip = !file.gzip.empty() && req.AcceptsGzip();
  const std::string& etag = gzip ? file.gzip_etag : file.etag;
  Response res{bhttp::status::ok, 11};
  res.set(bhttp::field::cache_control, kCacheControl);
  res.set(bhttp::field::etag, etag);
  if (!file.gzip.empty()) res.set(bhttp::field::vary, "Accept-Encoding");
  if (EtagMatches(req.Header("If-None-Match"), etag)) {
    res.result(bhttp::status::not_modified);
    return res;
  }
  res.set(bhttp::field::content_type, file.content_type);
  res.set("X-Content-Type-Options", "nosniff");
  if (gzip) {
    res.set(bhttp::field::content_encoding, "gzip");
    res.body().assign(file.gzip);
  } else {
    res.body().assign(file.data);
  }
  res.prepare_payload();
  return res;
}

void AddRoutes(Router& router, std::shared_ptr<const Table> table) {
  router.Get("/static/{path...}", [table](Request& req) -> asio::awaitable<Response> {
    auto param = req.params.find("path");
    auto it = param == req.params.end() ? table->end() : table->find(param->second);
    if (it == table->end()) co_return Response{bhttp::status::not_found, 11};
    co_return Serve(it->second, req);
  });
  for (std::string_view name : {"favicon.ico", "robots.txt"}) {
    auto it = table->find(name);
    if (it == table->end()) continue;
    const StaticFile* file = &it->second;
    router.Get("/" + std::string(name), [table, file](Request& req) -> asio::awaitable<Response> {
      co_return Serve(*file, req);
    });
  }
}

}  // namespace

void AddStaticRoutes(Router& router) { AddRoutes(router, EmbeddedTable()); }

void AddStaticRoutes(Router& router, std::span<const embedded::File> files) {
  AddRoutes(router, BuildTable(files));
}

std::string StaticUrl(std::string_view path) {
  std::string url = "/static/";
  url.append(path);
  const Table& table = *EmbeddedTable();
  auto it = table.find(path);
  if (it != table.end()) {
    // Eight hex digits of the content hash are plenty to bust a browser cache.
    url.append("?v=").append(std::string_view(it->second.etag).substr(1, 8));
  }
  return url;
}

}  // namespace zhenwu::http
