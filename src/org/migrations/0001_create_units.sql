-- The org tree: 市 → 县 → 镇 → 部门/窗口, 镇 → 村（社区） → 村窗口.
-- path is the materialised path "/1/4/17/" (ids of the ancestors and the unit itself), compared
-- bytewise on both databases so that a subtree is the range [path, path-with-final-'/'-as-'0').
CREATE TABLE org_units (
  id {{id}},
  parent_id {{bigint}} REFERENCES org_units(id),
  kind TEXT NOT NULL,
  name TEXT NOT NULL,
  code TEXT NOT NULL,
  division_code TEXT NOT NULL DEFAULT '',
  path {{text_c}} NOT NULL,
  depth INTEGER NOT NULL,
  sort_order INTEGER NOT NULL DEFAULT 0,
  retired_at_ms {{bigint}},
  demo INTEGER NOT NULL DEFAULT 0,
  created_at_ms {{bigint}} NOT NULL,
  updated_at_ms {{bigint}} NOT NULL
);
CREATE UNIQUE INDEX org_units_code ON org_units(code);
CREATE INDEX org_units_path ON org_units(path);
CREATE INDEX org_units_parent ON org_units(parent_id);
