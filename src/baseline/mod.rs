//! The statistics every detector shares: an over-dispersed count model, robust location and
//! scale, the combination of a rate test with rare signals, and false-discovery-rate control.
//!
//! ## Counts: Gamma-Poisson (negative binomial) with shrinkage
//! Daily launches, failures before a sign-in and the like are counts whose variance exceeds their
//! mean (automation launches in batches; attackers in bursts), so a Poisson model would call
//! every busy night an anomaly. We fit a negative binomial by the method of moments and shrink
//! both its mean and its over-dispersion toward weak priors, so that a short or all-zero history
//! gives a wide, honest predictive distribution instead of a certainty:
//! `mean = (sum + a0) / (n + b0)`, `phi = (n * phi_hat + k * phi0) / (n + k)`,
//! `Var = mean + phi * mean^2`. The p-value of an observation `x` is `P(X >= x)`.
//!
//! ## Signals: exact combination with the rate test
//! A detector also sees rare binary signals (first use of a region, a source in a hosting range).
//! Each has a base rate `r` from the tenant's own earlier tests (empirical Bayes: a Beta prior of
//! documented mean and weight, updated by how often the signal fired there).
//! The test statistic is `T = -ln p_rate + sum over present signals of -ln r`. Assuming the rate
//! p-value is uniform and the signals independent under the null, `P(T >= t)` is computed exactly
//! by summing over the 2^k subsets of signals ([`combined_p_value`]). A first use alone is
//! therefore unremarkable; a first use together with a burst from a hosting range is not.
//!
//! ## Many tests
//! Error control is per tenant and lives with the sweep ([`crate::detect::ErrorBudget`]).

use statrs::distribution::{DiscreteCDF, NegativeBinomial, Poisson};

/// Prior for the count model: a weak belief in a low rate, worth a few days of data.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CountPrior {
    /// Prior pseudo-count (the `a0` of the Gamma prior on the rate).
    pub pseudo_count: f64,
    /// Prior pseudo-days (the `b0` of the Gamma prior on the rate).
    pub pseudo_days: f64,
    /// Prior over-dispersion `phi0` (0 = Poisson); 1.0 means "as variable as a geometric".
    pub dispersion: f64,
    /// Weight of the dispersion prior, in days.
    pub dispersion_days: f64,
}

impl Default for CountPrior {
    fn default() -> Self {
        CountPrior {
            pseudo_count: 0.5,
            pseudo_days: 1.0,
            dispersion: 1.0,
            dispersion_days: 5.0,
        }
    }
}

/// A fitted predictive distribution for one day's count.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CountModel {
    pub mean: f64,
    pub dispersion: f64,
}

impl CountModel {
    /// Fits the model to a history of daily counts (days without data must not be passed as 0).
    pub fn fit(history: &[f64], prior: &CountPrior) -> CountModel {
        let sum: f64 = history.iter().sum();
        let sum_of_squares: f64 = history.iter().map(|x| x * x).sum();
        CountModel::fit_moments(history.len() as f64, sum, sum_of_squares, prior)
    }

    /// The same fit from running sums, so a caller can leave one observation out cheaply.
    pub fn fit_moments(n: f64, sum: f64, sum_of_squares: f64, prior: &CountPrior) -> CountModel {
        let mean = (sum + prior.pseudo_count) / (n + prior.pseudo_days);
        let sample_dispersion = if n >= 2.0 {
            let sample_mean = sum / n;
            let variance = ((sum_of_squares - n * sample_mean * sample_mean) / (n - 1.0)).max(0.0);
            if sample_mean > 0.0 {
                ((variance - sample_mean) / (sample_mean * sample_mean)).max(0.0)
            } else {
                0.0
            }
        } else {
            prior.dispersion
        };
        let dispersion = (n * sample_dispersion + prior.dispersion_days * prior.dispersion)
            / (n + prior.dispersion_days);
        CountModel { mean, dispersion }
    }

