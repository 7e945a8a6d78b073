#pragma once
// Uploaded and generated files, stored content-addressed: a file's name is the SHA-256 of its
// bytes, kept under <data_dir>/files/ab/cd/<sha256> (the first two byte pairs of the hash as
// folders, so no folder grows too large). A stored file never changes; putting the same bytes
// twice stores them once. The database holds only references (sha256, original name, type,
// size) in the tables of the module that uses the file. With several server processes the
// folder is shared storage; writes are atomic (temp file in the target folder, fsync, rename,
// fsync of the folder), so a reader never sees half a file and a crash leaves at most a temp
// file, which is ignored and later removed.
//
// Files nothing refers to any more (an upload whose application was never sent, a material's
// sample replaced by a new one) are removed by RemoveUnreferenced once nobody has stored or kept
// them for a while; the references come from the modules' tables (see app::SweepFiles).
//
// The type of an upload is judged by its first bytes, never by its name or the browser's
// Content-Type: only PDF, JPEG and PNG are recognised (see DetectType).

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "core/result.hpp"

namespace zhenwu::files {

inline constexpr std::string_view kPdf = "application/pdf";
inline constexpr std::string_view kJpeg = "image/jpeg";
inline constexpr std::string_view kPng = "image/png";

// What the store knows about one stored file.
struct StoredFile {
  std::string sha256;        // 64 lowercase hex digits
  int64_t size = 0;          // bytes
  std::string content_type;  // DetectType of the bytes; "" when not one of the known types
};

// The content type by the bytes' signature: "application/pdf" (%PDF-), "image/jpeg"
// (FF D8 FF), "image/png" (89 50 4E 47 0D 0A 1A 0A), "" for anything else.
std::string_view DetectType(std::string_view bytes);
// Lowercase hex SHA-256 of `bytes` (libsodium crypto_hash_sha256).
std::string Sha256Hex(std::string_view bytes);
// True for exactly 64 lowercase hex digits (what the store accepts as a file name).
bool IsSha256Hex(std::string_view text);

// What one RemoveUnreferenced pass did.
struct SweepStats {
  int64_t files = 0;          // stored files looked at
  int64_t removed = 0;        // files removed
  int64_t removed_bytes = 0;  // their size
  int64_t referenced = 0;     // old enough, but a row refers to them
};

class FileStore {
 public:
  // Temp files older than this are leftovers of an interrupted write (younger ones may belong
  // to a write of another process in progress and are left alone).
  static constexpr int64_t kStaleTempSeconds = 3600;

  // Opens the store in `root` (created if missing, mode 0750) and removes stale temp files.
  // Fails with kUnavailable naming the folder when it cannot be created or is not writable.
  static Result<std::unique_ptr<FileStore>> Open(const std::string& root);

  // Stores `bytes` and returns its hash, size and detected type. Durable before it returns.
  // When the file already exists (same hash, same size) nothing is written, but its modification
  // time becomes now (see RemoveUnreferenced). Fails with
  // kUnavailable naming the file when the disk refuses (full, permissions).
  Result<StoredFile> Put(std::string_view bytes) const;

  // Put, after checking the upload: kInvalidInput on field "file" with a message in Chinese
  // when `bytes` is empty, larger than `max_bytes`, or of a type not in `allowed_types`
  // (e.g. {kPdf, kJpeg, kPng}). Nothing is written then.
  Result<StoredFile> PutChecked(std::string_view bytes,
                                const std::vector<std::string_view>& allowed_types,
                                int64_t max_bytes) const;

  // The bytes of a stored file. kNotFound when `sha256` is malformed or not stored; kInternal
  // when the stored bytes no longer hash to their name (damaged on disk).
  Result<std::string> Read(std::string_view sha256) const;

  // Whether a file with this hash is stored (false for a malformed hash).
  bool Exists(std::string_view sha256) const;

  // Exists, and marks the file as in use now (its modification time), so RemoveUnreferenced
  // leaves it alone for another full period: for a file that a form keeps between two tries
  // without uploading it again. False when it is not stored or the hash is malformed.
  bool Keep(std::string_view sha256) const;

  // Removes the stored files that are at least `min_age_s` seconds old (since they were stored,
  // stored again or kept) and whose hash is not in the set `referenced` returns. `referenced` is
  // called once, after the store has been listed, so a row committed before that call protects
  // its file (modules store a file before the row that refers to it). A file stored or kept
  // again while the pass runs survives it: each file is first renamed to a temp name and its age
  // checked again there; one that became young is put back, and a Put that finds it gone
  // writes it anew. Temp files and anything not named like a stored file are left alone. Fails
  // (removing nothing) when `referenced` fails.
  Result<SweepStats> RemoveUnreferenced(
      const std::function<Result<std::unordered_set<std::string>>()>& referenced,
      int64_t min_age_s) const;

  // Where the file with this hash is (or would be) stored: <root>/ab/cd/<sha256>. For a
  // malformed hash, "" (never a path outside the store).
  std::string PathOf(std::string_view sha256) const;

  const std::string& root() const { return root_; }

  // Removes temp files older than `older_than_s` seconds; returns how many were removed.
  int RemoveStaleTemp(int64_t older_than_s = kStaleTempSeconds) const;

 private:
  explicit FileStore(std::string root) : root_(std::move(root)) {}
  std::string root_;
};

// The stored files under `from` (a store's root) that `to` lacks, copied into the same layout
// in `to` (durably, each via a temp file); files already there with the same size are skipped,
// since stored files never change. With `verify`, each copied file is checked against its name
// first and a damaged one fails the copy. Temp files and anything not named like a stored file
// are ignored. Returns the number of files copied. Used by `zhenwu backup` and `restore`.
Result<int64_t> CopyMissing(const std::filesystem::path& from, const std::filesystem::path& to,
                            bool verify);

}  // namespace zhenwu::files
