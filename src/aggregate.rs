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
    pub const VERSION: u32 = 1;

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
                let entry = self
                    .tenant_of_account
                    .entry((provider.clone(), account.to_string()))
                    .or_insert_with(|| tenant.to_string());
                if tenant < entry.as_str() {
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

    /// The aggregates in their canonical form (sign-in timelines sorted and coalesced), so two
    /// equal states compare and serialize equal.
    pub fn canonical(mut self) -> Self {
        self.logins.compact();
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