    /// `P(X >= observed)` under the model.
    pub fn p_at_least(&self, observed: f64) -> f64 {
        if observed <= 0.0 {
            return 1.0;
        }
        let threshold = observed.ceil() as u64;
        let below = threshold - 1;
        let survival = if self.dispersion < 1e-9 {
            Poisson::new(self.mean.max(1e-12))
                .map(|d| d.sf(below))
                .unwrap_or(1.0)
        } else {
            // NB with r = 1/phi successes and success probability r / (r + mean).
            let r = 1.0 / self.dispersion;
            let p = r / (r + self.mean.max(1e-12));
            NegativeBinomial::new(r, p)
                .map(|d| d.sf(below))
                .unwrap_or(1.0)
        };
        if survival.is_finite() {
            survival.clamp(0.0, 1.0)
        } else {
            1.0
        }
    }
}

/// Median of a non-empty slice (the slice is sorted in place).
pub fn median(values: &mut [f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(|a, b| a.total_cmp(b));
    let mid = values.len() / 2;
    Some(if values.len().is_multiple_of(2) {
        (values[mid - 1] + values[mid]) / 2.0
    } else {
        values[mid]
    })
}

/// Median absolute deviation about `center`, scaled by 1.4826 to estimate a normal sigma.
pub fn scaled_mad(values: &[f64], center: f64) -> Option<f64> {
    let mut deviations: Vec<f64> = values.iter().map(|v| (v - center).abs()).collect();
    median(&mut deviations).map(|mad| 1.4826 * mad)
}

/// A rare binary signal with the base rate it has under normal activity.
#[derive(Debug, Clone, PartialEq)]
pub struct Signal {
    pub name: &'static str,
    pub present: bool,
    pub base_rate: f64,
}

/// The exact `P(T >= t)` for `T = -ln p_rate + sum_{present} -ln r_i`, with `p_rate` uniform
/// and the signals independent Bernoulli(r_i) under the null. See the module docs.
pub fn combined_p_value(p_rate: f64, signals: &[Signal]) -> f64 {
    combined_p_values(&[p_rate], signals)
}

/// The same for several independent p-values: `T = sum -ln p_j + sum_{present} -ln r_i`, where
/// the p-value part is Gamma(k, 1) under the null (Fisher's method) and the signals are summed
/// over exactly.
pub fn combined_p_values(p_values: &[f64], signals: &[Signal]) -> f64 {
    let weight = |s: &Signal| -(s.base_rate.clamp(1e-12, 1.0)).ln();
    let observed: f64 = p_values
        .iter()
        .map(|p| -p.clamp(1e-300, 1.0).ln())
        .sum::<f64>()
        + signals
            .iter()
            .filter(|s| s.present)
            .map(weight)
            .sum::<f64>();
    let k = signals.len();
    assert!(k <= 16, "too many signals for exact enumeration");
    let mut total = 0.0;
    for subset in 0u32..(1 << k) {
        let mut probability = 1.0;
        let mut signal_weight = 0.0;
        for (i, signal) in signals.iter().enumerate() {
            let rate = signal.base_rate.clamp(1e-12, 1.0);
            if subset & (1 << i) != 0 {
                probability *= rate;
                signal_weight += weight(signal);
            } else {
                probability *= 1.0 - rate;
            }
        }
        total += probability * gamma_tail(p_values.len(), observed - signal_weight);
    }
    total.clamp(0.0, 1.0)
}

/// `P(X >= y)` for X ~ Gamma(k, 1), the sum of `k` independent `-ln U`.
fn gamma_tail(k: usize, y: f64) -> f64 {
    if y <= 0.0 {
        return 1.0;
    }
    let mut term = 1.0;
    let mut sum = 1.0;
    for i in 1..k {
        term *= y / i as f64;
        sum += term;
    }
    ((-y).exp() * sum).min(1.0)
}

/// A prior for a count's upper tail: `P(X >= k)` for `k = 1..=survival.len()`, then falling by
/// `decay` per further unit. For counts whose tail is lumpy (people who forgot a password retry
/// until the lockout: a bump at five or six failures) a fitted negative binomial is far too thin.
/// Both fields are required in a config: half a table is no prior.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TailPrior {
    pub survival: Vec<f64>,
    pub decay: f64,
}

