#!/usr/bin/env bash
# bench/login_storm.sh: are the pages of a signed-in user slowed by a login storm? (issue 3)
#
# Starts the Release zhenwu on the Pingzheng demo (SQLite, the repo's zhenwu.toml, with
# --trust-proxy as behind nginx), adds ZW_STORM_ACCOUNTS staff accounts bench0001 … (the demo
# password), signs in as the demo admin and then measures, with wrk, ZW_BENCH_CONNECTIONS (200)
# connections viewing /admin as that admin:
#   1. alone, for ZW_BENCH_DURATION (20s), then
#   2. the same, while a second wrk (ZW_STORM_CONNECTIONS, 64) keeps posting /login: 50 % right
#      passwords, 40 % wrong ones, 10 % unknown logins, spread over the accounts and over random
#      client addresses (X-Forwarded-For), so that neither lockout makes the attempts cheap;
#      then waits until every queued attempt is hashed.
# in ZW_STORM_ROUNDS (3) rounds, since other work on the machine moves single runs.
# It prints requests/s and p99 of the page in both runs and their ratios, logins/s, and the
# argon2id hashes per login attempt, read from the server's own counters (/metrics:
# zhenwu_password_hashes_total against zhenwu_http_requests_total of POST /login).
set -euo pipefail
# shellcheck source=scripts/setup.sh
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/setup.sh"
cd "$ZW_ROOT"

readonly DURATION="${ZW_BENCH_DURATION:-20s}"
readonly CONNECTIONS="${ZW_BENCH_CONNECTIONS:-200}"
readonly STORM_CONNECTIONS="${ZW_STORM_CONNECTIONS:-64}"
readonly ACCOUNTS="${ZW_STORM_ACCOUNTS:-400}"
readonly PAGE=/admin
readonly DEMO_PASSWORD="Demo@2026"  # auth::kDemoPassword
readonly STORM_LEAD=5                # seconds the storm runs before the page is measured
readonly ROUNDS="${ZW_STORM_ROUNDS:-3}"  # alone / during the storm, in turns

work=""
zhenwu_pid=""
storm_pid=""
url=""

cleanup() {
  local pid
  for pid in "$storm_pid" "$zhenwu_pid"; do
    if [[ -n "$pid" ]]; then
      kill -TERM "$pid" 2>/dev/null || true
      wait "$pid" 2>/dev/null || true
    fi
  done
  if [[ -n "$work" ]]; then
    rm -rf "$work"
  fi
}

wait_for_listening() {
  local file="$1" pid="$2" i found
  for ((i = 0; i < 200; i++)); do
    found="$(grep -Eo 'listening on http://127\.0\.0\.1:[0-9]+' "$file" 2>/dev/null | head -n 1)" ||
      true
    if [[ -n "$found" ]]; then
      printf '%s\n' "${found#listening on }"
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  cat "$file" >&2
  zw_die "zhenwu did not start"
}

# Staff accounts for the storm, written straight into the demo database (no command creates
# users in bulk): each a copy of the demo admin's row with its argon2id hash of the demo
# password, in the admin's unit, with no grants.
add_storm_accounts() {
  sqlite3 "$work/zhenwu.db" <<SQL
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $ACCOUNTS)
INSERT INTO auth_users (kind, login, display_name, unit_id, password_hash, password_changed_ms,
                        created_ms, updated_ms)
SELECT 'staff', printf('bench%04d', i), printf('压测用户%04d', i), u.unit_id, u.password_hash,
       u.password_changed_ms, u.created_ms, u.updated_ms
FROM n, auth_users u WHERE u.login = 'admin';
SQL
}

start_zhenwu() {
  local args=(--config "$ZW_ROOT/zhenwu.toml" --db "sqlite:$work/zhenwu.db")
  (cd "$work" && "$ZW_RELEASE_DIR/zhenwu" demo "${args[@]}") >"$work/demo.log" 2>&1 ||
    { cat "$work/demo.log" >&2; zw_die "zhenwu demo failed"; }
  add_storm_accounts
  # The access log off: at these rates it measures the log more than the server.
  (cd "$work" && exec "$ZW_RELEASE_DIR/zhenwu" serve "${args[@]}" --listen 127.0.0.1:0 \
    --trust-proxy --access-log=false) >"$work/zhenwu.log" 2>&1 &
  zhenwu_pid=$!
  url="$(wait_for_listening "$work/zhenwu.log" "$zhenwu_pid")"
}

