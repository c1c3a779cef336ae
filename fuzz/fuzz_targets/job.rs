//! Fuzz target: the whole `run` job (ingest, pairing, every table, charts, page, manifest,
//! publish) on a small mangled export, through the library's entry point `app::execute`.
//!
//! Input format: parts separated by 0xFF (a byte that never occurs in UTF-8):
//!
//! ```text
//! episodes.csv 0xFF assessments.csv [0xFF attendance.csv [0xFF config.toml [0xFF options]]]
//! ```
//!
//! - Without a 0xFF the input is episodes.csv and assessments.csv is a small valid file.
//! - attendance.csv is written only when its part is present (even empty); with two parts the
//!   export has no attendance file.
//! - config.toml is passed as `--config` when its part is non-empty. A config whose `[input]`
//!   file names leave the input folder is skipped (the fuzzer must not read /dev/zero).
//! - options: byte 0 picks the period (modulo 6: all, 2025, 2025Q1, 2024Q4,
//!   2025-01-01..2025-02-28, 2030); byte 1 holds flags: bit 0 `--no-suppress`, bits 1, 2, 3
//!   leave out episodes.csv, assessments.csv, attendance.csv, bit 4 `--episode-data`; the rest (UTF-8, non-empty) is
//!   `--followup` (default `discharge`).
//!
//! Asserted: no panic; `Ok`, or an error whose exit code is 1 (data) or 2 (usage or config);
//! on `Ok` the published folder holds manifest.json listing every other file it contains with
//! its size and SHA-256, and nothing else was published; on an error nothing was published.
#![no_main]

use iop_outcomes::app;
use iop_outcomes::options::{Command, Period, RunOptions};
use iop_outcomes::config::Config;
use iop_outcomes::dates;
use iop_outcomes::ExitStatus;
use libfuzzer_sys::fuzz_target;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Once;

const DEFAULT_ASSESSMENTS: &[u8] =
    b"episode_id,instrument,assessed_on,score\nE1,PHQ9,2025-01-06,12\n";

static POOL: Once = Once::new();

