//! The instrument catalog (SPEC §4): every number with the source it comes from.
//!
//! The built-in entries below are the defaults; the config may override any field of an
//! entry or add instruments. Where the literature gives no accepted value (a caseness cutoff
//! for the DERS, a reliable-change index for the AUDIT-C, …) the field is empty rather than
//! invented, and the statistics that need it are left empty in the outputs (SPEC §10 S5–S6).
//! This module does no I/O.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Which way is better on an instrument's scale.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Symptom scales: a fall is an improvement.
    HigherIsWorse,
    /// Well-being or functioning scales: a rise is an improvement.
    HigherIsBetter,
}

/// What an instrument's score counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScoreKind {
    /// A symptom or severity total.
    Symptom,
    /// Days of use in the past 30 days (abstinence = 0 days; SPEC §6).
    DaysOfUse,
}

/// The reliable-change threshold (Jacobson & Truax 1991), in points or from its parts.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReliableChange {
    /// A published threshold in scale points.
    Points(f64),
    /// 1.96·√2·SD·√(1−r) from a reference SD and reliability r.
    Computed { sd: f64, reliability: f64 },
}

impl ReliableChange {
    /// The threshold in scale points.
    pub fn points(&self) -> f64 {
        match *self {
            ReliableChange::Points(p) => p,
            ReliableChange::Computed { sd, reliability } => {
                1.96 * std::f64::consts::SQRT_2 * sd * (1.0 - reliability).sqrt()
            }
        }
    }
}

/// One instrument of the catalog. Thresholds are optional; each has its source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Instrument {
    /// Upper-case id matched case-insensitively against the `instrument` column.
    pub id: String,
    pub name: String,
    pub min: f64,
    pub max: f64,
    pub direction: Direction,
    pub kind: ScoreKind,
    /// Source of the name, range and scoring.
    pub source: String,
    /// Case at baseline: at or past this value in the worse direction (SPEC §10 S6).
    pub caseness: Option<f64>,
    pub caseness_source: Option<String>,
    pub reliable_change: Option<ReliableChange>,
    pub reliable_change_source: Option<String>,
    /// Remission: follow-up strictly below this value.
    pub remission_below: Option<f64>,
    pub remission_source: Option<String>,
    /// Response: improvement of at least this fraction of the baseline score (0.5 = 50%).
    pub response_fraction: Option<f64>,
    pub response_source: Option<String>,
}

impl Instrument {
    /// An instrument without thresholds; each can then be set with its source.
    pub fn new(
        id: &str,
        name: &str,
        min: f64,
        max: f64,
        direction: Direction,
        kind: ScoreKind,
        source: &str,
    ) -> Instrument {
        Instrument {
            id: normalize_id(id),
            name: name.to_string(),
            min,
            max,
            direction,
            kind,
            source: source.to_string(),
            caseness: None,
            caseness_source: None,
            reliable_change: None,
            reliable_change_source: None,
            remission_below: None,
            remission_source: None,
            response_fraction: None,
            response_source: None,
        }
    }

    /// Whether `score` lies in the instrument's range (inclusive; SPEC §10 V5).
    pub fn in_range(&self, score: f64) -> bool {
        score >= self.min && score <= self.max
    }

    /// The unit of a score: "days" for days-of-use instruments, else "points".
    pub fn unit(&self) -> &'static str {
        match self.kind {
            ScoreKind::DaysOfUse => "days",
            ScoreKind::Symptom => "points",
        }
    }

    /// Whether a rise in score is an improvement.
    pub fn higher_is_better(&self) -> bool {
        self.direction == Direction::HigherIsBetter
    }

    /// The reliable-change threshold in points, if the instrument has one.
    pub fn rci_threshold(&self) -> Option<f64> {
        self.reliable_change.map(|rc| rc.points())
    }
}

/// The catalog: instruments by upper-case id, in byte order.
#[derive(Debug, Clone, PartialEq)]
pub struct Catalog {
    by_id: BTreeMap<String, Instrument>,
}

/// Normalises an instrument label for look-up (SPEC §10 V5: trimmed, upper-cased).
pub fn normalize_id(raw: &str) -> String {
    raw.trim().to_ascii_uppercase()
}

impl Catalog {
    /// The built-in catalog.
    pub fn builtin() -> Self {
        let mut by_id = BTreeMap::new();
        for i in builtin_entries() {
            by_id.insert(i.id.clone(), i);
        }
        Catalog { by_id }
    }

