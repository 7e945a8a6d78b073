#include "app/cli.hpp"

#include <spdlog/async.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <filesystem>
#include <iostream>
#include <optional>

#include <termios.h>
#include <unistd.h>

#include "app/app.hpp"
#include "app/backup.hpp"
#include "audit/audit.hpp"
#include "auth/service.hpp"
#include "calendar/store.hpp"
#include "core/config.hpp"
#include "db/backup.hpp"
#include "org/demo.hpp"
#include "org/service.hpp"
#include "org/store.hpp"
#include "people/demo.hpp"
#include "people/keys.hpp"
#include "services/demo.hpp"

namespace zhenwu::app {

namespace {

constexpr const char* kVersion = "0.1.0";

// Flags given on the command line, by key, as text; applied last.
struct FlagValues {
  std::string config_path;
  std::map<std::string, std::string> values;
};

void AddConfigFlags(CLI::App& cmd, FlagValues& flags, bool all_keys) {
  cmd.add_option("-c,--config", flags.config_path,
                 "configuration file (default: ./zhenwu.toml when present; env ZHENWU_CONFIG)");
  for (const auto& key : ConfigKeys()) {
    if (!all_keys && key.key != "database.url" && key.key != "site.data_dir" &&
        key.key != "log.level") {
      continue;
    }
    const std::string help = key.help + "  [" + key.key + ", " + key.env + "]";
    if (key.member.index() == 2) {
      // Booleans take an explicit value (--access-log=false) so a flag can also turn one off.
      cmd.add_option(key.flag, flags.values[key.key], help)->expected(0, 1)->default_str("true");
    } else {
      cmd.add_option(key.flag, flags.values[key.key], help);
    }
  }
}

// defaults < file < environment < flags.
Result<Config> LoadConfig(const FlagValues& flags, const CLI::App& cmd) {
  Config config;
  const auto env = ProcessEnvironment();
  std::string path = flags.config_path;
  if (path.empty()) {
    if (auto it = env.find("ZHENWU_CONFIG"); it != env.end()) path = it->second;
  }
  if (path.empty() && std::filesystem::exists("zhenwu.toml")) path = "zhenwu.toml";
  if (!path.empty()) {
    if (auto s = ApplyConfigFile(path, config); !s) return std::move(s).error();
  }
  if (auto s = ApplyEnvironment(env, config); !s) return std::move(s).error();
  for (const auto& key : ConfigKeys()) {
    auto opt = cmd.get_option_no_throw(key.flag);
    if (opt == nullptr || opt->count() == 0) continue;
    std::string text = flags.values.at(key.key);
    if (text.empty() && key.member.index() == 2) text = "true";
    if (auto s = SetConfigValue(key, text, "参数 " + key.flag, config); !s) {
      return std::move(s).error();
    }
  }
  if (auto s = ValidateConfig(config); !s) return std::move(s).error();
  return config;
}

void SetUpLogging(const Config& config) {
  spdlog::set_level(spdlog::level::from_str(config.log_level));
  spdlog::set_default_logger(spdlog::stderr_logger_mt("zhenwu"));
  spdlog::set_level(spdlog::level::from_str(config.log_level));
  if (!config.access_log) return;
  // The access log never blocks an IO thread: a full queue drops the oldest lines.
  spdlog::init_thread_pool(65536, 1);
  spdlog::sink_ptr sink;
  if (config.access_log_file.empty()) {
    sink = std::make_shared<spdlog::sinks::stdout_sink_mt>();
  } else {
    sink = std::make_shared<spdlog::sinks::basic_file_sink_mt>(config.access_log_file);
  }
  auto access = std::make_shared<spdlog::async_logger>(
      "access", sink, spdlog::thread_pool(), spdlog::async_overflow_policy::overrun_oldest);
  access->set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %v");
  spdlog::register_logger(access);
}

int Fail(const std::string& what, const Error& error) {
  std::cerr << "zhenwu: " << what << "：" << error.message << "\n";
  return 1;
}

int Serve(const Config& config) {
  SetUpLogging(config);
  static SystemClock clock;
  auto app = App::Create(config, clock);
  if (!app) return Fail("启动失败", app.error());
  uint16_t port = 0;
  try {
    port = (*app)->server().Listen();
  } catch (const std::exception& e) {
    std::cerr << "zhenwu: 无法监听 " << config.listen << "：" << e.what() << "\n";
    return 1;
  }
  const std::string host = config.listen.substr(0, config.listen.rfind(':'));
  std::cout << "listening on http://" << host << ":" << port << std::endl;
  spdlog::info("{} serving on {}:{} with {}", config.town_name, host, port,
               config.db.rfind("sqlite:", 0) == 0 ? config.db : "PostgreSQL");
  (*app)->StartBackgroundJobs();
  (*app)->server().Run();
  app->reset();
  spdlog::info("stopped cleanly");
  spdlog::shutdown();
  return 0;
}

std::string SqlitePath(const Config& config) {
  return config.db.rfind("sqlite:", 0) == 0 ? config.db.substr(7) : std::string();
}

int Backup(const Config& config, const std::string& target) {
  spdlog::set_level(spdlog::level::from_str(config.log_level));
  auto report = BackupSite(config, target);
  if (!report) return Fail("备份失败", report.error());
  std::cout << "已备份数据库到 " << target << "\n"
            << "文件与密钥在 " << BackupDataFolder(target) << "（本次新复制 "
            << report->files_copied << " 个文件" << (report->key_copied ? "，含 people.key" : "")
            << "）\n";
  return 0;
}

int Restore(const Config& config, const std::string& source) {
  auto report = RestoreSite(config, source);
  if (!report) return Fail("恢复失败", report.error());
  std::cout << "已从 " << source << " 恢复到 " << SqlitePath(config) << "（补回 "
            << report->files_copied << " 个文件"
            << (report->key_restored ? "，恢复 people.key" : "") << "）\n";
  if (!report->key_replaced.empty()) {
    std::cout << "原密钥文件与备份不同，已移到 " << report->key_replaced << "\n";
  }
  return 0;
}

// What `zhenwu demo` and ./run.sh print: the accounts auth::CreateDemoAccounts makes.
std::string DemoAccountsText() {
  return "  admin    系统管理员  玉林市及以下全部\n"
         "  leader   镇领导      平政镇及以下\n"
         "  clerk    窗口工作人员 平政镇民政办\n"
         "  cadre1   村干部      示例一村\n"
         "  cadre2   村干部      示例二村\n"
         "  editor   信息员      平政镇\n"
         "  auditor  审计员      平政镇\n";
}

std::string FormatToken(const auth::TokenInfo& t) {
  std::string line = std::to_string(t.id) + "  " + t.login + "  " + t.prefix + "…  创建于 " +
                     FormatShanghaiMinute(t.created_ms);
  if (!t.label.empty()) line += "  「" + t.label + "」";
  if (t.expires_ms) line += "  到期 " + FormatShanghaiMinute(*t.expires_ms);
  if (t.revoked_ms) line += "  已吊销 " + FormatShanghaiMinute(*t.revoked_ms);
  return line;
}

// Runs `body` with the configured database open and migrated.
int WithDatabase(const Config& config, const std::string& what,
                 const std::function<int(db::Database&, const Clock&)>& body) {
  spdlog::set_level(spdlog::level::from_str(config.log_level));
  static SystemClock clock;
  BlockingPool pool(2);
  auto db = OpenAndMigrate(config, pool, clock);
  if (!db) return Fail(what, db.error());
  const int code = body(**db, clock);
  (*db)->Close();
  return code;
}

// Reads a password without echo from the terminal, or a line from standard input otherwise.
std::string ReadPassword(const std::string& prompt) {
  const bool tty = ::isatty(STDIN_FILENO) != 0;
  termios old_attr{};
  if (tty) {
    std::cerr << prompt << std::flush;
    ::tcgetattr(STDIN_FILENO, &old_attr);
    termios quiet = old_attr;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    ::tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
  }
  std::string line;
  std::getline(std::cin, line);
  if (tty) {
    ::tcsetattr(STDIN_FILENO, TCSANOW, &old_attr);
    std::cerr << "\n";
  }
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

struct InitOptions {
  std::string admin = "admin";
  std::string unit_code;
  std::string unit_kind = "town";
};

// A real installation's first step: the first administrator (and, on an empty tree, the one
// top unit the administrator belongs to, named by site.town_name). Nothing else is created.
int Init(const Config& config, const InitOptions& options) {
  std::string password;
  if (const char* env = std::getenv("ZHENWU_ADMIN_PASSWORD"); env != nullptr && *env != 0) {
    password = env;
  } else {
    password = ReadPassword("管理员 " + options.admin + " 的密码：");
    if (::isatty(STDIN_FILENO) && ReadPassword("再输入一次：") != password) {
      std::cerr << "zhenwu: 两次输入的密码不一致\n";
      return 1;
    }
  }
  return WithDatabase(config, "初始化失败", [&](db::Database& db, const Clock& clock) {
    auto done = db.WriteSync<bool>([&](db::Conn& c) -> Result<bool> {
      auto roots = org::Roots(c);
      if (!roots) return std::move(roots).error();
      if (roots->empty()) {
        if (options.unit_code.empty()) {
          return Error::Invalid("unit-code", "组织机构为空：请用 --unit-code 给顶级单位（" +
                                                 config.town_name + "）一个编码");
        }
        org::UnitInput unit;
        unit.kind = options.unit_kind;
        unit.name = config.town_name;
        unit.code = options.unit_code;
        auto created = org::CreateUnit(c, clock, auth::SystemActor(), unit);
        if (!created) return std::move(created).error();
      }
      if (auto s = auth::InitFirstAdmin(c, clock, options.admin, password); !s) {
        return std::move(s).error();
      }
      return true;
    });
    if (!done) {
      std::string fields;
      for (const auto& f : done.error().fields) fields += "\n  " + f.field + "：" + f.message;
      std::cerr << "zhenwu: 初始化失败：" << done.error().message << fields << "\n";
      return 1;
    }
    std::cout << "已创建管理员 " << options.admin << "。请用它登录 /login。\n";
    return 0;
  });
}

// The Pingzheng demo: the whole tree, one account per role, demo residents and enterprises.
// Safe to run again.
int Demo(const Config& config) {
  return WithDatabase(config, "载入演示数据失败", [&](db::Database& db, const Clock& clock) {
    auto keys = people::OpenKeys(config.data_dir, db);
    if (!keys) return Fail("载入演示数据失败", keys.error());
    auto done = db.WriteSync<bool>([&](db::Conn& c) -> Result<bool> {
      if (auto s = org::LoadDemoTree(c, clock); !s) return std::move(s).error();
      if (auto s = auth::CreateDemoAccounts(c, clock); !s) return std::move(s).error();
      if (auto s = people::LoadDemoPeople(c, clock, **keys); !s) return std::move(s).error();
      if (auto s = calendar::SeedIfEmpty(c, clock.NowMs()); !s) return std::move(s).error();
      auto cal = calendar::Load(c);
      if (!cal) return std::move(cal).error();
      const services::Deps deps{clock, **keys, *cal};
      if (auto s = services::LoadDemoCatalogue(c, deps); !s) return std::move(s).error();
      return true;
    });
    if (!done) return Fail("载入演示数据失败", done.error());
    std::cout << "演示数据已就绪：玉林市 → 北流市 → 平政镇（9 个窗口，19 个村），"
                 "办事指南（演示事项）。\n"
              << "居民/企业档案：" << people::kDemoResidents << " 位示例居民、"
              << people::kDemoEnterprises << " 家示例企业（虚构，标为演示）。\n"
              << "演示账号（密码均为 " << auth::kDemoPassword << "，仅用于演示）：\n"
              << DemoAccountsText();
    return 0;
  });
}

int TokenCreate(const Config& config, const std::string& login, std::optional<int> days,
                const std::string& label) {
  return WithDatabase(config, "创建令牌失败", [&](db::Database& db, const Clock& clock) {
    auto token = db.WriteSync<std::string>([&](db::Conn& c) {
      return auth::CreateToken(c, clock, login, days, auth::SystemActor(), label);
    });
    if (!token) return Fail("创建令牌失败", token.error());
    std::cout << *token << "\n";
    std::cerr << "令牌只显示这一次，请妥善保存。用法：Authorization: Bearer <令牌>\n";
    return 0;
  });
}

int TokenRevoke(const Config& config, int64_t id) {
  return WithDatabase(config, "吊销令牌失败", [&](db::Database& db, const Clock& clock) {
    auto done = db.WriteSync<bool>([&](db::Conn& c) -> Result<bool> {
      if (auto s = auth::RevokeToken(c, clock, id); !s) return std::move(s).error();
      return true;
    });
    if (!done) return Fail("吊销令牌失败", done.error());
    std::cout << "令牌 " << id << " 已吊销\n";
    return 0;
  });
}

int TokenList(const Config& config, const std::string& login) {
  return WithDatabase(config, "列出令牌失败", [&](db::Database& db, const Clock&) {
    auto tokens = db.ReadSync<std::vector<auth::TokenInfo>>(
        [&](db::Conn& c) { return auth::ListTokens(c, login); });
    if (!tokens) return Fail("列出令牌失败", tokens.error());
    for (const auto& t : *tokens) std::cout << FormatToken(t) << "\n";
    return 0;
  });
}

int AuditVerify(const Config& config) {
  return WithDatabase(config, "校验审计日志失败", [&](db::Database& db, const Clock&) {
    auto report = audit::Verify(db);
    if (!report) return Fail("校验审计日志失败", report.error());
    std::cout << audit::FormatReport(*report) << "\n";
    return report->intact ? 0 : 1;
  });
}

int AuditPrune(const Config& config, int keep_days) {
  return WithDatabase(config, "清理审计日志失败", [&](db::Database& db, const Clock& clock) {
    auto deleted =
        db.WriteSync<int64_t>([&](db::Conn& c) { return audit::Prune(c, clock, keep_days); });
    if (!deleted) return Fail("清理审计日志失败", deleted.error());
    std::cout << "已清理 " << *deleted << " 条早于 " << keep_days << " 天的审计记录；链仍可校验\n";
    return 0;
  });
}

int FilesSweep(const Config& config, std::optional<int64_t> keep_days) {
  const int64_t days = keep_days.value_or(config.keep_unreferenced_files_days);
  if (days < 1) {
    std::cerr << (keep_days ? "清理文件失败：--keep-days 至少为 1（未被引用的文件保留的天数）\n"
                            : "未清理：files.keep_unreferenced_days 为 0（从不删除文件）；要清理"
                              "请用 --keep-days N 给出保留天数\n");
    return 2;
  }
  auto store = files::FileStore::Open((std::filesystem::path(config.data_dir) / "files").string());
  if (!store) return Fail("清理文件失败", store.error());
  return WithDatabase(config, "清理文件失败", [&](db::Database& db, const Clock&) {
    auto swept = SweepFiles(db, **store, days);
    if (!swept) return Fail("清理文件失败", swept.error());
    std::cout << "文件存储 " << (*store)->root() << " 共 " << swept->files << " 个文件：已删除 "
              << swept->removed << " 个无引用且超过 " << days << " 天的文件（"
              << swept->removed_bytes << " 字节），" << swept->referenced
              << " 个较早的文件仍被引用\n";
    return 0;
  });
}

}  // namespace

int RunCli(int argc, char** argv) {
  CLI::App cli{"镇务通 zhenwu — 乡镇一站式政务服务平台"};
  cli.require_subcommand(1);
  cli.set_version_flag("--version", kVersion);

  FlagValues serve_flags, backup_flags, restore_flags;
  auto* serve = cli.add_subcommand("serve", "serve the web site and the API");
  AddConfigFlags(*serve, serve_flags, true);
  serve->footer(
      "Every option can also be set in zhenwu.toml ([section] key = value) or as an environment "
      "variable, named in brackets. Precedence: flag > environment > file > default.");

  std::string backup_target, restore_source;
  auto* backup = cli.add_subcommand(
      "backup",
      "copy the SQLite database to PATH (online: consistent while serving), files and keys to "
      "PATH.data/");
  backup->add_option("PATH", backup_target, "file to write")->required();
  AddConfigFlags(*backup, backup_flags, false);

  auto* restore = cli.add_subcommand(
      "restore",
      "replace the SQLite database with the backup at PATH and bring back PATH.data/ (stop the "
      "server first)");
  restore->add_option("PATH", restore_source, "backup file to restore")->required();
  AddConfigFlags(*restore, restore_flags, false);

  FlagValues init_flags, demo_flags, token_flags, audit_flags;
  InitOptions init_options;
  auto* init = cli.add_subcommand(
      "init", "start a real installation: the first administrator (asks for the password)");
  init->add_option("--admin", init_options.admin, "the administrator's login name");
  init->add_option("--unit-code", init_options.unit_code,
                   "code of the top unit, created with site.town_name when the tree is empty");
  init->add_option("--unit-kind", init_options.unit_kind, "kind of that unit: city, county, town");
  init->footer(
      "The password is asked twice on a terminal, read from one line of standard input "
      "otherwise, or taken from ZHENWU_ADMIN_PASSWORD.");
  AddConfigFlags(*init, init_flags, false);

  auto* demo = cli.add_subcommand(
      "demo", "load the Pingzheng demo (org tree and one account per role); safe to repeat");
  AddConfigFlags(*demo, demo_flags, false);

  std::string token_user, token_label;
  std::optional<int> token_days;
  int64_t token_id = 0;
  auto* token = cli.add_subcommand("token", "API tokens for /api/v1/ (Authorization: Bearer)");
  token->require_subcommand(1);
  auto* token_create = token->add_subcommand("create", "create a token and print it once");
  token_create->add_option("--user", token_user, "login of the token's user")->required();
  token_create->add_option("--expires", token_days, "days until it expires (default: never)");
  token_create->add_option("--label", token_label, "what the token is for (shown in lists)");
  auto* token_revoke = token->add_subcommand("revoke", "revoke a token");
  token_revoke->add_option("ID", token_id, "the token's number (see token list)")->required();
  auto* token_list = token->add_subcommand("list", "list tokens");
  token_list->add_option("--user", token_user, "only this user's tokens");
  AddConfigFlags(*token, token_flags, false);
  // `zhenwu token create --user x --db …`: the leaf passes the configuration flags up.
  for (auto* leaf : {token_create, token_revoke, token_list}) leaf->fallthrough();

  int keep_days = audit::kMinKeepDays;
  auto* audit_cmd = cli.add_subcommand("audit", "the hash-chained audit log");
  audit_cmd->require_subcommand(1);
  auto* audit_verify =
      audit_cmd->add_subcommand("verify", "check the chain; exit 1 and name the first broken row");
  auto* audit_prune = audit_cmd->add_subcommand(
      "prune", "delete events older than --keep-days (at least 180); the chain stays verifiable");
  audit_prune->add_option("--keep-days", keep_days, "days of events to keep (>= 180)");
  AddConfigFlags(*audit_cmd, audit_flags, false);
  audit_verify->fallthrough();
  audit_prune->fallthrough();

  FlagValues files_flags;
  std::optional<int64_t> sweep_days;
  auto* files_cmd = cli.add_subcommand("files", "the store of uploaded files (<data_dir>/files)");
  files_cmd->require_subcommand(1);
  auto* files_sweep = files_cmd->add_subcommand(
      "sweep",
      "remove the files no case or service refers to that are older than --keep-days (as the "
      "server does every 6 hours)");
  files_sweep->add_option("--keep-days", sweep_days,
                          "days an unreferenced file is kept (default: "
                          "files.keep_unreferenced_days)");
  AddConfigFlags(*files_cmd, files_flags, false);
  files_sweep->fallthrough();

  try {
    cli.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return cli.exit(e);
  }

  auto run = [](const FlagValues& flags, const CLI::App& cmd, auto&& body) {
    auto config = LoadConfig(flags, cmd);
    if (!config) return Fail("配置有误", config.error());
    return body(*config);
  };
  if (serve->parsed()) return run(serve_flags, *serve, Serve);
  if (init->parsed()) {
    return run(init_flags, *init, [&](const Config& c) { return Init(c, init_options); });
  }
  if (demo->parsed()) return run(demo_flags, *demo, Demo);
  if (token->parsed()) {
    return run(token_flags, *token, [&](const Config& c) {
      if (token_create->parsed()) return TokenCreate(c, token_user, token_days, token_label);
      if (token_revoke->parsed()) return TokenRevoke(c, token_id);
      return TokenList(c, token_user);
    });
  }
  if (audit_cmd->parsed()) {
    return run(audit_flags, *audit_cmd, [&](const Config& c) {
      return audit_verify->parsed() ? AuditVerify(c) : AuditPrune(c, keep_days);
    });
  }
  if (files_cmd->parsed()) {
    return run(files_flags, *files_cmd, [&](const Config& c) { return FilesSweep(c, sweep_days); });
  }
  if (backup->parsed()) {
    return run(backup_flags, *backup, [&](const Config& c) { return Backup(c, backup_target); });
  }
  return run(restore_flags, *restore, [&](const Config& c) { return Restore(c, restore_source); });
}

}  // namespace zhenwu::app
