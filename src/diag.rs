//! What a run says while it works: a spinner naming the stage on a terminal (indicatif), and
//! log lines on stderr filtered by level. Nothing is coloured, so `NO_COLOR` is always
//! honoured.
//!
//! Levels (SPEC §16 O2): on a terminal, `info` and up; without one (cron), `warn` and up, so
//! that data-loss warnings reach the operator's mail; `--quiet` keeps errors only;
//! `--log-level` overrides all of these. A log line is printed above the spinner, never on its
//! line. Writing to a closed or full stderr is not an error (SPEC §16 O8): the line is lost,
//! the run goes on, nothing panics.

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Mutex;

/// Log levels, most severe first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, clap::ValueEnum)]
pub enum Level {
    Error = 0,
    Warn = 1,
    Info = 2,
    Debug = 3,
}

static LEVEL: AtomicU8 = AtomicU8::new(Level::Warn as u8);
/// When the level was set (the start of the run): debug lines say how long since.
static START: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
/// The spinner while one is shown: log lines are printed through it.
static BAR: Mutex<Option<indicatif::ProgressBar>> = Mutex::new(None);

/// Sets the level: the explicit one if given, else `error` with `--quiet`, `info` on a
/// terminal and `warn` without one.
pub fn init(explicit: Option<Level>, quiet: bool) {
    let level = explicit.unwrap_or(if quiet {
        Level::Error
    } else if std::io::stderr().is_terminal() {
        Level::Info
    } else {
        Level::Warn
    });
    LEVEL.store(level as u8, Ordering::Relaxed);
    START.get_or_init(std::time::Instant::now);
}

fn enabled(l: Level) -> bool {
    l as u8 <= LEVEL.load(Ordering::Relaxed)
}

/// Writes one line to stderr, above the spinner if one is shown; errors are ignored (a
/// closed or full stderr must not stop or crash a run).
pub fn line(text: &str) {
    let print = || {
        let mut err = std::io::stderr().lock();
        let _ = writeln!(err, "{text}");
        let _ = err.flush();
    };
    match BAR.lock().ok().as_deref().and_then(Option::as_ref) {
        Some(bar) => bar.suspend(print),
        None => print(),
    }
}

/// An error line (always printed).
pub fn error(msg: &str) {
    line(&format!("iop-outcomes: error: {msg}"));
}

pub fn warn(msg: &str) {
    if enabled(Level::Warn) {
        line(&format!("iop-outcomes: warning: {msg}"));
    }
}

pub fn info(msg: &str) {
    if enabled(Level::Info) {
        line(&format!("iop-outcomes: {msg}"));
    }
}

pub fn debug(msg: &str) {
    if enabled(Level::Debug) {
        // Seconds since the start, so that stages running side by side can be placed.
        let at = START.get().map_or(0.0, |s| s.elapsed().as_secs_f64());
        line(&format!("iop-outcomes: debug: {at:6.3} s: {msg}"));
    }
}

/// Runs `f`, logging how long it took at debug level under `what`.
pub fn timed<T>(what: &str, f: impl FnOnce() -> T) -> T {
    let t = std::time::Instant::now();
    let out = f();
    debug(&format!("{what} {:.2?}", t.elapsed()));
    out
}

/// A spinner on a terminal, nothing otherwise.
pub struct Progress {
    shown: bool,
    started: std::time::Instant,
    stage: String,
}

impl Progress {
    pub fn new(quiet: bool) -> Progress {
        let shown = !quiet && std::io::stderr().is_terminal();
        if shown {
            let b = indicatif::ProgressBar::new_spinner();
            b.enable_steady_tick(std::time::Duration::from_millis(120));
            if let Ok(mut slot) = BAR.lock() {
                *slot = Some(b);
            }
        }
        Progress {
            shown,
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
        if self.shown {
            if let Some(b) = BAR.lock().ok().as_deref().and_then(Option::as_ref) {
                b.set_message(name.to_string());
            }
        }
    }

    pub fn finish(&mut self) {
        self.stage("done");
        self.clear();
    }

    fn clear(&mut self) {
        if std::mem::take(&mut self.shown) {
            if let Some(b) = BAR.lock().ok().and_then(|mut s| s.take()) {
                b.finish_and_clear();
            }
        }
    }
}

impl Drop for Progress {
    /// A run that fails clears its spinner before the error is printed.
    fn drop(&mut self) {
        self.clear();
    }
}
