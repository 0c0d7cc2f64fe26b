#!/usr/bin/env bash
# Kiln under the real Encore CLI, end to end: for a maintainer on a machine that has the Encore CLI
# and Docker. It has never run on our build machines (the CLI cannot be installed there); what it
# checks is listed in README.md, "Running under Encore".
#
#   scripts/encore-smoke.sh            # model and MongoDB stand-ins (test/fakes), no keys needed
#   KILN_SMOKE_FAKES=0 ANTHROPIC_API_KEY=sk-... MONGODB_URI=mongodb://... scripts/encore-smoke.sh
#
# Steps: `encore run` with the secrets set (written to .secrets.local.cue, the file of an unlinked
# app; an existing one is put back afterwards), the four health endpoints, the first user's token from
# the KilnBootstrapToken secret, a second one from `npm run token -- --database-url "$(encore db
# conn-uri projects)"`, a 401 without a token, a private endpoint answering 404 from outside, a
# project, a generation followed over SSE to its end, its preview fetched, the project deleted.
# Exit status: 0 all passed, 1 a check failed, 3 a required program is missing (nothing was started).
set -euo pipefail
# Each background program gets a process group of its own, so cleanup stops it and what it started.
set -m

usage() { sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; }
if [ "${1:-}" = "--help" ] || [ "${1:-}" = "-h" ]; then usage; exit 0; fi

refuse() { printf 'encore-smoke: %s\n' "$1" >&2; exit 3; }
command -v encore >/dev/null 2>&1 || refuse "the Encore CLI (encore) is not on PATH, so nothing was run. Install it (https://encore.dev/docs/ts/install: curl -L https://encore.dev/install.sh | bash), start Docker, and run this again. This script is never run on Kiln's build machines."
for program in curl node npm docker; do
  command -v "$program" >/dev/null 2>&1 || refuse "$program is not on PATH; it is needed to run and check Kiln under Encore."
done

cd "$(dirname "$0")/.."
PORT="${KILN_SMOKE_PORT:-4000}"
BASE="http://127.0.0.1:$PORT"
FAKES="${KILN_SMOKE_FAKES:-1}"
WORK="$(mktemp -d)"
SECRETS=.secrets.local.cue
failures=0
pids=()

