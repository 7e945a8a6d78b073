#pragma once
// The Pingzheng demo's people register: placeholder residents (示例居民01 …) spread over the demo
// villages and a few placeholder enterprises (示例…), every record marked demo. ID-card numbers
// and credit codes are made up but carry valid check characters (so they pass the same checks
// as real ones); phones are 1380000xxxx.

#include <string>
#include <vector>

#include "core/clock.hpp"
#include "core/result.hpp"
#include "db/db.hpp"
#include "people/keys.hpp"

namespace zhenwu::people {

inline constexpr int kDemoResidents = 38;  // two in each of the 19 demo villages
inline constexpr int kDemoEnterprises = 6;

// The demo's made-up identifiers, the same on every run: resident n (1-based) and enterprise n.
std::string DemoIdCard(int n);
std::string DemoPhone(int n);
std::string DemoUscc(int n);

// Creates the demo residents and enterprises inside the caller's write transaction (audited as
// "system"), skipping every one already registered, so running it again adds nothing. Needs the
// demo tree (org::LoadDemoTree); fails with kNotFound when a demo village is missing, or with the
// database's error.
Status LoadDemoPeople(db::Conn& conn, const Clock& clock, const Keys& keys);

}  // namespace zhenwu::people
