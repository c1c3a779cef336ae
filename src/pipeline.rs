//! The `run` job: ingest → cohort and pairing → analysis → report → publish, one stage after
//! another. Returns what was published; prints nothing.

use crate::analysis::{abstinence, ancova, attrition, cells, engagement, outcomes, trend};
use crate::cohort::{self, PairingRules};
use crate::config::Config;
use crate::diag;
use crate::error::{Error, Result};
use crate::ingest;
use crate::options::{Period, RunOptions, SAMPLE_INPUT};
use crate::report::publish::{self, OutputLock, Staging};
use crate::report::{self, csv_writer::render_table, html, manifest, summary, view};
use std::path::PathBuf;

/// What a run published.
#[derive(Debug, Clone)]
pub struct RunSummary {
    pub folder: PathBuf,
    pub outcome_rows: usize,
    pub quarantined: usize,
    pub cohort: usize,
    pub active: usize,
}

/// Runs the whole job and publishes `<out>/<period label>/`.
///
/// # Errors
/// Usage/config errors (exit 2), data errors and write failures (exit 1).
pub fn run(opts: &RunOptions, args: Vec<String>) -> Result<RunSummary> {
    let (cfg, catalog) = Config::load_with_catalog(opts.config.as_deref())?;
    let followups = cfg.followups();
    let point = followups.get(&opts.followup).cloned().ok_or_else(|| {
        Error::Usage(format!(
            "--followup {}: no such follow-up point (defined: {})",
            opts.followup,
            followups.keys().cloned().collect::<Vec<_>>().join(", ")
        ))
    })?;
    let label = opts.period.label();
    let dest = opts.out.join(&label);
    // Take the lock and fail on an unwritable output folder before any work is done.
    let _lock = OutputLock::acquire(&opts.out)?;
    publish::recover(&dest)?;
    let mut staging = Staging::new(&dest)?;

    let mut progress = diag::Progress::new(opts.quiet);
    // A report on generated data says so, and a forgotten --input is never silent (O11).
    let origin = crate::synth::synthetic_origin(&opts.input).map(|o| {
        if opts.input == std::path::Path::new(SAMPLE_INPUT) {
            diag::warn(&format!(
                "reporting on the bundled synthetic sample in {} (not real data); pass --input DIR for a real export",
                SAMPLE_INPUT
            ));
            format!("the bundled sample ({}): {o}", SAMPLE_INPUT)
        } else {
            o
        }
    });
    progress.stage("reading and validating the export");
    let export = ingest::load(&opts.input, &cfg, &catalog)?;
    if export.attendance.is_none() {
        diag::info(&format!(
            "{} not supplied: engagement has no attendance figures",
            cfg.input.attendance
        ));
    }
    for w in ingest::check_loss(
        &export.accounts,
        &export.unknown,
        cfg.input.max_quarantined_share,
        "nothing was published",
    )? {
        diag::warn(&w);
    }
    if !export.quarantine.is_empty() {
        diag::info(&format!(
            "{} input rows quarantined (see quarantine.csv)",
            export.quarantine.len()
        ));
    }
    progress.stage("pairing baseline and follow-up scores");
    let rules = PairingRules {
        baseline: cfg.pairing.baseline_window,
        followup_name: opts.followup.clone(),
        followup: point,
    };
    let anchors = cohort::anchors(&export.episodes, &rules.followup);
    let pairs = cohort::pair(&export.episodes, &export.assessments, &anchors, &rules);
    let bounds = opts.period.bounds();
    let selected: Vec<bool> = anchors
        .iter()
        .map(|a| cohort::in_period(*a, bounds))
        .collect();
    let cohort_size = selected.iter().filter(|s| **s).count();
    let active = anchors.iter().filter(|a| a.is_none()).count();
    if cohort_size == 0 {
        return Err(Error::Data(match &opts.period {
            Period::All => format!(
                "no episode has a follow-up anchor for `{}` (every accepted episode is still in care); nothing was published",
                opts.followup
            ),
            p => format!(
                "no episodes whose follow-up anchor falls in {} (follow-up point `{}`); nothing was published",
                p.label(),
                opts.followup
            ),
        }));
    }

    progress.stage("computing the tables");
    let ids = &export.assessments.instruments;
    let columns = &cfg.report.group_by;
    let suppress = opts.suppress.then_some(cfg.report.suppress_below);
    // Trend: eight quarters ending with the period's last quarter, or the latest anchor's.
    let last = bounds
        .map(|b| b.1)
        .or_else(|| anchors.iter().flatten().max().copied());
    let timed =
        |what: &str, t: std::time::Instant| diag::debug(&format!("{what} {:.2?}", t.elapsed()));
    // The tables are independent of each other: computed concurrently (each one's own work
    // is parallel too), then staged in a fixed order.
    let (((rows, abst), (anc, attr)), ((dose, eng), tr)) = rayon::join(
        || {
            rayon::join(
                || {
                    let t = std::time::Instant::now();
                    let groups = cells::build(&export.episodes, &pairs, &selected, columns, ids);
                    timed("cells", t);
                    let rows = outcomes::rows(&groups, &pairs, &catalog, ids, suppress);
                    let abst = abstinence::rows(&groups, &pairs, &catalog, ids, suppress);
                    timed("outcomes and abstinence", t);
                    (rows, abst)
                },
                || {
                    let t = std::time::Instant::now();
                    let anc = ancova::rows(&export.episodes, &pairs, &selected, ids, suppress);
                    let attr = attrition::rows(&export.episodes, &pairs, &selected, ids, suppress);
                    timed("ancova and attrition", t);
                    (anc, attr)
                },
            )
        },
        || {
            rayon::join(
                || {
                    let t = std::time::Instant::now();
                    let dose = export
                        .attendance
                        .as_ref()
                        .map(|a| engagement::per_episode(a, export.episodes.len()));
                    let eng = engagement::rows(
                        &export.episodes,
                        &selected,
                        columns,
                        dose.as_ref(),
                        cfg.report.dose_hours,
                        suppress,
                    );
                    timed("engagement", t);
                    (dose, eng)
                },
                || {
                    let t = std::time::Instant::now();
                    let tr = last.map_or_else(Vec::new, |last| {
                        trend::rows(
                            &export.episodes,
                            &pairs,
                            &anchors,
                            last,
                            &catalog,
                            ids,
                            suppress,
                        )
                    });
                    timed("trend", t);
                    tr
                },
            )
        },
    );
    let outcomes_table = outcomes::table(&rows, &label, &opts.followup, columns);
    staging.add("outcomes.csv", render_table(&outcomes_table));
    let abst_table = abstinence::table(&abst, &label, &opts.followup, columns);
    staging.add("abstinence.csv", render_table(&abst_table));
    let anc_table = ancova::table(&anc);
    staging.add("ancova.csv", render_table(&anc_table));
    let attr_table = attrition::table(&attr);
    staging.add("attrition.csv", render_table(&attr_table));
    let eng_table = engagement::table(&eng, columns);
    staging.add("engagement.csv", render_table(&eng_table));
    let trend_table = trend::table(&tr);
    staging.add("trend.csv", render_table(&trend_table));
    staging.add("quarantine.csv", report::quarantine_csv(&export.quarantine));

    let names = [
        &cfg.input.episodes,
        &cfg.input.assessments,
        &cfg.input.attendance,
    ];
    // Hashed while the files were validated, from the same bytes.
    let inputs: Vec<manifest::FileDigest> = names
        .iter()
        .zip(&export.fingerprints)
        .filter_map(|(name, fp)| fp.map(|fp| manifest::FileDigest::of_input(name, &fp)))
        .collect();
    // The page shows the columns a reader needs; outcomes.csv has them all.
    let outcome_columns: Vec<&str> = std::iter::once("instrument")
        .chain(columns.iter().map(String::as_str))
        .chain(OUTCOME_COLUMNS_SHOWN.iter().copied())
        .collect();
    let tables = [
        view::shown_named("outcomes", "Outcomes by cell", "Change from baseline to follow-up per instrument and cell, with every margin (All). Change is follow-up minus baseline in scale points (days for days-of-use); p from the paired t-test, q after Benjamini-Hochberg over the cells; g_av is the effect size. outcomes.csv has every column, including SDs, the Wilcoxon test, d_z and the counts behind each percentage.", &outcomes_table, &outcome_columns),
        view::shown("abstinence", "Abstinence", "Days-of-use instruments: abstinent (0 days) at baseline and at follow-up; p from the exact McNemar test on the discordant pairs.", &abst_table),
        view::shown("ancova", "Modality comparison (ANCOVA)", "Follow-up adjusted for baseline, per track: each modality against the reference; adjusted means at the mean baseline; F tests modality after baseline.", &anc_table),
        view::shown("attrition", "Retention bias", "Baseline scores of clients followed up and of clients lost to follow-up (Welch t-test, lost minus followed).", &attr_table),
        view::shown("engagement", "Engagement", &format!("Discharged cohort episodes: completion, length of stay, weekly hours attended, share meeting the IOP dose of {} hours a week, sessions attended.", cfg.report.dose_hours), &eng_table),
        view::shown("trend", "Quarterly trend", "The headline figures per quarter of the anchor date, for the eight quarters up to the period.", &trend_table),
    ];
    // Charts, drawn in parallel, each as SVG and PNG.
    progress.stage("drawing the charts and writing the report");
    let t = std::time::Instant::now();
    let hours = dose.as_ref().map(|(minutes, _)| {
        engagement::hours_by_group(
            &export.episodes,
            &selected,
            &columns[0],
            minutes,
            cfg.report.dose_hours,
            suppress,
        )
    });
    let quarters = last.map(trend::quarter_labels).unwrap_or_default();
    let charts = crate::charts::build::all(&crate::charts::build::Inputs {
        catalog: &catalog,
        ids,
        columns,
        outcomes: &rows,
        abstinence: &abst,
        trend: &tr,
        quarters: &quarters,
        pairs: &pairs,
        selected: &selected,
        hours: hours.as_deref(),
        dose_hours: cfg.report.dose_hours,
        suppress_below: suppress,
    });
    let rendered: Vec<crate::charts::Rendered> = {
        use rayon::prelude::*;
        charts
            .par_iter()
            .map(crate::charts::render)
            .collect::<Result<_>>()?
    };
    diag::debug(&format!("charts {:.2?}", t.elapsed()));
    let t = std::time::Instant::now();
    for c in &rendered {
        staging.add(
            &format!("charts/{}.svg", c.name),
            c.svg.clone().into_bytes(),
        );
        staging.add(&format!("charts/{}.png", c.name), c.png.clone());
    }
    let (headline, by_group) = view::headlines(&outcomes_table, columns.len(), &catalog);
    let used: std::collections::BTreeSet<&str> = outcomes_table
        .rows
        .iter()
        .filter_map(|r| match &r[2] {
            crate::table::Cell::Text(t) => Some(t.as_str()),
            _ => None,
        })
        .collect();
    let report_view = view::ReportView {
        period: label.clone(),
        followup: opts.followup.clone(),
        version: env!("CARGO_PKG_VERSION").to_string(),
        synthetic: origin,
        cohort: cohort_size,
        active,
        headline,
        by_group,
        group_column: columns[0].clone(),
        tables: tables.to_vec(),
        accounts: export.accounts.clone(),
        quarantined: export.quarantine.len(),
        attendance_supplied: export.attendance.is_some(),
        windows: methods_windows(&rules),
        instruments: catalog
            .iter()
            .filter(|i| used.contains(i.id.as_str()))
            .map(view::InstrumentSource::from)
            .collect(),
        tests: METHODS_TESTS.iter().map(|s| s.to_string()).collect(),
        suppression: if opts.suppress {
            format!("Small cells: counts from 1 to {} are suppressed, with every statistic computed from them.", cfg.report.suppress_below - 1)
        } else {
            "Small-cell suppression is OFF (--no-suppress): for analysts inside the covered entity only; do not distribute.".to_string()
        },
        inputs: inputs.clone(),
        chart_groups: view::chart_groups(&rendered),
    };
    staging.add("summary.md", summary::render(&report_view).into_bytes());
    staging.add("report.html", html::render(&report_view)?.into_bytes());
    diag::debug(&format!("summary and report.html {:.2?}", t.elapsed()));
    let outputs = staging
        .files()
        .iter()
        .map(|(name, bytes)| manifest::FileDigest {
            file: name.clone(),
            size: bytes.len() as u64,
            sha256: manifest::sha256_hex(bytes),
        })
        .collect();
    let m = manifest::Manifest {
        tool: format!("iop-outcomes {}", env!("CARGO_PKG_VERSION")),
        command_line: manifest::recorded_args(args),
        period: label.clone(),
        followup: opts.followup.clone(),
        config: cfg.clone(),
        inputs,
        accounting: export.accounts.clone(),
        suppression: manifest::Suppression {
            enabled: opts.suppress,
            suppress_below: cfg.report.suppress_below,
        },
        outputs,
    };
    let mut json = serde_json::to_vec_pretty(&m).expect("manifest serialises");
    json.push(b'\n');
    staging.add("manifest.json", json);
    let t = std::time::Instant::now();
    let folder = staging.publish()?;
    diag::debug(&format!("published in {:.2?}", t.elapsed()));
    progress.finish();
    let summary = RunSummary {
        folder,
        outcome_rows: rows.len(),
        quarantined: export.quarantine.len(),
        cohort: cohort_size,
        active,
    };
    // Freeing a national export (millions of small allocations) takes most of a second: it
    // is done on a detached thread, so the command returns as soon as the report is
    // published (at exit the operating system reclaims whatever is left).
    std::thread::spawn(move || drop((export, pairs, anchors, selected, rows, dose)));
    Ok(summary)
}

