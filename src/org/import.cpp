#include "org/import.hpp"

#include <zip.h>

#include <cmath>
#include <cstdlib>
#include <memory>

namespace zhenwu::org {

namespace {

Error Bad(std::string message) { return Error::Invalid("file", std::move(message)); }

bool ValidUtf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    int n = 0;
    if (c < 0x80) {
      n = 0;
    } else if ((c & 0xE0) == 0xC0 && c >= 0xC2) {
      n = 1;
    } else if ((c & 0xF0) == 0xE0) {
      n = 2;
    } else if ((c & 0xF8) == 0xF0 && c <= 0xF4) {
      n = 3;
    } else {
      return false;
    }
    for (int k = 1; k <= n; ++k) {
      if (i + k >= s.size() || (static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    }
    i += n + 1;
  }
  return true;
}

void AppendUtf8(std::string& out, unsigned long cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x110000) {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// --- a tolerant reader of the little XML an .xlsx holds -------------------------------------

struct Tag {
  std::string_view name;   // without namespace prefix
  std::string_view attrs;  // raw attribute text
  bool closing = false;
  bool self_closing = false;
  std::size_t end = 0;  // just past '>'
};

// The next tag at or after `pos`; nullopt at the end.
std::optional<Tag> NextTag(std::string_view xml, std::size_t pos, std::size_t* start) {
  while (true) {
    const std::size_t lt = xml.find('<', pos);
    if (lt == std::string_view::npos) return std::nullopt;
    if (xml.substr(lt, 4) == "<!--") {
      const std::size_t e = xml.find("-->", lt);
      if (e == std::string_view::npos) return std::nullopt;
      pos = e + 3;
      continue;
    }
    if (xml.substr(lt, 2) == "<?" || xml.substr(lt, 2) == "<!") {
      const std::size_t e = xml.find('>', lt);
      if (e == std::string_view::npos) return std::nullopt;
      pos = e + 1;
      continue;
    }
    const std::size_t gt = xml.find('>', lt);
    if (gt == std::string_view::npos) return std::nullopt;
    Tag t;
    std::string_view inner = xml.substr(lt + 1, gt - lt - 1);
    if (!inner.empty() && inner.front() == '/') {
      t.closing = true;
      inner.remove_prefix(1);
    }
    if (!inner.empty() && inner.back() == '/') {
      t.self_closing = true;
      inner.remove_suffix(1);
    }
    std::size_t name_end = 0;
    while (name_end < inner.size() && inner[name_end] != ' ' && inner[name_end] != '\t' &&
           inner[name_end] != '\n' && inner[name_end] != '\r') {
      ++name_end;
    }
    t.name = inner.substr(0, name_end);
    if (auto colon = t.name.find(':'); colon != std::string_view::npos) {
      t.name.remove_prefix(colon + 1);
    }
    t.attrs = inner.substr(name_end);
    t.end = gt + 1;
    *start = lt;
    return t;
  }
}

std::string Attr(std::string_view attrs, std::string_view name) {
  std::size_t pos = 0;
  while ((pos = attrs.find(name, pos)) != std::string_view::npos) {
    const bool starts = pos == 0 || attrs[pos - 1] == ' ' || attrs[pos - 1] == '\t' ||
                        attrs[pos - 1] == '\n' || attrs[pos - 1] == '\r' || attrs[pos - 1] == ':';
    std::size_t i = pos + name.size();
    while (i < attrs.size() && attrs[i] == ' ') ++i;
    if (starts && i < attrs.size() && attrs[i] == '=') {
      ++i;
      while (i < attrs.size() && attrs[i] == ' ') ++i;
      if (i < attrs.size() && (attrs[i] == '"' || attrs[i] == '\'')) {
        const char q = attrs[i];
        const std::size_t e = attrs.find(q, i + 1);
        if (e == std::string_view::npos) return {};
        return XmlUnescape(attrs.substr(i + 1, e - i - 1));
      }
    }
    pos += name.size();
  }
  return {};
}

// Concatenated text of the <t> elements in xml[from, to), skipping phonetic runs (<rPh>).
std::string TextOf(std::string_view xml, std::size_t from, std::size_t to) {
  std::string out;
  std::size_t pos = from;
  int in_phonetic = 0;
  std::size_t start = 0;
  while (pos < to) {
    auto tag = NextTag(xml, pos, &start);
    if (!tag || start >= to) break;
    if (tag->name == "rPh" && !tag->self_closing) in_phonetic += tag->closing ? -1 : 1;
    if (tag->name == "t" && !tag->closing && !tag->self_closing && in_phonetic == 0) {
      const std::size_t e = xml.find('<', tag->end);
      if (e == std::string_view::npos) break;
      out += XmlUnescape(xml.substr(tag->end, e - tag->end));
      pos = e;
      continue;
    }
    pos = tag->end;
  }
  return out;
}

// The position of the closing </name> after `from` (or npos).
std::size_t CloseOf(std::string_view xml, std::string_view name, std::size_t from) {
  std::size_t pos = from;
  std::size_t start = 0;
  while (auto tag = NextTag(xml, pos, &start)) {
    if (tag->closing && tag->name == name) return start;
    pos = tag->end;
  }
  return std::string_view::npos;
}

std::vector<std::string> SharedStrings(std::string_view xml) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  std::size_t start = 0;
  while (auto tag = NextTag(xml, pos, &start)) {
    pos = tag->end;
    if (tag->name != "si" || tag->closing) continue;
    if (tag->self_closing) {
      out.emplace_back();
      continue;
    }
    const std::size_t close = CloseOf(xml, "si", tag->end);
    if (close == std::string_view::npos) break;
    out.push_back(TextOf(xml, tag->end, close));
    pos = close;
  }
  return out;
}

// "BC12" -> 54 (0-based column of the letters).
int ColumnOf(std::string_view ref) {
  int col = 0;
  bool any = false;
  for (char c : ref) {
    if (c >= 'A' && c <= 'Z') {
      col = col * 26 + (c - 'A' + 1);
      any = true;
    } else if (c >= 'a' && c <= 'z') {
      col = col * 26 + (c - 'a' + 1);
      any = true;
    } else {
      break;
    }
  }
  return any ? col - 1 : -1;
}

// Numbers as Excel shows them for codes: integral values without ".0" or an exponent.
std::string NumberText(const std::string& v) {
  if (v.find_first_of("eE.") == std::string::npos) return v;
  char* end = nullptr;
  const double d = std::strtod(v.c_str(), &end);
  if (end != v.c_str() + v.size() || !std::isfinite(d)) return v;
  if (d == std::floor(d) && std::fabs(d) < 1e15) {
    return std::to_string(static_cast<long long>(d));
  }
  return v;
}

std::vector<CsvRecord> SheetRows(std::string_view xml, const std::vector<std::string>& shared) {
  std::vector<CsvRecord> rows;
  std::size_t pos = 0;
  std::size_t start = 0;
  int next_row = 1;
  while (auto tag = NextTag(xml, pos, &start)) {
    pos = tag->end;
    if (tag->name != "row" || tag->closing) continue;
    CsvRecord record;
    const std::string r = Attr(tag->attrs, "r");
    record.line = r.empty() ? next_row : std::atoi(r.c_str());
    next_row = record.line + 1;
    if (tag->self_closing) continue;
    const std::size_t row_close = CloseOf(xml, "row", tag->end);
    if (row_close == std::string_view::npos) break;
    std::size_t cpos = tag->end;
    int next_col = 0;
    while (auto cell = NextTag(xml, cpos, &start)) {
      if (start >= row_close) break;
      cpos = cell->end;
      if (cell->name != "c" || cell->closing) continue;
      const std::string ref = Attr(cell->attrs, "r");
      int col = ref.empty() ? next_col : ColumnOf(ref);
      if (col < 0 || col > 1000) col = next_col;
      next_col = col + 1;
      std::string value;
      if (!cell->self_closing) {
        const std::size_t cell_close = CloseOf(xml, "c", cell->end);
        if (cell_close == std::string_view::npos || cell_close > row_close) break;
        const std::string type = Attr(cell->attrs, "t");
        if (type == "inlineStr") {
          value = TextOf(xml, cell->end, cell_close);
        } else {
          std::string v;
          std::size_t vpos = cell->end;
          std::size_t vstart = 0;
          while (auto vt = NextTag(xml, vpos, &vstart)) {
            if (vstart >= cell_close) break;
            vpos = vt->end;
            if (vt->name == "v" && !vt->closing && !vt->self_closing) {
              const std::size_t e = xml.find('<', vt->end);
              v = XmlUnescape(xml.substr(vt->end, e - vt->end));
              break;
            }
          }
          if (type == "s") {
            const long idx = std::strtol(v.c_str(), nullptr, 10);
            if (idx >= 0 && static_cast<std::size_t>(idx) < shared.size()) value = shared[idx];
          } else if (type == "str" || type == "e") {
            value = v;
          } else if (type == "b") {
            value = v == "1" ? "TRUE" : "FALSE";
          } else {
            value = NumberText(v);
          }
        }
        cpos = cell_close;
      }
      if (record.cells.size() <= static_cast<std::size_t>(col)) record.cells.resize(col + 1);
      record.cells[col] = std::move(value);
    }
    rows.push_back(std::move(record));
    pos = row_close;
  }
  return rows;
}

struct ZipCloser {
  void operator()(zip_t* z) const { zip_discard(z); }
};

Result<std::string> ReadEntry(zip_t* archive, const std::string& name, bool required) {
  zip_stat_t st;
  zip_stat_init(&st);
  if (zip_stat(archive, name.c_str(), 0, &st) != 0 || !(st.valid & ZIP_STAT_SIZE)) {
    if (required) return Bad("不是有效的 Excel 文件（缺少 " + name + "）");
    return std::string();
  }
  if (st.size > 64u * 1024 * 1024) return Bad("Excel 文件内容过大");
  std::unique_ptr<zip_file_t, int (*)(zip_file_t*)> file(zip_fopen(archive, name.c_str(), 0),
                                                         zip_fclose);
  if (!file) return Bad("无法读取 Excel 文件");
  std::string data(st.size, '\0');
  const zip_int64_t n = zip_fread(file.get(), data.data(), st.size);
  if (n < 0 || static_cast<zip_uint64_t>(n) != st.size) return Bad("无法读取 Excel 文件");
  return data;
}

// The path in the archive of the first worksheet, from the workbook and its relationships.
std::string FirstSheetPath(zip_t* archive) {
  const std::string fallback = "xl/worksheets/sheet1.xml";
  auto workbook = ReadEntry(archive, "xl/workbook.xml", false);
  auto rels = ReadEntry(archive, "xl/_rels/workbook.xml.rels", false);
  if (!workbook || !rels || workbook->empty() || rels->empty()) return fallback;
  std::size_t pos = 0;
  std::size_t start = 0;
  std::string rid;
  while (auto tag = NextTag(*workbook, pos, &start)) {
    pos = tag->end;
    if (tag->name == "sheet" && !tag->closing) {
      rid = Attr(tag->attrs, "id");
      break;
    }
  }
  if (rid.empty()) return fallback;
  pos = 0;
  while (auto tag = NextTag(*rels, pos, &start)) {
    pos = tag->end;
    if (tag->name == "Relationship" && Attr(tag->attrs, "Id") == rid) {
      std::string target = Attr(tag->attrs, "Target");
      if (target.empty()) return fallback;
      if (target.front() == '/') return target.substr(1);
      return "xl/" + target;
    }
  }
  return fallback;
}

bool IsHeader(const std::vector<std::string>& cells) {
  for (const auto& c : cells) {
    const std::string t = TrimText(c);
    if (t == "名称" || t == "编码" || t == "上级编码" || t == "类型") return true;
  }
  return false;
}

}  // namespace

std::string XmlUnescape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '&') {
      out += text[i];
      continue;
    }
    const std::size_t semi = text.find(';', i);
    if (semi == std::string_view::npos || semi - i > 10) {
      out += '&';
      continue;
    }
    const std::string_view ent = text.substr(i + 1, semi - i - 1);
    if (ent == "lt") {
      out += '<';
    } else if (ent == "gt") {
      out += '>';
    } else if (ent == "amp") {
      out += '&';
    } else if (ent == "quot") {
      out += '"';
    } else if (ent == "apos") {
      out += '\'';
    } else if (ent.size() > 1 && ent[0] == '#') {
      const bool hex = ent[1] == 'x' || ent[1] == 'X';
      const std::string digits(ent.substr(hex ? 2 : 1));
      char* end = nullptr;
      const unsigned long cp = std::strtoul(digits.c_str(), &end, hex ? 16 : 10);
      if (digits.empty() || *end != '\0') {
        out += '&';
        continue;
      }
      AppendUtf8(out, cp);
    } else {
      out += '&';
      continue;
    }
    i = semi;
  }
  return out;
}

