//! The director-facing outputs: report.html (self-contained, well-formed, escaped) and
//! summary.md.

use crate::util::{bin, WorkDir};
use quick_xml::events::Event;
use quick_xml::reader::Reader;

/// Parses the page strictly as XML (it is written well-formed) and returns the ids and the
/// attribute names used.
fn parse(html: &str) -> (Vec<String>, Vec<String>, Vec<String>) {
    let mut r = Reader::from_str(html);
    r.config_mut().check_end_names = true;
    let (mut ids, mut attrs, mut tags) = (Vec::new(), Vec::new(), Vec::new());
    loop {
        match r.read_event().unwrap_or_else(|e| {
            panic!(
                "report.html is not well-formed at {}: {e}",
                r.buffer_position()
            )
        }) {
            Event::Eof => break,
            Event::Start(e) | Event::Empty(e) => {
                tags.push(String::from_utf8_lossy(e.name().as_ref()).into_owned());
                for a in e.attributes() {
                    let a = a.unwrap();
                    let key = String::from_utf8_lossy(a.key.as_ref()).into_owned();
                    if key == "id" {
                        ids.push(String::from_utf8_lossy(&a.value).into_owned());
                    }
                    attrs.push(key);
                }
            }
            _ => {}
        }
    }
    (ids, attrs, tags)
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
    bin()
        .args(["run", "--quiet", "--input"])
        .arg(&input)
        .arg("--out")
        .arg(w.join("out"))
        .assert()
        .success();
    let html = std::fs::read_to_string(w.join("out/all/report.html")).unwrap();
    let (ids, attrs, tags) = parse(&html);
    for id in [
        "headline",
        "outcomes",
        "abstinence",
        "ancova",
        "attrition",
        "engagement",
        "trend",
        "data-quality",
        "methods",
    ] {
        assert!(ids.iter().any(|i| i == id), "section {id} missing");
    }
    // No external request: no element refers to anything, no scripts, no external CSS.
    for a in ["src", "href", "srcset", "action", "data"] {
        assert!(!attrs.iter().any(|x| x == a), "attribute {a} present");
    }
    for t in ["script", "link", "img", "iframe", "object", "embed"] {
        assert!(!tags.iter().any(|x| x == t), "<{t}> present");
    }
    assert!(!html.contains("@import") && !html.contains("url("));
    // The hostile label is shown as text, escaped.
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;"),
        "label not shown escaped"
    );
    assert!(!html.contains("<script>alert"));
    // Methods name the windows, the tests and every instrument's source.
    assert!(html.contains("earliest assessment from -14 to 14 days"));
    assert!(html.contains("wilcox.test"));
    assert!(html.contains("Kroenke"));
    let summary = std::fs::read_to_string(w.join("out/all/summary.md")).unwrap();
    assert!(
        summary.contains("\\<script\\>alert\\(1\\)\\</script\\>"),
        "summary label not escaped"
    );
    assert!(summary.contains("## Overall") && summary.contains("PHQ9: mean change"));
}

#[test]
fn the_page_says_when_attendance_was_not_supplied() {
    let w = WorkDir::new();
    let input = w.synth("s", 500, 2, 0.0);
    std::fs::remove_file(input.join("attendance.csv")).unwrap();
    bin()
        .args(["run", "--quiet", "--input"])
        .arg(&input)
        .arg("--out")
        .arg(w.join("out"))
        .assert()
        .success();
    let html = std::fs::read_to_string(w.join("out/all/report.html")).unwrap();
    parse(&html);
    assert!(html.contains("Attendance was not supplied"));
    assert!(std::fs::read_to_string(w.join("out/all/summary.md"))
        .unwrap()
        .contains("Attendance was not supplied"));
}

#[test]
fn charts_parse_decode_and_are_inlined() {
    let w = WorkDir::new();
    let input = w.synth("s", 2000, 4, 0.0);
    bin()
        .args(["run", "--quiet", "--input"])
        .arg(&input)
        .arg("--out")
        .arg(w.join("out"))
        .assert()
        .success();
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
    assert!(svgs >= 5, "{svgs} charts");
    let html = std::fs::read_to_string(w.join("out/all/report.html")).unwrap();
    parse(&html);
    assert_eq!(html.matches("<svg").count(), svgs);
}
