#!/usr/bin/env bash
# bench/cases.sh [sqlite|postgres|all]: the two load targets of the services module (issue 4), on
# SQLite and on PostgreSQL (default: both, one after the other):
#
#   1. creating cases through the JSON API: wrk -c64 POSTs /api/v1/cases with the window clerk's
#      API token, a new applicant (valid ID-card number) and an Idempotency-Key per request;
#      durable writes (SQLite synchronous=FULL; PostgreSQL fsync=on, synchronous_commit=on).
#      Reports cases/s and checks the count in the database against the 201 answers;
#   2. the clerk's desk /desk/cases (the first page of the queue with its counts) with
#      ZW_BENCH_CASES (50000) cases in the database, all in the clerk's window: wrk with the
#      clerk's session cookie at 1, 8 and 64 connections (ZW_BENCH_DESK_CONNECTIONS), reporting
#      requests/s, p50 and p99;
#   3. the reference for 1, measured in the same run between 1 and 2 with zhenwu stopped:
#      bench_case_rows (bench/micro/case_rows.cpp) runs the statements of the same creates through
#      the same db layer with as many writers and the same pool, but without HTTP, JSON, tokens,
#      validation and encryption. "create/reference" is the share of the database's own rate that
#      the API reaches; the reference itself is the most this machine's database can do for the
#      rows a case writes.
#
# ZW_BENCH_DURATION (10s), ZW_BENCH_CONNECTIONS (64, for creating), ZW_BENCH_CASES (50000),
# ZW_BENCH_PG_POOL (database.pool for PostgreSQL; empty: the configured default) tune it;
# ZW_BENCH_NO_BUILD=1 skips the Release build.
# Results go to bench/results/cases-*.txt (not committed) with the machine and its load.
set -euo pipefail
# shellcheck source=scripts/setup.sh
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/setup.sh"
cd "$ZW_ROOT"

readonly DURATION="${ZW_BENCH_DURATION:-10s}"
readonly CONNECTIONS="${ZW_BENCH_CONNECTIONS:-64}"
readonly TARGET_CASES="${ZW_BENCH_CASES:-50000}"
readonly PG_POOL="${ZW_BENCH_PG_POOL:-}"
readonly DESK_CONNECTIONS="${ZW_BENCH_DESK_CONNECTIONS:-1 8 64}"
readonly WARMUP=2s
readonly FILL_STEP=5s
readonly PG_BIN=/usr/lib/postgresql/15/bin
readonly PG_USER=zwpg
readonly DEMO_PASSWORD='Demo@2026'

work=""
zhenwu_pid=""
zhenwu_url=""
pg_dir=""
pg_url=""
pg_run=()
db_url=""
run_no=0
report=""

cleanup() {
  stop_zhenwu
  stop_postgres
  if [[ -n "$work" ]]; then
    rm -rf "$work"
  fi
}

stop_zhenwu() {
  if [[ -n "$zhenwu_pid" ]]; then
    kill -TERM "$zhenwu_pid" 2>/dev/null || true
    wait "$zhenwu_pid" 2>/dev/null || true
    zhenwu_pid=""
  fi
}

# A throwaway PostgreSQL 15 cluster in $work/pg, run by the unprivileged $PG_USER when we are
# root. Durable: fsync and synchronous_commit stay on, as a county's server would run.
start_postgres() {
  pg_dir="$work/pg"
  mkdir -p "$pg_dir"
  if ((EUID == 0)); then
    if ! id -u "$PG_USER" >/dev/null 2>&1; then
      useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin \
        "$PG_USER"
    fi
    chown "$PG_USER:" "$pg_dir"
    chmod 755 "$work"
    pg_run=(runuser -u "$PG_USER" --)
  fi
  local port
  port="$(zw_free_port)"
  "${pg_run[@]}" "$PG_BIN/initdb" -D "$pg_dir/data" -U zhenwu --auth=trust --encoding=UTF8 \
    --locale=C.UTF-8 >"$work/pg-init.log" 2>&1 || { cat "$work/pg-init.log" >&2; zw_die "initdb failed"; }
  "${pg_run[@]}" "$PG_BIN/pg_ctl" -D "$pg_dir/data" -l "$pg_dir/server.log" -w -t 60 start \
    -o "-p $port -k $pg_dir -c listen_addresses=127.0.0.1 -c max_connections=200 \
    -c shared_buffers=256MB" >"$work/pg-start.log" 2>&1 ||
    { cat "$work/pg-start.log" "$pg_dir/server.log" >&2; zw_die "PostgreSQL did not start"; }
  "${pg_run[@]}" "$PG_BIN/createdb" -h 127.0.0.1 -p "$port" -U zhenwu zhenwu_bench
  pg_url="postgresql://zhenwu@127.0.0.1:$port/zhenwu_bench"
}

