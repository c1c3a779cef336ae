//! ancova.csv (SPEC §6, §10 S9): per instrument × track with at least two modalities that have
//! a paired episode, `lm(followup ~ baseline + modality)` with the first modality in byte order
//! as reference: each modality's adjusted difference, SE, t, p and adjusted mean (prediction at
//! the fitted sample's mean baseline), and the sequential F test of modality after baseline.

use super::cells::RunKeys;
use crate::cohort::Pair;
use crate::ingest::Episodes;
use crate::stats::{self, lm};
use crate::table::spec::{count, flag, number, text};
use crate::table::{Column, Format, TableSpec};
use nalgebra::{DMatrix, DVector};
use rayon::prelude::*;
use rustc_hash::FxHashMap;

#[derive(Debug, Clone, PartialEq, Default)]
pub struct AncovaRow {
    pub instrument: String,
    pub track: String,
    pub modality: String,
    pub n: Option<u64>,
    pub estimate: Option<f64>,
    pub se: Option<f64>,
    pub t: Option<f64>,
    pub p: Option<f64>,
    pub adjusted_mean: Option<f64>,
    pub f_modality: Option<f64>,
    pub df1: Option<u64>,
    pub df2: Option<u64>,
    pub p_modality: Option<f64>,
    pub reference: String,
    pub note: String,
    pub suppressed: bool,
}

/// (modality, baseline, follow-up) of one paired episode.
pub type TrackPoint<S = String> = (S, f64, f64);

/// Fits one track's model: `data` holds (modality, baseline, follow-up).
pub fn fit_track<S: AsRef<str>>(
    instrument: &str,
    track: &str,
    data: &[TrackPoint<S>],
) -> Vec<AncovaRow> {
    let mut mods: Vec<&str> = data.iter().map(|d| d.0.as_ref()).collect();
    mods.sort_unstable();
    mods.dedup();
    if mods.len() < 2 {
        return Vec::new();
    }
    let n = data.len();
    let k = mods.len();
    let mut x = DMatrix::<f64>::zeros(n, 2 + k - 1);
    let mut y = DVector::<f64>::zeros(n);
    for (i, (m, b, f)) in data.iter().enumerate() {
        x[(i, 0)] = 1.0;
        x[(i, 1)] = *b;
        if let Some(j) = mods
            .iter()
            .position(|q| *q == m.as_ref())
            .filter(|&j| j > 0)
        {
            x[(i, 1 + j)] = 1.0;
        }
        y[i] = *f;
    }
    let full = lm::fit(&x, &y);
    let reduced = lm::fit(&x.columns(0, 2).into_owned(), &y);
    let f = lm::f_test(&reduced, &full);
    let baselines: Vec<f64> = data.iter().map(|d| d.1).collect();
    let mean_b = stats::mean(&baselines).expect("non-empty");
    let base_pred = full.coef[0].map(|c0| c0 + full.coef[1].unwrap_or(0.0) * mean_b);
    let mut general = Vec::new();
    if full.coef[1].is_none() {
        general.push("baseline aliased (no variation in baseline)".to_string());
    }
    if full.df_resid == 0 {
        general.push("no residual degrees of freedom: SE, t, p and F undefined".to_string());
    }
    mods.iter()
        .enumerate()
        .map(|(j, m)| {
            let count = data.iter().filter(|d| d.0.as_ref() == *m).count() as u64;
            let mut note = general.clone();
            let mut row = AncovaRow {
                instrument: instrument.to_string(),
                track: track.to_string(),
                modality: m.to_string(),
                n: Some(count),
                f_modality: f.map(|f| f.0),
                df1: f.map(|f| f.1 as u64),
                df2: f.map(|f| f.2 as u64),
                p_modality: f.map(|f| f.3),
                reference: mods[0].to_string(),
                ..Default::default()
            };
            if j == 0 {
                row.adjusted_mean = base_pred;
            } else {
                let c = 1 + j;
                match full.coef[c] {
                    Some(est) => {
                        row.estimate = Some(est);
                        row.se = full.se[c];
                        if let Some((t, p)) = full.t_test(c) {
                            row.t = Some(t);
                            row.p = Some(p);
                        }
                        row.adjusted_mean = base_pred.map(|b| b + est);
                    }
                    None => note.push(format!("{m} aliased with the other terms: not estimable")),
                }
            }
            row.note = note.join("; ");
            row
        })
        .collect()
}

