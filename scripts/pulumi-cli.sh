#!/usr/bin/env bash
# npm run pulumi:build: builds the Pulumi CLI pinned in tools/pulumi/go.mod into .keel/bin
# (from the Go module proxy; nothing fetched is committed), and writes beside it the plugin
# shim the engine looks up on PATH for dynamic providers when no nodejs language host is
# installed (pulumi-resource-pulumi-nodejs). Local policy packs get none: this CLI starts a
# pack directory only through its language host (the old pulumi-analyzer-policy-<runtime>
# fallback is gone), so Keel passes policies/analyzer.js, which the engine runs itself.
# Does nothing when the pinned version is already there.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"

usage() {
  cat <<'EOF'
usage: npm run pulumi:build [-- --force]

Builds the Pulumi CLI version pinned in tools/pulumi/go.mod into .keel/bin/ with Go
(cold: several minutes, most of it downloading and compiling modules; warm: seconds),
and writes the dynamic-provider shim beside it. Skips the build when
.keel/bin/pulumi already answers the pinned version.

  --force      build even when the pinned version is there
  -h, --help   this text

KEEL_BIN_DIR overrides the target directory.
EOF
}

force=0
for arg in "$@"; do
  case "$arg" in
    -h|--help) usage; exit 0 ;;
    --force) force=1 ;;
    *) echo "error: unknown option '$arg'" >&2; usage >&2; exit 2 ;;
  esac
done

bin="${KEEL_BIN_DIR:-$root/.keel/bin}"
version="$(awk '$1 == "github.com/pulumi/pulumi/pkg/v3" { print $2; exit }' "$root/tools/pulumi/go.mod")"
if [ -z "$version" ]; then
  echo "error: tools/pulumi/go.mod requires no github.com/pulumi/pulumi/pkg/v3; restore it with: git checkout tools/pulumi/go.mod" >&2
  exit 2
fi

mkdir -p "$bin"
# The engine runs this plugin from the project directory: resolve @pulumi/pulumi from there
# (as Pulumi's own shims do), else from the checkout this script belongs to. tools/pluginPreload.js
# defers the SDK's TypeScript compiler, which the process never uses, until first use.
write_shim() {
  local name="$1" module="$2"
  cat >"$bin/$name" <<EOF
#!/bin/sh
# Written by scripts/pulumi-cli.sh: runs @pulumi/pulumi's $module with the project's node.
project=.
[ -e ./node_modules/@pulumi/pulumi/cmd/$module ] || project="$root"
if [ -e "\$project/tools/pluginPreload.js" ]; then
  exec node -r "\$project/tools/pluginPreload.js" "\$project/node_modules/@pulumi/pulumi/cmd/$module" "\$@"
fi
exec node "\$project/node_modules/@pulumi/pulumi/cmd/$module" "\$@"
EOF
  chmod +x "$bin/$name"
}
write_shim pulumi-resource-pulumi-nodejs dynamic-provider

current="$("$bin/pulumi" version 2>/dev/null || true)"
if [ "$force" = 0 ] && [ "$current" = "$version" ]; then
  echo "pulumi $version is already built in $bin"
  exit 0
fi

if ! command -v go >/dev/null; then
  echo "error: building the Pulumi CLI needs Go 1.26 or newer (https://go.dev/dl/); or install Pulumi's CLI instead: curl -fsSL https://get.pulumi.com | sh" >&2
  exit 2
fi

echo "building pulumi $version into $bin (go build of github.com/pulumi/pulumi/pkg/v3/cmd/pulumi; a cold module cache takes several minutes)"
started=$(date +%s)
# Without the version stamped in, `pulumi version` prints nothing and the Automation API refuses the CLI.
(cd "$root/tools/pulumi" && go build -trimpath \
  -ldflags "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$version" \
  -o "$bin/pulumi.partial" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi)
mv "$bin/pulumi.partial" "$bin/pulumi"
echo "built pulumi $("$bin/pulumi" version) in $(( $(date +%s) - started )) s: add it to PATH with  export PATH=\"$bin:\$PATH\""
