#pragma once
// Reading an import file of org units: CSV (UTF-8, with or without BOM) or Excel .xlsx (the
// first worksheet). Columns: 上级编码, 类型, 名称, 编码, 行政区划代码. A first row naming the
// columns is skipped; empty rows are ignored.

#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"
#include "org/service.hpp"

namespace zhenwu::org {

// Rows of cells from CSV text (RFC 4180: quoted fields with "" and line breaks, CRLF or LF,
// a leading UTF-8 BOM dropped); each row carries the line its record starts on.
struct CsvRecord {
  int line = 0;
  std::vector<std::string> cells;
};
// kInvalidInput (field "file") when the text is not UTF-8 or a quote is not closed.
Result<std::vector<CsvRecord>> ParseCsv(std::string_view text);

// Rows of cells of the first worksheet of an .xlsx file (shared strings, inline strings,
// numbers); `line` is the spreadsheet row number. kInvalidInput (field "file") when the bytes are
// not a readable .xlsx.
Result<std::vector<CsvRecord>> ParseXlsx(std::string_view bytes);

// The import rows of a file: .xlsx when `bytes` is a zip (or the name ends in .xlsx), CSV
// otherwise. Skips a header row and empty rows.
Result<std::vector<ImportRow>> ReadImportFile(std::string_view filename, std::string_view bytes);

// Decodes the five XML entities and numeric character references (for the .xlsx reader).
std::string XmlUnescape(std::string_view text);

}  // namespace zhenwu::org
