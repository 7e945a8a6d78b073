#pragma once
// The shared register of residents and enterprises (居民/企业档案, 材料复用): what every module
// calls to find, read, create and change a person or enterprise. Every function works inside
// the caller's transaction (pass the Conn of a Database::Read / Write), so a module can record
// a case and its applicant together. Changes and reveals are written to the audit log in the
// same transaction, with masked values only. Permission checks are the caller's (handlers use
// auth::Authorize with the record's unit path; see handlers.cpp).

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "audit/audit.hpp"
#include "core/clock.hpp"
#include "core/result.hpp"
#include "db/db.hpp"
#include "people/keys.hpp"

namespace zhenwu::people {

// 居民. The ID-card number and phone are never held in the clear here: only their masks.
struct Resident {
  int64_t id = 0;
  std::string name;
  std::string id_card_mask;  // 4509**********1234
  std::string phone_mask;    // 138****5678, or "" without a phone
  int64_t village_unit_id = 0;
  std::string address;
  bool demo = false;
  int64_t created_at_ms = 0;
  int64_t updated_at_ms = 0;
};

// What a form (or an import) submits; field names are the form's.
struct ResidentInput {
  std::string name;             // name
  std::string id_card;          // id_card
  std::string phone;            // phone (optional)
  int64_t village_unit_id = 0;  // village_id
  std::string address;          // address
  bool demo = false;
  bool clear_phone = false;  // update only: remove the registered phone
};

// 企业. The unified social credit code is public; the phone is personal data.
struct Enterprise {
  int64_t id = 0;
  std::string name;
  std::string uscc;
  std::string legal_rep;
  std::string phone_mask;
  std::string address;
  int64_t unit_id = 0;
  bool demo = false;
  int64_t created_at_ms = 0;
  int64_t updated_at_ms = 0;
};

struct EnterpriseInput {
  std::string name;       // name
  std::string uscc;       // uscc
  std::string legal_rep;  // legal_rep
  std::string phone;      // phone (optional)
  std::string address;    // address
  int64_t unit_id = 0;    // unit_id
  bool demo = false;
  bool clear_phone = false;  // update only: remove the registered phone
};

// Creates a resident after validating every field (kInvalidInput listing each wrong field with a
// Chinese message; a number already registered is a message on id_card). Records
// "people.resident.create".
Result<Resident> CreateResident(db::Conn& conn, const Clock& clock, const Keys& keys,
                                const audit::Actor& actor, const ResidentInput& input);
// Replaces a resident's fields (validated as above); kNotFound when there is no such resident.
// The edit form shows the numbers masked, so an empty id_card or phone keeps the stored one
// (input.clear_phone removes the phone). Records "people.resident.update" with before/after
// (masked).
Result<Resident> UpdateResident(db::Conn& conn, const Clock& clock, const Keys& keys,
                                const audit::Actor& actor, int64_t id, const ResidentInput& input);
Result<std::optional<Resident>> GetResident(db::Conn& conn, int64_t id);
// Exact lookup through the blind index. kInvalidInput when `id_card` is not a valid number.
Result<std::optional<Resident>> FindResidentByIdCard(db::Conn& conn, const Clock& clock,
                                                     const Keys& keys, std::string_view id_card);
// Residents with this mobile number (a family may share one). kInvalidInput when not a mobile.
Result<std::vector<Resident>> FindResidentsByPhone(db::Conn& conn, const Keys& keys,
                                                   std::string_view phone);
// The full ID-card number / phone of a resident, for a caller that checked kPeopleReveal.
// Records "people.id_card.reveal" / "people.phone.reveal" in the same transaction (so use it in
// a Write). kNotFound when there is no such resident (or no phone).
Result<std::string> RevealResidentIdCard(db::Conn& conn, const Clock& clock, const Keys& keys,
                                         const audit::Actor& actor, int64_t id);
Result<std::string> RevealResidentPhone(db::Conn& conn, const Clock& clock, const Keys& keys,
                                        const audit::Actor& actor, int64_t id);

// Residents whose village is one of `unit_ids` (all when `unit_ids` is nullopt), newest id
// first, with id < before_id when given, at most `limit`; `name_part` filters by a substring
// of the name when not empty.
struct ResidentQuery {
  std::optional<std::vector<int64_t>> unit_ids;
  std::string name_part;
  std::optional<int64_t> before_id;
  int limit = 50;
};
Result<std::vector<Resident>> ListResidents(db::Conn& conn, const ResidentQuery& query);

Result<Enterprise> CreateEnterprise(db::Conn& conn, const Clock& clock, const Keys& keys,
                                    const audit::Actor& actor, const EnterpriseInput& input);
// As UpdateResident: an empty phone keeps the stored one unless clear_phone.
Result<Enterprise> UpdateEnterprise(db::Conn& conn, const Clock& clock, const Keys& keys,
                                    const audit::Actor& actor, int64_t id,
                                    const EnterpriseInput& input);
Result<std::optional<Enterprise>> GetEnterprise(db::Conn& conn, int64_t id);
// kInvalidInput when `uscc` is not a valid code.
Result<std::optional<Enterprise>> FindEnterpriseByUscc(db::Conn& conn, std::string_view uscc);
Result<std::vector<Enterprise>> FindEnterprisesByPhone(db::Conn& conn, const Keys& keys,
                                                       std::string_view phone);
Result<std::string> RevealEnterprisePhone(db::Conn& conn, const Clock& clock, const Keys& keys,
                                          const audit::Actor& actor, int64_t id);
struct EnterpriseQuery {
  std::optional<std::vector<int64_t>> unit_ids;
  std::string name_part;
  std::optional<int64_t> before_id;
  int limit = 50;
};
Result<std::vector<Enterprise>> ListEnterprises(db::Conn& conn, const EnterpriseQuery& query);

}  // namespace zhenwu::people
