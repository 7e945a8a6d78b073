# shellcheck shell=bash
# Sourced by run.sh, test.sh and bench/run.sh: the one place that knows which Debian packages the
# project needs and how its two build directories are configured. Defines functions only; the
# caller decides what to install and build.

ZW_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ZW_BUILD="$ZW_ROOT/build"
ZW_RELEASE_DIR="$ZW_BUILD/release"
ZW_ASAN_DIR="$ZW_BUILD/asan"
ZW_JOBS="${ZW_JOBS:-2}"

# The package lists are used by the scripts that source this file.
# shellcheck disable=SC2034
ZW_BUILD_PACKAGES=(
  cmake ninja-build g++ pkg-config
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
  libsqlite3-dev sqlite3 libpq-dev
  libspdlog-dev libfmt-dev libcli11-dev libtoml11-dev libsodium-dev libkainjow-mustache-dev
  zlib1g-dev libmagic-dev libzip-dev libxlsxwriter-dev
  libgtest-dev libgmock-dev libbenchmark-dev
)
# nodejs and npm stand for "a node and an npm command": see zw_missing_packages.
# shellcheck disable=SC2034
ZW_TEST_PACKAGES=(postgresql-15 chromium fonts-noto-cjk nodejs npm)
# shellcheck disable=SC2034
ZW_BENCH_PACKAGES=(wrk nginx curl)

zw_log() { printf '==> %s\n' "$*"; }
zw_die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Runs "$@" with its output in LOG; on failure prints the interesting end of LOG and returns the
# command's exit code.
zw_run_logged() {
  local log="$1"
  shift
  mkdir -p "$(dirname "$log")"
  local rc=0
  "$@" >"$log" 2>&1 || rc=$?
  if ((rc != 0)); then
    printf -- '--- %s failed (exit %d); log %s ---\n' "$1" "$rc" "$log" >&2
    if grep -q '^FAILED: ' "$log"; then
      # Ninja: the first failed step and the compiler messages after it.
      sed -n '/^FAILED: /,$p' "$log" | head -n 400 >&2
    else
      tail -n 150 "$log" >&2
    fi
    printf -- '--- end of %s ---\n' "$log" >&2
  fi
  return "$rc"
}

zw_as_root() {
  if ((EUID == 0)); then
    "$@"
  else
    sudo "$@"
  fi
}

# Prints the packages among "$@" that are not installed. A node or npm that is already on PATH
# counts as installed: NodeSource's nodejs provides npm and conflicts with Debian's npm package.
zw_missing_packages() {
  local installed pkg
  installed="$(dpkg-query -W -f='${db:Status-Abbrev} ${Package}\n' "$@" 2>/dev/null |
    sed -n 's/^ii *//p')" || true
  for pkg in "$@"; do
    case "$pkg" in
      nodejs) command -v node >/dev/null 2>&1 && continue ;;
      npm) command -v npm >/dev/null 2>&1 && continue ;;
    esac
    grep -qxF "$pkg" <<<"$installed" || printf '%s\n' "$pkg"
  done
}

# Installs whichever of "$@" are missing; does nothing (and needs no network) when none are.
zw_install_packages() {
  local missing
  mapfile -t missing < <(zw_missing_packages "$@")
  ((${#missing[@]} == 0)) && return 0
  zw_log "installing Debian packages: ${missing[*]} (log: build/apt.log)"
  local apt=(env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600)
  zw_run_logged "$ZW_BUILD/apt-update.log" zw_as_root "${apt[@]}" update || return
  zw_run_logged "$ZW_BUILD/apt.log" zw_as_root "${apt[@]}" install -y --no-install-recommends \
    "${missing[@]}"
}

# Configures DIR with Ninja (again, cheaply, when it exists so that new options take effect) and
# builds TARGETS (all when none). Extra cmake options come from the array ZW_CMAKE_ARGS.
zw_build() {
  local name="$1" dir="$2"
  shift 2
  local log="$ZW_BUILD/$name.log"
  zw_log "building $name in ${dir#"$ZW_ROOT/"} (log: ${log#"$ZW_ROOT/"})"
  zw_run_logged "$log" cmake -S "$ZW_ROOT" -B "$dir" -G Ninja "${ZW_CMAKE_ARGS[@]}" || return
  local targets=("$@")
  if ((${#targets[@]} > 0)); then
    # Test binaries appear only once their folder has sources; build the ones that exist.
    local known
    known="$(ninja -C "$dir" -t targets all 2>/dev/null | cut -d: -f1)"
    local wanted=() t
    for t in "${targets[@]}"; do
      grep -qxF "$t" <<<"$known" && wanted+=("$t")
    done
    ((${#wanted[@]} == 0)) && return 0
    targets=("${wanted[@]}")
  fi
  zw_run_logged "$log" ninja -C "$dir" -j "$ZW_JOBS" "${targets[@]}"
}

# Release build in build/release. ZW_WERROR=ON (test.sh) turns warnings into errors; when unset
# the cached choice stays, so run.sh after test.sh rebuilds nothing.
zw_build_release() {
  local ZW_CMAKE_ARGS=(-DCMAKE_BUILD_TYPE=Release)
  [[ -n "${ZW_WERROR:-}" ]] && ZW_CMAKE_ARGS+=("-DZHENWU_WERROR=$ZW_WERROR")
  zw_build release "$ZW_RELEASE_DIR" "$@"
}

# Debug build with AddressSanitizer and UndefinedBehaviorSanitizer in build/asan; only the unit
# and HTTP test binaries, which is what runs under the sanitizers.
zw_build_asan() {
  local ZW_CMAKE_ARGS=(-DCMAKE_BUILD_TYPE=Debug -DZHENWU_SANITIZE=ON -DZHENWU_BENCH=OFF)
  [[ -n "${ZW_WERROR:-}" ]] && ZW_CMAKE_ARGS+=("-DZHENWU_WERROR=$ZW_WERROR")
  zw_build asan "$ZW_ASAN_DIR" unit_tests http_tests
}

# Prints a TCP port on 127.0.0.1 that nothing listens on right now.
zw_free_port() {
  local port tries
  for ((tries = 0; tries < 200; tries++)); do
    port=$((20000 + RANDOM % 40000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      printf '%s\n' "$port"
      return 0
    fi
  done
  zw_die "no free TCP port found"
}