stop_postgres() {
  [[ -n "$pg_dir" ]] || return 0
  if [[ -f "$pg_dir/data/postmaster.pid" ]]; then
    "${pg_run[@]}" "$PG_BIN/pg_ctl" -D "$pg_dir/data" -m fast -w -t 60 stop >/dev/null 2>&1 ||
      true
  fi
  pg_dir=""
}

# One number from the database (sqlite3 or psql on the URL in use).
db_value() {
  local sql="$1"
  if [[ "$db_url" == sqlite:* ]]; then
    sqlite3 -readonly "${db_url#sqlite:}" "$sql"
  else
    psql -X -q -At "$db_url" -c "$sql"
  fi
}

case_count() { db_value "SELECT COUNT(*) FROM services_cases"; }

# database.pool of zhenwu.toml (zhenwu's default, 4, when it does not say).
config_pool() {
  local pool
  pool="$(sed -n '/^\[database\]/,/^\[/s/^pool *= *\([0-9]*\).*/\1/p' "$ZW_ROOT/zhenwu.toml")"
  printf '%s\n' "${pool:-4}"
}

# The case count once requests still in flight after a wrk run (the server finishes what it has
# received) have committed: the same answer twice, half a second apart.
settled_count() {
  local a b
  a="$(case_count)"
  while sleep 0.5; b="$(case_count)"; [[ "$a" != "$b" ]]; do a="$b"; done
  printf '%s\n' "$b"
}

zhenwu_cmd() {
  local args=(--config "$ZW_ROOT/zhenwu.toml" --db "$db_url")
  (cd "$work" && "$ZW_RELEASE_DIR/zhenwu" "$@" "${args[@]}")
}

# Waits until FILE contains "listening on http://127.0.0.1:PORT" and prints that URL.
wait_for_listening() {
  local file="$1" pid="$2" i url
  for ((i = 0; i < 300; i++)); do
    url="$(grep -Eo 'listening on http://127\.0\.0\.1:[0-9]+' "$file" 2>/dev/null | head -n 1)" || true
    if [[ -n "$url" ]]; then
      printf '%s\n' "${url#listening on }"
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  cat "$file" >&2
  zw_die "zhenwu did not start"
}

start_zhenwu() {
  local extra=()
  if [[ "$db_url" != sqlite:* && -n "$PG_POOL" ]]; then
    extra+=(--db-pool "$PG_POOL")
  fi
  # The access log stays on, as zhenwu.toml ships it.
  (cd "$work" && exec "$ZW_RELEASE_DIR/zhenwu" serve --config "$ZW_ROOT/zhenwu.toml" \
    --db "$db_url" --listen 127.0.0.1:0 "${extra[@]}") >"$work/zhenwu.log" 2>&1 &
  zhenwu_pid=$!
  zhenwu_url="$(wait_for_listening "$work/zhenwu.log" "$zhenwu_pid")"
}

