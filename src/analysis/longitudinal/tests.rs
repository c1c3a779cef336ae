//! The L1 data and the grouping on fixed tiny exports: which assessments enter, their time,
//! the random part chosen per group, the statuses surfacing as rows with counts and empty
//! statistics, n_without_followup, the row order and suppression. The model's numbers against
//! R are in `stats::lmm`'s reference tests and in tests/it/longitudinal.rs.

use super::*;
use crate::cohort::{Pair, PairingRules};
use crate::config::{Anchor, FollowupConfig};
use crate::stats::lmm::group_stats;

/// One tiny export: episodes (track, modality, selected) admitted on day 1000, and
/// assessments (episode, instrument, day after admission, score).
struct Tiny {
    eps: Episodes,
    asm: Assessments,
    cohort: Cohort,
}

fn tiny(episodes: &[(&str, &str, bool)], rows: &[(u32, u16, i32, f64)], followed: &[u32]) -> Tiny {
    let mut eps = Episodes::default();
    for (k, (track, modality, _)) in episodes.iter().enumerate() {
        eps.id.push(format!("E{k}"));
        eps.client.push(format!("C{k}"));
        eps.track.push(track.to_string());
        eps.modality.push(modality.to_string());
        eps.admit.push(1000);
        eps.discharge.push(Some(1060));
        for v in [
            &mut eps.site,
            &mut eps.delivery,
            &mut eps.discharge_reason,
            &mut eps.age_group,
            &mut eps.sex,
            &mut eps.race_ethnicity,
        ] {
            v.push(None);
        }
    }
    let mut asm = Assessments {
        instruments: vec!["GAD7".into(), "PHQ9".into()],
        ..Default::default()
    };
    for &(e, i, day, score) in rows {
        asm.episode.push(e);
        asm.instrument.push(i);
        asm.date.push(1000 + day);
        asm.score.push(score);
    }
    // Pairs: every episode × instrument with an assessment has a baseline; the `followed`
    // episodes have a follow-up on their instruments.
    let mut pairs: Vec<Pair> = Vec::new();
    for &(e, i, _, _) in rows {
        if !pairs.iter().any(|p| p.episode == e && p.instrument == i) {
            pairs.push(Pair {
                episode: e,
                instrument: i,
                baseline: 0.0,
                baseline_date: 1000,
                followup: followed.contains(&e).then_some((0.0, 1060)),
            });
        }
    }
    pairs.sort_by_key(|p| (p.instrument, p.episode));
    let selected: Vec<bool> = episodes.iter().map(|e| e.2).collect();
    let cohort = Cohort {
        rules: PairingRules {
            baseline: [-14, 14],
            followup_name: "discharge".into(),
            followup: FollowupConfig {
                anchor: Anchor::Discharge,
                target_days: None,
                window: [-14, 14],
                min_gap_days: 7,
            },
        },
        anchors: vec![Some(1060); episodes.len()],
        pairs,
        size: selected.iter().filter(|s| **s).count(),
        selected,
        active: 0,
        last: Some(1060),
    };
    Tiny { eps, asm, cohort }
}

fn window() -> Window {
    Window {
        from_day: -14,
        max_days: 120.0,
        weeks_before: 8.0,
    }
}

fn compute_tiny(t: &Tiny, suppress_below: Option<u64>) -> Longitudinal {
    compute(
        &t.eps,
        &t.asm,
        &t.cohort,
        &LongitudinalConfig::default(),
        suppress_below,
    )
}

fn find<'a>(rows: &'a [LongitudinalRow], keys: [&str; 3]) -> &'a LongitudinalRow {
    rows.iter()
        .find(|r| [&r.instrument, &r.track, &r.modality] == keys)
        .unwrap_or_else(|| panic!("no row {keys:?}"))
}

/// A deterministic, irregular score: a level per episode, a slope, and noise.
fn score(e: u32, day: i32) -> f64 {
    let h = (e as i64 * 7919 + day as i64 * 104_729) % 97;
    (20.0 + (e % 5) as f64 - 0.4 * f64::from(day) / 7.0 + (h as f64 - 48.0) / 16.0).round()
}

#[test]
fn the_window_is_inclusive_and_time_is_in_weeks() {
    let w = window();
    assert_eq!(w.weeks(-15), None);
    assert_eq!(w.weeks(-14), Some(-2.0));
    assert_eq!(w.weeks(0), Some(0.0));
    assert_eq!(w.weeks(10), Some(10.0 / 7.0));
    assert_eq!(w.weeks(120), Some(120.0 / 7.0));
    assert_eq!(w.weeks(121), None);
    // A fractional max_days: day 120 is past 119.5.
    let w = Window {
        max_days: 119.5,
        ..w
    };
    assert_eq!(w.weeks(119), Some(17.0));
    assert_eq!(w.weeks(120), None);
}

