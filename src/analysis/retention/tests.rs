//! Cohort, time and outcome derivation (SPEC §13 R1–R2), the rows and their suppression.
//! The estimates themselves are `stats::survival`'s, tested against R there; the wiring
//! against R is tests/it/retention.rs.

use super::*;
use crate::ingest::{Assessments, Attendance, Attended};

fn reasons(r: &[&str]) -> Vec<String> {
    r.iter().map(|s| s.to_string()).collect()
}

fn day(iso: &str) -> Day {
    dates::parse_iso(iso.as_bytes()).expect("an ISO date")
}

#[test]
fn outcomes_follow_r2() {
    let default = reasons(&["left_early"]);
    assert_eq!(outcome(Some("left_early"), &default), Outcome::Dropout);
    assert_eq!(outcome(Some("completed"), &default), Outcome::Completed);
    // Every other reason, and no reason at all, is `other`.
    assert_eq!(outcome(Some("transferred"), &default), Outcome::Other);
    assert_eq!(outcome(Some("Left_Early"), &default), Outcome::Other);
    assert_eq!(outcome(None, &default), Outcome::Other);
    // dropout_reasons are checked first: a config may even count `completed` as dropout.
    let odd = reasons(&["administrative", "completed"]);
    assert_eq!(outcome(Some("completed"), &odd), Outcome::Dropout);
    assert_eq!(outcome(Some("administrative"), &odd), Outcome::Dropout);
    assert_eq!(outcome(Some("left_early"), &odd), Outcome::Other);
    // survfit's state levels: censor, completed, dropout, other.
    assert_eq!(
        [
            Outcome::Censored,
            Outcome::Completed,
            Outcome::Dropout,
            Outcome::Other
        ]
        .map(Outcome::code),
        [0, 1, 2, 3]
    );
}

#[test]
fn times_follow_r1() {
    let d = reasons(&["left_early"]);
    let through = day("2026-10-15");
    let admit = day("2026-09-01");
    // A discharge: its day, with the outcome of its reason.
    assert_eq!(
        time_outcome(
            admit,
            Some(day("2026-09-29")),
            Some("completed"),
            through,
            &d
        ),
        (28, Outcome::Completed)
    );
    // A discharge dated after data_through is still an event at its own day.
    assert_eq!(
        time_outcome(
            admit,
            Some(day("2026-11-20")),
            Some("left_early"),
            through,
            &d
        ),
        (80, Outcome::Dropout)
    );
    // A reason without a discharge date is ignored: still in care, censored at data_through.
    assert_eq!(
        time_outcome(admit, None, Some("left_early"), through, &d),
        (44, Outcome::Censored)
    );
    assert_eq!(
        time_outcome(admit, None, None, through, &d),
        (44, Outcome::Censored)
    );
    // Day 0: discharged on the day of admission, or admitted on data_through.
    assert_eq!(
        time_outcome(admit, Some(admit), None, through, &d),
        (0, Outcome::Other)
    );
    assert_eq!(
        time_outcome(through, None, None, through, &d),
        (0, Outcome::Censored)
    );
}

/// One episode as the tests write it: (track, modality, admit, discharge, reason).
type EpisodeSpec<'a> = (&'a str, &'a str, &'a str, Option<&'a str>, Option<&'a str>);

/// Episodes from [`EpisodeSpec`]s.
fn episodes(rows: &[EpisodeSpec]) -> Episodes {
    let mut e = Episodes::default();
    for (k, (t, m, a, d, r)) in rows.iter().enumerate() {
        e.id.push(format!("E{k}"));
        e.client.push(format!("C{k}"));
        e.track.push(t.to_string());
        e.modality.push(m.to_string());
        e.admit.push(day(a));
        e.discharge.push(d.map(day));
        e.discharge_reason.push(r.map(String::from));
        for v in [
            &mut e.site,
            &mut e.delivery,
            &mut e.age_group,
            &mut e.sex,
            &mut e.race_ethnicity,
        ] {
            v.push(None);
        }
    }
    e
}

