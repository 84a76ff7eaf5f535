#!/usr/bin/env bash
# The status page in headless Chromium (WebDriver over chromedriver, with curl and jq):
#   - `pipelinectl demo --inject-faults` leaves its day (trackers, Phase 5, a dead letter,
#     an alert) in a SQLite store; `pipelinectl serve` serves it with a token;
#   - the browser signs in through the page's form, the page loads with no console error,
#     the graph and Phase 5's coverage are in the rendered DOM, the script's refresh
#     reaches /api/status, nothing overflows sideways at 1280x800 nor at 390 px wide;
#   - a screenshot is saved under the build tree (status_page.png);
#   - the replay button replays the dead letter; without the session (and without the
#     CSRF token) the same request is refused.
# Usage: status_page_browser_test.sh PIPELINECTL WORK_DIR CHROMIUM CHROMEDRIVER
# Fails loudly (never skips) when Chromium cannot start.
set -euo pipefail
ctl=$1 work=$2 chromium=$3 chromedriver=$4
date=2025-11-18
token=browser-test-token
rm -rf "$work" && mkdir -p "$work"
pids=()
cleanup() {
  [ -n "${session:-}" ] && curl -s -X DELETE "$wd/session/$session" >/dev/null 2>&1 || true
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; for f in "$work"/*.log; do echo "--- $f" >&2; tail -n 30 "$f" >&2; done; exit 1; }
# wait_for <seconds> <command...>: polls the command until it succeeds, up to the deadline.
wait_for() {
  local deadline=$((SECONDS + $1)); shift
  until "$@"; do [ $SECONDS -lt $deadline ] || return 1; sleep 0.2; done
}

"$ctl" demo --date "$date" --store "sqlite:$work/state.db" --warehouse "$work/warehouse.db" --data-dir "$work/data" \
  --inject-faults >"$work/demo.log" 2>&1 || fail "the demo failed"
printf '%s\n' "$token" >"$work/token"
"$ctl" serve --port 0 --store "sqlite:$work/state.db" --token-file "$work/token" >"$work/serve.log" 2>"$work/serve.err.log" &
pids+=($!)
wait_for 30 grep -q "listening on" "$work/serve.log" || fail "pipelinectl serve did not start"
port=$(sed -nE 's/.*listening on [^ ]+:([0-9]+).*/\1/p' "$work/serve.log")
base="http://127.0.0.1:$port"

# chromedriver on a free port (it takes no port 0): try a few.
wd=""
for attempt in 1 2 3 4 5; do
  cd_port=$((20000 + (RANDOM % 40000)))
  "$chromedriver" --port="$cd_port" >"$work/chromedriver.log" 2>&1 &
  cd_pid=$!
  if wait_for 10 curl -sf "http://127.0.0.1:$cd_port/status" -o /dev/null; then
    pids+=("$cd_pid"); wd="http://127.0.0.1:$cd_port"; break
  fi
  kill "$cd_pid" 2>/dev/null || true; wait "$cd_pid" 2>/dev/null || true
done
[ -n "$wd" ] || fail "chromedriver did not start"

# post <path> <json>: a WebDriver command; prints its "value".
post() { curl -s -X POST -H 'Content-Type: application/json' -d "$2" "$wd$1" | jq -c '.value'; }
js() { post "/session/$session/execute/sync" "$(jq -cn --arg s "$1" '{script: $s, args: []}')"; }
# js_matches <regex> <script>: whether the script's value (as text) matches.
js_matches() { js "$2" | jq -r . | grep -qE "$1"; }

caps=$(jq -cn --arg bin "$chromium" '{capabilities: {alwaysMatch: {browserName: "chrome",
  "goog:loggingPrefs": {browser: "ALL"},
  "goog:chromeOptions": {binary: $bin, args: ["--headless=new", "--no-sandbox", "--disable-gpu",
    "--disable-dev-shm-usage", "--disable-background-networking", "--disable-component-update",
    "--no-first-run", "--window-size=1280,800", "--hide-scrollbars"]}}}}')
created=$(curl -s -X POST -H 'Content-Type: application/json' -d "$caps" "$wd/session")
session=$(jq -r '.value.sessionId // empty' <<<"$created")
[ -n "$session" ] || fail "Chromium did not start: $(jq -c '.value.message // .' <<<"$created")"

