#include "people/validate.hpp"

#include <array>

namespace zhenwu::people {

namespace {

constexpr std::string_view kUsccAlphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY";

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Drops blanks and dashes people type inside numbers, upper-cases ASCII letters.
std::string Compact(std::string_view input) {
  std::string out;
  const std::string trimmed = Trim(input);
  for (char c : trimmed) {
    if (c == ' ' || c == '-' || c == '\t') continue;
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    out.push_back(c);
  }
  return out;
}

}  // namespace

std::string Trim(std::string_view text) {
  constexpr std::string_view kIdeographicSpace = "\xE3\x80\x80";
  for (;;) {
    const auto before = text.size();
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t' || text.front() == '\r' ||
                             text.front() == '\n')) {
      text.remove_prefix(1);
    }
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r' ||
                             text.back() == '\n')) {
      text.remove_suffix(1);
    }
    if (text.starts_with(kIdeographicSpace)) text.remove_prefix(kIdeographicSpace.size());
    if (text.ends_with(kIdeographicSpace)) text.remove_suffix(kIdeographicSpace.size());
    if (text.size() == before) break;
  }
  return std::string(text);
}

std::optional<char> IdCardCheckChar(std::string_view first17) {
  static constexpr std::array<int, 17> kWeights = {7, 9, 10, 5,  8, 4, 2, 1, 6,
                                                   3, 7, 9,  10, 5, 8, 4, 2};
  static constexpr std::string_view kChecks = "10X98765432";
  if (first17.size() != 17) return std::nullopt;
  int sum = 0;
  for (std::size_t i = 0; i < 17; ++i) {
    if (!IsDigit(first17[i])) return std::nullopt;
    sum += (first17[i] - '0') * kWeights[i];
  }
  return kChecks[static_cast<std::size_t>(sum % 11)];
}

std::optional<char> UsccCheckChar(std::string_view first17) {
  static constexpr std::array<int, 17> kWeights = {1,  3,  9,  27, 19, 26, 16, 17, 20,
                                                   29, 25, 13, 8,  24, 10, 30, 28};
  if (first17.size() != 17) return std::nullopt;
  int sum = 0;
  for (std::size_t i = 0; i < 17; ++i) {
    const auto pos = kUsccAlphabet.find(first17[i]);
    if (pos == std::string_view::npos) return std::nullopt;
    sum += static_cast<int>(pos) * kWeights[i];
  }
  const int check = (31 - sum % 31) % 31;
  return kUsccAlphabet[static_cast<std::size_t>(check)];
}

Result<std::string> NormalizeIdCard(std::string_view input, Date today, const std::string& field) {
  const std::string id = Compact(input);
  if (id.empty()) return Error::Invalid(field, "请填写身份证号码");
  if (id.size() != 18) return Error::Invalid(field, "身份证号码应为 18 位");
  for (std::size_t i = 0; i < 17; ++i) {
    if (!IsDigit(id[i])) return Error::Invalid(field, "身份证号码前 17 位应为数字");
  }
  if (!IsDigit(id[17]) && id[17] != 'X') {
    return Error::Invalid(field, "身份证号码最后一位应为数字或 X");
  }
  Date birth;
  const std::string birth_text = id.substr(6, 4) + "-" + id.substr(10, 2) + "-" + id.substr(12, 2);
  if (!ParseDate(birth_text, &birth) || birth < Date{1900, 1, 1} || birth > today) {
    return Error::Invalid(field, "身份证号码中的出生日期无效");
  }
  if (IdCardCheckChar(std::string_view(id).substr(0, 17)) != id[17]) {
    return Error::Invalid(field, "身份证号码校验位不正确，请核对");
  }
  return id;
}

Result<std::string> NormalizeMobile(std::string_view input, const std::string& field) {
  std::string phone = Compact(input);
  if (phone.starts_with("+86")) {
    phone = phone.substr(3);
  } else if (phone.starts_with("0086")) {
    phone = phone.substr(4);
  }
  if (phone.empty()) return Error::Invalid(field, "请填写手机号码");
  bool digits = phone.size() == 11;
  for (char c : phone) digits = digits && IsDigit(c);
  if (!digits || phone[0] != '1' || phone[1] < '3') {
    return Error::Invalid(field, "手机号码应为 11 位数字，以 13–19 开头");
  }
  return phone;
}

Result<std::string> NormalizeUscc(std::string_view input, const std::string& field) {
  const std::string code = Compact(input);
  if (code.empty()) return Error::Invalid(field, "请填写统一社会信用代码");
  if (code.size() != 18) return Error::Invalid(field, "统一社会信用代码应为 18 位");
  for (char c : code) {
    if (kUsccAlphabet.find(c) == std::string_view::npos) {
      return Error::Invalid(field, "统一社会信用代码含有无效字符（不使用 I、O、S、V、Z）");
    }
  }
  if (UsccCheckChar(std::string_view(code).substr(0, 17)) != code[17]) {
    return Error::Invalid(field, "统一社会信用代码校验位不正确，请核对");
  }
  return code;
}

std::string MaskIdCard(std::string_view id_card) {
  if (id_card.size() <= 8) return std::string(id_card.size(), '*');
  return std::string(id_card.substr(0, 4)) + std::string(id_card.size() - 8, '*') +
         std::string(id_card.substr(id_card.size() - 4));
}

std::string MaskPhone(std::string_view phone) {
  if (phone.size() <= 7) return std::string(phone.size(), '*');
  return std::string(phone.substr(0, 3)) + std::string(phone.size() - 7, '*') +
         std::string(phone.substr(phone.size() - 4));
}

}  // namespace zhenwu::people
