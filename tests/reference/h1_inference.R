# Reference values for tests/test_inference.py and tests/test_alternatives.py.
# Run: Rscript tests/reference/h1_inference.R   (R 4.2, clubSandwich, sandwich, lmtest)
# The data are the fixed vectors below; the tests hold the same vectors.
suppressMessages({library(clubSandwich); library(sandwich); library(lmtest)})
options(digits = 15)
y <- c(-1.2, 0.3, 0.0, 0.0, 0.4, -0.7, 2.1, -0.3, 0.0, 0.9, -1.6, 0.2, 0.5, -0.4)
g <- c("a", "a", "a", "a", "a", "a", "b", "b", "c", "d", "d", "e", "f", "f")
x <- c(1, 0, 1, 1, 0, 0, 1, 0, 0, 1, 1, 0, 1, 0)
# 1. CR2 with Bell-McCaffrey (Satterthwaite) df: the mean, then y ~ x
m0 <- lm(y ~ 1)
print(as.data.frame(coef_test(m0, vcov = "CR2", cluster = g, test = "Satterthwaite")), digits = 12)
m1 <- lm(y ~ x)
print(as.data.frame(coef_test(m1, vcov = "CR2", cluster = g, test = "Satterthwaite")), digits = 12)
# 2. exact cluster sign-flip test of the mean: every one of the 2^6 patterns
s <- tapply(y, g, sum)
pats <- as.matrix(expand.grid(rep(list(c(-1, 1)), length(s))))
stat <- abs(pats %*% s)
cat("signflip p =", mean(stat >= abs(sum(y)) - 1e-9), "over", nrow(pats), "patterns\n")
# cluster-weighted (mean of cluster means)
mg <- tapply(y, g, mean)
cat("signflip p (cluster means) =", mean(abs(pats %*% mg) >= abs(sum(mg)) - 1e-9), "\n")
# 3. BH
p <- c(0.01, 0.04, 0.03, 0.2, 0.5, 0.001, 0.049)
cat("BH:", sprintf("%.15f", p.adjust(p, method = "BH")), "\n")
# 4. fractional logit: allied released a, other released b
a <- c(1, 6, 20, 30, 100, 1, 3, 12, 2, 50, 7, 1)
b <- c(1, 2, 25, 30, 60, 4, 1, 12, 9, 45, 7, 3)
gg <- c("a", "a", "a", "b", "b", "c", "c", "d", "e", "e", "f", "f")
z <- c(0, 1, 0, 1, 1, 0, 0, 1, 0, 1, 0, 1)
fl <- glm(a / (a + b) ~ 1, family = quasibinomial, weights = a + b)
print(coeftest(fl, vcov = vcovCL(fl, cluster = gg, type = "HC1")))
fl2 <- glm(a / (a + b) ~ z, family = quasibinomial, weights = a + b)
print(coeftest(fl2, vcov = vcovCL(fl2, cluster = gg, type = "HC1")))
po <- glm(a ~ z + offset(log(b)), family = quasipoisson)
print(coeftest(po, vcov = vcovCL(po, cluster = gg, type = "HC1")))
# 5. a shifted outcome, so the sign-flip p-value is not near 1
y2 <- y + 0.5
print(as.data.frame(coef_test(lm(y2 ~ 1), vcov = "CR2", cluster = g, test = "Satterthwaite")), digits = 12)
s2 <- tapply(y2, g, sum)
cat("signflip p (y + 0.5) =", mean(abs(pats %*% s2) >= abs(sum(y2)) - 1e-9), "\n")
# 6. CR2 with cluster fixed effects (H5's within-dyad design): y ~ x + factor(g)
x2 <- c(0, 1, 2, 3, 4, 5, 0, 1, 0, 0, 1, 0, 0, 1)
print(as.data.frame(coef_test(lm(y ~ x2 + factor(g)), vcov = "CR2", cluster = g,
                              test = "Satterthwaite"))[2, ], digits = 12)
# 7. two-way cluster-robust SE of the mean (Cameron, Gelbach & Miller), sandwich::vcovCL
f1 <- c("A", "A", "A", "A", "A", "A", "B", "B", "C", "A", "A", "E", "B", "B")
f2 <- c("u", "u", "v", "v", "u", "w", "w", "x", "x", "y", "y", "u", "v", "x")
cat("two-way SE:", sprintf("%.12f", sqrt(vcovCL(lm(y ~ 1), cluster = ~ f1 + f2)[1, 1])), "\n")
