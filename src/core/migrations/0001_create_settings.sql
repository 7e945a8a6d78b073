-- Settings of the platform that administrators change at run time (key -> value).
CREATE TABLE core_settings (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL,
  updated_at_ms {{bigint}} NOT NULL
);
