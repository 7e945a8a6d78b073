#pragma once
// Helpers shared by the two backends; not part of the db interface.

#include <string>
#include <string_view>

namespace zhenwu::db::detail {

// Shortest text that reads back as the same double; "NaN", "Infinity", "-Infinity" otherwise
// (the spellings PostgreSQL accepts).
std::string FormatReal(double value);

// The start of a statement, for error messages.
inline std::string SqlHead(std::string_view sql) {
  constexpr std::size_t kMax = 120;
  std::string head(sql.substr(0, kMax));
  for (char& c : head) {
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  }
  if (sql.size() > kMax) head += "…";
  return head;
}

}  // namespace zhenwu::db::detail
