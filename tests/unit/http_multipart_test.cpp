// multipart/form-data: boundaries, fields and files, tolerated variations and refused bodies.
#include <gtest/gtest.h>

#include "http/multipart.hpp"

namespace zhenwu::http {
namespace {

std::string Body(std::string_view boundary) {
  std::string b;
  b += "preamble to ignore\r\n";
  b += "--" + std::string(boundary) + "\r\n";
  b += "Content-Disposition: form-data; name=\"_csrf\"\r\n\r\n";
  b += "tok123\r\n";
  b += "--" + std::string(boundary) + "\r\n";
  b += "Content-Disposition: form-data; name=\"file\"; filename=\"机构.csv\"\r\n";
  b += "Content-Type: text/csv\r\n\r\n";
  b += "a,b\r\n\r\n--not-the-boundary\r\nc,d\r\n";
  b += "--" + std::string(boundary) + "--\r\n";
  b += "epilogue";
  return b;
}

TEST(MultipartBoundaryTest, ReadsQuotedAndPlainBoundaries) {
  EXPECT_EQ(MultipartBoundary("multipart/form-data; boundary=abc"), "abc");
  EXPECT_EQ(MultipartBoundary("Multipart/Form-Data; charset=utf-8; boundary=\"a b:c\""), "a b:c");
  EXPECT_EQ(MultipartBoundary("multipart/form-data;boundary=----WebKitFormBoundaryX7"),
            "----WebKitFormBoundaryX7");
  EXPECT_FALSE(MultipartBoundary("application/x-www-form-urlencoded"));
  EXPECT_FALSE(MultipartBoundary("multipart/form-data"));
  EXPECT_FALSE(MultipartBoundary("multipart/form-data; boundary="));
  EXPECT_FALSE(MultipartBoundary("multipart/form-data; boundary=" + std::string(71, 'x')));
}

TEST(MultipartTest, ParsesFieldsAndFilesKeepingBytes) {
  auto form = ParseMultipart(Body("XyZ"), "XyZ");
  ASSERT_TRUE(form.ok()) << form.error().message;
  ASSERT_EQ(form->parts().size(), 2u);
  EXPECT_EQ(form->Get("_csrf"), "tok123");
  const MultipartPart* file = form->Find("file");
  ASSERT_NE(file, nullptr);
  EXPECT_EQ(file->filename, "机构.csv");
  EXPECT_EQ(file->content_type, "text/csv");
  EXPECT_EQ(file->data, "a,b\r\n\r\n--not-the-boundary\r\nc,d");
  EXPECT_EQ(form->parts()[0].content_type, "text/plain");
  EXPECT_FALSE(form->Get("file"));  // a file is not a field
  EXPECT_EQ(form->Fields().GetOr("_csrf"), "tok123");
}

TEST(MultipartTest, ToleratesBareLineFeedsAndEmptyParts) {
  const std::string body =
      "--b\nContent-Disposition: form-data; name=\"x\"\n\n1\n--b\n"
      "content-disposition: form-data; name=x2; filename=\"\"\n\n\n--b--";
  auto form = ParseMultipart(body, "b");
  ASSERT_TRUE(form.ok()) << form.error().message;
  EXPECT_EQ(form->Get("x"), "1");
  ASSERT_NE(form->Find("x2"), nullptr);
  EXPECT_EQ(form->Find("x2")->filename, "");
  EXPECT_EQ(form->Find("x2")->data, "");
  auto empty = ParseMultipart("--b--\r\n", "b");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->parts().empty());
}

TEST(MultipartTest, KeepsBinaryDataWithNulBytes) {
  std::string data("PK\x03\x04\0\0\xff\r\n", 10);
  std::string body =
      "--q\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a.xlsx\"\r\n\r\n" + data +
      "\r\n--q--\r\n";
  auto form = ParseMultipart(body, "q");
  ASSERT_TRUE(form.ok());
  EXPECT_EQ(form->Find("f")->data, data);
}

TEST(MultipartTest, RefusesMalformedBodies) {
  const std::vector<std::string> bad = {
      "",
      "no delimiter at all",
      "--b\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\nnever closed",
      "--b\r\nContent-Type: text/plain\r\n\r\nx\r\n--b--",                     // no disposition
      "--b\r\nContent-Disposition: attachment; name=\"x\"\r\n\r\nx\r\n--b--",  // not form-data
      "--b\r\nContent-Disposition: form-data\r\n\r\nx\r\n--b--",               // no name
      "--b\r\nno colon here\r\n\r\nx\r\n--b--",
      "--bX\r\n",
      "--b\r\nContent-Disposition: form-data; name=\"x\"\r\n",  // headers never end
  };
  for (const auto& body : bad) {
    auto form = ParseMultipart(body, "b");
    EXPECT_FALSE(form.ok()) << body;
    if (!form.ok()) {
      EXPECT_EQ(form.error().code, ErrorCode::kInvalidInput);
    }
  }
  EXPECT_FALSE(ParseMultipart("--b--", "").ok());
}

TEST(MultipartTest, EnforcesLimits) {
  std::string body;
  for (int i = 0; i < 5; ++i) {
    body +=
        "--b\r\nContent-Disposition: form-data; name=\"f" + std::to_string(i) + "\"\r\n\r\nv\r\n";
  }
  body += "--b--\r\n";
  EXPECT_TRUE(ParseMultipart(body, "b", {.max_parts = 5}).ok());
  EXPECT_FALSE(ParseMultipart(body, "b", {.max_parts = 4}).ok());
  std::string long_header =
      "--b\r\nContent-Disposition: form-data; name=\"x\"\r\nX-Pad: " + std::string(10000, 'a') +
      "\r\n\r\nv\r\n--b--";
  EXPECT_FALSE(ParseMultipart(long_header, "b").ok());
}

TEST(MultipartTest, ReadsTheBoundaryFromTheRequest) {
  Request req;
  req.raw.set(bhttp::field::content_type, "multipart/form-data; boundary=XyZ");
  req.raw.body() = Body("XyZ");
  auto form = ParseMultipart(req);
  ASSERT_TRUE(form.ok());
  EXPECT_EQ(form->Get("_csrf"), "tok123");
  Request urlencoded;
  urlencoded.raw.set(bhttp::field::content_type, "application/x-www-form-urlencoded");
  EXPECT_FALSE(ParseMultipart(urlencoded).ok());
}

}  // namespace
}  // namespace zhenwu::http
