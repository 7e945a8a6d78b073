-- The day's case sequence per town moves to the shared counters (db::Conn::NextNumber), which
-- PostgreSQL advances outside the case's transaction.
INSERT INTO core_counters (name, value)
  SELECT 'services.case/' || prefix, last_value FROM services_case_seq;
DROP TABLE services_case_seq;
