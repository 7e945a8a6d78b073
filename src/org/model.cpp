#include "org/model.hpp"

#include <array>

namespace zhenwu::org {

namespace {

struct KindInfo {
  UnitKind kind;
  std::string_view name;
  std::string_view label;
};

constexpr std::array<KindInfo, 7> kKinds = {{
    {UnitKind::kCity, "city", "市"},
    {UnitKind::kCounty, "county", "县"},
    {UnitKind::kTown, "town", "镇"},
    {UnitKind::kDepartment, "department", "部门"},
    {UnitKind::kWindow, "window", "窗口"},
    {UnitKind::kVillage, "village", "村（社区）"},
    {UnitKind::kVillageWindow, "village_window", "村窗口"},
}};

std::size_t CodePoints(std::string_view s) {
  std::size_t n = 0;
  for (unsigned char c : s) {
    if ((c & 0xC0) != 0x80) ++n;
  }
  return n;
}

bool AllDigits(std::string_view s) {
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

}  // namespace

const std::vector<UnitKind>& AllKinds() {
  static const std::vector<UnitKind> kAll = [] {
    std::vector<UnitKind> all;
    for (const auto& k : kKinds) all.push_back(k.kind);
    return all;
  }();
  return kAll;
}

std::string_view KindName(UnitKind kind) {
  for (const auto& k : kKinds) {
    if (k.kind == kind) return k.name;
  }
  return "town";
}

std::optional<UnitKind> KindFromName(std::string_view name) {
  for (const auto& k : kKinds) {
    if (k.name == name) return k.kind;
  }
  return std::nullopt;
}

std::string_view KindLabel(UnitKind kind) {
  for (const auto& k : kKinds) {
    if (k.kind == kind) return k.label;
  }
  return "";
}

std::optional<UnitKind> KindFromText(std::string_view text) {
  const std::string t = TrimText(text);
  if (auto k = KindFromName(t)) return k;
  for (const auto& k : kKinds) {
    if (k.label == t) return k.kind;
  }
  if (t == "县级市" || t == "区" || t == "县（县级市）") return UnitKind::kCounty;
  if (t == "乡" || t == "街道") return UnitKind::kTown;
  if (t == "村" || t == "社区" || t == "村委会") return UnitKind::kVillage;
  return std::nullopt;
}

bool AllowedUnder(UnitKind child, std::optional<UnitKind> parent) {
  using K = UnitKind;
  if (!parent) return child == K::kCity || child == K::kCounty || child == K::kTown;
  switch (child) {
    case K::kCity:
      return false;
    case K::kCounty:
      return *parent == K::kCity;
    case K::kTown:
      return *parent == K::kCounty;
    case K::kDepartment:
      return *parent == K::kTown || *parent == K::kCounty || *parent == K::kCity;
    case K::kWindow:
      return *parent == K::kTown || *parent == K::kDepartment;
    case K::kVillage:
      return *parent == K::kTown;
    case K::kVillageWindow:
      return *parent == K::kVillage;
  }
  return false;
}

std::vector<UnitKind> KindsAllowedUnder(std::optional<UnitKind> parent) {
  std::vector<UnitKind> out;
  for (UnitKind k : AllKinds()) {
    if (AllowedUnder(k, parent)) out.push_back(k);
  }
  return out;
}

std::string TrimText(std::string_view text) {
  constexpr std::string_view kIdeographicSpace = "\xE3\x80\x80";
  bool changed = true;
  while (changed && !text.empty()) {
    changed = false;
    if (text.front() == ' ' || text.front() == '\t' || text.front() == '\r' ||
        text.front() == '\n') {
      text.remove_prefix(1);
      changed = true;
    } else if (text.substr(0, 3) == kIdeographicSpace) {
      text.remove_prefix(3);
      changed = true;
    }
    if (text.empty()) break;
    if (text.back() == ' ' || text.back() == '\t' || text.back() == '\r' || text.back() == '\n') {
      text.remove_suffix(1);
      changed = true;
    } else if (text.size() >= 3 && text.substr(text.size() - 3) == kIdeographicSpace) {
      text.remove_suffix(3);
      changed = true;
    }
  }
  return std::string(text);
}

Result<std::string> CheckName(std::string_view name) {
  std::string n = TrimText(name);
  if (n.empty()) return Error::Invalid("name", "请填写名称");
  if (CodePoints(n) > 100) return Error::Invalid("name", "名称不能超过 100 个字");
  for (unsigned char c : n) {
    if (c < 0x20 || c == 0x7F) return Error::Invalid("name", "名称不能含有控制字符");
  }
  return n;
}

Result<std::string> CheckCode(std::string_view code) {
  std::string c = TrimText(code);
  if (c.empty()) return Error::Invalid("code", "请填写编码");
  for (char& ch : c) {
    if (ch >= 'a' && ch <= 'z') ch = static_cast<char>(ch - 'a' + 'A');
  }
  if (c.size() > 32) return Error::Invalid("code", "编码不能超过 32 个字符");
  for (char ch : c) {
    const bool ok = (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '-';
    if (!ok) return Error::Invalid("code", "编码只能由大写字母、数字和连字符“-”组成");
  }
  if (c.front() == '-' || c.back() == '-') {
    return Error::Invalid("code", "编码不能以连字符“-”开头或结尾");
  }
  return c;
}

Result<std::string> CheckDivisionCode(std::string_view division_code) {
  std::string d = TrimText(division_code);
  if (d.empty()) return d;
  if (!AllDigits(d) || (d.size() != 6 && d.size() != 9 && d.size() != 12)) {
    return Error::Invalid("division_code", "行政区划代码应为 6、9 或 12 位数字");
  }
  return d;
}

std::string ChildPath(std::string_view parent_path, int64_t id) {
  std::string p = parent_path.empty() ? std::string("/") : std::string(parent_path);
  p += std::to_string(id);
  p += '/';
  return p;
}

int PathDepth(std::string_view path) {
  int slashes = 0;
  for (char c : path) {
    if (c == '/') ++slashes;
  }
  return slashes >= 2 ? slashes - 2 : 0;
}

bool PathWithin(std::string_view path, std::string_view ancestor_path) {
  return !ancestor_path.empty() && path.substr(0, ancestor_path.size()) == ancestor_path;
}

}  // namespace zhenwu::org
