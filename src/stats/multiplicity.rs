//! Benjamini–Hochberg adjusted p-values: R's `p.adjust(p, "BH")`.

/// `p.adjust(p, "BH")`: i = n..1, o = order(p, decreasing = TRUE),
/// q = pmin(1, cummin(n / i * p[o]))[order(o)].
pub fn bh(p: &[f64]) -> Vec<f64> {
    let n = p.len();
    let mut o: Vec<usize> = (0..n).collect();
    // order(p, decreasing = TRUE): stable, so ties keep their input order.
    o.sort_by(|&a, &b| p[b].total_cmp(&p[a]));
    let mut q = vec![0.0; n];
    let mut run = f64::INFINITY;
    for (k, &idx) in o.iter().enumerate() {
        let i = (n - k) as f64;
        run = run.min(n as f64 / i * p[idx]);
        q[idx] = run.min(1.0);
    }
    q
}
