#!/usr/bin/env bash
# ./run.sh [serve flags…]: installs missing Debian packages, builds, and serves
# http://127.0.0.1:8080 from ./data/zhenwu.db. Extra arguments go to `zhenwu serve`.
set -euo pipefail
# shellcheck source=scripts/setup.sh
source "$(dirname "${BASH_SOURCE[0]}")/scripts/setup.sh"
cd "$ZW_ROOT"

zw_install_packages "${ZW_BUILD_PACKAGES[@]}"
zw_build_release zhenwu
mkdir -p data
# The Pingzheng demo (org tree and one account per role); does nothing when already loaded.
"$ZW_RELEASE_DIR/zhenwu" demo --config zhenwu.toml
zw_log "log in at http://127.0.0.1:8080/login with a demo account above (demo only)"
# exec, so that Ctrl-C and service managers' signals reach the server itself.
exec "$ZW_RELEASE_DIR/zhenwu" serve --config zhenwu.toml "$@"
