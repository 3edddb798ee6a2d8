//! The detectors' state: compact per-entity aggregates of the normalized records.
//!
//! Every record of a sweep is folded into [`Aggregates`] once; the detectors then read only the
//! aggregates. They are built so that
//! - **they merge**: the aggregates of two disjoint inputs merge into the aggregates of their
//!   union ([`Aggregates::merge`], tested as a property), so files can be read in parallel and
//!   combined, and a stored baseline can absorb a new hour;
//! - **they serialize with a version** ([`Aggregates::VERSION`]), so the scheduled run can store
//!   them instead of re-reading history;
//! - **they grow with entities, not events**: per account, principal, day, region, family,
//!   network, user, source and service, with bounded evidence samples.
//!
//! `docs/aggregates.md` documents them as tables, the contract a distributed engine could compute.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::detect::billing_jump::BillingObservations;
use crate::detect::credential_stuffing::LoginObservations;
use crate::detect::provisioning::ProvisioningObservations;
use crate::detect::HostingLookup;
use crate::schema::{Provider, Record};

/// All the detectors' aggregates of one input.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct Aggregates {
    pub version: u32,
    pub provisioning: ProvisioningObservations,
    pub logins: LoginObservations,
    pub billing: BillingObservations,
    /// (provider, account) -> the larger tenant it was seen under (the smallest name when
    /// records disagree, so the result does not depend on reading order).
    #[serde(with = "as_pairs")]
    pub tenant_of_account: BTreeMap<(Provider, String), String>,
}

impl Aggregates {
    /// Bumped whenever the serialized shape changes; a stored state of another version is
    /// rebuilt from the inputs, never misread.
    pub const VERSION: u32 = 2;

    pub fn new() -> Self {
        Aggregates {
            version: Self::VERSION,
            ..Aggregates::default()
        }
    }

    pub fn observe(&mut self, record: Record, hosting: &dyn HostingLookup) {
        let (provider, tenant, account) = (record.provider(), record.tenant(), record.account());
        if let (Some(tenant), Some(account)) = (tenant, account) {
            if tenant != account {
                // Every record passes here: the key is looked up without being built.
                let entry = crate::lookup::provider_entry(
                    &mut self.tenant_of_account,
                    provider,
                    account,
                    || (provider.clone(), account.to_string()),
                );
                // A new entry is empty; a tenant never is (fields::text drops empty text).
                if entry.is_empty() || tenant < entry.as_str() {
                    *entry = tenant.to_string();
                }
            }
        }
        match record {
            Record::Event(event) => {
                self.provisioning.observe(&event, hosting);
                self.logins.observe(&event);
            }
            Record::Billing(row) => self.billing.observe(&row),
        }
    }

    /// Folds the aggregates of a disjoint input into these.
    pub fn merge(&mut self, other: Aggregates) {
        self.provisioning.merge(other.provisioning);
        self.logins.merge(other.logins);
        self.billing.merge(other.billing);
        for (key, tenant) in other.tenant_of_account {
            let entry = self
                .tenant_of_account
                .entry(key)
                .or_insert_with(|| tenant.clone());
            if tenant < *entry {
                *entry = tenant;
            }
        }
    }

    /// Forgets every day before `cutoff`: what the scheduled run's retention keeps is the days
    /// from `cutoff` on, as if nothing older had been read. Which account belongs to which
    /// tenant is kept (it grows with accounts, not days).
    pub fn expire_before(&mut self, cutoff: chrono::NaiveDate) {
        self.provisioning.expire_before(cutoff);
        self.logins.expire_before(cutoff);
        self.billing.expire_before(cutoff);
    }

    /// The aggregates in their canonical form (sign-in timelines sorted and coalesced), so two
    /// equal states compare and serialize equal.
    pub fn canonical(mut self) -> Self {
        self.logins.compact();
        self.provisioning.compact();
        self
    }
}

/// Keeps the smaller of two optional values: an order-free way to pick one of several names.
pub fn merge_min<T: Ord>(mine: &mut Option<T>, other: Option<T>) {
    if let Some(other) = other {
        match mine {
            Some(current) if *current <= other => {}
            _ => *mine = Some(other),
        }
    }
}

/// Unions two maps of sets.
pub fn merge_sets<K: Ord, V: Ord>(
    mine: &mut BTreeMap<K, BTreeSet<V>>,
    other: BTreeMap<K, BTreeSet<V>>,
) {
    for (key, values) in other {
        mine.entry(key).or_default().extend(values);
    }
}

/// Serializes a map with non-string keys as a list of `[key, value]` pairs (JSON objects only
/// take string keys).
pub mod as_pairs {
    use std::collections::BTreeMap;

    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<K: Serialize, V: Serialize, S: Serializer>(
        map: &BTreeMap<K, V>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(map.iter())
    }

