#pragma once
// 政务服务: the service catalogue (政务服务事项) and the cases (办件) opened on it.
//
// Glossary: 事项 Service, 申请材料 Material, 办件 ServiceCase, 办件编号 case number, 受理 accept,
// 不予受理 reject, 补正/一次性告知 correction request, 办理 handle, 移交 transfer (hand-over to
// another window or up to the town), 办结 complete, 好差评 rating, 回访/整改 follow-up,
// 代办 proxy application (a village cadre applies for a villager), 承诺时限/法定时限 promised /
// statutory time limit (working days), 即将超期 due soon, 超期 overdue, 回执 receipt,
// 台账 ledger (Excel/CSV export).
//
// This header holds the pure rules (no SQL): the case lifecycle, the deadline arithmetic and the
// labels, so they are unit-testable on their own.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.hpp"
#include "core/result.hpp"
#include "core/work_calendar.hpp"

namespace zhenwu::services {

// ---- catalogue ------------------------------------------------------------------------------

enum class MaterialForm { kOriginal, kCopy, kEither };  // 原件 / 复印件 / 原件或复印件
std::string_view MaterialFormName(MaterialForm form);   // "original" | "copy" | "either"
std::optional<MaterialForm> MaterialFormFromName(std::string_view name);
std::string_view MaterialFormLabel(MaterialForm form);  // 原件 …

struct Material {
  int64_t id = 0;
  int64_t service_id = 0;
  int sort_order = 0;
  std::string name;  // 居民身份证
  MaterialForm form = MaterialForm::kEither;
  int copies = 1;
  bool required = true;
  std::string note;
  // An optional sample/template file in the file store (content address), with its name.
  std::string sample_sha256;
  std::string sample_name;
  std::string sample_type;
};

// Life events citizens browse by (按人生事件). Stable keys stored in the database.
struct LifeEvent {
  std::string_view key;    // "birth"
  std::string_view label;  // 生育
};
const std::vector<LifeEvent>& LifeEvents();
std::optional<std::string_view> LifeEventLabel(std::string_view key);

struct Service {
  int64_t id = 0;
  std::string code;       // unique short code, e.g. "PZ-MZ-001"
  int64_t unit_id = 0;    // the implementing window (town window or village window)
  std::string unit_path;  // its materialised path (filled by reads)
  std::string unit_name;  // filled by reads
  std::string name;
  std::string category;  // 事项类型: 行政许可, 行政给付, 行政确认, 公共服务, 其他行政权力
  std::vector<std::string> life_events;  // LifeEvent keys
  std::string legal_basis;
  std::string conditions;  // 受理条件
  int statutory_days = 0;  // 法定时限 (working days)
  int promised_days = 0;   // 承诺时限 (working days), <= statutory_days
  std::string fee;         // "" = 不收费
  std::string place;       // 办理地点
  std::string hours;       // 办理时间
  std::string phone;       // 咨询电话
  bool online = false;     // 可网上申请
  bool proxy = false;      // 可村级代办
  // Neither online nor proxy: only at the window (walk-in).
  bool retired = false;
  bool demo = false;
  int64_t created_at_ms = 0;
  int64_t updated_at_ms = 0;
  std::vector<Material> materials;  // filled by GetService, in sort order
};

// ---- cases ----------------------------------------------------------------------------------

enum class CaseStatus {
  kSubmitted,   // 待受理 (applied, or re-submitted after 补正)
  kCorrecting,  // 待补正 (the clock is paused)
  kAccepted,    // 办理中 (受理 done; may be handed over between windows)
  kRejected,    // 不予受理 (final)
  kCompleted,   // 已办结 (final; may be rated)
  kWithdrawn,   // 已撤回 (by the applicant before acceptance; final)
};
std::string_view StatusName(CaseStatus s);  // "submitted", "correcting", …
std::optional<CaseStatus> StatusFromName(std::string_view name);
std::string_view StatusLabel(CaseStatus s);  // 待受理, 待补正, 办理中, 不予受理, 已办结, 已撤回
bool IsOpen(CaseStatus s);                   // submitted, correcting, accepted

enum class Channel { kOnline, kProxy, kWindow };  // 网上申请 / 村级代办 / 窗口受理
std::string_view ChannelName(Channel c);          // "online" | "proxy" | "window"
std::optional<Channel> ChannelFromName(std::string_view name);
std::string_view ChannelLabel(Channel c);

enum class Action {
  kSubmit,             // 申请 (creates the case)
  kAccept,             // 受理
  kReject,             // 不予受理 (reason required)
  kRequestCorrection,  // 一次性告知补正 (at least one material or a note)
  kResubmit,           // 补正后重新提交 (applicant, cadre or clerk)
  kTransfer,           // 移交 to another unit (target required)
  kComplete,           // 办结 (result required)
  kWithdraw,           // 撤回 (applicant)
  kRate,               // 评价
  kNote,               // 备注 (no status change)
};
std::string_view ActionName(Action a);  // "submit", "accept", …
std::optional<Action> ActionFromName(std::string_view name);
std::string_view ActionLabel(Action a);  // 申请, 受理, …

// The status after `action` in status `from`, or nullopt when the transition is illegal.
// kRate needs kCompleted and leaves it; kNote is allowed in every status and changes nothing.
std::optional<CaseStatus> Next(CaseStatus from, Action action);
// The staff actions offered on a case in status `s` (for the buttons on the desk).
std::vector<Action> StaffActions(CaseStatus s);

// ---- deadlines (working days) ---------------------------------------------------------------

enum class DueState {
  kNone,     // no deadline running (final, or paused for 补正)
  kOnTime,   // 正常
  kDueSoon,  // 即将超期: due within `due_soon_days` working days
  kOverdue,  // 超期
};
std::string_view DueStateName(DueState s);   // "none" | "on_time" | "due_soon" | "overdue"
std::string_view DueStateLabel(DueState s);  // "" | 正常 | 即将超期 | 超期

// The clock of one case. It starts on the day of application (申请日; that day itself is not
// counted: the deadline is the promised_days-th working day after it) and is paused while the
// case waits for 补正: the working days spent paused are added to the deadline.
struct CaseClock {
  Date start;                        // 申请日 (Asia/Shanghai)
  int limit_days = 0;                // promised working days
  int paused_days = 0;               // working days spent in finished pauses
  std::optional<Date> paused_since;  // set while paused
};
// The due date: the (limit_days + paused_days)-th working day after start. While paused, the
// working days paused so far (up to `today`) are added as well.
Date DueDate(const WorkCalendar& cal, const CaseClock& clock, Date today);
// Working days a pause from `since` to `until` lasted: WorkingDaysBetween(since, until).
int PausedWorkingDays(const WorkCalendar& cal, Date since, Date until);
// On time / due soon / overdue for an open case on `today`.
DueState StateOn(const WorkCalendar& cal, Date due, Date today, int due_soon_days);
// Working days left until `due` (0 on the due day; negative when overdue).
int DaysLeft(const WorkCalendar& cal, Date due, Date today);

// ---- ratings (好差评) -----------------------------------------------------------------------

// 5 非常满意, 4 满意, 3 基本满意, 2 不满意, 1 非常不满意.
std::string_view RatingLabel(int score);
inline bool IsBadRating(int score) { return score >= 1 && score <= 2; }

// ---- case numbers ---------------------------------------------------------------------------

// "PZ-20261130-0001": the town's code, the Shanghai date of application and the day's sequence
// for that town (at least 4 digits).
std::string FormatCaseNumber(std::string_view town_code, Date date, int64_t sequence);
// Whether `text` looks like a case number (so tracking rejects junk before the database).
bool LooksLikeCaseNumber(std::string_view text);

// ---- phones ---------------------------------------------------------------------------------

// The last four digits of a mobile number ("" when fewer than 4 digits).
std::string LastFour(std::string_view phone);

}  // namespace zhenwu::services
