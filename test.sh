#!/usr/bin/env bash
# ./test.sh [--quick]: the set-up of run.sh plus the test tools, then every test: unit, both
# databases and HTTP on the Release build, unit and HTTP again under ASan/UBSan (not with
# --quick), and the browser tests. Starts and stops its own PostgreSQL 15. The last line of output
# is "N passed, N failed"; the exit code is non-zero when a test or a build failed.
# Warnings are errors unless ZW_WERROR=OFF (for a compiler other than Debian 12's g++ 12).
set -euo pipefail
# shellcheck source=scripts/setup.sh
source "$(dirname "${BASH_SOURCE[0]}")/scripts/setup.sh"
cd "$ZW_ROOT"

readonly PG_BIN=/usr/lib/postgresql/15/bin
readonly PG_USER=zhenwu-test

passed=0
failed=0
skipped=0
phase_lines=()
pg_dir=""
pg_run=()

usage() {
  cat <<'EOF'
usage: ./test.sh [--quick]
  --quick   skip the ASan/UBSan build and its tests
EOF
}

# Runs "$@" as one timed phase called NAME and records how it went. Errexit does not apply inside
# the phase (bash ignores it in functions called from a condition), so phases check each step.
phase() {
  local name="$1"
  shift
  local start=$SECONDS rc=0
  zw_log "$name"
  "$@" || rc=$?
  local result=ok
  ((rc == 0)) || result=FAILED
  phase_lines+=("$(printf '%-24s %5ds  %s' "$name" $((SECONDS - start)) "$result")")
  return "$rc"
}

# A step that is not a test but that the tests need (a build, the database, npm ci) counts as one
# failed test when it fails, so that the closing line never looks clean after a broken build.
setup_step() {
  "$@" && return 0
  failed=$((failed + 1))
  return 1
}

start_postgres() {
  pg_dir="$(mktemp -d -t zhenwu-pg.XXXXXX)" || return
  if ((EUID == 0)); then
    # initdb and postgres refuse to run as root.
    if ! id -u "$PG_USER" >/dev/null 2>&1; then
      useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin \
        "$PG_USER" || return
    fi
    chown "$PG_USER:" "$pg_dir" || return
    pg_run=(runuser -u "$PG_USER" --)
  fi
  local port log="$ZW_BUILD/postgres-setup.log"
  port="$(zw_free_port)" || return
  zw_run_logged "$log" "${pg_run[@]}" "$PG_BIN/initdb" -D "$pg_dir/data" -U zhenwu --auth=trust \
    --encoding=UTF8 --locale=C.UTF-8 || return
  # Durability settings off: the cluster lives for one run.
  if ! zw_run_logged "$log" "${pg_run[@]}" "$PG_BIN/pg_ctl" -D "$pg_dir/data" \
    -l "$pg_dir/server.log" -w -t 60 start -o "-p $port -k $pg_dir \
    -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off \
    -c full_page_writes=off -c max_connections=200"; then
    cat "$pg_dir/server.log" >&2 || true
    return 1
  fi
  zw_run_logged "$log" "${pg_run[@]}" "$PG_BIN/createdb" -h 127.0.0.1 -p "$port" -U zhenwu \
    zhenwu_test || return
  export ZHENWU_TEST_PG="postgresql://zhenwu@127.0.0.1:$port/zhenwu_test"
  zw_log "PostgreSQL 15 at $ZHENWU_TEST_PG"
}

stop_postgres() {
  [[ -n "$pg_dir" ]] || return 0
  if [[ -f "$pg_dir/data/postmaster.pid" ]]; then
    "${pg_run[@]}" "$PG_BIN/pg_ctl" -D "$pg_dir/data" -m immediate -w -t 30 stop \
      >/dev/null 2>&1 || kill -KILL "$(head -n 1 "$pg_dir/data/postmaster.pid")" 2>/dev/null || true
  fi
  cp "$pg_dir/server.log" "$ZW_BUILD/postgres.log" 2>/dev/null || true
  rm -rf "$pg_dir"
  pg_dir=""
}

