# Reference values for tests/test_survival.py (run by hand: Rscript tests/reference/survival_reference.R;
# `make test` never runs R). R 4.2, survival 3.x, cmprsk. Data: tests/reference/survival_small.csv
# (60 synthetic subjects: cause 0 censored, 1 the event of interest, 2 a competing ending;
# x binary, z continuous, 11 clusters, entry > 0 for some rows = delayed entry).
suppressPackageStartupMessages({library(survival); library(cmprsk)})
args <- commandArgs(trailingOnly = FALSE)
here <- dirname(normalizePath(sub("--file=", "", args[grep("--file=", args)])))
d <- read.csv(file.path(here, "survival_small.csv"))
d$ev <- as.integer(d$cause == 1)
out <- function(label, x) cat(label, "=", paste(formatC(unname(x), digits = 12, format = "g"), collapse = ", "), "\n")
cat("R", R.version.string, "survival", as.character(packageVersion("survival")),
    "cmprsk", as.character(packageVersion("cmprsk")), "\n")

# 1. Aalen-Johansen cumulative incidence of cause 1 (cmprsk::cuminc, Gray's variance)
grid <- c(10, 25, 50, 75, 100, 150, 200)
ci <- cuminc(d$time, d$cause)
tp <- timepoints(ci, grid)
out("cuminc_est_cause1", tp$est["1 1", ])
out("cuminc_var_cause1", tp$var["1 1", ])
aj <- survfit(Surv(time, factor(cause)) ~ 1, data = d)
out("survfit_aj_cause1", summary(aj, times = grid)$pstate[, 2])

# 2. Kaplan-Meier median and log-log CI, event = cause 1, group x == 0
km <- survfit(Surv(time, ev) ~ 1, data = d[d$x == 0, ], conf.type = "log-log")
out("km_median_x0", summary(km)$table[c("median", "0.95LCL", "0.95UCL")])

# 3. log-rank and cluster-robust score test (Breslow ties), event = cause 1, by x
out("survdiff_chisq", survdiff(Surv(time, ev) ~ x, data = d)$chisq)
fb <- coxph(Surv(time, ev) ~ x, data = d, ties = "breslow", cluster = cluster)
out("breslow_naive_score", fb$score)
out("breslow_robust_score", fb$rscore)

# 4. Cause-specific Cox (Efron), SE clustered by cluster
f1 <- coxph(Surv(time, ev) ~ x + z, data = d, cluster = cluster)
out("cox_coef", coef(f1)); out("cox_robust_se", sqrt(diag(f1$var))); out("cox_naive_se", sqrt(diag(f1$naive.var)))
# counting-process rows (delayed entry)
f2 <- coxph(Surv(entry, time, ev) ~ x + z, data = d, cluster = cluster)
out("cox_entry_coef", coef(f2)); out("cox_entry_robust_se", sqrt(diag(f2$var)))
# stratified by the sign of z
d$zpos <- d$z > 0
f3 <- coxph(Surv(time, ev) ~ x + strata(zpos), data = d, cluster = cluster)
out("cox_strata_coef", coef(f3)); out("cox_strata_robust_se", sqrt(diag(f3$var)))

# 5. Proportional-hazards score tests (cox.zph) of the unclustered model x + z
f0 <- coxph(Surv(time, ev) ~ x + z, data = d)
for (tr in c("km", "rank", "identity")) {
  zp <- cox.zph(f0, transform = tr)
  out(paste0("zph_", tr, "_chisq"), zp$table[, "chisq"]); out(paste0("zph_", tr, "_p"), zp$table[, "p"])
}
zp <- cox.zph(coxph(Surv(entry, time, ev) ~ x + z, data = d), transform = "km")
out("zph_entry_km_chisq", zp$table[, "chisq"])

# 6. Fine-Gray for cause 1: cmprsk::crr, and survival::finegray + weighted coxph (Breslow)
fg <- crr(d$time, d$cause, cov1 = cbind(x = d$x, z = d$z), failcode = 1, cencode = 0)
out("crr_coef", fg$coef); out("crr_se", sqrt(diag(fg$var)))
fgd <- finegray(Surv(time, factor(cause)) ~ ., data = d[, c("id", "time", "cause", "x", "z", "cluster")], etype = "1")
c1 <- coxph(Surv(fgstart, fgstop, fgstatus) ~ x + z + cluster(id), weights = fgwt, data = fgd, ties = "breslow")
out("finegray_coef", coef(c1)); out("finegray_robust_se_id", sqrt(diag(c1$var)))
c2 <- coxph(Surv(fgstart, fgstop, fgstatus) ~ x + z + cluster(cluster), weights = fgwt, data = fgd, ties = "breslow")
out("finegray_robust_se_cluster", sqrt(diag(c2$var)))

# 7. Aalen-Johansen with delayed entry (survfit multi-state on (entry, time])
aje <- survfit(Surv(entry, time, factor(cause)) ~ 1, data = d, id = id)
out("survfit_aj_entry_cause1", summary(aje, times = grid[1:5])$pstate[, 2])

# 8. Time-varying coefficient x * log(t) (tt term), SE clustered
ft <- coxph(Surv(time, ev) ~ x + z + tt(x), data = d, cluster = cluster, tt = function(x, t, ...) x * log(t))
out("cox_tt_coef", coef(ft)); out("cox_tt_robust_se", sqrt(diag(ft$var)))

# 9. Stratified log-rank with delayed entry is not in survdiff; score test of x in a stratified
# counting-process model (Breslow) instead
fs <- coxph(Surv(entry, time, ev) ~ x + strata(zpos), data = d, ties = "breslow", cluster = cluster)
out("breslow_entry_strata_naive_score", fs$score); out("breslow_entry_strata_robust_score", fs$rscore)
