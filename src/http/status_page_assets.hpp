#pragma once
// Internal to pipeline::http: the status page's stylesheet and script, compiled in (the
// page loads nothing from elsewhere) and served from /static/.

#include <string_view>

namespace pipeline::inline v0::http::detail {

// States are told by a text label and a glyph and a border pattern, never by colour alone.
inline constexpr std::string_view kStatusCss = R"css(
:root { color-scheme: light; --fg: #1b1f24; --muted: #57606a; --line: #d0d7de; --bg: #ffffff; --panel: #f6f8fa; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", "DejaVu Sans", sans-serif; color: var(--fg); background: var(--bg); }
header, main { max-width: 1240px; margin: 0 auto; padding: 0 16px; }
header { display: flex; flex-wrap: wrap; align-items: center; gap: 8px 24px; padding-top: 12px; padding-bottom: 8px; border-bottom: 1px solid var(--line); }
h1 { font-size: 1.35rem; margin: 0; }
h2 { font-size: 1.1rem; margin: 24px 0 8px; }
h3 { font-size: 0.95rem; margin: 0 0 6px; }
form.inline { display: inline-flex; flex-wrap: wrap; gap: 6px; align-items: center; margin: 0; }
input, button { font: inherit; padding: 4px 8px; }
button { cursor: pointer; border: 1px solid #8c959f; border-radius: 4px; background: #f3f4f6; }
button:focus-visible, input:focus-visible, a:focus-visible, summary:focus-visible { outline: 3px solid #0969da; outline-offset: 1px; }
.meta { color: var(--muted); margin: 0; }
#refresh-note { display: inline-block; min-width: 18em; }
.notice { border: 2px solid #1a7f37; background: #dafbe1; padding: 6px 10px; margin: 12px 0 0; }
.notice.error { border-color: #cf222e; background: #ffebe9; }
.legend { display: flex; flex-wrap: wrap; gap: 6px 12px; list-style: none; padding: 0; margin: 0 0 8px; }
.phases { display: grid; grid-template-columns: repeat(auto-fit, minmax(200px, 1fr)); gap: 10px; list-style: none; padding: 0; margin: 0; }
.phase { border: 1px solid var(--line); border-radius: 6px; padding: 8px; background: var(--panel); min-width: 0; }
.phase > ul { list-style: none; padding: 0; margin: 0; display: flex; flex-direction: column; gap: 3px; }
.phase .edges { font-size: 0.8rem; color: var(--muted); margin-top: 6px; }
.phase .edges ul { padding-left: 16px; margin: 4px 0 0; }
.node, .badge { display: inline-flex; gap: 6px; align-items: baseline; border-radius: 4px; padding: 1px 6px; border: 2px solid; overflow-wrap: anywhere; }
.node { display: flex; flex-wrap: wrap; font-size: 0.85rem; }
.node .name { min-width: 0; overflow-wrap: anywhere; }
.node .label, .badge .label { font-size: 0.72rem; font-weight: 600; text-transform: uppercase; letter-spacing: 0.02em; margin-left: auto; white-space: nowrap; }
.state-complete { background: #dafbe1; border-color: #1a7f37; border-style: solid; }
.state-running { background: #ddf4ff; border-color: #0969da; border-style: dashed; }
.state-partial { background: #fff8c5; border-color: #9a6700; border-style: double; border-width: 3px; }
.state-failed { background: repeating-linear-gradient(135deg, #ffebe9 0 6px, #ffd8d3 6px 12px); border-color: #cf222e; border-style: solid; border-width: 3px; }
.state-not-started { background: #ffffff; border-color: #8c959f; border-style: dotted; }
.sev-critical, .sev-error { border-color: #cf222e; background: #ffebe9; }
.sev-warning { border-color: #9a6700; background: #fff8c5; }
.sev-info { border-color: #0969da; background: #ddf4ff; }
.table-wrap { overflow-x: auto; }
time { white-space: nowrap; }
table { border-collapse: collapse; width: 100%; font-size: 0.88rem; }
caption { text-align: left; font-weight: 600; padding: 4px 0; }
th, td { border-bottom: 1px solid var(--line); padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: var(--panel); font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.error-text { white-space: pre-wrap; overflow-wrap: anywhere; max-width: 48ch; margin: 0; font: 0.85em/1.35 ui-monospace, "DejaVu Sans Mono", monospace; }
dl.glance { display: flex; flex-wrap: wrap; gap: 8px 12px; margin: 12px 0 0; }
dl.glance > div { border: 1px solid var(--line); border-radius: 6px; padding: 6px 12px; background: var(--panel); }
dl.glance dt { font-size: 0.8rem; color: var(--muted); }
dl.glance dd { margin: 0; font-weight: 600; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; margin: 0; }
dl.facts dt { font-weight: 600; }
dl.facts dd { margin: 0; }
.go { font-weight: 700; }
meter { width: 12em; height: 1em; vertical-align: middle; }
.empty { color: var(--muted); font-style: italic; }
section[data-refresh] { contain: layout; }
@media (max-width: 640px) {
  body { font-size: 14px; }
  dl.glance { display: flex; flex-wrap: wrap; gap: 8px 12px; margin: 12px 0 0; }
dl.glance > div { border: 1px solid var(--line); border-radius: 6px; padding: 6px 12px; background: var(--panel); }
dl.glance dt { font-size: 0.8rem; color: var(--muted); }
dl.glance dd { margin: 0; font-weight: 600; }
dl.facts { grid-template-columns: 1fr; }
  dl.facts dd { margin-bottom: 6px; }
}
)css";

// Refines the server-rendered page: every `refresh` seconds it asks /api/status whether
// the date changed and, only then, swaps the refreshed sections in from a fresh render,
// each keeping at least its height (no layout shift). Without it the page is whole.
inline constexpr std::string_view kStatusJs = R"js('use strict';
(function () {
  var body = document.body;
  var period = Number(body.getAttribute('data-refresh') || 0);
  if (!(period > 0) || !window.fetch || !window.DOMParser) return;
  var date = body.getAttribute('data-date');
  var note = document.getElementById('refresh-note');
  var last = null;
  function stamp(text) { if (note) note.textContent = text; }
  function now() { return new Date().toISOString().replace(/\.\d+Z$/, 'Z'); }
  function swap(html) {
    var doc = new DOMParser().parseFromString(html, 'text/html');
    var sections = document.querySelectorAll('[data-refresh]');
    for (var i = 0; i < sections.length; i++) {
      var old = sections[i];
      var fresh = doc.getElementById(old.id);
      if (!fresh || old.contains(document.activeElement)) continue;
      old.style.minHeight = old.offsetHeight + 'px';
      old.innerHTML = fresh.innerHTML;
    }
    stamp('updated ' + now() + ' (UTC)');
  }
  function tick() {
    if (document.hidden) return;
    fetch('/api/status?date=' + encodeURIComponent(date), { credentials: 'same-origin', headers: { Accept: 'application/json' } })
      .then(function (r) { if (!r.ok) throw new Error('HTTP ' + r.status); return r.text(); })
      .then(function (text) {
        var changed = last !== null && text !== last;
        last = text;
        if (!changed) { stamp('checked ' + now() + ' (UTC)'); return null; }
        return fetch(location.pathname + location.search, { credentials: 'same-origin' })
          .then(function (r) { if (!r.ok) throw new Error('HTTP ' + r.status); return r.text(); })
          .then(swap);
      })
      .catch(function (e) { stamp('refresh failed: ' + e.message); });
  }
  tick();
  window.setInterval(tick, period * 1000);
})();
)js";

}  // namespace pipeline::inline v0::http::detail
