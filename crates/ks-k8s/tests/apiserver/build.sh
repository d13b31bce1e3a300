#!/usr/bin/env bash
# Builds kube-apiserver 1.20.2 from Debian bookworm's `kubernetes` source package
# (the full upstream tree with vendor/) once per machine, and caches it outside
# the repository. Prints the binary's path. Needs root (apt) and the network to
# deb.debian.org; Debian's golang-go (1.19), rsync, jq; etcd-server to run it.
#
#   crates/ks-k8s/tests/apiserver/build.sh          -> /var/cache/ks/kube-apiserver-1.20.2
set -euo pipefail
CACHE=${KS_K8S_CACHE:-/var/cache/ks}
BIN=$CACHE/kube-apiserver-1.20.2
if [ -x "$BIN" ]; then echo "$BIN"; exit 0; fi
mkdir -p "$CACHE"
export DEBIAN_FRONTEND=noninteractive
# deb822 with the same Signed-By as Debian's own debian.sources (apt refuses
# two different values for one source).
if ! grep -rqs "deb-src" /etc/apt/sources.list /etc/apt/sources.list.d/; then
    cat > /etc/apt/sources.list.d/ks-deb-src.sources <<SRC
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb-src
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
fi
apt-get update -qq >&2
apt-get install -y -qq golang-go rsync jq make etcd-server dpkg-dev >&2
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"
apt-get source -qq kubernetes >&2
cd kubernetes-*/
# Offline, from vendor/; the generators run first (the generated OpenAPI code
# is not in the tarball). No .git: the version is given.
GOPROXY=off GOFLAGS=-mod=vendor KUBE_GIT_VERSION=v1.20.2 KUBE_GIT_TREE_STATE=clean \
    make WHAT=cmd/kube-apiserver >&2
cp _output/bin/kube-apiserver "$BIN.tmp" 2>/dev/null || cp _output/local/bin/linux/amd64/kube-apiserver "$BIN.tmp"
mv "$BIN.tmp" "$BIN"
echo "$BIN"
