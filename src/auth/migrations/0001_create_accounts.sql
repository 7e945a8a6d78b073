-- Accounts (staff and citizens), role grants on org units, sessions, API tokens and the
-- per-IP login-failure counters. Secrets are stored as hashes only: passwords as argon2id
-- strings, session ids and API tokens as SHA-256 hex.

CREATE TABLE auth_users (
  id {{id}},
  kind TEXT NOT NULL,                      -- 'staff' | 'citizen'
  login TEXT NOT NULL UNIQUE,              -- staff login name, or the citizen's mobile phone
  display_name TEXT NOT NULL,
  unit_id {{bigint}},                      -- staff: the org unit they belong to
  password_hash TEXT NOT NULL,
  must_change_password INTEGER NOT NULL DEFAULT 0,
  disabled INTEGER NOT NULL DEFAULT 0,
  failed_count INTEGER NOT NULL DEFAULT 0,         -- login failures in the current window
  failed_window_start_ms {{bigint}} NOT NULL DEFAULT 0,
  locked_until_ms {{bigint}} NOT NULL DEFAULT 0,
  last_login_ms {{bigint}},
  password_changed_ms {{bigint}} NOT NULL,
  created_ms {{bigint}} NOT NULL,
  updated_ms {{bigint}} NOT NULL
);
CREATE INDEX auth_users_unit ON auth_users (unit_id);

CREATE TABLE auth_grants (
  id {{id}},
  user_id {{bigint}} NOT NULL REFERENCES auth_users (id) ON DELETE CASCADE,
  role TEXT NOT NULL,                      -- 'admin' | 'leader' | 'clerk' | 'cadre' | 'editor' | 'auditor'
  scope TEXT NOT NULL,                     -- 'unit' | 'subtree'
  unit_id {{bigint}} NOT NULL,
  created_ms {{bigint}} NOT NULL,
  UNIQUE (user_id, role, unit_id)
);
CREATE INDEX auth_grants_unit ON auth_grants (unit_id);

CREATE TABLE auth_sessions (
  id_hash TEXT PRIMARY KEY,                -- SHA-256 of the cookie value
  user_id {{bigint}} NOT NULL REFERENCES auth_users (id) ON DELETE CASCADE,
  csrf TEXT NOT NULL,
  created_ms {{bigint}} NOT NULL,
  last_seen_ms {{bigint}} NOT NULL,
  expires_ms {{bigint}} NOT NULL,          -- absolute end (created + session_max_hours)
  ip TEXT NOT NULL DEFAULT ''
);
CREATE INDEX auth_sessions_user ON auth_sessions (user_id);

CREATE TABLE auth_tokens (
  id {{id}},
  user_id {{bigint}} NOT NULL REFERENCES auth_users (id) ON DELETE CASCADE,
  token_hash TEXT NOT NULL UNIQUE,         -- SHA-256 of the token
  prefix TEXT NOT NULL,                    -- first characters, to tell tokens apart in lists
  created_ms {{bigint}} NOT NULL,
  expires_ms {{bigint}},                   -- null: never
  revoked_ms {{bigint}},
  last_used_ms {{bigint}}
);
CREATE INDEX auth_tokens_user ON auth_tokens (user_id);

CREATE TABLE auth_ip_failures (
  ip TEXT PRIMARY KEY,
  failures INTEGER NOT NULL,
  window_start_ms {{bigint}} NOT NULL,
  blocked_until_ms {{bigint}} NOT NULL DEFAULT 0
);
