#pragma once
// Pages: mustache templates compiled into the binary (src/<module>/templates/*.mustache) and
// overridable by files in a configured folder, so a town adapts its pages (因地制宜) without
// rebuilding. Every {{value}} is HTML-escaped; {{{raw}}} is reserved for HTML we built ourselves.
// User-facing words come from one zh-CN catalogue (src/view/strings/zh-CN.toml and each module's
// src/<module>/strings/zh-CN.toml, one namespace), available to every template as
// {{t.section.key}}.

#include <kainjow/mustache.hpp>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"

namespace zhenwu::view {

using Data = kainjow::mustache::data;

// Site-wide facts every page shows.
struct Site {
  std::string town_name;
  std::string address;
  std::string phone;
  std::string office_hours;
  bool demo = false;  // the data shown is demonstration data: say so on every page
};

// One entry of the main navigation; modules add theirs when they register.
struct NavItem {
  std::string key;    // "home", "services", …
  std::string label;  // from the catalogue
  std::string path;   // "/"
  int order = 0;
};

// What the layout needs to know about the page being rendered.
struct PageMeta {
  std::string title;        // page title, before " - 平政镇"
  std::string nav_key;      // highlights the navigation entry
  std::string path;         // current path (for the large-text link's way back)
  bool large_text = false;  // 适老化 large-text mode is on
  std::string description;  // <meta name="description">
  std::string user_name;    // the signed-in person's name; empty for anonymous visitors
  std::string csrf;         // the CSRF token forms of this page must carry as _csrf
};

class Strings {
 public:
  // Parses the catalogue (a TOML file of tables of strings). Fails naming the bad entry.
  static Result<Strings> Parse(std::string_view toml_text, const std::string& source_name);
  // The string for "section.key"; a missing key returns the key itself (and is logged once).
  const std::string& Get(std::string_view key) const;
  // The catalogue as nested mustache data, for {{t.section.key}}.
  const Data& data() const { return data_; }

 private:
  std::map<std::string, std::string, std::less<>> flat_;
  Data data_;
};

class View {
 public:
  // Loads every built-in template and the catalogue, then the overrides in `override_dir`
  // (same relative names, e.g. layout.mustache, portal/home.mustache). Fails naming the file of
  // the first template that does not parse.
  static Result<std::unique_ptr<View>> Create(Site site, const std::string& override_dir);
  ~View();

  // Renders template `name` ("layout", "error", "portal/home") with `data` plus {{t.…}} and
  // {{site.…}}. Throws std::logic_error for an unknown name (a wiring bug).
  std::string Render(std::string_view name, Data data) const;
  // Renders `name` and places it in the layout with the navigation and the page's meta.
  std::string Page(const PageMeta& meta, std::string_view name, Data data) const;

  void AddNav(NavItem item);
  // Entries of the staff console (/admin); modules add theirs when they register.
  void AddAdminNav(NavItem item);
  const std::vector<NavItem>& admin_nav() const { return admin_nav_; }
  const Strings& strings() const { return strings_; }
  const Site& site() const { return site_; }
  bool HasTemplate(std::string_view name) const;

 private:
  View() = default;
  Site site_;
  Strings strings_;
  std::map<std::string, std::string, std::less<>> sources_;
  std::vector<NavItem> nav_;
  std::vector<NavItem> admin_nav_;
  uint64_t id_ = 0;  // tells thread-local compiled copies of different View objects apart
};

}  // namespace zhenwu::view
