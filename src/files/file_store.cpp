#include "files/file_store.hpp"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <stdexcept>

namespace zhenwu::files {

namespace {

namespace fs = std::filesystem;

constexpr std::string_view kTempPrefix = ".tmp-";

void EnsureSodium() {
  static const bool ready = sodium_init() >= 0;
  if (!ready) throw std::runtime_error("libsodium failed to initialise");
}

std::string ErrnoText(int err) { return std::strerror(err); }

// Closes a file descriptor when it goes out of scope.
struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
  int Release() {
    const int f = fd;
    fd = -1;
    return f;
  }
};

bool FsyncDir(const fs::path& dir) {
  Fd d{::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
  if (d.fd < 0) return false;
  return ::fsync(d.fd) == 0;
}

// Creates `dir` and its missing parents below `root` (mode 0750), making each new entry durable
// by syncing the folder that holds it.
Status MakeDirs(const fs::path& root, const fs::path& dir) {
  std::vector<fs::path> missing;
  for (fs::path p = dir; p != root && !p.empty() && !fs::exists(p); p = p.parent_path()) {
    missing.push_back(p);
  }
  for (auto it = missing.rbegin(); it != missing.rend(); ++it) {
    if (::mkdir(it->c_str(), 0750) != 0 && errno != EEXIST) {
      return Error::Unavailable("无法创建文件夹 " + it->string() + "：" + ErrnoText(errno));
    }
    FsyncDir(it->parent_path());
  }
  return {};
}

std::string RandomHex(std::size_t bytes) {
  EnsureSodium();
  std::vector<unsigned char> buf(bytes);
  randombytes_buf(buf.data(), buf.size());
  std::string out(bytes * 2 + 1, '\0');
  sodium_bin2hex(out.data(), out.size(), buf.data(), buf.size());
  out.resize(bytes * 2);
  return out;
}

// Writes `bytes` to `target` atomically: a temp file in the same folder, written in full and
// fsynced, renamed over `target`, then the folder fsynced. A crash leaves `target` either absent
// or complete.
Status WriteAtomic(const fs::path& target, std::string_view bytes) {
  const fs::path dir = target.parent_path();
  const fs::path temp = dir / (std::string(kTempPrefix) + RandomHex(8));
  Fd f{::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640)};
  if (f.fd < 0) {
    return Error::Unavailable("无法写入文件 " + temp.string() + "：" + ErrnoText(errno));
  }
  auto fail = [&](const std::string& what) -> Status {
    const int err = errno;
    ::close(f.Release());
    ::unlink(temp.c_str());
    return Error::Unavailable(what + " " + target.string() + "：" + ErrnoText(err));
  };
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(f.fd, bytes.data() + done, bytes.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail("无法写入文件");
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(f.fd) != 0) return fail("无法写入文件");
  if (::close(f.Release()) != 0) {
    ::unlink(temp.c_str());
    return Error::Unavailable("无法写入文件 " + target.string());
  }
  if (::rename(temp.c_str(), target.c_str()) != 0) {
    const int err = errno;
    ::unlink(temp.c_str());
    return Error::Unavailable("无法保存文件 " + target.string() + "：" + ErrnoText(err));
  }
  if (!FsyncDir(dir)) {
    return Error::Unavailable("无法同步文件夹 " + dir.string() + "：" + ErrnoText(errno));
  }
  return {};
}

Result<std::string> ReadWhole(const fs::path& path) {
  Fd f{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (f.fd < 0) {
    if (errno == ENOENT) return Error::NotFound("文件不存在");
    return Error::Unavailable("无法读取文件 " + path.string() + "：" + ErrnoText(errno));
  }
  std::string out;
  struct stat st {};
  if (::fstat(f.fd, &st) == 0 && st.st_size > 0) out.reserve(static_cast<std::size_t>(st.st_size));
  char buf[65536];
  for (;;) {
    const ssize_t n = ::read(f.fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error::Unavailable("无法读取文件 " + path.string() + "：" + ErrnoText(errno));
    }
    if (n == 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  return out;
}

std::string TypeLabel(std::string_view type) {
  if (type == kPdf) return "PDF";
  if (type == kJpeg) return "JPG";
  if (type == kPng) return "PNG";
  return std::string(type);
}

// "PDF、JPG 或 PNG".
std::string TypeList(const std::vector<std::string_view>& types) {
  std::string out;
  for (std::size_t i = 0; i < types.size(); ++i) {
    if (i > 0) out += i + 1 == types.size() ? " 或 " : "、";
    out += TypeLabel(types[i]);
  }
  return out;
}

// "10 MB", "512 KB", "300 字节".
std::string SizeText(int64_t bytes) {
  if (bytes >= 1024 * 1024 && bytes % (1024 * 1024) == 0) {
    return std::to_string(bytes / (1024 * 1024)) + " MB";
  }
  if (bytes >= 1024) return std::to_string((bytes + 1023) / 1024) + " KB";
  return std::to_string(bytes) + " 字节";
}

// Sets the file's modification time to now; false only when the file is not there. (A store
// whose files this process may not touch, e.g. shared with another account, keeps them all:
// the file counts as there and simply does not get younger.)
bool Touch(const fs::path& path) {
  if (::utimensat(AT_FDCWD, path.c_str(), nullptr, 0) == 0) return true;
  if (errno == ENOENT || errno == ENOTDIR) return false;
  std::error_code ec;
  return fs::is_regular_file(path, ec);
}

fs::path ShardPath(const fs::path& root, std::string_view sha256) {
  return root / std::string(sha256.substr(0, 2)) / std::string(sha256.substr(2, 2)) /
         std::string(sha256);
}

}  // namespace

std::string_view DetectType(std::string_view bytes) {
  if (bytes.starts_with("%PDF-")) return kPdf;
  if (bytes.starts_with("\xFF\xD8\xFF")) return kJpeg;
  if (bytes.starts_with(std::string_view("\x89PNG\r\n\x1A\n", 8))) return kPng;
  return {};
}

std::string Sha256Hex(std::string_view bytes) {
  EnsureSodium();
  unsigned char out[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(out, reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
  std::string hex(sizeof out * 2 + 1, '\0');
  sodium_bin2hex(hex.data(), hex.size(), out, sizeof out);
  hex.resize(sizeof out * 2);
  return hex;
}

bool IsSha256Hex(std::string_view text) {
  if (text.size() != 64) return false;
  for (char c : text) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

Result<std::unique_ptr<FileStore>> FileStore::Open(const std::string& root) {
  std::error_code ec;
  const fs::path path = fs::absolute(fs::path(root), ec);
  if (ec) return Error::Unavailable("无法打开文件存储 " + root + "：" + ec.message());
  if (!fs::exists(path)) {
    if (auto s = MakeDirs(path.root_path(), path); !s) return std::move(s).error();
  }
  if (!fs::is_directory(path) || ::access(path.c_str(), W_OK | X_OK) != 0) {
    return Error::Unavailable("文件存储 " + path.string() + " 不是可写的文件夹");
  }
  std::unique_ptr<FileStore> store(new FileStore(path.string()));
  store->RemoveStaleTemp();
  return store;
}

Result<StoredFile> FileStore::Put(std::string_view bytes) const {
  StoredFile file;
  file.sha256 = Sha256Hex(bytes);
  file.size = static_cast<int64_t>(bytes.size());
  file.content_type = std::string(DetectType(bytes));
  const fs::path target = ShardPath(root_, file.sha256);
  std::error_code ec;
  // Same name, same size: the same bytes (a stored file never changes), so nothing to write
  // but its time, which keeps RemoveUnreferenced away. If a sweep took it in between, the touch
  // fails and the file is written anew.
  if (fs::is_regular_file(target, ec) &&
      fs::file_size(target, ec) == static_cast<std::uintmax_t>(bytes.size()) && !ec &&
      Touch(target)) {
    return file;
  }
  if (auto s = MakeDirs(root_, target.parent_path()); !s) return std::move(s).error();
  if (auto s = WriteAtomic(target, bytes); !s) return std::move(s).error();
  return file;
}

Result<StoredFile> FileStore::PutChecked(std::string_view bytes,
                                         const std::vector<std::string_view>& allowed_types,
                                         int64_t max_bytes) const {
  if (bytes.empty()) return Error::Invalid("file", "文件是空的，请重新选择要上传的文件");
  if (static_cast<int64_t>(bytes.size()) > max_bytes) {
    return Error::Invalid("file", "文件过大，请上传不超过 " + SizeText(max_bytes) + " 的文件");
  }
  const std::string_view type = DetectType(bytes);
  bool allowed = false;
  for (auto t : allowed_types) allowed = allowed || (!type.empty() && t == type);
  if (!allowed) {
    return Error::Invalid("file", "文件类型不支持，请上传 " + TypeList(allowed_types));
  }
  return Put(bytes);
}

Result<std::string> FileStore::Read(std::string_view sha256) const {
  if (!IsSha256Hex(sha256)) return Error::NotFound("文件不存在");
  auto bytes = ReadWhole(ShardPath(root_, sha256));
  if (!bytes) return bytes;
  if (Sha256Hex(*bytes) != sha256) {
    return Error::Internal("文件已损坏（内容与其 SHA-256 不符）：" + PathOf(sha256));
  }
  return bytes;
}

bool FileStore::Exists(std::string_view sha256) const {
  if (!IsSha256Hex(sha256)) return false;
  std::error_code ec;
  return fs::is_regular_file(ShardPath(root_, sha256), ec);
}

bool FileStore::Keep(std::string_view sha256) const {
  return IsSha256Hex(sha256) && Touch(ShardPath(root_, sha256));
}

Result<SweepStats> FileStore::RemoveUnreferenced(
    const std::function<Result<std::unordered_set<std::string>>()>& referenced,
    int64_t min_age_s) const {
  SweepStats stats;
  const auto old_enough = [min_age_s](fs::file_time_type mtime) {
    return fs::file_time_type::clock::now() - mtime >= std::chrono::seconds(min_age_s);
  };
  // 1. The candidates: stored files in their proper place, old enough now.
  std::vector<fs::path> candidates;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(root_, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    const std::string name = it->path().filename().string();
    std::error_code file_ec;
    if (!IsSha256Hex(name) || !it->is_regular_file(file_ec)) continue;
    if (it->path() != ShardPath(root_, name)) continue;
    ++stats.files;
    const auto mtime = fs::last_write_time(it->path(), file_ec);
    if (!file_ec && old_enough(mtime)) candidates.push_back(it->path());
  }
  if (ec) return Error::Unavailable("无法读取文件存储 " + root_ + "：" + ec.message());
  if (candidates.empty()) return stats;

  // 2. What the database refers to, read after the listing.
  auto refs = referenced();
  if (!refs) return std::move(refs).error();

  // 3. Each unreferenced candidate: aside under a temp name, checked again, then removed.
  for (const fs::path& path : candidates) {
    if (refs->contains(path.filename().string())) {
      ++stats.referenced;
      continue;
    }
    const fs::path aside = path.parent_path() / (std::string(kTempPrefix) + "gc-" + RandomHex(8));
    if (::rename(path.c_str(), aside.c_str()) != 0) continue;  // gone already (another sweep)
    std::error_code time_ec, size_ec, file_ec;
    const auto mtime = fs::last_write_time(aside, time_ec);
    const auto size = fs::file_size(aside, size_ec);
    if (time_ec || size_ec || !old_enough(mtime)) {
      // Stored or kept again just now: back in its place (a Put that found it missing may have
      // written the same bytes there meanwhile; either copy will do).
      if (::rename(aside.c_str(), path.c_str()) != 0) fs::remove(aside, file_ec);
      continue;
    }
    if (fs::remove(aside, file_ec)) {
      ++stats.removed;
      stats.removed_bytes += static_cast<int64_t>(size);
    }
  }
  return stats;
}

std::string FileStore::PathOf(std::string_view sha256) const {
  if (!IsSha256Hex(sha256)) return {};
  return ShardPath(root_, sha256).string();
}

int FileStore::RemoveStaleTemp(int64_t older_than_s) const {
  int removed = 0;
  std::error_code ec;
  const auto now = fs::file_time_type::clock::now();
  for (auto it = fs::recursive_directory_iterator(root_, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (!name.starts_with(kTempPrefix) || !it->is_regular_file(ec)) continue;
    const auto mtime = fs::last_write_time(it->path(), ec);
    if (ec) continue;
    if (now - mtime < std::chrono::seconds(older_than_s)) continue;
    if (fs::remove(it->path(), ec)) ++removed;
  }
  return removed;
}

Result<int64_t> CopyMissing(const fs::path& from, const fs::path& to, bool verify) {
  std::error_code ec;
  if (!fs::exists(from, ec)) return int64_t{0};
  fs::create_directories(to, ec);
  if (ec) return Error::Unavailable("无法创建文件夹 " + to.string() + "：" + ec.message());
  int64_t copied = 0;
  for (auto it = fs::recursive_directory_iterator(from, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (!IsSha256Hex(name) || !it->is_regular_file(ec)) continue;
    // Only files in their proper place: <root>/ab/cd/<sha256>.
    if (it->path() != ShardPath(from, name)) continue;
    const fs::path target = ShardPath(to, name);
    std::error_code size_ec;
    if (fs::is_regular_file(target, size_ec) &&
        fs::file_size(target, size_ec) == it->file_size(ec) && !size_ec) {
      continue;
    }
    auto bytes = ReadWhole(it->path());
    if (!bytes) return std::move(bytes).error();
    if (verify && Sha256Hex(*bytes) != name) {
      return Error::Internal("文件已损坏（内容与其 SHA-256 不符）：" + it->path().string());
    }
    if (auto s = MakeDirs(to, target.parent_path()); !s) return std::move(s).error();
    if (auto s = WriteAtomic(target, *bytes); !s) return std::move(s).error();
    ++copied;
  }
  if (ec) return Error::Unavailable("无法读取文件夹 " + from.string() + "：" + ec.message());
  return copied;
}

}  // namespace zhenwu::files
