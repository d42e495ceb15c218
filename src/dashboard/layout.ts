import { DASHBOARD_PATH } from '../observability/dashboard-links.ts';
import { html, trusted, type Html } from './html.ts';

const STYLE = `
:root { --fg:#1f2328; --muted:#59636e; --line:#d1d9e0; --bg:#f6f8fa; --accent:#0969da; --ok:#1a7f37; --bad:#cf222e; --warn:#9a6700; }
* { box-sizing: border-box; }
body { margin:0; font:14px/1.5 system-ui,-apple-system,"Segoe UI",Helvetica,Arial,sans-serif; color:var(--fg); background:#fff; }
header { display:flex; gap:1.5rem; align-items:center; padding:.75rem 1.5rem; background:#24292f; color:#fff; }
header a { color:#fff; text-decoration:none; opacity:.85; } header a:hover, header a.here { opacity:1; text-decoration:underline; }
header .brand { font-weight:600; opacity:1; }
main { max-width:1100px; margin:0 auto; padding:1.5rem; }
h1 { font-size:1.5rem; margin:.2rem 0 1rem; } h2 { font-size:1.15rem; margin:2rem 0 .75rem; border-bottom:1px solid var(--line); padding-bottom:.3rem; }
a { color:var(--accent); }
table { border-collapse:collapse; width:100%; } th, td { text-align:left; padding:.4rem .6rem; border-bottom:1px solid var(--line); vertical-align:top; }
th { color:var(--muted); font-weight:600; font-size:.85rem; } td.num, th.num { text-align:right; font-variant-numeric:tabular-nums; }
.cards { display:grid; grid-template-columns:repeat(auto-fill,minmax(160px,1fr)); gap:.75rem; }
.card { border:1px solid var(--line); border-radius:6px; padding:.6rem .8rem; background:var(--bg); }
.card .label { color:var(--muted); font-size:.8rem; } .card .value { font-size:1.2rem; font-weight:600; }
.badge { display:inline-block; padding:0 .5rem; border-radius:1rem; font-size:.8rem; font-weight:600; border:1px solid currentColor; }
.badge.succeeded, .badge.done { color:var(--ok); } .badge.failed { color:var(--bad); } .badge.cancelled { color:var(--muted); } .badge.running { color:var(--warn); }
.links a { margin-right:1rem; }
.entry { border:1px solid var(--line); border-radius:6px; margin:.5rem 0; }
.entry .head { background:var(--bg); padding:.35rem .7rem; font-size:.85rem; color:var(--muted); display:flex; gap:1rem; flex-wrap:wrap; }
.entry .head strong { color:var(--fg); }
.entry .body { padding:.5rem .7rem; }
pre { margin:.25rem 0; white-space:pre-wrap; word-break:break-word; font:12.5px/1.45 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace; background:#f6f8fa; padding:.5rem; border-radius:4px; max-height:28rem; overflow:auto; }
code { font:12.5px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace; }
.pass { color:var(--ok); font-weight:600; } .fail { color:var(--bad); font-weight:600; }
.muted { color:var(--muted); } .note { color:var(--muted); font-size:.85rem; }
nav.periods a { margin-right:.75rem; } nav.periods a.here { font-weight:700; text-decoration:none; color:var(--fg); }
svg text { font:11px system-ui,sans-serif; fill:var(--muted); }
`;

export type Section = 'tasks' | 'usage' | 'queues';

export function layout(options: { title: string; section: Section; body: Html; refreshSeconds?: number }): string {
  const nav = (section: Section, href: string, label: string) =>
    html`<a href="${href}" class="${options.section === section ? 'here' : ''}">${label}</a>`;
  return `<!doctype html>${
    html`<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">${options.refreshSeconds ? html`<meta http-equiv="refresh" content="${options.refreshSeconds}">` : ''}
<title>${options.title} · ai-fix</title><style>${trusted(STYLE)}</style></head>
<body><header><a class="brand" href="${DASHBOARD_PATH}">ai-fix</a>${nav('tasks', DASHBOARD_PATH, 'Tasks')}${nav('usage', `${DASHBOARD_PATH}/usage`, 'Usage')}${nav('queues', `${DASHBOARD_PATH}/queues`, 'Queues')}</header>
<main>${options.body}</main></body></html>`.__html
  }`;
}
