// Pure parts of the audit log: the canonical hash encoding and CSV escaping.

#include <gtest/gtest.h>

#include <functional>

#include "audit/audit.hpp"
#include "audit/csv.hpp"

namespace zhenwu::audit {
namespace {

Event Sample() {
  Event e;
  e.seq = 1;
  e.at_ms = 1795827600000;
  e.actor = Actor{int64_t{7}, "张三", "10.0.0.1", "req-1"};
  e.entry =
      Entry{"people.id_card.reveal", "resident", "42", int64_t{17}, "查看身份证号", "{}", "{}"};
  e.prev_hash = kZeroHash;
  return e;
}

TEST(AuditHashTest, EncodingIsLengthPrefixedInFixedOrder) {
  const std::string enc = CanonicalEncoding(Sample());
  EXPECT_EQ(enc.rfind("zhenwu.audit.v1;1:1;13:1795827600000;1:7;6:张三;", 0), 0u) << enc;
  EXPECT_NE(enc.find("2:17;"), std::string::npos);
  EXPECT_NE(enc.find("64:" + kZeroHash + ";"), std::string::npos);
}

TEST(AuditHashTest, EncodingIsUnambiguous) {
  Event a = Sample();
  Event b = Sample();
  a.entry.entity = "ab";
  a.entry.entity_id = "c";
  b.entry.entity = "a";
  b.entry.entity_id = "bc";
  EXPECT_NE(CanonicalEncoding(a), CanonicalEncoding(b));
  EXPECT_NE(EventHash(a), EventHash(b));

  Event null_unit = Sample();
  null_unit.entry.unit_id.reset();
  Event zero_unit = Sample();
  zero_unit.entry.unit_id = 0;
  EXPECT_NE(EventHash(null_unit), EventHash(zero_unit));

  Event anonymous = Sample();
  anonymous.actor.user_id.reset();
  EXPECT_NE(EventHash(anonymous), EventHash(Sample()));
}

TEST(AuditHashTest, HashCoversEveryFieldAndIsStable) {
  const std::string base = EventHash(Sample());
  EXPECT_EQ(base.size(), 64u);
  EXPECT_EQ(base, EventHash(Sample()));
  std::vector<std::function<void(Event&)>> changes = {
      [](Event& e) { e.seq = 2; },
      [](Event& e) { e.at_ms += 1; },
      [](Event& e) { e.actor.user_id = 8; },
      [](Event& e) { e.actor.name = "李四"; },
      [](Event& e) { e.actor.ip = "10.0.0.2"; },
      [](Event& e) { e.actor.request_id = "req-2"; },
      [](Event& e) { e.entry.action = "x"; },
      [](Event& e) { e.entry.entity = "x"; },
      [](Event& e) { e.entry.entity_id = "43"; },
      [](Event& e) { e.entry.unit_id = 18; },
      [](Event& e) { e.entry.summary = "x"; },
      [](Event& e) { e.entry.before = "{\"a\":1}"; },
      [](Event& e) { e.entry.after = "{\"a\":1}"; },
      [](Event& e) { e.prev_hash = std::string(64, '1'); },
  };
  for (std::size_t i = 0; i < changes.size(); ++i) {
    Event e = Sample();
    changes[i](e);
    EXPECT_NE(EventHash(e), base) << "field " << i;
  }
  // The stored hash is not part of its own input.
  Event with_hash = Sample();
  with_hash.hash = "ignored";
  EXPECT_EQ(EventHash(with_hash), base);
}

TEST(AuditCsvTest, PlainCellsStayAsTheyAre) {
  EXPECT_EQ(CsvCell("张三"), "张三");
  EXPECT_EQ(CsvCell(""), "");
  EXPECT_EQ(CsvCell("a b"), "a b");
}

TEST(AuditCsvTest, QuotesCellsWithSeparators) {
  EXPECT_EQ(CsvCell("a,b"), "\"a,b\"");
  EXPECT_EQ(CsvCell("say \"hi\""), "\"say \"\"hi\"\"\"");
  EXPECT_EQ(CsvCell("line1\nline2"), "\"line1\nline2\"");
}

TEST(AuditCsvTest, NeutralisesFormulas) {
  EXPECT_EQ(CsvCell("=1+1"), "'=1+1");
  EXPECT_EQ(CsvCell("+86 138"), "'+86 138");
  EXPECT_EQ(CsvCell("-2"), "'-2");
  EXPECT_EQ(CsvCell("@SUM(A1)"), "'@SUM(A1)");
  EXPECT_EQ(CsvCell("\tx"), "'\tx");
  EXPECT_EQ(CsvCell("=HYPERLINK(\"http://x\",\"y\")"),
            "\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\"");
  EXPECT_EQ(CsvCell("a=b"), "a=b");
}

TEST(AuditCsvTest, RowsEndWithCrLf) {
  EXPECT_EQ(CsvRow({"时间", "操作人", "=cmd"}), "时间,操作人,'=cmd\r\n");
  EXPECT_EQ(kUtf8Bom, "\xEF\xBB\xBF");
}

}  // namespace
}  // namespace zhenwu::audit
