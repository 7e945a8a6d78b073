-- 政务服务事项: what each window offers. unit_id is the implementing window (or village window).
CREATE TABLE services_services (
  id {{id}},
  code TEXT NOT NULL UNIQUE,
  unit_id {{bigint}} NOT NULL,
  name TEXT NOT NULL,
  category TEXT NOT NULL DEFAULT '',
  life_events TEXT NOT NULL DEFAULT '',  -- ",birth,pension," (keys between commas)
  legal_basis TEXT NOT NULL DEFAULT '',
  conditions TEXT NOT NULL DEFAULT '',
  statutory_days {{bigint}} NOT NULL,
  promised_days {{bigint}} NOT NULL,
  fee TEXT NOT NULL DEFAULT '',
  place TEXT NOT NULL DEFAULT '',
  hours TEXT NOT NULL DEFAULT '',
  phone TEXT NOT NULL DEFAULT '',
  online {{bigint}} NOT NULL DEFAULT 0,
  proxy {{bigint}} NOT NULL DEFAULT 0,
  retired_at_ms {{bigint}},
  demo {{bigint}} NOT NULL DEFAULT 0,
  created_at_ms {{bigint}} NOT NULL,
  updated_at_ms {{bigint}} NOT NULL
);
CREATE INDEX services_services_unit ON services_services (unit_id, code);

-- 申请材料 of a service, in order. sample_* reference a file in the file store.
CREATE TABLE services_materials (
  id {{id}},
  service_id {{bigint}} NOT NULL REFERENCES services_services (id),
  sort_order {{bigint}} NOT NULL,
  name TEXT NOT NULL,
  form TEXT NOT NULL,
  copies {{bigint}} NOT NULL DEFAULT 1,
  required {{bigint}} NOT NULL DEFAULT 1,
  note TEXT NOT NULL DEFAULT '',
  sample_sha256 TEXT NOT NULL DEFAULT '',
  sample_name TEXT NOT NULL DEFAULT '',
  sample_type TEXT NOT NULL DEFAULT ''
);
CREATE INDEX services_materials_service ON services_materials (service_id, sort_order);

-- The day's last case sequence per town code: the case number is CODE-YYYYMMDD-NNNN.
CREATE TABLE services_case_seq (
  prefix TEXT PRIMARY KEY,
  last_value {{bigint}} NOT NULL
);

