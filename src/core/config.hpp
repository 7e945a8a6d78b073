#pragma once
// Configuration: defaults, then zhenwu.toml, then environment variables ZHENWU_<SECTION>_<KEY>,
// then command-line flags — each later source overrides the earlier. Every key is listed once
// in ConfigKeys() with its flag, type and help, so the file, the environment, the flags and
// `zhenwu serve --help` can never disagree.

#include <cstdint>
#include <map>
#include <string>
#include <variant>
#include <vector>

#include "core/result.hpp"

namespace zhenwu {

struct Config {
  // [server]
  std::string listen = "127.0.0.1:8080";
  int64_t io_threads = 0;        // 0: one per core
  int64_t blocking_threads = 0;  // 0: 2 per core, at least 4
  int64_t header_limit = 16 * 1024;
  int64_t body_limit = 32 * 1024 * 1024;
  int64_t read_timeout_s = 30;
  int64_t body_min_rate_bps = 2048;  // a body slower than this (over read_timeout_s) -> 408
  int64_t idle_timeout_s = 75;
  int64_t shutdown_grace_s = 20;
  bool trust_proxy = false;
  bool metrics_public = false;  // /metrics answers other hosts than loopback
  // [database]
  std::string db = "sqlite:./data/zhenwu.db";
  std::string sqlite_synchronous = "FULL";
  int64_t db_pool = 4;
  std::string db_schema;  // PostgreSQL: schema to use (created if missing); empty: the default
  // [site]
  std::string town_name = "示例镇";
  std::string address;        // of the town's service centre
  std::string phone;          // consultation phone
  std::string office_hours;   // e.g. 周一至周五 8:00–12:00，15:00–18:00
  bool demo = false;          // the data is demonstration data: every page says so
  std::string templates_dir;  // folder whose templates override the built-in ones
  std::string data_dir = "./data";
  int64_t page_cache_ttl_ms = 5000;
  // [auth]
  int64_t session_idle_min = 30;   // a session unused this long ends (等保: session timeout)
  int64_t session_max_hours = 12;  // a session ends this long after login, used or not
  // [services]
  int64_t due_soon_days = 2;  // an open case this many working days before its due day: 即将超期
  int64_t followup_days = 5;   // working days to follow up a bad rating (差评回访整改)
  int64_t max_upload_mb = 10;  // largest uploaded material file
  // Stored files no row refers to are removed once nobody stored or kept them for this many
  // days (0: never).
  int64_t keep_unreferenced_files_days = 7;
  // [notify]
  std::string sms_url;            // SMS gateway endpoint, http:// only; empty: SMS disabled
  std::string sms_token;          // sent as Authorization: Bearer <token> when set
  int64_t sms_timeout_ms = 5000;  // one gateway request, connection included
  int64_t sms_max_attempts = 20;  // tries before an SMS is marked failed
  // [log]
  std::string log_level = "info";
  bool access_log = true;
  std::string access_log_file;  // empty: standard output
};

struct ConfigKey {
  std::string key;   // "server.listen"
  std::string flag;  // "--listen"
  std::string env;   // "ZHENWU_SERVER_LISTEN"
  std::string help;
  std::variant<std::string Config::*, int64_t Config::*, bool Config::*> member;
};

const std::vector<ConfigKey>& ConfigKeys();

// Reads a TOML file into `config`. Fails with kInvalidInput whose message names the file and
// the bad key (unknown key, wrong type) or the TOML syntax error with its line.
Status ApplyConfigFile(const std::string& path, Config& config);
// Applies ZHENWU_* variables from `env` (name -> value); unknown ZHENWU_* names are ignored
// (tools use some), bad values fail naming the variable.
Status ApplyEnvironment(const std::map<std::string, std::string>& env, Config& config);
// Sets one key from its text form ("8080", "true", …); fails naming `source` on a bad value.
Status SetConfigValue(const ConfigKey& key, const std::string& text, const std::string& source,
                      Config& config);
// Checks values that no single key can check alone (listen address form, database URL scheme,
// ranges). Fails naming the key.
Status ValidateConfig(const Config& config);
// The process environment as a map (for ApplyEnvironment).
std::map<std::string, std::string> ProcessEnvironment();

}  // namespace zhenwu