Result<std::vector<CsvRecord>> ParseCsv(std::string_view text) {
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
  if (!ValidUtf8(text)) {
    return Bad("文件不是 UTF-8 编码。请在 Excel 中选择“另存为 → CSV UTF-8”，或直接上传 .xlsx 文件");
  }
  std::vector<CsvRecord> records;
  CsvRecord current;
  std::string cell;
  int line = 1;
  current.line = 1;
  bool quoted = false;
  bool row_has_content = false;
  std::size_t i = 0;
  auto end_cell = [&] {
    current.cells.push_back(std::move(cell));
    cell.clear();
  };
  auto end_row = [&] {
    end_cell();
    records.push_back(std::move(current));
    current = CsvRecord{};
    row_has_content = false;
  };
  int quote_line = 0;
  while (i < text.size()) {
    const char c = text[i];
    if (quoted) {
      if (c == '"') {
        if (i + 1 < text.size() && text[i + 1] == '"') {
          cell += '"';
          i += 2;
          continue;
        }
        quoted = false;
        ++i;
        continue;
      }
      if (c == '\n') ++line;
      cell += c;
      ++i;
      continue;
    }
    if (c == '"' && cell.empty()) {
      quoted = true;
      quote_line = line;
      row_has_content = true;
      ++i;
      continue;
    }
    if (c == ',') {
      end_cell();
      row_has_content = true;
      ++i;
      continue;
    }
    if (c == '\r' || c == '\n') {
      if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
      ++i;
      end_row();
      ++line;
      current.line = line;
      continue;
    }
    cell += c;
    row_has_content = true;
    ++i;
  }
  if (quoted) {
    return Bad("第 " + std::to_string(quote_line) + " 行：引号没有配对");
  }
  if (row_has_content || !cell.empty()) end_row();
  return records;
}

