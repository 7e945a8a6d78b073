#include "services/notices.hpp"

#include "notify/notify.hpp"
#include "people/keys.hpp"

namespace zhenwu::services {

Status QueueApplicantNoticeTo(db::Conn& conn, const Deps& deps, const ServiceCase& c,
                              std::string_view phone, std::string_view text) {
  notify::Message m;
  m.user_id = c.applicant_user_id;
  m.phone = std::string(phone);
  if (!m.user_id && m.phone.empty()) return {};
  m.title = "镇务通";
  m.text = std::string(text);
  m.link = "/track?number=" + c.number;
  m.ref = "services_case:" + c.number;
  return notify::Enqueue(conn, deps.clock, deps.keys, m);
}

Status QueueApplicantNotice(db::Conn& conn, const Deps& deps, const ServiceCase& c, Action action,
                            std::string_view text) {
  (void)action;
  auto row = conn.QueryOne("SELECT phone_enc FROM services_cases WHERE id = $1", {c.id});
  if (!row) return std::move(row).error();
  std::string phone;
  if (*row) {
    // A phone that no longer decrypts (keys replaced) only loses the SMS, not the step.
    auto decrypted = deps.keys.Decrypt((**row).Text(0));
    if (decrypted) phone = *decrypted;
  }
  return QueueApplicantNoticeTo(conn, deps, c, phone, text);
}

}  // namespace zhenwu::services
