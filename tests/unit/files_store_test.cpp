// The content-addressed file store: put/read, deduplication, sniffing by bytes, upload checks,
// refusing malformed names, damaged files, and what an interrupted write leaves behind.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <unordered_set>

#include "files/file_store.hpp"
#include "support/temp_dir.hpp"

namespace zhenwu::files {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;

const std::string kPdfBytes = "%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n";
const std::string kJpegBytes = std::string("\xFF\xD8\xFF\xE0\x00\x10JFIF\x00", 11) + "pixels";
const std::string kPngBytes = std::string("\x89PNG\r\n\x1A\n\x00\x00\x00\x0DIHDR", 16);

int FilesUnder(const fs::path& root) {
  int n = 0;
  for (const auto& e : fs::recursive_directory_iterator(root)) n += e.is_regular_file() ? 1 : 0;
  return n;
}

void WriteRaw(const fs::path& path, const std::string& bytes) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << bytes;
}

std::unique_ptr<FileStore> OpenStore(const fs::path& root) {
  auto store = FileStore::Open(root.string());
  if (!store) ADD_FAILURE() << store.error().message;
  return store ? std::move(store).value() : nullptr;
}

TEST(FilesHashTest, Sha256IsTheStandardOne) {
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_TRUE(IsSha256Hex(Sha256Hex("x")));
  EXPECT_FALSE(IsSha256Hex(std::string(63, 'a')));
  EXPECT_FALSE(IsSha256Hex(std::string(64, 'A')));  // lowercase only
  EXPECT_FALSE(IsSha256Hex(std::string(62, 'a') + "/."));
}

TEST(FilesSniffTest, RecognisesPdfJpegPngByTheirBytesOnly) {
  EXPECT_EQ(DetectType(kPdfBytes), "application/pdf");
  EXPECT_EQ(DetectType(kJpegBytes), "image/jpeg");
  EXPECT_EQ(DetectType(kPngBytes), "image/png");
  EXPECT_EQ(DetectType(""), "");
  EXPECT_EQ(DetectType("%PDF"), "");                                       // cut short
  EXPECT_EQ(DetectType(std::string("\x89PNG\r\n", 6)), "");                // cut short
  EXPECT_EQ(DetectType(std::string("\xFF\xD8", 2)), "");                   // cut short
  EXPECT_EQ(DetectType("GIF89a...."), "");                                 // another image type
  EXPECT_EQ(DetectType("<html><body>%PDF-1.4</body></html>"), "");         // signature not first
  EXPECT_EQ(DetectType(std::string("MZ\x90\x00", 4) + "report.pdf"), "");  // a program
  EXPECT_EQ(DetectType(" %PDF-1.4"), "");
}

TEST(FileStoreTest, PutThenReadReturnsTheSameBytesFromAShardedPath) {
  TempDir dir;
  auto store = OpenStore(dir.path() / "files");
  ASSERT_TRUE(store);
  auto put = store->Put(kPdfBytes);
  ASSERT_TRUE(put) << put.error().message;
  EXPECT_EQ(put->sha256, Sha256Hex(kPdfBytes));
  EXPECT_EQ(put->size, static_cast<int64_t>(kPdfBytes.size()));
  EXPECT_EQ(put->content_type, "application/pdf");
  const std::string& h = put->sha256;
  const fs::path expected =
      fs::absolute(dir.path() / "files") / h.substr(0, 2) / h.substr(2, 2) / h;
  EXPECT_EQ(store->PathOf(h), expected.string());
  EXPECT_TRUE(fs::is_regular_file(expected));
  EXPECT_TRUE(store->Exists(h));
  auto read = store->Read(h);
  ASSERT_TRUE(read) << read.error().message;
  EXPECT_EQ(*read, kPdfBytes);

  // Binary content with NUL bytes survives; an unknown type is stored with type "".
  const std::string binary("a\0b\0\xFF", 5);
  auto other = store->Put(binary);
  ASSERT_TRUE(other);
  EXPECT_EQ(other->content_type, "");
  EXPECT_EQ(*store->Read(other->sha256), binary);
  EXPECT_EQ(FilesUnder(dir.path() / "files"), 2);
}