/// All ANCOVA rows, sorted by (instrument, track, modality); suppression when set.
pub fn rows(
    eps: &Episodes,
    pairs: &[Pair],
    selected: &[bool],
    ids: &[String],
    suppress_below: Option<u64>,
) -> Vec<AncovaRow> {
    // Grouped on (instrument index, track) with labels borrowed: no string is copied per pair.
    let mut groups: FxHashMap<(u16, &str), Vec<TrackPoint<&str>>> = FxHashMap::default();
    for p in pairs {
        let e = p.episode as usize;
        if let (true, Some((f, _))) = (selected[e], p.followup) {
            groups
                .entry((p.instrument, eps.track[e].as_str()))
                .or_default()
                .push((eps.modality[e].as_str(), p.baseline, f));
        }
    }
    let mut groups: Vec<_> = groups
        .into_iter()
        .map(|((i, track), data)| ((ids[i as usize].as_str(), track), data))
        .collect();
    groups.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    let mut out: Vec<AncovaRow> = groups
        .par_iter()
        .flat_map_iter(|((inst, track), data)| fit_track(inst, track, data))
        .collect();
    if let Some(below) = suppress_below {
        let spec = spec(&RunKeys::default());
        for r in &mut out {
            spec.suppress(r, below);
        }
    }
    out
}

