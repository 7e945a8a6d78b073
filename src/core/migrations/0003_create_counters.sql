-- Named counters for readable numbers (db::Conn::NextNumber), e.g. "services.case/PZ-20261128"
-- for the day's case numbers of a town. On PostgreSQL a counter is advanced in a short
-- transaction of its own, so a number whose work then rolls back is skipped.
CREATE TABLE core_counters (
  name TEXT PRIMARY KEY,
  value {{bigint}} NOT NULL
);