cleanup() {
  for pid in "${pids[@]}"; do kill -- "-$pid" 2>/dev/null || kill "$pid" 2>/dev/null || true; done
  if [ -f "$WORK/secrets.backup" ]; then mv "$WORK/secrets.backup" "$SECRETS"; elif [ -f "$WORK/secrets.ours" ]; then rm -f "$SECRETS"; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

pass() { printf 'PASS %s\n' "$1"; }
fail() { printf 'FAIL %s\n' "$1"; failures=$((failures + 1)); }
# json FIELD.PATH < body: one field of a JSON document ("" when absent).
json() { node -e 'let s="";process.stdin.on("data",(d)=>(s+=d)).on("end",()=>{let v;try{v=JSON.parse(s)}catch{v=undefined}for(const k of process.argv[1].split("."))v=v==null?undefined:v[k];process.stdout.write(v==null?"":typeof v==="object"?JSON.stringify(v):String(v))})' "$1"; }
# call METHOD PATH [TOKEN] [BODY]: prints "<status> <body>".
call() {
  local args=(-sS -o "$WORK/body" -w '%{http_code}' -X "$1" "$BASE$2")
  [ -n "${3:-}" ] && args+=(-H "authorization: Bearer $3")
  [ -n "${4:-}" ] && args+=(-H 'content-type: application/json' --data "$4")
  printf '%s %s' "$(curl "${args[@]}")" "$(cat "$WORK/body")"
}
# background NAME COMMAND...: starts it in its own process group, output in $WORK/NAME.log.
background() { local name="$1"; shift; "$@" >"$WORK/$name.log" 2>&1 & pids+=("$!"); }
wait_for_line() { for _ in $(seq 1 "$3"); do grep -m1 -o "$2" "$WORK/$1.log" 2>/dev/null && return 0; sleep 1; done; return 1; }

cli_version="$(encore version 2>/dev/null | grep -Eo 'v?[0-9]+\.[0-9]+\.[0-9]+' | head -1 | tr -d v)"
pkg_version="$(node -p 'require("./package.json").dependencies["encore.dev"]')"
echo "Encore CLI $cli_version, encore.dev $pkg_version in package.json"
if [ -n "$cli_version" ] && [ "$(printf '%s\n%s\n' "$pkg_version" "$cli_version" | sort -V | tail -1)" != "$cli_version" ]; then
  fail "encore.dev $pkg_version is newer than the CLI $cli_version: encore run refuses it (upgrade the CLI)"
  exit 1
fi

if [ "$FAKES" = "1" ]; then
  [ -x node_modules/.bin/tsx ] || refuse "node_modules is missing: run npm ci first."
  background mongo node_modules/.bin/tsx test/fakes/mongo/cli.ts
  background model node_modules/.bin/tsx test/fakes/anthropic/cli.ts --script test/fakes/anthropic/sessions/hello-app.ts
  MONGODB_URI="$(wait_for_line mongo 'mongodb://[^ ]*' 60)" || { fail "the MongoDB stand-in did not start"; exit 1; }
  ANTHROPIC_BASE_URL="$(wait_for_line model 'http://[^ ]*' 60)" || { fail "the model stand-in did not start"; exit 1; }
  ANTHROPIC_API_KEY="sk-kiln-smoke"
  export ANTHROPIC_BASE_URL KILN_WORKSPACE_POLL_MS=200
fi
: "${ANTHROPIC_API_KEY:?set ANTHROPIC_API_KEY (or leave KILN_SMOKE_FAKES=1)}" "${MONGODB_URI:?set MONGODB_URI (or leave KILN_SMOKE_FAKES=1)}"
BOOTSTRAP="kiln_smoke_$(node -p 'require("crypto").randomBytes(24).toString("base64url")')"

[ -f "$SECRETS" ] && cp "$SECRETS" "$WORK/secrets.backup"
printf 'AnthropicAPIKey: %s\nMongoDBURI: %s\nKilnBootstrapToken: %s\n' \
  "$(node -p 'JSON.stringify(process.argv[1])' "$ANTHROPIC_API_KEY")" "$(node -p 'JSON.stringify(process.argv[1])' "$MONGODB_URI")" "\"$BOOTSTRAP\"" >"$SECRETS"
touch "$WORK/secrets.ours"

background encore encore run --port "$PORT"
echo "waiting for encore run on $BASE (the first run builds the app and starts Postgres in Docker)..."
for _ in $(seq 1 300); do curl -fsS "$BASE/projects/health" >/dev/null 2>&1 && break; sleep 1; done
curl -fsS "$BASE/projects/health" >/dev/null 2>&1 || { fail "encore run did not serve /projects/health in 300 s; its output:"; tail -40 "$WORK/encore.log"; exit 1; }
pass "encore run serves on $BASE"

for path in /projects/health /workspaces/health /vfs/health /generations/health; do
  read -r status body <<<"$(call GET "$path")"
  state="$(json status <<<"$body")"
  if [ "$status" = 200 ] && [ "$state" != down ]; then pass "$path: $state"; else fail "$path: HTTP $status $body"; fi
done

read -r status _ <<<"$(call GET /projects/tokens "$BOOTSTRAP")"
if [ "$status" = 200 ]; then pass "the KilnBootstrapToken secret is the first user's token"; else echo "SKIP the bootstrap token answers $status (this app's database already had a user: the secret counts on the first start only)"; fi

conn="$(encore db conn-uri projects)"
TOKEN="$(npm run --silent token -- --database-url "$conn" create smoke | head -1)"
read -r status _ <<<"$(call GET /projects/tokens "$TOKEN")"
if [ "$status" = 200 ]; then pass "npm run token -- --database-url \$(encore db conn-uri projects) made a working token"; else fail "the token from npm run token answers $status"; exit 1; fi

read -r status _ <<<"$(call GET /projects)"
if [ "$status" = 401 ]; then pass "no token: 401"; else fail "no token: expected 401, got $status"; fi
read -r status body <<<"$(call POST /workspaces "$TOKEN" '{"projectId":"x"}')"
if [ "$status" = 404 ]; then pass "a private endpoint answers 404 from outside"; else fail "POST /workspaces from outside: expected 404, got $status $body"; fi

read -r status body <<<"$(call POST /projects "$TOKEN" '{"name":"encore smoke"}')"
PROJECT="$(json id <<<"$body")"
if [ "$status" = 200 ] && [ -n "$PROJECT" ]; then pass "project $PROJECT created"; else fail "POST /projects: $status $body"; exit 1; fi

read -r status body <<<"$(call POST /generations "$TOKEN" "{\"projectId\":\"$PROJECT\",\"prompt\":\"Build a page that says hello\"}")"
JOB="$(json id <<<"$body")"
if [ "$status" = 200 ] && [ -n "$JOB" ]; then pass "generation $JOB queued"; else fail "POST /generations: $status $body"; fi
if [ -n "$JOB" ]; then
  curl -sSN --max-time 600 -H "authorization: Bearer $TOKEN" "$BASE/generations/$JOB/events" | tee "$WORK/events" | grep -m1 -E '^event: (completed|failed|cancelled)' >/dev/null || true
  read -r status body <<<"$(call GET "/generations/$JOB" "$TOKEN")"
  outcome="$(json status <<<"$body")"
  preview="$(json previewUrl <<<"$body")"
  if [ "$outcome" = completed ]; then pass "the generation completed ($(grep -c '^event:' "$WORK/events") events over SSE)"; else fail "the generation ended $outcome: $(json error <<<"$body")"; fi
  if [ -n "$preview" ] && curl -fsS "$preview" -o "$WORK/preview"; then
    pass "the preview answers at $preview"
    if [ "$FAKES" = "1" ]; then grep -q "Hello from Kiln" "$WORK/preview" && pass "the preview shows the scripted app" || fail "the preview lacks the scripted app's page"; fi
  else
    fail "no preview at '${preview}'"
  fi
fi

read -r status _ <<<"$(call DELETE "/projects/$PROJECT" "$TOKEN")"
if [ "$status" = 200 ]; then pass "project deleted"; else fail "DELETE /projects/$PROJECT: $status"; fi

echo "cron jobs do not run under encore run; SSE disconnects are bounded by the stream's lifetime (2 min), not observable from here"
if [ "$failures" -gt 0 ]; then echo "$failures check(s) failed; encore run's output is below"; tail -60 "$WORK/encore.log"; exit 1; fi
echo "all checks passed"