TEST(FileStoreTest, TheSameBytesAreStoredOnceAndNotRewritten) {
  TempDir dir;
  auto store = OpenStore(dir.path() / "files");
  ASSERT_TRUE(store);
  auto first = store->Put(kPngBytes);
  ASSERT_TRUE(first);
  struct stat before {};
  ASSERT_EQ(::stat(store->PathOf(first->sha256).c_str(), &before), 0);
  auto second = store->Put(kPngBytes);
  ASSERT_TRUE(second);
  EXPECT_EQ(second->sha256, first->sha256);
  EXPECT_EQ(second->content_type, "image/png");
  struct stat after {};
  ASSERT_EQ(::stat(store->PathOf(first->sha256).c_str(), &after), 0);
  EXPECT_EQ(after.st_ino, before.st_ino);  // a rename would have made a new file
  EXPECT_EQ(FilesUnder(dir.path() / "files"), 1);
}

TEST(FileStoreTest, PutCheckedAcceptsAllowedTypesWithinTheLimit) {
  TempDir dir;
  auto store = OpenStore(dir.path() / "files");
  ASSERT_TRUE(store);
  const std::vector<std::string_view> allowed{kPdf, kJpeg, kPng};
  auto exact = store->PutChecked(kJpegBytes, allowed, static_cast<int64_t>(kJpegBytes.size()));
  ASSERT_TRUE(exact) << exact.error().message;
  EXPECT_EQ(exact->content_type, "image/jpeg");
  EXPECT_TRUE(store->Exists(exact->sha256));
}

TEST(FileStoreTest, PutCheckedRefusesWrongTypeTooLargeAndEmptyWithoutWriting) {
  TempDir dir;
  auto store = OpenStore(dir.path() / "files");
  ASSERT_TRUE(store);
  const std::vector<std::string_view> allowed{kPdf, kJpeg, kPng};

  auto html = store->PutChecked("<html>not a pdf</html>", allowed, 1024 * 1024);
  ASSERT_FALSE(html);
  EXPECT_EQ(html.error().code, ErrorCode::kInvalidInput);
  ASSERT_EQ(html.error().fields.size(), 1u);
  EXPECT_EQ(html.error().fields[0].field, "file");
  EXPECT_EQ(html.error().fields[0].message, "文件类型不支持，请上传 PDF、JPG 或 PNG");

  auto png_only = store->PutChecked(kPdfBytes, {kPng}, 1024 * 1024);
  ASSERT_FALSE(png_only);
  EXPECT_EQ(png_only.error().message, "文件类型不支持，请上传 PNG");

  const int64_t limit = 10 * 1024 * 1024;
  const std::string big = "%PDF-" + std::string(static_cast<std::size_t>(limit), 'x');
  auto too_big = store->PutChecked(big, allowed, limit);
  ASSERT_FALSE(too_big);
  EXPECT_EQ(too_big.error().code, ErrorCode::kInvalidInput);
  EXPECT_EQ(too_big.error().fields[0].field, "file");
  EXPECT_EQ(too_big.error().fields[0].message, "文件过大，请上传不超过 10 MB 的文件");

  auto one_over = store->PutChecked(kPdfBytes, allowed, static_cast<int64_t>(kPdfBytes.size()) - 1);
  ASSERT_FALSE(one_over);
  EXPECT_NE(one_over.error().message.find("文件过大"), std::string::npos);

  auto empty = store->PutChecked("", allowed, limit);
  ASSERT_FALSE(empty);
  EXPECT_EQ(empty.error().code, ErrorCode::kInvalidInput);
  EXPECT_EQ(empty.error().fields[0].field, "file");

  EXPECT_EQ(FilesUnder(dir.path() / "files"), 0);
}

