#include "people/module.hpp"

#include <stdexcept>

#include "people/handlers.hpp"
#include "people/keys.hpp"

namespace zhenwu::people {

namespace {

void Register(web::ModuleContext& ctx) {
  // App::Create should call OpenKeys itself (to fail with a Result) and pass the keys on; until
  // it does, a failure here stops the start with the same message.
  auto keys = OpenKeys(ctx.config.data_dir, ctx.db);
  if (!keys) throw std::runtime_error(keys.error().message);
  RegisterRoutes(ctx, std::move(keys).value());
}

}  // namespace

web::Module MakeModule() { return {"people", Register}; }

}  // namespace zhenwu::people
