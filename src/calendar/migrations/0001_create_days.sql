-- The working-day calendar: dates that differ from the weekday rule. kind 'holiday' = a weekday
-- (or any day) without work; 'workday' = a weekend day that is worked (调休). Dates are
-- 'YYYY-MM-DD' in Asia/Shanghai.
CREATE TABLE calendar_days (
  day TEXT PRIMARY KEY,
  kind TEXT NOT NULL CHECK (kind IN ('holiday', 'workday')),
  name TEXT NOT NULL,
  updated_at_ms {{bigint}} NOT NULL
);
