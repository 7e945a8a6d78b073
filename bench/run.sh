#!/usr/bin/env bash
# bench/run.sh: requests/s and p99 latency of zhenwu (Release, SQLite with the Pingzheng demo,
# the repo's zhenwu.toml) against nginx serving the very same bytes, for the home page and a
# static asset, measured in one run on loopback. ZW_BENCH_DURATION (10s) and ZW_BENCH_CONNECTIONS
# (64) tune the wrk runs.
set -euo pipefail
# shellcheck source=scripts/setup.sh
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/setup.sh"
cd "$ZW_ROOT"

readonly DURATION="${ZW_BENCH_DURATION:-10s}"
readonly CONNECTIONS="${ZW_BENCH_CONNECTIONS:-64}"
readonly WARMUP=2s
# URL path and the file nginx serves it from.
readonly TARGETS=("/" "/static/css/zhenwu.css")
readonly FILES=("index.html" "static/css/zhenwu.css")

work=""
zhenwu_pid=""
zhenwu_url=""
nginx_pid=""
nginx_url=""
locations=""

cleanup() {
  local pid
  for pid in "$zhenwu_pid" "$nginx_pid"; do
    if [[ -n "$pid" ]]; then
      kill -TERM "$pid" 2>/dev/null || true
      wait "$pid" 2>/dev/null || true
    fi
  done
  if [[ -n "$work" ]]; then
    rm -rf "$work"
  fi
}

# Waits until FILE contains "listening on http://127.0.0.1:PORT" and prints that URL.
wait_for_listening() {
  local file="$1" pid="$2" i url
  for ((i = 0; i < 200; i++)); do
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
  local args=(--config "$ZW_ROOT/zhenwu.toml" --db "sqlite:$work/zhenwu.db")
  # The Pingzheng demo, as ./run.sh serves it, so that the pages carry what a town's would. The cwd
  # is the temporary folder, so that nothing zhenwu writes lands in the repository.
  (cd "$work" && "$ZW_RELEASE_DIR/zhenwu" demo "${args[@]}") >"$work/demo.log" 2>&1 ||
    { cat "$work/demo.log" >&2; zw_die "zhenwu demo failed"; }
  (cd "$work" && exec "$ZW_RELEASE_DIR/zhenwu" serve "${args[@]}" --listen 127.0.0.1:0) \
    >"$work/zhenwu.log" 2>&1 &
  zhenwu_pid=$!
  zhenwu_url="$(wait_for_listening "$work/zhenwu.log" "$zhenwu_pid")"
}

# Copies each target from zhenwu into the docroot and writes an nginx location serving it with
# zhenwu's Content-Type.
fetch_targets() {
  local i file type
  mkdir -p "$work/docroot"
  locations=""
  for i in "${!TARGETS[@]}"; do
    file="$work/docroot/${FILES[i]}"
    mkdir -p "$(dirname "$file")"
    curl -sSf -o "$file" -D "$work/headers" "$zhenwu_url${TARGETS[i]}"
    type="$(sed -n 's/^[Cc]ontent-[Tt]ype: *//p' "$work/headers" | tr -d '\r')"
    [[ -n "$type" ]] || zw_die "zhenwu sent no Content-Type for ${TARGETS[i]}"
    locations+="    location = ${TARGETS[i]} {
      rewrite ^ /${FILES[i]} break;
      types { }
      default_type \"$type\";
    }
"
  done
  chmod -R a+rX "$work"
}

start_nginx() {
  local port
  port="$(zw_free_port)"
  mkdir -p "$work/nginx-tmp"
  # Debian's stock nginx.conf settings (sendfile, tcp_nopush, the default access log in the
  # combined format), with connections kept open for the whole run, as zhenwu keeps them.
  cat >"$work/nginx.conf" <<EOF
worker_processes auto;
daemon off;
pid $work/nginx.pid;
error_log $work/nginx-error.log;
events { worker_connections 1024; }
http {
  access_log $work/nginx-access.log combined;
  client_body_temp_path $work/nginx-tmp/body;
  proxy_temp_path $work/nginx-tmp/proxy;
  fastcgi_temp_path $work/nginx-tmp/fastcgi;
  uwsgi_temp_path $work/nginx-tmp/uwsgi;
  scgi_temp_path $work/nginx-tmp/scgi;
  sendfile on;
  tcp_nopush on;
  keepalive_timeout 65;
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:$port;
    root $work/docroot;
$locations  }
}
EOF
  /usr/sbin/nginx -p "$work" -c "$work/nginx.conf" -e "$work/nginx-error.log" \
    >"$work/nginx.out" 2>&1 &
  nginx_pid=$!
  nginx_url="http://127.0.0.1:$port"
  local i
  for ((i = 0; i < 100; i++)); do
    curl -sf -o /dev/null "$nginx_url/" && return 0
    kill -0 "$nginx_pid" 2>/dev/null || break
    sleep 0.1
  done
  cat "$work/nginx.out" "$work/nginx-error.log" >&2 2>/dev/null || true
  zw_die "nginx did not start"
}

