#include "people/module.hpp"

#include <stdexcept>

#include "people/handlers.hpp"
#include "people/keys.hpp"

namespace zhenwu::people {

namespace {

void Register(web::ModuleContext& ctx) {
  // App::Create opens the keys (and fails cleanly) before any module registers.
  if (!ctx.people_keys) throw std::logic_error("people: ModuleContext without people_keys");
  RegisterRoutes(ctx, ctx.people_keys);
}

}  // namespace

web::Module MakeModule() { return {"people", Register}; }

}  // namespace zhenwu::people
