//! What a run tells its caller while it goes: cell progress, stream text, warnings.

use std::io::{IsTerminal, Write};
use std::time::Instant;

pub trait RunObserver: Send {
    fn cell_started(&mut self, _index: usize, _total: usize) {}
    fn cell_finished(&mut self, _index: usize, _total: usize) {}
    fn stream(&mut self, _name: &str, _text: &str) {}
    fn warning(&mut self, _message: &str) {}
    /// Called about once a second while a cell runs.
    fn tick(&mut self) {}
    fn finished(&mut self) {}
    /// The run succeeded and its output is written; the kernel is still shutting down.
    fn succeeded(&mut self) {}
}

/// Draws a progress bar on stderr (only on a terminal) and copies stream output to
/// stderr when asked.
pub struct TerminalObserver {
    bar: bool,
    log_output: bool,
    started: Instant,
    done: usize,
    total: usize,
    current: Option<usize>,
    drawn: bool,
    pub warnings: Vec<String>,
}

impl TerminalObserver {
    pub fn new(progress: bool, log_output: bool) -> Self {
        TerminalObserver {
            bar: progress && std::io::stderr().is_terminal(),
            log_output,
            started: Instant::now(),
            done: 0,
            total: 0,
            current: None,
            drawn: false,
            warnings: Vec::new(),
        }
    }

    fn draw(&mut self) {
        if !self.bar || self.total == 0 {
            return;
        }
        const WIDTH: usize = 30;
        let filled = WIDTH * self.done / self.total;
        let current = self
            .current
            .map(|c| format!(" · cell {}", c + 1))
            .unwrap_or_default();
        let line = format!(
            "\r\x1b[2KExecuting [{}{}] {}/{} cells{} · {:.1}s",
            "█".repeat(filled),
            "░".repeat(WIDTH - filled),
            self.done,
            self.total,
            current,
            self.started.elapsed().as_secs_f64()
        );
        let mut err = std::io::stderr().lock();
        let _ = err.write_all(line.as_bytes());
        let _ = err.flush();
        self.drawn = true;
    }

    fn clear_line(&mut self) {
        if self.drawn {
            let _ = std::io::stderr().write_all(b"\r\x1b[2K");
            self.drawn = false;
        }
    }
}

impl RunObserver for TerminalObserver {
    fn cell_started(&mut self, index: usize, total: usize) {
        self.total = total;
        self.current = Some(index);
        self.draw();
    }

    fn cell_finished(&mut self, _index: usize, total: usize) {
        self.total = total;
        self.done += 1;
        self.current = None;
        self.draw();
    }

    fn stream(&mut self, _name: &str, text: &str) {
        if self.log_output {
            self.clear_line();
            let _ = std::io::stderr().write_all(text.as_bytes());
            self.draw();
        }
    }

    fn warning(&mut self, message: &str) {
        self.warnings.push(message.to_owned());
    }

    fn tick(&mut self) {
        self.draw();
    }

    fn finished(&mut self) {
        if self.drawn {
            let _ = std::io::stderr().write_all(b"\n");
            self.drawn = false;
        }
    }
}
