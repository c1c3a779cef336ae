# Reference values for tests/it/longitudinal.rs (lme4 1.1-31, lmerTest 3.1-3, R 4.2.2): the
# rows of longitudinal.csv (SPEC §12) for a few instrument x track groups of a small synthetic
# export, computed from the export's CSV files by R alone (the L1 selection and the pairing are
# redone here, independently of the product).
#
#   iop-outcomes synth --episodes 300 --seed 15 --out /tmp/lref
#   Rscript tests/r/longitudinal_reference.R /tmp/lref > /tmp/longitudinal_ref.rs   (paste it)
#
# L1: the cohort is every discharged episode (the default follow-up point `discharge`, no
# period); its assessments from admission - 14 to admission + 120 days; t = days / 7. Per group
# (instrument x track, or all tracks) the per-modality model and the margin, written as the
# explicit design (an indicator and indicator * t per modality present, byte order) so that it
# reads as SPEC L2's formulas:
#   lmer(score ~ 0 + modality + modality:t + (1 + t | episode_id), REML = TRUE)
#   lmer(score ~ 1 + t + (1 + t | episode_id), REML = TRUE)
# with (1 | episode_id) for both when nrow <= 2 * episodes. Each model is fitted with several
# optimizers at tolerances near machine precision and the lowest REML criterion is kept (SPEC
# L4, as tests/r/lmm_reference.R); lmerTest's Satterthwaite summary at that optimum.
# n_without_followup: episodes in the model without a discharge follow-up (SPEC §5: baseline
# the earliest assessment in admission -14..+14 days, follow-up in discharge -14..+14 days, at
# least 7 days after the baseline).
suppressMessages({library(lme4); library(lmerTest)})

args <- commandArgs(trailingOnly = TRUE)
if (length(args) < 1) stop("usage: Rscript tests/r/longitudinal_reference.R EXPORT_DIR")
dir <- args[1]

tight_fit <- function(formula, data) {
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
  list(fit = fits[[which.min(crit)]], crit = crit)
}

lt_model <- function(fit, formula, data) {
  devfun <- suppressMessages(lme4::lmer(formula, data = data, REML = TRUE, devFunOnly = TRUE))
  suppressWarnings(lmerTest:::as_lmerModLT(fit, devfun))
}

g17 <- function(x) {
  s <- sprintf("%.17g", x)
  ifelse(grepl("[.eEn]", s), s, paste0(s, ".0"))  # Rust float literals
}
opt <- function(x) if (is.na(x)) "None" else sprintf("Some(%s)", g17(x))

eps <- read.csv(file.path(dir, "episodes.csv"), stringsAsFactors = FALSE)
asm <- read.csv(file.path(dir, "assessments.csv"), stringsAsFactors = FALSE)
eps <- eps[eps$discharge_date != "", ]                       # the cohort (discharge anchor)
a <- merge(asm, eps[, c("episode_id", "track", "modality", "admit_date", "discharge_date")],
           by = "episode_id")
a$day <- as.numeric(as.Date(a$assessed_on) - as.Date(a$admit_date))
a$to_discharge <- as.numeric(as.Date(a$assessed_on) - as.Date(a$discharge_date))

# Pairing (SPEC §5) per episode x instrument, over every assessment of the episode.
followed <- function(x) {
  b <- x[x$day >= -14 & x$day <= 14, ]
  if (nrow(b) == 0) return(FALSE)
  b0 <- min(b$day)
  any(x$to_discharge >= -14 & x$to_discharge <= 14 & x$day - b0 >= 7 & x$day != b0)
}
key <- paste(a$episode_id, a$instrument)
has_fu <- vapply(split(a, key), followed, TRUE)

d <- a[a$day >= -14 & a$day <= 120, ]                      # L1
d$t <- d$day / 7
d$followed <- has_fu[paste(d$episode_id, d$instrument)]

