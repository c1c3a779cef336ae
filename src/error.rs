//! Errors that cross stage boundaries, and the exit code each one maps to (SPEC §9).
//!
//! Messages name the file, line, column or flag concerned and say what to do. They never
//! contain an input value: any cell of an export might be PHI.

use std::path::PathBuf;

/// Exit codes of SPEC §9. They are part of the interface and documented in the README.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// 0: report written (or the subcommand did what was asked).
    Success = 0,
    /// 1: data error, the output could not be written, or an internal error (a bug, with its
    /// own message); nothing was published.
    DataError = 1,
    /// 2: usage or configuration error.
    Usage = 2,
    /// 3: another run holds the output lock.
    Locked = 3,
}

/// A failure of the pipeline, typed by who must act on it.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The command line or the config file is wrong: the user fixes the invocation.
    #[error("{0}")]
    Usage(String),
    /// The config file is wrong: the message names the file and key.
    #[error("config {path}: {message}")]
    Config { path: PathBuf, message: String },
    /// The input data cannot be used: the message names file, line and column.
    #[error("{0}")]
    Data(String),
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Another run holds the lock on the output folder.
    #[error("{0}")]
    Locked(String),
    /// A bug: drawing a chart, rendering the page or writing a table failed on data the
    /// earlier stages accepted. Not the input's fault; nothing is published.
    #[error("internal error (a bug in iop-outcomes, not a problem with the data; please report it): {0}")]
    Internal(String),
}

impl Error {
    /// The process exit code this error maps to.
    pub fn exit_status(&self) -> ExitStatus {
        match self {
            Error::Usage(_) | Error::Config { .. } => ExitStatus::Usage,
            Error::Data(_) | Error::Io { .. } | Error::Internal(_) => ExitStatus::DataError,
            Error::Locked(_) => ExitStatus::Locked,
        }
    }

    /// An I/O error on `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}

/// Result type of the library.
pub type Result<T, E = Error> = std::result::Result<T, E>;
