#pragma once
// The applicant's notices for the steps of a case: in-app (when they applied with an account)
// and SMS to the phone on the case, queued in the caller's transaction through the notify
// module's outbox.

#include <string_view>

#include "core/result.hpp"
#include "db/db.hpp"
#include "services/service.hpp"

namespace zhenwu::services {

// Queues `text` for the applicant of case `c` (c.id, c.number, c.applicant_user_id are used):
// to their account's inbox, and by SMS to the phone stored on the case (read and decrypted here;
// a phone that no longer decrypts only loses the SMS).
Status QueueApplicantNotice(db::Conn& conn, const Deps& deps, const ServiceCase& c, Action action,
                            std::string_view text);
// The same for a case whose applicant's mobile number (normalised) is at hand, as when it was
// just created: nothing is read back.
Status QueueApplicantNoticeTo(db::Conn& conn, const Deps& deps, const ServiceCase& c,
                              std::string_view phone, std::string_view text);

}  // namespace zhenwu::services
