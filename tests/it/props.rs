//! Property tests of ingest and validation on mangled exports: no panic, and every row is
//! accounted for (read = accepted + quarantined, one quarantine row per quarantined row).

use iop_outcomes::config::Config;
use iop_outcomes::ingest;
use iop_outcomes::instruments::Catalog;
use proptest::prelude::*;

const EP_HEADER: &str = "episode_id,client_id,site,track,modality,delivery,admit_date,discharge_date,discharge_reason,age_group,sex,race_ethnicity";
const AS_HEADER: &str = "episode_id,instrument,assessed_on,score";

fn field() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => Just("E1".to_string()),
        2 => Just("E2".to_string()),
        2 => Just("2025-01-06".to_string()),
        1 => Just("2025-02-30".to_string()),
        2 => Just("PHQ9".to_string()),
        2 => Just("12".to_string()),
        1 => Just("".to_string()),
        1 => Just("\"quoted, with comma\"".to_string()),
        1 => Just("\"line\nbreak\"".to_string()),
        1 => Just("=cmd".to_string()),
        1 => "[ -~]{0,12}".prop_map(|s| s.replace(['"', '@'], "")),
        1 => "\\PC{0,6}".prop_map(|s| s.replace(['"', '@'], "")),
    ]
}

fn row(max: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(field(), 1..max).prop_map(|v| v.join(","))
}

fn export() -> impl Strategy<Value = (String, String)> {
    (
        prop::collection::vec(row(14), 1..12),
        prop::collection::vec(row(6), 1..12),
        any::<bool>(),
    )
        .prop_map(|(e, a, crlf)| {
            let nl = if crlf { "\r\n" } else { "\n" };
            let eps = format!("{EP_HEADER}{nl}{}{nl}", e.join(nl));
            let asm = format!("{AS_HEADER}{nl}{}{nl}", a.join(nl));
            (eps, asm)
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn mangled_exports_never_panic_and_every_row_is_accounted_for((eps, asm) in export()) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("episodes.csv"), &eps).unwrap();
        std::fs::write(dir.path().join("assessments.csv"), &asm).unwrap();
        match ingest::load(dir.path(), &Config::default(), &Catalog::builtin()) {
            Ok(export) => {
                for a in &export.accounts {
                    prop_assert_eq!(a.rows_read, a.accepted + a.quarantined_total());
                }
                let q: u64 = export.accounts.iter().map(|a| a.quarantined_total()).sum();
                prop_assert_eq!(export.quarantine.len() as u64, q);
                prop_assert_eq!(export.episodes.len() as u64, export.accounts[0].accepted);
                prop_assert_eq!(export.assessments.len() as u64, export.accounts[1].accepted);
            }
            Err(e) => {
                // Only data errors (a fatal input problem), never anything else.
                prop_assert_eq!(e.exit_status(), iop_outcomes::ExitStatus::DataError, "{}", e);
            }
        }
    }
}
