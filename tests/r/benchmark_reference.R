# Reference values for the benchmark wiring test (tests/it/benchmark.rs), computed from the raw
# CSV files of a clean synthetic export with base R 4.2.2 only: the pairing of SPEC §5 done
# again here (default windows, discharge follow-up point), then reliable improvement per site
# (SPEC §14 B1), Spiegelhalter's limits and the exact-tail flags (B2), and the case-mix model
# glm(improved ~ baseline + track, family = binomial) with O/E and its Poisson limits (B3).
#
#   iop-outcomes synth --episodes 3000 --seed 11 --site-effect site_03=1.5,1.0 --out DIR
#   Rscript tests/r/benchmark_reference.R DIR PHQ9 6
#
# Prints one Rust tuple per site, (unit, n, observed, target, [low_998, low_95, high_95,
# high_998], flag, E, ratio, [ratio limits in the same order]), every double with %.17g.
args <- commandArgs(trailingOnly = TRUE)
dir <- args[1]
instrument <- args[2]
threshold <- as.numeric(args[3])

eps <- read.csv(file.path(dir, "episodes.csv"), colClasses = "character")
asm <- read.csv(file.path(dir, "assessments.csv"), colClasses = "character")
eps$admit <- as.Date(eps$admit_date)
eps$discharge <- as.Date(ifelse(eps$discharge_date == "", NA, eps$discharge_date))
asm <- asm[toupper(trimws(asm$instrument)) == instrument, ]
asm$date <- as.Date(asm$assessed_on)
asm$score <- as.numeric(asm$score)

# The cohort (no period): discharged episodes. Baseline: the earliest assessment in
# [admit - 14, admit + 14]. Follow-up: in [discharge - 14, discharge + 14], at least 7 days after
# the baseline, closest to the discharge date, a tie going to the later date.
cohort <- eps[!is.na(eps$discharge), ]
by_episode <- split(asm, asm$episode_id)
rows <- lapply(seq_len(nrow(cohort)), function(i) {
  e <- cohort[i, ]
  a <- by_episode[[e$episode_id]]
  if (is.null(a)) return(NULL)
  b <- a[a$date >= e$admit - 14 & a$date <= e$admit + 14, ]
  if (nrow(b) == 0) return(NULL)
  b <- b[order(b$date), ][1, ]
  f <- a[a$date >= e$discharge - 14 & a$date <= e$discharge + 14 &
         as.numeric(a$date - b$date) >= 7, ]
  fu <- NA
  if (nrow(f) > 0) {
    dist <- abs(as.numeric(f$date - e$discharge))
    f <- f[dist == min(dist), ]
    fu <- f[order(f$date, decreasing = TRUE), ][1, "score"]
  }
  data.frame(site = e$site, track = e$track, baseline = b$score, followup = fu)
})
d <- do.call(rbind, rows)
d <- d[!is.na(d$followup), ]
d$improved <- abs(d$followup - d$baseline) >= threshold & (d$baseline - d$followup) > 0
d$site[d$site == ""] <- "(not recorded)"

g17 <- function(x) sprintf("%.17g", x)
lim <- function(P, n, p0) {
  r <- qbinom(P, n, p0)
  a <- (pbinom(r, n, p0) - P) / (pbinom(r, n, p0) - pbinom(r - 1, n, p0))
  (r - a) / n
}
plim <- function(P, E) {
  r <- qpois(P, E)
  a <- (ppois(r, E) - P) / (ppois(r, E) - ppois(r - 1, E))
  (r - a) / E
}
flag <- function(O, n, p0) {
  up <- pbinom(O - 1, n, p0, lower.tail = FALSE)
  lo <- pbinom(O, n, p0)
  if (up < .001) "high_998" else if (up < .025) "high_95" else
    if (lo < .001) "low_998" else if (lo < .025) "low_95" else "within"
}
probs <- c(0.001, 0.025, 0.975, 0.999)

fit <- glm(improved ~ baseline + track, family = binomial, data = d)
stopifnot(fit$converged)
d$fitted <- fitted(fit)
p0 <- sum(d$improved) / nrow(d)
cat(sprintf("// R: %d paired %s episodes, %d improved; tracks %s; coef %s\n", nrow(d), instrument,
            sum(d$improved), paste(sort(unique(d$track)), collapse = " "),
            paste(g17(coef(fit)), collapse = " ")))
for (s in sort(unique(d$site), method = "radix")) {
  x <- d[d$site == s, ]
  n <- nrow(x); O <- sum(x$improved); E <- sum(x$fitted)
  cat(sprintf("(\"%s\", %d, %d, %s, [%s], \"%s\", %s, %s, [%s]),\n", s, n, O, g17(p0),
              paste(g17(sapply(probs, lim, n = n, p0 = p0)), collapse = ", "),
              flag(O, n, p0), g17(E), g17(O / E),
              paste(g17(sapply(probs, plim, E = E)), collapse = ", ")))
}
