//! The TOML config (`--config FILE`): every key optional, unknown keys rejected.
//!
//! Sections: `[input]` file names, date format and missing-value tokens; `[columns.<file>]`
//! canonical column = raw header name; `[labels.<field>]` raw label = canonical label;
//! `[phi]` columns allowed past the PHI guard; `[pairing]` the baseline window;
//! `[followup.<name>]` follow-up points; `[[instruments]]` catalog overrides and additions;
//! `[report]` grouping, suppression and dose; `[retention]` the discharge reasons that are
//! dropout; `[longitudinal]` the mixed model's window and horizon. The README shows a full
//! example. Errors name the
//! file and the key (toml reports line and column) and map to exit code 2.

use crate::error::{Error, Result};
use crate::instruments::{Catalog, Direction, Instrument, ReliableChange, ScoreKind};
use crate::schema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// The whole config, after defaults.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub input: InputConfig,
    pub columns: ColumnsConfig,
    pub labels: LabelsConfig,
    pub phi: PhiConfig,
    pub pairing: PairingConfig,
    pub followup: BTreeMap<String, FollowupConfig>,
    pub instruments: Vec<InstrumentConfig>,
    pub report: ReportConfig,
    pub retention: RetentionConfig,
    pub benchmark: BenchmarkConfig,
    pub longitudinal: LongitudinalConfig,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct InputConfig {
    pub episodes: String,
    pub assessments: String,
    pub attendance: String,
    /// chrono strftime format of every date column; empty = strict `YYYY-MM-DD`.
    pub date_format: String,
    /// Tokens read as missing (after trimming), besides the empty string (SPEC §10 V2).
    pub missing_values: Vec<String>,
    /// Largest share of any file's rows that may be quarantined before the run is a data
    /// error (SPEC §16 O2).
    pub max_quarantined_share: f64,
    /// Whether the config file names episodes, assessments and attendance (set by
    /// [`Config::load`]): a file it does not name may be read as `<name>.parquet` instead
    /// (SPEC §15 F3).
    #[serde(skip)]
    pub named: [bool; 3],
}

impl InputConfig {
    /// The names of episodes, assessments and attendance, in that order.
    pub fn names(&self) -> [&str; 3] {
        [&self.episodes, &self.assessments, &self.attendance]
    }
}

impl Default for InputConfig {
    fn default() -> Self {
        InputConfig {
            episodes: "episodes.csv".into(),
            assessments: "assessments.csv".into(),
            attendance: "attendance.csv".into(),
            date_format: String::new(),
            missing_values: Vec::new(),
            max_quarantined_share: 0.10,
            named: [false; 3],
        }
    }
}

/// Raw header names of the canonical columns, per file: `canonical = "Raw Name"`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ColumnsConfig {
    pub episodes: BTreeMap<String, String>,
    pub assessments: BTreeMap<String, String>,
    pub attendance: BTreeMap<String, String>,
}

/// Raw label → canonical label, per labelled field; `closed` names the fields whose labels
/// form a closed set (any label neither mapped nor canonical is quarantined as
/// `unknown_label`, and `validate` lists it).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct LabelsConfig {
    pub track: BTreeMap<String, String>,
    pub modality: BTreeMap<String, String>,
    pub site: BTreeMap<String, String>,
    pub delivery: BTreeMap<String, String>,
    pub discharge_reason: BTreeMap<String, String>,
    pub age_group: BTreeMap<String, String>,
    pub sex: BTreeMap<String, String>,
    pub race_ethnicity: BTreeMap<String, String>,
    pub instrument: BTreeMap<String, String>,
    pub service: BTreeMap<String, String>,
    pub closed: Vec<String>,
}

