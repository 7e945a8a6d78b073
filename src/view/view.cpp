#include "view/view.hpp"

#include <spdlog/spdlog.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <toml.hpp>

#include "view/embedded.hpp"

namespace zhenwu::view {

namespace mustache = kainjow::mustache;

namespace {

constexpr std::string_view kTemplateExt = ".mustache";
// The catalogue: src/view/strings/zh-CN.toml plus each module's src/<module>/strings/zh-CN.toml,
// merged into one namespace (a key defined twice stops the start).
constexpr std::string_view kCatalogueSuffix = "/strings/zh-CN.toml";

// "src/view/templates/layout.mustache" -> "layout"; "src/portal/templates/home.mustache" ->
// "portal/home". Returns "" for paths that are not templates.
std::string TemplateName(std::string_view path) {
  if (path.rfind("src/", 0) != 0 || path.size() <= kTemplateExt.size() ||
      path.substr(path.size() - kTemplateExt.size()) != kTemplateExt) {
    return {};
  }
  path.remove_prefix(4);
  path.remove_suffix(kTemplateExt.size());
  const auto slash = path.find('/');
  if (slash == std::string_view::npos) return {};
  const std::string_view module = path.substr(0, slash);
  std::string_view rest = path.substr(slash + 1);
  if (rest.rfind("templates/", 0) != 0) return {};
  rest.remove_prefix(10);
  if (module == "view") return std::string(rest);
  return std::string(module) + "/" + std::string(rest);
}

// Compiled templates are not safe to render from two threads at once, so each template keeps a
// small pool of compiled copies: a render borrows one and gives it back.
class CompiledPool {
 public:
  std::unique_ptr<mustache::mustache> Take(const std::string& key, const std::string& source) {
    {
      std::lock_guard lock(mu_);
      auto& free = free_[key];
      if (!free.empty()) {
        auto t = std::move(free.back());
        free.pop_back();
        return t;
      }
    }
    return std::make_unique<mustache::mustache>(source);
  }
  void Give(const std::string& key, std::unique_ptr<mustache::mustache> t) {
    std::lock_guard lock(mu_);
    free_[key].push_back(std::move(t));
  }

 private:
  std::mutex mu_;
  std::map<std::string, std::vector<std::unique_ptr<mustache::mustache>>> free_;
};

CompiledPool& Pool() {
  static CompiledPool pool;
  return pool;
}

std::atomic<uint64_t> next_view_id{1};

// Percent-encodes everything but unreserved characters (for a path carried in a query string).
std::string UrlEncode(std::string_view in) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(in.size() * 3);
  for (unsigned char c : in) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || c == '/') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

Status FlattenToml(const toml::value& table, const std::string& prefix,
                   std::map<std::string, std::string, std::less<>>& flat, Data& out,
                   const std::string& source) {
  for (const auto& [name, value] : table.as_table()) {
    const std::string key = prefix.empty() ? name : prefix + "." + name;
    if (value.is_table()) {
      Data child{Data::type::object};
      if (auto s = FlattenToml(value, key, flat, child, source); !s) return s;
      out.set(name, child);
    } else if (value.is_string()) {
      flat[key] = value.as_string().str;
      out.set(name, value.as_string().str);
    } else {
      return Error::Invalid(key, source + ": " + key + " 应为字符串");
    }
  }
  return {};
}

}  // namespace

Result<Strings> Strings::Parse(std::string_view toml_text, const std::string& source_name) {
  Strings strings;
  strings.data_ = Data{Data::type::object};
  try {
    std::istringstream in{std::string(toml_text)};
    const toml::value root = toml::parse(in, source_name);
    if (auto s = FlattenToml(root, "", strings.flat_, strings.data_, source_name); !s) {
      return std::move(s).error();
    }
  } catch (const std::exception& e) {
    return Error::Invalid("strings", source_name + ": " + e.what());
  }
  return strings;
}

const std::string& Strings::Get(std::string_view key) const {
  if (auto it = flat_.find(key); it != flat_.end()) return it->second;
  static std::mutex mu;
  static std::map<std::string, std::string, std::less<>> missing;
  std::lock_guard lock(mu);
  auto [it, inserted] = missing.emplace(std::string(key), std::string(key));
  if (inserted) spdlog::warn("missing string in zh-CN catalogue: {}", key);
  return it->second;
}

