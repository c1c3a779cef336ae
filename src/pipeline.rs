//! The `run` job as named steps: read the export, pair the cohort, compute the tables, draw
//! the charts, assemble the report and its manifest, publish. Returns what was published;
//! prints nothing but progress and warnings (through `diag`).

use crate::analysis::{cells::RunKeys, protection, retention, Links, Settings, Tables};
use crate::charts;
use crate::cohort::{Cohort, PairingRules};
use crate::config::{Anchor, Config};
use crate::diag;
use crate::error::{Error, Result};
use crate::ingest::{self, Export};
use crate::instruments::Catalog;
use crate::options::{Period, RunOptions, SAMPLE_INPUT};
use crate::report::assemble::{self, Run};
use crate::report::audit;
use crate::report::manifest::{self, DisclosureRecord, Manifest, Suppression};
use crate::report::publish::{self, OutputLock, Staging};
use std::path::{Path, PathBuf};

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
/// Usage/config errors (exit 2), data errors, write failures and internal errors (exit 1);
/// nothing is published then.
pub fn run(opts: &RunOptions, args: Vec<String>) -> Result<RunSummary> {
    opts.check()?;
    let (cfg, catalog) = Config::load_with_catalog(opts.config.as_deref())?;
    let job = Job {
        opts,
        cfg: &cfg,
        catalog: &catalog,
        rules: pairing_rules(&cfg, &opts.followup)?,
        label: opts.period.label(),
    };
    let (_lock, mut staging) = prepare_output(&opts.out, &job.label)?;
    let mut progress = diag::Progress::new(opts.quiet);
    let synthetic = data_origin(&opts.input);

    progress.stage("reading and validating the export");
    let export = read_export(&opts.input, &cfg, &catalog)?;
    let settings = job.settings(&export)?;
    progress.stage("pairing baseline and follow-up scores");
    let cohort = select_cohort(&export, job.rules.clone(), &opts.period)?;
    progress.stage("computing the tables");
    let mut tables = Tables::compute(&export, &cohort, &settings);
    let disclosure = job.protect(&mut tables, &export)?;
    progress.stage("drawing the charts and writing the report");
    let charts = diag::timed("charts", || {
        charts::build::draw(&export, &cohort, &tables, &settings)
    })?;
    let inputs = manifest::inputs(cfg.input.names(), &export.fingerprints);
    let published = tables.published(&job.keys(), cfg.report.dose_hours);
    let episode_data = tables.episode_data(&job.keys());
    let report = Run {
        period: &job.label,
        followup: &opts.followup,
        synthetic,
        group_column: &cfg.report.group_by[0],
        cohort: &cohort,
        export: &export,
        catalog: &catalog,
        inputs: &inputs,
        suppress_below: settings.suppress_below,
        tables: &tables,
        published: &published,
        episode_data: episode_data.as_deref(),
        charts: &charts,
        benchmark_by: &cfg.benchmark.by,
        longitudinal: &cfg.longitudinal,
        protection: disclosure.as_ref(),
    };
    for (name, bytes) in assemble::files(&report)? {
        staging.add(&name, bytes);
    }
    let audited = job.audit(staging.files(), disclosure)?;
    let manifest = job.manifest(args, inputs, &export, staging.files(), audited);
    staging.add("manifest.json", manifest.to_json()?);
    let folder = diag::timed("publish", || staging.publish())?;
    progress.finish();
    let summary = RunSummary::new(folder, &tables, &export, &cohort);
    drop((published, episode_data));
    release((export, cohort, tables));
    Ok(summary)
}

impl RunSummary {
    fn new(folder: PathBuf, tables: &Tables, export: &Export, cohort: &Cohort) -> Self {
        RunSummary {
            folder,
            outcome_rows: tables.outcomes.len(),
            quarantined: export.quarantine.len(),
            cohort: cohort.size,
            active: cohort.active,
        }
    }
}

/// The settings of one run.
struct Job<'a> {
    opts: &'a RunOptions,
    cfg: &'a Config,
    catalog: &'a Catalog,
    rules: PairingRules,
    /// The period label (the folder name and the `period` column).
    label: String,
}