fn export(eps: Episodes, assessed: &[&str], sessions: Option<&[&str]>) -> Export {
    let n = eps.len();
    Export {
        episodes: eps,
        assessments: Assessments {
            episode: vec![0; assessed.len()],
            instrument: vec![0; assessed.len()],
            date: assessed.iter().map(|d| day(d)).collect(),
            score: vec![1.0; assessed.len()],
            instruments: vec!["PHQ9".into()],
        },
        attendance: sessions.map(|s| {
            Attended::of(
                &Attendance {
                    episode: vec![0; s.len()],
                    date: s.iter().map(|d| day(d)).collect(),
                    service: vec![0; s.len()],
                    minutes: vec![60; s.len()],
                    services: vec![None],
                },
                n,
            )
        }),
        accounts: Vec::new(),
        quarantine: Vec::new(),
        fingerprints: [None, None, None],
        unknown: Vec::new(),
        files: Default::default(),
    }
}

#[test]
fn data_through_is_the_latest_accepted_date_or_the_flag() {
    let eps = episodes(&[
        (
            "a",
            "CBT",
            "2026-01-05",
            Some("2026-02-01"),
            Some("completed"),
        ),
        ("a", "CBT", "2026-03-01", None, None),
    ]);
    // The latest date may be in any of the three files.
    let x = export(eps.clone(), &["2026-03-20"], Some(&["2026-03-25"]));
    assert_eq!(latest_date(&x), Some(day("2026-03-25")));
    let x = export(eps.clone(), &["2026-04-02"], Some(&["2026-03-25"]));
    assert_eq!(latest_date(&x), Some(day("2026-04-02")));
    let x = export(eps.clone(), &[], None);
    assert_eq!(latest_date(&x), Some(day("2026-03-01")));
    assert_eq!(
        data_through(&x, None).unwrap(),
        Some(DataThrough {
            day: day("2026-03-01"),
            given: false
        })
    );
    // A date on or after every admission is taken, even before a discharge.
    let given = data_through(&x, Some(day("2026-03-01"))).unwrap();
    assert_eq!(
        given,
        Some(DataThrough {
            day: day("2026-03-01"),
            given: true
        })
    );
    // A date before an admission is a usage error naming the flag.
    let e = data_through(&x, Some(day("2026-02-28"))).unwrap_err();
    assert!(matches!(e, Error::Usage(_)), "{e:?}");
    assert!(e.to_string().contains("--data-through 2026-02-28"), "{e}");
    assert!(
        e.to_string().contains("1 accepted episode was admitted"),
        "{e}"
    );
    // No accepted episode: nothing to compute.
    let empty = export(Episodes::default(), &[], None);
    assert_eq!(data_through(&empty, None).unwrap(), None);
}

fn params(admitted: Option<(&str, &str)>, through: &str) -> Params {
    Params {
        data_through: DataThrough {
            day: day(through),
            given: false,
        },
        admitted: admitted.map(|(a, b)| (day(a), day(b))),
        dropout_reasons: reasons(&["left_early"]),
    }
}

/// Twelve episodes of track `a` (CBT and DBT) and two of `b`, admitted in 2026 Q1, and one
/// admitted in Q2.
fn sample() -> Episodes {
    let mut rows = vec![
        // Day 0: discharged on the day of admission.
        (
            "a",
            "CBT",
            "2026-01-01",
            Some("2026-01-01"),
            Some("left_early"),
        ),
        (
            "a",
            "CBT",
            "2026-01-01",
            Some("2026-01-11"),
            Some("left_early"),
        ),
        (
            "a",
            "CBT",
            "2026-01-01",
            Some("2026-01-11"),
            Some("completed"),
        ),
        (
            "a",
            "CBT",
            "2026-01-01",
            Some("2026-01-21"),
            Some("completed"),
        ),
        ("a", "CBT", "2026-01-01", Some("2026-01-21"), None),
        // Still in care: censored at data_through (day 89); its reason is ignored.
        ("a", "CBT", "2026-01-01", None, Some("left_early")),
        (
            "a",
            "DBT",
            "2026-02-01",
            Some("2026-02-06"),
            Some("left_early"),
        ),
        (
            "a",
            "DBT",
            "2026-02-01",
            Some("2026-02-06"),
            Some("left_early"),
        ),
        (
            "a",
            "DBT",
            "2026-02-01",
            Some("2026-03-03"),
            Some("completed"),
        ),
        (
            "a",
            "DBT",
            "2026-02-01",
            Some("2026-03-03"),
            Some("transferred"),
        ),
        (
            "a",
            "DBT",
            "2026-02-01",
            Some("2026-03-13"),
            Some("completed"),
        ),
        (
            "a",
            "DBT",
            "2026-02-01",
            Some("2026-03-13"),
            Some("completed"),
        ),
        (
            "b",
            "CBT",
            "2026-03-01",
            Some("2026-03-11"),
            Some("completed"),
        ),
        // Discharged after data_through: an event on day 50.
        (
            "b",
            "CBT",
            "2026-03-01",
            Some("2026-04-20"),
            Some("left_early"),
        ),
    ];
    rows.push((
        "b",
        "CBT",
        "2026-04-02",
        Some("2026-04-10"),
        Some("left_early"),
    ));
    episodes(&rows)
}

