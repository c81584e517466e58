#!/bin/sh
# Installs Go and Pion for build.sh. Run by the Dockerfile's build stage.
#   PION_SOURCE=debian, PION_VERSION=v4...  Debian unstable's golang-go and
#       golang-github-pion-webrtc-v4-dev (Pion v4 is not in trixie). The sid source is
#       pinned to priority 100, so only what is asked for with -t unstable (and what it
#       needs) comes from sid. The mirror's sid Release file is a snapshot whose
#       Valid-Until has passed, hence Acquire::Check-Valid-Until=false.
#   PION_SOURCE=debian, PION_VERSION=v3...  Debian trixie's golang-go and
#       golang-github-pion-webrtc.v3-dev.
#   PION_SOURCE=modules                     Debian trixie's golang-go only; build.sh
#       fetches Pion through the Go module proxy.
set -eu
install() {
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@"
}

case "$PION_SOURCE:$PION_VERSION" in
debian:v4*)
    echo "deb http://deb.debian.org/debian sid main" > /etc/apt/sources.list.d/sid.list
    printf 'Package: *\nPin: release a=unstable\nPin-Priority: 100\n' > /etc/apt/preferences.d/sid
    apt-get -o Acquire::Check-Valid-Until=false update
    install -t unstable golang-go golang-github-pion-webrtc-v4-dev
    ;;
debian:v3*)
    apt-get update
    install golang-go golang-github-pion-webrtc.v3-dev
    ;;
modules:*)
    apt-get update
    install golang-go ca-certificates
    ;;
*)
    echo "PION_SOURCE=$PION_SOURCE PION_VERSION=$PION_VERSION: expected PION_SOURCE debian" \
         "(PION_VERSION v3... or v4...) or modules" >&2
    exit 1
    ;;
esac
rm -rf /var/lib/apt/lists/*