impl Job<'_> {
    /// The tables' settings; the retention window comes from the export's dates.
    fn settings(&self, export: &Export) -> Result<Settings<'_>> {
        let retention = retention::Params::new(
            export,
            &self.cfg.retention.dropout_reasons,
            self.opts.period.bounds(),
            self.opts.data_through,
        )?;
        Ok(Settings {
            catalog: self.catalog,
            groups: &self.cfg.report.group_by,
            suppress_below: self.opts.suppress.then_some(self.cfg.report.suppress_below),
            dose_hours: self.cfg.report.dose_hours,
            retention,
            benchmark_by: &self.cfg.benchmark.by,
            longitudinal: self.cfg.longitudinal.clone(),
            episode_data: self.opts.episode_data,
        })
    }

    /// Small-cell protection (SPEC §7, §11), when suppression is on.
    fn protect(&self, tables: &mut Tables, export: &Export) -> Result<Option<protection::Outcome>> {
        let Some(below) = self.opts.suppress.then_some(self.cfg.report.suppress_below) else {
            return Ok(None);
        };
        let links = Links {
            instruments: export.assessments.instruments.clone(),
            discharge_anchor: self.rules.followup.anchor == Anchor::Discharge,
            benchmark_by: self.cfg.benchmark.by.clone(),
            longitudinal_has_baselines: self.longitudinal_has_baselines(),
            whole_export: self.opts.period.bounds().is_none(),
        };
        let outcome = diag::timed("small-cell protection", || {
            tables.protect(&self.keys(), self.cfg.report.dose_hours, below, &links)
        })?;
        Ok(Some(outcome))
    }

    /// The independent disclosure audit of the files about to be published (SPEC §11 D3).
    fn audit(
        &self,
        files: &[(String, Vec<u8>)],
        disclosure: Option<protection::Outcome>,
    ) -> Result<Option<DisclosureRecord>> {
        let Some(disclosure) = disclosure else {
            return Ok(None);
        };
        let findings = self.audit_files(files)?;
        Ok(Some(DisclosureRecord {
            protection: disclosure.summary,
            audit: findings,
        }))
    }

    /// The audit of `files` with this run's settings.
    fn audit_files(&self, files: &[(String, Vec<u8>)]) -> Result<audit::Findings> {
        self.with_audit_run(|run| diag::timed("disclosure audit", || audit::audit(files, run)))
    }

    /// `f` given the audit's settings for this run.
    fn with_audit_run<T>(&self, f: impl FnOnce(&audit::Run) -> T) -> T {
        let applies =
            |instrument: &str, count: &str| count_applies(self.catalog, instrument, count);
        let run = audit::Run {
            groups: &self.cfg.report.group_by,
            period: &self.label,
            discharge_anchor: self.rules.followup.anchor == Anchor::Discharge,
            longitudinal_has_baselines: self.longitudinal_has_baselines(),
            below: self.cfg.report.suppress_below,
            applies: &applies,
            benchmark_by: &self.cfg.benchmark.by,
            whole_export: self.opts.period.bounds().is_none(),
        };
        f(&run)
    }

    /// Whether every baseline lies in the mixed model's window (SPEC L1: b1 ≤ max_days).
    fn longitudinal_has_baselines(&self) -> bool {
        f64::from(self.rules.baseline[1]) <= self.cfg.longitudinal.max_days
    }

    fn keys(&self) -> RunKeys {
        RunKeys {
            period: self.label.clone(),
            followup: self.opts.followup.clone(),
            groups: self.cfg.report.group_by.clone(),
        }
    }

    fn manifest(
        &self,
        args: Vec<String>,
        inputs: Vec<manifest::FileDigest>,
        export: &Export,
        outputs: &[(String, Vec<u8>)],
        disclosure: Option<DisclosureRecord>,
    ) -> Manifest {
        Manifest {
            tool: format!("iop-outcomes {}", env!("CARGO_PKG_VERSION")),
            command_line: manifest::recorded_args(args),
            period: self.label.clone(),
            followup: self.opts.followup.clone(),
            config: self.cfg.clone(),
            inputs,
            accounting: export.accounts.clone(),
            suppression: Suppression {
                enabled: self.opts.suppress,
                suppress_below: self.cfg.report.suppress_below,
            },
            episode_data: self.opts.episode_data,
            disclosure,
            outputs: manifest::outputs(outputs),
        }
    }
}

