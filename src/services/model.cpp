#include "services/model.hpp"

#include <array>
#include <cstdio>
#include <utility>

namespace zhenwu::services {

namespace {

template <class E, std::size_t N>
std::optional<E> FromName(const std::array<std::pair<E, std::string_view>, N>& table,
                          std::string_view name) {
  for (const auto& [value, text] : table) {
    if (text == name) return value;
  }
  return std::nullopt;
}

template <class E, std::size_t N>
std::string_view NameOf(const std::array<std::pair<E, std::string_view>, N>& table, E value) {
  for (const auto& [v, text] : table) {
    if (v == value) return text;
  }
  return "";
}

constexpr std::array<std::pair<MaterialForm, std::string_view>, 3> kFormNames = {{
    {MaterialForm::kOriginal, "original"},
    {MaterialForm::kCopy, "copy"},
    {MaterialForm::kEither, "either"},
}};
constexpr std::array<std::pair<MaterialForm, std::string_view>, 3> kFormLabels = {{
    {MaterialForm::kOriginal, "原件"},
    {MaterialForm::kCopy, "复印件"},
    {MaterialForm::kEither, "原件或复印件"},
}};

constexpr std::array<std::pair<CaseStatus, std::string_view>, 6> kStatusNames = {{
    {CaseStatus::kSubmitted, "submitted"},
    {CaseStatus::kCorrecting, "correcting"},
    {CaseStatus::kAccepted, "accepted"},
    {CaseStatus::kRejected, "rejected"},
    {CaseStatus::kCompleted, "completed"},
    {CaseStatus::kWithdrawn, "withdrawn"},
}};
constexpr std::array<std::pair<CaseStatus, std::string_view>, 6> kStatusLabels = {{
    {CaseStatus::kSubmitted, "待受理"},
    {CaseStatus::kCorrecting, "待补正"},
    {CaseStatus::kAccepted, "办理中"},
    {CaseStatus::kRejected, "不予受理"},
    {CaseStatus::kCompleted, "已办结"},
    {CaseStatus::kWithdrawn, "已撤回"},
}};

constexpr std::array<std::pair<Channel, std::string_view>, 3> kChannelNames = {{
    {Channel::kOnline, "online"},
    {Channel::kProxy, "proxy"},
    {Channel::kWindow, "window"},
}};
constexpr std::array<std::pair<Channel, std::string_view>, 3> kChannelLabels = {{
    {Channel::kOnline, "网上申请"},
    {Channel::kProxy, "村级代办"},
    {Channel::kWindow, "窗口受理"},
}};

constexpr std::array<std::pair<Action, std::string_view>, 10> kActionNames = {{
    {Action::kSubmit, "submit"},
    {Action::kAccept, "accept"},
    {Action::kReject, "reject"},
    {Action::kRequestCorrection, "correct"},
    {Action::kResubmit, "resubmit"},
    {Action::kTransfer, "transfer"},
    {Action::kComplete, "complete"},
    {Action::kWithdraw, "withdraw"},
    {Action::kRate, "rate"},
    {Action::kNote, "note"},
}};
constexpr std::array<std::pair<Action, std::string_view>, 10> kActionLabels = {{
    {Action::kSubmit, "申请"},
    {Action::kAccept, "受理"},
    {Action::kReject, "不予受理"},
    {Action::kRequestCorrection, "一次性告知补正"},
    {Action::kResubmit, "补正提交"},
    {Action::kTransfer, "移交"},
    {Action::kComplete, "办结"},
    {Action::kWithdraw, "撤回"},
    {Action::kRate, "评价"},
    {Action::kNote, "备注"},
}};

}  // namespace

std::string_view MaterialFormName(MaterialForm form) { return NameOf(kFormNames, form); }
std::optional<MaterialForm> MaterialFormFromName(std::string_view name) {
  return FromName(kFormNames, name);
}
std::string_view MaterialFormLabel(MaterialForm form) { return NameOf(kFormLabels, form); }

const std::vector<LifeEvent>& LifeEvents() {
  static const std::vector<LifeEvent> kEvents = {
      {"birth", "生育"},           {"schooling", "教育"},        {"employment", "就业创业"},
      {"marriage", "婚姻家庭"},    {"housing", "建房"},          {"farming", "农林生产"},
      {"subsistence", "低保救助"}, {"disability", "残疾人服务"}, {"pension", "养老"},
      {"medical", "医疗"},         {"dispute", "矛盾纠纷"},      {"business", "企业经营"},
      {"death", "身后事"},
  };
  return kEvents;
}

std::optional<std::string_view> LifeEventLabel(std::string_view key) {
  for (const auto& e : LifeEvents()) {
    if (e.key == key) return e.label;
  }
  return std::nullopt;
}

std::string_view StatusName(CaseStatus s) { return NameOf(kStatusNames, s); }
std::optional<CaseStatus> StatusFromName(std::string_view name) {
  return FromName(kStatusNames, name);
}
std::string_view StatusLabel(CaseStatus s) { return NameOf(kStatusLabels, s); }
bool IsOpen(CaseStatus s) {
  return s == CaseStatus::kSubmitted || s == CaseStatus::kCorrecting || s == CaseStatus::kAccepted;
}

std::string_view ChannelName(Channel c) { return NameOf(kChannelNames, c); }
std::optional<Channel> ChannelFromName(std::string_view name) {
  return FromName(kChannelNames, name);
}
std::string_view ChannelLabel(Channel c) { return NameOf(kChannelLabels, c); }

std::string_view ActionName(Action a) { return NameOf(kActionNames, a); }
std::optional<Action> ActionFromName(std::string_view name) { return FromName(kActionNames, name); }
std::string_view ActionLabel(Action a) { return NameOf(kActionLabels, a); }

std::optional<CaseStatus> Next(CaseStatus from, Action action) {
  using S = CaseStatus;
  switch (action) {
    case Action::kSubmit:
      return std::nullopt;  // only creates a case
    case Action::kAccept:
      if (from == S::kSubmitted) return S::kAccepted;
      return std::nullopt;
    case Action::kReject:
      if (from == S::kSubmitted) return S::kRejected;
      return std::nullopt;
    case Action::kRequestCorrection:
      // 一次性告知 happens at acceptance review; a case being handled may still need a
      // missing paper, which pauses its clock the same way.
      if (from == S::kSubmitted || from == S::kAccepted) return S::kCorrecting;
      return std::nullopt;
    case Action::kResubmit:
      if (from == S::kCorrecting) return S::kSubmitted;
      return std::nullopt;
    case Action::kTransfer:
      if (from == S::kSubmitted || from == S::kAccepted) return from;
      return std::nullopt;
    case Action::kComplete:
      if (from == S::kAccepted) return S::kCompleted;
      return std::nullopt;
    case Action::kWithdraw:
      if (from == S::kSubmitted || from == S::kCorrecting) return S::kWithdrawn;
      return std::nullopt;
    case Action::kRate:
      if (from == S::kCompleted) return S::kCompleted;
      return std::nullopt;
    case Action::kNote:
      return from;
  }
  return std::nullopt;
}

std::vector<Action> StaffActions(CaseStatus s) {
  std::vector<Action> out;
  for (Action a : {Action::kAccept, Action::kRequestCorrection, Action::kReject, Action::kTransfer,
                   Action::kComplete, Action::kNote}) {
    if (Next(s, a)) out.push_back(a);
  }
  return out;
}

std::string_view DueStateName(DueState s) {
  switch (s) {
    case DueState::kNone:
      return "none";
    case DueState::kOnTime:
      return "on_time";
    case DueState::kDueSoon:
      return "due_soon";
    case DueState::kOverdue:
      return "overdue";
  }
  return "none";
}

std::string_view DueStateLabel(DueState s) {
  switch (s) {
    case DueState::kNone:
      return "";
    case DueState::kOnTime:
      return "正常";
    case DueState::kDueSoon:
      return "即将超期";
    case DueState::kOverdue:
      return "超期";
  }
  return "";
}

int PausedWorkingDays(const WorkCalendar& cal, Date since, Date until) {
  if (until <= since) return 0;
  return cal.WorkingDaysBetween(since, until);
}

Date DueDate(const WorkCalendar& cal, const CaseClock& clock, Date today) {
  int paused = clock.paused_days;
  if (clock.paused_since) paused += PausedWorkingDays(cal, *clock.paused_since, today);
  return cal.AddWorkingDays(clock.start, clock.limit_days + paused);
}

int DaysLeft(const WorkCalendar& cal, Date due, Date today) {
  return cal.WorkingDaysBetween(today, due);
}

DueState StateOn(const WorkCalendar& cal, Date due, Date today, int due_soon_days) {
  if (today > due) return DueState::kOverdue;
  if (due <= cal.AddWorkingDays(today, due_soon_days)) return DueState::kDueSoon;
  return DueState::kOnTime;
}

std::string_view RatingLabel(int score) {
  switch (score) {
    case 5:
      return "非常满意";
    case 4:
      return "满意";
    case 3:
      return "基本满意";
    case 2:
      return "不满意";
    case 1:
      return "非常不满意";
    default:
      return "";
  }
}

std::string FormatCaseNumber(std::string_view town_code, Date date, int64_t sequence) {
  char tail[48];
  std::snprintf(tail, sizeof tail, "-%04d%02d%02d-%04lld", date.year, date.month, date.day,
                static_cast<long long>(sequence));
  return std::string(town_code) + tail;
}

bool LooksLikeCaseNumber(std::string_view text) {
  // CODE-YYYYMMDD-NNNN…: the code is A–Z, 0–9 and '-', the date 8 digits, the sequence 4+.
  if (text.size() < 15 || text.size() > 64) return false;
  const auto last = text.rfind('-');
  if (last == std::string_view::npos || last < 10) return false;
  const auto seq = text.substr(last + 1);
  const auto date = text.substr(last - 8, 8);
  if (text[last - 9] != '-' || seq.size() < 4) return false;
  auto digits = [](std::string_view s) {
    for (char c : s) {
      if (c < '0' || c > '9') return false;
    }
    return true;
  };
  if (!digits(seq) || !digits(date)) return false;
  for (char c : text.substr(0, last - 9)) {
    if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-')) return false;
  }
  return true;
}

std::string LastFour(std::string_view phone) {
  std::string digits;
  for (char c : phone) {
    if (c >= '0' && c <= '9') digits.push_back(c);
  }
  if (digits.size() < 4) return "";
  return digits.substr(digits.size() - 4);
}

}  // namespace zhenwu::services