-- 办件. unit_* is the unit handling the case now (it changes on 移交); origin_* where it was
-- applied (the village of a 代办, else the service's window). The applicant's phone is stored
-- encrypted (people keys) with a blind index for search, its mask, and its last four digits for
-- tracking. Days are 'YYYY-MM-DD' (Asia/Shanghai): start_day 申请日, due_day the current
-- deadline (NULL while paused for 补正 or once final), paused_since the day 补正 was asked.
CREATE TABLE services_cases (
  id {{id}},
  number TEXT NOT NULL UNIQUE,
  service_id {{bigint}} NOT NULL REFERENCES services_services (id),
  service_name TEXT NOT NULL,
  unit_id {{bigint}} NOT NULL,
  unit_path {{text_c}} NOT NULL,
  origin_unit_id {{bigint}} NOT NULL,
  origin_path {{text_c}} NOT NULL,
  channel TEXT NOT NULL,
  status TEXT NOT NULL,
  applicant_kind TEXT NOT NULL,
  resident_id {{bigint}},
  enterprise_id {{bigint}},
  applicant_user_id {{bigint}},
  applicant_name TEXT NOT NULL,
  phone_enc TEXT NOT NULL,
  phone_idx TEXT NOT NULL,
  phone_mask TEXT NOT NULL,
  phone4 TEXT NOT NULL,
  agent_user_id {{bigint}},
  agent_name TEXT NOT NULL DEFAULT '',
  description TEXT NOT NULL DEFAULT '',
  result TEXT NOT NULL DEFAULT '',
  promised_days {{bigint}} NOT NULL,
  start_day TEXT NOT NULL,
  paused_days {{bigint}} NOT NULL DEFAULT 0,
  paused_since TEXT,
  due_day TEXT,
  correction_round {{bigint}} NOT NULL DEFAULT 0,
  completed_by_user_id {{bigint}},
  completed_at_ms {{bigint}},
  overdue_at_completion {{bigint}} NOT NULL DEFAULT 0,
  rating_score {{bigint}},
  rating_comment TEXT,
  rated_at_ms {{bigint}},
  demo {{bigint}} NOT NULL DEFAULT 0,
  created_at_ms {{bigint}} NOT NULL,
  updated_at_ms {{bigint}} NOT NULL
);
CREATE INDEX services_cases_desk ON services_cases (unit_path, status, due_day, id);
CREATE INDEX services_cases_origin ON services_cases (origin_path, status, id);
CREATE INDEX services_cases_phone ON services_cases (phone_idx);
CREATE INDEX services_cases_name ON services_cases (applicant_name);
CREATE INDEX services_cases_start ON services_cases (start_day, id);

-- Files of a case: the applicant's materials (round 0 = application, n = the n-th 补正) and the
-- result documents of 办结. sha256 references the file store.
CREATE TABLE services_case_files (
  id {{id}},
  case_id {{bigint}} NOT NULL REFERENCES services_cases (id),
  material_id {{bigint}} NOT NULL DEFAULT 0,
  material_name TEXT NOT NULL DEFAULT '',
  kind TEXT NOT NULL,
  sha256 TEXT NOT NULL,
  name TEXT NOT NULL,
  content_type TEXT NOT NULL,
  size {{bigint}} NOT NULL,
  round {{bigint}} NOT NULL DEFAULT 0,
  superseded {{bigint}} NOT NULL DEFAULT 0,
  uploaded_at_ms {{bigint}} NOT NULL
);
CREATE INDEX services_case_files_case ON services_case_files (case_id, id);

-- 一次性告知: every item the clerk ticked in one 补正 round.
CREATE TABLE services_case_corrections (
  id {{id}},
  case_id {{bigint}} NOT NULL REFERENCES services_cases (id),
  round {{bigint}} NOT NULL,
  material_id {{bigint}} NOT NULL DEFAULT 0,
  material_name TEXT NOT NULL DEFAULT '',
  reason TEXT NOT NULL,
  resolved_at_ms {{bigint}}
);
CREATE INDEX services_case_corrections_case ON services_case_corrections (case_id, round);

-- The history of a case: who did what, when, with a note.
CREATE TABLE services_case_events (
  id {{id}},
  case_id {{bigint}} NOT NULL REFERENCES services_cases (id),
  action TEXT NOT NULL,
  from_status TEXT,
  to_status TEXT NOT NULL,
  at_ms {{bigint}} NOT NULL,
  actor_user_id {{bigint}},
  actor_name TEXT NOT NULL,
  unit_name TEXT NOT NULL DEFAULT '',
  note TEXT NOT NULL DEFAULT '',
  public_note {{bigint}} NOT NULL DEFAULT 1
);
CREATE INDEX services_case_events_case ON services_case_events (case_id, id);

-- 回访/整改 after a bad rating.
CREATE TABLE services_followups (
  id {{id}},
  case_id {{bigint}} NOT NULL UNIQUE REFERENCES services_cases (id),
  score {{bigint}} NOT NULL,
  owner_user_id {{bigint}},
  owner_name TEXT NOT NULL DEFAULT '',
  unit_id {{bigint}} NOT NULL,
  unit_path {{text_c}} NOT NULL,
  due_day TEXT NOT NULL,
  outcome TEXT NOT NULL DEFAULT '',
  closed_at_ms {{bigint}},
  created_at_ms {{bigint}} NOT NULL
);
CREATE INDEX services_followups_unit ON services_followups (unit_path, closed_at_ms, due_day);
