#include "people/keys.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <vector>

namespace zhenwu::people {

namespace {

namespace fs = std::filesystem;

constexpr std::string_view kHeader =
    "# 镇务通 people data key. Back this file up together with the database: without it the\n"
    "# encrypted ID-card numbers and phone numbers cannot be read. Keep it private (mode 0600).\n";

void EnsureSodium() {
  static const bool ready = sodium_init() >= 0;
  if (!ready) throw std::runtime_error("libsodium failed to initialise");
}

std::string Hex(const unsigned char* data, std::size_t size) {
  std::string out(size * 2 + 1, '\0');
  sodium_bin2hex(out.data(), out.size(), data, size);
  out.resize(size * 2);
  return out;
}

template <std::size_t N>
bool FromHex(std::string_view hex, std::array<unsigned char, N>& out) {
  std::size_t len = 0;
  if (hex.size() != N * 2) return false;
  return sodium_hex2bin(out.data(), N, hex.data(), hex.size(), nullptr, &len, nullptr) == 0 &&
         len == N;
}

// What every "the key file is unusable" message ends with: the one way out.
std::string RestoreAdvice(const fs::path& path) {
  return "请从与此数据库同一次的备份中恢复 " + path.string() +
         "（zhenwu backup 把它存在备份旁的 <备份>.data/keys/people.key；权限 0600）后再启动；"
         "没有它，身份证号码和电话无法解密。";
}

}  // namespace

std::string Keys::Fingerprint() const {
  unsigned char out[16];
  static constexpr std::string_view kLabel = "zhenwu.people.key-fingerprint";
  crypto_generichash_state st;
  crypto_generichash_init(&st, index_key.data(), index_key.size(), sizeof out);
  crypto_generichash_update(&st, data_key.data(), data_key.size());
  crypto_generichash_update(&st, reinterpret_cast<const unsigned char*>(kLabel.data()),
                            kLabel.size());
  crypto_generichash_final(&st, out, sizeof out);
  return Hex(out, sizeof out);
}

std::string Keys::Encrypt(std::string_view plain) const {
  EnsureSodium();
  std::vector<unsigned char> buf(crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES +
                                 plain.size());
  randombytes_buf(buf.data(), crypto_secretbox_NONCEBYTES);
  crypto_secretbox_easy(buf.data() + crypto_secretbox_NONCEBYTES,
                        reinterpret_cast<const unsigned char*>(plain.data()), plain.size(),
                        buf.data(), data_key.data());
  const auto variant = sodium_base64_VARIANT_ORIGINAL;
  std::string b64(sodium_base64_ENCODED_LEN(buf.size(), variant), '\0');
  sodium_bin2base64(b64.data(), b64.size(), buf.data(), buf.size(), variant);
  b64.resize(std::strlen(b64.c_str()));
  return "v1:" + b64;
}

Result<std::string> Keys::Decrypt(std::string_view stored) const {
  if (!stored.starts_with("v1:")) return Error::Internal("encrypted value has no v1: prefix");
  stored.remove_prefix(3);
  std::vector<unsigned char> buf(stored.size());
  std::size_t len = 0;
  if (sodium_base642bin(buf.data(), buf.size(), stored.data(), stored.size(), nullptr, &len,
                        nullptr, sodium_base64_VARIANT_ORIGINAL) != 0 ||
      len < crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES) {
    return Error::Internal("encrypted value is damaged");
  }
  const std::size_t clen = len - crypto_secretbox_NONCEBYTES;
  std::string plain(clen - crypto_secretbox_MACBYTES, '\0');
  if (crypto_secretbox_open_easy(reinterpret_cast<unsigned char*>(plain.data()),
                                 buf.data() + crypto_secretbox_NONCEBYTES, clen, buf.data(),
                                 data_key.data()) != 0) {
    return Error::Internal("encrypted value does not open with this key");
  }
  return plain;
}

std::string Keys::BlindIndex(std::string_view domain, std::string_view value) const {
  unsigned char out[32];
  crypto_generichash_state st;
  crypto_generichash_init(&st, index_key.data(), index_key.size(), sizeof out);
  const std::string prefix = std::string(domain) + ":";
  crypto_generichash_update(&st, reinterpret_cast<const unsigned char*>(prefix.data()),
                            prefix.size());
  crypto_generichash_update(&st, reinterpret_cast<const unsigned char*>(value.data()),
                            value.size());
  crypto_generichash_final(&st, out, sizeof out);
  return Hex(out, sizeof out);
}

Result<Keys> LoadOrCreateKeys(const std::string& data_dir) {
  EnsureSodium();
  const fs::path dir = fs::path(data_dir) / "keys";
  const fs::path path = dir / "people.key";
  Keys keys;
  keys.path = path.string();
  std::error_code ec;
  if (!fs::exists(path, ec)) {
    fs::create_directories(dir, ec);
    if (ec) return Error::Internal("无法创建密钥目录 " + dir.string() + "：" + ec.message());
    ::chmod(dir.c_str(), 0700);
    randombytes_buf(keys.data_key.data(), keys.data_key.size());
    randombytes_buf(keys.index_key.data(), keys.index_key.size());
    const std::string text =
        std::string(kHeader) + "data_key=" + Hex(keys.data_key.data(), keys.data_key.size()) +
        "\nindex_key=" + Hex(keys.index_key.data(), keys.index_key.size()) + "\n";
    const fs::path tmp = dir / "people.key.tmp";
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
      return Error::Internal("无法写入密钥文件 " + tmp.string() + "：" + std::strerror(errno));
    }
    const bool written =
        ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
        ::fsync(fd) == 0;
    ::close(fd);
    // link() instead of rename(): two processes starting at once must not both win.
    if (!written || ::link(tmp.c_str(), path.c_str()) != 0) {
      const int err = errno;
      ::unlink(tmp.c_str());
      if (written && err == EEXIST) return LoadOrCreateKeys(data_dir);
      return Error::Internal("无法写入密钥文件 " + path.string() + "：" + std::strerror(err));
    }
    ::unlink(tmp.c_str());
    keys.created = true;
    return keys;
  }
  std::ifstream in(path);
  if (!in) {
    return Error::Unavailable("无法读取个人信息数据密钥 " + path.string() + "：" +
                              std::strerror(errno) + "。" + RestoreAdvice(path));
  }
  std::string line;
  bool have_data = false;
  bool have_index = false;
  while (std::getline(in, line)) {
    if (line.starts_with("data_key=")) have_data = FromHex(line.substr(9), keys.data_key);
    if (line.starts_with("index_key=")) have_index = FromHex(line.substr(10), keys.index_key);
  }
  if (!have_data || !have_index) {
    return Error::Unavailable("个人信息数据密钥 " + path.string() +
                              " 已损坏（缺少有效的 data_key 或 index_key）。" +
                              RestoreAdvice(path));
  }
  return keys;
}

