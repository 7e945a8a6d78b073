-- Deferred chaining: an event is inserted by the transaction that records it without touching
-- the chain head (so concurrent writers no longer queue on the head row's lock until they
-- commit), and gets its place in the chain later from the chainer (audit::Chain), which links
-- committed unchained rows in id order under the head row's lock in a short transaction of its
-- own. So:
--   id    — the event's identity, from the table's identity/autoincrement: rises in insertion
--           order, may have gaps (rolled-back transactions), is not hashed;
--   seq   — its place in the hash chain, NULL until chained; gap-free from the pruning anchor to
--           audit_chain_head.last_seq (a missing seq is a deleted row);
--   prev_hash, hash — NULL until chained, then as before (CanonicalEncoding covers seq).
-- SQLite cannot make a primary-key column nullable in place, so the table is rebuilt (on both
-- backends, the same statements); existing rows keep their seq, prev_hash and hash and get ids
-- in seq order.
CREATE TABLE audit_events_v2 (
  id {{id}},
  seq {{bigint}} UNIQUE,
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
  prev_hash TEXT,
  hash TEXT,
  CHECK ((seq IS NULL AND prev_hash IS NULL AND hash IS NULL) OR
         (seq IS NOT NULL AND prev_hash IS NOT NULL AND hash IS NOT NULL))
);
INSERT INTO audit_events_v2 (seq, at_ms, actor_user_id, actor_name, ip, request_id, action,
                             entity, entity_id, unit_id, summary, before_json, after_json,
                             prev_hash, hash)
SELECT seq, at_ms, actor_user_id, actor_name, ip, request_id, action, entity, entity_id, unit_id,
       summary, before_json, after_json, prev_hash, hash
FROM audit_events ORDER BY seq;
DROP TABLE audit_events;
ALTER TABLE audit_events_v2 RENAME TO audit_events;
CREATE INDEX audit_events_at ON audit_events (at_ms);
CREATE INDEX audit_events_unit ON audit_events (unit_id, id);
CREATE INDEX audit_events_entity ON audit_events (entity, entity_id, id);
CREATE INDEX audit_events_actor ON audit_events (actor_name, id);
-- What the chainer looks for: the unchained rows, oldest first.
CREATE INDEX audit_events_unchained ON audit_events (id) WHERE seq IS NULL;