/// Whether a count of the tables applies to an instrument (public knowledge: the catalog's
/// rules, as the methods list them); counts without an instrument always apply.
fn count_applies(catalog: &Catalog, instrument: &str, count: &str) -> bool {
    let Some(i) = catalog.get(instrument) else {
        return true;
    };
    let threshold = i.rci_threshold().is_some();
    let cases = i.caseness.is_some();
    match count {
        "n_improved" | "n_unchanged" | "n_deteriorated" => threshold,
        "n_cases" => cases,
        "n_recovered" => threshold && cases,
        "n_response" => cases && i.response_fraction.is_some(),
        "n_remission" => cases && i.remission_below.is_some(),
        _ => true,
    }
}

/// Takes the output lock and prepares the staging folder for `<out>/<label>`: an unwritable
/// output folder fails here, before any work is done.
fn prepare_output(out: &Path, label: &str) -> Result<(OutputLock, Staging)> {
    let lock = OutputLock::acquire(out)?;
    let dest = out.join(label);
    publish::recover(&dest)?;
    Ok((lock, Staging::new(&dest)?))
}

/// The pairing rules of the follow-up point `name`.
fn pairing_rules(cfg: &Config, name: &str) -> Result<PairingRules> {
    let followups = cfg.followups();
    let point = followups.get(name).cloned().ok_or_else(|| {
        Error::Usage(format!(
            "--followup {name}: no such follow-up point (defined: {})",
            followups.keys().cloned().collect::<Vec<_>>().join(", ")
        ))
    })?;
    Ok(PairingRules {
        baseline: cfg.pairing.baseline_window,
        followup_name: name.to_string(),
        followup: point,
    })
}

/// What the data is, when `synth` generated it (a report on it says so, and a forgotten
/// `--input` is never silent: SPEC §16 O11).
fn data_origin(input: &Path) -> Option<String> {
    let origin = crate::synth::synthetic_origin(input)?;
    if input != Path::new(SAMPLE_INPUT) {
        return Some(origin);
    }
    diag::warn(&format!(
        "reporting on the bundled synthetic sample in {SAMPLE_INPUT} (not real data); pass --input DIR for a real export"
    ));
    Some(format!("the bundled sample ({SAMPLE_INPUT}): {origin}"))
}