# Adds the counts of one ctest run (its output in LOG, exit code RC) to the totals.
count_ctest() {
  local log="$1" rc="$2" summary
  summary="$(grep -Eo '[0-9]+ tests failed out of [0-9]+' "$log" | tail -n 1)" || true
  if [[ -n "$summary" ]]; then
    local f total s
    read -r f _ _ _ _ total <<<"$summary"
    s="$(grep -Ec '^[[:space:]]*[0-9]+ - .* \(Skipped\)$' "$log")" || true
    passed=$((passed + total - f - s))
    failed=$((failed + f))
    skipped=$((skipped + s))
  elif ((rc != 0)); then
    failed=$((failed + 1))
  fi
}

# Runs ctest in the build directory DIR with the extra arguments, showing its output.
run_ctest() {
  local name="$1" dir="$2"
  shift 2
  local log="$ZW_BUILD/ctest-$name.log" rc=0
  ctest --test-dir "$dir" --output-on-failure --timeout 300 -j "$ZW_JOBS" "$@" 2>&1 \
    | tee "$log" || rc=$?
  count_ctest "$log" "$rc"
  return "$rc"
}

run_asan_ctest() {
  ASAN_OPTIONS="detect_leaks=1:detect_stack_use_after_return=1:check_initialization_order=1:strict_init_order=1" \
    UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1" \
    run_ctest asan "$ZW_ASAN_DIR" -L '^(unit|http)$'
}

npm_ci() {
  zw_run_logged "$ZW_BUILD/npm-ci.log" npm ci --prefix "$ZW_ROOT/tests/e2e" --no-audit --no-fund
}

run_e2e() {
  local tap="$ZW_BUILD/e2e.tap" rc=0
  (cd tests/e2e && node --test --test-timeout=120000 \
    --test-reporter=spec --test-reporter-destination=stdout \
    --test-reporter=tap --test-reporter-destination="$tap") || rc=$?
  local p f c s
  p="$(sed -n 's/^# pass \([0-9]*\)$/\1/p' "$tap" | tail -n 1)"
  f="$(sed -n 's/^# fail \([0-9]*\)$/\1/p' "$tap" | tail -n 1)"
  c="$(sed -n 's/^# cancelled \([0-9]*\)$/\1/p' "$tap" | tail -n 1)"
  s="$(sed -n 's/^# skipped \([0-9]*\)$/\1/p' "$tap" | tail -n 1)"
  if [[ -z "$p" ]]; then
    failed=$((failed + 1))
    return 1
  fi
  passed=$((passed + p))
  failed=$((failed + ${f:-0} + ${c:-0}))
  skipped=$((skipped + ${s:-0}))
  return "$rc"
}

main() {
  local quick=0 arg
  for arg in "$@"; do
    case "$arg" in
      --quick) quick=1 ;;
      -h | --help) usage && exit 0 ;;
      *) usage >&2 && exit 2 ;;
    esac
  done

  trap stop_postgres EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM

  phase "packages" setup_step zw_install_packages "${ZW_BUILD_PACKAGES[@]}" \
    "${ZW_TEST_PACKAGES[@]}" || zw_die "could not install the Debian packages"

  local release_ok=1 asan_ok=1
  export ZW_WERROR="${ZW_WERROR:-ON}"
  phase "build release" setup_step zw_build_release || release_ok=0
  if ((quick)); then
    asan_ok=0
  else
    phase "build asan" setup_step zw_build_asan || asan_ok=0
  fi

  phase "start postgresql" setup_step start_postgres || true
  if ((release_ok)); then
    phase "ctest release" run_ctest release "$ZW_RELEASE_DIR" || true
  fi
  if ((asan_ok)); then
    phase "ctest asan" run_asan_ctest || true
  fi
  if ((release_ok)) && phase "npm ci" setup_step npm_ci; then
    phase "browser tests" run_e2e || true
  fi
  stop_postgres

  printf '\n'
  printf '%s\n' "${phase_lines[@]}"
  ((skipped == 0)) || printf '%d tests skipped\n' "$skipped"
  printf '%d passed, %d failed\n' "$passed" "$failed"
  ((failed == 0))
}

main "$@"
