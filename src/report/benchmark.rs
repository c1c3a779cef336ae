//! The page's "Comparing sites" section (SPEC §14 B5), from benchmark.csv's typed rows after
//! suppression: per indicator, the units outside the 99.8% limits, with the case-mix adjusted
//! ratio where there is one, and what the adjustment does and does not account for. Plain
//! text: each exporter escapes it for its format.

use crate::analysis::benchmark::{BenchmarkRow, Indicator};
use crate::stats::funnel::Flag;
use serde::Serialize;

/// What the page and summary.md say about the benchmark.
#[derive(Debug, Clone, Serialize)]
pub struct BenchmarkView {
    pub title: String,
    /// What a unit is called: `site`, or `unit` for another column.
    pub unit: String,
    pub intro: String,
    /// One sentence per indicator (and instrument), in the order of benchmark.csv.
    pub lines: Vec<BenchmarkLine>,
    /// What the case-mix adjustment accounts for, and what it does not.
    pub case_mix: String,
}

/// One indicator's sentence.
#[derive(Debug, Clone, Serialize)]
pub struct BenchmarkLine {
    pub text: String,
    /// Whether a unit is outside the 99.8% limits, before or after case-mix adjustment.
    pub flagged: bool,
}

/// The section, or `None` when benchmark.csv has no rows.
pub fn view(rows: &[BenchmarkRow], by: &str) -> Option<BenchmarkView> {
    if rows.is_empty() {
        return None;
    }
    let (unit, units, title) = if by == "site" {
        ("site", "sites", "Comparing sites".to_string())
    } else {
        ("unit", "units", format!("Comparing units ({by})"))
    };
    let lines = rows
        .chunk_by(|a, b| a.indicator == b.indicator && a.instrument == b.instrument)
        .map(|g| line(g, unit, units))
        .collect();
    Some(BenchmarkView {
        title,
        unit: unit.to_string(),
        intro: format!(
            "Each {unit}'s share on each indicator against the target, the share over all {units}, with Spiegelhalter's exact binomial control limits (the funnel plots among the charts). A {unit} outside the 99.8% limits differs from the target by more than chance would explain; by chance alone that happens about once in 500 comparisons, so among many {units} and indicators an occasional flag is expected. Units are the values of {by}; benchmark.csv has every figure, with the 95% limits."
        ),
        lines,
        case_mix: format!(
            "The case-mix adjustment (reliable improvement only) compares the number of a {unit}'s clients who reliably improved (O) with the number expected (E) from a logistic regression of reliable improvement on baseline score and clinical track, fitted to every paired episode of the instrument across all {units}: a {unit} that treats more severe clients, or more clients of a track that improves less, is expected to improve fewer of them, and O/E (1 = as expected) allows for that. It accounts for nothing else: not modality, length of stay, discharge reason, attendance, social circumstances or severity the baseline score does not capture, nor for which clients a {unit} manages to follow up (its follow-up rate is an indicator of its own). The target and the model include the {unit} being judged, so one very different {unit} moves the target for the others. A flag is a prompt to look at the {unit}'s data and practice, not a verdict."
        ),
    })
}

/// The section in summary.md: the indicators with a unit outside the 99.8% limits (before or
/// after case-mix adjustment), then how many have none.
pub fn summary(v: &BenchmarkView) -> String {
    use super::summary::escape;
    let mut s = format!("\n## {}\n\n", escape(&v.title));
    for l in v.lines.iter().filter(|l| l.flagged) {
        s.push_str(&format!("- {}\n", escape(&l.text)));
    }
    let quiet = v.lines.iter().filter(|l| !l.flagged).count();
    if quiet == v.lines.len() {
        s.push_str(&format!(
            "No {} is outside the 99.8% limits on any indicator.\n",
            escape(&v.unit)
        ));
    } else if quiet > 0 {
        s.push_str(&format!(
            "\nOn the other {quiet} indicators every unit is within the 99.8% limits.\n"
        ));
    }
    s
}

fn pct(x: f64) -> String {
    format!("{:.0}%", 100.0 * x)
}

/// A unit outside the 99.8% limits: its share and denominator, and its O/E when given.
fn described(r: &BenchmarkRow) -> String {
    let mut s = match (r.proportion, r.n) {
        (Some(p), Some(n)) => format!("{} ({} of {n}", r.unit, pct(p)),
        _ => format!("{} (", r.unit),
    };
    if let (Some(ratio), Some(lo), Some(hi)) = (r.ratio, r.ratio_low_998, r.ratio_high_998) {
        s.push_str(&format!(
            "; case-mix adjusted O/E {ratio:.2}, 99.8% limits {lo:.2} to {hi:.2}"
        ));
    }
    s.push(')');
    s
}

