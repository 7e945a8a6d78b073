-- The working days a follow-up was given when it opened (services.followup_days at that time), so
-- that a calendar edit recomputes its due_day from its start (the Shanghai date of created_at_ms)
-- with the limit it was opened with, not a later configuration. NULL on follow-ups opened before
-- this column: they are recomputed with the configured services.followup_days.
ALTER TABLE services_followups ADD COLUMN limit_days {{bigint}};