impl LabelsConfig {
    /// Every labelled field with its map, in a fixed order.
    pub fn fields(&self) -> [(&'static str, &BTreeMap<String, String>); 10] {
        [
            ("track", &self.track),
            ("modality", &self.modality),
            ("site", &self.site),
            ("delivery", &self.delivery),
            ("discharge_reason", &self.discharge_reason),
            ("age_group", &self.age_group),
            ("sex", &self.sex),
            ("race_ethnicity", &self.race_ethnicity),
            ("instrument", &self.instrument),
            ("service", &self.service),
        ]
    }

    /// The map of a labelled field (`None` for a field without labels).
    pub fn get(&self, field: &str) -> Option<&BTreeMap<String, String>> {
        self.fields()
            .into_iter()
            .find(|(f, _)| *f == field)
            .map(|(_, m)| m)
    }

    /// Whether the config declares the field's labels closed.
    pub fn is_closed(&self, field: &str) -> bool {
        self.closed.iter().any(|c| c == field)
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct PhiConfig {
    /// Extra columns (raw header names) known to be safe, exempt from the PHI guard.
    pub allow_columns: Vec<String>,
}

/// The baseline window (days relative to admission, inclusive).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct PairingConfig {
    pub baseline_window: [i32; 2],
}

impl Default for PairingConfig {
    fn default() -> Self {
        PairingConfig {
            baseline_window: [-14, 14],
        }
    }
}

/// A follow-up point (SPEC §5).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FollowupConfig {
    /// `discharge` or `admit`.
    pub anchor: Anchor,
    /// Days after admission (anchor `admit` only).
    #[serde(default)]
    pub target_days: Option<i32>,
    #[serde(default = "default_window")]
    pub window: [i32; 2],
    #[serde(default = "default_min_gap")]
    pub min_gap_days: i32,
}

fn default_window() -> [i32; 2] {
    [-14, 14]
}

fn default_min_gap() -> i32 {
    7
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Anchor {
    Discharge,
    Admit,
}

/// An instrument override (fields given replace the built-in ones) or a new instrument.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct InstrumentConfig {
    pub id: String,
    pub name: Option<String>,
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub direction: Option<Direction>,
    pub kind: Option<ScoreKind>,
    pub source: Option<String>,
    pub caseness: Option<f64>,
    pub caseness_source: Option<String>,
    /// Reliable-change threshold in points …
    pub reliable_change: Option<f64>,
    /// … or computed from a reference SD and reliability.
    pub reliable_change_sd: Option<f64>,
    pub reliable_change_reliability: Option<f64>,
    pub reliable_change_source: Option<String>,
    pub remission_below: Option<f64>,
    pub remission_source: Option<String>,
    pub response_fraction: Option<f64>,
    pub response_source: Option<String>,
}

impl InstrumentConfig {
    /// The numeric fields by key, for the finiteness check.
    fn numbers(&self) -> [(&'static str, Option<f64>); 8] {
        [
            ("min", self.min),
            ("max", self.max),
            ("caseness", self.caseness),
            ("reliable_change", self.reliable_change),
            ("reliable_change_sd", self.reliable_change_sd),
            (
                "reliable_change_reliability",
                self.reliable_change_reliability,
            ),
            ("remission_below", self.remission_below),
            ("response_fraction", self.response_fraction),
        ]
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ReportConfig {
    /// Episode columns that define a cell (SPEC §6).
    pub group_by: Vec<String>,
    /// Counts from 1 to suppress_below − 1 are blanked (SPEC §7).
    pub suppress_below: u64,
    /// Weekly hours that meet the IOP dose.
    pub dose_hours: f64,
}

impl Default for ReportConfig {
    fn default() -> Self {
        ReportConfig {
            group_by: vec!["track".into(), "modality".into()],
            suppress_below: 11,
            dose_hours: 9.0,
        }
    }
}

/// `[benchmark]`: how benchmark.csv compares units (SPEC §14).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct BenchmarkConfig {
    /// The episode column whose values are the units compared (an empty value is a unit of
    /// its own).
    pub by: String,
}

impl Default for BenchmarkConfig {
    fn default() -> Self {
        BenchmarkConfig { by: "site".into() }
    }
}

/// Largest magnitude of an instrument's score range. Sums and squares of scores, and chart
/// axes over the range, then stay far from overflow (a range near ±1.8e308 made the change
/// infinite, the t-test panic and a chart axis loop forever).
pub const MAX_SCORE: f64 = 1e9;

/// Largest magnitude of a day offset in the config (windows, target_days, min_gap_days): 100
/// years. A date plus an offset then stays far inside the range of a day number (`i32`); an
/// offset near `i32::MAX` overflowed it.
pub const MAX_OFFSET_DAYS: i32 = 36_525;

/// The retention analysis (SPEC §13).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct RetentionConfig {
    /// Discharge reasons (canonical labels, after `[labels.discharge_reason]`) counted as
    /// dropout; checked before `completed`.
    pub dropout_reasons: Vec<String>,
}

impl Default for RetentionConfig {
    fn default() -> Self {
        RetentionConfig {
            dropout_reasons: vec!["left_early".into()],
        }
    }
}

/// The linear mixed model over every assessment (SPEC §12).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct LongitudinalConfig {
    /// Assessments up to this many days after admission enter the model (SPEC L1).
    pub max_days: f64,
    /// The horizon of `change_at_horizon`, in weeks (SPEC L3).
    pub horizon_weeks: f64,
}

impl Default for LongitudinalConfig {
    fn default() -> Self {
        LongitudinalConfig {
            max_days: 120.0,
            horizon_weeks: 8.0,
        }
    }
}

impl Config {
    /// Reads and checks a config file.
    ///
    /// # Errors
    /// [`Error::Config`] naming the file and the key or value at fault.
    pub fn load(path: &Path) -> Result<Config> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::Config {
            path: path.to_path_buf(),
            message: format!("cannot read: {e}"),
        })?;
        let mut cfg: Config = toml::from_str(&text).map_err(|e| Error::Config {
            path: path.to_path_buf(),
            message: e.to_string().trim_end().to_string(),
        })?;
        if let Ok(raw) = text.parse::<toml::Table>() {
            let input = raw.get("input").and_then(toml::Value::as_table);
            for (named, key) in
                cfg.input
                    .named
                    .iter_mut()
                    .zip(["episodes", "assessments", "attendance"])
            {
                *named = input.is_some_and(|t| t.contains_key(key));
            }
        }
        cfg.check().map_err(|message| Error::Config {
            path: path.to_path_buf(),
            message,
        })?;
        Ok(cfg)
    }

    /// Loads the config (the defaults when `path` is `None`) and its instrument catalog.
    ///
    /// # Errors
    /// [`Error::Config`] naming the file and key.
    pub fn load_with_catalog(path: Option<&Path>) -> Result<(Config, Catalog)> {
        let cfg = Config::load_or_default(path)?;
        let catalog = cfg.catalog().map_err(|message| Error::Config {
            path: path.map(Path::to_path_buf).unwrap_or_default(),
            message,
        })?;
        Ok((cfg, catalog))
    }

    /// Loads `path` if given, else the defaults.
    pub fn load_or_default(path: Option<&Path>) -> Result<Config> {
        match path {
            Some(p) => Config::load(p),
            None => Ok(Config::default()),
        }
    }

    fn check(&self) -> std::result::Result<(), String> {
        let known: [(&str, &BTreeMap<String, String>, &[&str]); 3] = [
            (
                "columns.episodes",
                &self.columns.episodes,
                schema::EPISODE_COLUMNS,
            ),
            (
                "columns.assessments",
                &self.columns.assessments,
                schema::ASSESSMENT_COLUMNS,
            ),
            (
                "columns.attendance",
                &self.columns.attendance,
                schema::ATTENDANCE_COLUMNS,
            ),
        ];
        for (section, map, cols) in known {
            for key in map.keys() {
                if !cols.contains(&key.as_str()) {
                    return Err(format!(
                        "[{section}] key `{key}` is not a column of the input contract (expected one of: {})",
                        cols.join(", ")
                    ));
                }
            }
        }
        if !self.input.date_format.is_empty() {
            let probe = chrono::NaiveDate::from_ymd_opt(2024, 12, 31).expect("valid date");
            let shown = probe.format(&self.input.date_format);
            let mut s = String::new();
            if std::fmt::Write::write_fmt(&mut s, format_args!("{shown}")).is_err()
                || chrono::NaiveDate::parse_from_str(&s, &self.input.date_format).ok()
                    != Some(probe)
            {
                return Err(format!(
                    "[input] date_format `{}` is not a chrono format that round-trips a date",
                    self.input.date_format
                ));
            }
        }
        let share = self.input.max_quarantined_share;
        if !(0.0..=1.0).contains(&share) {
            return Err(format!(
                "[input] max_quarantined_share must be a fraction from 0 to 1, not {share}"
            ));
        }
        if self
            .input
            .missing_values
            .iter()
            .any(|t| t.trim().is_empty())
        {
            return Err(
                "[input] missing_values: an empty token is always missing; list only other tokens"
                    .into(),
            );
        }
        for c in &self.labels.closed {
            if c == "instrument" {
                return Err("[labels] closed: instrument ids are always a closed set (the catalog); leave `instrument` out".into());
            }
            if self.labels.get(c).is_none() {
                return Err(format!(
                    "[labels] closed: `{c}` is not a labelled field (expected any of: {})",
                    self.labels.fields().map(|(f, _)| f).join(", ")
                ));
            }
        }
        for (field, map) in self.labels.fields() {
            for (raw, canon) in map {
                if canon.trim().is_empty() {
                    return Err(format!("[labels.{field}] `{raw}` maps to an empty label"));
                }
                if field != "instrument"
                    && field != "service"
                    && canon.trim().eq_ignore_ascii_case(crate::table::MARGIN)
                {
                    return Err(format!(
                        "[labels.{field}] `{raw}` maps to `{}`, the margin label of every table; choose another label",
                        canon.trim()
                    ));
                }
            }
        }
        let [b0, b1] = self.pairing.baseline_window;
        if b0 > b1 {
            return Err("[pairing] baseline_window must be [from, to] with from <= to".into());
        }
        let within = |w: [i32; 2]| {
            w.iter()
                .all(|d| (-MAX_OFFSET_DAYS..=MAX_OFFSET_DAYS).contains(d))
        };
        if !within(self.pairing.baseline_window) {
            return Err(format!(
                "[pairing] baseline_window must lie within -{MAX_OFFSET_DAYS} to {MAX_OFFSET_DAYS} days"
            ));
        }
        for (name, f) in &self.followup {
            if f.window[0] > f.window[1] {
                return Err(format!(
                    "[followup.{name}] window must be [from, to] with from <= to"
                ));
            }
            if !within(f.window) {
                return Err(format!(
                    "[followup.{name}] window must lie within -{MAX_OFFSET_DAYS} to {MAX_OFFSET_DAYS} days"
                ));
            }
            match (f.anchor, f.target_days) {
                (Anchor::Admit, None) => {
                    return Err(format!(
                        "[followup.{name}] anchor = \"admit\" needs target_days"
                    ))
                }
                (Anchor::Discharge, Some(_)) => {
                    return Err(format!(
                        "[followup.{name}] target_days applies only to anchor = \"admit\""
                    ))
                }
                _ => {}
            }
            if f.target_days.is_some_and(|t| t < 0) {
                return Err(format!("[followup.{name}] target_days must be >= 0"));
            }
            if f.min_gap_days < 0 {
                return Err(format!("[followup.{name}] min_gap_days must be >= 0"));
            }
            for (key, v) in [
                ("target_days", f.target_days),
                ("min_gap_days", Some(f.min_gap_days)),
            ] {
                if v.is_some_and(|v| v > MAX_OFFSET_DAYS) {
                    return Err(format!(
                        "[followup.{name}] {key} must be at most {MAX_OFFSET_DAYS} days"
                    ));
                }
            }
        }
        for g in &self.report.group_by {
            if !schema::GROUPABLE.contains(&g.as_str()) {
                return Err(format!(
                    "[report] group_by: `{g}` is not an episode column (expected any of: {})",
                    schema::GROUPABLE.join(", ")
                ));
            }
        }
        let mut seen = self.report.group_by.clone();
        seen.sort();
        seen.dedup();
        if seen.len() != self.report.group_by.len() {
            return Err("[report] group_by names a column twice".into());
        }
        if self.report.group_by.is_empty() {
            return Err("[report] group_by needs at least one column".into());
        }
        if !schema::GROUPABLE.contains(&self.benchmark.by.as_str()) {
            return Err(format!(
                "[benchmark] by: `{}` is not a groupable episode column (expected one of: {})",
                self.benchmark.by,
                schema::GROUPABLE.join(", ")
            ));
        }
        if self.report.suppress_below == 0 {
            return Err("[report] suppress_below must be >= 1 (1 suppresses nothing)".into());
        }
        let dose = self.report.dose_hours;
        if !(dose.is_finite() && dose > 0.0 && dose <= 168.0) {
            return Err(format!(
                "[report] dose_hours must be a number of hours a week above 0 and at most 168, not {dose}"
            ));
        }
        if self.retention.dropout_reasons.is_empty() {
            return Err(
                "[retention] dropout_reasons must name at least one discharge reason".into(),
            );
        }
        if self
            .retention
            .dropout_reasons
            .iter()
            .any(|r| r.trim().is_empty() || r.trim() != r)
        {
            return Err("[retention] dropout_reasons: every reason must be a non-empty label without surrounding spaces".into());
        }
        for (key, v) in [
            ("max_days", self.longitudinal.max_days),
            ("horizon_weeks", self.longitudinal.horizon_weeks),
        ] {
            if !(v.is_finite() && v > 0.0) {
                return Err(format!(
                    "[longitudinal] {key} must be a finite number above 0, not {v}"
                ));
            }
        }
        self.catalog().map(|_| ())
    }

    /// The follow-up points: the built-in `discharge` plus the config's.
    pub fn followups(&self) -> BTreeMap<String, FollowupConfig> {
        let mut m = BTreeMap::new();
        m.insert(
            "discharge".to_string(),
            FollowupConfig {
                anchor: Anchor::Discharge,
                target_days: None,
                window: default_window(),
                min_gap_days: default_min_gap(),
            },
        );
        for (k, v) in &self.followup {
            m.insert(k.clone(), v.clone());
        }
        m
    }

    /// The instrument catalog with this config's overrides and additions applied.
    ///
    /// # Errors
    /// A message naming the `[[instruments]]` entry that is incomplete or inconsistent.
    pub fn catalog(&self) -> std::result::Result<Catalog, String> {
        let mut catalog = Catalog::builtin();
        for (n, ic) in self.instruments.iter().enumerate() {
            let here = format!("[[instruments]] entry {} (id `{}`)", n + 1, ic.id);
            if ic.id.trim().is_empty() {
                return Err(format!("[[instruments]] entry {} has no id", n + 1));
            }
            // The id names chart files (charts/forest_<ID>.svg): no path separators or dots.
            let id = ic.id.trim();
            if id.len() > 64
                || !id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
            {
                return Err(format!(
                    "{here}: the id must be at most 64 ASCII letters, digits, `_` or `-` (it names chart files)"
                ));
            }
            if let Some(k) = self.instruments[..n]
                .iter()
                .position(|o| o.id.trim().eq_ignore_ascii_case(ic.id.trim()))
            {
                return Err(format!(
                    "{here}: the id is also given by entry {} (ids match case-insensitively); merge the two entries",
                    k + 1
                ));
            }
            for (key, v) in ic.numbers() {
                if v.is_some_and(|v| !v.is_finite()) {
                    return Err(format!("{here}: {key} must be a finite number"));
                }
            }
            let mut inst = match catalog.get(&ic.id) {
                Some(i) => i.clone(),
                None => Instrument::new(
                    &ic.id,
                    ic.name.as_deref().unwrap_or(&ic.id),
                    ic.min
                        .ok_or_else(|| format!("{here}: a new instrument needs min"))?,
                    ic.max
                        .ok_or_else(|| format!("{here}: a new instrument needs max"))?,
                    ic.direction
                        .ok_or_else(|| format!("{here}: a new instrument needs direction"))?,
                    ic.kind.unwrap_or(ScoreKind::Symptom),
                    ic.source.as_deref().unwrap_or("defined in the config"),
                ),
            };
            let cfg_src =
                |s: &Option<String>| Some(s.clone().unwrap_or_else(|| "set in the config".into()));
            macro_rules! set {
                ($field:ident) => {
                    if let Some(v) = &ic.$field {
                        inst.$field = v.clone();
                    }
                };
            }
            set!(name);
            set!(min);
            set!(max);
            set!(direction);
            set!(kind);
            set!(source);
            if let Some(c) = ic.caseness {
                inst.caseness = Some(c);
                inst.caseness_source = cfg_src(&ic.caseness_source);
            }
            match (ic.reliable_change, ic.reliable_change_sd, ic.reliable_change_reliability) {
                (Some(p), None, None) => {
                    inst.reliable_change = Some(ReliableChange::Points(p));
                    inst.reliable_change_source = cfg_src(&ic.reliable_change_source);
                }
                (None, Some(sd), Some(r)) => {
                    if !(0.0..1.0).contains(&r) || sd <= 0.0 {
                        return Err(format!(
                            "{here}: reliable_change_sd must be > 0 and reliable_change_reliability in [0, 1)"
                        ));
                    }
                    inst.reliable_change = Some(ReliableChange::Computed { sd, reliability: r });
                    inst.reliable_change_source = cfg_src(&ic.reliable_change_source);
                }
                (None, None, None) => {}
                _ => {
                    return Err(format!(
                        "{here}: give reliable_change in points, or both reliable_change_sd and reliable_change_reliability"
                    ))
                }
            }
            if let Some(r) = ic.remission_below {
                inst.remission_below = Some(r);
                inst.remission_source = cfg_src(&ic.remission_source);
            }
            if let Some(r) = ic.response_fraction {
                if !(0.0..=1.0).contains(&r) {
                    return Err(format!("{here}: response_fraction must be in [0, 1]"));
                }
                inst.response_fraction = Some(r);
                inst.response_source = cfg_src(&ic.response_source);
            }
            if inst.min.partial_cmp(&inst.max) != Some(std::cmp::Ordering::Less) {
                return Err(format!("{here}: min must be below max"));
            }
            if inst.min < -MAX_SCORE || inst.max > MAX_SCORE {
                return Err(format!(
                    "{here}: min and max must lie within -{MAX_SCORE} to {MAX_SCORE}"
                ));
            }
            if inst.reliable_change.is_some() && !inst.rci_threshold().is_some_and(|t| t > 0.0) {
                return Err(format!(
                    "{here}: the reliable-change threshold must be above 0"
                ));
            }
            for (key, v) in [
                ("caseness", inst.caseness),
                ("remission_below", inst.remission_below),
            ] {
                if v.is_some_and(|v| v < inst.min || v > inst.max) {
                    return Err(format!(
                        "{here}: {key} must lie within the score range {} to {}",
                        inst.min, inst.max
                    ));
                }
            }
            catalog.insert(inst);
        }
        Ok(catalog)
    }
}
