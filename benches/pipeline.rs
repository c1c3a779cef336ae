//! Criterion benchmarks of the hot stages on a seeded synthetic export, reported as rows (or
//! values) per second: ingest and validation, pairing, the statistics of one cell, the
//! outcomes table, the mixed model of longitudinal.csv, and drawing the charts (SVG and PNG,
//! in parallel as `run` does).
//! Run: `cargo bench --bench pipeline`.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use iop_outcomes::analysis::{cells, outcomes};
use iop_outcomes::cohort::{self, PairingRules};
use iop_outcomes::config::Config;
use iop_outcomes::ingest;
use iop_outcomes::stats::lmm::{self, GroupStats, RandomPart};
use iop_outcomes::stats::{ttest, wilcoxon};
use iop_outcomes::synth::{self, SynthOptions};
use std::hint::black_box;

fn export(episodes: u64) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    synth::generate(&SynthOptions {
        episodes,
        seed: 42,
        out: dir.path().to_path_buf(),
        dirty: 0.01,
        site_effects: Vec::new(),
    })
    .expect("synth");
    dir
}

fn rows_in(dir: &std::path::Path) -> u64 {
    ["episodes.csv", "assessments.csv", "attendance.csv"]
        .iter()
        .map(|f| {
            std::fs::read(dir.join(f))
                .map(|b| data_rows(&b))
                .unwrap_or(0)
        })
        .sum()
}

fn data_rows(b: &[u8]) -> u64 {
    b.iter().filter(|&&c| c == b'\n').count() as u64 - 1
}

fn bench_ingest(c: &mut Criterion) {
    let mut g = c.benchmark_group("ingest");
    g.sample_size(10);
    for n in [10_000u64, 50_000] {
        let dir = export(n);
        g.throughput(Throughput::Elements(rows_in(dir.path())));
        let cfg = Config::default();
        let cat = cfg.catalog().unwrap();
        g.bench_with_input(BenchmarkId::new("load_and_validate", n), &dir, |b, dir| {
            b.iter(|| black_box(ingest::load(dir.path(), &cfg, &cat).unwrap()))
        });
    }
    g.finish();
}

fn bench_pairing_and_outcomes(c: &mut Criterion) {
    let dir = export(50_000);
    let cfg = Config::default();
    let cat = cfg.catalog().unwrap();
    let ex = ingest::load(dir.path(), &cfg, &cat).unwrap();
    let rules = PairingRules {
        baseline: [-14, 14],
        followup_name: "discharge".into(),
        followup: cfg.followups()["discharge"].clone(),
    };
    let anchors = cohort::anchors(&ex.episodes, &rules.followup);
    let mut g = c.benchmark_group("analysis");
    g.sample_size(20);
    g.throughput(Throughput::Elements(ex.assessments.len() as u64));
    g.bench_function("pair_50k_episodes", |b| {
        b.iter(|| {
            black_box(cohort::pair(
                &ex.episodes,
                &ex.assessments,
                &anchors,
                &rules,
            ))
        })
    });
    let pairs = cohort::pair(&ex.episodes, &ex.assessments, &anchors, &rules);
    let selected: Vec<bool> = anchors.iter().map(|a| a.is_some()).collect();
    let ids = &ex.assessments.instruments;
    g.throughput(Throughput::Elements(pairs.len() as u64));
    g.bench_function("outcomes_table_50k_episodes", |b| {
        b.iter(|| {
            let groups = cells::build(&ex.episodes, &pairs, &selected, &cfg.report.group_by, ids);
            black_box(outcomes::rows(&groups, &pairs, &cat, ids, Some(11)))
        })
    });
    g.finish();

    // Charts: the forest, Jacobson-Truax, reliable-change and trend charts of every
    // instrument, drawn as SVG and PNG in parallel; throughput in charts per second.
    let groups = cells::build(&ex.episodes, &pairs, &selected, &cfg.report.group_by, ids);
    let rows = outcomes::rows(&groups, &pairs, &cat, ids, Some(11));
    let figures = iop_outcomes::charts::build::all(&iop_outcomes::charts::build::Inputs {
        catalog: &cat,
        ids,
        columns: &cfg.report.group_by,
        outcomes: &rows,
        abstinence: &[],
        trend: &[],
        quarters: &[],
        pairs: &pairs,
        selected: &selected,
        hours: None,
        dose_hours: 9.0,
        suppress_below: Some(11),
        retention: &Default::default(),
        benchmark: &[],
        benchmark_by: "site",
        longitudinal: &[],
        weekly: &[],
        horizon_weeks: 8.0,
    });
    let charts: Vec<_> = figures
        .iter()
        .filter_map(iop_outcomes::charts::Figure::chart)
        .collect();
    let mut g = c.benchmark_group("charts");
    g.sample_size(10);
    g.throughput(Throughput::Elements(charts.len() as u64));
    g.bench_function("draw_all_50k_episodes", |b| {
        b.iter(|| {
            use rayon::prelude::*;
            let drawn: Vec<_> = charts
                .par_iter()
                .map(|c| iop_outcomes::charts::render(*c).expect("chart"))
                .collect();
            black_box(drawn)
        })
    });
    g.finish();
}

fn bench_cell_statistics(c: &mut Criterion) {
    // A seeded cell of 1,000 and 100,000 paired changes (integer scores, so with ties).
    let mut g = c.benchmark_group("cell_statistics");
    for n in [1_000usize, 100_000] {
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let d: Vec<f64> = (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x % 21) as f64 - 12.0
            })
            .collect();
        g.throughput(Throughput::Elements(n as u64));
        g.bench_with_input(BenchmarkId::new("paired_t", n), &d, |b, d| {
            b.iter(|| black_box(ttest::one_sample(d)))
        });
        g.bench_with_input(BenchmarkId::new("wilcoxon", n), &d, |b, d| {
            b.iter(|| black_box(wilcoxon::signed_rank(d)))
        });
    }
    g.finish();
}

fn bench_mixed_model(c: &mut Criterion) {
    // 200,000 seeded episodes of 2 to 10 weekly assessments in 3 arms (the REML passes over
    // per-episode statistics are the work; a pilot start applies from 200,000 groups).
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let groups: Vec<GroupStats> = (0..200_000)
        .filter_map(|g| {
            let n = 2 + (next() % 9) as usize;
            let (level, slope) = ((next() % 15) as f64, -((next() % 100) as f64) / 100.0);
            let t: Vec<f64> = (0..n)
                .map(|k| k as f64 + (next() % 3) as f64 / 7.0)
                .collect();
            let y: Vec<f64> = t
                .iter()
                .map(|t| (level + slope * t + (next() % 7) as f64 - 3.0).round())
                .collect();
            GroupStats::new(g % 3, &t, &y)
        })
        .collect();
    let mut g = c.benchmark_group("mixed_model");
    g.sample_size(20);
    g.throughput(Throughput::Elements(groups.len() as u64));
    for random in [RandomPart::InterceptSlope, RandomPart::Intercept] {
        g.bench_with_input(BenchmarkId::new("fit", random.label()), &groups, |b, gr| {
            b.iter(|| black_box(lmm::fit(gr, 3, random)))
        });
    }
    g.finish();
}

criterion_group!(
    benches,
    bench_ingest,
    bench_pairing_and_outcomes,
    bench_cell_statistics,
    bench_mixed_model
);
criterion_main!(benches);
