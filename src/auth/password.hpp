#pragma once
// Passwords and secrets: the 等保 password rules, argon2id hashing (libsodium), random tokens
// and SHA-256 digests of them. Hashing is slow on purpose (tens of milliseconds, 64 MiB): call
// HashPassword / VerifyPassword only on a blocking pool, never on an IO thread.

#include <cstdint>
#include <string>
#include <string_view>

#include "core/result.hpp"

namespace zhenwu::auth {

// 等保 rules: at least 8 characters, at least 3 of the 4 classes (upper case, lower case,
// digits, symbols), and not containing the login name (case-insensitive). Fails with
// kInvalidInput on `field` with a Chinese message saying what is missing.
Status CheckPasswordRules(std::string_view password, std::string_view login,
                          std::string_view field = "password");

// An 11-digit mainland mobile number (1[3-9]xxxxxxxxx).
bool IsMobilePhone(std::string_view phone);
// Staff login names: 3–32 characters of a–z, 0–9, '.', '_' or '-', starting with a letter.
bool IsStaffLogin(std::string_view login);

// argon2id string ("$argon2id$v=19$m=…") for `password`. Throws std::bad_alloc-like
// std::runtime_error only when the memory for hashing cannot be had.
std::string HashPassword(std::string_view password);
// Whether `password` matches `hash`. An empty or malformed hash verifies against a fixed dummy
// hash (same cost) and returns false, so unknown accounts take as long as known ones.
bool VerifyPassword(std::string_view hash, std::string_view password);

// argon2id computations (HashPassword and VerifyPassword calls) since the start, for the
// zhenwu_password_hashes_total metric and the tests that prove one login costs one hash.
std::uint64_t PasswordHashesComputed();
// The fixed hash unknown logins are verified against (for the test of its parameters).
std::string_view DummyPasswordHash();

// `bytes` random bytes as unpadded base64url text.
std::string RandomToken(std::size_t bytes = 32);
// Lower-case hex SHA-256 of `text` (how session ids and API tokens are stored).
std::string Sha256Hex(std::string_view text);
// Constant-time equality of two strings.
bool SecureEquals(std::string_view a, std::string_view b);

}  // namespace zhenwu::auth
