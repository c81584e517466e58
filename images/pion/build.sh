#!/bin/sh
# Builds the static pion-peer binary into /out and writes /out/versions.json with the
# Pion versions really compiled in. Run by the Dockerfile's build stage, in the source dir.
#   PION_SOURCE=debian  (default) Debian's golang-github-pion-webrtc.v3-dev in GOPATH mode;
#                       PION_VERSION must match the packaged version (v3, v3.1, v3.1.56 do).
#   PION_SOURCE=modules Go modules: github.com/pion/webrtc/<major>@$PION_VERSION from the
#                       module proxy (untested where no proxy is reachable).
set -eu
export CGO_ENABLED=0
out=/out
mkdir -p "$out"

# "github.com/pion/webrtc/v4 v4.0.1" or "golang-github-pion-ice.v2-dev 2.3.1-2" -> JSON pair.
json_pairs=""
add_version() {
    json_pairs="$json_pairs${json_pairs:+, }\"$1\": \"$2\""
}

case "$PION_SOURCE" in
debian)
    package=golang-github-pion-webrtc.v3-dev
    packaged=$(dpkg-query -W -f='${Version}' "$package")
    upstream=${packaged%-*}
    wanted=${PION_VERSION#v}
    case "$upstream" in
    "$wanted" | "$wanted".*) ;;
    *)
        echo "PION_VERSION=$PION_VERSION, but Debian's $package is $packaged:" \
             "use PION_VERSION=v$upstream, or PION_SOURCE=modules for another version" >&2
        exit 1 ;;
    esac
    # GOPATH mode cannot find github.com/pion/webrtc/v3 (Debian installs it without the
    # /v3 directory); "minimal module compatibility" maps /v3 away for code that has a
    # go.mod in its directory or above, as long as GO111MODULE=off.
    printf 'module pion-peer\n' > go.mod
    GO111MODULE=off GOPATH=/build:/usr/share/gocode \
        go build -trimpath -ldflags="-s -w -X main.pionVersion=$upstream" -o "$out/pion-peer" .
    add_version pion/webrtc "$upstream"
    dpkg-query -W -f='${Package} ${Version}\n' 'golang-github-pion-*' | sort > /tmp/pion-packages
    while read -r name version; do
        component=$(echo "$name" | sed -e 's/^golang-github-//' -e 's/-dev$//' -e 's/\.v[0-9]*$//' -e 's/^pion-/pion\//')
        [ "$component" = pion/webrtc ] || add_version "$component" "${version%-*}"
    done < /tmp/pion-packages
    add_version "debian:$package" "$packaged"
    ;;
modules)
    case "$PION_VERSION" in
    v4*) major=v4 ;;
    v3*) major=v3 ;;
    *) echo "PION_VERSION=$PION_VERSION: expected v3... or v4..." >&2; exit 1 ;;
    esac
    # The source imports .../webrtc/v3; the APIs used here are the same in v4.
    [ "$major" = v3 ] || sed -i "s#github.com/pion/webrtc/v3#github.com/pion/webrtc/$major#g" ./*.go
    rm -f go.mod go.sum
    export GO111MODULE=on GOFLAGS=-mod=mod
    go mod init pion-peer
    go get "github.com/pion/webrtc/$major@$PION_VERSION"
    go mod tidy
    compiled=$(go list -m -f '{{.Version}}' "github.com/pion/webrtc/$major")
    go build -trimpath -ldflags="-s -w -X main.pionVersion=${compiled#v}" -o "$out/pion-peer" .
    go list -m -f '{{.Path}} {{.Version}}' all | grep '^github.com/pion/' | sort > /tmp/pion-modules
    while read -r path version; do
        component=$(echo "$path" | sed -e 's#^github.com/##' -e 's#/v[0-9]*$##')
        add_version "$component" "${version#v}"
    done < /tmp/pion-modules
    ;;
*)
    echo "PION_SOURCE=$PION_SOURCE: expected debian or modules" >&2
    exit 1 ;;
esac

goversion=$(go env GOVERSION)
add_version go "${goversion#go}"
printf '{%s}\n' "$json_pairs" > "$out/versions.json"
cat "$out/versions.json"
