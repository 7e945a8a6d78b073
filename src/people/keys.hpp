#pragma once
// The keys that protect personal data at rest (PIPL, GB/T 35273): a secretbox key that
// encrypts ID-card numbers and phones (XSalsa20-Poly1305, libsodium crypto_secretbox_easy) and
// a separate BLAKE2b key for blind indexes (keyed crypto_generichash of the normalised value)
// that allow exact lookup and uniqueness without decrypting. Both live in one file,
// <data_dir>/keys/people.key (mode 0600), which every backup must include: without it the
// encrypted columns cannot be read.

#include <sodium.h>

#include <array>
#include <memory>
#include <string>
#include <string_view>

#include "core/result.hpp"
#include "db/db.hpp"

namespace zhenwu::people {

struct Keys {
  std::array<unsigned char, crypto_secretbox_KEYBYTES> data_key{};
  std::array<unsigned char, crypto_generichash_KEYBYTES> index_key{};
  std::string path;      // the key file
  bool created = false;  // this call created the file (first start)

  // A keyed hash identifying this key pair (safe to store in the database).
  std::string Fingerprint() const;
  // "v1:" + base64(nonce || ciphertext) of `plain`, with a fresh random nonce.
  std::string Encrypt(std::string_view plain) const;
  // The plain text, or kInternal when the value is not ours (wrong key, damaged).
  Result<std::string> Decrypt(std::string_view stored) const;
  // Lowercase hex BLAKE2b-256 of `domain` ("id_card", "phone") and the normalised value.
  std::string BlindIndex(std::string_view domain, std::string_view value) const;
};

// Reads <data_dir>/keys/people.key, or creates it (folder 0700, file 0600, fresh random keys)
// when it does not exist. Fails with kUnavailable when the file exists but cannot be read or is
// damaged (the message names the file and says to restore it from the backup), kInternal when
// it cannot be created.
Result<Keys> LoadOrCreateKeys(const std::string& data_dir);

// Binds the keys to the (migrated) database, in a write: the first start records the keys'
// fingerprint; later starts refuse keys with another fingerprint once people data is stored
// (while nothing is encrypted yet, the new keys are simply recorded instead). When the key file was
// just created but the database already holds encrypted people data (the file was lost), the new
// file is removed again and this fails with kUnavailable saying to restore
// <data_dir>/keys/people.key from the backup made with this database.
Status BindKeys(db::Database& db, const Keys& keys);

// LoadOrCreateKeys then BindKeys: what App::Create calls after migrating, before routes.
Result<std::shared_ptr<const Keys>> OpenKeys(const std::string& data_dir, db::Database& db);

}  // namespace zhenwu::people
