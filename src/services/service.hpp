#pragma once
// The services module's operations: the catalogue and the cases. Every function works inside
// the caller's transaction (pass the Conn of a Database::Read / Write), validates its input
// (kInvalidInput with a Chinese message per form field), checks the caller's permission on the
// org tree (auth::Authorize: kNotFound for a record outside the caller's scope), writes the case
// history and the audit log in the same transaction, and queues the applicant's notifications
// there too, so a step and its notice commit together or not at all.
//
// Field names in errors are the form fields of the pages and the JSON API: "name", "id_card",
// "phone", "village_id", "uscc", "description", "reason", "note", "result", "target_unit_id",
// "materials", "score", "comment", "number", "phone4", …

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "audit/audit.hpp"
#include "auth/principal.hpp"
#include "core/clock.hpp"
#include "core/result.hpp"
#include "core/work_calendar.hpp"
#include "db/db.hpp"
#include "services/model.hpp"

namespace zhenwu::people {
struct Keys;
}

namespace zhenwu::services {

// What the operations need besides the connection.
struct Deps {
  const Clock& clock;
  const people::Keys& keys;
  const WorkCalendar& calendar;  // a snapshot (see calendar/store.hpp)
  int due_soon_days = 2;         // services.due_soon_days
  int followup_days = 5;         // services.followup_days: deadline of a 回访/整改
};

// ---- catalogue ------------------------------------------------------------------------------

struct MaterialInput {
  std::string name;
  std::string form = "either";  // MaterialFormName
  int copies = 1;
  bool required = true;
  std::string note;
  std::string sample_sha256, sample_name, sample_type;  // optional, from files::FileStore
};

struct ServiceInput {
  std::string code, name, category;
  int64_t unit_id = 0;
  std::vector<std::string> life_events;
  std::string legal_basis, conditions;
  std::string statutory_days, promised_days;  // as typed; must be 1..365, promised <= statutory
  std::string fee, place, hours, phone;
  bool online = false, proxy = false;
  std::vector<MaterialInput> materials;
  bool demo = false;
};

// Creates a service (kCatalogueEdit on the unit). Fields: code (unique: kInvalidInput on "code"
// when taken), name, unit_id (a window or village window, not retired), statutory_days,
// promised_days, materials[i] ("materials.0.name"). Records "services.service.create".
Result<Service> CreateService(db::Conn& conn, const Deps& deps, const audit::Actor& actor,
                              const auth::Principal* who, const ServiceInput& input);
// Replaces a service's fields and materials (same checks). kNotFound outside the caller's scope.
Result<Service> UpdateService(db::Conn& conn, const Deps& deps, const audit::Actor& actor,
                              const auth::Principal* who, int64_t id, const ServiceInput& input);
// Retires (or restores) a service: retired services keep their cases but take no new ones.
Result<Service> SetServiceRetired(db::Conn& conn, const Deps& deps, const audit::Actor& actor,
                                  const auth::Principal* who, int64_t id, bool retired);
// A service with its materials, retired or not (public: no permission needed).
Result<std::optional<Service>> GetService(db::Conn& conn, int64_t id);
Result<std::optional<Service>> GetServiceByCode(db::Conn& conn, std::string_view code);

struct ServiceQuery {
  std::optional<int64_t> unit_id;  // services of this unit and everything under it
  std::string life_event;          // a LifeEvent key
  std::string text;                // matches name, conditions or legal basis (substring)
  bool include_retired = false;
  bool online_only = false;
  bool proxy_only = false;
  int limit = 200;
};
// Services (without materials) ordered by unit path then code.
Result<std::vector<Service>> ListServices(db::Conn& conn, const ServiceQuery& query);

// ---- cases ----------------------------------------------------------------------------------

struct UploadedFile {
  int64_t material_id = 0;   // 0: an extra file not tied to a listed material
  std::string sha256;        // already stored in files::FileStore
  std::string name;          // original file name (display only)
  std::string content_type;  // sniffed
  int64_t size = 0;
};

struct ApplyInput {
  int64_t service_id = 0;
  std::string service_code;  // instead of service_id (the API takes either)
  // Without one, the caller's usual channel: at the window for a clerk who handles the service,
  // 代办 for other staff (a village cadre), else online.
  std::optional<Channel> channel;
  // Applicant: a person (name + id_card, phone, village_id, address) or an enterprise
  // (enterprise_name + uscc, legal_rep, phone, address).
  std::string applicant_kind = "person";  // "person" | "enterprise"
  std::string name, id_card, phone, address;
  int64_t village_id = 0;
  std::string enterprise_name, uscc, legal_rep;
  std::string description;  // 申请事由
  std::vector<UploadedFile> files;
};

struct CaseFile {
  int64_t id = 0;
  int64_t material_id = 0;
  std::string material_name;
  std::string kind;  // "material" | "result"
  std::string sha256, name, content_type;
  int64_t size = 0;
  int round = 0;  // 0 the application, 1.. each 补正 round
  bool superseded = false;
  int64_t uploaded_at_ms = 0;
};

struct CorrectionItem {
  int64_t material_id = 0;  // 0 for a note not tied to a material
  std::string material_name;
  std::string reason;  // what is missing or wrong
  int round = 0;
  bool resolved = false;
};

struct CaseEvent {
  int64_t id = 0;
  Action action = Action::kNote;
  std::optional<CaseStatus> from_status;
  CaseStatus to_status = CaseStatus::kSubmitted;
  int64_t at_ms = 0;
  std::optional<int64_t> actor_user_id;
  std::string actor_name;  // staff display name, "申请人", or "系统"
  std::string unit_name;   // the unit acting (or the target unit of a transfer)
  std::string note;
  bool public_note = true;  // shown on the tracking page
};

struct Rating {
  int score = 0;
  std::string comment;
  int64_t at_ms = 0;
};

struct FollowUp {
  int64_t id = 0;
  int64_t case_id = 0;
  std::string case_number;
  int score = 0;
  std::optional<int64_t> owner_user_id;
  std::string owner_name;
  int64_t unit_id = 0;
  Date due;
  bool closed = false;
  std::string outcome;  // shown to the applicant once closed
  int64_t created_at_ms = 0;
  std::optional<int64_t> closed_at_ms;
};

struct ServiceCase {
  int64_t id = 0;
  std::string number;
  int64_t service_id = 0;
  std::string service_name;
  int64_t unit_id = 0;  // the unit handling it now
  std::string unit_path;
  std::string unit_name;
  int64_t origin_unit_id = 0;  // where it was applied: the village for 代办, else the window
  std::string origin_path;
  Channel channel = Channel::kOnline;
  CaseStatus status = CaseStatus::kSubmitted;
  std::string applicant_kind;  // "person" | "enterprise"
  std::optional<int64_t> resident_id, enterprise_id, applicant_user_id;
  std::string applicant_name;
  std::string applicant_phone_mask;      // 138****5678
  std::optional<int64_t> agent_user_id;  // the cadre of a 代办, or the clerk of a walk-in
  std::string agent_name;
  std::string description;
  std::string result;  // 办结结果
  int promised_days = 0;
  CaseClock clock;
  std::optional<Date> due;               // nullopt while paused or final
  DueState due_state = DueState::kNone;  // as of the read
  int correction_round = 0;
  int64_t created_at_ms = 0;
  int64_t updated_at_ms = 0;
  std::optional<int64_t> completed_at_ms;
  bool overdue_at_completion = false;
  bool demo = false;
  std::optional<Rating> rating;
  // Filled by GetCase only:
  std::vector<CaseFile> files;
  std::vector<CorrectionItem> corrections;  // every round; the open ones have resolved=false
  std::vector<CaseEvent> events;            // oldest first
  std::optional<FollowUp> followup;
};

// Opens a case (申请) for the service with input.service_id (or, when that is 0, with
// input.service_code). channel kOnline: anyone (who may be null or a citizen); kProxy: who holds
// kCaseApplyForOthers and the applicant's village (village_id) is in their scope, recorded as
// agent; kWindow: who holds kCaseHandle on the service's unit. The service must take the channel
// (online / proxy flags; window always). The applicant is found in the resident/enterprise
// register by ID card / USCC, or created there (材料复用); the phone is required (mobile) for
// tracking and notices. Required materials must each have a file unless channel is kWindow (the
// clerk checked the paper originals). Allocates the case number, starts the clock, records the
// "submit" event and "services.case.create", and notifies the applicant.
Result<ServiceCase> Apply(db::Conn& conn, const Deps& deps, const audit::Actor& actor,
                          const auth::Principal* who, const ApplyInput& input);

struct TransitionInput {
  Action action = Action::kNote;
  std::string note;                         // optional for most; the reason for kReject (required)
  std::vector<CorrectionItem> corrections;  // kRequestCorrection: material_id + reason each
  int64_t target_unit_id = 0;               // kTransfer
  std::string result;                       // kComplete (required)
  std::vector<UploadedFile> files;  // kResubmit: corrected materials; kComplete: result documents
  // Optimistic check: when set, the case must still be in this status (a stale desk button
  // gets kConflict instead of acting twice).
  std::optional<CaseStatus> expect_status;
};

// A staff step on a case: kAccept, kReject, kRequestCorrection, kTransfer, kComplete, kNote need
// kCaseHandle on the case's current unit (kNotFound when the case is outside every scope of
// `who` for kCaseView, kForbidden when visible but not handleable); kResubmit is also allowed to
// the 代办 cadre (scope over the origin). Illegal transitions are kConflict with a message naming
// the current status. Records the event, the audit entry, pauses/resumes the clock, and notifies
// the applicant.
Result<ServiceCase> Transition(db::Conn& conn, const Deps& deps, const audit::Actor& actor,
                               const auth::Principal* who, std::string_view number,
                               const TransitionInput& input);

// The applicant's own steps, authenticated by the case number and the last four digits of the
// phone (or by `who` being the citizen account that applied): re-submit corrected materials
// (kResubmit, with files for every open correction item that names a material) or withdraw
// (kWithdraw). kNotFound when number and digits do not match (the same answer as no such case).
Result<ServiceCase> ApplicantStep(db::Conn& conn, const Deps& deps, const audit::Actor& actor,
                                  const auth::Principal* who, std::string_view number,
                                  std::string_view phone4, const TransitionInput& input);

// The case with files, corrections, events, rating and follow-up, if `who` may view it
// (kCaseView covering its unit or its origin); kNotFound otherwise.
Result<ServiceCase> GetCase(db::Conn& conn, const Deps& deps, const auth::Principal* who,
                            std::string_view number);
// For the public tracking page: the case when number and the phone's last four digits match
// (or `who` is the citizen account that applied), with only public events; kNotFound otherwise.
Result<ServiceCase> TrackCase(db::Conn& conn, const Deps& deps, const auth::Principal* who,
                              std::string_view number, std::string_view phone4);

// 好差评: once per case, after 办结, by the applicant (number + phone4, or the citizen account).
// score 1..5, comment optional (<= 500 chars). A score <= 2 opens a follow-up owned by the clerk
// who completed the case (else none), on the case's unit, due in deps.followup_days working days.
Result<ServiceCase> RateCase(db::Conn& conn, const Deps& deps, const audit::Actor& actor,
                             const auth::Principal* who, std::string_view number,
                             std::string_view phone4, int score, std::string_view comment);

// Closes a follow-up with its outcome (shown to the applicant): kCaseHandle on its unit.
Result<FollowUp> CloseFollowUp(db::Conn& conn, const Deps& deps, const audit::Actor& actor,
                               const auth::Principal* who, int64_t followup_id,
                               std::string_view outcome);

struct FollowUpQuery {
  bool open_only = true;
  int limit = 100;
};
// Follow-ups on units `who` may view cases of, open first then by due date.
Result<std::vector<FollowUp>> ListFollowUps(db::Conn& conn, const Deps& deps,
                                            const auth::Principal& who, const FollowUpQuery& query);

struct CaseQuery {
  std::vector<CaseStatus> statuses;       // empty: all
  std::optional<int64_t> unit_id;         // cases handled by this unit (and its subtree)
  std::optional<int64_t> origin_unit_id;  // applied at/under this unit (代办 desk)
  std::optional<Channel> channel;
  std::string text;  // a case number, an applicant name (substring) or a mobile number (exact)
  std::optional<DueState> due_state;  // on_time / due_soon / overdue (open cases)
  std::optional<Date> from, to;       // application date range (Shanghai), inclusive
  std::optional<int64_t> service_id;
  // Keyset paging, ordered by (due date, id) for open cases; by id descending when order_recent.
  bool order_recent = false;
  std::optional<std::string> after;  // an opaque cursor from CasePage::next
  int limit = 50;                    // 1..500 (exports: up to 50,000 via ListAllCases)
};
struct CasePage {
  std::vector<ServiceCase> cases;  // without files/events
  std::optional<std::string> next;
};
// Cases `who` may view (kCaseView over the unit or the origin), filtered. kForbidden when `who`
// holds kCaseView nowhere.
Result<CasePage> ListCases(db::Conn& conn, const Deps& deps, const auth::Principal& who,
                           const CaseQuery& query);
// The statement ListCases runs (exposed for the query-plan test). In deadline order over open
// statuses and scopes of single units it is a UNION ALL of index ranges, one per scope column
// (unit, origin), status and side of the cursor, each at most limit + 1 rows: `merge` says the
// rows still need sorting by (due key, id) and de-duplicating. Otherwise one ordered query. An
// empty `sql` means nothing can match. kInvalidInput ("after") for a malformed cursor.
struct CaseListStatement {
  std::string sql;
  db::Params params;
  bool merge = false;
};
Result<CaseListStatement> CaseListSql(db::Conn& conn, const Deps& deps, const auth::Principal& who,
                                      const CaseQuery& query);
// Every matching case (for the Excel/CSV ledger), at most `max` (kInvalidInput beyond).
Result<std::vector<ServiceCase>> ListAllCases(db::Conn& conn, const Deps& deps,
                                              const auth::Principal& who, CaseQuery query,
                                              int max = 50000);

// The leader's overview: per unit that handles cases under `who`'s scope.
struct UnitStats {
  int64_t unit_id = 0;
  std::string unit_name;
  std::string unit_path;
  int64_t open = 0, due_soon = 0, overdue = 0, correcting = 0;
  int64_t completed = 0, completed_overdue = 0;  // in the period
  int64_t ratings = 0, bad_ratings = 0;
  double average_rating = 0;
  int64_t open_followups = 0;
};
struct Overview {
  std::vector<UnitStats> units;  // units with any case, by path
  UnitStats total;
};
// Counts per unit for cases `who` may view; "completed"/"ratings" count within [from, to].
Result<Overview> CaseOverview(db::Conn& conn, const Deps& deps, const auth::Principal& who,
                              Date from, Date to);

// How many stored deadlines a calendar edit moved.
struct DeadlinesMoved {
  int64_t cases = 0;      // running cases (services_cases.due_day)
  int64_t followups = 0;  // open 回访/整改 (services_followups.due_day)
};
// After the holiday calendar changed: recomputes the stored deadline (due_day) of every case
// whose clock runs (submitted, accepted) from its start day, promised days and finished pauses,
// and of every open follow-up from the day it opened and the working days it was given (as
// RateCase computes it; deps.followup_days for follow-ups opened before that was stored), on
// `deps.calendar`, which must already be the new calendar. Cases waiting for 补正 have no stored
// deadline; final cases and closed follow-ups keep theirs. Fails only with the database's error.
// Returns how many deadlines moved.
Result<DeadlinesMoved> RefreshDeadlines(db::Conn& conn, const Deps& deps);

// In-app notices and SMS text for a step (used by Apply/Transition; exposed for tests).
std::string NoticeText(const ServiceCase& c, Action action);

}  // namespace zhenwu::services
