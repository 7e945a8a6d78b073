#include "auth/password.hpp"

#include <sodium.h>

#include <atomic>
#include <cctype>
#include <cstdint>
#include <stdexcept>
#include <vector>

namespace zhenwu::auth {

namespace {

// Interactive limits with one more pass: about 0.1 s and 64 MiB per hash on an office PC.
constexpr unsigned long long kOpsLimit = crypto_pwhash_OPSLIMIT_INTERACTIVE + 1;
constexpr std::size_t kMemLimit = crypto_pwhash_MEMLIMIT_INTERACTIVE;

void EnsureSodium() {
  static const bool ready = sodium_init() >= 0;
  if (!ready) throw std::runtime_error("libsodium failed to initialise");
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// What unknown logins are verified against, so that they cost what known ones do: an argon2id
// hash (of a password nobody has) made with kOpsLimit and kMemLimit, written out so that no
// login ever pays for making it (a unit test checks that its parameters match).
constexpr const char* kDummyHash =
    "$argon2id$v=19$m=65536,t=3,p=1$/O4JDHlaQBWsV0QSttweJg$"
    "4EgV59m+Rcxjc+fyi2gln5ibell5p6ukemVYpwfpfIU";

std::atomic<std::uint64_t> hashes_computed{0};

}  // namespace

Status CheckPasswordRules(std::string_view password, std::string_view login,
                          std::string_view field) {
  std::size_t chars = 0;
  for (unsigned char c : password) {
    if ((c & 0xC0) != 0x80) ++chars;  // count UTF-8 characters, not bytes
  }
  if (chars < 8) return Error::Invalid(std::string(field), "密码至少需要 8 个字符");
  bool upper = false, lower = false, digit = false, symbol = false;
  for (unsigned char c : password) {
    if (std::isupper(c)) {
      upper = true;
    } else if (std::islower(c)) {
      lower = true;
    } else if (std::isdigit(c)) {
      digit = true;
    } else {
      symbol = true;
    }
  }
  if (int(upper) + int(lower) + int(digit) + int(symbol) < 3) {
    return Error::Invalid(std::string(field),
                          "密码需包含大写字母、小写字母、数字、符号中的至少三类");
  }
  if (!login.empty() && Lower(password).find(Lower(login)) != std::string::npos) {
    return Error::Invalid(std::string(field), "密码不能包含用户名");
  }
  return {};
}

bool IsMobilePhone(std::string_view phone) {
  if (phone.size() != 11 || phone[0] != '1' || phone[1] < '3' || phone[1] > '9') return false;
  for (char c : phone) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

bool IsStaffLogin(std::string_view login) {
  if (login.size() < 3 || login.size() > 32) return false;
  if (login[0] < 'a' || login[0] > 'z') return false;
  for (char c : login) {
    const bool ok =
        (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

std::string HashPassword(std::string_view password) {
  EnsureSodium();
  char out[crypto_pwhash_STRBYTES];
  hashes_computed.fetch_add(1, std::memory_order_relaxed);
  if (crypto_pwhash_str(out, password.data(), password.size(), kOpsLimit, kMemLimit) != 0) {
    throw std::runtime_error("password hashing ran out of memory");
  }
  return out;
}

bool VerifyPassword(std::string_view hash, std::string_view password) {
  EnsureSodium();
  const bool known = !hash.empty() && hash.size() < crypto_pwhash_STRBYTES;
  const std::string h(known ? hash : std::string_view(kDummyHash));
  hashes_computed.fetch_add(1, std::memory_order_relaxed);
  const bool ok = crypto_pwhash_str_verify(h.c_str(), password.data(), password.size()) == 0;
  return known && ok;
}

std::uint64_t PasswordHashesComputed() { return hashes_computed.load(std::memory_order_relaxed); }

std::string_view DummyPasswordHash() { return kDummyHash; }

std::string RandomToken(std::size_t bytes) {
  EnsureSodium();
  std::vector<unsigned char> raw(bytes);
  randombytes_buf(raw.data(), raw.size());
  std::string out(sodium_base64_ENCODED_LEN(bytes, sodium_base64_VARIANT_URLSAFE_NO_PADDING), '\0');
  sodium_bin2base64(out.data(), out.size(), raw.data(), raw.size(),
                    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  out.resize(std::char_traits<char>::length(out.c_str()));
  return out;
}

std::string Sha256Hex(std::string_view text) {
  EnsureSodium();
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(text.data()), text.size());
  char hex[crypto_hash_sha256_BYTES * 2 + 1];
  sodium_bin2hex(hex, sizeof hex, digest, sizeof digest);
  return hex;
}

bool SecureEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  return sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace zhenwu::auth