# Both servers must hand out the same bytes with the same Content-Type, or the ratio means nothing.
check_same_responses() {
  local i a b
  for i in "${!TARGETS[@]}"; do
    curl -sSf -o "$work/from-nginx" -D "$work/headers-nginx" "$nginx_url${TARGETS[i]}"
    cmp -s "$work/from-nginx" "$work/docroot/${FILES[i]}" ||
      zw_die "nginx serves other bytes for ${TARGETS[i]}"
    curl -sSf -o /dev/null -D "$work/headers" "$zhenwu_url${TARGETS[i]}"
    a="$(grep -i '^content-type:' "$work/headers" | tr -d '\r' | cut -d' ' -f2-)"
    b="$(grep -i '^content-type:' "$work/headers-nginx" | tr -d '\r' | cut -d' ' -f2-)"
    [[ "$a" == "$b" ]] || zw_die "Content-Type differs for ${TARGETS[i]}: '$a' vs '$b'"
  done
}

# Runs wrk against URL for DURATION and prints "requests/s p99_microseconds"; LABEL names the run
# in the saved wrk output.
measure() {
  local label="$1" url="$2" duration="$3" out
  out="$(wrk -t1 -c"$CONNECTIONS" -d"$duration" --latency -s "$ZW_ROOT/bench/wrk/report.lua" "$url")"
  printf '### %s\n%s\n\n' "$label" "$out" >>"$work/wrk.log"
  local line
  line="$(grep '^ZW_RESULT ' <<<"$out")" || zw_die "wrk printed no result for $url"
  local rps p99 non2xx socket_errors
  rps="$(sed -n 's/.* rps=\([0-9.]*\).*/\1/p' <<<"$line")"
  p99="$(sed -n 's/.* p99_us=\([0-9]*\).*/\1/p' <<<"$line")"
  non2xx="$(sed -n 's/.* non2xx=\([0-9]*\).*/\1/p' <<<"$line")"
  socket_errors="$(sed -n 's/.* socket_errors=\([0-9]*\).*/\1/p' <<<"$line")"
  if ((non2xx > 0 || socket_errors > 0)); then
    printf 'warning: %s: %s error responses, %s socket errors\n' "$url" "$non2xx" \
      "$socket_errors" >&2
  fi
  printf '%s %s\n' "$rps" "$p99"
}

main() {
  trap cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM

  zw_install_packages "${ZW_BUILD_PACKAGES[@]}" "${ZW_BENCH_PACKAGES[@]}"
  zw_build_release zhenwu
  work="$(mktemp -d -t zhenwu-bench.XXXXXX)"
  chmod 755 "$work"

  start_zhenwu
  fetch_targets
  start_nginx
  check_same_responses

  zw_log "warming up ($WARMUP per server and target)"
  local path
  for path in "${TARGETS[@]}"; do
    measure "zhenwu $path (warm-up)" "$zhenwu_url$path" "$WARMUP" >/dev/null
    measure "nginx $path (warm-up)" "$nginx_url$path" "$WARMUP" >/dev/null
  done

  # Other work on the machine skews both servers, unequally: the load average goes with the numbers.
  local context
  context="$(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'),"
  context+=" load average $(cut -d' ' -f1-3 /proc/loadavg) before measuring"
  zw_log "measuring: wrk -t1 -c$CONNECTIONS -d$DURATION per server and target"
  local table i z n result
  table="$(printf '%-24s %8s %14s %11s %13s %10s %6s\n' target bytes 'zhenwu req/s' 'zhenwu p99' \
    'nginx req/s' 'nginx p99' ratio)"
  for i in "${!TARGETS[@]}"; do
    result="$(measure "zhenwu ${TARGETS[i]}" "$zhenwu_url${TARGETS[i]}" "$DURATION")"
    read -r -a z <<<"$result"
    result="$(measure "nginx ${TARGETS[i]}" "$nginx_url${TARGETS[i]}" "$DURATION")"
    read -r -a n <<<"$result"
    table+=$'\n'"$(awk -v t="${TARGETS[i]}" -v bytes="$(stat -c %s "$work/docroot/${FILES[i]}")" \
      -v zr="${z[0]}" -v zp="${z[1]}" -v nr="${n[0]}" -v np="${n[1]}" 'BEGIN {
        printf "%-24s %8d %14.0f %8.2f ms %13.0f %7.2f ms %6.2f", t, bytes, zr, zp / 1000, nr,
               np / 1000, zr / nr }')"
  done

  mkdir -p bench/results
  result="bench/results/load-$(date +%Y%m%d-%H%M%S).txt"
  {
    printf '%s\n\n%s\n' "$context" "$table"
    printf '\n--- wrk output ---\n'
    cat "$work/wrk.log"
  } >"$result"
  printf '\n%s\n\n%s\n\nratio = zhenwu req/s / nginx req/s; full wrk output in %s\n' "$context" \
    "$table" "$result"
}

main "$@"
