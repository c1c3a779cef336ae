# Reference values for src/stats/lmm/reference_tests.rs (lme4 1.1-31, lmerTest 3.1-3, R 4.2.2).
# Run: Rscript tests/r/lmm_reference.R > /tmp/lmm_ref.rs   (prints Rust constants; paste them)
#
# Every model is fitted with several optimizers at tolerances near machine precision and the
# fit with the lowest REML criterion is kept (SPEC L4); lmerTest's Satterthwaite summary is
# then computed at that optimum (lmerTest:::as_lmerModLT with the model's own deviance
# function: what as_lmerModLmerTest does, without re-evaluating the call in the caller's frame).
suppressMessages({library(lme4); library(lmerTest)})

tight_fit <- function(formula, data) {
  quiet <- function(ct) ct
  ctrls <- list(
    bobyqa_0.2 = lmerControl(optimizer = "bobyqa", calc.derivs = FALSE, check.conv.singular = "ignore",
                             optCtrl = list(rhobeg = 0.2, rhoend = 1e-12, maxfun = 1e5)),
    bobyqa_1 = lmerControl(optimizer = "bobyqa", calc.derivs = FALSE, check.conv.singular = "ignore",
                           optCtrl = list(rhobeg = 1, rhoend = 1e-12, maxfun = 1e5)),
    Nelder_Mead = lmerControl(optimizer = "Nelder_Mead", calc.derivs = FALSE, check.conv.singular = "ignore",
                              optCtrl = list(FtolAbs = 1e-15, FtolRel = 1e-15, XtolRel = 1e-12, maxfun = 1e5)),
    nloptwrap = lmerControl(optimizer = "nloptwrap", calc.derivs = FALSE, check.conv.singular = "ignore",
                            optCtrl = list(xtol_abs = 1e-14, ftol_abs = 1e-14, xtol_rel = 0, ftol_rel = 0,
                                           maxeval = 1e5)))
  fits <- lapply(ctrls, function(ct) suppressWarnings(suppressMessages(
    lme4::lmer(formula, data = data, REML = TRUE, control = ct))))
  crit <- sapply(fits, REMLcrit)
  default <- suppressWarnings(suppressMessages(lme4::lmer(formula, data = data, REML = TRUE)))
  list(fit = fits[[which.min(crit)]], crit = crit, default = REMLcrit(default))
}

lt_model <- function(fit, formula, data) {
  devfun <- suppressMessages(lme4::lmer(formula, data = data, REML = TRUE, devFunOnly = TRUE))
  suppressWarnings(lmerTest:::as_lmerModLT(fit, devfun))
}

g17 <- function(x) {
  s <- sprintf("%.17g", x)
  ifelse(grepl("[.eEn]", s), s, paste0(s, ".0"))  # Rust float literals
}
vec <- function(x) paste(x, collapse = ", ")
opt <- function(x) if (is.na(x)) "None" else sprintf("Some(%s)", g17(x))

dump_case <- function(name, d, formula, n_arms, random, data_name = NULL) {
  r <- tight_fit(formula, d)
  f <- r$fit
  m <- lt_model(f, formula, d)
  co <- summary(m)$coefficients
  vc <- as.data.frame(VarCorr(f))
  sd_int <- vc$sdcor[vc$var1 == "(Intercept)" & is.na(vc$var2) & vc$grp == "g"]
  sd_slope <- if (random == "InterceptSlope") vc$sdcor[vc$var1 == "t" & is.na(vc$var2) & vc$grp == "g"] else NA
  corr <- if (random == "InterceptSlope") vc$sdcor[!is.na(vc$var2)] else NA
  cat(sprintf("// R (%s): %s, %d rows, %d groups\n", name, deparse(formula), nrow(d), nlevels(d$g)))
  cat(sprintf("// REMLcrit by optimizer: %s\n", paste(names(r$crit), g17(r$crit), collapse = ", ")))
  cat(sprintf("// REMLcrit with lme4's default control: %s\n", g17(r$default)))
  if (is.null(data_name)) {
    cat(sprintf("pub(super) const %s: Data = Data {\n", toupper(name)))
    cat(sprintf("    g: &[%s],\n", vec(as.integer(as.character(d$g)))))
    cat(sprintf("    arm: &[%s],\n", vec(d$arm)))
    cat(sprintf("    t: &[%s],\n", vec(g17(d$t))))
    cat(sprintf("    y: &[%s],\n};\n", vec(g17(d$y))))
  } else {
    cat(sprintf("// Data: %s\n", toupper(data_name)))
  }
  cat(sprintf("const %s_R: Ref = Ref {\n", toupper(name)))
  cat(sprintf("    random: RandomPart::%s,\n    n_arms: %d,\n", random, n_arms))
  cat(sprintf("    // REMLcrit(fit); getME(fit, \"theta\"); sigma(fit); as.data.frame(VarCorr(fit))$sdcor\n"))
  cat(sprintf("    reml: %s,\n    theta: &[%s],\n    sigma: %s,\n", g17(REMLcrit(f)),
              paste(g17(getME(f, "theta")), collapse = ", "), g17(sigma(f))))
  cat(sprintf("    sd_intercept: %s,\n    sd_slope: %s,\n    corr: %s,\n", g17(sd_int), opt(sd_slope), opt(corr)))
  cat(sprintf("    // isSingular(fit, tol = 1e-4)\n    singular: %s,\n", tolower(isSingular(f, tol = 1e-4))))
  cat("    // summary(as_lmerModLmerTest(fit))$coefficients: (arm, slope?, Estimate, Std. Error, df, t value, Pr(>|t|))\n")
  cat("    coefs: &[\n")
  ci <- c()
  for (nm in rownames(co)) {
    if (n_arms == 1) {
      a <- 0; slope <- nm == "t"
    } else {
      a <- as.integer(sub("^armf([0-9]+).*$", "\\1", nm)); slope <- grepl(":t$", nm)
    }
    x <- co[nm, ]
    cat(sprintf("        (%d, %s, %s, %s, %s, %s, %s), // %s\n", a, tolower(slope),
                g17(x[1]), g17(x[2]), g17(x[3]), g17(x[4]), g17(x[5]), nm))
    if (slope) {
      q <- qt(0.975, x[3])
      ci <- c(ci, sprintf("        (%d, %s, %s),", a, g17(x[1] - q * x[2]), g17(x[1] + q * x[2])))
    }
  }
  cat("    ],\n    // Estimate -/+ qt(0.975, df) * Std. Error for each slope\n    ci: &[\n")
  cat(paste(ci, collapse = "\n"), "\n    ],\n};\n\n", sep = "")
}