Result<std::unique_ptr<View>> View::Create(Site site, const std::string& override_dir) {
  std::unique_ptr<View> view(new View());
  view->site_ = std::move(site);
  view->id_ = next_view_id.fetch_add(1);
  std::string catalogue;
  for (const auto& file : embedded::Files()) {
    if (file.path.size() > kCatalogueSuffix.size() &&
        file.path.substr(file.path.size() - kCatalogueSuffix.size()) == kCatalogueSuffix) {
      catalogue += "\n";
      catalogue += file.data;
    }
    if (auto name = TemplateName(file.path); !name.empty()) {
      view->sources_[name] = std::string(file.data);
    }
  }
  auto strings = Strings::Parse(catalogue, "zh-CN catalogue");
  if (!strings) return std::move(strings).error();
  view->strings_ = std::move(strings).value();

  if (!override_dir.empty()) {
    namespace fs = std::filesystem;
    std::error_code ec;
    if (!fs::is_directory(override_dir, ec)) {
      return Error::Invalid("site.templates_dir", "模板目录不存在：" + override_dir);
    }
    for (const auto& entry : fs::recursive_directory_iterator(override_dir, ec)) {
      if (!entry.is_regular_file() || entry.path().extension() != kTemplateExt) continue;
      std::string name =
          fs::relative(entry.path(), override_dir).replace_extension().generic_string();
      std::ifstream in(entry.path(), std::ios::binary);
      std::ostringstream text;
      text << in.rdbuf();
      if (!view->sources_.contains(name)) {
        spdlog::warn("template override {} replaces no built-in template", entry.path().string());
      }
      view->sources_[name] = text.str();
      spdlog::info("template {} overridden by {}", name, entry.path().string());
    }
  }
  for (const auto& [name, source] : view->sources_) {
    mustache::mustache compiled(source);
    if (!compiled.is_valid()) {
      return Error::Invalid("templates",
                            "模板 " + name + " 有语法错误：" + compiled.error_message());
    }
  }
  view->AddNav({"home", view->strings_.Get("nav.home"), "/", 0});
  return view;
}

View::~View() = default;

bool View::HasTemplate(std::string_view name) const {
  return sources_.find(name) != sources_.end();
}

void View::AddAdminNav(NavItem item) {
  admin_nav_.push_back(std::move(item));
  std::stable_sort(admin_nav_.begin(), admin_nav_.end(),
                   [](const NavItem& a, const NavItem& b) { return a.order < b.order; });
}

void View::AddNav(NavItem item) {
  nav_.push_back(std::move(item));
  std::stable_sort(nav_.begin(), nav_.end(),
                   [](const NavItem& a, const NavItem& b) { return a.order < b.order; });
}

std::string View::Render(std::string_view name, Data data) const {
  auto it = sources_.find(name);
  if (it == sources_.end()) throw std::logic_error("unknown template: " + std::string(name));
  Data globals{Data::type::object};
  globals.set("t", strings_.data());
  Data site{Data::type::object};
  site.set("town_name", site_.town_name);
  site.set("address", site_.address);
  site.set("phone", site_.phone);
  site.set("office_hours", site_.office_hours);
  site.set("demo", site_.demo ? Data::type::bool_true : Data::type::bool_false);
  globals.set("site", site);

  const std::string key = std::to_string(id_) + ":" + it->first;
  auto compiled = Pool().Take(key, it->second);
  mustache::context<std::string> ctx(&globals);
  ctx.push(&data);
  std::string out = compiled->render(ctx);
  Pool().Give(key, std::move(compiled));
  return out;
}

std::string View::Page(const PageMeta& meta, std::string_view name, Data data) const {
  Data layout{Data::type::object};
  layout.set("content", Render(name, std::move(data)));
  layout.set("title", meta.title);
  layout.set("description", meta.description.empty()
                                ? site_.town_name + strings_.Get("home.welcome_suffix")
                                : meta.description);
  layout.set("large_text", meta.large_text ? Data::type::bool_true : Data::type::bool_false);
  layout.set("user_name", meta.user_name);
  layout.set("signed_in", meta.user_name.empty() ? Data::type::bool_false : Data::type::bool_true);
  layout.set("csrf", meta.csrf);
  if (!admin_nav_.empty()) {
    Data admin{Data::type::list};
    for (const auto& item : admin_nav_) {
      Data entry{Data::type::object};
      entry.set("label", item.label);
      entry.set("path", item.path);
      entry.set("current",
                item.key == meta.nav_key ? Data::type::bool_true : Data::type::bool_false);
      admin.push_back(entry);
    }
    layout.set("admin_nav", admin);
  }
  layout.set("back", UrlEncode(meta.path.empty() ? "/" : meta.path));
  Data nav{Data::type::list};
  for (const auto& item : nav_) {
    Data entry{Data::type::object};
    entry.set("label", item.label);
    entry.set("path", item.path);
    entry.set("current", item.key == meta.nav_key ? Data::type::bool_true : Data::type::bool_false);
    nav.push_back(entry);
  }
  layout.set("nav", nav);
  return Render("layout", std::move(layout));
}

}  // namespace zhenwu::view
