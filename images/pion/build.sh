#!/bin/sh
# Builds the static pion-peer binary into /out and writes /out/versions.json with the
# versions of what was really compiled in. Run by the Dockerfile's build stage, in the
# source directory, after install.sh.
#   PION_SOURCE=debian   Debian's packaged Pion in GOPATH mode; PION_VERSION must match
#                        the package (v4, v4.2, v4.2.1 for sid's 4.2.1; v3.1.56 for trixie's).
#   PION_SOURCE=modules  github.com/pion/webrtc/<major>@$PION_VERSION from the module
#                        proxy (untested where no proxy is reachable).
# The source imports github.com/pion/webrtc/v4; for Pion v3 the import path is rewritten
# to /v3 and the build tag pionv3 selects compat_v3.go.
set -eu
export CGO_ENABLED=0
out=/out
mkdir -p "$out"

case "$PION_VERSION" in
v4*) major=v4 tags="" ;;
v3*) major=v3 tags=pionv3 ;;
*) echo "PION_VERSION=$PION_VERSION: expected v3... or v4..." >&2; exit 1 ;;
esac
[ "$major" = v4 ] || sed -i "s#github.com/pion/webrtc/v4#github.com/pion/webrtc/$major#g" ./*.go

json_pairs=""
add_version() {
    json_pairs="$json_pairs${json_pairs:+, }\"$1\": \"$2\""
}

# "golang-github-pion-ice-v4-dev" or "golang-github-pion-webrtc.v3-dev" -> "pion/ice", "pion/webrtc".
component_of_package() {
    echo "$1" | sed -e 's/-dev$//' -e 's/[.-]v[0-9]*$//' -e 's/^golang-github-pion-/pion\//'
}

build_debian() {
    package=golang-github-pion-webrtc-v4-dev
    [ "$major" = v4 ] || package=golang-github-pion-webrtc.v3-dev
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
    # GOPATH mode: Go's "minimal module compatibility" maps .../webrtc/v4 (and /v3, which
    # Debian installs without its /v3 directory) for code with a go.mod in its directory.
    printf 'module pion-peer\n' > go.mod
    export GO111MODULE=off GOPATH=/build:/usr/share/gocode
    go build -trimpath -tags "$tags" -ldflags="-s -w -X main.pionVersion=$upstream" -o "$out/pion-peer" .
    # What was compiled: one source file of every non-standard package, mapped to the
    # Debian package that installed it.
    go list -tags "$tags" -deps -f '{{if not .Standard}}{{.Dir}}/{{index .GoFiles 0}}{{end}}' . \
        | grep '^/usr/share/gocode/' | xargs dpkg -S | cut -d: -f1 | sort -u > /tmp/compiled-packages
    while read -r name; do
        version=$(dpkg-query -W -f='${Version}' "$name")
        case "$name" in
        golang-github-pion-*) add_version "$(component_of_package "$name")" "${version%-*}" ;;
        *) add_version "debian:$name" "$version" ;;
        esac
    done < /tmp/compiled-packages
    add_version "debian:$package" "$packaged"
}

build_modules() {
    rm -f go.mod go.sum
    export GO111MODULE=on GOFLAGS=-mod=mod
    go mod init pion-peer
    go get "github.com/pion/webrtc/$major@$PION_VERSION"
    go mod tidy
    compiled=$(go list -m -f '{{.Version}}' "github.com/pion/webrtc/$major")
    go build -trimpath -tags "$tags" -ldflags="-s -w -X main.pionVersion=${compiled#v}" -o "$out/pion-peer" .
    # The modules of the packages really compiled in (not the whole module graph).
    go list -tags "$tags" -deps -f '{{with .Module}}{{if not .Main}}{{.Path}} {{.Version}}{{end}}{{end}}' . \
        | sort -u > /tmp/compiled-modules
    while read -r path version; do
        component=$(echo "$path" | sed -e 's#^github.com/pion/#pion/#' -e 's#/v[0-9]*$##')
        add_version "$component" "${version#v}"
    done < /tmp/compiled-modules
}

case "$PION_SOURCE" in
debian) build_debian ;;
modules) build_modules ;;
*) echo "PION_SOURCE=$PION_SOURCE: expected debian or modules" >&2; exit 1 ;;
esac

goversion=$(go env GOVERSION)
add_version go "${goversion#go}"
printf '{%s}\n' "$json_pairs" > "$out/versions.json"
cat "$out/versions.json"