case <- function(inst, track) {
  x <- d[d$instrument == inst & (track == "All" | d$track == track), ]
  x$episode_id <- factor(x$episode_id)
  mods <- sort(unique(x$modality), method = "radix")          # byte order
  n_ep <- nlevels(x$episode_id)
  slope_re <- nrow(x) > 2 * n_ep
  re <- if (slope_re) "(1 + t | episode_id)" else "(1 | episode_id)"
  cols <- c()
  for (k in seq_along(mods)) {
    x[[sprintf("m%d", k)]] <- as.numeric(x$modality == mods[k])
    x[[sprintf("m%d_t", k)]] <- x[[sprintf("m%d", k)]] * x$t
    cols <- c(cols, sprintf("m%d", k), sprintf("m%d_t", k))
  }
  per_modality <- as.formula(paste("score ~ 0 +", paste(cols, collapse = " + "), "+", re))
  margin <- as.formula(paste("score ~ 1 + t +", re))
  cat(sprintf("    // R: %s x %s: %d rows, %d episodes\n", inst, track, nrow(x), n_ep))
  cat(sprintf("    //   %s\n    //   %s\n", deparse(per_modality, width.cutoff = 500),
              deparse(margin, width.cutoff = 500)))
  models <- list(list(f = per_modality, labels = mods, names = sprintf("m%d_t", seq_along(mods))),
                 list(f = margin, labels = "All", names = "t"))
  for (m in models) {
    r <- tight_fit(m$f, x)
    f <- r$fit
    co <- summary(lt_model(f, m$f, x))$coefficients
    vc <- as.data.frame(VarCorr(f))
    sd_int <- vc$sdcor[vc$var1 == "(Intercept)" & is.na(vc$var2) & vc$grp == "episode_id"]
    sd_slope <- if (slope_re) vc$sdcor[vc$var1 == "t" & is.na(vc$var2) & vc$grp == "episode_id"] else NA
    corr <- if (slope_re) vc$sdcor[!is.na(vc$var2)] else NA
    cat(sprintf("    //   REMLcrit by optimizer: %s\n", paste(names(r$crit), g17(r$crit), collapse = ", ")))
    for (k in seq_along(m$labels)) {
      lab <- m$labels[k]
      rows <- if (lab == "All") rep(TRUE, nrow(x)) else x$modality == lab
      e <- unique(x$episode_id[rows])
      without <- sum(!tapply(x$followed[rows], droplevels(x$episode_id[rows]), all))
      s <- co[m$names[k], ]
      q <- qt(0.975, s[3])
      cat(sprintf("    Ref { instrument: \"%s\", track: \"%s\", modality: \"%s\", n_episodes: %d, n_assessments: %d, n_without_followup: %d,\n",
                  inst, track, lab, length(e), sum(rows), without))
      cat(sprintf("        // summary(as_lmerModLmerTest(fit))$coefficients[\"%s\", ]; Estimate -/+ qt(0.975, df) * SE\n", m$names[k]))
      cat(sprintf("        slope: %s, se: %s, df: %s, t: %s, p: %s, ci: (%s, %s),\n",
                  g17(s[1]), g17(s[2]), g17(s[3]), g17(s[4]), g17(s[5]), g17(s[1] - q * s[2]), g17(s[1] + q * s[2])))
      cat(sprintf("        // as.data.frame(VarCorr(fit))$sdcor; sigma(fit); REMLcrit(fit); isSingular(fit, tol = 1e-4)\n"))
      cat(sprintf("        random: \"%s\", sd_intercept: %s, sd_slope: %s, corr: %s, sigma: %s, reml: %s, singular: %s },\n",
                  if (slope_re) "intercept+slope" else "intercept", g17(sd_int), opt(sd_slope), opt(corr),
                  g17(sigma(f)), g17(REMLcrit(f)), tolower(isSingular(f, tol = 1e-4))))
    }
  }
}

cat("const REFERENCE: &[Ref] = &[\n")
case("GAD7", "co_occurring")       # four modalities
case("GAD7", "All")                # five modalities over three tracks
case("PHQ9", "mental_health")      # a singular fit (corr = 1)
case("DAYS_USED", "substance_use") # (1 | episode_id): at most two assessments per episode
cat("];\n")
