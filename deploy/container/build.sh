#!/usr/bin/env bash
# Builds the Berth container image with buildah, without Docker and without pulling a base image:
#   deploy/container/build.sh [IMAGE]          (default IMAGE: localhost/berth:latest)
# Run from anywhere, after `npm ci` in the checkout (it builds dist/ and node_modules/).
#
# What goes in (see deploy/container/Containerfile):
# - a root file system of Debian bookworm packages made by mmdebstrap (--variant=extract: the
#   C and C++ runtime libraries Node needs, base-files, netbase); cached, see BERTH_IMAGE_CACHE;
# - the `node` binary that runs this script (Debian 12 packages Node 18 only; Berth needs 20);
# - the app: package.json, bin/, dist/ and node_modules/ pruned to production dependencies
#   (copied from the checkout, so better-sqlite3's compiled addon matches that node);
# - /etc/passwd with the user berth (65532), /etc/docker/registry/config.yml (registry:2's
#   defaults: :5000, /var/lib/registry), /var/lib/registry owned by berth.
#
# Environment: BERTH_IMAGE_CACHE (directory for the cached base, default ~/.cache/berth-image),
# BERTH_IMAGE_REFRESH=1 (make the base again: takes the latest security updates),
# NODE_BINARY (the node to put in, default: the one on PATH), BUILDAH (extra buildah global
# flags, e.g. "--root DIR --runroot DIR --storage-driver vfs"), SUITE (default bookworm).
set -euo pipefail

image=${1:-localhost/berth:latest}
here=$(cd "$(dirname "$0")" && pwd)
checkout=$(cd "$here/../.." && pwd)
suite=${SUITE:-bookworm}
packages=libc6,libstdc++6,libgcc-s1,base-files,netbase
node_binary=${NODE_BINARY:-$(command -v node)}
cache=${BERTH_IMAGE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/berth-image}
# shellcheck disable=SC2206 # BUILDAH is a list of flags
buildah_flags=(${BUILDAH:-})

for needed in mmdebstrap buildah; do
  command -v "$needed" >/dev/null || { echo "build.sh: $needed is not installed (apt-get install $needed)" >&2; exit 1; }
done
[ -f "$checkout/dist/cli/main.js" ] || { echo "build.sh: $checkout/dist is missing: run npm ci (or npm run build) first" >&2; exit 1; }
[ -d "$checkout/node_modules/better-sqlite3" ] || { echo "build.sh: $checkout/node_modules is missing: run npm ci first" >&2; exit 1; }
node_major=$("$node_binary" -p 'process.versions.node.split(".")[0]')
[ "$node_major" -ge 20 ] || { echo "build.sh: $node_binary is Node $node_major; Berth needs 20 or newer" >&2; exit 1; }

context=$(mktemp -d "${TMPDIR:-/tmp}/berth-image-context.XXXXXX")
trap 'rm -rf "$context"' EXIT

# 1. The Debian base, made once and kept: the same suite and package list give the same file.
mkdir -p "$cache"
base="$cache/$suite-$(printf '%s' "$packages" | sha256sum | cut -c1-12).tar"
if [ ! -s "$base" ] || [ "${BERTH_IMAGE_REFRESH:-0}" = 1 ]; then
  echo "build.sh: making the $suite base with mmdebstrap ($packages)" >&2
  # --skip=output/dev: the container runtime provides /dev.
  mmdebstrap --quiet --format=tar --variant=extract --include="$packages" --skip=output/dev "$suite" "$base.partial"
  mv "$base.partial" "$base"
fi
cp "$base" "$context/base.tar"

# 2. Node and the app, production dependencies only.
cp "$node_binary" "$context/node"
mkdir -p "$context/app/node_modules"
cp -a "$checkout/package.json" "$checkout/package-lock.json" "$checkout/bin" "$checkout/dist" "$context/app/"
# The contents, also when node_modules is a symbolic link: pruning must never reach the checkout's.
cp -a "$checkout/node_modules/." "$context/app/node_modules/"
(cd "$context/app" && npm prune --omit=dev --ignore-scripts --offline --no-audit --no-fund --silent)
addon="$context/app/node_modules/better-sqlite3/build/Release/better_sqlite3.node"
[ -f "$addon" ] || { echo "build.sh: better-sqlite3 is not built in $checkout/node_modules (run npm ci)" >&2; exit 1; }
# better-sqlite3's build leftovers: only build/Release/better_sqlite3.node is loaded.
rm -rf "$context/app/node_modules/better-sqlite3/build/Release/obj" \
  "$context/app/node_modules/better-sqlite3/build/Release/obj.target" \
  "$context/app/node_modules/better-sqlite3/build/Release/test_extension.node" \
  "$context/app/node_modules/better-sqlite3/deps" "$context/app/node_modules/better-sqlite3/src"

# 3. Files of our own: the user, registry:2's configuration, the data and temporary directories.
mkdir -p "$context/rootfs/etc/docker/registry" "$context/rootfs/tmp" "$context/data"
chmod 1777 "$context/rootfs/tmp"
printf 'root:x:0:0:root:/root:/usr/sbin/nologin\nberth:x:65532:65532:Berth registry:/var/lib/registry:/usr/sbin/nologin\n' >"$context/rootfs/etc/passwd"
printf 'root:x:0:\nberth:x:65532:\n' >"$context/rootfs/etc/group"
cp "$here/config.yml" "$context/rootfs/etc/docker/registry/config.yml"
cp "$here/healthcheck.mjs" "$context/healthcheck.mjs"

buildah "${buildah_flags[@]}" build --format docker --layers=false -f "$here/Containerfile" -t "$image" "$context"
