//! Every table of a run, computed from the paired cohort: the tables are independent of one
//! another, so they are computed concurrently (each one's own work is parallel too), and
//! listed for publishing in the order of the files and the page.

use super::cells::{self, RunKeys};
use super::{abstinence, ancova, attrition, engagement, longitudinal, outcomes, trend};
use crate::cohort::Cohort;
use crate::diag::timed;
use crate::ingest::Export;
use crate::instruments::Catalog;
use crate::table::Published;

/// What the tables depend on besides the data.
pub struct Settings<'a> {
    pub catalog: &'a Catalog,
    /// The grouping columns of the cells.
    pub groups: &'a [String],
    /// `Some(below)`: small-cell suppression on (SPEC §7).
    pub suppress_below: Option<u64>,
    /// Weekly hours that meet the IOP dose.
    pub dose_hours: f64,
    /// The mixed model's window and horizon (SPEC §12).
    pub longitudinal: crate::config::LongitudinalConfig,
}

/// The typed rows of every table.
#[derive(Debug, Clone, Default)]
pub struct Tables {
    pub outcomes: Vec<outcomes::OutcomeRow>,
    pub abstinence: Vec<abstinence::AbstinenceRow>,
    pub ancova: Vec<ancova::AncovaRow>,
    pub attrition: Vec<attrition::AttritionRow>,
    pub engagement: Vec<engagement::EngagementRow>,
    pub trend: Vec<trend::TrendRow>,
    /// The eight quarters of the trend.
    pub quarters: Vec<String>,
    /// Weekly hours per value of the first grouping column (`None`: no attendance.csv).
    pub hours: Option<Vec<engagement::HoursSummary>>,
    /// longitudinal.csv's rows and the page's dropout comparison and trajectories.
    pub longitudinal: longitudinal::Longitudinal,
}

impl Tables {
    /// Computes every table.
    pub fn compute(export: &Export, cohort: &Cohort, s: &Settings) -> Tables {
        let (eps, pairs, selected) = (&export.episodes, &cohort.pairs, &cohort.selected);
        let ids = &export.assessments.instruments;
        let below = s.suppress_below;
        let mut t = Tables {
            quarters: cohort.last.map(trend::quarter_labels).unwrap_or_default(),
            ..Tables::default()
        };
        let Tables {
            outcomes: out,
            abstinence: abst,
            ancova: anc,
            attrition: attr,
            engagement: eng,
            trend: tr,
            hours,
            longitudinal: long,
            ..
        } = &mut t;
        rayon::scope(|scope| {
            scope.spawn(|_| {
                timed("outcomes and abstinence", || {
                    let groups = cells::build(eps, pairs, selected, s.groups, ids);
                    *out = outcomes::rows(&groups, pairs, s.catalog, ids, below);
                    *abst = abstinence::rows(&groups, pairs, s.catalog, ids, below);
                })
            });
            scope.spawn(|_| {
                timed("ancova and attrition", || {
                    *anc = ancova::rows(eps, pairs, selected, ids, below);
                    *attr = attrition::rows(eps, pairs, selected, ids, below);
                })
            });
            scope.spawn(|_| {
                timed("engagement", || {
                    let dose = export
                        .attendance
                        .as_ref()
                        .map(|a| engagement::per_episode(a, eps.len()));
                    *eng = engagement::rows(
                        eps,
                        selected,
                        s.groups,
                        dose.as_ref(),
                        s.dose_hours,
                        below,
                    );
                    *hours = dose.as_ref().map(|(minutes, _)| {
                        engagement::hours_by_group(
                            eps,
                            selected,
                            &s.groups[0],
                            minutes,
                            s.dose_hours,
                            below,
                        )
                    });
                })
            });
            scope.spawn(|_| {
                timed("trend", || {
                    if let Some(last) = cohort.last {
                        *tr = trend::rows(eps, pairs, &cohort.anchors, last, s.catalog, ids, below);
                    }
                })
            });
            scope.spawn(|_| {
                timed("longitudinal", || {
                    *long = longitudinal::compute(
                        eps,
                        &export.assessments,
                        cohort,
                        &s.longitudinal,
                        below,
                    );
                })
            });
        });
        t
    }

    /// Every table with its description, in the order of the files and the page.
    pub fn published<'a>(
        &'a self,
        keys: &RunKeys,
        dose_hours: f64,
    ) -> Vec<Box<dyn Published + 'a>> {
        vec![
            Box::new((outcomes::spec(keys), self.outcomes.as_slice())),
            Box::new((abstinence::spec(keys), self.abstinence.as_slice())),
            Box::new((ancova::spec(keys), self.ancova.as_slice())),
            Box::new((attrition::spec(keys), self.attrition.as_slice())),
            Box::new((
                engagement::spec(keys, dose_hours),
                self.engagement.as_slice(),
            )),
            Box::new((trend::spec(keys), self.trend.as_slice())),
            Box::new((longitudinal::spec(keys), self.longitudinal.rows.as_slice())),
        ]
    }
}
