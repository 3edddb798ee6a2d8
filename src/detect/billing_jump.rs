//! Billing jumps: a service's daily cost in one account far above its seasonal baseline
//! (T1583.003 / T1584.003 leave a bill; T1496 resource hijacking above all).
//!
//! ## Model
//! The series is the daily cost per (provider, account, service). Days on which the account has
//! no billing rows at all are *missing* (exports lag, a day fails) and are neither tested nor
//! used as history; they are reported as data gaps.
//! - **Expected**: the median of the same weekday over the trailing `baseline_days` when at least
//!   three such days exist, else the median of all history days (weekday-aware, robust to a past
//!   spike). Monthly charges land on the 1st, and 1sts are left out of the other days' history.
//!   A service that bills only on the 1st (support, reservations) is compared with earlier 1sts
//!   (up to `monthly_lookback_days` back); a service that bills every day is tested on the 1st
//!   like any day, expecting at least the median of its earlier 1sts. A 1st with no earlier 1st
//!   in the data is cold start: reservations are often billed under the compute service itself.
//! - **Spread**: 1.4826 * MAD of the history, floored at `relative_sd_floor * expected` and
//!   `absolute_sd_floor`, so a flat series does not make a cent look like a storm.
//! - **Practical floors**: a day is only a candidate when it exceeds expected by `min_increase`
//!   (currency units) and by `min_ratio` times: a $0.02 service doubling is not a finding. Days
//!   below the floors are still tests (with p = 1) and count in the false-discovery control;
//!   leaving them out would shrink the family to the suspicious days and loosen every threshold.
//! - **Test**: `z = (observed - expected) / spread`, p from a Student t with `n - 1` degrees of
//!   freedom (heavier tails than a normal for short histories).
//!
//! Each jump is linked later ([`crate::sweep`]) to provisioning findings in the same account that
//! explain it.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Datelike, NaiveDate, TimeZone, Utc};
use serde::{Deserialize, Serialize};
use statrs::distribution::{ContinuousCDF, StudentsT};

use super::{history_range, lower, Candidate, DetectorOutput, TestDays, CANDIDATE_P};
use crate::aggregate::{as_pairs, merge_min};
use crate::baseline::{median, scaled_mad};
use crate::report::{Baseline, ColdStart, DataGap, Detector, Entities, Evidence, Severity};
use crate::schema::{BillingRecord, Provider};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BillingParams {
    pub baseline_days: u32,
    /// Fewer days of history than this: judged as cold start (severity one step lower).
    pub min_history_days: u32,
    /// Fewer than this: not judged at all (a Student t needs a few degrees of freedom).
    pub min_cold_history_days: u32,
    pub monthly_lookback_days: u32,
    pub min_increase: f64,
    pub min_ratio: f64,
    pub relative_sd_floor: f64,
    pub absolute_sd_floor: f64,
    /// Earlier days below this p-value are left out of later histories.
    pub trim_p: f64,
    /// A day that follows significant provisioning in the same account (that day or the two
    /// before) gets this many times the per-test threshold (weighted Bonferroni).
    pub linked_weight: f64,
}