fn columns() -> Vec<String> {
    vec!["track".into(), "modality".into()]
}

#[test]
fn rows_are_survfits_per_group_over_the_admission_cohort() {
    let eps = sample();
    let p = params(Some(("2026-01-01", "2026-03-31")), "2026-03-31");
    let r = compute(&eps, &columns(), &p);
    // Groups: a/CBT, a/DBT, a/All, b/CBT, b/All, All/CBT, All/DBT, All/All (byte order).
    let groups: Vec<Vec<String>> = by_group(&r.rows).map(|g| g[0].labels.clone()).collect();
    let want: Vec<Vec<String>> = [
        ["All", "All"],
        ["All", "CBT"],
        ["All", "DBT"],
        ["a", "All"],
        ["a", "CBT"],
        ["a", "DBT"],
        ["b", "All"],
        ["b", "CBT"],
    ]
    .iter()
    .map(|l| l.iter().map(|s| s.to_string()).collect())
    .collect();
    assert_eq!(groups, want);
    // a/CBT: survfit's table of times 0, 0, 10, 10, 20, 20, censored 89.
    let g = r.group("a", "CBT").unwrap();
    let want = survival::cumulative_incidence(&[0, 10, 10, 20, 20, 89], &[2, 2, 1, 1, 3, 0], 3);
    assert_eq!(g.len(), want.len());
    assert_eq!(
        g.iter().map(|r| r.day).collect::<Vec<_>>(),
        [0, 10, 20, 89],
        "a day-0 row when something happens on day 0, and the censoring-only day"
    );
    for (got, w) in g.iter().zip(&want) {
        assert_eq!(got.n_risk, Some(w.n_risk as u64));
        assert_eq!(
            (got.n_completed, got.n_dropout, got.n_other, got.n_censored),
            (
                Some(w.n_event[0] as u64),
                Some(w.n_event[1] as u64),
                Some(w.n_event[2] as u64),
                Some(w.n_censor as u64)
            )
        );
        assert_eq!(got.cif_completed, Some(w.incidence[0].p));
        assert_eq!(got.cif_dropout, Some(w.incidence[1].p));
        assert_eq!(got.cif_dropout_se, Some(w.incidence[1].se));
        assert_eq!(got.cif_dropout_low, w.incidence[1].lower);
        assert_eq!(got.cif_other, Some(w.incidence[2].p));
    }
    // The b episode admitted in Q2 is not in the cohort; the one discharged after
    // data_through is an event on its own day.
    let b = r.group("b", "All").unwrap();
    assert_eq!(b[0].n_risk, Some(2));
    assert_eq!(
        b.iter()
            .map(|r| (r.day, r.n_dropout, r.n_completed))
            .collect::<Vec<_>>(),
        [(10, Some(0), Some(1)), (50, Some(1), Some(0))]
    );
    // Everyone left with an outcome by day 50: the incidences are final, so day 60 and 90
    // read the day-50 row; a/CBT had a censoring on its last day, so day 90 is not reached.
    assert!(b[1].settled && !b[0].settled);
    let day = |a: AtMark| match a {
        AtMark::Row(r) => Some(r.day),
        _ => None,
    };
    assert_eq!(day(at_mark(b, 30)), Some(10));
    assert_eq!(day(at_mark(b, 90)), Some(50));
    assert_eq!(day(at_mark(g, 30)), Some(20));
    assert_eq!(at_mark(g, 90), AtMark::NotReached);
    // Before the first row nothing has happened yet (when follow-up reaches the day).
    assert_eq!(at_mark(b, 5), AtMark::Nothing);
    // Nothing completed yet on day 0: incidence 0, limits empty.
    let zero = &r.group("a", "CBT").unwrap()[0];
    assert_eq!(zero.cif_completed, Some(0.0));
    assert_eq!(
        (zero.cif_completed_low, zero.cif_completed_high),
        (None, None)
    );
    // Without a period: every accepted episode (the Q2 admission too).
    let all = compute(&eps, &columns(), &params(None, "2026-04-30"));
    assert_eq!(all.group("All", "All").unwrap()[0].n_risk, Some(15));
}

