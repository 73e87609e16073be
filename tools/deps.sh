#!/usr/bin/env bash
# deps.sh — install the Debian packages bmnn needs to build, test and draw,
# only those missing. Sourced by tools/demo.sh, tools/test.sh and .ci/run.
bm_install_deps() {
    local pkgs=(gcc meson ninja-build pkg-config check libsubunit-dev libcjson-dev
                libcairo2-dev libgraphviz-dev graphviz python3 fortunes-min
                libopenmpi-dev openmpi-bin "$@")
    local need=() p
    for p in "${pkgs[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need+=("$p")
    done
    [ ${#need[@]} -eq 0 ] && return 0
    local sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    echo "installing: ${need[*]}"
    $sudo apt-get update -qq
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
}