# Signed out: the page is the sign-in form.
post "/session/$session/url" "{\"url\":\"$base/?date=$date\"}" >/dev/null
[ "$(js 'return document.title')" = '"Sign in - pipeline status"' ] || fail "signed out, the page is not the sign-in form"
[ "$(js 'return document.querySelector("#dead-letters") === null')" = true ] || fail "signed out, the page shows data"
js "document.getElementById('token').value = '$token'; document.querySelector('form[action=\"/login\"]').submit(); return 1" >/dev/null
wait_for 20 js_matches "^$date - pipeline status\$" 'return document.title' ||
  fail "signing in did not show the page: $(js 'return document.title')"

# The rendered DOM: the graph (a node per processor, coloured and labelled), Phase 5's coverage.
nodes=$(js 'return document.querySelectorAll("#graph .node[data-state]").length')
[ "$nodes" -gt 20 ] || fail "the graph has $nodes nodes"
[ "$(js 'return document.querySelectorAll("#graph .node .label").length === document.querySelectorAll("#graph .node").length')" = true ] ||
  fail "a graph node has no text label"
coverage=$(js 'var c = document.getElementById("coverage"); return c ? c.textContent : ""')
grep -qE '[0-9]+ of [0-9]+ predicted \([0-9.]+%\)' <<<"$coverage" || fail "Phase 5 coverage missing: $coverage"
[ "$(js 'return document.querySelectorAll("#dead-letters button").length')" -ge 1 ] || fail "no replay button"
# The script's first refresh asks /api/status with the session cookie.
wait_for 20 js_matches '^checked ' 'return document.getElementById("refresh-note").textContent' ||
  fail "the page's refresh did not reach /api/status: $(js 'return document.getElementById("refresh-note").textContent')"
# Readable at 1280x800 and narrow: nothing wider than the window.
[ "$(js 'return document.documentElement.scrollWidth <= window.innerWidth')" = true ] || fail "the page overflows at 1280 px"
# No console error while loading and refreshing.
errors=$(post "/session/$session/se/log" '{"type":"browser"}' | jq -c '[.[] | select(.level == "SEVERE")]')
[ "$errors" = "[]" ] || fail "console errors: $errors"
curl -s "$wd/session/$session/screenshot" | jq -r .value | base64 -d >"$work/status_page.png"
[ -s "$work/status_page.png" ] || fail "no screenshot"
post "/session/$session/window/rect" '{"width":390,"height":844}' >/dev/null
[ "$(js 'return document.documentElement.scrollWidth <= window.innerWidth')" = true ] ||
  fail "the page overflows at $(js 'return window.innerWidth') px: $(js 'return document.documentElement.scrollWidth')"
post "/session/$session/window/rect" '{"width":1280,"height":800}' >/dev/null

# Replay with the session: the button posts the form (with its CSRF token).
js 'document.querySelector("#dead-letters button").click(); return 1' >/dev/null
wait_for 20 js_matches '^Replayed dead letter' 'var n = document.querySelector(".notice"); return n ? n.textContent : ""' ||
  fail "the replay button did not replay: $(js 'return document.body.innerText.slice(0, 300)')"
replayed=$(curl -s -H "Authorization: Bearer $token" "$base/api/status?date=$date" | jq '[.dead_letters[].replayed] | max')
[ "$replayed" = 1 ] || fail "the dead letter shows $replayed replays"
# serve's relay published the replay at once: nothing waits in the outbox.
outbox_empty() { [ "$(curl -s -H "Authorization: Bearer $token" "$base/api/status?date=$date" | jq '.outbox_pending')" = 0 ]; }
wait_for 20 outbox_empty || fail "outbox entries still wait after the replay"

# Refused without the session: the same form posted by the browser once its cookie is gone,
# and by curl without a token, with a stale CSRF token, and with a wrong bearer token.
id=$(js 'return document.querySelector("#dead-letters input[name=id]").value' | jq -r .)
csrf=$(js 'return document.querySelector("#dead-letters input[name=csrf]").value' | jq -r .)
curl -s -X DELETE "$wd/session/$session/cookie" >/dev/null
status=$(post "/session/$session/execute/async" "$(jq -cn --arg id "$id" --arg csrf "$csrf" '{args: [], script:
  ("var done = arguments[0]; fetch(\"/dlq/replay\", {method: \"POST\", body: new URLSearchParams({id: " + ($id|tojson) +
   ", csrf: " + ($csrf|tojson) + "})}).then(function (r) { done(r.status); });")}')")
[ "$status" = 401 ] || fail "replay without a session answered $status"
form=(--data-urlencode "id=$id" --data-urlencode "csrf=$csrf")
[ "$(curl -s -o /dev/null -w '%{http_code}' -X POST "${form[@]}" "$base/dlq/replay")" = 401 ] || fail "curl replay without auth not refused"
[ "$(curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer wrong' -X POST "${form[@]}" "$base/dlq/replay")" = 401 ] ||
  fail "replay with a wrong token not refused"
cookie=$(curl -s -i -X POST --data-urlencode "token=$token" "$base/login" | sed -nE 's/^Set-Cookie: (pipeline_session=[0-9a-f]+).*/\1/p')
[ "$(curl -s -o /dev/null -w '%{http_code}' -b "$cookie" -X POST --data-urlencode "id=$id" --data-urlencode "csrf=stale" "$base/dlq/replay")" = 403 ] ||
  fail "replay with a stale CSRF token not refused"
replayed=$(curl -s -H "Authorization: Bearer $token" "$base/api/status?date=$date" | jq '[.dead_letters[].replayed] | max')
[ "$replayed" = 1 ] || fail "a refused replay replayed (now $replayed)"
# With the bearer token (a script, not a browser), the replay goes through.
[ "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $token" -X POST --data-urlencode "id=$id" "$base/dlq/replay")" = 200 ] ||
  fail "replay with the bearer token refused"
echo "ok: status page in $("$chromium" --version 2>/dev/null | head -n 1); screenshot $work/status_page.png"