fn listed(rows: &[&BenchmarkRow]) -> String {
    rows.iter()
        .map(|r| described(r))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The sentence of one indicator.
fn line(g: &[BenchmarkRow], unit: &str, units: &str) -> BenchmarkLine {
    let first = &g[0];
    let name = match first.indicator {
        Indicator::Completion => "Completion".to_string(),
        Indicator::DoseMet => "Meeting the IOP dose".to_string(),
        other => format!("{} {}", first.instrument, other.as_str().replace('_', " ")),
    };
    let target = first.target.map_or_else(|| "withheld".to_string(), pct);
    let with = |f: Flag| -> Vec<&BenchmarkRow> {
        g.iter().filter(|r| r.shown_flag() == Some(f)).collect()
    };
    let (high, low) = (with(Flag::High998), with(Flag::Low998));
    let mut s = format!("{name} (target {target}): ");
    let mut adjusted = false;
    let suppressed = g.iter().filter(|r| r.shown_flag().is_none()).count();
    if suppressed == g.len() {
        let all = if g.len() == 1 { unit } else { units };
        return BenchmarkLine {
            text: format!("{s}{} {all} withheld (small cells).", g.len()),
            flagged: false,
        };
    }
    let shown = if suppressed > 0 { " shown" } else { "" };
    if high.is_empty() && low.is_empty() {
        s.push_str(&format!("every {unit}{shown} within the 99.8% limits"));
    } else {
        let mut parts = Vec::new();
        if !high.is_empty() {
            parts.push(format!("above the 99.8% limits: {}", listed(&high)));
        }
        if !low.is_empty() {
            parts.push(format!("below: {}", listed(&low)));
        }
        s.push_str(&parts.join("; "));
    }
    if first.indicator == Indicator::ReliableImprovement {
        let with_ratio: Vec<&BenchmarkRow> = g.iter().filter(|r| r.ratio.is_some()).collect();
        let side = |above: bool| -> Vec<&BenchmarkRow> {
            with_ratio
                .iter()
                .copied()
                .filter(|r| r.ratio_outside_998() == Some(above))
                .collect()
        };
        let (up, down) = (side(true), side(false));
        adjusted = !(up.is_empty() && down.is_empty());
        let names = |rs: &[&BenchmarkRow]| {
            rs.iter()
                .map(|r| format!("{} (O/E {:.2})", r.unit, r.ratio.unwrap_or_default()))
                .collect::<Vec<_>>()
                .join(", ")
        };
        if g.iter().any(|r| r.n.is_some()) && g.iter().all(|r| r.expected.is_none()) {
            s.push_str(
                "; no case-mix adjusted ratio (everybody or nobody improved, or the model could not be fitted)",
            );
        } else if up.is_empty() && down.is_empty() {
            s.push_str(&format!(
                "; after case-mix adjustment every {unit}{shown} within the 99.8% limits"
            ));
        } else {
            let mut parts = Vec::new();
            if !up.is_empty() {
                parts.push(format!("above {}", names(&up)));
            }
            if !down.is_empty() {
                parts.push(format!("below {}", names(&down)));
            }
            s.push_str(&format!(
                "; after case-mix adjustment, outside the 99.8% limits: {}",
                parts.join(", ")
            ));
        }
    }
    if suppressed > 0 {
        s.push_str(&format!(
            "; {suppressed} {} withheld (small cells)",
            if suppressed == 1 { unit } else { units }
        ));
    }
    s.push('.');
    BenchmarkLine {
        text: s,
        flagged: adjusted || !(high.is_empty() && low.is_empty()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(unit: &str, n: u64, observed: u64, flag: Flag) -> BenchmarkRow {
        let spec = crate::analysis::benchmark::proportion_rows(
            Indicator::ReliableImprovement,
            "PHQ9",
            &[unit.to_string()],
            &[n],
            &[observed],
        );
        let mut r = spec.into_iter().next().unwrap();
        r.target = Some(0.47);
        r.flag = Some(flag);
        r
    }

    #[test]
    fn outliers_are_named_with_their_adjusted_ratio_and_suppressed_units_counted() {
        let mut high = row("site_03", 1186, 720, Flag::High998);
        (
            high.expected,
            high.ratio,
            high.ratio_low_998,
            high.ratio_high_998,
        ) = (Some(559.0), Some(1.2878), Some(0.8709), Some(1.1323));
        let mut low = row("site_05", 1230, 518, Flag::Low998);
        (
            low.expected,
            low.ratio,
            low.ratio_low_998,
            low.ratio_high_998,
        ) = (Some(580.0), Some(0.8934), Some(0.8732), Some(1.1299));
        let mut small = row("site_09", 8, 5, Flag::Within);
        small.observed = None;
        let v = view(&[high, low, small], "site").unwrap();
        assert_eq!(v.title, "Comparing sites");
        assert!(v.lines[0].flagged);
        assert_eq!(
            v.lines[0].text,
            ["PHQ9 reliable improvement (target 47%): above the 99.8% limits: site_03 (61% of 1186; case-mix adjusted O/E 1.29, 99.8% limits 0.87 to 1.13); below: site_05 (42% of 1230; case-mix adjusted O/E 0.89, 99.8% limits 0.87 to 1.13); after case-mix adjustment, outside the 99.8% limits: above site_03 (O/E 1.29); 1 site withheld (small cells)."][0]
        );
        assert!(v.case_mix.contains("baseline score and clinical track"));
        let v = view(&[row("in_person", 40, 20, Flag::Within)], "delivery").unwrap();
        assert_eq!(v.title, "Comparing units (delivery)");
        assert!(v.lines[0]
            .text
            .contains("every unit within the 99.8% limits; no case-mix"));
        assert!(!v.lines[0].flagged);
        assert!(view(&[], "site").is_none());
    }
}