#[test]
fn only_the_cohorts_assessments_in_the_window_enter() {
    // E0 selected: PHQ9 on days -15 (out), -14, 0, 3, 60, 120 and 121 (out); GAD7 on day 5.
    // E1 is not in the period's cohort: nothing of it enters.
    let t = tiny(
        &[("mh", "CBT", true), ("mh", "CBT", false)],
        &[
            (0, 1, 121, 9.0),
            (0, 1, -15, 30.0),
            (0, 1, 0, 20.0),
            (0, 1, -14, 22.0),
            (0, 1, 60, 14.0),
            (0, 0, 5, 11.0),
            (0, 1, 3, 18.0),
            (0, 1, 120, 10.0),
            (1, 1, 0, 25.0),
        ],
        &[],
    );
    let d = Data::build(&t.eps, &t.asm, &t.cohort, window());
    assert_eq!(d.tracks, ["mh"]);
    assert_eq!(d.modalities, ["CBT"]);
    let n: Vec<(u16, usize, Vec<usize>)> = d
        .instruments
        .iter()
        .map(|i| {
            (
                i.instrument,
                i.groups.len(),
                i.groups.iter().map(|g| g.n()).collect(),
            )
        })
        .collect();
    assert_eq!(n, [(0, 1, vec![1]), (1, 1, vec![5])]);
    // The groups are the statistics of the kept rows, in file order, t in weeks.
    let phq = &d.instruments[1];
    let t_kept = [0.0, -2.0, 60.0 / 7.0, 3.0 / 7.0, 120.0 / 7.0];
    let y_kept = [20.0, 22.0, 14.0, 18.0, 10.0];
    let want = group_stats(&[0; 5], &[0; 5], &t_kept, &y_kept).unwrap();
    assert_eq!(phq.groups, want);
    // The margin model's groups (made per fit) are the same statistics in arm 0.
    let margin: Vec<_> = phq.groups.iter().map(|g| g.in_arm(0)).collect();
    assert_eq!(margin, want);
    // Weekly means over t in [0, 8): week 0 holds days 0 and 3; day 60 is week 8 (t = 8.57).
    let weekly = d.weekly(&t.asm.instruments);
    let phq_weeks: Vec<(&str, u32, u64)> = weekly
        .iter()
        .filter(|w| w.instrument == "PHQ9")
        .map(|w| (w.modality.as_str(), w.week, w.n.unwrap()))
        .collect();
    assert_eq!(phq_weeks, [("All", 0, 2), ("CBT", 0, 2)]);
    let w0 = &weekly.iter().find(|w| w.instrument == "PHQ9").unwrap();
    assert_eq!(w0.mean_t, Some((0.0 + 3.0 / 7.0) / 2.0));
    assert_eq!(w0.mean_score, Some(19.0));
}