fuzz_target!(|data: &[u8]| {
    // The rayon pool is global: built once, small, so that runs stay cheap on a shared machine.
    POOL.call_once(|| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build_global()
            .expect("global pool");
    });
    let parts: Vec<&[u8]> = data.splitn(5, |&b| b == 0xFF).collect();
    // On tmpfs when there is one: the publish step syncs every file, a no-op there.
    let dir = match Path::new("/dev/shm").is_dir() {
        true => tempfile::tempdir_in("/dev/shm"),
        false => tempfile::tempdir(),
    }
    .expect("temp dir");
    let input = dir.path().join("input");
    let out = dir.path().join("out");
    std::fs::create_dir(&input).expect("input dir");
    let options = parts.get(4).copied().unwrap_or(&[]);
    let flags = options.get(1).copied().unwrap_or(0);
    let write = |name: &str, bytes: &[u8]| std::fs::write(input.join(name), bytes).expect("write");
    if flags & 2 == 0 {
        write("episodes.csv", parts[0]);
    }
    if flags & 4 == 0 {
        write(
            "assessments.csv",
            parts.get(1).copied().unwrap_or(DEFAULT_ASSESSMENTS),
        );
    }
    if let Some(att) = parts.get(2).filter(|_| flags & 8 == 0) {
        write("attendance.csv", att);
    }
    let config = match parts.get(3) {
        Some(c) if !c.is_empty() => {
            let path = dir.path().join("config.toml");
            std::fs::write(&path, c).expect("write");
            if let Ok(cfg) = Config::load_or_default(Some(&path)) {
                let names = [
                    &cfg.input.episodes,
                    &cfg.input.assessments,
                    &cfg.input.attendance,
                ];
                if !names.iter().all(|n| stays_inside(n)) {
                    return;
                }
            }
            Some(path)
        }
        _ => None,
    };
    let day = |y, m, d| dates::days_from_civil(y, m, d);
    let period = match options.first().map_or(0, |b| b % 6) {
        0 => Period::All,
        1 => Period::Year(2025),
        2 => Period::Quarter {
            year: 2025,
            quarter: 1,
        },
        3 => Period::Quarter {
            year: 2024,
            quarter: 4,
        },
        4 => Period::Range {
            from: day(2025, 1, 1),
            to: day(2025, 2, 28),
        },
        _ => Period::Year(2030),
    };
    let suppress = flags & 1 == 0;
    let followup = options
        .get(2..)
        .and_then(|f| std::str::from_utf8(f).ok())
        .filter(|f| !f.is_empty())
        .unwrap_or("discharge")
        .to_string();
    let label = period.label();
    let command = Command::Run(RunOptions {
        input,
        config,
        period,
        followup,
        out: out.clone(),
        suppress,
        threads: None,
        quiet: true,
        log_level: None,
        data_through: None,
        episode_data: flags & 16 != 0,
    });
    let result = app::execute(command, &mut std::io::sink());
    // IOP_FUZZ_VERBOSE=1 prints each input's outcome (to check what the seeds reach).
    static VERBOSE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    if *VERBOSE.get_or_init(|| std::env::var_os("IOP_FUZZ_VERBOSE").is_some()) {
        match &result {
            Ok(_) => eprintln!("job: published {label}"),
            Err(e) => eprintln!("job: exit {}: {e}", e.exit_status() as u8),
        }
    }
    let published: Vec<String> = match std::fs::read_dir(&out) {
        Ok(d) => d
            .map(|e| {
                e.expect("dir entry")
                    .file_name()
                    .to_string_lossy()
                    .into_owned()
            })
            .filter(|n| !n.starts_with('.'))
            .collect(),
        Err(_) => Vec::new(),
    };
    match result {
        Ok(status) => {
            assert_eq!(status, ExitStatus::Success);
            assert_eq!(
                published,
                vec![label.clone()],
                "published beside the report"
            );
            check_manifest(&out.join(&label));
        }
        Err(e) => {
            let status = e.exit_status();
            assert!(
                matches!(status, ExitStatus::DataError | ExitStatus::Usage),
                "exit {} from {e}",
                status as u8
            );
            assert!(
                published.is_empty(),
                "error {e} but published {published:?}"
            );
        }
    }
});

/// Whether a configured input file name is a plain name inside the input folder.
fn stays_inside(name: &str) -> bool {
    let mut c = Path::new(name).components();
    matches!(
        (c.next(), c.next()),
        (Some(std::path::Component::Normal(_)), None)
    )
}

/// manifest.json lists every other file of the report folder with its size and SHA-256.
fn check_manifest(folder: &Path) {
    let json = std::fs::read(folder.join("manifest.json")).expect("manifest.json");
    let m: serde_json::Value = serde_json::from_slice(&json).expect("manifest parses");
    let listed: BTreeMap<String, (u64, String)> = m["outputs"]
        .as_array()
        .expect("outputs")
        .iter()
        .map(|o| {
            (
                o["file"].as_str().expect("file").to_string(),
                (
                    o["size"].as_u64().expect("size"),
                    o["sha256"].as_str().expect("sha256").to_string(),
                ),
            )
        })
        .collect();
    assert_eq!(
        listed.len(),
        m["outputs"].as_array().unwrap().len(),
        "a file listed twice"
    );
    let mut found = BTreeMap::new();
    walk(folder, folder, &mut found);
    found.remove("manifest.json");
    assert_eq!(
        found.keys().collect::<Vec<_>>(),
        listed.keys().collect::<Vec<_>>(),
        "files on disk vs the manifest"
    );
    for (name, bytes) in &found {
        let (size, sha) = &listed[name];
        assert_eq!(bytes.len() as u64, *size, "{name}: size");
        let hex: String = Sha256::digest(bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(&hex, sha, "{name}: SHA-256");
    }
}

fn walk(root: &Path, dir: &Path, found: &mut BTreeMap<String, Vec<u8>>) {
    for e in std::fs::read_dir(dir).expect("read report folder") {
        let p = e.expect("dir entry").path();
        if p.is_dir() {
            walk(root, &p, found);
        } else {
            let name = p
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            found.insert(name, std::fs::read(&p).expect("read output"));
        }
    }
}