# Simulated longitudinal scores: G groups cycling through k arms, 1..nmax assessments on
# distinct days in 0..120, t = day / 7 weeks, integer scores.
sim <- function(seed, G, k, sd0, sd1, rho, sde, nmax = 7, days = 0:120) {
  set.seed(seed)
  arm <- rep(0:(k - 1), length.out = G)
  rows <- list()
  for (g in 1:G) {
    n <- sample(1:nmax, 1)
    day <- sort(sample(days, n))
    z <- rnorm(2)
    b0 <- sd0 * z[1]; b1 <- sd1 * (rho * z[1] + sqrt(1 - rho^2) * z[2])
    t <- day / 7
    y <- round(15 - 2 * arm[g] + b0 + (-0.5 + 0.2 * arm[g] + b1) * t + rnorm(n, sd = sde))
    rows[[g]] <- data.frame(g = g, arm = arm[g], t = t, y = y)
  }
  d <- do.call(rbind, rows)
  d$g <- factor(d$g); d$armf <- factor(d$arm)
  d
}

# 1. sleepstudy (balanced, one arm).
ss <- data.frame(g = factor(as.integer(as.character(sleepstudy$Subject))), arm = 0,
                 t = sleepstudy$Days, y = sleepstudy$Reaction)
dump_case("sleepstudy", ss, y ~ 1 + t + (1 + t | g), 1, "InterceptSlope")

# 2. Unbalanced, irregular times, three arms.
d2 <- sim(20240601, 36, 3, 3, 0.4, -0.3, 2)
dump_case("three_arms", d2, y ~ 0 + armf + armf:t + (1 + t | g), 3, "InterceptSlope")

# 3. A singular fit: the tight optimum has theta3 = 0, i.e. corr = +-1.
d3 <- sim(2, 20, 1, 3, 0.15, 0.9, 2.5)
dump_case("singular", d3, y ~ 1 + t + (1 + t | g), 1, "InterceptSlope")

# 3b. A singular (1 | g) fit: the tight optimum has theta = 0 (no between-group variance).
d3b <- sim(4, 30, 2, 0.3, 0, 0, 2.5, nmax = 3)
dump_case("zero_variance", d3b, y ~ 0 + armf + armf:t + (1 | g), 2, "Intercept")

# 4. The random-intercept fallback: n_obs <= 2 * n_groups; two arms.
d4 <- sim(7, 40, 2, 3, 0.3, 0, 2, nmax = 3)
stopifnot(nrow(d4) <= 2 * nlevels(d4$g))
dump_case("intercept_only", d4, y ~ 0 + armf + armf:t + (1 | g), 2, "Intercept")

# 5. One arm, unbalanced, irregular times (the All margin model y ~ 1 + t).
d5 <- sim(99, 25, 1, 4, 0.3, 0.4, 3)
dump_case("one_arm", d5, y ~ 1 + t + (1 + t | g), 1, "InterceptSlope")

# 6. Arm 1's slope is not estimable: all its assessments on day 14 (t = 2); lme4 drops armf1:t
#    ("fixed-effect model matrix is rank deficient so dropping 1 column / coefficient").
d6 <- sim(29, 24, 2, 3, 0.4, 0, 2, nmax = 6)
d6$t[d6$arm == 1] <- 2
d6 <- d6[!duplicated(d6[, c("g", "t")]) | d6$arm == 0, ]
dump_case("aliased_slope", d6, y ~ 0 + armf + armf:t + (1 + t | g), 2, "InterceptSlope")

# 6b. The same rows with (1 | g).
dump_case("aliased_slope_intercept", d6, y ~ 0 + armf + armf:t + (1 | g), 2, "Intercept",
          data_name = "aliased_slope")