#[test]
fn statuses_surface_as_rows_with_counts_and_empty_statistics() {
    let mut episodes = Vec::new();
    let mut rows = Vec::new();
    let mut add = |track: &'static str, modality: &'static str, days: &[i32], flat: bool| {
        let e = episodes.len() as u32;
        episodes.push((track, modality, true));
        for &d in days {
            rows.push((e, 1, d, if flat { 10.0 } else { score(e, d) }));
        }
    };
    // too_few: three episodes, only one with two assessments.
    add("a_few", "CBT", &[0, 30], false);
    add("a_few", "CBT", &[2], false);
    add("a_few", "DBT", &[5], false);
    // unidentified: each modality has one episode (the margin pools two: fitted or not, it
    // has a row).
    add("b_unident", "CBT", &[0, 14, 28, 42], false);
    add("b_unident", "DBT", &[1, 15, 29, 43], false);
    // degenerate: every score equal.
    for k in 0..4 {
        add("c_flat", "CBT", &[k, 14 + k, 30 + 2 * k], true);
    }
    // An unestimable slope: MI's assessments all on day 14; CBT's vary.
    for k in 0..8 {
        add("d_alias", "CBT", &[k, 14 + 2 * k, 28 + k, 50 + k], false);
    }
    for _ in 0..5 {
        add("d_alias", "MI", &[14], false);
    }
    // The intercept-only fallback: ten episodes with two assessments each (n = 2·groups).
    for k in 0..10 {
        add("e_two", "CBT", &[k, 40 + 3 * k], false);
    }
    let t = tiny(&episodes, &rows, &[0, 3, 4, 20]);
    let out = compute_tiny(&t, None);
    let r = &out.rows;
    let empty = |x: &LongitudinalRow| {
        [
            x.slope,
            x.slope_se,
            x.df,
            x.t,
            x.p,
            x.slope_ci_low,
            x.slope_ci_high,
            x.change_at_horizon,
            x.change_ci_low,
            x.change_ci_high,
            x.sd_intercept,
            x.sd_slope,
            x.corr,
            x.sd_residual,
            x.reml_criterion,
            x.intercept,
        ]
        .iter()
        .all(Option::is_none)
            && x.singular.is_none()
    };
    for m in ["CBT", "DBT", "All"] {
        let x = find(r, ["PHQ9", "a_few", m]);
        assert_eq!(x.status, Status::TooFew, "{m}");
        assert!(empty(x), "{m}");
    }
    let few = find(r, ["PHQ9", "a_few", "All"]);
    assert_eq!(
        (few.n_episodes, few.n_assessments, few.n_without_followup),
        (Some(3), Some(4), Some(2))
    );
    assert_eq!(
        find(r, ["PHQ9", "a_few", "CBT"]).n_assessments,
        Some(3),
        "counts per modality"
    );
    for m in ["CBT", "DBT"] {
        let x = find(r, ["PHQ9", "b_unident", m]);
        assert_eq!(x.status, Status::Unidentified, "{m}");
        assert_eq!((x.n_episodes, x.n_assessments), (Some(1), Some(4)));
        assert!(empty(x));
    }
    // Followed: episode 3 (b_unident CBT) and 4 (DBT).
    assert_eq!(
        find(r, ["PHQ9", "b_unident", "All"]).n_without_followup,
        Some(0)
    );
    for m in ["CBT", "All"] {
        let x = find(r, ["PHQ9", "c_flat", m]);
        assert_eq!(x.status, Status::Degenerate, "{m}");
        assert_eq!((x.n_episodes, x.n_assessments), (Some(4), Some(12)));
        assert!(empty(x));
    }
    let mi = find(r, ["PHQ9", "d_alias", "MI"]);
    let cbt = find(r, ["PHQ9", "d_alias", "CBT"]);
    assert_eq!((mi.status, cbt.status), (Status::Ok, Status::Ok));
    assert_eq!((mi.n_episodes, mi.n_assessments), (Some(5), Some(5)));
    assert!(mi.slope.is_none() && mi.slope_ci_low.is_none() && mi.change_at_horizon.is_none());
    assert!(
        mi.intercept.is_some(),
        "the intercept of an aliased slope is kept"
    );
    assert!(cbt.slope.is_some() && cbt.slope_ci_low.is_some());
    // The model's own values stay on the aliased row, equal to its modality neighbour's.
    assert_eq!(
        (
            mi.sd_intercept,
            mi.sd_residual,
            mi.reml_criterion,
            mi.singular
        ),
        (
            cbt.sd_intercept,
            cbt.sd_residual,
            cbt.reml_criterion,
            cbt.singular
        )
    );
    assert!(mi.reml_criterion.is_some());
    // 37 assessments > 2 · 13 episodes: intercept and slope; 20 = 2 · 10: intercept only,
    // for both models of the group.
    assert_eq!(cbt.random_part, RandomPart::InterceptSlope);
    for m in ["CBT", "All"] {
        let x = find(r, ["PHQ9", "e_two", m]);
        assert_eq!(x.random_part, RandomPart::Intercept, "{m}");
        assert_eq!((x.n_episodes, x.n_assessments), (Some(10), Some(20)));
        assert_eq!(x.sd_slope, None);
        assert!(x.status != Status::Ok || x.sd_intercept.is_some());
    }
    // change_at_horizon = slope × 8 weeks, with its CI.
    let h = cbt.change_at_horizon.unwrap();
    crate::assert_close!(h, cbt.slope.unwrap() * 8.0, crate::stats::prec::CLOSED);
    crate::assert_close!(
        cbt.change_ci_high.unwrap(),
        cbt.slope_ci_high.unwrap() * 8.0,
        crate::stats::prec::CLOSED
    );
    // Rows sort byte-wise on (instrument, track, modality): All among the labels.
    let keys: Vec<(&str, &str, &str)> = r
        .iter()
        .map(|x| (x.instrument.as_str(), x.track.as_str(), x.modality.as_str()))
        .collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted);
    assert_eq!(keys[0], ("PHQ9", "All", "All"));
    assert_eq!(keys[1], ("PHQ9", "All", "CBT"));
}