impl TailPrior {
    /// `P(X >= k)` under the prior.
    pub fn survival(&self, k: u32) -> f64 {
        if k == 0 {
            return 1.0;
        }
        let k = k as usize;
        match self.survival.get(k - 1) {
            Some(s) => *s,
            None => {
                let last = self.survival.last().copied().unwrap_or(1.0);
                let beyond = (k - self.survival.len()) as i32;
                last * self.decay.powi(beyond)
            }
        }
    }

    /// The prior mean, `sum over k >= 1 of P(X >= k)`.
    pub fn mean(&self) -> f64 {
        let listed: f64 = self.survival.iter().sum();
        let last = self.survival.last().copied().unwrap_or(0.0);
        listed + last * self.decay / (1.0 - self.decay).max(1e-9)
    }
}

/// `P(X >= k)` from observed counts shrunk toward a prior tail worth `weight` observations:
/// `(#{x >= k} + weight * S0(k)) / (n + weight)`. Never zero while the prior's tail is not.
pub fn shrunk_tail(values: &[u32], k: u32, prior: &TailPrior, weight: f64) -> f64 {
    if k == 0 {
        return 1.0;
    }
    let at_least = values.iter().filter(|v| **v >= k).count() as f64;
    ((at_least + weight * prior.survival(k)) / (values.len() as f64 + weight)).clamp(0.0, 1.0)
}

