-- One-time form tokens (web/once.hpp): a double submit creates one record. A token is claimed in
-- the transaction that does the form's work; a repeat reads where the first use's result lives.
-- Rows older than two days are pruned.
CREATE TABLE core_form_once (
  token TEXT PRIMARY KEY,
  form TEXT NOT NULL,
  result TEXT NOT NULL DEFAULT '',
  created_at_ms {{bigint}} NOT NULL
);
CREATE INDEX core_form_once_created ON core_form_once (created_at_ms);