#[test]
fn the_pooled_track_is_the_model_of_every_episode_and_each_track_its_own() {
    // Two tracks, two modalities each; the All-track rows equal a fit of every group, each
    // track's rows a fit of its own groups (the product's grouping against lmm directly).
    let mut episodes = Vec::new();
    let mut rows = Vec::new();
    for e in 0..40u32 {
        let track = if e % 3 == 0 { "su" } else { "mh" };
        let modality = ["CBT", "DBT", "MI"][(e % 4 % 3) as usize];
        episodes.push((track, modality, e % 11 != 5));
        for k in 0..(2 + e % 4) as i32 {
            let day = -7 + (e as i32 % 5) + 13 * k + (e as i32 * k) % 6;
            rows.push((e, 1, day, score(e, day)));
        }
    }
    let t = tiny(&episodes, &rows, &[1, 2, 3, 8, 13]);
    let out = compute_tiny(&t, None);
    let modalities = ["CBT", "DBT", "MI"];
    for track in ["All", "mh", "su"] {
        let mut g = Vec::new();
        let (mut arm, mut tt, mut y, mut arm0) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for (k, &(e, _, day, s)) in rows.iter().enumerate() {
            let (tr, m, sel) = episodes[e as usize];
            if sel && (track == "All" || tr == track) {
                g.push(e as usize);
                arm.push(modalities.iter().position(|x| *x == m).unwrap());
                arm0.push(0);
                tt.push(f64::from(day) / 7.0);
                y.push(s);
                let _ = k;
            }
        }
        let groups = group_stats(&g, &arm, &tt, &y).unwrap();
        let random = lmm::random_part_for(y.len(), groups.len());
        let per_modality = lmm::fit(&groups, 3, random);
        let margin = lmm::fit(&group_stats(&g, &arm0, &tt, &y).unwrap(), 1, random);
        for (m, name) in modalities.iter().enumerate() {
            let a = &per_modality.arms[m];
            if a.n_groups == 0 {
                assert!(out
                    .rows
                    .iter()
                    .all(|r| !(r.track == track && r.modality == *name)));
                continue;
            }
            let r = find(&out.rows, ["PHQ9", track, name]);
            assert_eq!(r.n_episodes, Some(a.n_groups as u64));
            assert_eq!(r.status, per_modality.status);
            let (got, want) = (r.slope.unwrap(), a.slope.unwrap().estimate);
            // Same groups in another order: the same fit to rounding.
            assert!((got - want).abs() <= 1e-12 * want.abs(), "{track}/{name}");
        }
        let r = find(&out.rows, ["PHQ9", track, "All"]);
        let want = margin.arms[0].slope.unwrap().estimate;
        assert!((r.slope.unwrap() - want).abs() <= 1e-12 * want.abs());
        assert_eq!(r.n_assessments, Some(y.len() as u64));
        let without = (0..40u32)
            .filter(|&e| {
                let (tr, _, sel) = episodes[e as usize];
                sel && (track == "All" || tr == track) && ![1, 2, 3, 8, 13].contains(&e)
            })
            .count();
        assert_eq!(r.n_without_followup, Some(without as u64), "{track}");
    }
    // The completers' interval: five followed episodes, baseline day 1000, follow-up 1060.
    let i = &out.intervals[0];
    assert_eq!(i.instrument, "PHQ9");
    let followed_in_cohort = [1u64, 2, 3, 8, 13]
        .iter()
        .filter(|&&e| episodes[e as usize].2)
        .count();
    assert_eq!(i.n_paired, Some(followed_in_cohort as u64));
    crate::assert_close!(
        i.mean_weeks.unwrap(),
        60.0 / 7.0,
        crate::stats::prec::CLOSED
    );
}

