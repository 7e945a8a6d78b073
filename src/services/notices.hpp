#pragma once
// The applicant's notices for the steps of a case: in-app (when they applied with an account)
// and SMS to the phone on the case, queued in the caller's transaction through the notify
// module's outbox.

#include <string_view>

#include "core/result.hpp"
#include "db/db.hpp"
#include "services/service.hpp"

namespace zhenwu::services {

Status QueueApplicantNotice(db::Conn& conn, const Deps& deps, const ServiceCase& c, Action action,
                            std::string_view text);

}  // namespace zhenwu::services
