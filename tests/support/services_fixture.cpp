#include "support/services_fixture.hpp"

namespace zhenwu::testing {

void ServicesHttpTest::StartServer(std::function<void(Config&)> customize) {
  if (GetParam() == Backend::kPostgres && !TestPostgresUrl()) {
    GTEST_SKIP() << "ZHENWU_TEST_PG is not set (./test.sh sets it)";
  }
  server_.reset();
  server_ = std::make_unique<AppServer>(
      AppServerOptions{.backend = GetParam(), .customize = std::move(customize)});
  ASSERT_TRUE(server_->ok()) << server_->error();
  auto tree = CreateSmallTree(server_->app().db(), server_->clock());
  ASSERT_TRUE(tree) << tree.error().message;
  tree_ = *tree;
}

auth::Principal ServicesHttpTest::AddStaff(const std::string& login,
                                           const std::string& display_name, auth::Role role,
                                           auth::Scope scope, int64_t unit,
                                           const std::string& unit_path) {
  auto id = CreateStaffUser(server_->app().db(), server_->clock(),
                            {.login = login,
                             .display_name = display_name,
                             .unit_id = unit,
                             .grants = {{role, scope, unit}}});
  EXPECT_TRUE(id) << login << ": " << id.error().message;
  auth::Principal p;
  p.user_id = id ? *id : 0;
  p.login = login;
  p.display_name = display_name;
  p.unit_id = unit;
  p.grants.push_back({role, scope, unit, unit_path});
  return p;
}

HttpClient ServicesHttpTest::SignedIn(const std::string& login) {
  HttpClient client = server_->Client();
  EXPECT_TRUE(LoginAs(client, login, kTestPassword)) << login;
  return client;
}

}  // namespace zhenwu::testing
