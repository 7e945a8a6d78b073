#pragma once
// Files compiled into the binary by cmake/embed.cmake: assets/**, and under src/ every
// *.mustache template, *.sql migration and *.toml catalogue, by path relative to the repository.

#include <string_view>
#include <vector>

namespace zhenwu::embedded {

struct File {
  std::string_view
      path;  // e.g. "assets/static/css/zhenwu.css", "src/view/templates/layout.mustache"
  std::string_view data;
};

const std::vector<File>& Files();

}  // namespace zhenwu::embedded
