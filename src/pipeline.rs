//! The `run` job: ingest → cohort and pairing → analysis → report → publish, one stage after
//! another. Returns what was published; prints nothing.

use crate::analysis::{abstinence, ancova, attrition, cells, engagement, outcomes, trend};
use crate::app::{load_config, RunOptions};
use crate::cohort::{self, Rules};
use crate::diag;
use crate::error::{Error, Result};
use crate::ingest;
use crate::report::publish::{self, OutputLock, Staging};
use crate::report::{self, csv::render_table, manifest};
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
    let (cfg, catalog) = load_config(opts.config.as_deref())?;
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
    progress.stage("reading and validating the export");
    let export = ingest::load(&opts.input, &cfg, &catalog)?;
    if export.attendance.is_none() {
        diag::warn(&format!(
            "{} not supplied: engagement has no attendance figures",
            cfg.input.attendance
        ));
    }
    if !export.quarantine.is_empty() {
        diag::info(&format!(
            "{} input rows quarantined (see quarantine.csv)",
            export.quarantine.len()
        ));
    }
    progress.stage("pairing baseline and follow-up scores");
    let rules = Rules {
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

    progress.stage("computing the tables");
    let ids = &export.assessments.instruments;
    let t = std::time::Instant::now();
    let groups = cells::build(
        &export.episodes,
        &pairs,
        &selected,
        &cfg.report.group_by,
        ids,
    );
    let suppress = opts.suppress.then_some(cfg.report.suppress_below);
    let rows = outcomes::rows(&groups, &pairs, &catalog, ids, suppress);
    let table = outcomes::table(&rows, &label, &opts.followup, &cfg.report.group_by);
    staging.add("outcomes.csv", render_table(&table));
    diag::debug(&format!("outcomes {:.2?}", t.elapsed()));
    let t = std::time::Instant::now();

    let columns = &cfg.report.group_by;
    let abst = abstinence::rows(&groups, &pairs, &catalog, ids, suppress);
    staging.add(
        "abstinence.csv",
        render_table(&abstinence::table(&abst, &label, &opts.followup, columns)),
    );
    let anc = ancova::rows(&export.episodes, &pairs, &selected, ids, suppress);
    staging.add("ancova.csv", render_table(&ancova::table(&anc)));
    let attr = attrition::rows(&export.episodes, &pairs, &selected, ids, suppress);
    staging.add("attrition.csv", render_table(&attrition::table(&attr)));
    diag::debug(&format!(
        "abstinence, ancova, attrition {:.2?}",
        t.elapsed()
    ));
    let t = std::time::Instant::now();
    let dose = match &export.attendance {
        Some(a) => Some(engagement::per_episode(a, export.episodes.len())?),
        None => None,
    };
    diag::debug(&format!(
        "attendance per episode (polars group-by) {:.2?}",
        t.elapsed()
    ));
    let eng = engagement::rows(
        &export.episodes,
        &selected,
        columns,
        dose.as_ref(),
        cfg.report.dose_hours,
        suppress,
    );
    staging.add(
        "engagement.csv",
        render_table(&engagement::table(&eng, columns)),
    );
    diag::debug(&format!("engagement {:.2?}", t.elapsed()));
    let t = std::time::Instant::now();
    // Trend: eight quarters ending with the period's last quarter, or the latest anchor's.
    let last = bounds
        .map(|b| b.1)
        .or_else(|| anchors.iter().flatten().max().copied());
    let tr = match last {
        Some(last) => trend::rows(
            &export.episodes,
            &pairs,
            &anchors,
            last,
            &catalog,
            ids,
            suppress,
        ),
        None => Vec::new(),
    };
    staging.add("trend.csv", render_table(&trend::table(&tr)));
    diag::debug(&format!("trend {:.2?}", t.elapsed()));
    staging.add("quarantine.csv", report::quarantine_csv(&export.quarantine));

    let names = [
        &cfg.input.episodes,
        &cfg.input.assessments,
        &cfg.input.attendance,
    ];
    let mut inputs = Vec::new();
    for (name, acc) in names.iter().zip(&export.accounts) {
        if acc.present {
            inputs.push(manifest::digest_file(&opts.input.join(name), name)?);
        }
    }
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
    let folder = staging.publish()?;
    progress.finish();
    Ok(RunSummary {
        folder,
        outcome_rows: rows.len(),
        quarantined: export.quarantine.len(),
        cohort: cohort_size,
        active,
    })
}
