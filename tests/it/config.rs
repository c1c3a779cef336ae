//! The README's full config example parses, checks and applies.

use iop_outcomes::config::{Anchor, Config};

#[test]
fn the_readme_config_example_is_valid() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let start = readme.find("```toml\n").expect("README has a toml block") + 8;
    let end = start + readme[start..].find("```").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    std::fs::write(&path, &readme[start..end]).unwrap();
    let cfg = Config::load(&path).expect("README config loads");
    assert_eq!(cfg.input.date_format, "%m/%d/%Y");
    assert_eq!(cfg.followups()["day90"].anchor, Anchor::Admit);
    let l = &cfg.longitudinal;
    iop_outcomes::assert_close!(l.max_days, 120.0, iop_outcomes::stats::prec::CLOSED);
    iop_outcomes::assert_close!(l.horizon_weeks, 8.0, iop_outcomes::stats::prec::CLOSED);
    let cat = cfg.catalog().unwrap();
    assert_eq!(cat.get("phq9").unwrap().rci_threshold(), Some(5.0));
    let w = cat.get("weight_kg").unwrap();
    // R: 1.96 * sqrt(2) * 4 * sqrt(1 - 0.9) = 3.5061545887196695
    iop_outcomes::assert_close!(
        w.rci_threshold().unwrap(),
        3.506_154_588_719_669_5,
        iop_outcomes::stats::prec::CLOSED
    );
}