/// ancova.csv's description (SPEC §8, §10 S9). The F test is the track's, not the
/// modality's: it is not blanked with a small modality.
pub fn spec(keys: &RunKeys) -> TableSpec<AncovaRow> {
    type R = AncovaRow;
    const N: &[&str] = &["n"];
    TableSpec::new(
        "ancova",
        "Modality comparison (ANCOVA)",
        "Follow-up adjusted for baseline, per track: each modality against the reference; adjusted means at the mean baseline; F tests modality after baseline.",
    )
    .columns(keys.run_columns())
    .columns([
        Column::new("instrument", text!(R, instrument)),
        Column::new("track", text!(R, track)),
        Column::new("modality", text!(R, modality)),
        Column::new("n", count!(R, n)),
        Column::new("estimate", number!(R, estimate)).from(N),
        Column::new("se", number!(R, se)).from(N),
        Column::new("t", number!(R, t)).from(N),
        Column::new("p", number!(R, p)).from(N).format(Format::P),
        Column::new("adjusted_mean", number!(R, adjusted_mean)).from(N),
        Column::new("f_modality", number!(R, f_modality)),
        Column::new("df1", count!(R, df1)).fixed(),
        Column::new("df2", count!(R, df2)).fixed(),
        Column::new("p_modality", number!(R, p_modality)).format(Format::P),
        Column::new("reference", text!(R, reference)).fixed(),
        Column::new("note", text!(R, note)).fixed(),
        Column::new("suppressed", flag!(R, suppressed)),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::stats::prec::CLOSED;

    /// A value R prints, within the closed-form tolerance.
    fn close(got: Option<f64>, want: f64, what: &str) {
        let got = got.unwrap_or_else(|| panic!("{what} empty"));
        crate::assert_close!(got, want, CLOSED, "{what}");
    }

    fn data(mods: &[(&str, &[f64], &[f64])]) -> Vec<(String, f64, f64)> {
        mods.iter()
            .flat_map(|(m, b, f)| {
                b.iter()
                    .zip(f.iter())
                    .map(move |(b, f)| (m.to_string(), *b, *f))
            })
            .collect()
    }

    #[test]
    fn three_modalities_unequal_sizes_match_r() {
        // R: d <- data.frame(b = c(20,18,22,15,17,25,19, 21,16,23,20,18, 19,22,17,24),
        //   f = c(12,12,15,9,10,14,13, 14,13,17,15,12, 15,19,14,20),
        //   m = c(rep("CBT",7), rep("DBT",5), rep("MI",4)))
        // fit <- lm(f ~ b + m, data = d); summary(fit)$coefficients; anova(fit)
        // predict(fit, data.frame(b = mean(d$b), m = c("CBT", "DBT", "MI")))
        let d = data(&[
            (
                "CBT",
                &[20.0, 18.0, 22.0, 15.0, 17.0, 25.0, 19.0],
                &[12.0, 12.0, 15.0, 9.0, 10.0, 14.0, 13.0],
            ),
            (
                "DBT",
                &[21.0, 16.0, 23.0, 20.0, 18.0],
                &[14.0, 13.0, 17.0, 15.0, 12.0],
            ),
            ("MI", &[19.0, 22.0, 17.0, 24.0], &[15.0, 19.0, 14.0, 20.0]),
        ]);
        let r = fit_track("PHQ9", "t", &d);
        assert_eq!(r.len(), 3);
        assert_eq!(
            (r[0].modality.as_str(), r[0].n, r[0].estimate),
            ("CBT", Some(7), None)
        );
        assert_eq!(r[0].reference, "CBT");
        close(r[0].adjusted_mean, 12.352893705326263, "adj CBT");
        close(r[1].estimate, 1.9451233571593263, "est DBT");
        close(r[1].se, 0.64932491501991507, "se DBT");
        close(r[1].t, 2.9956086886018665, "t DBT");
        close(r[1].p, 0.011157377780756074, "p DBT");
        close(r[1].adjusted_mean, 14.29801706248559, "adj DBT");
        close(r[2].estimate, 4.1570209822457906, "est MI");
        close(r[2].se, 0.70296522600142297, "se MI");
        close(r[2].t, 5.9135513799047805, "t MI");
        close(r[2].p, 7.1022790639131326e-05, "p MI");
        close(r[2].adjusted_mean, 16.509914687572053, "adj MI");
        close(r[0].f_modality, 17.771662900133602, "F");
        assert_eq!((r[0].df1, r[0].df2), (Some(2), Some(12)));
        close(r[0].p_modality, 0.00025855332324845905, "p F");
        assert!(r.iter().all(|x| x.note.is_empty()));
    }

    #[test]
    fn a_constant_baseline_is_aliased_as_in_r() {
        // R: d2 <- data.frame(b = rep(10, 6), f = c(5,6,7,4,3,5), m = c("A","A","A","B","B","B"))
        // lm(f ~ b + m, d2): b NA; mB -2 (SE 0.81649658092772537, p 0.070484); anova F = 6 on 1, 4
        let d = data(&[
            ("A", &[10.0; 3], &[5.0, 6.0, 7.0]),
            ("B", &[10.0; 3], &[4.0, 3.0, 5.0]),
        ]);
        let r = fit_track("X", "t", &d);
        close(r[1].estimate, -2.0000000000000022, "est B");
        close(r[1].se, 0.81649658092772537, "se B");
        close(r[1].p, 0.07048399691021958735, "p B");
        close(r[0].adjusted_mean, 6.0000000000000027, "adj A");
        close(r[1].adjusted_mean, 4.0, "adj B");
        close(r[0].f_modality, 6.0, "F");
        assert_eq!((r[0].df1, r[0].df2), (Some(1), Some(4)));
        assert!(r[0].note.contains("baseline aliased"));
    }

    #[test]
    fn no_residual_df_leaves_inference_empty() {
        // R: lm(f ~ b + m, data.frame(b = c(10,12,15), f = c(5,9,8), m = c("A","A","B"))):
        // coefficients -15, 2, -7 with NaN SEs; adjusted means 9.6666666666666661, 2.6666666666666536
        let d = data(&[("A", &[10.0, 12.0], &[5.0, 9.0]), ("B", &[15.0], &[8.0])]);
        let r = fit_track("X", "t", &d);
        close(r[1].estimate, -7.0000000000000124, "est B");
        assert_eq!(
            (r[1].se, r[1].t, r[1].p, r[0].f_modality),
            (None, None, None, None)
        );
        close(r[0].adjusted_mean, 9.6666666666666661, "adj A");
        close(r[1].adjusted_mean, 2.6666666666666536, "adj B");
        assert!(r[0].note.contains("no residual degrees of freedom"));
    }

    #[test]
    fn an_aliased_modality_gets_a_reason_not_a_number() {
        // Each modality's baseline is constant, so the last dummy is a combination of the
        // intercept, baseline and the first dummy: R leaves it NA.
        let d = data(&[
            ("A", &[10.0, 10.0], &[5.0, 6.0]),
            ("B", &[12.0, 12.0], &[7.0, 9.0]),
            ("C", &[14.0, 14.0], &[8.0, 8.0]),
        ]);
        let r = fit_track("X", "t", &d);
        let aliased: Vec<&AncovaRow> = r.iter().filter(|x| x.note.contains("aliased")).collect();
        assert!(!aliased.is_empty());
        for x in r.iter().skip(1) {
            if x.estimate.is_none() {
                assert_eq!(x.adjusted_mean, None);
                assert!(x.note.contains("not estimable"));
            }
        }
        assert!(fit_track("X", "t", &data(&[("A", &[1.0, 2.0], &[1.0, 2.0])])).is_empty());
    }
}
