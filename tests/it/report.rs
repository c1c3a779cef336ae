//! The director-facing outputs: report.html (self-contained, well-formed, escaped) and
//! summary.md.

use crate::util::{bin, run, Table, WorkDir};
use quick_xml::events::Event;
use quick_xml::reader::Reader;

/// What the page is made of, from one strict parse.
struct Page {
    ids: Vec<String>,
    /// Every attribute name used.
    attrs: Vec<String>,
    tags: Vec<String>,
    /// The value of every `href`.
    hrefs: Vec<String>,
}

/// Parses the page strictly as XML (it is written well-formed).
fn parse(html: &str) -> Page {
    let mut r = Reader::from_str(html);
    r.config_mut().check_end_names = true;
    let mut page = Page {
        ids: Vec::new(),
        attrs: Vec::new(),
        tags: Vec::new(),
        hrefs: Vec::new(),
    };
    loop {
        match r.read_event().unwrap_or_else(|e| {
            panic!(
                "report.html is not well-formed at {}: {e}",
                r.buffer_position()
            )
        }) {
            Event::Eof => break,
            Event::Start(e) | Event::Empty(e) => {
                page.tags
                    .push(String::from_utf8_lossy(e.name().as_ref()).into_owned());
                for a in e.attributes() {
                    let a = a.unwrap();
                    let key = String::from_utf8_lossy(a.key.as_ref()).into_owned();
                    let value = String::from_utf8_lossy(&a.value).into_owned();
                    match key.as_str() {
                        "id" => page.ids.push(value),
                        "href" => page.hrefs.push(value),
                        _ => {}
                    }
                    page.attrs.push(key);
                }
            }
            _ => {}
        }
    }
    page
}

/// Runs the job on `input` into `out`, quietly, and returns report.html.
fn report(input: &std::path::Path, out: &std::path::Path) -> String {
    run(input, out, &[]).success();
    std::fs::read_to_string(out.join("all/report.html")).unwrap()
}

#[test]
fn the_page_is_self_contained_complete_and_escapes_input_labels() {
    let w = WorkDir::new();
    let input = w.synth("s", 3000, 6, 0.01);
    let eps = std::fs::read_to_string(input.join("episodes.csv")).unwrap();
    std::fs::write(
        input.join("episodes.csv"),
        eps.replace(",eating_disorder,", ",<script>alert(1)</script>,"),
    )
    .unwrap();
    let html = report(&input, &w.join("out"));
    let Page {
        ids,
        attrs,
        tags,
        hrefs,
    } = parse(&html);
    for id in [
        "headline",
        "dropout",
        "outcomes",
        "abstinence",
        "ancova",
        "attrition",
        "engagement",
        "trend",
        "longitudinal",
        "data-quality",
        "methods",
    ] {
        assert!(ids.iter().any(|i| i == id), "section {id} missing");
    }
    // No external request: nothing refers outside the page (links only to its own
    // sections), no scripts, no external CSS.
    for a in ["src", "srcset", "action", "data", "xlink:href"] {
        assert!(!attrs.iter().any(|x| x == a), "attribute {a} present");
    }
    for target in &hrefs {
        let local = target.strip_prefix('#').expect("a link inside the page");
        assert!(
            ids.iter().any(|i| i == local),
            "link to a missing section {target}"
        );
    }
    for t in ["script", "link", "img", "iframe", "object", "embed"] {
        assert!(!tags.iter().any(|x| x == t), "<{t}> present");
    }
    assert!(!html.contains("@import") && !html.contains("url("));
    assert!(hrefs.len() > 10, "the contents list links every section");
    // The hostile label is shown as text, escaped.
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;"),
        "label not shown escaped"
    );
    assert!(!html.contains("<script>alert"));
    // Methods name the windows, the tests and every instrument's source.
    assert!(html.contains("earliest assessment from -14 to 14 days"));
    assert!(html.contains("wilcox.test"));
    // Data quality shows the follow-up rate of each instrument against GPRA's 80% target.
    assert!(html.contains("80% target met"));
    assert!(html.contains("Kroenke"));
    let summary = std::fs::read_to_string(w.join("out/all/summary.md")).unwrap();
    assert!(
        summary.contains("\\<script\\>alert\\(1\\)\\</script\\>"),
        "summary label not escaped"
    );
    assert!(summary.contains("## Overall") && summary.contains("PHQ9: mean change"));
    // Outcomes under dropout: the completers beside the mixed model, with the methods.
    assert!(summary.contains("## Outcomes under dropout"));
    assert!(html.contains("model: change over the same weeks"));
    assert!(html.contains("(1 + t | episode_id)") && html.contains("Satterthwaite"));
}