#[test]
fn the_test_table_has_every_track_and_all() {
    let eps = sample();
    let p = params(Some(("2026-01-01", "2026-03-31")), "2026-03-31");
    let r = compute(&eps, &columns(), &p);
    let tracks: Vec<&str> = r.tests.iter().map(|t| t.track.as_str()).collect();
    assert_eq!(tracks, ["All", "a", "b"]);
    // Track a: CBT against DBT, dropout only; the same call as stats::survival's.
    let a = &r.tests[1];
    let want = survival::logrank(
        &[0, 10, 10, 20, 20, 89, 5, 5, 30, 30, 40, 40],
        &[
            true, true, false, false, false, false, true, true, false, false, false, false,
        ],
        &[0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1],
        2,
    );
    assert_eq!((a.n_episodes, a.n_dropout), (Some(12), Some(4)));
    assert_eq!((a.chisq, a.df, a.p), (want.chisq, Some(1.0), want.p));
    assert!(a.chisq.is_some());
    // Track b has one modality: df would be 0, so no test.
    let b = &r.tests[2];
    assert_eq!((b.chisq, b.df, b.p), (None, None, None));
}

#[test]
fn protection_withholds_both_files_whole() {
    let eps = sample();
    let p = params(Some(("2026-01-01", "2026-03-31")), "2026-03-31");
    let mut r = compute(&eps, &columns(), &p);
    assert!(!r.rows.is_empty() && !r.tests.is_empty() && !r.withheld);
    r.withhold();
    // Not even the days with an event are left: a row's presence says someone left that day.
    assert!(r.rows.is_empty() && r.tests.is_empty() && r.withheld);
    assert!(r.group(ALL, ALL).is_none());
    assert!(r.params.is_some());
}

#[test]
fn the_files_have_the_columns_of_r4() {
    let keys = RunKeys {
        period: "2026Q1".into(),
        followup: "discharge".into(),
        groups: columns(),
    };
    let t = spec(&keys).render(&[]);
    assert_eq!(
        t.header,
        [
            "period",
            "track",
            "modality",
            "day",
            "n_risk",
            "n_dropout",
            "n_completed",
            "n_other",
            "n_censored",
            "cif_dropout",
            "cif_dropout_se",
            "cif_dropout_low",
            "cif_dropout_high",
            "cif_completed",
            "cif_completed_se",
            "cif_completed_low",
            "cif_completed_high",
            "cif_other",
            "cif_other_se",
            "suppressed"
        ]
    );
    let t = tests_spec(&keys).render(&[]);
    assert_eq!(
        t.header,
        [
            "period",
            "track",
            "n_episodes",
            "n_dropout",
            "chisq",
            "df",
            "p",
            "suppressed"
        ]
    );
}

#[test]
fn the_page_shows_each_group_at_days_30_60_and_90() {
    let eps = sample();
    let p = params(Some(("2026-01-01", "2026-03-31")), "2026-03-31");
    let r = compute(&eps, &columns(), &p);
    let keys = RunKeys {
        period: "2026Q1".into(),
        followup: "discharge".into(),
        groups: columns(),
    };
    let t = published(&keys, &r);
    assert_eq!(t.table().rows.len(), r.rows.len());
    let page = t.page(&|_, _| false);
    let day = page.header.iter().position(|h| h == "day").unwrap();
    let b_cbt: Vec<&str> = page
        .rows
        .iter()
        .filter(|row| row[0] == "b" && row[1] == "CBT")
        .map(|row| row[day].as_str())
        .collect();
    // Day 10 for day 30; day 50 (final) for days 60 and 90, shown once.
    assert_eq!(b_cbt, ["10", "50"]);
}