Result<std::vector<CsvRecord>> ParseXlsx(std::string_view bytes) {
  zip_error_t error;
  zip_error_init(&error);
  zip_source_t* source = zip_source_buffer_create(bytes.data(), bytes.size(), 0, &error);
  if (source == nullptr) {
    zip_error_fini(&error);
    return Bad("无法读取 Excel 文件");
  }
  std::unique_ptr<zip_t, ZipCloser> archive(zip_open_from_source(source, ZIP_RDONLY, &error));
  zip_error_fini(&error);
  if (!archive) {
    zip_source_free(source);
    return Bad("不是有效的 Excel（.xlsx）文件");
  }
  auto shared_xml = ReadEntry(archive.get(), "xl/sharedStrings.xml", false);
  if (!shared_xml) return std::move(shared_xml).error();
  auto sheet = ReadEntry(archive.get(), FirstSheetPath(archive.get()), true);
  if (!sheet) return std::move(sheet).error();
  return SheetRows(*sheet, SharedStrings(*shared_xml));
}

Result<std::vector<ImportRow>> ReadImportFile(std::string_view filename, std::string_view bytes) {
  const bool zip = bytes.substr(0, 4) == std::string_view("PK\x03\x04", 4);
  const bool xlsx_name = filename.size() >= 5 && (filename.substr(filename.size() - 5) == ".xlsx" ||
                                                  filename.substr(filename.size() - 5) == ".XLSX");
  if (filename.size() >= 4 && (filename.substr(filename.size() - 4) == ".xls")) {
    return Bad("不支持旧版 Excel（.xls）文件，请另存为 .xlsx 或 CSV UTF-8 后上传");
  }
  auto records = (zip || xlsx_name) ? ParseXlsx(bytes) : ParseCsv(bytes);
  if (!records) return std::move(records).error();
  std::vector<ImportRow> rows;
  bool first = true;
  for (auto& r : *records) {
    bool empty = true;
    for (const auto& c : r.cells) {
      if (!TrimText(c).empty()) empty = false;
    }
    if (empty) continue;
    if (first) {
      first = false;
      if (IsHeader(r.cells)) continue;
    }
    r.cells.resize(std::max<std::size_t>(r.cells.size(), 5));
    rows.push_back({r.line, r.cells[0], r.cells[1], r.cells[2], r.cells[3], r.cells[4]});
  }
  return rows;
}

}  // namespace zhenwu::org
