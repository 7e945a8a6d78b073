#include "org/demo.hpp"

#include <array>
#include <cstdio>

#include "org/service.hpp"
#include "org/store.hpp"

namespace zhenwu::org {

namespace {

constexpr std::array<const char*, 9> kTownWindows = {
    "社保中心",           "民政办", "计生站", "林业站", "食品药品监督管理所",
    "国土规建环保安监站", "司法所", "工商所", "财政所"};
constexpr std::array<const char*, 9> kVillageWindows = {"党建服务", "社会保障", "民政事务",
                                                        "卫生计生", "治安管理", "法律事务",
                                                        "就业服务", "文体教育", "村民服务"};
constexpr std::array<const char*, 19> kVillageNumbers = {
    "一",   "二",   "三",   "四",   "五",   "六",   "七",   "八",   "九",  "十",
    "十一", "十二", "十三", "十四", "十五", "十六", "十七", "十八", "十九"};

std::string Two(int n) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%02d", n);
  return buf;
}

}  // namespace

Status LoadDemoTree(db::Conn& conn, const Clock& clock) {
  auto existing = FindUnitByCode(conn, "PZ");
  if (!existing) return std::move(existing).error();
  if (*existing) return {};

  const audit::Actor system{std::nullopt, "system", "", ""};
  int sort = 0;
  auto make = [&](std::optional<int64_t> parent, UnitKind kind, std::string name, std::string code,
                  std::string division) -> Result<OrgUnit> {
    UnitInput in;
    in.parent_id = parent;
    in.kind = std::string(KindName(kind));
    in.name = std::move(name);
    in.code = std::move(code);
    in.division_code = std::move(division);
    in.sort_order = std::to_string(++sort);
    in.demo = true;
    return CreateUnit(conn, clock, system, in);
  };
  // The city and the county may exist already (another town of the same county loaded first).
  auto find_or_make = [&](std::optional<int64_t> parent, UnitKind kind, std::string name,
                          std::string code, std::string division) -> Result<OrgUnit> {
    auto found = FindUnitByCode(conn, code);
    if (!found) return std::move(found).error();
    if (*found) return std::move(**found);
    return make(parent, kind, std::move(name), std::move(code), std::move(division));
  };

  auto city = find_or_make(std::nullopt, UnitKind::kCity, "玉林市", "YL", "450900");
  if (!city) return std::move(city).error();
  auto county = find_or_make(city->id, UnitKind::kCounty, "北流市", "BL", "450981");
  if (!county) return std::move(county).error();
  auto town = make(county->id, UnitKind::kTown, "平政镇", "PZ", "");
  if (!town) return std::move(town).error();
  for (std::size_t i = 0; i < kTownWindows.size(); ++i) {
    auto w = make(town->id, UnitKind::kWindow, kTownWindows[i], "PZ-W" + Two(int(i) + 1), "");
    if (!w) return std::move(w).error();
  }
  for (std::size_t v = 0; v < kVillageNumbers.size(); ++v) {
    const std::string vcode = "PZ-C" + Two(int(v) + 1);
    auto village = make(town->id, UnitKind::kVillage,
                        std::string("示例") + kVillageNumbers[v] + "村", vcode, "");
    if (!village) return std::move(village).error();
    for (std::size_t i = 0; i < kVillageWindows.size(); ++i) {
      auto w = make(village->id, UnitKind::kVillageWindow, kVillageWindows[i],
                    vcode + "-W" + Two(int(i) + 1), "");
      if (!w) return std::move(w).error();
    }
  }
  return {};
}

}  // namespace zhenwu::org
