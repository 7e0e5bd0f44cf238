//! Terminal colours (ANSI SGR escapes, as in IPython tracebacks) to HTML spans; every
//! other escape sequence is dropped.

use super::escape;

#[derive(Default, Clone, Copy, PartialEq)]
struct Style {
    bold: bool,
    fg: Option<u8>,
    bg: Option<u8>,
}

impl Style {
    fn classes(&self) -> String {
        let mut classes = Vec::new();
        if self.bold {
            classes.push("ansi-bold".to_owned());
        }
        if let Some(fg) = self.fg {
            classes.push(format!("ansi-fg-{fg}"));
        }
        if let Some(bg) = self.bg {
            classes.push(format!("ansi-bg-{bg}"));
        }
        classes.join(" ")
    }

    fn apply(&mut self, params: &str) {
        let codes: Vec<u16> = params.split(';').map(|p| p.parse().unwrap_or(0)).collect();
        let mut i = 0;
        while i < codes.len() {
            match codes[i] {
                0 => *self = Style::default(),
                1 => self.bold = true,
                22 => self.bold = false,
                c @ 30..=37 => self.fg = Some((c - 30) as u8),
                c @ 90..=97 => self.fg = Some((c - 90 + 8) as u8),
                39 => self.fg = None,
                c @ 40..=47 => self.bg = Some((c - 40) as u8),
                c @ 100..=107 => self.bg = Some((c - 100 + 8) as u8),
                49 => self.bg = None,
                // 256-colour and RGB forms: skipped with their arguments.
                38 | 48 => i += if codes.get(i + 1) == Some(&5) { 2 } else { 4 },
                _ => {}
            }
            i += 1;
        }
    }
}

pub fn to_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut style = Style::default();
    let mut open = false;
    let mut rest = text;
    while let Some(start) = rest.find('\x1b') {
        out.push_str(&escape(&rest[..start]));
        let after = &rest[start + 1..];
        let Some(csi) = after.strip_prefix('[') else {
            rest = after; // a lone ESC: dropped
            continue;
        };
        // A CSI sequence: parameters, then one final byte in @..~.
        let end = csi
            .find(|c: char| ('@'..='~').contains(&c))
            .unwrap_or(csi.len());
        let (params, final_byte) = (&csi[..end], csi[end..].chars().next());
        rest = &csi[(end + final_byte.map_or(0, char::len_utf8)).min(csi.len())..];
        if final_byte != Some('m') {
            continue;
        }
        let before = style;
        style.apply(params);
        if style != before {
            if open {
                out.push_str("</span>");
                open = false;
            }
            if style != Style::default() {
                out.push_str(&format!("<span class=\"{}\">", style.classes()));
                open = true;
            }
        }
    }
    out.push_str(&escape(rest));
    if open {
        out.push_str("</span>");
    }
    out
}
