-- Wrong tries on the public tracking page (办件查询: case number + the phone's last four digits),
-- counted per bucket: per case number ("number:PZ-20261130-0001") and per client IP
-- ("ip:1.2.3.4"), in a window that starts with the bucket's first wrong try. At 10 wrong tries
-- within 15 minutes further tries in that bucket are answered 429 until the window ends, so the
-- four digits cannot be guessed. In the database, so several server processes share the count.
CREATE TABLE services_track_failures (
  bucket TEXT PRIMARY KEY,
  failures {{bigint}} NOT NULL,
  window_start_ms {{bigint}} NOT NULL
);