/// Reads and validates the export; heavy loss is an error, some loss a warning (SPEC §16 O2).
fn read_export(input: &Path, cfg: &Config, catalog: &Catalog) -> Result<Export> {
    let export = ingest::load(input, cfg, catalog)?;
    let max = cfg.input.max_quarantined_share;
    for w in ingest::check_loss(
        &export.accounts,
        &export.unknown,
        max,
        "nothing was published",
    )? {
        diag::warn(&w);
    }
    if export.attendance.is_none() {
        diag::info(&format!(
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
    Ok(export)
}

/// Pairs every episode and selects the period's cohort; an empty cohort is a data error
/// (SPEC §16 O6), not an empty report.
fn select_cohort(export: &Export, rules: PairingRules, period: &Period) -> Result<Cohort> {
    let followup = rules.followup_name.clone();
    let cohort = Cohort::build(
        &export.episodes,
        &export.assessments,
        rules,
        period.bounds(),
    );
    if cohort.size > 0 {
        return Ok(cohort);
    }
    Err(Error::Data(match period {
        Period::All => format!(
            "no episode has a follow-up anchor for `{followup}` (every accepted episode is still in care); nothing was published"
        ),
        p => format!(
            "no episodes whose follow-up anchor falls in {} (follow-up point `{followup}`); nothing was published",
            p.label()
        ),
    }))
}

/// Frees the run's data on a detached thread: freeing a national export (millions of small
/// allocations) takes most of a second, and the command can return as soon as the report is
/// published (at exit the operating system reclaims whatever is left).
fn release<T: Send + 'static>(bulk: T) {
    std::thread::spawn(move || drop(bulk));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::{abstinence, ancova, attrition, engagement, outcomes, trend};
    use crate::report::assemble::table_files;
    use crate::report::audit;

    /// The CSV files of the tables named in `names` (all when `None`), written as a run
    /// writes them.
    fn csv_files(
        tables: &Tables,
        keys: &RunKeys,
        dose_hours: f64,
        names: Option<&[&str]>,
    ) -> Vec<(String, Vec<u8>)> {
        tables
            .published(keys, dose_hours)
            .iter()
            .filter(|t| names.is_none_or(|n| n.contains(&t.name())))
            .map(|t| {
                let [csv, _parquet] = table_files(t.as_ref()).unwrap();
                csv
            })
            .collect()
    }

    /// The rule before SPEC §11 (issue 14) does not hold: each row protected on its own
    /// (`TableSpec::suppress`: counts from 1 to below − 1 blanked, in a row with a single
    /// blank reliable-change category the smallest other one too, and every statistic that
    /// follows) leaves blanks that the `All` margins give back, and the audit of the files
    /// written from those rows says so. The product's protection of the same tables passes
    /// the same audit.
    #[test]
    fn the_old_row_only_rule_fails_the_audit_and_protection_passes() {
        let opts = RunOptions {
            input: Path::new(env!("CARGO_MANIFEST_DIR")).join(SAMPLE_INPUT),
            config: None,
            period: Period::All,
            followup: "discharge".into(),
            out: PathBuf::from("unused"),
            suppress: true,
            threads: None,
            quiet: true,
            log_level: None,
            data_through: None,
            episode_data: false,
        };
        let (cfg, catalog) = Config::load_with_catalog(None).unwrap();
        let job = Job {
            opts: &opts,
            cfg: &cfg,
            catalog: &catalog,
            rules: pairing_rules(&cfg, &opts.followup).unwrap(),
            label: opts.period.label(),
        };
        let export = read_export(&opts.input, &cfg, &catalog).unwrap();
        let settings = job.settings(&export).unwrap();
        let cohort = select_cohort(&export, job.rules.clone(), &opts.period).unwrap();
        let tables = Tables::compute(&export, &cohort, &settings);
        let (keys, dose, below) = (job.keys(), cfg.report.dose_hours, cfg.report.suppress_below);

        // The old rule, on the tables it covered.
        let mut old = tables.clone();
        for r in &mut old.outcomes {
            outcomes::spec(&keys).suppress(r, below);
        }
        for r in &mut old.abstinence {
            abstinence::spec(&keys).suppress(r, below);
        }
        for r in &mut old.ancova {
            ancova::spec(&keys).suppress(r, below);
        }
        for r in &mut old.attrition {
            attrition::spec(&keys).suppress(r, below);
        }
        for r in &mut old.engagement {
            engagement::spec(&keys, dose).suppress(r, below);
        }
        for r in &mut old.trend {
            trend::spec(&keys).suppress(r, below);
        }
        let names = [
            "outcomes",
            "abstinence",
            "ancova",
            "attrition",
            "engagement",
            "trend",
        ];
        let files = csv_files(&old, &keys, dose, Some(&names));
        assert_eq!(files.len(), names.len());
        let message = job.audit_files(&files).unwrap_err().to_string();
        assert!(message.contains("blanks recoverable"), "{message}");
        let found = job
            .with_audit_run(|run| audit::attack(&files, run))
            .unwrap();
        assert!(!found.passed());
        assert_eq!(found.findings.disclosed, found.disclosed.len());
        // For one: GAD7's 3 reliably deteriorated under CRA (all tracks), blanked with the
        // row's smallest other category (34 improved), come back exactly by subtraction
        // from the margins.
        let row = |t: &Tables| {
            t.outcomes
                .iter()
                .find(|r| r.instrument == "GAD7" && r.labels == ["All", "CRA"])
                .map(|r| (r.n_improved, r.n_unchanged, r.n_deteriorated))
                .unwrap()
        };
        let (improved, unchanged, _) = row(&tables);
        assert_eq!(row(&old), (None, unchanged, None));
        assert_eq!(row(&tables).2, Some(3));
        let cell = r#"outcomes|{"instrument": "GAD7", "modality": "CRA", "track": "All"}|"#;
        for (count, v) in [("n_deteriorated", 3), ("n_improved", improved.unwrap())] {
            let recovered = format!("{cell}{count} in [{v}, {v}]");
            assert!(
                found.disclosed.contains(&recovered),
                "{recovered} not in {:#?}",
                found.disclosed
            );
        }

        // The product's protection of the same tables: every file passes.
        let mut protected = tables;
        job.protect(&mut protected, &export).unwrap().unwrap();
        let files = csv_files(&protected, &keys, dose, None);
        let findings = job.audit_files(&files).unwrap();
        assert_eq!(findings.disclosed, 0);
        assert_eq!(findings.tables, files.len());
        assert!(findings.blanks > 100, "{findings:?}");
    }
}
