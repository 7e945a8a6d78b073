#pragma once
// The register's staff pages: /admin/people (list and search in the user's scope),
// /admin/people/new, /admin/people/{id} (masked view and edit), POST /admin/people/{id}/reveal
// (the full numbers, audited). Read needs kPeopleView, write kPeopleEdit, reveal kPeopleReveal,
// each on the resident's village; a record outside every grant answers 404.

#include <memory>

#include "people/keys.hpp"
#include "web/module.hpp"

namespace zhenwu::people {

void RegisterRoutes(web::ModuleContext& ctx, std::shared_ptr<const Keys> keys);

}  // namespace zhenwu::people
