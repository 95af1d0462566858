#!/usr/bin/env bash
# npm run lint-tools:build: builds actionlint, pinned in tools/actionlint/go.mod, into .keel/bin
# (from the Go module proxy; nothing fetched is committed), and says whether shellcheck, which
# actionlint runs on every `run:` script, is installed. The workflow tests
# (test/github/workflows.test.ts) lint the generated workflows with both.
# Does nothing when the pinned version is already there.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"

usage() {
  cat <<'EOF'
usage: npm run lint-tools:build [-- --force]

Builds the actionlint version pinned in tools/actionlint/go.mod into .keel/bin/ with Go
(cold: about a minute; warm: seconds) and checks that shellcheck is on PATH (it comes
from the system's packages: apt-get install shellcheck). Skips the build when
.keel/bin/actionlint already answers the pinned version.

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
version="$(awk '$1 == "github.com/rhysd/actionlint" { print $2; exit }' "$root/tools/actionlint/go.mod")"
if [ -z "$version" ]; then
  echo "error: tools/actionlint/go.mod requires no github.com/rhysd/actionlint; restore it with: git checkout tools/actionlint/go.mod" >&2
  exit 2
fi

if command -v shellcheck >/dev/null; then
  echo "shellcheck $(shellcheck --version | awk '$1 == "version:" { print $2 }') is on PATH ($(command -v shellcheck))"
else
  echo "warning: no shellcheck on PATH: actionlint would skip the run: scripts and the workflow tests refuse to lint without it. Install it: apt-get install shellcheck (Debian, Ubuntu) or brew install shellcheck" >&2
fi

mkdir -p "$bin"
current="$("$bin/actionlint" -version 2>/dev/null | head -n 1 || true)"
if [ "$force" = 0 ] && [ "$current" = "$version" ]; then
  echo "actionlint $version is already built in $bin"
  exit 0
fi

if ! command -v go >/dev/null; then
  echo "error: building actionlint needs Go 1.25 or newer (https://go.dev/dl/)" >&2
  exit 2
fi

echo "building actionlint $version into $bin (go build of github.com/rhysd/actionlint/cmd/actionlint, the tool tools/actionlint/go.mod declares)"
started=$(date +%s)
# Without the version stamped in, `actionlint -version` prints the main module's "(devel)".
(cd "$root/tools/actionlint" && go build -trimpath \
  -ldflags "-X github.com/rhysd/actionlint.version=$version" \
  -o "$bin/actionlint.partial" github.com/rhysd/actionlint/cmd/actionlint)
mv "$bin/actionlint.partial" "$bin/actionlint"
echo "built actionlint $("$bin/actionlint" -version | head -n 1) in $(( $(date +%s) - started )) s"