#[test]
fn the_page_says_when_attendance_was_not_supplied() {
    let w = WorkDir::new();
    let input = w.synth("s", 1000, 2, 0.0);
    std::fs::remove_file(input.join("attendance.csv")).unwrap();
    let html = report(&input, &w.join("out"));
    parse(&html);
    assert!(html.contains("Attendance was not supplied"));
    // No weekly-hours chart without attendance.
    assert!(!w.join("out/all/charts/weekly_hours.svg").exists());
    assert!(!html.contains("chart-weekly_hours"));
    assert!(std::fs::read_to_string(w.join("out/all/summary.md"))
        .unwrap()
        .contains("Attendance was not supplied"));
}

#[test]
fn charts_parse_decode_and_are_inlined() {
    let w = WorkDir::new();
    let input = w.synth("s", 2000, 4, 0.0);
    let html = report(&input, &w.join("out"));
    let dir = w.join("out/all/charts");
    let mut svgs = 0;
    for e in std::fs::read_dir(&dir).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        if name.ends_with(".svg") {
            let text = std::fs::read_to_string(&p).unwrap();
            let mut r = Reader::from_str(&text);
            loop {
                match r.read_event() {
                    Ok(Event::Eof) => break,
                    Ok(_) => {}
                    Err(e) => panic!("{name} is not well-formed XML: {e}"),
                }
            }
            assert!(text.contains("<svg"), "{name}");
            svgs += 1;
            // Its PNG twin decodes to the size the SVG declares.
            let png_path = p.with_extension("png");
            let decoder = png::Decoder::new(std::io::BufReader::new(
                std::fs::File::open(&png_path).unwrap(),
            ));
            let reader = decoder.read_info().unwrap();
            let (pw, ph) = (reader.info().width, reader.info().height);
            assert!(
                text.contains(&format!("width=\"{pw}\""))
                    && text.contains(&format!("height=\"{ph}\"")),
                "{name}: PNG {pw}x{ph}"
            );
            assert!(pw >= 1200, "PNG too small for a slide: {pw}");
        }
    }
    let ids = parse(&html).ids;
    assert_eq!(html.matches("<svg").count(), svgs);
    // Every kind of chart SPEC §8 lists, per instrument where it applies, each on the page
    // under its own id and in charts/.
    let mut expected: Vec<String> = Vec::new();
    // Charts withheld whole: a notice in their place.
    let mut noticed: Vec<String> = Vec::new();
    for i in [
        "AUDITC",
        "DAST10",
        "DAYS_USED",
        "DERS",
        "EDEQ",
        "GAD7",
        "PCL5",
        "PHQ9",
    ] {
        expected.push(format!("forest_{i}"));
        expected.push(format!("scatter_{i}"));
        // A trend chart only where trend.csv publishes a point (one with every point
        // withheld is a notice, SPEC §11 D4).
        let trend = Table::read(&w.join("out/all/trend.csv"));
        if trend.iter().any(|r| {
            r.get("instrument") == i
                && (!r.get("change_mean").is_empty() || !r.get("pct_improved").is_empty())
        }) {
            expected.push(format!("trend_{i}"));
        } else if trend.iter().any(|r| r.get("instrument") == i) {
            noticed.push(format!("trend_{i}"));
        }
        expected.push(format!("trajectory_{i}"));
    }
    // Instruments with a reliable-change threshold, and the days-of-use instrument.
    for i in ["GAD7", "PCL5", "PHQ9"] {
        expected.push(format!("categories_{i}"));
    }
    expected.push("abstinence_DAYS_USED".into());
    expected.push("weekly_hours".into());
    // A funnel chart per indicator of benchmark.csv whose target and a unit are published;
    // a notice for the others.
    let bench = Table::read(&w.join("out/all/benchmark.csv"));
    let funnel = |r: &crate::util::Row| match r.get("instrument") {
        "" => format!("funnel_{}", r.get("indicator")),
        i => format!("funnel_{}_{i}", r.get("indicator")),
    };
    let all: std::collections::BTreeSet<String> = bench.iter().map(|r| funnel(&r)).collect();
    let funnels: std::collections::BTreeSet<String> = bench
        .iter()
        .filter(|r| !r.get("target").is_empty() && !r.get("proportion").is_empty())
        .map(|r| funnel(&r))
        .collect();
    assert!(funnels.len() >= 2, "{funnels:?}");
    noticed.extend(all.difference(&funnels).cloned());
    expected.extend(funnels);
    // A dropout chart per track with a group of its own and for all tracks: under
    // protection from retention_summary.csv (days 30, 60 and 90).
    let summary = Table::read(&w.join("out/all/retention_summary.csv"));
    expected.push("retention_all".into());
    for r in summary
        .iter()
        .filter(|r| r.get("track") != "All" && r.get("modality") == "All")
    {
        expected.push(format!("retention_track_{}", r.get("track")));
    }
    for name in &expected {
        assert!(
            dir.join(format!("{name}.svg")).exists(),
            "charts/{name}.svg"
        );
        assert!(
            dir.join(format!("{name}.png")).exists(),
            "charts/{name}.png"
        );
        assert!(
            ids.contains(&format!("chart-{name}")),
            "{name} not on the page"
        );
    }
    assert_eq!(svgs, expected.len(), "unexpected charts");
    for name in &noticed {
        assert!(
            html.contains(&format!("<p class=\"chart-notice\" id=\"chart-{name}\">")),
            "no notice for {name}"
        );
    }
    assert_eq!(
        html.matches("<p class=\"chart-notice\"").count(),
        noticed.len(),
        "unexpected notices: {noticed:?}"
    );
    for kind in [
        "forest",
        "scatter",
        "categories",
        "abstinence",
        "trend",
        "hours",
        "funnel",
        "trajectory",
    ] {
        assert!(ids.contains(&format!("charts-{kind}")), "{kind} section");
    }
    // The Jacobson-Truax plot has its reference lines; the hours chart its dose line.
    let jt = std::fs::read_to_string(dir.join("scatter_PHQ9.svg")).unwrap();
    assert!(jt.contains("caseness cutoff 10") && jt.contains("reliably improved"));
    let hours = std::fs::read_to_string(dir.join("weekly_hours.svg")).unwrap();
    assert!(hours.contains("IOP dose 9 h a week"));
}

