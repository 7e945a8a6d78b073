#pragma once
// Pure checks and display forms of the identifiers the people register holds: the resident
// identity card number (GB 11643-1999), the unified social credit code of an organisation
// (统一社会信用代码, GB 32100-2015) and mainland mobile numbers. No database, no keys.

#include <optional>
#include <string>
#include <string_view>

#include "core/clock.hpp"
#include "core/result.hpp"

namespace zhenwu::people {

// The GB 11643 check character ('0'…'9' or 'X') of the first 17 digits; nullopt unless `first17`
// is exactly 17 ASCII digits.
std::optional<char> IdCardCheckChar(std::string_view first17);
// The GB 32100 check character of the first 17 characters; nullopt unless they are all from
// the code's alphabet (digits and upper-case letters without I, O, S, V, Z).
std::optional<char> UsccCheckChar(std::string_view first17);

// Each Normalize* trims blanks, accepts the usual ways people type the value (lower-case x,
// spaces, dashes, a +86 prefix) and returns the canonical form, or kInvalidInput on field
// `field` with a message in Chinese saying what is wrong.
//
// An 18-digit ID number with a valid birth date (1900-01-01 … `today`) and check digit.
Result<std::string> NormalizeIdCard(std::string_view input, Date today,
                                    const std::string& field = "id_card");
// An 11-digit mainland mobile number, 1[3-9]XXXXXXXXX.
Result<std::string> NormalizeMobile(std::string_view input, const std::string& field = "phone");
// An 18-character unified social credit code with a valid check character.
Result<std::string> NormalizeUscc(std::string_view input, const std::string& field = "uscc");

// Display forms: "4509**********1234" (first 4 and last 4) and "138****5678" (first 3, last 4).
// Anything shorter than what the mask keeps is fully starred.
std::string MaskIdCard(std::string_view id_card);
std::string MaskPhone(std::string_view phone);

// Whitespace trimmed from both ends (ASCII blanks and the ideographic space U+3000).
std::string Trim(std::string_view text);

}  // namespace zhenwu::people
