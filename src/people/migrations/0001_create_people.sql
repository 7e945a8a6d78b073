-- The shared register of residents and enterprises (居民/企业档案) every module reuses.
-- ID-card numbers and phones are stored encrypted ("v1:" + base64 of nonce and secretbox) with
-- a keyed BLAKE2b blind index (hex) for exact lookup and uniqueness, and their masked display
-- form, so lists never decrypt. The keys live in <data_dir>/keys/people.key.
CREATE TABLE people_residents (
  id {{id}},
  name TEXT NOT NULL,
  id_card_enc TEXT NOT NULL,
  id_card_idx TEXT NOT NULL UNIQUE,
  id_card_mask TEXT NOT NULL,
  phone_enc TEXT,
  phone_idx TEXT,
  phone_mask TEXT NOT NULL DEFAULT '',
  village_unit_id {{bigint}} NOT NULL,
  address TEXT NOT NULL DEFAULT '',
  demo {{bigint}} NOT NULL DEFAULT 0,
  created_at_ms {{bigint}} NOT NULL,
  updated_at_ms {{bigint}} NOT NULL
);
CREATE INDEX people_residents_phone ON people_residents (phone_idx);
CREATE INDEX people_residents_village ON people_residents (village_unit_id, id);
CREATE INDEX people_residents_name ON people_residents (name);

CREATE TABLE people_enterprises (
  id {{id}},
  name TEXT NOT NULL,
  uscc TEXT NOT NULL UNIQUE,
  legal_rep TEXT NOT NULL DEFAULT '',
  phone_enc TEXT,
  phone_idx TEXT,
  phone_mask TEXT NOT NULL DEFAULT '',
  address TEXT NOT NULL DEFAULT '',
  unit_id {{bigint}} NOT NULL,
  demo {{bigint}} NOT NULL DEFAULT 0,
  created_at_ms {{bigint}} NOT NULL,
  updated_at_ms {{bigint}} NOT NULL
);
CREATE INDEX people_enterprises_phone ON people_enterprises (phone_idx);
CREATE INDEX people_enterprises_unit ON people_enterprises (unit_id, id);
CREATE INDEX people_enterprises_name ON people_enterprises (name);

-- Which key pair encrypted this database (a keyed hash of the keys, not the keys).
CREATE TABLE people_key_check (
  id {{bigint}} PRIMARY KEY CHECK (id = 1),
  fingerprint TEXT NOT NULL
);