TEST(FileStoreTest, MalformedNamesNeverLeaveTheStore) {
  TempDir dir;
  auto store = OpenStore(dir.path() / "files");
  ASSERT_TRUE(store);
  WriteRaw(dir.path() / "secret.txt", "do not serve");
  for (std::string_view bad :
       {"", "../secret.txt", "../../../../etc/passwd",
        "BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD",
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015a",
        "ba78/6bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"}) {
    EXPECT_EQ(store->PathOf(bad), "") << bad;
    EXPECT_FALSE(store->Exists(bad)) << bad;
    auto read = store->Read(bad);
    ASSERT_FALSE(read) << bad;
    EXPECT_EQ(read.error().code, ErrorCode::kNotFound) << bad;
  }
  auto missing = store->Read(Sha256Hex("never stored"));
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
}

TEST(FileStoreTest, ADamagedFileIsReportedNotServed) {
  TempDir dir;
  auto store = OpenStore(dir.path() / "files");
  ASSERT_TRUE(store);
  auto put = store->Put(kPdfBytes);
  ASSERT_TRUE(put);
  std::ofstream(store->PathOf(put->sha256), std::ios::binary | std::ios::trunc)
      << "%PDF-1.7 altered";
  auto read = store->Read(put->sha256);
  ASSERT_FALSE(read);
  EXPECT_EQ(read.error().code, ErrorCode::kInternal);
  EXPECT_NE(read.error().message.find("损坏"), std::string::npos);
}

// A crash in the middle of Put leaves a temp file beside where the file would go. It is never
// taken for the file, does not stop the same bytes from being stored, and is removed when the
// store is next opened once it is old enough not to belong to another process's write.
TEST(FileStoreTest, ALeftoverTempFileIsIgnoredAndCleanedUp) {
  TempDir dir;
  const fs::path root = dir.path() / "files";
  const std::string h = Sha256Hex(kPdfBytes);
  const fs::path shard = root / h.substr(0, 2) / h.substr(2, 2);
  const fs::path stale = shard / ".tmp-0011223344556677";
  const fs::path fresh = shard / ".tmp-8899aabbccddeeff";
  WriteRaw(stale, kPdfBytes.substr(0, 10));  // interrupted half-way
  WriteRaw(fresh, kPdfBytes.substr(0, 5));   // another process writing right now
  fs::last_write_time(stale, fs::file_time_type::clock::now() - std::chrono::hours(2));

  auto store = OpenStore(root);
  ASSERT_TRUE(store);
  EXPECT_FALSE(fs::exists(stale));
  EXPECT_TRUE(fs::exists(fresh));
  EXPECT_FALSE(store->Exists(h));
  EXPECT_EQ(store->Read(h).error().code, ErrorCode::kNotFound);

  auto put = store->Put(kPdfBytes);
  ASSERT_TRUE(put) << put.error().message;
  EXPECT_EQ(*store->Read(h), kPdfBytes);
  EXPECT_EQ(store->RemoveStaleTemp(), 0);  // the fresh one is still young
  EXPECT_EQ(store->RemoveStaleTemp(0), 1);
  EXPECT_FALSE(fs::exists(fresh));
  // Only the stored file is left: Put itself leaves no temp file behind.
  EXPECT_EQ(FilesUnder(root), 1);
}

// Sets a stored file's modification time `age` back from now.
void Age(const FileStore& store, const std::string& sha256, std::chrono::hours age) {
  fs::last_write_time(store.PathOf(sha256), fs::file_time_type::clock::now() - age);
}

using Refs = std::unordered_set<std::string>;

// A store in `dir` holding kPdfBytes, stored a month ago; `sha` is its hash.
std::unique_ptr<FileStore> StoreWithAMonthOldPdf(const TempDir& dir, std::string& sha) {
  auto store = OpenStore(dir.path() / "files");
  if (!store) return nullptr;
  sha = store->Put(kPdfBytes)->sha256;
  Age(*store, sha, std::chrono::hours(30 * 24));
  return store;
}