Status BindKeys(db::Database& db, const Keys& keys) {
  const std::string fingerprint = keys.Fingerprint();
  auto bound = db.WriteSync<bool>([&](db::Conn& c) -> Result<bool> {
    auto row = c.QueryOne("SELECT fingerprint FROM people_key_check WHERE id = 1");
    if (!row) return std::move(row).error();
    if (*row && (*row)->Text(0) == fingerprint) return true;
    // Another key (or none recorded) is harmless while nothing is encrypted yet.
    auto used = c.QueryOne(
        "SELECT (SELECT COUNT(*) FROM people_residents) + (SELECT COUNT(*) FROM "
        "people_enterprises)");
    if (!used) return std::move(used).error();
    if (*used && (*used)->Int(0) > 0) return false;
    auto put = c.Exec(
        "INSERT INTO people_key_check (id, fingerprint) VALUES (1, $1) "
        "ON CONFLICT (id) DO UPDATE SET fingerprint = excluded.fingerprint",
        {fingerprint});
    if (!put) return std::move(put).error();
    return true;
  });
  if (!bound) return std::move(bound).error();
  if (*bound) return {};
  if (keys.created) {
    std::error_code ec;
    fs::remove(keys.path, ec);
    return Error::Unavailable(
        "找不到个人信息数据密钥 " + keys.path +
        "，而数据库中已有加密的居民/企业信息。请从与此数据库同一次的备份中恢复该文件（权限 "
        "0600）后再启动；没有它，身份证号码和电话无法解密。");
  }
  return Error::Unavailable("密钥文件 " + keys.path +
                            " 与数据库不匹配（它属于另一个数据库）。请从与此数据库同一次的备份中"
                            "恢复正确的 people.key 后再启动。");
}

Result<std::shared_ptr<const Keys>> OpenKeys(const std::string& data_dir, db::Database& db) {
  auto keys = LoadOrCreateKeys(data_dir);
  if (!keys) return std::move(keys).error();
  if (auto s = BindKeys(db, *keys); !s) return std::move(s).error();
  return std::shared_ptr<const Keys>(std::make_shared<Keys>(std::move(keys).value()));
}

}  // namespace zhenwu::people
