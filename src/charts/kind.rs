//! What a chart is to the rest of the report: the [`Chart`] trait every chart implements, and
//! the [`ChartKind`]s that group charts on the page.

use super::kit::DrawError;
use plotters::coord::Shift;
use plotters::prelude::*;

/// A chart that can draw itself on any plotters backend.
pub trait Chart: Sync {
    /// The kind of chart, which groups charts on the page.
    fn kind(&self) -> ChartKind;
    /// File stem under charts/.
    fn name(&self) -> String;
    fn title(&self) -> String;
    /// Width and height in pixels (the PNG's size; the SVG's viewport).
    fn size(&self) -> (u32, u32);
    /// Draws onto `area`; errors are reported as text.
    fn draw<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
    ) -> std::result::Result<(), DrawError>;
}

/// The kinds of chart, in the order the page shows them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ChartKind {
    Forest,
    Scatter,
    Categories,
    Abstinence,
    Trend,
    Hours,
    Retention,
    Funnel,
    Trajectory,
}

impl ChartKind {
    pub const ALL: [ChartKind; 9] = [
        ChartKind::Forest,
        ChartKind::Scatter,
        ChartKind::Categories,
        ChartKind::Abstinence,
        ChartKind::Trend,
        ChartKind::Hours,
        ChartKind::Retention,
        ChartKind::Funnel,
        ChartKind::Trajectory,
    ];

    pub fn id(self) -> &'static str {
        match self {
            ChartKind::Forest => "forest",
            ChartKind::Scatter => "scatter",
            ChartKind::Categories => "categories",
            ChartKind::Abstinence => "abstinence",
            ChartKind::Trend => "trend",
            ChartKind::Hours => "hours",
            ChartKind::Retention => "retention",
            ChartKind::Funnel => "funnel",
            ChartKind::Trajectory => "trajectory",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            ChartKind::Forest => "Mean change by track and modality",
            ChartKind::Scatter => "Baseline against follow-up (Jacobson-Truax)",
            ChartKind::Categories => "Reliable change by modality",
            ChartKind::Abstinence => "Abstinence before and after",
            ChartKind::Trend => "Quarterly trend",
            ChartKind::Hours => "Weekly hours attended",
            ChartKind::Retention => "Dropout over time by modality",
            ChartKind::Funnel => "Comparing sites (funnel plots)",
            ChartKind::Trajectory => "Trajectories under dropout (mixed model)",
        }
    }

    /// How to read the charts of this kind.
    pub fn explanation(self) -> &'static str {
        match self {
            ChartKind::Forest => "Mean change from baseline to follow-up with its 95% confidence interval, per instrument. Circles are single cells (track and modality), triangles margins (all modalities or all tracks). An interval that does not cross the zero line is a change unlikely to be chance.",
            ChartKind::Scatter => "Each paired episode's baseline (across) against its follow-up (up), counted in squares shaded by how many episodes they hold. On the diagonal nothing changed; the grey band holds changes smaller than the instrument's reliable-change threshold; the dashed lines are the caseness cutoff. Squares beyond the band on the improving side are reliable improvements; those also past the cutoff are reliable recoveries.",
            ChartKind::Categories => "Share of paired episodes reliably improved, unchanged and reliably deteriorated (Jacobson-Truax), per modality across all tracks, and overall.",
            ChartKind::Abstinence => "Share of paired episodes reporting no days of use at baseline and at follow-up, per group and overall.",
            ChartKind::Trend => "Mean change and share reliably improved per quarter of the follow-up anchor date, per track and for all tracks. A missing point is withheld (a small cell, or a value from which one could be worked out) or a quarter without paired episodes; the legend counts the withheld points. A last quarter marked partial is one the export ends inside: its figures cover only part of it.",
            ChartKind::Hours => "Weekly hours attended per discharged episode: the box spans the middle half (25th to 75th percentile), the whiskers the 10th to 90th percentile, the bar is the median. The dashed line is the IOP dose; the right column gives the share meeting it.",
            ChartKind::Retention => "Share of the episodes admitted in the period who have dropped out by each day since admission (cumulative incidence, Aalen-Johansen: completing or another discharge ends the risk of dropout, and episodes still in care count until the data end), per modality, per track and for all tracks. The heavier black line is all modalities; the dashed lines mark days 30, 60 and 90. A small group is not drawn (the legend says so); across days whose figures are suppressed the curve is dotted, from the last figure shown to the next.",
            ChartKind::Funnel => "Each unit's proportion (up) against its number of episodes (across). The solid horizontal line is the target, the proportion over all units; the curves are the 95% (dashed) and 99.8% (solid) control limits, which narrow as n grows because larger units vary less by chance. A unit outside the 99.8% limits is named: it differs from the target by more than chance would explain (before adjusting for case mix; see Comparing sites). A withheld unit (small-cell protection) is not drawn; the legend says how many are not shown.",
            ChartKind::Trajectory => "The mixed model's mean score per modality over the first weeks since admission, all tracks pooled (lines: intercept plus slope times weeks; the heavy black line is all modalities), with the observed mean score of each whole week (points, at the week's mean time). Every assessment counts, including those of episodes without a follow-up, so the lines are not the completers' figures. A week with fewer assessments than the reporting threshold has no point, and the legend counts those weeks.",
        }
    }
}