TEST(FileStoreSweepTest, RemovesOnlyOldFilesNothingRefersTo) {
  TempDir dir;
  auto store = OpenStore(dir.path() / "files");
  ASSERT_TRUE(store);
  const std::string orphan = store->Put(kPdfBytes)->sha256;   // old, unreferenced: goes
  const std::string in_use = store->Put(kJpegBytes)->sha256;  // old, referenced: stays
  const std::string young = store->Put(kPngBytes)->sha256;    // unreferenced, but new: stays
  Age(*store, orphan, std::chrono::hours(8 * 24));
  Age(*store, in_use, std::chrono::hours(8 * 24));
  Age(*store, young, std::chrono::hours(6 * 24));
  // Left alone: a write in progress and a stray file with another name.
  const fs::path temp = fs::path(store->PathOf(orphan)).parent_path() / ".tmp-0011223344556677";
  WriteRaw(temp, "half");
  fs::last_write_time(temp, fs::file_time_type::clock::now() - std::chrono::minutes(5));
  WriteRaw(dir.path() / "files" / "README", "not a stored file");

  int calls = 0;
  auto swept = store->RemoveUnreferenced(
      [&]() -> Result<Refs> {
        ++calls;
        return Refs{in_use};
      },
      7 * 86400);
  ASSERT_TRUE(swept) << swept.error().message;
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(swept->files, 3);
  EXPECT_EQ(swept->removed, 1);
  EXPECT_EQ(swept->removed_bytes, static_cast<int64_t>(kPdfBytes.size()));
  EXPECT_EQ(swept->referenced, 1);
  EXPECT_FALSE(store->Exists(orphan));
  EXPECT_TRUE(store->Exists(in_use));
  EXPECT_TRUE(store->Exists(young));
  EXPECT_TRUE(fs::exists(temp));
  EXPECT_TRUE(fs::exists(dir.path() / "files" / "README"));
  // Nothing left aside under a temp name.
  EXPECT_EQ(FilesUnder(dir.path() / "files"), 4);

  // The bytes come back by a new upload of them.
  ASSERT_TRUE(store->Put(kPdfBytes));
  EXPECT_EQ(*store->Read(orphan), kPdfBytes);
}

TEST(FileStoreSweepTest, StoringOrKeepingAFileAgainMakesItYoung) {
  TempDir dir;
  auto store = OpenStore(dir.path() / "files");
  ASSERT_TRUE(store);
  const std::string again = store->Put(kPdfBytes)->sha256;
  const std::string kept = store->Put(kPngBytes)->sha256;
  Age(*store, again, std::chrono::hours(30 * 24));
  Age(*store, kept, std::chrono::hours(30 * 24));
  ASSERT_TRUE(store->Put(kPdfBytes));  // the same bytes uploaded again
  EXPECT_TRUE(store->Keep(kept));      // a form carries the file to its next try
  EXPECT_FALSE(store->Keep(Sha256Hex("never stored")));
  EXPECT_FALSE(store->Keep("../../etc/passwd"));

  auto swept = store->RemoveUnreferenced([] { return Result<Refs>(Refs{}); }, 7 * 86400);
  ASSERT_TRUE(swept) << swept.error().message;
  EXPECT_EQ(swept->removed, 0);
  EXPECT_TRUE(store->Exists(again));
  EXPECT_TRUE(store->Exists(kept));
}

TEST(FileStoreSweepTest, AFileStoredAgainWhileTheSweepRunsSurvivesIt) {
  TempDir dir;
  std::string h;
  auto store = StoreWithAMonthOldPdf(dir, h);
  ASSERT_TRUE(store);
  // The upload lands after the store was listed and after the references were read: the row
  // that will refer to it is not committed yet.
  auto swept = store->RemoveUnreferenced(
      [&]() -> Result<Refs> {
        if (!store->Put(kPdfBytes)) return Error::Internal("put failed");
        return Refs{};
      },
      7 * 86400);
  ASSERT_TRUE(swept) << swept.error().message;
  EXPECT_EQ(swept->removed, 0);
  EXPECT_EQ(*store->Read(h), kPdfBytes);
  EXPECT_EQ(FilesUnder(dir.path() / "files"), 1);
}