    /// Looks up an instrument by a raw label (trimmed and upper-cased first).
    pub fn get(&self, raw: &str) -> Option<&Instrument> {
        let key = raw.trim();
        if key.bytes().any(|b| b.is_ascii_lowercase()) {
            self.by_id.get(&key.to_ascii_uppercase())
        } else {
            self.by_id.get(key)
        }
    }

    /// Adds an instrument or replaces the one with the same id.
    pub fn insert(&mut self, mut instrument: Instrument) {
        instrument.id = normalize_id(&instrument.id);
        self.by_id.insert(instrument.id.clone(), instrument);
    }

    /// Instruments in id byte order.
    pub fn iter(&self) -> impl Iterator<Item = &Instrument> {
        self.by_id.values()
    }

    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }
}

fn s(text: &str) -> Option<String> {
    Some(text.to_string())
}

/// The built-in entries, each number with its source.
fn builtin_entries() -> Vec<Instrument> {
    use Direction::HigherIsWorse;
    const KROENKE_2001: &str = "Kroenke K, Spitzer RL, Williams JBW (2001). The PHQ-9: validity of a brief depression severity measure. J Gen Intern Med 16(9):606-613";
    const NHS_TT_2024: &str = "National Collaborating Centre for Mental Health (2024). NHS Talking Therapies for anxiety and depression Manual, v7: caseness and reliable-change criteria";
    vec![
        Instrument {
            caseness: Some(10.0),
            caseness_source: s(NHS_TT_2024),
            reliable_change: Some(ReliableChange::Points(6.0)),
            reliable_change_source: s(NHS_TT_2024),
            remission_below: Some(5.0),
            remission_source: s("NQF #0710 / HEDIS DMS-E: Depression Remission (PHQ-9 < 5)"),
            response_fraction: Some(0.5),
            response_source: s("NQF #1884 / HEDIS DMS-E: Depression Response (PHQ-9 reduced by >= 50%)"),
            ..Instrument::new("PHQ9", "Patient Health Questionnaire-9 (depression)", 0.0, 27.0, HigherIsWorse, ScoreKind::Symptom, KROENKE_2001)
        },
        Instrument {
            caseness: Some(8.0),
            caseness_source: s(NHS_TT_2024),
            reliable_change: Some(ReliableChange::Points(4.0)),
            reliable_change_source: s(NHS_TT_2024),
            remission_below: Some(5.0),
            remission_source: s("Spitzer et al. (2006): scores 0-4 denote minimal anxiety"),
            ..Instrument::new("GAD7", "Generalized Anxiety Disorder-7", 0.0, 21.0, HigherIsWorse, ScoreKind::Symptom, "Spitzer RL, Kroenke K, Williams JBW, Loewe B (2006). A brief measure for assessing generalized anxiety disorder: the GAD-7. Arch Intern Med 166(10):1092-1097")
        },
        Instrument {
            caseness: Some(33.0),
            caseness_source: s("Bovin MJ et al. (2016). Psychometric properties of the PCL-5 in veterans. Psychol Assess 28(11):1379-1391 (cut-point 31-33; the upper value)"),
            reliable_change: Some(ReliableChange::Points(10.0)),
            reliable_change_source: s("US Department of Veterans Affairs, National Center for PTSD. Using the PCL-5: a 5-10 point change is reliable (the conservative upper value)"),
            ..Instrument::new("PCL5", "PTSD Checklist for DSM-5", 0.0, 80.0, HigherIsWorse, ScoreKind::Symptom, "Blevins CA, Weathers FW, Davis MT, Witte TK, Domino JL (2015). The PTSD Checklist for DSM-5 (PCL-5). J Trauma Stress 28(6):489-498")
        },
        Instrument {
            caseness: Some(4.0),
            caseness_source: s("Bradley KA et al. (2007). AUDIT-C as a brief screen for alcohol misuse in primary care. Alcohol Clin Exp Res 31(7):1208-1217 (>= 4; >= 3 for women)"),
            ..Instrument::new("AUDITC", "AUDIT-C (alcohol consumption)", 0.0, 12.0, HigherIsWorse, ScoreKind::Symptom, "Bush K, Kivlahan DR, McDonell MB, Fihn SD, Bradley KA (1998). The AUDIT alcohol consumption questions (AUDIT-C). Arch Intern Med 158(16):1789-1795")
        },
        Instrument {
            caseness: Some(3.0),
            caseness_source: s("Yudko E, Lozhkina O, Fouts A (2007). A comprehensive review of the psychometric properties of the DAST. J Subst Abuse Treat 32(2):189-198 (3-5 = moderate)"),
            ..Instrument::new("DAST10", "Drug Abuse Screening Test-10", 0.0, 10.0, HigherIsWorse, ScoreKind::Symptom, "Skinner HA (1982). The Drug Abuse Screening Test. Addict Behav 7(4):363-371")
        },
        Instrument::new("BAM_USE", "Brief Addiction Monitor, Use score (items 4+5+6, days)", 0.0, 90.0, HigherIsWorse, ScoreKind::Symptom, "Cacciola JS et al. (2013). Development and initial evaluation of the Brief Addiction Monitor (BAM). J Subst Abuse Treat 44(3):256-263 (continuous-item version: Use = sum of items 4, 5, 6, each 0-30 days)"),
        Instrument::new("DAYS_USED", "Days of any alcohol or drug use in the past 30 days", 0.0, 30.0, HigherIsWorse, ScoreKind::DaysOfUse, "SAMHSA Center for Substance Abuse Treatment GPRA Client Outcome Measures for Discretionary Programs (past-30-day use); TEDS frequency of use"),
        Instrument {
            caseness: Some(4.0),
            caseness_source: s("Carter JC, Stewart DA, Fairburn CG (2001). Eating Disorder Examination Questionnaire: norms for young adolescent girls. Behav Res Ther 39(5):625-632 (global >= 4 as clinical significance)"),
            ..Instrument::new("EDEQ", "Eating Disorder Examination Questionnaire 6.0, global score", 0.0, 6.0, HigherIsWorse, ScoreKind::Symptom, "Fairburn CG, Beglin SJ (2008). Eating Disorder Examination Questionnaire (EDE-Q 6.0). In: Fairburn CG, Cognitive Behavior Therapy and Eating Disorders. Guilford Press")
        },
        Instrument::new("DERS", "Difficulties in Emotion Regulation Scale (36 items)", 36.0, 180.0, HigherIsWorse, ScoreKind::Symptom, "Gratz KL, Roemer L (2004). Multidimensional assessment of emotion regulation and dysregulation. J Psychopathol Behav Assess 26(1):41-54"),
        Instrument {
            caseness: Some(14.0),
            caseness_source: s("Beck, Steer & Brown (1996): 0-13 minimal; >= 14 mild or worse"),
            remission_below: Some(14.0),
            remission_source: s("Beck, Steer & Brown (1996): below 14 is the minimal range"),
            response_fraction: Some(0.5),
            response_source: s("Conventional >= 50% reduction from baseline (e.g. Riedel M et al. (2010). Response and remission criteria in major depression. Psychiatry Res 179(3):348-354)"),
            ..Instrument::new("BDI2", "Beck Depression Inventory-II", 0.0, 63.0, HigherIsWorse, ScoreKind::Symptom, "Beck AT, Steer RA, Brown GK (1996). Manual for the Beck Depression Inventory-II. Psychological Corporation")
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_ids_present_and_case_insensitive() {
        let c = Catalog::builtin();
        for id in [
            "PHQ9",
            "GAD7",
            "PCL5",
            "AUDITC",
            "DAST10",
            "BAM_USE",
            "DAYS_USED",
            "EDEQ",
            "DERS",
            "BDI2",
        ] {
            assert!(c.get(id).is_some(), "{id} missing");
            assert!(c.get(&format!(" {} ", id.to_lowercase())).is_some());
        }
        assert!(c.get("PHQ10").is_none());
    }

    #[test]
    fn computed_reliable_change() {
        // 1.96 * sqrt(2) * 10 * sqrt(1 - 0.84) in R: 11.08743
        let rc = ReliableChange::Computed {
            sd: 10.0,
            reliability: 0.84,
        };
        assert!((rc.points() - 11.087434329005).abs() < 1e-9);
    }

    #[test]
    fn every_threshold_has_a_source() {
        for i in Catalog::builtin().iter() {
            assert_eq!(
                i.caseness.is_some(),
                i.caseness_source.is_some(),
                "{}",
                i.id
            );
            assert_eq!(
                i.reliable_change.is_some(),
                i.reliable_change_source.is_some(),
                "{}",
                i.id
            );
            assert_eq!(
                i.remission_below.is_some(),
                i.remission_source.is_some(),
                "{}",
                i.id
            );
            assert_eq!(
                i.response_fraction.is_some(),
                i.response_source.is_some(),
                "{}",
                i.id
            );
            assert!(i.min < i.max);
        }
    }
}