/// outcomes.csv's columns shown on the page, after the instrument and grouping columns.
const OUTCOME_COLUMNS_SHOWN: &[&str] = &[
    "n_paired",
    "followup_rate",
    "baseline_mean",
    "followup_mean",
    "change_mean",
    "change_ci_low",
    "change_ci_high",
    "p_t",
    "q_bh",
    "g_av",
    "pct_improved",
    "pct_recovered",
    "pct_remission",
    "suppressed",
];

const METHODS_TESTS: &[&str] = &[
    "Means and SDs (n - 1) of baseline, follow-up and change over paired episodes.",
    "Paired t-test, t.test(followup, baseline, paired = TRUE) in R: t, df, two-sided p, 95% CI of the mean change; Benjamini-Hochberg q over the cells (p.adjust(p, \"BH\")).",
    "Wilcoxon signed-rank test as R's wilcox.test(followup, baseline, paired = TRUE): exact below 50 non-zero untied differences, else normal approximation with tie and continuity correction.",
    "Effect sizes: d_z = mean(change) / sd(change); g_av = J * mean(change) / ((sd baseline + sd follow-up) / 2), J Hedges' correction.",
    "Reliable change (Jacobson and Truax): |change| at least the instrument's threshold; reliable recovery: a case at baseline, not a case at follow-up, reliably improved; response: improvement of at least the instrument's fraction of baseline; remission: follow-up below the threshold (all over cases).",
    "Abstinence: exact McNemar test, binom.test(b, b + c, 0.5).",
    "ANCOVA: lm(followup ~ baseline + modality) per track by QR, first modality in byte order as reference; sequential F test of modality.",
    "Retention bias: Welch t.test(lost, followed) of baseline scores.",
    "Engagement: weekly hours = minutes / 60 / max(1, (length of stay + 1) / 7); medians as R's median.",
];

fn methods_windows(rules: &PairingRules) -> Vec<String> {
    let [b0, b1] = rules.baseline;
    let f = &rules.followup;
    let anchor = match (f.anchor, f.target_days) {
        (crate::config::Anchor::Admit, Some(t)) => format!("admission + {t} days"),
        _ => "the discharge date (discharged episodes only)".to_string(),
    };
    vec![
        format!("Baseline: the earliest assessment from {b0} to {b1} days after admission (inclusive)."),
        format!(
            "Follow-up point {}: anchored at {anchor}; the assessment from {} to {} days around the anchor, at least {} days after the baseline, closest to the anchor (ties go to the later date).",
            rules.followup_name, f.window[0], f.window[1], f.min_gap_days
        ),
        "Cohort: episodes whose anchor date falls in the period; episodes still in care are counted as active, not as lost.".to_string(),
        "Change = follow-up minus baseline; improvement follows each instrument's direction.".to_string(),
    ]
}