TEST(FileStoreSweepTest, WhenTheReferencesCannotBeReadNothingIsRemoved) {
  TempDir dir;
  std::string h;
  auto store = StoreWithAMonthOldPdf(dir, h);
  ASSERT_TRUE(store);
  auto swept = store->RemoveUnreferenced(
      [] { return Result<Refs>(Error::Unavailable("database down")); }, 7 * 86400);
  ASSERT_FALSE(swept);
  EXPECT_EQ(swept.error().message, "database down");
  EXPECT_TRUE(store->Exists(h));
}

TEST(FileStoreTest, AWriteTheDiskRefusesFailsCleanly) {
  TempDir dir;
  const fs::path root = dir.path() / "files";
  auto store = OpenStore(root);
  ASSERT_TRUE(store);
  // A plain file where the shard folder must go: the folder cannot be made (works as root too,
  // unlike permissions).
  const std::string h = Sha256Hex(kPdfBytes);
  WriteRaw(root / h.substr(0, 2), "in the way");
  auto put = store->Put(kPdfBytes);
  ASSERT_FALSE(put);
  EXPECT_EQ(put.error().code, ErrorCode::kUnavailable);
  EXPECT_FALSE(put.error().message.empty());
  EXPECT_FALSE(store->Exists(h));
  EXPECT_EQ(FilesUnder(root), 1);  // only the obstacle: no temp file left

  // A store whose root is not a folder does not open.
  WriteRaw(dir.path() / "not-a-folder", "x");
  auto reopened = FileStore::Open((dir.path() / "not-a-folder").string());
  ASSERT_FALSE(reopened);
  EXPECT_EQ(reopened.error().code, ErrorCode::kUnavailable);
}

TEST(FileStoreTest, CopyMissingCopiesOnlyStoredFilesNotYetThere) {
  TempDir dir;
  auto store = OpenStore(dir.path() / "files");
  ASSERT_TRUE(store);
  auto a = store->Put(kPdfBytes);
  auto b = store->Put(kPngBytes);
  ASSERT_TRUE(a && b);
  WriteRaw(dir.path() / "files" / "notes.txt", "not a stored file");
  WriteRaw(fs::path(store->PathOf(a->sha256)).parent_path() / ".tmp-0000000000000000", "half");

  const fs::path copy = dir.path() / "backup.files";
  auto first = CopyMissing(dir.path() / "files", copy, true);
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_EQ(*first, 2);
  EXPECT_EQ(FilesUnder(copy), 2);
  auto copied = OpenStore(copy);
  ASSERT_TRUE(copied);
  EXPECT_EQ(*copied->Read(a->sha256), kPdfBytes);
  EXPECT_EQ(*copied->Read(b->sha256), kPngBytes);

  auto c = store->Put(kJpegBytes);
  ASSERT_TRUE(c);
  auto second = CopyMissing(dir.path() / "files", copy, true);
  ASSERT_TRUE(second);
  EXPECT_EQ(*second, 1);  // only the new one

  // A damaged source file is refused when verifying, instead of spreading into the copy.
  std::ofstream(store->PathOf(c->sha256), std::ios::binary | std::ios::trunc) << "garbage";
  auto damaged = CopyMissing(dir.path() / "files", dir.path() / "other", true);
  ASSERT_FALSE(damaged);
  EXPECT_EQ(damaged.error().code, ErrorCode::kInternal);

  auto none = CopyMissing(dir.path() / "absent", copy, true);
  ASSERT_TRUE(none);
  EXPECT_EQ(*none, 0);
}

}  // namespace
}  // namespace zhenwu::files
