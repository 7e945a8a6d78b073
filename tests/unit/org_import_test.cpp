// Reading org import files: CSV (BOM, quotes, CRLF, empty lines, bad encodings) and .xlsx made
// with libxlsxwriter (shared strings, numbers, a header row, gaps).
#include <gtest/gtest.h>
#include <xlsxwriter.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "org/import.hpp"
#include "support/temp_dir.hpp"

namespace zhenwu::org {
namespace {

TEST(OrgCsvTest, ParsesQuotesCommasNewlinesAndBom) {
  auto r = ParseCsv(
      "\xEF\xBB\xBF"
      "a,\"b,c\",\"say \"\"hi\"\"\"\r\n\"two\nlines\",x,\r\nlast");
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->size(), 3u);
  EXPECT_EQ((*r)[0].cells, (std::vector<std::string>{"a", "b,c", "say \"hi\""}));
  EXPECT_EQ((*r)[0].line, 1);
  EXPECT_EQ((*r)[1].cells, (std::vector<std::string>{"two\nlines", "x", ""}));
  EXPECT_EQ((*r)[1].line, 2);
  EXPECT_EQ((*r)[2].cells, std::vector<std::string>{"last"});
  EXPECT_EQ((*r)[2].line, 4);
}

TEST(OrgCsvTest, RefusesUnclosedQuotesAndNonUtf8) {
  auto open = ParseCsv("a,b\n\"never closed,c\n");
  ASSERT_FALSE(open.ok());
  EXPECT_NE(open.error().message.find("第 2 行"), std::string::npos);
  auto gbk = ParseCsv("\xC6\xBD\xD5\xFE\xD5\xF2,PZ\n");  // 平政镇 in GBK
  ASSERT_FALSE(gbk.ok());
  EXPECT_NE(gbk.error().message.find("UTF-8"), std::string::npos);
}

TEST(OrgImportFileTest, SkipsTheHeaderAndEmptyLinesAndKeepsLineNumbers) {
  const std::string csv =
      "\xEF\xBB\xBF上级编码,类型,名称,编码,行政区划代码\r\n"
      "\r\n"
      "BL,镇,新丰镇,XF,450981107\r\n"
      ",,,,\r\n"
      "XF,村,\"一村, 东片\",XF-C01\r\n";
  auto rows = ReadImportFile("units.csv", csv);
  ASSERT_TRUE(rows.ok()) << rows.error().message;
  ASSERT_EQ(rows->size(), 2u);
  EXPECT_EQ((*rows)[0].line, 3);
  EXPECT_EQ((*rows)[0].parent_code, "BL");
  EXPECT_EQ((*rows)[0].kind, "镇");
  EXPECT_EQ((*rows)[0].division_code, "450981107");
  EXPECT_EQ((*rows)[1].line, 5);
  EXPECT_EQ((*rows)[1].name, "一村, 东片");
  EXPECT_EQ((*rows)[1].division_code, "");
  // Without a header the first line is data.
  auto plain = ReadImportFile("u.csv", "BL,镇,新丰镇,XF\n");
  ASSERT_TRUE(plain.ok());
  ASSERT_EQ(plain->size(), 1u);
  EXPECT_EQ((*plain)[0].line, 1);
  EXPECT_FALSE(ReadImportFile("old.xls", "whatever").ok());
}

std::string ReadAll(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(OrgXlsxTest, ReadsTheFirstSheetWithSharedStringsAndNumbers) {
  testing::TempDir dir;
  const auto path = dir.path() / "units.xlsx";
  lxw_workbook* wb = workbook_new(path.c_str());
  lxw_worksheet* ws = workbook_add_worksheet(wb, "机构");
  worksheet_write_string(ws, 0, 0, "上级编码", nullptr);
  worksheet_write_string(ws, 0, 1, "类型", nullptr);
  worksheet_write_string(ws, 0, 2, "名称", nullptr);
  worksheet_write_string(ws, 0, 3, "编码", nullptr);
  worksheet_write_string(ws, 0, 4, "行政区划代码", nullptr);
  worksheet_write_string(ws, 1, 0, "BL", nullptr);
  worksheet_write_string(ws, 1, 1, "镇", nullptr);
  worksheet_write_string(ws, 1, 2, "新丰镇 & <东>", nullptr);
  worksheet_write_string(ws, 1, 3, "XF", nullptr);
  worksheet_write_number(ws, 1, 4, 450981107, nullptr);
  // Row 3 left empty; row 4 skips the division column and has a gap in column A.
  worksheet_write_string(ws, 3, 1, "村", nullptr);
  worksheet_write_string(ws, 3, 2, "一村", nullptr);
  worksheet_write_string(ws, 3, 3, "XF-C01", nullptr);
  worksheet_write_number(ws, 4, 4, 450981106201.0, nullptr);
  lxw_worksheet* second = workbook_add_worksheet(wb, "其他");
  worksheet_write_string(second, 0, 0, "not read", nullptr);
  ASSERT_EQ(workbook_close(wb), LXW_NO_ERROR);

  const std::string bytes = ReadAll(path);
  auto rows = ReadImportFile("units.xlsx", bytes);
  ASSERT_TRUE(rows.ok()) << rows.error().message;
  ASSERT_EQ(rows->size(), 3u);
  EXPECT_EQ((*rows)[0].line, 2);
  EXPECT_EQ((*rows)[0].name, "新丰镇 & <东>");
  EXPECT_EQ((*rows)[0].division_code, "450981107");
  EXPECT_EQ((*rows)[1].line, 4);
  EXPECT_EQ((*rows)[1].parent_code, "");
  EXPECT_EQ((*rows)[1].kind, "村");
  EXPECT_EQ((*rows)[1].code, "XF-C01");
  EXPECT_EQ((*rows)[2].line, 5);
  EXPECT_EQ((*rows)[2].division_code, "450981106201");
  // Detected by content even with another name.
  EXPECT_TRUE(ReadImportFile("upload.bin", bytes).ok());
}

TEST(OrgXlsxTest, RefusesBytesThatAreNotAWorkbook) {
  EXPECT_FALSE(ParseXlsx("not a zip").ok());
  EXPECT_FALSE(ParseXlsx(std::string("PK\x03\x04garbage", 11)).ok());
  EXPECT_FALSE(ReadImportFile("a.xlsx", "plain text").ok());
}

TEST(OrgXmlTest, UnescapesEntitiesAndCharacterReferences) {
  EXPECT_EQ(XmlUnescape("a &lt;b&gt; &amp; &quot;c&quot; &apos;"), "a <b> & \"c\" '");
  EXPECT_EQ(XmlUnescape("&#24179;&#x653F;"), "平政");
  EXPECT_EQ(XmlUnescape("AT&T &bogus; &"), "AT&T &bogus; &");
}

}  // namespace
}  // namespace zhenwu::org