# Prints "requests/s p50_us p99_us requests non2xx socket_errors [created other]" of one wrk run
# with CONNS connections.
wrk_run() {
  local label="$1" conns="$2" duration="$3" script="$4" url="$5"
  shift 5
  local out
  # A long timeout: a slow answer is measured as slow, not dropped as a wrk timeout.
  out="$(wrk -t1 -c"$conns" -d"$duration" --timeout 30s --latency -s "$script" "$@" "$url" 2>"$work/wrk.err")" ||
    { cat "$work/wrk.err" >&2; zw_die "wrk failed: $label"; }
  printf '### %s\n%s\n%s\n\n' "$label" "$out" "$(cat "$work/wrk.err")" >>"$work/wrk.log"
  local line cases
  line="$(grep '^ZW_RESULT ' <<<"$out")" || zw_die "wrk printed no result for $label"
  cases="$(grep '^ZW_CASES ' <<<"$out" || true)"
  local field v result=""
  for field in rps p50_us p99_us requests non2xx socket_errors; do
    v="$(sed -n "s/.* $field=\([0-9.]*\).*/\1/p" <<<"$line")"
    result+="$v "
  done
  if [[ -n "$cases" ]]; then
    result+="$(sed -n 's/.* created=\([0-9]*\).*/\1/p' <<<"$cases") "
    result+="$(sed -n 's/.* other=\([0-9]*\).*/\1/p' <<<"$cases")"
  fi
  printf '%s\n' "$result"
}

# Runs the case-creating wrk script for DURATION; exports the environment it needs.
create_cases() {
  local label="$1" duration="$2"
  run_no=$((run_no + 1))
  ZW_BENCH_OFFSET=$((run_no * 10000000)) wrk_run "$label" "$CONNECTIONS" "$duration" \
    "$ZW_ROOT/bench/wrk/create_cases.lua" "$zhenwu_url/api/v1/cases"
}

