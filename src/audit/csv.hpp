#pragma once
// CSV for spreadsheets (Excel opens UTF-8 only with a byte-order mark) that is safe against
// formula injection: a cell starting with = + - @ (or a tab / carriage return, which Excel
// also strips before looking) is prefixed with a single quote so it is shown as text.

#include <string>
#include <string_view>
#include <vector>

namespace zhenwu::audit {

// The UTF-8 byte-order mark that starts every CSV file we write.
inline constexpr std::string_view kUtf8Bom = "\xEF\xBB\xBF";

// One cell: neutralised as above, then quoted when it holds a comma, quote, CR or LF
// (quotes doubled), per RFC 4180.
std::string CsvCell(std::string_view value);
// Cells joined by commas, ended by CRLF.
std::string CsvRow(const std::vector<std::string>& cells);

}  // namespace zhenwu::audit
