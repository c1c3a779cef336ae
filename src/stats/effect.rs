//! Effect sizes of paired change (SPEC §6, §10 S4): d_z and Hedges-corrected g_av.

use statrs::function::gamma::gamma;

/// d_z = mean(change) / sd(change); `None` for n < 2 or sd = 0.
pub fn d_z(change: &[f64]) -> Option<f64> {
    let s = super::sd(change)?;
    (s > 0.0).then(|| super::mean(change).expect("non-empty") / s)
}

/// Γ(x + ½) / Γ(x) for x > 0, accurate to a few ulps: the gamma functions directly while they
/// do not overflow, an asymptotic series beyond (truncation error < 1e-17 there).
pub fn gamma_half_ratio(x: f64) -> f64 {
    if x < 160.0 {
        return gamma(x + 0.5) / gamma(x);
    }
    // Γ(x+½)/Γ(x) = √x · (1 − 1/(8x) + 1/(128x²) + 5/(1024x³) − 21/(32768x⁴)
    //                     − 399/(262144x⁵) + 869/(4194304x⁶) + …)
    let y = 1.0 / x;
    let s = 1.0
        + y * (-1.0 / 8.0
            + y * (1.0 / 128.0
                + y * (5.0 / 1024.0
                    + y * (-21.0 / 32768.0
                        + y * (-399.0 / 262_144.0 + y * (869.0 / 4_194_304.0))))));
    x.sqrt() * s
}

/// Hedges' small-sample correction J = Γ(df/2) / (√(df/2) · Γ((df−1)/2)) for df > 1.
pub fn hedges_j(df: f64) -> f64 {
    let x = (df - 1.0) / 2.0;
    gamma_half_ratio(x) / (df / 2.0).sqrt()
}

/// g_av = J · mean(change) / ((sd_baseline + sd_followup) / 2), df = n − 1; `None` for n ≤ 2
/// or sd_baseline + sd_followup = 0.
pub fn g_av(baseline: &[f64], followup: &[f64], change: &[f64]) -> Option<f64> {
    let n = change.len();
    if n <= 2 {
        return None;
    }
    let denom = (super::sd(baseline)? + super::sd(followup)?) / 2.0;
    if denom == 0.0 {
        return None;
    }
    Some(hedges_j((n - 1) as f64) * super::mean(change)? / denom)
}
