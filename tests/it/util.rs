//! Helpers shared by the integration tests: a temporary work folder per test, running the
//! binary, and small CSV readers for checking generated files.

use assert_cmd::Command;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The binary under test.
pub fn bin() -> Command {
    let mut c = Command::cargo_bin("iop-outcomes").expect("binary built");
    c.env_remove("RAYON_NUM_THREADS");
    c
}

/// `run --input <input> --out <out> <extra…>`, run and not yet checked.
pub fn run(input: &Path, out: &Path, extra: &[&str]) -> assert_cmd::assert::Assert {
    bin()
        .arg("run")
        .arg("--input")
        .arg(input)
        .arg("--out")
        .arg(out)
        .args(extra)
        .assert()
}

/// A case of tests/corpus.
pub fn corpus(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/corpus")
        .join(name)
}

/// A temporary folder removed when dropped.
pub struct WorkDir {
    dir: tempfile::TempDir,
}

impl WorkDir {
    pub fn new() -> Self {
        WorkDir {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    pub fn join(&self, p: &str) -> PathBuf {
        self.dir.path().join(p)
    }

    /// Runs `synth` into `<workdir>/<name>` and returns that folder.
    pub fn synth(&self, name: &str, episodes: u64, seed: u64, dirty: f64) -> PathBuf {
        let out = self.join(name);
        bin()
            .args(["synth", "--quiet", "--episodes", &episodes.to_string()])
            .args(["--seed", &seed.to_string(), "--dirty", &dirty.to_string()])
            .arg("--out")
            .arg(&out)
            .assert()
            .success();
        out
    }
}

/// A CSV file read as header + records of strings.
pub struct Table {
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

impl Table {
    pub fn read(path: &Path) -> Table {
        let mut r = csv::ReaderBuilder::new()
            .flexible(true)
            .from_path(path)
            .expect("readable CSV");
        let header = r
            .headers()
            .expect("header")
            .iter()
            .map(String::from)
            .collect();
        let rows = r
            .records()
            .map(|rec| rec.expect("record").iter().map(String::from).collect())
            .collect();
        Table { header, rows }
    }

    pub fn col(&self, name: &str) -> usize {
        self.header
            .iter()
            .position(|h| h == name)
            .unwrap_or_else(|| panic!("column {name}"))
    }

    /// Every row, its cells addressed by column name.
    pub fn iter(&self) -> impl Iterator<Item = Row<'_>> {
        self.rows.iter().map(|cells| Row { t: self, cells })
    }

    /// The one row whose named columns hold the given values; panics naming them otherwise.
    pub fn find(&self, keys: &[(&str, &str)]) -> Row<'_> {
        let mut hits = self
            .iter()
            .filter(|r| keys.iter().all(|(c, v)| r.get(c) == *v));
        let row = hits
            .next()
            .unwrap_or_else(|| panic!("no row with {keys:?} among {} rows", self.rows.len()));
        assert!(hits.next().is_none(), "several rows with {keys:?}");
        row
    }
}

/// A row of a [`Table`], read by column name.
#[derive(Clone, Copy)]
pub struct Row<'a> {
    t: &'a Table,
    cells: &'a [String],
}

impl<'a> Row<'a> {
    /// The cell of column `name`.
    pub fn get(&self, name: &str) -> &'a str {
        &self.cells[self.t.col(name)]
    }

    /// The cells of the named columns.
    pub fn cells(&self, names: &[&str]) -> Vec<&'a str> {
        names.iter().map(|n| self.get(n)).collect()
    }

    /// The number in column `name` (`None` when empty).
    pub fn num(&self, name: &str) -> Option<f64> {
        let c = self.get(name);
        (!c.is_empty()).then(|| {
            c.parse()
                .unwrap_or_else(|e| panic!("{name} = {c:?} is not a number: {e}"))
        })
    }
}

/// The files of a folder (and its sub-folders, as relative paths with `/`) and their bytes,
/// for byte-for-byte comparison.
pub fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for e in std::fs::read_dir(dir).expect("dir") {
            let e = e.expect("entry");
            let t = e.file_type().expect("type");
            if t.is_dir() {
                walk(root, &e.path(), out);
            } else if t.is_file() {
                let rel = e
                    .path()
                    .strip_prefix(root)
                    .expect("under root")
                    .to_string_lossy()
                    .replace('\\', "/");
                out.insert(rel, std::fs::read(e.path()).expect("read"));
            }
        }
    }
    let mut m = BTreeMap::new();
    walk(dir, dir, &mut m);
    m
}

/// Reads synth.json.
pub fn truth(dir: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(dir.join("synth.json")).expect("synth.json"))
        .expect("json")
}

/// Checks that planted values are covered, soundly for many intervals at once: every
/// estimate lies within the Bonferroni interval for a family-wise 95% level, and at least
/// 85% lie within their own 95% interval (nominal 95%; the margin allows for chance with
/// a few dozen correlated rows). `zs` holds (label, (estimate − planted) / se).
pub fn assert_covered(zs: &[(String, f64)]) {
    use statrs::distribution::{ContinuousCDF, Normal};
    let k = zs.len() as f64;
    let bonferroni = Normal::standard().inverse_cdf(1.0 - 0.05 / (2.0 * k));
    let out: Vec<_> = zs.iter().filter(|(_, z)| z.abs() > bonferroni).collect();
    assert!(
        out.is_empty(),
        "outside the family-wise 95% interval (|z| > {bonferroni:.2}): {out:?}"
    );
    let covered = zs
        .iter()
        .filter(|(_, z)| z.abs() <= 1.959_963_984_540_054)
        .count() as f64;
    assert!(
        covered / k >= 0.85,
        "only {covered} of {k} 95% intervals cover the planted value: {zs:?}"
    );
}