/// A chart whose every point small-cell protection withholds is a one-line notice in its
/// place on the page (SPEC §11 D4), neither an empty plot nor a silent gap; without
/// protection the same chart is drawn and no notice is shown. The export is the attack
/// tests' 60-episode one: DAYS_USED (one track) has every quarter of trend.csv withheld.
#[test]
fn a_chart_with_every_point_withheld_is_a_notice_in_its_place() {
    let w = WorkDir::new();
    let input = w.join("small60");
    crate::attack::small_export(
        &input,
        60,
        &["mental_health", "substance_use"],
        &["CBT", "MI"],
        3,
    );
    let html = report(&input, &w.join("out"));
    // The premise: trend.csv has DAYS_USED quarters, every figure blank and flagged.
    let trend = Table::read(&w.join("out/all/trend.csv"));
    let days: Vec<_> = trend
        .iter()
        .filter(|r| r.get("instrument") == "DAYS_USED")
        .collect();
    assert!(days.len() >= 4, "{} DAYS_USED rows", days.len());
    for r in &days {
        assert_eq!(
            r.cells(&["change_mean", "pct_improved", "suppressed"]),
            ["", "", "true"]
        );
    }
    let line = "<p class=\"chart-notice\" id=\"chart-trend_DAYS_USED\">DAYS_USED: quarterly \
                trend by track — not drawn: every quarter is withheld (small cells)</p>";
    let at = html.find(line).expect("the trend notice");
    // In the chart's place: in the trend group, before the next instrument's trend chart.
    let group = html.find("id=\"charts-trend\"").expect("the trend group");
    let next = html
        .find("id=\"chart-trend_GAD7\"")
        .expect("GAD7's trend chart");
    assert!(group < at && at < next, "{group} {at} {next}");
    assert!(html[next - 30..next].contains("<figure class=\"chart\""));
    // Every notice stands for a chart not drawn: no figure, no file; and without protection
    // each of those charts is drawn, with no notice anywhere.
    let charts = w.join("out/all/charts");
    let noticed: Vec<&str> = html
        .split("<p class=\"chart-notice\" id=\"chart-")
        .skip(1)
        .map(|s| &s[..s.find('"').unwrap()])
        .collect();
    assert!(noticed.contains(&"trend_DAYS_USED"), "{noticed:?}");
    bin()
        .args(["run", "--quiet", "--no-suppress", "--input"])
        .arg(&input)
        .arg("--out")
        .arg(w.join("plain"))
        .assert()
        .success();
    let plain = std::fs::read_to_string(w.join("plain/all/report.html")).unwrap();
    assert!(!plain.contains("class=\"chart-notice\""));
    for name in &noticed {
        let figure = format!("<figure class=\"chart\" id=\"chart-{name}\">");
        assert!(!html.contains(&figure), "{name} drawn and noticed");
        for ext in ["svg", "png"] {
            assert!(
                !charts.join(format!("{name}.{ext}")).exists(),
                "{name}.{ext}"
            );
            assert!(
                w.join(&format!("plain/all/charts/{name}.{ext}")).exists(),
                "{name}.{ext} without protection"
            );
        }
        assert!(plain.contains(&figure), "{name} without protection");
    }
}
