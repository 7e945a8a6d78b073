-- Notifications: the in-app inbox of account holders and the outbox of SMS waiting for the
-- gateway. Rows are written inside the transaction of the step they announce (a case accepted,
-- a reply given), so a notification exists exactly when its step committed.

CREATE TABLE notify_inbox (
  id {{id}},
  user_id {{bigint}} NOT NULL REFERENCES auth_users (id) ON DELETE CASCADE,
  title TEXT NOT NULL,
  body TEXT NOT NULL DEFAULT '',
  link TEXT NOT NULL DEFAULT '',            -- a local path ("/cases/12"), or ''
  created_at_ms {{bigint}} NOT NULL,
  read_at_ms {{bigint}}                     -- NULL while unread
);
CREATE INDEX notify_inbox_user ON notify_inbox (user_id, id);
CREATE INDEX notify_inbox_unread ON notify_inbox (user_id) WHERE read_at_ms IS NULL;

-- The phone is kept encrypted (people::Keys) only while the message may still be sent; once it
-- is sent the ciphertext is dropped and only the mask stays (personal data kept no longer than
-- needed). A dispatcher claims due rows by setting claimed_until_ms (a lease) and claim_token,
-- so several server processes never send one message twice.
CREATE TABLE notify_outbox (
  id {{id}},
  channel TEXT NOT NULL DEFAULT 'sms',
  phone_enc TEXT,
  phone_mask TEXT NOT NULL,
  text TEXT NOT NULL,
  link TEXT NOT NULL DEFAULT '',
  ref TEXT NOT NULL DEFAULT '',             -- what the message is about, e.g. "services_case:12"
  status TEXT NOT NULL DEFAULT 'pending',   -- 'pending' | 'sent' | 'failed'
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at_ms {{bigint}} NOT NULL,
  claimed_until_ms {{bigint}} NOT NULL DEFAULT 0,
  claim_token TEXT,
  last_error TEXT NOT NULL DEFAULT '',
  created_at_ms {{bigint}} NOT NULL,
  sent_at_ms {{bigint}}
);
CREATE INDEX notify_outbox_due ON notify_outbox (status, next_attempt_at_ms);
CREATE INDEX notify_outbox_status ON notify_outbox (status, id);
