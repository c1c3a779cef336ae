//! What a run says while it works: a spinner naming the stage on a terminal (indicatif), and
//! log lines on stderr filtered by level. Under cron (`--quiet`, or stderr not a terminal)
//! only errors are printed unless `--log-level` asks for more. Nothing is coloured, so
//! `NO_COLOR` is always honoured.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicU8, Ordering};

/// Log levels, most severe first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, clap::ValueEnum)]
pub enum Level {
    Error = 0,
    Warn = 1,
    Info = 2,
    Debug = 3,
}

static LEVEL: AtomicU8 = AtomicU8::new(Level::Error as u8);

/// Sets the level: the explicit one if given, else `info` on a terminal and `error` under
/// cron or with `--quiet`.
pub fn init(explicit: Option<Level>, quiet: bool) {
    let level = explicit.unwrap_or(if quiet || !std::io::stderr().is_terminal() {
        Level::Error
    } else {
        Level::Info
    });
    LEVEL.store(level as u8, Ordering::Relaxed);
}

fn enabled(l: Level) -> bool {
    l as u8 <= LEVEL.load(Ordering::Relaxed)
}

pub fn warn(msg: &str) {
    if enabled(Level::Warn) {
        eprintln!("iop-outcomes: warning: {msg}");
    }
}

pub fn info(msg: &str) {
    if enabled(Level::Info) {
        eprintln!("iop-outcomes: {msg}");
    }
}

pub fn debug(msg: &str) {
    if enabled(Level::Debug) {
        eprintln!("iop-outcomes: debug: {msg}");
    }
}

/// A spinner on a terminal, nothing otherwise.
pub struct Progress {
    bar: Option<indicatif::ProgressBar>,
    started: std::time::Instant,
    stage: String,
}

impl Progress {
    pub fn new(quiet: bool) -> Progress {
        let bar = (!quiet && std::io::stderr().is_terminal()).then(|| {
            let b = indicatif::ProgressBar::new_spinner();
            b.enable_steady_tick(std::time::Duration::from_millis(120));
            b
        });
        Progress {
            bar,
            started: std::time::Instant::now(),
            stage: String::new(),
        }
    }

    /// Starts a stage (and logs how long the previous one took at debug level).
    pub fn stage(&mut self, name: &str) {
        if !self.stage.is_empty() {
            debug(&format!(
                "{} took {:.2?}",
                self.stage,
                self.started.elapsed()
            ));
        }
        self.started = std::time::Instant::now();
        self.stage = name.to_string();
        if let Some(b) = &self.bar {
            b.set_message(name.to_string());
        }
    }

    pub fn finish(&mut self) {
        self.stage("done");
        if let Some(b) = self.bar.take() {
            b.finish_and_clear();
        }
    }
}
