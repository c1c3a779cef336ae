//! Ordinary least squares as R's `lm` fits it: QR (nalgebra), columns taken in order, a
//! column whose part not explained by the columns before it has a norm below 1e-7 of its own
//! norm is aliased (LINPACK dqrdc2's rule) and gets no coefficient, like R's `NA`.

use nalgebra::{DMatrix, DVector};
use statrs::distribution::{ContinuousCDF, FisherSnedecor, StudentsT};

/// R's tolerance for `lm.fit`.
pub const TOL: f64 = 1e-7;

/// A fitted linear model.
#[derive(Debug, Clone, PartialEq)]
pub struct Fit {
    /// One per column; `None` when aliased.
    pub coef: Vec<Option<f64>>,
    /// Standard errors; `None` when aliased or with no residual degrees of freedom.
    pub se: Vec<Option<f64>>,
    pub rank: usize,
    pub df_resid: usize,
    pub rss: f64,
}

impl Fit {
    /// (t, two-sided p) of coefficient `j`.
    pub fn t_test(&self, j: usize) -> Option<(f64, f64)> {
        let (b, se) = (self.coef[j]?, self.se[j]?);
        if se <= 0.0 {
            return None;
        }
        let t = b / se;
        let p = 2.0
            * StudentsT::new(0.0, 1.0, self.df_resid as f64)
                .ok()?
                .cdf(-t.abs());
        Some((t, p.min(1.0)))
    }
}

/// Fits `y ~ X` (X holds the intercept column if wanted).
pub fn fit(x: &DMatrix<f64>, y: &DVector<f64>) -> Fit {
    let (n, p) = x.shape();
    let mut kept: Vec<usize> = Vec::new();
    for j in 0..p {
        let col = x.column(j).into_owned();
        let norm = col.norm();
        if norm == 0.0 {
            continue;
        }
        let resid_norm = if kept.is_empty() {
            norm
        } else {
            let sub = x.select_columns(kept.iter());
            let q = sub.qr().q();
            (&col - &q * (q.transpose() * &col)).norm()
        };
        if resid_norm >= TOL * norm {
            kept.push(j);
        }
    }
    let rank = kept.len();
    let mut coef = vec![None; p];
    let mut se = vec![None; p];
    if rank == 0 {
        return Fit {
            coef,
            se,
            rank,
            df_resid: n,
            rss: y.norm_squared(),
        };
    }
    let xk = x.select_columns(kept.iter());
    let qr = xk.clone().qr();
    let (q, r) = (qr.q(), qr.r());
    let qty = q.transpose() * y;
    let beta = r
        .solve_upper_triangular(&qty)
        .expect("kept columns are independent");
    let resid = y - &xk * &beta;
    let rss = resid.norm_squared();
    let df_resid = n - rank;
    let rinv = r
        .solve_upper_triangular(&DMatrix::identity(rank, rank))
        .expect("kept columns are independent");
    let cov = &rinv * rinv.transpose();
    for (k, &j) in kept.iter().enumerate() {
        coef[j] = Some(beta[k]);
        if df_resid > 0 {
            se[j] = Some((cov[(k, k)] * rss / df_resid as f64).sqrt());
        }
    }
    Fit {
        coef,
        se,
        rank,
        df_resid,
        rss,
    }
}

/// The sequential F test of adding the later model's extra columns (R's `anova` row):
/// (F, df1, df2, p); `None` when df1 or df2 is 0.
pub fn f_test(smaller: &Fit, larger: &Fit) -> Option<(f64, usize, usize, f64)> {
    let df1 = larger.rank.checked_sub(smaller.rank)?;
    let df2 = larger.df_resid;
    if df1 == 0 || df2 == 0 {
        return None;
    }
    let f = ((smaller.rss - larger.rss) / df1 as f64) / (larger.rss / df2 as f64);
    if !f.is_finite() {
        return None;
    }
    let p = FisherSnedecor::new(df1 as f64, df2 as f64)
        .ok()?
        .sf(f.max(0.0));
    Some((f, df1, df2, p))
}