impl Default for BillingParams {
    fn default() -> Self {
        BillingParams {
            baseline_days: 28,
            min_history_days: 7,
            min_cold_history_days: 3,
            monthly_lookback_days: 95,
            min_increase: 25.0,
            min_ratio: 1.5,
            relative_sd_floor: 0.25,
            absolute_sd_floor: 1.0,
            trim_p: 1e-3,
            linked_weight: 100.0,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
struct SeriesKey {
    provider: Provider,
    account: String,
    service: String,
}

#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
struct AccountDays {
    tenant: Option<String>,
    currency: Option<String>,
    days: BTreeSet<NaiveDate>,
}

/// Daily cost aggregates fed by every billing row of a sweep.
///
/// Costs are summed in integer micro-units of the currency, so the sum does not depend on the
/// order rows are read or aggregates merged (floating-point addition is not associative).
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct BillingObservations {
    #[serde(with = "as_pairs")]
    series: BTreeMap<SeriesKey, BTreeMap<NaiveDate, i64>>,
    #[serde(with = "as_pairs")]
    accounts: BTreeMap<(Provider, String), AccountDays>,
}

const MICROS: f64 = 1e6;
/// The largest daily total a series holds (`i64::MAX` micro-units, 9.2e12); sums saturate there
/// rather than wrap, and a day at the cap says so (`day_total_capped`). One line is at most
/// [`crate::normalize::MAX_LINE_COST`], so only some ten absurd lines in a day reach it.
const MAX_DAY_TOTAL: f64 = i64::MAX as f64 / MICROS;

fn to_micros(cost: f64) -> i64 {
    if cost.is_finite() {
        (cost * MICROS)
            .round()
            .clamp(i64::MIN as f64, i64::MAX as f64) as i64
    } else {
        0
    }
}

fn series_costs(series: &BTreeMap<NaiveDate, i64>) -> BTreeMap<NaiveDate, f64> {
    series
        .iter()
        .map(|(d, micros)| (*d, *micros as f64 / MICROS))
        .collect()
}

impl BillingObservations {
    pub fn observe(&mut self, row: &BillingRecord) {
        let account = row
            .account
            .clone()
            .or_else(|| row.tenant.clone())
            .unwrap_or_else(|| "-".into());
        let day = row.time.date_naive();
        let key = SeriesKey {
            provider: row.provider.clone(),
            account: account.clone(),
            service: row
                .service
                .clone()
                .unwrap_or_else(|| "(unknown service)".into()),
        };
        let cell = self.series.entry(key).or_default().entry(day).or_default();
        *cell = cell.saturating_add(to_micros(row.cost));
        let days = self
            .accounts
            .entry((row.provider.clone(), account))
            .or_default();
        days.days.insert(day);
        merge_min(&mut days.tenant, row.tenant.clone());
        merge_min(&mut days.currency, row.currency.clone());
    }

    /// Merges the aggregates of a disjoint input into these.
    pub fn merge(&mut self, other: BillingObservations) {
        for (key, days) in other.series {
            let mine = self.series.entry(key).or_default();
            for (day, micros) in days {
                let cell = mine.entry(day).or_default();
                *cell = cell.saturating_add(micros);
            }
        }
        for (key, account) in other.accounts {
            let mine = self.accounts.entry(key).or_default();
            mine.days.extend(account.days);
            merge_min(&mut mine.tenant, account.tenant);
            merge_min(&mut mine.currency, account.currency);
        }
    }

    /// The last day with billing data per account (for incidents' open/ended status).
    /// Forgets every day before `cutoff` (the scheduled run's retention).
    pub fn expire_before(&mut self, cutoff: NaiveDate) {
        for series in self.series.values_mut() {
            *series = series.split_off(&cutoff);
        }
        self.series.retain(|_, series| !series.is_empty());
        for account in self.accounts.values_mut() {
            account.days = account.days.split_off(&cutoff);
        }
        self.accounts.retain(|_, account| !account.days.is_empty());
    }

    pub fn last_days(&self) -> impl Iterator<Item = ((&Provider, &str), Option<NaiveDate>)> {
        self.accounts
            .iter()
            .map(|((p, a), d)| ((p, a.as_str()), d.days.last().copied()))
    }

    /// Runs of days inside `days` on which an account that bills daily sent nothing, one entry
    /// per run. Found between consecutive days with data, so the work and the result grow with
    /// the days that have data, never with the span between them.
    pub fn gaps(&self, days: TestDays) -> Vec<DataGap> {
        let mut gaps = Vec::new();
        for ((provider, account), seen) in &self.accounts {
            let (Some(&first), Some(&last)) = (seen.days.first(), seen.days.last()) else {
                continue;
            };
            let (from, to) = (first.max(days.first), last.min(days.last));
            if from > to {
                continue;
            }
            // The data days that bound the window's gaps: the last one at or before `from`, the
            // first one at or after `to` (`first` and `last` are data days, so both exist).
            let (Some(&start), Some(&end)) = (
                seen.days.range(..=from).next_back(),
                seen.days.range(to..).next(),
            ) else {
                continue;
            };
            let mut previous = start;
            for &day in seen.days.range(start..=end).skip(1) {
                let (Some(after), Some(before)) = (previous.succ_opt(), day.pred_opt()) else {
                    previous = day;
                    continue;
                };
                let (gap_first, gap_last) = (after.max(from), before.min(to));
                if gap_first <= gap_last {
                    gaps.push(DataGap {
                        provider: provider.clone(),
                        account: Some(account.clone()),
                        source: "billing".into(),
                        first_day: gap_first,
                        last_day: gap_last,
                        days: u32::try_from((gap_last - gap_first).num_days() + 1)
                            .unwrap_or(u32::MAX),
                    });
                }
                previous = day;
            }
        }
        gaps
    }
}

pub fn detect(
    observations: &BillingObservations,
    days: TestDays,
    params: &BillingParams,
) -> DetectorOutput {
    detect_with(observations, days, params, CANDIDATE_P)
}

/// [`detect`], listing every test with a p-value below `keep_p` (1.0 lists all; for tests).
pub fn detect_with(
    observations: &BillingObservations,
    days: TestDays,
    params: &BillingParams,
    keep_p: f64,
) -> DetectorOutput {
    let mut output = DetectorOutput::default();
    let mut cold = BTreeSet::new();
    for (key, series) in &observations.series {
        let account = &observations.accounts[&(key.provider.clone(), key.account.clone())];
        let series = series_costs(series);
        let series = &series;
        let mut anomalous = BTreeSet::new();
        // Only days on which the account sent billing data are tested; the rest are gaps. Every
        // day up to the last judged one is computed in order, so the jumps left out of later
        // histories do not depend on which days a sweep judges.
        for &day in account.days.range(..=days.last) {
            let observed = series.get(&day).copied().unwrap_or(0.0);
            let outcome = test_day(series, &account.days, &anomalous, day, observed, params);
            if let DayTest::Tested { p_value, .. } = outcome {
                if p_value < params.trim_p {
                    anomalous.insert(day);
                }
            }
            if day < days.first {
                continue;
            }
            if !matches!(outcome, DayTest::ColdStart(_)) {
                output.count_test(&key.provider, &key.account, account.tenant.as_deref(), day);
            }
            match outcome {
                DayTest::Tested {
                    expected,
                    p_value,
                    history,
                    cold: is_cold,
                } => {
                    if is_cold && cold.insert(key.clone()) {
                        output.cold_start.push(ColdStart {
                            detector: Detector::BillingJump,
                            scope: format!("{}/{}/{}", key.provider, key.account, key.service),
                            history_days: history,
                            needed_days: params.min_history_days,
                        });
                    }
                    if p_value < keep_p || keep_p >= 1.0 {
                        let test = DayOf {
                            key,
                            account,
                            day,
                            observed,
                            expected,
                            p_value,
                            history,
                            cold: is_cold,
                        };
                        output.candidates.push(candidate(&test, params));
                    }
                }
                DayTest::ColdStart(history) => {
                    if observed > params.min_increase && cold.insert(key.clone()) {
                        output.cold_start.push(ColdStart {
                            detector: Detector::BillingJump,
                            scope: format!("{}/{}/{}", key.provider, key.account, key.service),
                            history_days: history,
                            needed_days: params.min_history_days,
                        });
                    }
                }
                DayTest::BelowFloors => {}
            }
        }
    }
    output
}

enum DayTest {
    Tested {
        expected: f64,
        p_value: f64,
        history: u32,
        cold: bool,
    },
    ColdStart(u32),
    BelowFloors,
}

/// `anomalous`: the series' earlier days that were jumps themselves, left out of the history so
/// that a second jump a few days after the first is compared with the usual level.
fn test_day(
    series: &BTreeMap<NaiveDate, f64>,
    account_days: &BTreeSet<NaiveDate>,
    anomalous: &BTreeSet<NaiveDate>,
    day: NaiveDate,
    observed: f64,
    params: &BillingParams,
) -> DayTest {
    let first_of_month = day.day() == 1;
    let values = |from: NaiveDate, to: NaiveDate, firsts: bool| -> Vec<(NaiveDate, f64)> {
        account_days
            .range(from..=to)
            .filter(|d| (d.day() == 1) == firsts && !anomalous.contains(d))
            .map(|d| (*d, series.get(d).copied().unwrap_or(0.0)))
            .collect()
    };
    let (from, to) = history_range(day, params.baseline_days);
    let regular = values(from, to, false);
    let (monthly_from, monthly_to) = history_range(day, params.monthly_lookback_days);
    let mut earlier_firsts: Vec<f64> = values(monthly_from, monthly_to, true)
        .into_iter()
        .map(|(_, v)| v)
        .collect();
    let regular_level =
        median(&mut regular.iter().map(|(_, v)| *v).collect::<Vec<_>>()).unwrap_or(0.0);
    // A service that bills only on the 1st (support, reservations) is compared with earlier 1sts;
    // a service that bills every day is tested on the 1st like any day, expecting at least its
    // usual monthly extra.
    let monthly_only = first_of_month && regular_level <= 0.0;
    if first_of_month && earlier_firsts.is_empty() {
        // Reservations and support are billed on the 1st, often under the compute service
        // itself: without an earlier 1st there is no telling a monthly fee from a jump.
        return DayTest::ColdStart(0);
    }
    let history: Vec<(NaiveDate, f64)> = if monthly_only {
        values(monthly_from, monthly_to, true)
    } else {
        regular
    };
    if !monthly_only && history.len() < params.min_cold_history_days as usize {
        return DayTest::ColdStart(history.len() as u32);
    }
    // Fewer days than `min_history_days`: judged all the same, the Student t's few degrees of
    // freedom make it demand a far larger jump, and the finding says cold start.
    let cold = !monthly_only && history.len() < params.min_history_days as usize;
    let mut same_weekday: Vec<f64> = history
        .iter()
        .filter(|(d, _)| d.weekday() == day.weekday())
        .map(|(_, v)| *v)
        .collect();
    let mut all: Vec<f64> = history.iter().map(|(_, v)| *v).collect();
    let mut expected = if same_weekday.len() >= 3 {
        median(&mut same_weekday).unwrap_or(0.0)
    } else {
        median(&mut all.clone()).unwrap_or(0.0)
    };
    if first_of_month {
        expected = expected.max(median(&mut earlier_firsts).unwrap_or(0.0));
    }
    if observed - expected < params.min_increase || observed < expected * params.min_ratio {
        return DayTest::BelowFloors;
    }
    let center = median(&mut all).unwrap_or(0.0);
    let spread = scaled_mad(&all, center)
        .unwrap_or(0.0)
        .max(params.relative_sd_floor * expected)
        .max(params.absolute_sd_floor);
    let z = (observed - expected) / spread;
    let dof = (history.len() as f64 - 1.0).max(1.0);
    let p_value = StudentsT::new(0.0, 1.0, dof)
        .map(|t| t.sf(z))
        .unwrap_or(1.0);
    DayTest::Tested {
        expected,
        p_value,
        history: history.len() as u32,
        cold,
    }
}

/// One tested day of one series.
struct DayOf<'a> {
    key: &'a SeriesKey,
    account: &'a AccountDays,
    day: NaiveDate,
    observed: f64,
    expected: f64,
    p_value: f64,
    history: u32,
    cold: bool,
}

fn candidate(test: &DayOf, params: &BillingParams) -> Candidate {
    let &DayOf {
        key,
        account,
        day,
        observed,
        expected,
        p_value,
        history,
        cold,
    } = test;
    let currency = account.currency.clone().unwrap_or_default();
    let start = Utc.from_utc_datetime(&day.and_hms_opt(0, 0, 0).expect("midnight"));
    let end = start + chrono::Duration::days(1) - chrono::Duration::seconds(1);
    let ratio = if expected > 0.0 {
        observed / expected
    } else {
        f64::INFINITY
    };
    let mut severity = if ratio >= 10.0 || observed - expected >= 1000.0 {
        Severity::High
    } else {
        Severity::Medium
    };
    // Against nothing expected there is no ratio to print (it would read `inf`).
    let mut signals = vec![if expected > 0.0 {
        format!("ratio:{ratio:.1}")
    } else {
        "nothing_expected".to_string()
    }];
    if observed.abs() >= MAX_DAY_TOTAL {
        signals.push("day_total_capped".to_string());
    }
    if cold {
        severity = lower(severity);
        signals.push("cold_start".to_string());
    }
    Candidate {
        detector: Detector::BillingJump,
        identity: vec!["billing_jump".into(), key.provider.to_string(), key.account.clone(), key.service.clone()],
        day,
        title: format!("{} cost in {} jumped to {:.2} {} on {} (expected {:.2})", key.service, key.account, observed, currency, day, expected),
        provider: key.provider.clone(),
        tenant: account.tenant.clone(),
        account: Some(key.account.clone()),
        first_seen: start,
        last_seen: end,
        mitre: vec!["T1496".into(), "T1584.003".into(), "T1583.003".into()],
        entities: Entities { services: vec![key.service.clone()], ..Entities::default() },
        baseline: Baseline {
            observed: (observed * 100.0).round() / 100.0,
            expected: (expected * 100.0).round() / 100.0,
            p_value,
            threshold: 1.0,
            window_days: history.min(params.monthly_lookback_days),
            method: "weekday-aware median and MAD of daily cost, Student t, with absolute and relative floors".into(),
            signals,
        },
        evidence: Evidence::default(),
        severity,
        facts: BTreeSet::from(["cost_jump".to_string()]),
        signed_in: BTreeSet::new(),
        sources: BTreeSet::new(),
        currency: account.currency.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{BillingCategory, SourceRef};

    fn row(day: NaiveDate, service: &str, cost: f64) -> BillingRecord {
        BillingRecord {
            time: Utc.from_utc_datetime(&day.and_hms_opt(0, 0, 0).unwrap()),
            provider: Provider::Aws,
            tenant: Some("111122223333".into()),
            account: Some("111122223333".into()),
            category: BillingCategory::Billing,
            service: Some(service.into()),
            cost,
            currency: Some("USD".into()),
            source: SourceRef {
                file: "t".into(),
                record: 1,
            },
        }
    }

    fn d(month: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2024, month, day).unwrap()
    }

    /// EC2 at ~100/day on weekdays, ~40 on weekends; S3 at 0.02/day; Support 300 on the 1st.
    fn two_months(obs: &mut BillingObservations) {
        let mut day = d(1, 1);
        while day <= d(2, 29) {
            let weekend = day.weekday().number_from_monday() >= 6;
            obs.observe(&row(
                day,
                "Amazon EC2",
                if weekend { 40.0 } else { 100.0 } + (day.ordinal() % 7) as f64,
            ));
            obs.observe(&row(day, "Amazon S3", 0.02));
            if day.day() == 1 {
                obs.observe(&row(day, "AWS Support", 300.0));
            }
            day = day.succ_opt().unwrap();
        }
    }

    fn test_days(first: NaiveDate, last: NaiveDate) -> TestDays {
        TestDays { first, last }
    }

    /// A young series (from the 2nd: the 1st is a monthly day): a six-day jump from its fifth day
    /// (judged as cold start), then a second jump that is compared with the usual level, not
    /// with the first jump.
    #[test]
    fn a_second_jump_is_compared_with_the_usual_level_not_the_first_jump() {
        let mut obs = BillingObservations::default();
        let mut day = d(2, 2);
        while day <= d(2, 14) {
            let jumped = (6..=11).contains(&day.day());
            let cost = match day.day() {
                14 => 300.0,
                _ if jumped => 400.0,
                n => 100.0 + f64::from(n % 3),
            };
            obs.observe(&row(day, "Amazon EC2", cost));
            day = day.succ_opt().unwrap();
        }
        let out = detect_with(
            &obs,
            test_days(d(2, 2), d(2, 14)),
            &BillingParams::default(),
            1.0,
        );
        let on = |n: u32| {
            out.candidates
                .iter()
                .find(|c| c.day == d(2, n))
                .unwrap_or_else(|| panic!("day {n} tested"))
        };
        assert!(on(6).baseline.p_value < 1e-3, "{:?}", on(6).baseline);
        assert!(on(6).baseline.signals.contains(&"cold_start".to_string()));
        assert!(on(14).baseline.p_value < 1e-3, "{:?}", on(14).baseline);
        assert!(on(14).baseline.expected < 110.0, "{:?}", on(14).baseline);
    }

    #[test]
    fn a_quiet_series_with_weekly_rhythm_and_monthly_charges_has_no_jump() {
        let mut obs = BillingObservations::default();
        two_months(&mut obs);
        let out = detect(
            &obs,
            test_days(d(1, 15), d(2, 29)),
            &BillingParams::default(),
        );
        assert!(
            out.candidates.iter().all(|c| c.baseline.p_value > 1e-3),
            "{:?}",
            out.candidates.iter().map(|c| &c.title).collect::<Vec<_>>()
        );
    }

    #[test]
    fn a_mining_bill_is_a_jump() {
        let mut obs = BillingObservations::default();
        two_months(&mut obs);
        obs.observe(&row(d(3, 1), "Amazon EC2", 100.0));
        obs.observe(&row(d(3, 1), "AWS Support", 300.0));
        obs.observe(&row(d(3, 2), "Amazon EC2", 2400.0));
        let out = detect(&obs, test_days(d(3, 1), d(3, 2)), &BillingParams::default());
        let jumps: Vec<_> = out
            .candidates
            .iter()
            .filter(|c| c.baseline.p_value < 1e-4)
            .collect();
        assert_eq!(
            jumps.len(),
            1,
            "{:?}",
            out.candidates
                .iter()
                .map(|c| (&c.title, c.baseline.p_value))
                .collect::<Vec<_>>()
        );
        assert_eq!(jumps[0].entities.services, vec!["Amazon EC2"]);
        assert_eq!(jumps[0].severity, Severity::High);
    }

    #[test]
    fn a_tiny_service_doubling_is_below_the_floors() {
        let mut obs = BillingObservations::default();
        two_months(&mut obs);
        obs.observe(&row(d(3, 4), "Amazon EC2", 100.0));
        obs.observe(&row(d(3, 4), "Amazon S3", 0.08));
        let out = detect(&obs, test_days(d(3, 4), d(3, 4)), &BillingParams::default());
        assert!(out.candidates.is_empty());
    }

    /// Twenty lines at the per-line cap in one day: the total saturates, every number of the
    /// finding stays finite, and the finding says the total was capped.
    #[test]
    fn an_absurd_day_saturates_with_finite_numbers_and_says_so() {
        let mut obs = BillingObservations::default();
        let mut day = d(1, 2);
        while day <= d(1, 20) {
            obs.observe(&row(day, "Amazon EC2", 100.0));
            day = day.succ_opt().unwrap();
        }
        for _ in 0..20 {
            obs.observe(&row(
                d(1, 21),
                "Amazon EC2",
                crate::normalize::MAX_LINE_COST,
            ));
        }
        obs.observe(&row(d(1, 21), "Brand new service", 500.0));
        let out = detect(
            &obs,
            test_days(d(1, 21), d(1, 21)),
            &BillingParams::default(),
        );
        let jump = out
            .candidates
            .iter()
            .find(|c| c.entities.services == ["Amazon EC2"])
            .expect("the day is tested");
        let b = &jump.baseline;
        assert!(b.observed.is_finite() && b.expected.is_finite() && b.p_value.is_finite());
        assert!((b.observed - MAX_DAY_TOTAL).abs() < 1.0, "{b:?}");
        assert!(b.signals.contains(&"day_total_capped".to_string()), "{b:?}");
        assert!(
            !jump.title.contains("inf") && !jump.title.contains("NaN"),
            "{}",
            jump.title
        );
        // A service new to the account expected nothing: no ratio against zero.
        let new = out
            .candidates
            .iter()
            .find(|c| c.entities.services == ["Brand new service"])
            .expect("tested against the account's days");
        assert_eq!(new.baseline.expected, 0.0);
        assert_eq!(new.baseline.signals, ["nothing_expected"]);
    }

    #[test]
    fn a_missing_day_is_a_gap_not_a_drop() {
        let mut obs = BillingObservations::default();
        obs.observe(&row(d(1, 1), "Amazon EC2", 10.0));
        obs.observe(&row(d(1, 3), "Amazon EC2", 10.0));
        let gaps = obs.gaps(test_days(d(1, 1), d(1, 3)));
        assert_eq!(gaps.len(), 1);
        assert_eq!((gaps[0].first_day, gaps[0].last_day), (d(1, 2), d(1, 2)));
        assert_eq!(gaps[0].days, 1);
    }

    /// A source silent for two months is one gap of 59 days, cut to the window; a second
    /// silence is a second gap.
    #[test]
    fn consecutive_missing_days_are_one_gap_cut_to_the_window() {
        let mut obs = BillingObservations::default();
        for day in [d(1, 1), d(1, 2), d(3, 2), d(3, 5), d(3, 6)] {
            obs.observe(&row(day, "Amazon EC2", 10.0));
        }
        let spans = |first, last| {
            obs.gaps(test_days(first, last))
                .iter()
                .map(|g| (g.first_day, g.last_day, g.days))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            spans(d(1, 1), d(3, 6)),
            [(d(1, 3), d(3, 1), 59), (d(3, 3), d(3, 4), 2)]
        );
        assert_eq!(
            spans(d(2, 10), d(3, 3)),
            [(d(2, 10), d(3, 1), 21), (d(3, 3), d(3, 3), 1)]
        );
        assert_eq!(spans(d(3, 5), d(3, 6)), []);
        // Days after the account's last data are not gaps: the export may simply lag.
        assert_eq!(spans(d(3, 6), d(4, 30)), []);
    }
}