#[test]
fn the_page_asks_about_withheld_cells_by_their_row_in_the_file() {
    let eps = sample();
    let p = params(Some(("2026-01-01", "2026-03-31")), "2026-03-31");
    let r = compute(&eps, &columns(), &p);
    let keys = RunKeys {
        period: "2026Q1".into(),
        followup: "discharge".into(),
        groups: columns(),
    };
    // Withhold n_risk of group b/CBT's day-50 row (by its position in the file).
    let at = r
        .rows
        .iter()
        .position(|x| x.labels == ["b", "CBT"] && x.day == 50)
        .unwrap();
    let page = published(&keys, &r).page(&|i, c| i == at && c == "n_risk");
    let day = page.header.iter().position(|h| h == "day").unwrap();
    let risk = page.header.iter().position(|h| h == "at risk").unwrap();
    for (row, marks) in page.rows.iter().zip(&page.withheld) {
        let hit = row[0] == "b" && row[1] == "CBT" && row[day] == "50";
        assert_eq!(marks[risk], hit, "{row:?}");
        assert_eq!(row[risk] == "*", hit);
    }
}

#[test]
fn groups_are_found_by_track_and_modality() {
    let eps = sample();
    let p = params(Some(("2026-01-01", "2026-03-31")), "2026-03-31");
    let r = compute(&eps, &columns(), &p);
    assert_eq!(r.labels_of("track", ALL), ["a", "b"]);
    assert_eq!(r.labels_of("modality", "a"), ["CBT", "DBT"]);
    assert_eq!(r.labels_of("modality", ALL), ["CBT", "DBT"]);
    assert!(r.group("c", ALL).is_none());
    // Grouped by track only: no modality groups, and a modality cannot be asked for.
    let by_track = compute(&eps, &["track".to_string()], &p);
    assert!(by_track.group("a", ALL).is_some());
    assert!(by_track.group("a", "CBT").is_none());
    assert!(by_track.labels_of("modality", "a").is_empty());
    // The tests are per track whatever the grouping columns.
    let by_modality = compute(&eps, &["modality".to_string()], &p);
    assert_eq!(by_modality.tests, r.tests);
    assert_eq!(by_track.tests, r.tests);
}

/// A national-scale export in memory: `n` episodes shaped like `synth`'s (tracks and
/// modalities, admissions over 1,000 days, stays of 5 to 84 days, the planted reasons, still
/// in care past the last day).
fn national(n: usize) -> Episodes {
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move |k: u64| {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (state >> 33) % k
    };
    let tracks: [(&str, &[&str]); 5] = [
        ("mental_health", &["CBT", "DBT"]),
        ("substance_use", &["CBT", "CRA", "MI", "TSF"]),
        ("co_occurring", &["CBT", "CRA", "DBT", "MI"]),
        ("eating_disorder", &["CBT", "DBT", "family"]),
        ("adolescent", &["CBT", "DBT", "family"]),
    ];
    let reasons = [
        "completed",
        "left_early",
        "transferred",
        "administrative",
        "other",
    ];
    let start = day("2024-01-01");
    let mut e = Episodes::default();
    for k in 0..n {
        let (t, ms) = tracks[next(5) as usize];
        let admit = start + next(1000) as Day;
        let stay = 5 + next(80) as Day;
        let discharged = admit + stay <= start + 1000;
        e.id.push(format!("E{k}"));
        e.client.push(format!("C{k}"));
        e.track.push(t.to_string());
        e.modality
            .push(ms[next(ms.len() as u64) as usize].to_string());
        e.admit.push(admit);
        e.discharge.push(discharged.then_some(admit + stay));
        e.discharge_reason
            .push(discharged.then(|| reasons[next(5) as usize].to_string()));
        for v in [
            &mut e.site,
            &mut e.delivery,
            &mut e.age_group,
            &mut e.sex,
            &mut e.race_ethnicity,
        ] {
            v.push(None);
        }
    }
    e
}

