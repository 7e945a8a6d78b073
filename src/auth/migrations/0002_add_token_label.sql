-- What an API token is for ("12345 热线对接"), shown in /admin/tokens and `zhenwu token list`.
ALTER TABLE auth_tokens ADD COLUMN label TEXT NOT NULL DEFAULT '';