# Logs the clerk in through the sign-in form and prints the session cookie "zw_sid=…".
clerk_cookie() {
  local jar="$work/cookies" page csrf code
  rm -f "$jar"
  page="$(curl -sS -c "$jar" "$zhenwu_url/login")"
  csrf="$(grep -o 'name="_csrf" value="[^"]*"' <<<"$page" | head -n 1 | sed 's/.*value="//; s/"$//')"
  [[ -n "$csrf" ]] || zw_die "no CSRF token on /login"
  code="$(curl -sS -b "$jar" -c "$jar" -o /dev/null -w '%{http_code}' \
    --data-urlencode "_csrf=$csrf" --data-urlencode "login=clerk" \
    --data-urlencode "password=$DEMO_PASSWORD" --data-urlencode "kind=staff" "$zhenwu_url/login")"
  [[ "$code" == 303 ]] || zw_die "clerk sign-in answered $code"
  local sid
  sid="$(awk '$6 == "zw_sid" { print $7 }' "$jar")"
  [[ -n "$sid" ]] || zw_die "no session cookie after sign-in"
  printf 'zw_sid=%s\n' "$sid"
}

# Both targets on the database at $db_url; appends rows to $report.
bench_backend() {
  local backend="$1"
  zw_log "$backend: loading the Pingzheng demo"
  zhenwu_cmd demo >"$work/demo.log" 2>&1 || { cat "$work/demo.log" >&2; zw_die "zhenwu demo failed"; }
  export ZW_BENCH_TOKEN
  ZW_BENCH_TOKEN="$(zhenwu_cmd token create --user clerk 2>/dev/null)"
  [[ "$ZW_BENCH_TOKEN" == zw_* ]] || zw_die "no API token for clerk"
  # A service of the clerk's window (民政办) and a village of the town for the applicants.
  local clerk_unit
  clerk_unit="$(db_value "SELECT unit_id FROM auth_users WHERE login = 'clerk'")"
  export ZW_BENCH_SERVICE ZW_BENCH_VILLAGE
  ZW_BENCH_SERVICE="$(db_value "SELECT code FROM services_services WHERE unit_id = $clerk_unit \
    AND retired_at_ms IS NULL ORDER BY code LIMIT 1")"
  ZW_BENCH_VILLAGE="$(db_value "SELECT id FROM org_units WHERE name = '示例一村' AND kind = 'village'")"
  [[ -n "$ZW_BENCH_SERVICE" ]] || zw_die "the demo has no service of the clerk's window"
  [[ -n "$ZW_BENCH_VILLAGE" ]] || zw_die "the demo has no 示例一村"

  start_zhenwu
  zw_log "$backend: zhenwu at $zhenwu_url, service $ZW_BENCH_SERVICE, village $ZW_BENCH_VILLAGE"

  # One request by hand first, so that a broken setup fails with its message.
  local probe
  probe="$(curl -sS -o "$work/probe.json" -w '%{http_code}' -H "Authorization: Bearer $ZW_BENCH_TOKEN" \
    "$zhenwu_url/api/v1/services/$ZW_BENCH_SERVICE")"
  [[ "$probe" == 200 ]] || { cat "$work/probe.json" >&2; zw_die "GET /api/v1/services answered $probe"; }

  local context
  context="$(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'),"
  context+=" load average $(cut -d' ' -f1-3 /proc/loadavg) before measuring"

  zw_log "$backend: creating cases (warm-up $WARMUP, then $DURATION, wrk -c$CONNECTIONS)"
  create_cases "$backend create (warm-up)" "$WARMUP" >/dev/null
  local before after r
  before="$(settled_count)"
  r="$(create_cases "$backend create" "$DURATION")"
  # Requests still in flight when wrk stops commit after it counted: at most one per connection.
  after="$(settled_count)"
  local -a c
  read -r -a c <<<"$r"
  local stored=$((after - before)) verdict=ok
  if ((stored < c[6] || stored > c[6] + CONNECTIONS)); then verdict="MISMATCH"; fi
  ((c[7] == 0 && c[5] == 0)) || verdict="ERRORS"
  report+="$(printf '%-9s %-34s %9.0f %9.2f ms %9.2f ms  201=%s other=%s socket_errors=%s stored=%s %s' \
    "$backend" "create POST /api/v1/cases -c$CONNECTIONS" "${c[0]}" "$(awk -v v="${c[1]}" 'BEGIN{print v/1000}')" \
    "$(awk -v v="${c[2]}" 'BEGIN{print v/1000}')" "${c[6]}" "${c[7]}" "${c[5]}" "$stored" "$verdict")"$'\n'

  # The reference, in the same run on the same database with zhenwu stopped: the statements of
  # the same creates through the same db layer, writers and pool, without HTTP and the rest.
  stop_zhenwu
  zw_log "$backend: reference: the database's share of a create (bench_case_rows, $CONNECTIONS writers)"
  local ref_seconds="${DURATION%s}"
  [[ "$ref_seconds" =~ ^[0-9]+$ ]] || ref_seconds=10
  local ref_args=(--db "$db_url" --service "$ZW_BENCH_SERVICE" --village "$ZW_BENCH_VILLAGE"
    --seconds "$ref_seconds" --writers "$CONNECTIONS" --pool "${PG_POOL:-$(config_pool)}")
  local ref ref_rate
  ref="$("$ZW_RELEASE_DIR/bench/bench_case_rows" "${ref_args[@]}" 2>"$work/ref.err")" ||
    { cat "$work/ref.err" >&2; zw_die "bench_case_rows failed"; }
  ref_rate="$(sed -n 's/^creates\/s=\([0-9]*\).*/\1/p' <<<"$ref")"
  report+="$(printf '%-9s %-34s %9.0f %12s %12s  (%s) create/reference=%.2f' "$backend" \
    "reference: rows of a create, no HTTP" "$ref_rate" - - "$ref" \
    "$(awk -v a="${c[0]}" -v b="$ref_rate" 'BEGIN{print (b > 0 ? a / b : 0)}')")"$'\n'
  start_zhenwu

  zw_log "$backend: filling the database to $TARGET_CASES cases"
  local count
  count="$(case_count)"
  while ((count < TARGET_CASES)); do
    create_cases "$backend fill" "$FILL_STEP" >/dev/null
    count="$(settled_count)"
    printf '    %s cases\n' "$count"
  done
  # The desk is measured in a steady state, not while PostgreSQL still digests the burst of
  # inserts: the VACUUM ANALYZE and checkpoint that autovacuum and the checkpointer would run in
  # the next minutes are run first (SQLite's checkpointer keeps up while it writes).
  if [[ "$db_url" != sqlite:* ]]; then
    zw_log "$backend: VACUUM ANALYZE and CHECKPOINT before measuring the desk"
    psql -X -q "$db_url" -c "VACUUM ANALYZE" -c "CHECKPOINT" >/dev/null
  fi

  local cookie desk_status
  cookie="$(clerk_cookie)"
  desk_status="$(curl -sS -o "$work/desk.html" -w '%{http_code}' -H "Cookie: $cookie" \
    "$zhenwu_url/desk/cases")"
  [[ "$desk_status" == 200 ]] || { head -c 2000 "$work/desk.html" >&2; zw_die "/desk/cases answered $desk_status"; }
  local conns
  for conns in $DESK_CONNECTIONS; do
    zw_log "$backend: the clerk's desk with $count cases, $conns connections"
    wrk_run "$backend desk c$conns (warm-up)" "$conns" "$WARMUP" \
      "$ZW_ROOT/bench/wrk/report.lua" "$zhenwu_url/desk/cases" -H "Cookie: $cookie" >/dev/null
    r="$(wrk_run "$backend desk c$conns" "$conns" "$DURATION" "$ZW_ROOT/bench/wrk/report.lua" \
      "$zhenwu_url/desk/cases" -H "Cookie: $cookie")"
    read -r -a c <<<"$r"
    verdict=ok
    ((c[4] == 0 && c[5] == 0)) || verdict="ERRORS"
    report+="$(printf '%-9s %-34s %9.0f %9.2f ms %9.2f ms  cases=%s bytes=%s non2xx=%s %s' \
      "$backend" "desk GET /desk/cases -c$conns" "${c[0]}" \
      "$(awk -v v="${c[1]}" 'BEGIN{print v/1000}')" "$(awk -v v="${c[2]}" 'BEGIN{print v/1000}')" \
      "$count" "$(stat -c %s "$work/desk.html")" "${c[4]}" "$verdict")"$'\n'
  done
  report+="          ($context)"$'\n'
  stop_zhenwu
}

usage() {
  echo "usage: bench/cases.sh [sqlite|postgres|all]" >&2
  exit 2
}

main() {
  local which="${1:-all}"
  case "$which" in sqlite | postgres | all) ;; *) usage ;; esac
  trap cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM

  zw_install_packages "${ZW_BUILD_PACKAGES[@]}" "${ZW_BENCH_PACKAGES[@]}" postgresql-15
  # ZW_BENCH_NO_BUILD=1 measures the binary already in build/release as it is.
  [[ -n "${ZW_BENCH_NO_BUILD:-}" ]] || zw_build_release zhenwu bench_case_rows
  work="$(mktemp -d -t zhenwu-cases.XXXXXX)"
  chmod 755 "$work"

  if [[ "$which" != postgres ]]; then
    db_url="sqlite:$work/zhenwu.db"
    bench_backend sqlite
  fi
  if [[ "$which" != sqlite ]]; then
    start_postgres
    db_url="$pg_url"
    bench_backend postgres
    stop_postgres
  fi

  local header result
  header="$(printf '%-9s %-34s %9s %12s %12s' backend target 'req/s' p50 p99)"
  mkdir -p bench/results
  result="bench/results/cases-$(date +%Y%m%d-%H%M%S).txt"
  {
    printf 'commit %s, wrk -t1 -d%s, %s cases for the desk\n\n' \
      "$(git rev-parse --short HEAD 2>/dev/null || echo '?')" "$DURATION" "$TARGET_CASES"
    printf '%s\n%s' "$header" "$report"
    printf '\n--- wrk output ---\n'
    cat "$work/wrk.log"
  } >"$result"
  printf '\n%s\n%s\nfull wrk output in %s\n' "$header" "$report" "$result"
}

main "$@"
