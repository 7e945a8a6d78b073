// web::RefusePage, the one answer every module gives a refused page request: the anonymous go
// to the login page with the way back, everyone else gets the error page for the code.

#include "web/page.hpp"

#include <gtest/gtest.h>

namespace zhenwu::web {
namespace {

using http::bhttp::status;

view::Site DemoSite() {
  return view::Site{"平政镇", "北流市平政镇", "0775-0000000", "周一至周五", true};
}

http::Request PageRequest(std::string_view target) {
  http::Request req;
  req.raw.method(http::bhttp::verb::get);
  req.raw.target(target);
  req.request_id = "req-42";
  return req;
}

TEST(RefusePage, TheAnonymousAreSentToLoginWithTheWholeTargetEncoded) {
  auto view = view::View::Create(DemoSite(), "");
  ASSERT_TRUE(view.ok()) << view.error().message;
  const http::Request req = PageRequest("/desk/cases?status=accepted&q=黄 二");
  const http::Response res =
      RefusePage(req, **view, Error{ErrorCode::kUnauthenticated, "请先登录", {}});
  EXPECT_EQ(res.result(), status::see_other);
  EXPECT_EQ(res[http::bhttp::field::location],
            "/login?next=%2Fdesk%2Fcases%3Fstatus%3Daccepted%26q%3D%E9%BB%84%20%E4%BA%8C");
  const http::Response direct = LoginRedirect(req);
  EXPECT_EQ(direct.result(), status::see_other);
  EXPECT_EQ(direct[http::bhttp::field::location], res[http::bhttp::field::location]);
}

TEST(RefusePage, OtherCodesGetTheErrorPageOfTheirStatus) {
  auto view = view::View::Create(DemoSite(), "");
  ASSERT_TRUE(view.ok()) << view.error().message;
  const http::Request req = PageRequest("/admin/calendar");
  for (auto [code, expected] : {std::pair{ErrorCode::kForbidden, status::forbidden},
                                std::pair{ErrorCode::kNotFound, status::not_found},
                                std::pair{ErrorCode::kConflict, status::conflict},
                                std::pair{ErrorCode::kInternal, status::internal_server_error}}) {
    const http::Response res = RefusePage(req, **view, Error{code, "not shown", {}});
    EXPECT_EQ(res.result(), expected);
    EXPECT_EQ(res[http::bhttp::field::location], "");
    EXPECT_EQ(res.body(), ErrorPage(req, **view, expected).body());
    EXPECT_EQ(res.body().find("not shown"), std::string::npos);
  }
}

}  // namespace
}  // namespace zhenwu::web
