//! Quarantine reasons of SPEC §10 V1, in the order the checks run.

use serde::Serialize;

/// Why a row was quarantined. The declaration order is the check order of SPEC §10 V1:
/// a row gets the first reason that applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// The record has more or fewer fields than the header (checked before V1's list).
    MalformedRow,
    MissingValue,
    BadDate,
    BadNumber,
    UnknownInstrument,
    /// A label outside a set the config declares closed (`[labels] closed`).
    UnknownLabel,
    ScoreOutOfRange,
    DischargeBeforeAdmit,
    BadMinutes,
    UnknownEpisode,
    Duplicate,
    ConflictingDuplicate,
}

impl Reason {
    /// Every reason, in check order.
    pub const ALL: [Reason; 12] = [
        Reason::MalformedRow,
        Reason::MissingValue,
        Reason::BadDate,
        Reason::BadNumber,
        Reason::UnknownInstrument,
        Reason::UnknownLabel,
        Reason::ScoreOutOfRange,
        Reason::DischargeBeforeAdmit,
        Reason::BadMinutes,
        Reason::UnknownEpisode,
        Reason::Duplicate,
        Reason::ConflictingDuplicate,
    ];

    /// The name written to quarantine.csv and the manifest.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::MalformedRow => "malformed_row",
            Reason::MissingValue => "missing_value",
            Reason::BadDate => "bad_date",
            Reason::BadNumber => "bad_number",
            Reason::UnknownInstrument => "unknown_instrument",
            Reason::UnknownLabel => "unknown_label",
            Reason::ScoreOutOfRange => "score_out_of_range",
            Reason::DischargeBeforeAdmit => "discharge_before_admit",
            Reason::BadMinutes => "bad_minutes",
            Reason::UnknownEpisode => "unknown_episode",
            Reason::Duplicate => "duplicate",
            Reason::ConflictingDuplicate => "conflicting_duplicate",
        }
    }

    /// Whether the check looks at the row alone (everything before the episode look-up).
    pub fn is_row_level(self) -> bool {
        self < Reason::UnknownEpisode
    }
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
