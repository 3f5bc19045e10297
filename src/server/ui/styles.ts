/** The web UI's style sheet, served as /ui/app.css. */
export const APP_CSS = `:root { --ok: #1a7f37; --info: #0969da; --warn: #9a6700; --bad: #cf222e; --muted: #656d76; --line: #d0d7de; --bg: #f6f8fa; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1f2328; background: #fff; }
header { display: flex; align-items: baseline; gap: 24px; padding: 10px 20px; border-bottom: 1px solid var(--line); background: var(--bg); }
header h1 { margin: 0; font-size: 18px; }
nav a { margin-right: 14px; color: var(--info); text-decoration: none; }
nav a.active { font-weight: 600; color: #1f2328; border-bottom: 2px solid var(--info); }
#updated { margin-left: auto; color: var(--muted); font-size: 12px; }
main { padding: 8px 20px 40px; }
h2 { font-size: 16px; margin: 18px 0 8px; }
h3 { font-size: 14px; margin: 12px 0 6px; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; vertical-align: top; padding: 5px 8px; border-bottom: 1px solid var(--line); }
th { font-weight: 600; color: var(--muted); font-size: 12px; background: var(--bg); }
tr.source td { background: #fbfcfd; border-top: 2px solid var(--line); }
td.indent { padding-left: 26px; }
td.error, .error { color: var(--bad); }
td.actions, p.actions { white-space: nowrap; }
.muted { color: var(--muted); }
.mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12px; word-break: break-all; }
.badge { display: inline-block; min-width: 64px; text-align: center; padding: 1px 8px; border-radius: 10px; font-size: 12px; font-weight: 600; color: #fff; background: var(--muted); }
.b-ok, .b-delivered { background: var(--ok); }
.b-pending, .b-running, .b-new, .b-retry { background: var(--info); }
.b-failing, .b-dead, .b-failed { background: var(--bad); }
.b-suspended, .b-backoff, .b-held { background: var(--warn); }
.b-paused { background: #57606a; }
.b-filtered { background: #8c959f; }
button { font: inherit; font-size: 12px; padding: 3px 10px; margin: 0 4px 2px 0; border: 1px solid var(--line); border-radius: 6px; background: #fff; cursor: pointer; }
button:hover { background: var(--bg); border-color: #afb8c1; }
button:disabled { opacity: .5; cursor: wait; }
form.filters { display: flex; flex-wrap: wrap; gap: 12px; align-items: end; margin: 8px 0 12px; }
form.filters label { display: flex; flex-direction: column; font-size: 12px; color: var(--muted); }
input, select { font: inherit; padding: 3px 6px; border: 1px solid var(--line); border-radius: 6px; min-width: 140px; }
tr.clickable { cursor: pointer; }
tr.clickable:hover td { background: var(--bg); }
tr.detail td { background: var(--bg); }
.attempt { display: grid; grid-template-columns: 1fr 1fr; gap: 20px; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 2px 12px; margin: 0; }
dt { color: var(--muted); }
dd { margin: 0; }
pre { background: var(--bg); border: 1px solid var(--line); border-radius: 6px; padding: 10px; overflow: auto; max-height: 480px; font-size: 12px; }
#flash { position: sticky; top: 0; z-index: 1; padding: 0 20px; }
.flash { margin: 8px 0; padding: 8px 12px; border-radius: 6px; border: 1px solid var(--line); background: #ddf4ff; }
.flash.ok { background: #dafbe1; }
.flash.error { background: #ffebe9; color: var(--bad); }
ol.timeline { list-style: none; padding: 0; margin: 0; border-left: 2px solid var(--line); }
ol.timeline > li { position: relative; margin: 0 0 8px 0; padding: 4px 10px 4px 16px; }
ol.timeline > li::before { content: ""; position: absolute; left: -6px; top: 10px; width: 10px; height: 10px; border-radius: 50%; background: var(--muted); }
ol.timeline > li.event::before { background: var(--info); }
ol.timeline > li.pass { color: var(--muted); }
ol.timeline > li.failed::before { background: var(--bad); }
ol.timeline > li.focus { background: #fff8c5; }
ol.timeline time { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12px; }
.why { margin: 2px 0; }
.not-fired { color: var(--warn); }
table.changes { width: auto; margin: 4px 0; }
ul.routing, ul.attempts { margin: 2px 0; padding-left: 18px; }
.charts { display: flex; flex-wrap: wrap; gap: 16px 28px; }
.chart-group h3 { margin: 6px 0 2px; }
figure.chart { margin: 0 0 8px; }
figure.chart figcaption { font-size: 12px; color: var(--muted); margin-bottom: 2px; }
figure.chart > svg { display: block; background: #fbfcfd; border: 1px solid var(--line); border-radius: 4px; }
.legend { font-size: 11px; color: var(--muted); }
.legend span { margin-right: 10px; }
.legend svg.swatch { display: inline-block; margin-right: 3px; vertical-align: -1px; }
.login { max-width: 360px; margin: 80px auto; padding: 24px; border: 1px solid var(--line); border-radius: 8px; }
.login input { width: 100%; margin: 8px 0 12px; }
`;