# Prints the anonymous CSRF token the login form carries; the cookie jar keeps its cookie.
csrf_token() {
  local jar="$1"
  curl -sSf -c "$jar" -b "$jar" "$url/login" |
    sed -n 's/.*name="_csrf" value="\([^"]*\)".*/\1/p' | head -n 1
}

# Signs in as LOGIN and prints the session id.
session_of() {
  local login="$1" jar="$work/jar-$1" csrf status
  csrf="$(csrf_token "$jar")"
  [[ -n "$csrf" ]] || zw_die "the login page carries no _csrf"
  status="$(curl -sS -o /dev/null -w '%{http_code}' -c "$jar" -b "$jar" \
    --data-urlencode "_csrf=$csrf" --data-urlencode "kind=staff" \
    --data-urlencode "login=$login" --data-urlencode "password=$DEMO_PASSWORD" "$url/login")"
  [[ "$status" == 303 ]] || zw_die "login as $login answered $status"
  awk '$6 == "zw_sid" { print $7 }' "$jar"
}

# Sum of the /metrics samples whose line starts with PREFIX.
metric_sum() {
  local prefix="$1"
  curl -sSf "$url/metrics" | awk -v p="$prefix" 'index($0, p) == 1 { s += $NF } END { printf "%d\n", s }'
}

# wrk on the page as the signed-in admin; prints "requests/s p99_us non2xx".
measure_page() {
  local label="$1" duration="$2" sid="$3" out line
  out="$(wrk -t1 -c"$CONNECTIONS" -d"$duration" --latency -H "Cookie: zw_sid=$sid" \
    -s "$ZW_ROOT/bench/wrk/report.lua" "$url$PAGE")"
  printf '### %s\n%s\n\n' "$label" "$out" >>"$work/wrk.log"
  line="$(grep '^ZW_RESULT ' <<<"$out")" || zw_die "wrk printed no result"
  printf '%s %s %s\n' "$(sed -n 's/.* rps=\([0-9.]*\).*/\1/p' <<<"$line")" \
    "$(sed -n 's/.* p99_us=\([0-9]*\).*/\1/p' <<<"$line")" \
    "$(sed -n 's/.* non2xx=\([0-9]*\).*/\1/p' <<<"$line")"
}

