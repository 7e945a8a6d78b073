#include "services/demo.hpp"

#include <array>

#include "org/store.hpp"

namespace zhenwu::services {

namespace {

struct DemoMaterial {
  const char* name;
  const char* form;  // original | copy | either
  bool required;
};

struct DemoService {
  const char* window;  // town window code suffix "W01".., or "C" + village window "W02"
  const char* code;
  const char* name;
  const char* category;
  const char* events;  // comma-separated LifeEvent keys
  const char* basis;
  const char* conditions;
  int statutory, promised;
  const char* fee;
  bool online, proxy;
  std::vector<DemoMaterial> materials;
};

const DemoMaterial kIdCard{"居民身份证", "original", true};
const DemoMaterial kHukou{"户口簿", "original", true};

// The town's nine windows: W01 社保中心, W02 民政办, W03 计生站, W04 林业站, W05
// 食品药品监督管理所, W06 国土规建环保安监站, W07 司法所, W08 工商所, W09 财政所.
const std::vector<DemoService>& TownServices() {
  static const std::vector<DemoService> kList = {
      {"W01",
       "SB-001",
       "城乡居民养老保险参保登记",
       "公共服务",
       "pension",
       "《国务院关于建立统一的城乡居民基本养老保险制度的意见》（国发〔2014〕8号）",
       "年满16周岁（不含在校学生），非国家机关和事业单位工作人员及不属于职工基本养老保险覆盖范围的"
       "城乡居民",
       5,
       1,
       "",
       true,
       true,
       {kIdCard, kHukou, {"城乡居民基本养老保险参保登记表", "original", true}}},
      {"W01",
       "SB-002",
       "城乡居民养老保险待遇领取申请",
       "行政给付",
       "pension",
       "《国务院关于建立统一的城乡居民基本养老保险制度的意见》（国发〔2014〕8号）",
       "参保人年满60周岁、累计缴费满15年，且未领取国家规定的基本养老保障待遇",
       20,
       10,
       "",
       true,
       true,
       {kIdCard, kHukou, {"社会保障卡或银行卡", "copy", true}}},
      {"W01",
       "SB-003",
       "城乡居民基本医疗保险参保登记",
       "公共服务",
       "medical",
       "《中华人民共和国社会保险法》第二十五条",
       "本镇户籍或居住证持有人，未参加职工医保",
       5,
       1,
       "",
       true,
       true,
       {kIdCard, kHukou}},
      {"W01",
       "SB-004",
       "就业失业登记",
       "公共服务",
       "employment",
       "《就业服务与就业管理规定》（人社部令第23号）",
       "法定劳动年龄内、有劳动能力和就业要求、处于无业状态的城乡劳动者",
       5,
       1,
       "",
       true,
       true,
       {kIdCard, {"近期一寸免冠照片", "original", false}}},
      {"W01",
       "SB-005",
       "创业担保贷款申请初审",
       "公共服务",
       "employment,business",
       "《关于进一步做好创业担保贷款财政贴息工作的通知》（财金〔2020〕21号）",
       "符合条件的城乡自主创业人员，贷款额度一般不超过30万元",
       20,
       10,
       "",
       false,
       true,
       {kIdCard, {"营业执照", "copy", true}, {"创业计划书", "original", true}}},
      {"W02",
       "MZ-001",
       "最低生活保障申请",
       "行政给付",
       "subsistence",
       "《社会救助暂行办法》（国务院令第649号）第九条至第十五条",
       "共同生活的家庭成员人均收入低于当地最低生活保障标准，且符合家庭财产状况规定",
       30,
       20,
       "",
       true,
       true,
       {kIdCard,
        kHukou,
        {"家庭收入及财产状况申报表", "original", true},
        {"家庭经济状况核对授权书", "original", true},
        {"残疾证或病历等证明", "copy", false}}},
      {"W02",
       "MZ-002",
       "临时救助申请",
       "行政给付",
       "subsistence,medical",
       "《社会救助暂行办法》（国务院令第649号）第四十七条至第五十二条",
       "因火灾、交通事故等意外事件或家庭成员突发重大疾病，导致基本生活暂时出现严重困难",
       15,
       5,
       "",
       true,
       true,
       {kIdCard,
        {"临时救助申请书", "original", true},
        {"困难情况证明材料", "either", true},
        {"医疗费用票据", "copy", false}}},
      {"W02",
       "MZ-003",
       "特困人员救助供养申请",
       "行政给付",
       "subsistence",
       "《特困人员认定办法》（民发〔2021〕43号）",
       "无劳动能力、无生活来源、无法定赡养抚养扶养义务人或其义务人无履行能力的老年人、残疾人和未成"
       "年人",
       30,
       20,
       "",
       false,
       true,
       {kIdCard, kHukou, {"特困人员救助供养申请书", "original", true}}},
      {"W02",
       "MZ-004",
       "高龄津贴申领",
       "行政给付",
       "pension",
       "《广西壮族自治区高龄老年人生活津贴发放管理办法》",
       "本镇户籍年满80周岁的老年人",
       20,
       10,
       "",
       true,
       true,
       {kIdCard, kHukou, {"银行卡（存折）", "copy", true}}},
      {"W02",
       "MZ-005",
       "困难残疾人生活补贴和重度残疾人护理补贴申请",
       "行政给付",
       "disability",
       "《国务院关于全面建立困难残疾人生活补贴和重度残疾人护理补贴制度的意见》（国发〔2015〕52号）",
       "持有第二代残疾人证的低保家庭残疾人或一、二级重度残疾人",
       20,
       15,
       "",
       true,
       true,
       {kIdCard, {"中华人民共和国残疾人证", "original", true}, kHukou}},
      {"W02",
       "MZ-006",
       "殡葬补助申请",
       "行政给付",
       "death",
       "《广西壮族自治区殡葬管理办法》",
       "本镇户籍居民死亡后实行火化或生态安葬",
       20,
       10,
       "",
       false,
       true,
       {{"死亡医学证明或死亡证明", "original", true},
        {"火化证明", "original", true},
        {"经办人居民身份证", "original", true}}},
      {"W03",
       "JS-001",
       "生育登记",
       "公共服务",
       "birth",
       "《广西壮族自治区人口和计划生育条例》",
       "夫妻双方自主安排生育，登记不设前置条件",
       3,
       1,
       "",
       true,
       true,
       {{"夫妻双方居民身份证", "original", true}, {"结婚证", "copy", false}}},
      {"W03",
       "JS-002",
       "计划生育家庭特别扶助金申请",
       "行政给付",
       "birth,pension",
       "《全国独生子女伤残死亡家庭扶助制度试点方案》（国人口发〔2007〕78号）",
       "独生子女死亡或伤残、女方年满49周岁、目前无子女的夫妻",
       30,
       20,
       "",
       false,
       true,
       {kIdCard, kHukou, {"独生子女证或相关证明", "copy", true}}},
      {"W03",
       "JS-003",
       "农村部分计划生育家庭奖励扶助申请",
       "行政给付",
       "pension",
       "《农村部分计划生育家庭奖励扶助制度试点方案》",
       "本人及配偶均为农业户口，只有一个子女或两个女孩，年满60周岁",
       30,
       20,
       "",
       false,
       true,
       {kIdCard, kHukou}},
      {"W04",
       "LY-001",
       "林木采伐许可初审",
       "行政许可",
       "farming",
       "《中华人民共和国森林法》第五十六条",
       "采伐本人所有的人工商品林，有林权证或承包合同",
       20,
       10,
       "",
       true,
       true,
       {kIdCard,
        {"林权证或林地承包合同", "copy", true},
        {"林木采伐申请表", "original", true},
        {"伐区调查设计或作业说明", "original", false}}},
      {"W04",
       "LY-002",
       "林权类不动产登记初审",
       "行政确认",
       "farming",
       "《不动产登记暂行条例》",
       "林地和林木权属清楚、界址明确、无争议",
       30,
       15,
       "",
       false,
       true,
       {kIdCard, {"林地权属来源证明", "copy", true}, {"林地四至界址图", "original", true}}},
      {"W04",
       "LY-003",
       "森林防火野外用火审批初审",
       "行政许可",
       "farming",
       "《森林防火条例》第二十五条",
       "森林防火期内因生产需要在野外用火",
       5,
       2,
       "",
       true,
       true,
       {kIdCard, {"用火地点及防范措施说明", "original", true}}},
      {"W05",
       "SP-001",
       "食品小作坊登记",
       "行政许可",
       "business",
       "《广西壮族自治区食品小作坊小餐饮和食品摊贩管理条例》",
       "有固定生产加工场所，具备与生产品种和规模相适应的设备设施",
       15,
       7,
       "",
       true,
       false,
       {kIdCard,
        {"营业执照", "copy", true},
        {"生产场所平面图", "original", true},
        {"从业人员健康证明", "copy", true}}},
      {"W05",
       "SP-002",
       "小餐饮登记",
       "行政许可",
       "business",
       "《广西壮族自治区食品小作坊小餐饮和食品摊贩管理条例》",
       "有固定经营场所，面积和设施符合要求",
       15,
       7,
       "",
       true,
       false,
       {kIdCard, {"营业执照", "copy", true}, {"从业人员健康证明", "copy", true}}},
      {"W06",
       "GT-001",
       "农村宅基地建房申请",
       "行政许可",
       "housing",
       "《中华人民共和国土地管理法》第六十二条；《农村宅基地管理办法》",
       "本村集体经济组织成员，一户一宅，符合国土空间规划和村庄规划",
       20,
       15,
       "",
       true,
       true,
       {kIdCard,
        kHukou,
        {"农村宅基地和建房（规划许可）申请表", "original", true},
        {"农村宅基地使用承诺书", "original", true},
        {"村民小组会议记录", "original", true},
        {"房屋设计图或通用图", "copy", false}}},
      {"W06",
       "GT-002",
       "乡村建设规划许可证核发",
       "行政许可",
       "housing",
       "《中华人民共和国城乡规划法》第四十一条",
       "在乡、村庄规划区内进行农村村民住宅建设",
       20,
       15,
       "",
       false,
       true,
       {kIdCard, {"建设工程设计方案", "original", true}, {"宅基地批准文件", "copy", true}}},
      {"W06",
       "GT-003",
       "农村危房改造申请",
       "行政给付",
       "housing,subsistence",
       "《住房和城乡建设部等关于做好农村低收入群体等重点对象住房安全保障工作的实施意见》",
       "低保户、分散供养特困人员、低保边缘家庭等重点对象，住房经鉴定为C级或D级危房",
       30,
       20,
       "",
       false,
       true,
       {kIdCard, kHukou, {"房屋安全鉴定报告", "copy", false}}},
      {"W07",
       "SF-001",
       "人民调解申请",
       "公共服务",
       "dispute",
       "《中华人民共和国人民调解法》",
       "民间纠纷当事人自愿申请调解",
       15,
       5,
       "",
       true,
       true,
       {kIdCard,
        {"调解申请书（写明纠纷事实和请求）", "original", true},
        {"相关证据材料", "either", false}}},
      {"W07",
       "SF-002",
       "法律援助申请",
       "公共服务",
       "dispute",
       "《中华人民共和国法律援助法》第四十一条",
       "因经济困难没有委托代理人，且属于法律援助事项范围",
       7,
       5,
       "",
       true,
       true,
       {kIdCard,
        {"法律援助申请表", "original", true},
        {"经济困难状况说明表", "original", true},
        {"与所申请事项相关的材料", "either", true}}},
      {"W07",
       "SF-003",
       "社区矫正对象外出申请",
       "行政许可",
       "",
       "《中华人民共和国社区矫正法实施办法》第二十六条",
       "因就医、就学、参与诉讼等正当理由需要外出",
       3,
       1,
       "",
       false,
       false,
       {kIdCard, {"外出事由证明材料", "original", true}}},
      {"W08",
       "GS-001",
       "个体工商户设立登记",
       "行政许可",
       "business,employment",
       "《促进个体工商户发展条例》；《中华人民共和国市场主体登记管理条例》",
       "有经营能力的自然人，经营场所合法",
       3,
       1,
       "",
       true,
       false,
       {kIdCard, {"个体工商户登记申请书", "original", true}, {"经营场所使用证明", "copy", true}}},
      {"W08",
       "GS-002",
       "个体工商户变更登记",
       "行政许可",
       "business",
       "《中华人民共和国市场主体登记管理条例》第二十四条",
       "已登记的个体工商户登记事项发生变化",
       3,
       1,
       "",
       true,
       false,
       {kIdCard, {"营业执照正、副本", "original", true}, {"变更登记申请书", "original", true}}},
      {"W08",
       "GS-003",
       "农民专业合作社设立登记",
       "行政许可",
       "business,farming",
       "《中华人民共和国农民专业合作社法》第十六条",
       "有五名以上符合规定的成员，有符合规定的章程",
       5,
       3,
       "",
       true,
       false,
       {{"设立登记申请书", "original", true},
        {"全体设立人签名的章程", "original", true},
        {"成员名册及身份证明", "copy", true},
        {"住所使用证明", "copy", true}}},
      {"W09",
       "CZ-001",
       "耕地地力保护补贴申领",
       "行政给付",
       "farming",
       "《财政部 农业农村部关于全面推开农业“三项补贴”改革工作的通知》",
       "拥有耕地承包权的种地农民，耕地未撂荒、未改变用途",
       20,
       10,
       "",
       true,
       true,
       {kIdCard, {"土地承包经营权证", "copy", true}, {"“一卡通”银行卡", "copy", true}}},
      {"W09",
       "CZ-002",
       "惠民惠农补贴“一卡通”信息变更",
       "公共服务",
       "farming,subsistence",
       "《关于进一步加强惠民惠农财政补贴资金“一卡通”管理的指导意见》",
       "补贴对象的银行账户、联系电话等信息发生变化",
       5,
       2,
       "",
       true,
       true,
       {kIdCard, {"新银行卡（存折）", "copy", true}}},
      {"W09",
       "CZ-003",
       "农业保险保费补贴申请",
       "行政给付",
       "farming",
       "《中央财政农业保险保费补贴管理办法》（财金〔2021〕130号）",
       "参加政策性农业保险的种植、养殖户",
       15,
       10,
       "",
       false,
       true,
       {kIdCard, {"农业保险保单", "copy", true}}},
  };
  return kList;
}

// Every village centre offers these at its windows: W02 社会保障, W03 民政事务, W06 法律事务,
// W09 村民服务.
const std::vector<DemoService>& VillageServices() {
  static const std::vector<DemoService> kList = {
      {"W09",
       "CM01",
       "村级证明开具（居住、家庭关系等）",
       "公共服务",
       "",
       "《关于改进和规范基层群众性自治组织出具证明工作的指导意见》（民发〔2020〕75号）",
       "本村（社区）居民因办事需要村委会出具的保留证明事项",
       3,
       1,
       "",
       true,
       false,
       {kIdCard, {"证明用途说明", "either", false}}},
      {"W06",
       "CM02",
       "村调委会调解申请",
       "公共服务",
       "dispute",
       "《中华人民共和国人民调解法》",
       "本村（社区）村民之间的邻里、婚姻家庭、土地等民间纠纷",
       15,
       7,
       "",
       true,
       false,
       {kIdCard, {"纠纷情况说明", "either", true}}},
      {"W02",
       "CM03",
       "城乡居民养老保险缴费档次变更",
       "公共服务",
       "pension",
       "《国务院关于建立统一的城乡居民基本养老保险制度的意见》",
       "已参保的城乡居民每年可调整一次缴费档次",
       3,
       1,
       "",
       true,
       false,
       {kIdCard}},
  };
  return kList;
}

Status MakeAll(db::Conn& conn, const Deps& deps, const auth::Principal& editor,
               const std::vector<DemoService>& list, const std::string& unit_prefix,
               const std::string& code_prefix, int* made) {
  const audit::Actor system{std::nullopt, "system", "", ""};
  for (const auto& d : list) {
    const std::string code = code_prefix + d.code;
    auto exists = GetServiceByCode(conn, code);
    if (!exists) return std::move(exists).error();
    if (*exists) continue;
    auto unit = org::FindUnitByCode(conn, unit_prefix + d.window);
    if (!unit) return std::move(unit).error();
    if (!*unit) return Error::NotFound("演示组织机构中缺少窗口 " + unit_prefix + d.window);
    ServiceInput in;
    in.code = code;
    in.name = d.name;
    in.unit_id = (*unit)->id;
    in.category = d.category;
    std::string events = d.events;
    std::size_t i = 0;
    while (i < events.size()) {
      auto j = events.find(',', i);
      if (j == std::string::npos) j = events.size();
      if (j > i) in.life_events.push_back(events.substr(i, j - i));
      i = j + 1;
    }
    in.legal_basis = d.basis;
    in.conditions = d.conditions;
    in.statutory_days = std::to_string(d.statutory);
    in.promised_days = std::to_string(d.promised);
    in.fee = d.fee;
    in.place = (*unit)->name + "窗口";
    in.hours = "周一至周五 8:00—12:00，15:00—18:00（法定节假日除外）";
    in.phone = "0775-0000000（演示）";
    in.online = d.online;
    in.proxy = d.proxy;
    in.demo = true;
    for (const auto& m : d.materials) {
      in.materials.push_back({.name = m.name, .form = m.form, .required = m.required});
    }
    auto made_service = CreateService(conn, deps, system, &editor, in);
    if (!made_service) {
      return Error::Internal("演示事项 " + code + " 创建失败：" + made_service.error().message);
    }
    ++*made;
  }
  return {};
}

}  // namespace

Result<int> LoadDemoCatalogue(db::Conn& conn, const Deps& deps) {
  auto town = org::FindUnitByCode(conn, "PZ");
  if (!town) return std::move(town).error();
  if (!*town) return Error::NotFound("演示组织机构未加载（缺少平政镇）");
  auth::Principal editor;
  editor.kind = auth::Principal::Kind::kStaff;
  editor.login = "system";
  editor.display_name = "系统";
  editor.grants.push_back({auth::Role::kEditor, auth::Scope::kSubtree, (*town)->id, (*town)->path});
  int made = 0;
  if (auto s = MakeAll(conn, deps, editor, TownServices(), "PZ-", "PZ-", &made); !s) {
    return std::move(s).error();
  }
  auto villages = org::Children(conn, (*town)->id);
  if (!villages) return std::move(villages).error();
  for (const auto& v : *villages) {
    if (v.kind != org::UnitKind::kVillage || !v.demo) continue;
    if (auto s = MakeAll(conn, deps, editor, VillageServices(), v.code + "-", v.code + "-", &made);
        !s) {
      return std::move(s).error();
    }
  }
  return made;
}

}  // namespace zhenwu::services
