#!/usr/bin/env bash
# npm run test:e2e: the browser, Prometheus, Alertmanager and CLI end-to-end tests. Installs Debian's chromium,
# prometheus (with promtool) and prometheus-alertmanager with apt-get when missing (CI runs as root), type-checks the
# e2e files, then runs vitest.e2e.config.ts.
set -euo pipefail
cd "$(dirname "$0")/../.."
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v prometheus >/dev/null 2>&1 || missing+=(prometheus)
command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
command -v prometheus-alertmanager >/dev/null 2>&1 || missing+=(prometheus-alertmanager)
if [ ${#missing[@]} -gt 0 ]; then
  echo "test:e2e: installing ${missing[*]} with apt-get"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
fi
export WRANGLER_SEND_METRICS=false CLOUDFLARE_CF_FETCH_ENABLED=false
tsc -p tsconfig.e2e.json
vitest run -c vitest.e2e.config.ts "$@"
