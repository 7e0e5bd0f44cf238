//! The page around the cells: one file, no external resources (a result must render
//! offline and from any host), light and dark from the reader's preference.

use super::escape;

const STYLE: &str = r#"
:root { color-scheme: light dark; --fg: #1f1f1f; --bg: #ffffff; --muted: #616161; --code-bg: #f5f5f5;
  --border: #e0e0e0; --err-bg: #fdd; --err: #c62828; --accent: #1976d2; }
@media (prefers-color-scheme: dark) { :root { --fg: #e0e0e0; --bg: #111111; --muted: #9e9e9e;
  --code-bg: #1e1e1e; --border: #424242; --err-bg: #3b1d1d; --err: #ef5350; --accent: #64b5f6; } }
body { margin: 0 auto; max-width: 1100px; padding: 16px 24px; background: var(--bg); color: var(--fg);
  font: 14px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
pre, code { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; font-size: 13px; }
pre { margin: 0; white-space: pre-wrap; word-break: break-word; }
.nx-header { border-bottom: 1px solid var(--border); margin-bottom: 16px; padding-bottom: 12px; }
.nx-notice, .nx-failure { border-left: 4px solid var(--accent); padding: 8px 12px; margin-bottom: 12px; background: var(--code-bg); white-space: pre-wrap; overflow-wrap: anywhere; }
.nx-failure { border-left-color: var(--err); background: var(--err-bg); font-weight: 600; white-space: pre-wrap; overflow-wrap: anywhere; }
.nx-name { font-size: 1.5em; margin: 0 0 8px; overflow-wrap: anywhere; }
.nx-facts { display: grid; grid-template-columns: max-content minmax(0, 1fr) max-content minmax(0, 1fr); gap: 4px 16px; margin: 0; }
.nx-facts > div { display: contents; }
.nx-facts dt { color: var(--muted); }
.nx-facts dd { margin: 0 16px 0 0; overflow-wrap: anywhere; }
.nx-facts .nx-fact-wide dd { grid-column: 2 / -1; }
@media (max-width: 640px) { .nx-facts { grid-template-columns: max-content minmax(0, 1fr); } .nx-facts .nx-fact-wide dd { grid-column: auto; } }
.nx-muted { color: var(--muted); }
.nx-badge { border-radius: 8px; padding: 1px 8px; color: #fff; background: var(--accent); font-size: 0.9em; }
.nx-badge-succeeded { background: #2e7d32; } .nx-badge-failed, .nx-badge-expired { background: #c62828; }
.nx-badge-cancelled { background: #616161; }
.nx-links { display: flex; flex-wrap: wrap; gap: 6px 20px; margin-top: 10px; }
.nx-links a { color: var(--accent); }
@media (forced-colors: active) { .nx-badge, .nx-failure, .nx-notice { border: 1px solid CanvasText; forced-color-adjust: auto; } }
.nx-cell { margin: 8px 0; }
.nx-input { display: flex; gap: 8px; }
.nx-prompt { color: var(--muted); min-width: 56px; text-align: right; font-family: monospace; padding-top: 6px; }
.nx-source { flex: 1; background: var(--code-bg); border: 1px solid var(--border); padding: 6px 8px; overflow-x: auto; }
.nx-outputs { margin-left: 64px; padding: 4px 0; overflow-x: auto; }
.nx-output { margin: 2px 0; }
.nx-stderr { background: var(--err-bg); }
.nx-error { background: var(--err-bg); padding: 4px; }
.nx-image img { max-width: 100%; height: auto; }
.nx-markdown { padding: 0 8px 0 64px; }
.nx-markdown table { border-collapse: collapse; } .nx-markdown td, .nx-markdown th { border: 1px solid var(--border); padding: 2px 8px; }
.ansi-bold { font-weight: bold; }
.ansi-fg-0 { color: #3e424d; } .ansi-fg-1 { color: #e75c58; } .ansi-fg-2 { color: #00a250; } .ansi-fg-3 { color: #ddb62b; }
.ansi-fg-4 { color: #208ffb; } .ansi-fg-5 { color: #d160c4; } .ansi-fg-6 { color: #60c6c8; } .ansi-fg-7 { color: #c5c1b4; }
.ansi-fg-8 { color: #282c36; } .ansi-fg-9 { color: #b22b31; } .ansi-fg-10 { color: #007427; } .ansi-fg-11 { color: #b27d12; }
.ansi-fg-12 { color: #0065ca; } .ansi-fg-13 { color: #a03196; } .ansi-fg-14 { color: #258f8f; } .ansi-fg-15 { color: #a1a6b2; }
.ansi-bg-0 { background: #3e424d; } .ansi-bg-1 { background: #e75c58; } .ansi-bg-2 { background: #00a250; } .ansi-bg-3 { background: #ddb62b; }
.ansi-bg-4 { background: #208ffb; } .ansi-bg-5 { background: #d160c4; } .ansi-bg-6 { background: #60c6c8; } .ansi-bg-7 { background: #c5c1b4; }
"#;

pub fn wrap(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<main>\n{body}</main>\n</body>\n</html>\n",
        escape(title)
    )
}
