//! Fuzz target: arbitrary bytes as episodes.csv and assessments.csv (split at the first 0xFF,
//! a byte that never occurs in UTF-8). Ingest must not panic, and when it accepts the export
//! every row must be accounted for.
#![no_main]

use iop_outcomes::config::Config;
use iop_outcomes::ingest;
use iop_outcomes::instruments::Catalog;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (eps, asm) = match data.iter().position(|&b| b == 0xFF) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &b"episode_id,instrument,assessed_on,score\nE1,PHQ9,2025-01-06,12\n"[..]),
    };
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("episodes.csv"), eps).expect("write");
    std::fs::write(dir.path().join("assessments.csv"), asm).expect("write");
    if let Ok(export) = ingest::load(dir.path(), &Config::default(), &Catalog::builtin()) {
        for a in &export.accounts {
            assert_eq!(a.rows_read, a.accepted + a.quarantined_total());
        }
        let q: u64 = export.accounts.iter().map(|a| a.quarantined_total()).sum();
        assert_eq!(export.quarantine.len() as u64, q);
    }
});
