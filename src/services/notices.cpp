#include "services/notices.hpp"

#include "notify/notify.hpp"
#include "people/keys.hpp"

namespace zhenwu::services {

Status QueueApplicantNotice(db::Conn& conn, const Deps& deps, const ServiceCase& c, Action action,
                            std::string_view text) {
  (void)action;
  auto row = conn.QueryOne("SELECT phone_enc FROM services_cases WHERE id = $1", {c.id});
  if (!row) return std::move(row).error();
  notify::Message m;
  m.user_id = c.applicant_user_id;
  if (*row) {
    // A phone that no longer decrypts (keys replaced) only loses the SMS, not the step.
    auto phone = deps.keys.Decrypt((**row).Text(0));
    if (phone) m.phone = *phone;
  }
  if (!m.user_id && m.phone.empty()) return {};
  m.title = "镇务通";
  m.text = std::string(text);
  m.link = "/track?number=" + c.number;
  m.ref = "services_case:" + c.number;
  return notify::Enqueue(conn, deps.clock, deps.keys, m);
}

}  // namespace zhenwu::services
