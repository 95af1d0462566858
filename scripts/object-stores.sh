#!/usr/bin/env bash
# npm run stores:build: builds the object-store servers the state tests and benchmarks run
# (tools/objectStores.ts) into .keel/bin with Go, each at the version its module pins:
#   versitygw        Versity S3 Gateway, an S3 server on a directory (tools/versitygw/go.mod)
#   fake-gcs-server  a Google Cloud Storage emulator (tools/fake-gcs-server/go.mod)
# Nothing fetched is committed. Azurite (the Azure Blob emulator) is an npm devDependency:
# npm ci installs it, there is nothing to build. A server already built at its pinned
# version is left as it is.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"

usage() {
  cat <<'EOF'
usage: npm run stores:build [-- [--force] [versitygw] [fake-gcs-server]]

Builds the object-store servers pinned in tools/<name>/go.mod into .keel/bin/ with Go
(cold: two to three minutes each, most of it compiling modules; warm: seconds). Names
pick which to build (default: both). Skips a server whose binary in .keel/bin was built
from the pinned version.

  --force      build even when the pinned version is there
  -h, --help   this text

KEEL_BIN_DIR overrides the target directory. Azurite, the Azure Blob emulator, comes
from npm (a devDependency): npm ci installs it.
EOF
}

force=0
names=()
for arg in "$@"; do
  case "$arg" in
    -h|--help) usage; exit 0 ;;
    --force) force=1 ;;
    versitygw|fake-gcs-server) names+=("$arg") ;;
    *) echo "error: unknown option '$arg'" >&2; usage >&2; exit 2 ;;
  esac
done
[ "${#names[@]}" -gt 0 ] || names=(versitygw fake-gcs-server)

bin="${KEEL_BIN_DIR:-$root/.keel/bin}"
mkdir -p "$bin"

# name -> module, package to build, linker flags
module_of() {
  case "$1" in
    versitygw) echo github.com/versity/versitygw ;;
    fake-gcs-server) echo github.com/fsouza/fake-gcs-server ;;
  esac
}
package_of() {
  case "$1" in
    versitygw) echo github.com/versity/versitygw/cmd/versitygw ;;
    fake-gcs-server) echo github.com/fsouza/fake-gcs-server ;;
  esac
}

build_one() {
  local name="$1" module package version dir current started
  module="$(module_of "$name")"
  package="$(package_of "$name")"
  dir="$root/tools/$name"
  version="$(awk -v m="$module" '$1 == m { print $2; exit } $1 == "require" && $2 == m { print $3; exit }' "$dir/go.mod")"
  if [ -z "$version" ]; then
    echo "error: tools/$name/go.mod requires no $module; restore it with: git checkout tools/$name" >&2
    return 2
  fi

  if ! command -v go >/dev/null; then
    if [ -x "$bin/$name" ]; then
      echo "$name: $bin/$name is there (its version is not checked: no Go on PATH)"
      return 0
    fi
    echo "error: building $name needs Go 1.26 or newer (https://go.dev/dl/)" >&2
    return 2
  fi

  # The module a Go binary was built from is in its build info (no need to run it).
  current="$(go version -m "$bin/$name" 2>/dev/null | awk -v m="$module" '$1 == "mod" && $2 == m { print $3; exit }' || true)"
  if [ "$force" = 0 ] && [ "$current" = "$version" ]; then
    echo "$name $version is already built in $bin"
    return 0
  fi

  local ldflags=""
  # versitygw prints the version stamped at build time in its banner and --version.
  [ "$name" = versitygw ] && ldflags="-X main.Version=$version -X main.Build=keel"
  echo "building $name $version into $bin (go build of $package; a cold module cache takes a few minutes)"
  started=$(date +%s)
  (cd "$dir" && go build -trimpath -ldflags "$ldflags" -o "$bin/$name.partial" "$package")
  mv "$bin/$name.partial" "$bin/$name"
  echo "built $name $version in $(( $(date +%s) - started )) s"
}

for name in "${names[@]}"; do
  build_one "$name"
done
echo "object-store servers are in $bin (tools/objectStores.ts finds them there or on PATH)"
