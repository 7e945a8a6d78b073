#include "app/cli.hpp"

#include <spdlog/async.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <filesystem>
#include <iostream>

#include "app/app.hpp"
#include "core/config.hpp"
#include "db/backup.hpp"

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
  if (SqlitePath(config).empty()) {
    return Fail("备份失败",
                Error::Invalid("database.url", "PostgreSQL 数据库请用 pg_dump 备份（见 README）"));
  }
  BlockingPool pool(1);
  db::Options options;
  options.url = config.db;
  options.read_connections = 1;
  auto db = db::Open(options, pool);
  if (!db) return Fail("备份失败", db.error());
  auto status = (*db)->BackupTo(target);
  (*db)->Close();
  if (!status) return Fail("备份失败", status.error());
  std::cout << "已备份到 " << target << "\n";
  return 0;
}

int Restore(const Config& config, const std::string& source) {
  const std::string path = SqlitePath(config);
  if (path.empty()) {
    return Fail("恢复失败", Error::Invalid("database.url",
                                           "PostgreSQL 数据库请用 pg_restore 恢复（见 README）"));
  }
  auto status = db::RestoreSqlite(source, path);
  if (!status) return Fail("恢复失败", status.error());
  std::cout << "已从 " << source << " 恢复到 " << path << "\n";
  return 0;
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
      "backup", "copy the SQLite database to PATH (online: consistent while serving)");
  backup->add_option("PATH", backup_target, "file to write")->required();
  AddConfigFlags(*backup, backup_flags, false);

  auto* restore = cli.add_subcommand(
      "restore", "replace the SQLite database with the backup at PATH (stop the server first)");
  restore->add_option("PATH", restore_source, "backup file to restore")->required();
  AddConfigFlags(*restore, restore_flags, false);

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
  if (backup->parsed()) {
    return run(backup_flags, *backup, [&](const Config& c) { return Backup(c, backup_target); });
  }
  return run(restore_flags, *restore, [&](const Config& c) { return Restore(c, restore_source); });
}

}  // namespace zhenwu::app
