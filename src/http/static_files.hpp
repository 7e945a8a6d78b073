#pragma once
// Static files compiled into the binary (assets/static/**), served at /static/{path...} with a
// content-hash ETag, a gzip form computed once, Cache-Control: public, max-age=3600 and 304 on
// If-None-Match. Nothing outside assets/static/ is ever served.

#include <span>
#include <string>
#include <string_view>

#include "http/router.hpp"
#include "view/embedded.hpp"

namespace zhenwu::http {

// Registers GET (and HEAD) /static/{path...} for the embedded files under assets/static/, and
// /favicon.ico and /robots.txt when assets/static/ holds them. Unknown files answer 404 (the
// server renders its error page). Hashing and compression happen once per process, on the
// first call. Throws std::invalid_argument if the router already has these routes.
void AddStaticRoutes(Router& router);

// The same for an explicit file list (tests); only files under "assets/static/" are served and
// the data must outlive the router.
void AddStaticRoutes(Router& router, std::span<const embedded::File> files);

// The URL of an embedded static file with a version query for cache busting:
// StaticUrl("css/zhenwu.css") -> "/static/css/zhenwu.css?v=3f9a0c1d". Unknown files get the
// plain URL.
std::string StaticUrl(std::string_view path);

}  // namespace zhenwu::http
