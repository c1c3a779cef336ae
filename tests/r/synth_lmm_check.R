# Checks that lme4 recovers the slopes `synth` plants (src/synth/model.rs; R 4.2.2, lme4 1.1-31).
#
#   iop-outcomes synth --episodes 20000 --seed 2026 --out /tmp/lmm20k
#   Rscript tests/r/synth_lmm_check.R /tmp/lmm20k          # the check (lmm_clean instruments)
#   Rscript tests/r/synth_lmm_check.R /tmp/lmm20k --all    # also the clamped instruments, for information
#   Rscript tests/r/synth_lmm_check.R /tmp/lmm20k --csv rows.csv   # also writes the checked rows
#
# Per instrument x track, over the assessments from admission - 14 to admission + 120 days,
# t = weeks since admission, the product's model
#   lmer(score ~ 0 + modality + modality:t + (1 + t | episode_id), REML = TRUE)
# and, per modality row, the planted mean slope from synth.json (symptom_slope times the mean
# slope factor of the 8 equally likely sites), the estimate, its Wald SE, the 95% CI and the
# Bonferroni CI (family-wise 95% over the rows checked). Rows with fewer than 100 episodes are
# skipped. Exit status 1 when a planted slope lies outside its Bonferroni interval.
# Only the instruments synth.json lists as lmm_clean are checked: on the others the scale floor
# is reached within 120 days and a linear model's slope is biased towards zero (--all shows it).
suppressMessages({library(lme4); library(jsonlite)})
options(width = 250)

args <- commandArgs(trailingOnly = TRUE)
if (length(args) < 1) stop("usage: Rscript tests/r/synth_lmm_check.R EXPORT_DIR [--all]")
dir <- args[1]
show_all <- "--all" %in% args
csv_out <- if ("--csv" %in% args) args[which(args == "--csv") + 1] else NA

truth <- fromJSON(file.path(dir, "synth.json"), simplifyVector = FALSE)
if (truth$dirty != 0) stop("generate the export with --dirty 0: bad rows are not filtered here")
planted <- truth$planted
factors <- vapply(planted$site_effects, function(e) e$slope_factor, 0)
mean_factor <- (8 - length(factors) + sum(factors)) / 8
clean <- unlist(planted$lmm_clean)

eps <- read.csv(file.path(dir, "episodes.csv"), stringsAsFactors = FALSE)
asm <- read.csv(file.path(dir, "assessments.csv"), stringsAsFactors = FALSE)
d <- merge(asm, eps[, c("episode_id", "track", "modality", "admit_date")], by = "episode_id")
days <- as.numeric(as.Date(d$assessed_on) - as.Date(d$admit_date))
d <- d[days >= -14 & days <= 120, ]
d$t <- as.numeric(as.Date(d$assessed_on) - as.Date(d$admit_date)) / 7

fit_rows <- function(instruments) {
  out <- NULL
  for (inst in instruments) for (track in sort(unique(d$track[d$instrument == inst]))) {
    x <- d[d$instrument == inst & d$track == track, ]
    n_ep <- tapply(x$episode_id, x$modality, function(v) length(unique(v)))
    x <- x[x$modality %in% names(n_ep)[n_ep >= 100], ]
    if (nrow(x) == 0) next
    x$modality <- factor(x$modality)
    x$episode_id <- factor(x$episode_id)
    note <- ""
    f <- withCallingHandlers(
      lmer(score ~ 0 + modality + modality:t + (1 + t | episode_id), data = x, REML = TRUE,
           control = lmerControl(optimizer = "bobyqa")),
      warning = function(w) {
        note <<- "convergence warning"
        invokeRestart("muffleWarning")
      })
    b <- fixef(f)
    se <- sqrt(diag(as.matrix(vcov(f))))
    for (m in levels(x$modality)) {
      k <- paste0("modality", m, ":t")
      out <- rbind(out, data.frame(
        instrument = inst, track = track, modality = m,
        episodes = as.integer(n_ep[[m]]), rows = sum(x$modality == m),
        planted = planted$symptom_slope[[inst]][[m]] * mean_factor,
        estimate = unname(b[k]), se = unname(se[k]), note = note, stringsAsFactors = FALSE))
    }
  }
  out
}

show <- function(r, z_fw) {
  r$z <- (r$estimate - r$planted) / r$se
  r$ci95 <- sprintf("[%.4f, %.4f]", r$estimate - qnorm(0.975) * r$se, r$estimate + qnorm(0.975) * r$se)
  r$ci_bonferroni <- sprintf("[%.4f, %.4f]", r$estimate - z_fw * r$se, r$estimate + z_fw * r$se)
  r$covered <- abs(r$z) <= z_fw
  r$planted <- sprintf("%.4f", r$planted)
  r$estimate <- sprintf("%.4f", r$estimate)
  r$se <- sprintf("%.4f", r$se)
  r$z <- sprintf("%.2f", r$z)
  print(r, row.names = FALSE, right = FALSE)
  invisible(r)
}

cat(sprintf("export %s: %d episodes, seed %d, mean site slope factor %.4f\n",
            dir, truth$episodes, truth$seed, mean_factor))
rows <- fit_rows(clean)
if (!is.na(csv_out)) write.csv(rows, csv_out, row.names = FALSE)
z_fw <- qnorm(1 - 0.05 / (2 * nrow(rows)))
cat(sprintf("\nlmm_clean instruments: %d rows, Bonferroni z = %.4f (family-wise 95%%)\n",
            nrow(rows), z_fw))
checked <- show(rows, z_fw)
if (show_all) {
  other <- setdiff(sort(unique(d$instrument)), c(clean, "DAYS_USED"))
  o <- fit_rows(other)
  cat("\nClamped instruments (not checked: the scale floor biases a linear slope towards zero):\n")
  show(o, qnorm(1 - 0.05 / (2 * nrow(o))))
}
n_out <- sum(!checked$covered)
cat(sprintf("\n%d of %d planted slopes inside their family-wise 95%% intervals; %d inside their own 95%% CI\n",
            sum(checked$covered), nrow(checked),
            sum(abs(as.numeric(checked$z)) <= qnorm(0.975))))
if (n_out > 0) quit(status = 1)
