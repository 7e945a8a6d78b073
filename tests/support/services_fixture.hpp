#pragma once
// The common ground of the 政务服务 HTTP tests, on the database of the test's parameter: the
// whole app on a real server, the small org tree, staff accounts, and writes through the
// module's service layer (for the steps a test does not click through).
//
//   class ServicesDeskTest : public ServicesHttpTest {
//    protected:
//     void SetUp() override {
//       StartServer();
//       if (IsSkipped() || HasFatalFailure()) return;
//       clerk_ = AddStaff("clerk1", "王窗口", auth::Role::kClerk, auth::Scope::kUnit, tree_.window,
//                      tree_.window_path);
//     }
//   };

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <string>

#include "audit/audit.hpp"
#include "auth/principal.hpp"
#include "calendar/store.hpp"
#include "services/service.hpp"
#include "support/app_server.hpp"
#include "support/auth_fixture.hpp"

namespace zhenwu::testing {

class ServicesHttpTest : public ::testing::TestWithParam<Backend> {
 protected:
  // Starts the server on GetParam()'s database, with `customize` applied to its configuration,
  // and creates the small org tree. Skips the test on PostgreSQL when ZHENWU_TEST_PG is not set;
  // the caller returns when IsSkipped() or HasFatalFailure().
  void StartServer(std::function<void(Config&)> customize = {});

  // Creates a staff account (password kTestPassword) with one grant and returns the principal
  // it acts as.
  auth::Principal AddStaff(const std::string& login, const std::string& display_name,
                           auth::Role role, auth::Scope scope, int64_t unit,
                           const std::string& unit_path);

  // A client signed in as `login` through the sign-in form.
  HttpClient SignedIn(const std::string& login);

  // Runs `fn` in a write with the module's dependencies: the stored calendar, 即将超期 two
  // working days ahead, five working days for a follow-up.
  template <class T>
  Result<T> WithDeps(std::function<Result<T>(db::Conn&, const services::Deps&)> fn) {
    auto keys = server_->app().people_keys();
    const Clock& clock = server_->clock();
    return server_->app().db().WriteSync<T>([&](db::Conn& c) -> Result<T> {
      auto cal = calendar::Load(c);
      if (!cal) return std::move(cal).error();
      services::Deps deps{clock, *keys, *cal, 2, 5};
      return fn(c, deps);
    });
  }

  static audit::Actor Actor() { return audit::Actor{std::nullopt, "test", "", ""}; }

  std::unique_ptr<AppServer> server_;
  SmallTree tree_;
};

}  // namespace zhenwu::testing