main() {
  trap cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM

  zw_install_packages "${ZW_BUILD_PACKAGES[@]}" "${ZW_BENCH_PACKAGES[@]}" sqlite3
  zw_build_release zhenwu
  work="$(mktemp -d -t zhenwu-storm.XXXXXX)"

  start_zhenwu
  local sid storm_csrf
  sid="$(session_of admin)"
  [[ -n "$sid" ]] || zw_die "no session cookie after the admin's login"
  [[ "$(curl -sS -o /dev/null -w '%{http_code}' -H "Cookie: zw_sid=$sid" "$url$PAGE")" == 200 ]] ||
    zw_die "$PAGE does not answer 200 to the signed-in admin"
  storm_csrf="$(csrf_token "$work/jar-storm")"

  zw_log "warming up (3s)"
  measure_page "warm-up" 3s "$sid" >/dev/null

  local context
  context="$(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'),"
  context+=" load average $(cut -d' ' -f1-3 /proc/loadavg) before measuring"

  local quiet storm round rows="" storm_lines="" hashes=0 logins=0 storm_time=0
  local h0 l0 t0 h1 l1 t1 i line
  for ((round = 1; round <= ROUNDS; round++)); do
    zw_log "round $round/$ROUNDS: $PAGE alone (wrk -t1 -c$CONNECTIONS -d$DURATION)"
    read -r -a quiet <<<"$(measure_page "round $round: $PAGE alone" "$DURATION" "$sid")"

    h0="$(metric_sum 'zhenwu_password_hashes_total')"
    l0="$(metric_sum 'zhenwu_http_requests_total{route="/login",method="POST"')"
    t0="$(date +%s.%N)"
    zw_log "round $round/$ROUNDS: the same during a login storm (wrk -c$STORM_CONNECTIONS)"
    wrk -t1 -c"$STORM_CONNECTIONS" -d"$((${DURATION%s} + STORM_LEAD + 1))s" --timeout 120s \
      --latency -s "$ZW_ROOT/bench/wrk/login_storm.lua" "$url" -- "$storm_csrf" "$ACCOUNTS" \
      "$DEMO_PASSWORD" >"$work/storm.log" 2>&1 &
    storm_pid=$!
    sleep "$STORM_LEAD"
    read -r -a storm <<<"$(measure_page "round $round: $PAGE during the storm" "$DURATION" "$sid")"
    wait "$storm_pid" || zw_die "the storm's wrk failed: $(cat "$work/storm.log")"
    storm_pid=""
    # Attempts still queued for a hash when wrk stopped are finished (and counted) before the
    # next quiet run.
    for ((i = 0; i < 1200; i++)); do
      [[ "$(metric_sum 'zhenwu_password_hashes_waiting')" == 0 ]] && break
      sleep 0.1
    done
    t1="$(date +%s.%N)"
    h1="$(metric_sum 'zhenwu_password_hashes_total')"
    l1="$(metric_sum 'zhenwu_http_requests_total{route="/login",method="POST"')"
    hashes=$((hashes + h1 - h0))
    logins=$((logins + l1 - l0))
    storm_time="$(awk -v a="$storm_time" -v b="$t0" -v c="$t1" 'BEGIN { print a + c - b }')"
    line="$(grep '^ZW_STORM ' "$work/storm.log")" || zw_die "the storm's wrk printed no result"
    storm_lines+="$line|"
    printf '### round %s: login storm\n%s\n\n' "$round" "$(cat "$work/storm.log")" >>"$work/wrk.log"
    rows+="$round ${quiet[0]} ${quiet[1]} ${quiet[2]} ${storm[0]} ${storm[1]} ${storm[2]}"$'\n'
  done

  local report
  report="$(awk -v c="$CONNECTIONS" -v page="$PAGE" -v h="$hashes" -v l="$logins" \
    -v secs="$storm_time" -v storms="$storm_lines" '
    function median(a, n,   i, j, t) {
      for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
      return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
    }
    NF == 7 {
      n++
      rr[n] = $5 / $2; pr[n] = $6 / $3
      printf "%5d %10.0f %9.1f ms %7d %10.0f %9.1f ms %7d %8.2f %8.2f\n", $1, $2, $3 / 1000, $4,
             $5, $6 / 1000, $7, $5 / $2, $6 / $3
    }
    BEGIN {
      printf "signed-in %s, %s connections: alone, and during a login storm\n", page, c
      printf "%5s %10s %12s %7s %10s %12s %7s %8s %8s\n", "round", "req/s", "p99", "non2xx",
             "req/s", "p99", "non2xx", "req/s", "p99"
      printf "%5s %30s %30s %17s\n", "", "alone", "during the storm", "storm / alone"
    }
    END {
      printf "median ratio storm / alone: requests/s %.2f, p99 %.2f\n", median(rr, n), median(pr, n)
      split(storms, ls, "|")
      for (k in ls) {
        split(ls[k], kv, " ")
        for (m in kv) { split(kv[m], p, "="); if (p[1] != "ZW_STORM") s[p[1]] += p[2] }
      }
      printf "\nlogin storm: %.1f logins/s answered by the server (%d POST /login in %.0f s of storm " \
             "and drain); as the storm clients saw them: %d signed in, %d wrong password or " \
             "unknown, %d locked out (429), %d busy (503), %d other\n",
             (secs > 0 ? l / secs : 0), l, secs, s["ok"], s["wrong"], s["blocked"], s["busy"],
             s["other"]
      printf "argon2id hashes per POST /login (server counters): %d / %d = %.3f\n", h, l,
             (l > 0 ? h / l : 0)
    }' <<<"$rows")"

  mkdir -p bench/results
  local result
  result="bench/results/login-storm-$(date +%Y%m%d-%H%M%S).txt"
  {
    printf '%s\n%s accounts, storm of %s connections\n\n%s\n' "$context" "$ACCOUNTS" \
      "$STORM_CONNECTIONS" "$report"
    printf '\n--- wrk output ---\n'
    cat "$work/wrk.log"
  } >"$result"
  printf '\n%s\n\n%s\n\nfull wrk output in %s\n' "$context" "$report" "$result"
}

main "$@"