#[test]
#[ignore = "timing at national scale: cargo test --release --lib retention_at_a_million -- --ignored --nocapture"]
fn retention_at_a_million_episodes() {
    let eps = national(1_000_000);
    let p = params(None, "2026-09-27");
    let t = std::time::Instant::now();
    let r = compute(&eps, &columns(), &p);
    eprintln!(
        "retention of 1,000,000 episodes: {:.3} s ({} rows, {} tests, {} threads)",
        t.elapsed().as_secs_f64(),
        r.rows.len(),
        r.tests.len(),
        rayon::current_num_threads()
    );
    assert_eq!(r.tests.len(), 6);
}

#[test]
fn the_summary_counts_each_outcome_by_day_30_60_and_90() {
    let eps = sample();
    let p = params(Some(("2026-01-01", "2026-03-31")), "2026-03-31");
    let mut r = compute(&eps, &columns(), &p);
    // One summary row per group, in the rows' group order.
    let groups: Vec<&Vec<String>> = by_group(&r.rows).map(|g| &g[0].labels).collect();
    let labels: Vec<&Vec<String>> = r.summary.iter().map(|s| &s.labels).collect();
    assert_eq!(groups, labels);
    let counts = |s: &summary::SummaryRow| {
        (
            s.n_episodes,
            s.followed_to_day,
            [s.n_dropout_30, s.n_dropout_60, s.n_dropout_90],
            [s.n_completed_30, s.n_completed_60, s.n_completed_90],
        )
    };
    // a/CBT: dropouts on days 0 and 10, completions on 10 and 20, another discharge on 20,
    // one still in care (censored on day 89): day 90 is not reached (its counts are those
    // observed; no incidence).
    let a_cbt = r.summary_of("a", "CBT").unwrap();
    assert_eq!(
        counts(a_cbt),
        (
            Some(6),
            Some(60.0),
            [Some(2), Some(2), Some(2)],
            [Some(2), Some(2), Some(2)]
        )
    );
    // The incidences are retention.csv's on the last day on or before each day (day 20).
    let day20 = &r.group("a", "CBT").unwrap()[2];
    assert_eq!(day20.day, 20);
    assert_eq!(a_cbt.cif_dropout_30, day20.cif_dropout);
    assert_eq!(a_cbt.cif_dropout_60_low, day20.cif_dropout_low);
    assert_eq!(a_cbt.cif_completed_60_high, day20.cif_completed_high);
    assert_eq!(a_cbt.cif_dropout_90, None);
    // a/DBT: two dropouts on day 5, a completion and another discharge on day 30, two
    // completions on day 40 (everyone has left: final, so day 90 is reached).
    assert_eq!(
        counts(r.summary_of("a", "DBT").unwrap()),
        (
            Some(6),
            Some(90.0),
            [Some(2), Some(2), Some(2)],
            [Some(1), Some(3), Some(3)]
        )
    );
    // b: a completion on day 10 and a dropout on day 50.
    let b = r.summary_of("b", "All").unwrap();
    assert_eq!(
        counts(b),
        (
            Some(2),
            Some(90.0),
            [Some(0), Some(1), Some(1)],
            [Some(1), Some(1), Some(1)]
        )
    );
    // No dropout yet by day 30: incidence 0 without limits (R3).
    assert_eq!(
        (
            b.cif_dropout_30,
            b.cif_dropout_30_low,
            b.cif_dropout_30_high
        ),
        (Some(0.0), None, None)
    );
    // The margins are the sums of their cells.
    let all = r.summary_of(ALL, ALL).unwrap();
    assert_eq!(all.n_episodes, Some(14));
    assert_eq!(all.n_dropout_30, Some(2 + 2));
    // Withholding the day-by-day rows keeps the summary (protected with the other tables).
    let n = labels.len();
    r.withhold();
    assert_eq!(r.summary.len(), n);
    assert_eq!(r.labels_of("modality", "a"), ["CBT", "DBT"]);
}
