#!/usr/bin/env bash
# npm run up|preview|refresh [-- <stack> [pulumi flags]]: runs pulumi on a stack
# (default dev) with the local file state backend, creating the stack on first use.
set -euo pipefail
cd "$(dirname "$0")/.."
command="${1:?usage: stack.sh up|preview|refresh [stack] [pulumi flags]}"
shift
stack=dev
if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then stack="$1"; shift; fi
if [ "${1:-}" = --stack ]; then stack="$2"; shift 2; fi
state="${KEEL_STATE_DIR:-$PWD/.pulumi-state}"
mkdir -p "$state"
# The dev stack's state stays on this machine; an empty passphrase is accepted for it.
if [ "$stack" = dev ]; then export PULUMI_CONFIG_PASSPHRASE="${PULUMI_CONFIG_PASSPHRASE-}"; fi
if [ -z "${PULUMI_CONFIG_PASSPHRASE+x}" ] && [ -z "${PULUMI_CONFIG_PASSPHRASE_FILE:-}" ]; then
  echo "error: set PULUMI_CONFIG_PASSPHRASE (or PULUMI_CONFIG_PASSPHRASE_FILE) to encrypt the $stack stack's secrets" >&2
  exit 2
fi
command -v pulumi >/dev/null || { echo "error: pulumi not found; run npm ci first (it installs Pulumi's CLI launcher)" >&2; exit 2; }
# PULUMI_BACKEND_URL (a shared backend, as in CI) wins over the local file state.
pulumi login --non-interactive "${PULUMI_BACKEND_URL:-file://$state}" >/dev/null
pulumi stack select --non-interactive --create "$stack"
# dev and CI go ahead at once; elsewhere pulumi shows the preview and asks first.
auto=()
if [ "$stack" = dev ] || [ "${CI:-}" = true ]; then auto=(--yes --non-interactive); fi
# Shared stacks are gated by the policy pack (policies/); dev keeps its fast loop (the rules only advise there).
policy=()
if [ "$stack" != dev ] && [ "${KEEL_SKIP_POLICY:-}" != 1 ]; then policy=(--policy-pack policies); fi
case "$command" in
  up) exec pulumi up "${auto[@]}" "${policy[@]}" --stack "$stack" "$@" ;;
  refresh) exec pulumi refresh "${auto[@]}" --stack "$stack" "$@" ;;
  preview) exec pulumi preview --non-interactive --diff "${policy[@]}" --stack "$stack" "$@" ;;
  *) echo "error: unknown command '$command' (up, preview, refresh)" >&2; exit 2 ;;
esac
