//! The page around the cells: one file, no external resources (a result must render
//! offline and from any host), light and dark from the reader's preference.

use super::escape;

const STYLE: &str = r#"
:root { color-scheme: light dark; --fg: #1f1f1f; --bg: #ffffff; --muted: #616161; --code-bg: #f5f5f5;
  --border: #e0e0e0; --err-bg: #fdd; --accent: #1976d2; }
@media (prefers-color-scheme: dark) { :root { --fg: #e0e0e0; --bg: #111111; --muted: #9e9e9e;
  --code-bg: #1e1e1e; --border: #424242; --err-bg: #3b1d1d; --accent: #64b5f6; } }
body { margin: 0 auto; max-width: 1100px; padding: 16px 24px; background: var(--bg); color: var(--fg);
  font: 14px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
pre, code { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; font-size: 13px; }
pre { margin: 0; white-space: pre-wrap; word-break: break-word; }
.nx-notice { border-left: 4px solid var(--accent); padding: 8px 12px; margin-bottom: 16px; background: var(--code-bg); }
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