    pub fn deserialize<'de, K, V, D>(deserializer: D) -> Result<BTreeMap<K, V>, D::Error>
    where
        K: Deserialize<'de> + Ord,
        V: Deserialize<'de>,
        D: Deserializer<'de>,
    {
        let pairs: Vec<(K, V)> = Vec::deserialize(deserializer)?;
        Ok(pairs.into_iter().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::NoHostingRanges;
    use crate::schema::{
        BillingCategory, BillingRecord, Category, Event, Outcome, Resource, SourceRef,
    };
    use chrono::{TimeZone, Utc};
    use proptest::prelude::*;

    fn record(i: usize, day: u32, hour: u32, who: u8, kind: u8, n: u32) -> Record {
        let time = Utc.with_ymd_and_hms(2025, 3, day, hour, 0, 0).unwrap();
        let source = SourceRef {
            file: format!("f{}", i % 3).into(),
            record: i as u64,
        };
        if kind == 3 {
            return Record::Billing(BillingRecord {
                time,
                provider: Provider::Aws,
                tenant: Some("o-1".into()),
                account: Some(format!("acct{}", who % 2)),
                category: BillingCategory::Billing,
                service: Some("EC2".into()),
                cost: f64::from(n) * 0.1 + 0.003,
                currency: Some("USD".into()),
                source,
            });
        }
        let (category, operation) = match kind {
            0 => (Category::Provision, "RunInstances"),
            1 => (Category::Login, "ConsoleLogin"),
            _ => (Category::Api, "DescribeInstances"),
        };
        Record::Event(Box::new(Event {
            event_id: None,
            time,
            provider: Provider::Aws,
            tenant: Some("o-1".into()),
            account: Some(format!("acct{}", who % 2)),
            region: Some(["us-east-1", "eu-west-1"][(n % 2) as usize].into()),
            category,
            class_uid: 6003,
            operation: operation.into(),
            principal: Some(format!("user{who}")),
            src_ip: Some(format!("203.0.113.{}", n % 5)),
            user_agent: None,
            outcome: Some(if n.is_multiple_of(3) {
                Outcome::Failure
            } else {
                Outcome::Success
            }),
            reason: None,
            resource: Resource {
                instance_type: Some("m5.large".into()),
                instance_count: Some(n % 7 + 1),
                id: n.is_multiple_of(2).then(|| format!("i-{}", n % 4)),
                ..Resource::default()
            },
            source,
        }))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        /// Two aggregates of disjoint inputs merge into the aggregate of their union, and the
        /// state survives serialization.
        #[test]
        fn aggregates_of_disjoint_inputs_merge_into_those_of_the_union(
            rows in prop::collection::vec((1u32..20, 0u32..24, 0u8..4, 0u8..4, 0u32..50, any::<bool>()), 1..120)
        ) {
            let mut whole = Aggregates::new();
            let (mut left, mut right) = (Aggregates::new(), Aggregates::new());
            for (i, (day, hour, who, kind, n, side)) in rows.iter().enumerate() {
                let r = record(i, *day, *hour, *who, *kind, *n);
                whole.observe(r.clone(), &NoHostingRanges);
                if *side { left.observe(r, &NoHostingRanges) } else { right.observe(r, &NoHostingRanges) }
            }
            // Merge in the order that differs from the reading order.
            right.merge(left);
            let (whole, merged) = (whole.canonical(), right.canonical());
            prop_assert_eq!(&whole, &merged);
            let json = serde_json::to_string(&merged).unwrap();
            let back: Aggregates = serde_json::from_str(&json).unwrap();
            prop_assert_eq!(back.version, Aggregates::VERSION);
            prop_assert_eq!(back.canonical(), whole);
        }

        /// Expiring the days before a cutoff leaves the aggregates of the records from it on,
        /// as if the older ones had never been read.
        #[test]
        fn expired_aggregates_are_those_of_the_kept_days(
            rows in prop::collection::vec((1u32..20, 0u32..24, 0u8..4, 0u8..4, 0u32..50), 1..120),
            cutoff in 1u32..21,
        ) {
            let cutoff_day = chrono::NaiveDate::from_ymd_opt(2025, 3, cutoff).unwrap();
            let mut all = Aggregates::new();
            let mut kept = Aggregates::new();
            for (i, (day, hour, who, kind, n)) in rows.iter().enumerate() {
                let r = record(i, *day, *hour, *who, *kind, *n);
                if *day >= cutoff {
                    kept.observe(r.clone(), &NoHostingRanges);
                }
                all.observe(r, &NoHostingRanges);
            }
            all.expire_before(cutoff_day);
            let (mut all, mut kept) = (all.canonical(), kept.canonical());
            // Which account belongs to which tenant outlives the days (documented).
            all.tenant_of_account.clear();
            kept.tenant_of_account.clear();
            prop_assert_eq!(all, kept);
        }
    }
}
