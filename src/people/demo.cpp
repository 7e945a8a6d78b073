#include "people/demo.hpp"

#include <fmt/format.h>

#include <array>

#include "org/store.hpp"
#include "people/service.hpp"
#include "people/validate.hpp"

namespace zhenwu::people {

namespace {

std::string Two(int n) { return fmt::format("{:02d}", n); }

constexpr std::array<const char*, 19> kVillageNumbers = {
    "一",   "二",   "三",   "四",   "五",   "六",   "七",   "八",   "九",  "十",
    "十一", "十二", "十三", "十四", "十五", "十六", "十七", "十八", "十九"};

struct DemoEnterprise {
  const char* name;
  const char* village;  // code of the unit it belongs to
};

constexpr std::array<DemoEnterprise, kDemoEnterprises> kEnterprises = {{
    {"示例沙田柚种植专业合作社", "PZ-C01"},
    {"示例桂圆加工厂", "PZ-C03"},
    {"示例陶瓷有限公司", "PZ"},
    {"示例养殖专业合作社", "PZ-C07"},
    {"示例农资经营部", "PZ"},
    {"示例建材有限公司", "PZ-C12"},
}};

}  // namespace

std::string DemoIdCard(int n) {
  // 450981 is 北流市; birth dates spread over 1946–2005, a different one for every n.
  const int year = 1946 + (n * 7) % 60;
  const int month = 1 + (n * 5) % 12;
  const int day = 1 + (n * 11) % 28;
  const std::string first17 =
      fmt::format("450981{:04d}{:02d}{:02d}{:03d}", year, month, day, 500 + n % 500);
  return first17 + IdCardCheckChar(first17).value_or('?');
}

std::string DemoPhone(int n) { return fmt::format("1380000{:04d}", n % 10000); }

std::string DemoUscc(int n) {
  // 9 (registered by market regulation) 1 (an enterprise), 450981 (北流市), a 9-character
  // organisation code "MA5DEM" + number, and the check character.
  const std::string first17 = fmt::format("91450981MA5DEM{:03d}", n % 1000);
  return first17 + UsccCheckChar(first17).value_or('?');
}

Status LoadDemoPeople(db::Conn& conn, const Clock& clock, const Keys& keys) {
  const audit::Actor system{std::nullopt, "system", "", ""};
  auto unit_id = [&](const std::string& code) -> Result<int64_t> {
    auto unit = org::FindUnitByCode(conn, code);
    if (!unit) return std::move(unit).error();
    if (!*unit) return Error::NotFound("演示单位 " + code + " 不存在：请先载入演示组织机构");
    return (*unit)->id;
  };

  for (int n = 1; n <= kDemoResidents; ++n) {
    const int village = (n - 1) % static_cast<int>(kVillageNumbers.size());
    const std::string id_card = DemoIdCard(n);
    auto existing = FindResidentByIdCard(conn, clock, keys, id_card);
    if (!existing) return std::move(existing).error();
    if (*existing) continue;
    auto vid = unit_id("PZ-C" + Two(village + 1));
    if (!vid) return std::move(vid).error();
    ResidentInput in;
    in.name = "示例居民" + Two(n);
    in.id_card = id_card;
    in.phone = DemoPhone(n);
    in.village_unit_id = *vid;
    in.address =
        std::string("示例") + kVillageNumbers[village] + "村 " + std::to_string(1 + n / 19) + " 组";
    in.demo = true;
    auto made = CreateResident(conn, clock, keys, system, in);
    if (!made) return std::move(made).error();
  }

  for (int n = 1; n <= kDemoEnterprises; ++n) {
    const DemoEnterprise& e = kEnterprises[static_cast<std::size_t>(n - 1)];
    const std::string uscc = DemoUscc(n);
    auto existing = FindEnterpriseByUscc(conn, uscc);
    if (!existing) return std::move(existing).error();
    if (*existing) continue;
    auto uid = unit_id(e.village);
    if (!uid) return std::move(uid).error();
    EnterpriseInput in;
    in.name = e.name;
    in.uscc = uscc;
    in.legal_rep = "示例法人" + Two(n);
    in.phone = DemoPhone(100 + n);
    in.address = "平政镇（演示地址）";
    in.unit_id = *uid;
    in.demo = true;
    auto made = CreateEnterprise(conn, clock, keys, system, in);
    if (!made) return std::move(made).error();
  }
  return {};
}

}  // namespace zhenwu::people