#[test]
fn rows_are_computed_unsuppressed_and_protection_blanks_small_cells_and_their_complements() {
    let mut episodes = Vec::new();
    let mut rows = Vec::new();
    for e in 0..30u32 {
        // 25 CBT episodes, 5 DBT: DBT's row is a small cell.
        episodes.push(("mh", if e < 25 { "CBT" } else { "DBT" }, true));
        for k in 0..4 {
            let day = (e as i32 % 4) + 14 * k;
            rows.push((e, 1, day, score(e, day)));
        }
    }
    let t = tiny(&episodes, &rows, &[0, 1]);
    let plain = compute_tiny(&t, None);
    let mut out = compute_tiny(&t, Some(11));
    // The table is computed unsuppressed (Tables::protect blanks it).
    assert_eq!(out.rows, plain.rows);
    assert!(out.rows.iter().all(|r| !r.suppressed));
    // Weekly means (the charts' alone) of fewer than 11 assessments are blanked here.
    for w in &out.weekly {
        let raw = plain
            .weekly
            .iter()
            .find(|p| (&p.modality, p.week) == (&w.modality, w.week))
            .unwrap();
        assert_eq!(w.n.is_none(), raw.n.unwrap() < 11);
    }
    assert!(out.weekly.iter().any(|w| w.n.is_none()));
    assert!(out.weekly.iter().any(|w| w.n.is_some()));
    // The completers' interval goes with outcomes.csv's row, which the page checks.
    assert_eq!(out.intervals, plain.intervals);

    // Protection of this table alone (its margins along track and modality, n_episodes =
    // n_without_followup + n_followed, n_assessments = n_episodes + later assessments).
    let keys = RunKeys {
        period: "all".into(),
        followup: "discharge".into(),
        groups: vec!["track".into(), "modality".into()],
    };
    let mut table = crate::table::Rows {
        spec: spec(&keys),
        rows: &mut out.rows,
    };
    let tables: Vec<&mut dyn crate::table::Counted> = vec![&mut table];
    let mut outcome = crate::analysis::protection::protect(tables, &[], 11).unwrap();
    for (row, col) in withheld_text(&out.rows) {
        outcome
            .withheld
            .insert(("longitudinal", row, col.to_string()));
    }
    let dbt = find(&out.rows, ["PHQ9", "mh", "DBT"]);
    assert!(dbt.suppressed);
    // 5 episodes and 5 without follow-up are small and blank; 20 assessments are not small
    // (and bound the episodes only to 0..20).
    assert_eq!((dbt.n_episodes, dbt.n_without_followup), (None, None));
    assert!(matches!(dbt.n_assessments, None | Some(20)));
    assert!(dbt.slope.is_none() && dbt.p.is_none() && dbt.reml_criterion.is_none());
    assert!(dbt.intercept.is_none());
    // The margin (mh, All) = CBT + DBT would reveal DBT: a complementary blank in the family.
    let cbt = find(&out.rows, ["PHQ9", "mh", "CBT"]);
    let margin = find(&out.rows, ["PHQ9", "mh", ALL]);
    assert!(
        cbt.n_episodes.is_none() || margin.n_episodes.is_none(),
        "{cbt:?}\n{margin:?}"
    );
    // The written file: text that describes a withheld model reads empty, and the page
    // marks it withheld.
    let written = spec(&keys).render(&out.rows);
    let col = |n: &str| written.header.iter().position(|h| h == n).unwrap();
    let at = |r: usize, n: &str| match &written.rows[r][col(n)] {
        crate::table::Cell::Text(t) => t.clone(),
        crate::table::Cell::Int(n) => n.to_string(),
        crate::table::Cell::Empty => String::new(),
        other => format!("{other:?}"),
    };
    for (r, row) in out.rows.iter().enumerate() {
        let shown = at(r, "status");
        assert_eq!(shown.is_empty(), row.n_episodes.is_none(), "{row:?}");
        assert_eq!(
            outcome
                .withheld
                .contains(&("longitudinal", r, "status".to_string())),
            row.n_episodes.is_none()
        );
        assert_eq!(
            at(r, "random_part").is_empty(),
            row.n_episodes.is_none() || row.n_assessments.is_none()
        );
        if row.n_episodes.is_none() {
            assert_eq!(at(r, "singular"), "");
        }
        for c in ["n_episodes", "n_assessments", "n_without_followup"] {
            let v = at(r, c);
            assert!(
                v.is_empty() || v == "0" || v.parse::<u64>().unwrap() >= 11,
                "{c} = {v}"
            );
        }
    }
}

#[test]
fn the_table_has_the_columns_of_spec_l5() {
    let t = spec(&RunKeys {
        period: "all".into(),
        followup: "discharge".into(),
        groups: vec!["track".into(), "modality".into()],
    })
    .render(&[]);
    assert_eq!(
        t.header,
        [
            "period",
            "followup",
            "instrument",
            "track",
            "modality",
            "status",
            "n_episodes",
            "n_assessments",
            "n_without_followup",
            "slope",
            "slope_se",
            "df",
            "t",
            "p",
            "slope_ci_low",
            "slope_ci_high",
            "change_at_horizon",
            "change_ci_low",
            "change_ci_high",
            "random_part",
            "sd_intercept",
            "sd_slope",
            "corr",
            "sd_residual",
            "reml_criterion",
            "singular",
            "suppressed"
        ]
    );
}
