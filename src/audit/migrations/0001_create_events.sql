-- The audit log (等保 2.0 安全审计): append-only, hash-chained by seq. seq is assigned under the
-- lock of the one audit_chain_head row, so it has no gaps: a missing seq is a deleted row.
CREATE TABLE audit_events (
  seq {{bigint}} PRIMARY KEY,
  at_ms {{bigint}} NOT NULL,
  actor_user_id {{bigint}},
  actor_name TEXT NOT NULL,
  ip TEXT NOT NULL,
  request_id TEXT NOT NULL,
  action TEXT NOT NULL,
  entity TEXT NOT NULL,
  entity_id TEXT NOT NULL,
  unit_id {{bigint}},
  summary TEXT NOT NULL,
  before_json TEXT NOT NULL,
  after_json TEXT NOT NULL,
  prev_hash TEXT NOT NULL,
  hash TEXT NOT NULL
);
CREATE INDEX audit_events_at ON audit_events (at_ms);
CREATE INDEX audit_events_unit ON audit_events (unit_id, seq);
CREATE INDEX audit_events_entity ON audit_events (entity, entity_id, seq);
CREATE INDEX audit_events_actor ON audit_events (actor_name, seq);

-- The end of the chain (last_seq, last_hash) and its pruned beginning (anchor_seq, anchor_hash:
-- the seq and hash of the last row deleted by pruning; 0 and 64 zeros before any pruning).
-- Every append updates this row in its transaction, which orders concurrent appenders.
CREATE TABLE audit_chain_head (
  id {{bigint}} PRIMARY KEY CHECK (id = 1),
  last_seq {{bigint}} NOT NULL,
  last_hash TEXT NOT NULL,
  anchor_seq {{bigint}} NOT NULL,
  anchor_hash TEXT NOT NULL
);
INSERT INTO audit_chain_head (id, last_seq, last_hash, anchor_seq, anchor_hash)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000', 0,
        '0000000000000000000000000000000000000000000000000000000000000000');
