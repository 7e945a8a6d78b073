-- The clerk's queue: open cases of one unit (or applied at one unit) in deadline order, cases
-- without a deadline (paused for 补正) last. One range of these partial indexes per status gives
-- a page in order without sorting the window's whole workload (ListCases merges the ranges), and the
-- queries repeat the index's status list literally so both databases know the index applies.
CREATE INDEX services_cases_open_unit ON services_cases
  (unit_path, status, COALESCE(due_day, '9999-12-31'), id)
  WHERE status IN ('submitted', 'correcting', 'accepted');
CREATE INDEX services_cases_open_origin ON services_cases
  (origin_path, status, COALESCE(due_day, '9999-12-31'), id)
  WHERE status IN ('submitted', 'correcting', 'accepted');