/// Base rate of a signal: a Beta prior (mean `prior_rate`, weight `prior_weight` observations)
/// updated with `hits` out of `trials`.
pub fn signal_rate(hits: u64, trials: u64, prior_rate: f64, prior_weight: f64) -> f64 {
    ((hits as f64 + prior_rate * prior_weight) / (trials as f64 + prior_weight)).clamp(1e-6, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_steady_nightly_batch_is_not_surprising_but_a_burst_is() {
        let history: Vec<f64> = (0..28).map(|d| 48.0 + (d % 5) as f64).collect();
        let model = CountModel::fit(&history, &CountPrior::default());
        assert!(model.p_at_least(52.0) > 0.1, "{}", model.p_at_least(52.0));
        assert!(
            model.p_at_least(200.0) < 1e-5,
            "{}",
            model.p_at_least(200.0)
        );
    }

    #[test]
    fn an_all_zero_history_is_uncertain_not_certain() {
        let model = CountModel::fit(&[0.0; 28], &CountPrior::default());
        let one = model.p_at_least(1.0);
        assert!(one > 0.005 && one < 0.1, "{one}");
        assert!(model.p_at_least(20.0) < 1e-6);
        let short = CountModel::fit(&[0.0; 2], &CountPrior::default());
        assert!(short.p_at_least(1.0) > one, "less history, less certainty");
    }

    #[test]
    fn zero_observed_has_p_one() {
        let model = CountModel::fit(&[3.0, 4.0, 5.0], &CountPrior::default());
        assert_eq!(model.p_at_least(0.0), 1.0);
    }

    #[test]
    fn robust_scale_ignores_one_outlier() {
        let mut values = vec![10.0, 11.0, 9.0, 10.0, 12.0, 10.0, 500.0];
        let center = median(&mut values).unwrap();
        assert_eq!(center, 10.0);
        let sigma = scaled_mad(&values, center).unwrap();
        assert!(sigma < 2.0, "{sigma}");
    }

    #[test]
    fn combined_p_without_signals_is_the_rate_p() {
        let p = combined_p_value(0.01, &[]);
        assert!((p - 0.01).abs() < 1e-12);
        // An absent signal still could have fired under the null: it costs about one more p.
        let absent = [Signal {
            name: "x",
            present: false,
            base_rate: 0.05,
        }];
        let p = combined_p_value(0.01, &absent);
        assert!(p > 0.01 && p < 0.021, "{p}");
    }

    #[test]
    fn one_rare_signal_alone_is_about_twice_its_base_rate() {
        // T = ln 20; the rate p alone reaches it with probability e^-T = 0.05 as well:
        // 0.95 * 0.05 + 0.05 * 1.
        let signals = [Signal {
            name: "new_region",
            present: true,
            base_rate: 0.05,
        }];
        let p = combined_p_value(1.0, &signals);
        assert!((p - 0.0975).abs() < 1e-9, "{p}");
    }

    #[test]
    fn signals_and_burst_together_are_very_unlikely() {
        let signals = [
            Signal {
                name: "new_region",
                present: true,
                base_rate: 0.05,
            },
            Signal {
                name: "new_family",
                present: true,
                base_rate: 0.05,
            },
            Signal {
                name: "hosting_source",
                present: true,
                base_rate: 0.01,
            },
        ];
        let p = combined_p_value(1e-4, &signals);
        assert!(p < 1e-6, "{p}");
        assert!(
            p > 1e-4 * 0.05 * 0.05 * 0.01,
            "accounts for the many ways to reach T"
        );
    }

    #[test]
    fn combined_p_is_a_valid_p_value_under_the_null() {
        // Monte Carlo with a fixed LCG: P(p <= 0.05) must not exceed 0.05 by much.
        let mut state: u64 = 42;
        let mut uniform = || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((state >> 11) as f64) / ((1u64 << 53) as f64)
        };
        let trials = 20_000;
        let mut rejections = 0;
        for _ in 0..trials {
            let signals = [
                Signal {
                    name: "a",
                    present: uniform() < 0.1,
                    base_rate: 0.1,
                },
                Signal {
                    name: "b",
                    present: uniform() < 0.02,
                    base_rate: 0.02,
                },
            ];
            if combined_p_value(uniform().max(1e-12), &signals) <= 0.05 {
                rejections += 1;
            }
        }
        let rate = rejections as f64 / trials as f64;
        assert!(rate < 0.06, "{rate}");
    }

    #[test]
    fn two_p_values_combine_like_fisher() {
        // -ln 0.01 - ln 0.01 = 9.21; Gamma(2) tail = e^-9.21 * (1 + 9.21) = 0.00102.
        let p = combined_p_values(&[0.01, 0.01], &[]);
        assert!(
            (p - 0.0001 * (1.0 + 2.0 * 0.01f64.ln().abs())).abs() < 1e-9,
            "{p}"
        );
        assert_eq!(combined_p_values(&[1.0, 1.0], &[]), 1.0);
    }

    #[test]
    fn a_lumpy_tail_is_learned_and_extrapolated() {
        let prior = TailPrior {
            survival: vec![0.3, 0.1, 0.01],
            decay: 0.5,
        };
        assert_eq!(prior.survival(2), 0.1);
        assert_eq!(prior.survival(5), 0.01 * 0.25);
        assert!((prior.mean() - (0.41 + 0.01)).abs() < 1e-12);
        // A tenant whose people hit the lockout at six failures now and then.
        let mut values = vec![1u32; 80];
        values.extend([6, 6, 6, 2, 2]);
        let p6 = shrunk_tail(&values, 6, &prior, 50.0);
        assert!(p6 > 0.02, "{p6}");
        // Thirty failures are far beyond anything seen.
        assert!(shrunk_tail(&values, 30, &prior, 50.0) < 1e-8);
        assert_eq!(shrunk_tail(&values, 0, &prior, 50.0), 1.0);
    }

    #[test]
    fn signal_rates_shrink_toward_the_prior() {
        assert!((signal_rate(0, 0, 0.05, 20.0) - 0.05).abs() < 1e-12);
        let learned = signal_rate(50, 100, 0.05, 20.0);
        assert!(learned > 0.4 && learned < 0.5);
    }
}
