//! summary.md: the headline findings in a few lines per group, for a reader in a hurry.
//! Labels are untrusted: Markdown-significant characters are escaped.

use super::view::{Headline, ReportView};

/// Escapes text for Markdown (so a label cannot become a link, heading or table).
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' | '`' | '*' | '_' | '{' | '}' | '[' | ']' | '(' | ')' | '#' | '+' | '-' | '.'
            | '!' | '|' | '<' | '>' => {
                out.push('\\');
                out.push(c);
            }
            '\n' | '\r' => out.push(' '),
            _ => out.push(c),
        }
    }
    out
}

fn line(h: &Headline) -> String {
    if h.change.is_empty() {
        return format!(
            "- {}: withheld (too few episodes to report)",
            escape(&h.instrument)
        );
    }
    let verdict = if h.verdict.is_empty() {
        String::new()
    } else {
        format!(", {}", h.verdict)
    };
    // A withheld interval leaves no empty "(95% CI )".
    let ci = if h.ci.is_empty() {
        String::new()
    } else {
        format!(" (95% CI {})", h.ci)
    };
    let mut s = format!(
        "- {}: mean change {} {}{verdict}{ci} over {} paired episodes (follow-up rate {})",
        escape(&h.instrument),
        h.change,
        h.unit,
        h.n_paired,
        h.followup_rate
    );
    if !h.improved.is_empty() {
        s.push_str(&format!("; {} reliably improved", h.improved));
    }
    if !h.recovered.is_empty() {
        s.push_str(&format!("; {} of cases reliably recovered", h.recovered));
    }
    s
}

/// The completers against the mixed model, one line per instrument.
fn dropout_section(v: &ReportView) -> String {
    if v.dropout.lines.is_empty() {
        return String::new();
    }
    let mut s = "\n## Outcomes under dropout\n\n".to_string();
    for l in &v.dropout.lines {
        let mut parts = Vec::new();
        if !l.completers_change.is_empty() {
            parts.push(format!(
                "completers {} {} over {} weeks to follow-up",
                l.completers_change, l.unit, l.completers_weeks
            ));
        }
        if !l.model_same.is_empty() {
            parts.push(format!(
                "mixed model over the same weeks {} (95% CI {})",
                l.model_same, l.model_same_ci
            ));
        }
        if !l.model_horizon.is_empty() {
            parts.push(format!(
                "at {} weeks {} (95% CI {})",
                v.dropout.horizon, l.model_horizon, l.model_horizon_ci
            ));
        }
        if !l.without_followup.is_empty() {
            parts.push(format!(
                "{} of {} episodes without follow-up",
                l.without_followup, l.n_episodes
            ));
        }
        let figures = if parts.is_empty() {
            String::new()
        } else {
            format!("{}. ", parts.join("; "))
        };
        s.push_str(&format!(
            "- {}: {figures}{}\n",
            escape(&l.instrument),
            escape(&l.sentence)
        ));
    }
    s
}

/// Renders summary.md.
pub fn render(v: &ReportView) -> String {
    let mut s = format!(
        "# IOP outcomes: {}{}\n\n{}Follow-up point: {}. Cohort: {} episodes ({} still in care). {}\n\n## Overall\n\n",
        escape(&v.period),
        if v.synthetic.is_some() {
            " (synthetic data)"
        } else {
            ""
        },
        v.synthetic
            .as_ref()
            .map(|o| format!("**Synthetic data**: {}.\n\n", escape(o)))
            .unwrap_or_default(),
        escape(&v.followup),
        v.cohort,
        v.active,
        v.suppression
    );
    if v.headline.is_empty() {
        s.push_str("No episode in this period has a baseline on any instrument.\n");
    }
    for h in &v.headline {
        s.push_str(&line(h));
        s.push('\n');
    }
    let mut current = None;
    for h in &v.by_group {
        if current != Some(&h.group) {
            s.push_str(&format!(
                "\n## {}: {}\n\n",
                escape(&v.group_column),
                escape(&h.group)
            ));
            current = Some(&h.group);
        }
        s.push_str(&line(h));
        s.push('\n');
    }
    if let Some(r) = &v.retention {
        s.push_str(&super::retention::summary(r));
    }
    if let Some(b) = &v.benchmark {
        s.push_str(&super::benchmark::summary(b));
    }
    s.push_str(&dropout_section(v));
    if !v.attendance_supplied {
        s.push_str(
            "\nAttendance was not supplied: engagement shows length of stay and completion only.\n",
        );
    }
    s.push_str(&format!(
        "\n{} input rows were quarantined (see quarantine.csv).\n",
        v.quarantined
    ));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_is_escaped() {
        assert_eq!(escape("[x](http://e)"), "\\[x\\]\\(http://e\\)");
        assert_eq!(escape("a|b\nc"), "a\\|b c");
    }
}
