#include "core/config.hpp"

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <toml.hpp>

extern char** environ;

namespace zhenwu {

namespace {

ConfigKey Key(std::string key, std::string flag, std::string help,
              std::variant<std::string Config::*, int64_t Config::*, bool Config::*> member) {
  std::string env = "ZHENWU_";
  for (char c : key) env += c == '.' ? '_' : static_cast<char>(std::toupper(c));
  return ConfigKey{std::move(key), std::move(flag), std::move(env), std::move(help), member};
}

std::string TypeName(const ConfigKey& key) {
  switch (key.member.index()) {
    case 0:
      return "字符串";
    case 1:
      return "整数";
    default:
      return "布尔值 (true/false)";
  }
}

Error BadValue(const ConfigKey& key, const std::string& source, const std::string& why) {
  return Error::Invalid(key.key, source + ": 配置项 " + key.key + " 的值无效：" + why);
}

}  // namespace

const std::vector<ConfigKey>& ConfigKeys() {
  static const std::vector<ConfigKey> kKeys = {
      Key("server.listen", "--listen", "address to serve on, host:port (port 0 picks a free one)",
          &Config::listen),
      Key("server.io_threads", "--io-threads", "threads serving sockets (0: one per core)",
          &Config::io_threads),
      Key("server.blocking_threads", "--blocking-threads",
          "threads for blocking work: database, hashing, files (0: 2 per core, at least 4)",
          &Config::blocking_threads),
      Key("server.header_limit", "--header-limit",
          "largest request header block in bytes (larger: 431)", &Config::header_limit),
      Key("server.body_limit", "--body-limit", "largest request body in bytes (larger: 413)",
          &Config::body_limit),
      Key("server.read_timeout_s", "--read-timeout",
          "seconds a client has to send a request's header, and the longest pause in its body",
          &Config::read_timeout_s),
      Key("server.body_min_rate_bps", "--body-min-rate",
          "bytes per second a request body must at least arrive at, measured over read_timeout_s "
          "(slower: 408)",
          &Config::body_min_rate_bps),
      Key("server.idle_timeout_s", "--idle-timeout", "seconds an idle keep-alive connection stays",
          &Config::idle_timeout_s),
      Key("server.shutdown_grace_s", "--shutdown-grace",
          "seconds in-flight requests get to finish on shutdown", &Config::shutdown_grace_s),
      Key("server.trust_proxy", "--trust-proxy",
          "trust X-Forwarded-For/-Proto (only behind your own nginx)", &Config::trust_proxy),
      Key("server.metrics_public", "--metrics-public",
          "let hosts other than this machine read /metrics", &Config::metrics_public),
      Key("database.url", "--db", "sqlite:PATH or postgresql://user@host:port/dbname", &Config::db),
      Key("database.sqlite_synchronous", "--sqlite-synchronous",
          "FULL (an acknowledged write survives power loss) or NORMAL",
          &Config::sqlite_synchronous),
      Key("database.pool", "--db-pool", "database connections for reads (PostgreSQL: all work)",
          &Config::db_pool),
      Key("database.schema", "--db-schema",
          "PostgreSQL schema to keep zhenwu's tables in (created if missing; empty: public)",
          &Config::db_schema),
      Key("site.town_name", "--town-name", "the town's name, shown on every page",
          &Config::town_name),
      Key("site.address", "--address", "address of the town's service centre", &Config::address),
      Key("site.phone", "--phone", "consultation phone of the service centre", &Config::phone),
      Key("site.office_hours", "--office-hours", "office hours shown on the home page",
          &Config::office_hours),
      Key("site.demo", "--demo-site", "mark every page as showing demonstration data",
          &Config::demo),
      Key("site.templates_dir", "--templates-dir",
          "folder of .mustache files that override the built-in templates", &Config::templates_dir),
      Key("site.data_dir", "--data-dir", "folder for uploaded files, logs and the SQLite database",
          &Config::data_dir),
      Key("site.page_cache_ttl_ms", "--page-cache-ttl",
          "milliseconds an anonymous page may be served from memory (0: no cache)",
          &Config::page_cache_ttl_ms),
      Key("auth.session_idle_min", "--session-idle-min",
          "minutes of inactivity after which a signed-in session ends", &Config::session_idle_min),
      Key("auth.session_max_hours", "--session-max-hours",
          "hours after login at which a session ends, used or not", &Config::session_max_hours),
      Key("services.due_soon_days", "--due-soon-days",
          "working days before its due day at which an open case shows 即将超期",
          &Config::due_soon_days),
      Key("services.followup_days", "--followup-days",
          "working days allowed to follow up a bad rating (回访整改)", &Config::followup_days),
      Key("services.max_upload_mb", "--max-upload-mb", "largest uploaded file, in MB",
          &Config::max_upload_mb),
      Key("files.keep_unreferenced_days", "--keep-unreferenced-files-days",
          "days an uploaded file that nothing refers to is kept before it is removed (0: never)",
          &Config::keep_unreferenced_files_days),
      Key("notify.sms_url", "--sms-url",
          "SMS gateway endpoint, http://host:port/path (https via a local relay; empty: no SMS)",
          &Config::sms_url),
      Key("notify.sms_token", "--sms-token",
          "sent to the SMS gateway as Authorization: Bearer <token> (empty: none)",
          &Config::sms_token),
      Key("notify.sms_timeout_ms", "--sms-timeout-ms",
          "milliseconds one SMS gateway request may take", &Config::sms_timeout_ms),
      Key("notify.sms_max_attempts", "--sms-max-attempts",
          "tries (with growing pauses, at most 1 h apart) before an SMS is marked failed",
          &Config::sms_max_attempts),
      Key("log.level", "--log-level", "trace, debug, info, warn, error", &Config::log_level),
      Key("log.access", "--access-log", "write one access-log line per request",
          &Config::access_log),
      Key("log.access_file", "--access-log-file", "access log file (empty: standard output)",
          &Config::access_log_file),
  };
  return kKeys;
}

Status SetConfigValue(const ConfigKey& key, const std::string& text, const std::string& source,
                      Config& config) {
  switch (key.member.index()) {
    case 0:
      config.*std::get<0>(key.member) = text;
      return {};
    case 1: {
      errno = 0;
      char* end = nullptr;
      const long long v = std::strtoll(text.c_str(), &end, 10);
      if (text.empty() || errno != 0 || *end != '\0') {
        return BadValue(key, source, "应为整数，实际为 “" + text + "”");
      }
      config.*std::get<1>(key.member) = v;
      return {};
    }
    default:
      if (text == "true" || text == "1" || text == "yes" || text == "on") {
        config.*std::get<2>(key.member) = true;
      } else if (text == "false" || text == "0" || text == "no" || text == "off") {
        config.*std::get<2>(key.member) = false;
      } else {
        return BadValue(key, source, "应为 true 或 false，实际为 “" + text + "”");
      }
      return {};
  }
}

Status ApplyConfigFile(const std::string& path, Config& config) {
  if (!std::filesystem::exists(path)) {
    return Error::Invalid("config", "配置文件不存在：" + path);
  }
  toml::value root;
  try {
    root = toml::parse(path);
  } catch (const std::exception& e) {
    return Error::Invalid("config", "配置文件语法错误：" + std::string(e.what()));
  }
  if (!root.is_table()) return Error::Invalid("config", path + ": 顶层应为表");
  for (const auto& [section, table] : root.as_table()) {
    if (!table.is_table()) {
      return Error::Invalid(section,
                            path + ": 未知配置项 " + section +
                                "（配置项应写在 [server]、[database]、[site]、[log] 等表中）");
    }
    for (const auto& [name, value] : table.as_table()) {
      const std::string full = section + "." + name;
      const ConfigKey* key = nullptr;
      for (const auto& k : ConfigKeys()) {
        if (k.key == full) key = &k;
      }
      if (key == nullptr) {
        return Error::Invalid(
            full, path + ": 未知配置项 " + full + "（zhenwu serve --help 列出全部配置项）");
      }
      const bool fits = (key->member.index() == 0 && value.is_string()) ||
                        (key->member.index() == 1 && value.is_integer()) ||
                        (key->member.index() == 2 && value.is_boolean());
      if (!fits) return BadValue(*key, path, "应为" + TypeName(*key));
      switch (key->member.index()) {
        case 0:
          config.*std::get<0>(key->member) = value.as_string().str;
          break;
        case 1:
          config.*std::get<1>(key->member) = value.as_integer();
          break;
        default:
          config.*std::get<2>(key->member) = value.as_boolean();
          break;
      }
    }
  }
  return {};
}

Status ApplyEnvironment(const std::map<std::string, std::string>& env, Config& config) {
  for (const auto& key : ConfigKeys()) {
    if (auto it = env.find(key.env); it != env.end()) {
      if (auto s = SetConfigValue(key, it->second, "环境变量 " + key.env, config); !s) return s;
    }
  }
  return {};
}

Status ValidateConfig(const Config& c) {
  const auto colon = c.listen.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == c.listen.size()) {
    return Error::Invalid("server.listen",
                          "配置项 server.listen 应为 主机:端口，例如 127.0.0.1:8080");
  }
  const std::string port = c.listen.substr(colon + 1);
  if (port.find_first_not_of("0123456789") != std::string::npos || std::stol(port) > 65535) {
    return Error::Invalid("server.listen", "配置项 server.listen 的端口应为 0–65535 的整数");
  }
  if (c.db.rfind("sqlite:", 0) != 0 && c.db.rfind("postgresql://", 0) != 0 &&
      c.db.rfind("postgres://", 0) != 0) {
    return Error::Invalid("database.url", "配置项 database.url 应以 sqlite: 或 postgresql:// 开头");
  }
  if (c.sqlite_synchronous != "FULL" && c.sqlite_synchronous != "NORMAL") {
    return Error::Invalid("database.sqlite_synchronous",
                          "配置项 database.sqlite_synchronous 应为 FULL 或 NORMAL");
  }
  struct Range {
    const char* key;
    int64_t value, min, max;
  };
  const Range ranges[] = {
      {"server.io_threads", c.io_threads, 0, 256},
      {"server.blocking_threads", c.blocking_threads, 0, 1024},
      {"server.header_limit", c.header_limit, 1024, 1024 * 1024},
      {"server.body_limit", c.body_limit, 1024, int64_t{4} * 1024 * 1024 * 1024},
      {"server.read_timeout_s", c.read_timeout_s, 1, 3600},
      {"server.body_min_rate_bps", c.body_min_rate_bps, 0, 1024 * 1024 * 1024},
      {"server.idle_timeout_s", c.idle_timeout_s, 1, 3600},
      {"server.shutdown_grace_s", c.shutdown_grace_s, 0, 3600},
      {"database.pool", c.db_pool, 1, 1000},
      {"site.page_cache_ttl_ms", c.page_cache_ttl_ms, 0, 86400000},
      {"auth.session_idle_min", c.session_idle_min, 1, 24 * 60},
      {"auth.session_max_hours", c.session_max_hours, 1, 24 * 30},
      {"notify.sms_timeout_ms", c.sms_timeout_ms, 100, 120000},
      {"notify.sms_max_attempts", c.sms_max_attempts, 1, 1000},
      {"services.due_soon_days", c.due_soon_days, 0, 30},
      {"services.followup_days", c.followup_days, 1, 60},
      {"services.max_upload_mb", c.max_upload_mb, 1, 100},
      {"files.keep_unreferenced_days", c.keep_unreferenced_files_days, 0, 3650},
  };
  for (const auto& r : ranges) {
    if (r.value < r.min || r.value > r.max) {
      return Error::Invalid(r.key, std::string("配置项 ") + r.key + " 应在 " +
                                       std::to_string(r.min) + " 到 " + std::to_string(r.max) +
                                       " 之间");
    }
  }
  static const char* const kLevels[] = {"trace", "debug",    "info", "warn",
                                        "error", "critical", "off"};
  bool level_ok = false;
  for (const char* l : kLevels) level_ok = level_ok || c.log_level == l;
  if (!level_ok) {
    return Error::Invalid("log.level", "配置项 log.level 应为 trace、debug、info、warn 或 error");
  }
  if (!c.sms_url.empty() && c.sms_url.rfind("http://", 0) != 0) {
    return Error::Invalid(
        "notify.sms_url",
        "配置项 notify.sms_url 应以 http:// 开头（https 网关请经本机 nginx 转发）");
  }
  if (c.town_name.empty())
    return Error::Invalid("site.town_name", "配置项 site.town_name 不能为空");
  return {};
}

std::map<std::string, std::string> ProcessEnvironment() {
  std::map<std::string, std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string_view kv(*e);
    if (auto eq = kv.find('='); eq != std::string_view::npos) {
      env.emplace(std::string(kv.substr(0, eq)), std::string(kv.substr(eq + 1)));
    }
  }
  return env;
}

}  // namespace zhenwu
