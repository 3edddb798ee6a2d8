//! Hand-built labels and findings for the evaluator's unit tests.

use chrono::{DateTime, TimeZone, Utc};

use super::labels::{Attack, AttackKind, LabeledTenant, Labels};
use crate::report::{
    Baseline, Coverage, Detector, Finding, Report, Severity, Window, SCHEMA_VERSION,
};
use crate::schema::Provider;

/// A time in March 2024, by day of month and hour.
pub fn at(day: u32, hour: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 3, day, hour, 0, 0).unwrap()
}

/// An AWS attack.
pub fn attack(
    id: &str,
    kind: AttackKind,
    tenant: &str,
    account: &str,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Attack {
    Attack {
        id: id.into(),
        kind,
        variant: "test_variant".into(),
        provider: Provider::Aws,
        tenant: tenant.into(),
        account: account.into(),
        start,
        end,
        principals: Vec::new(),
        src_ips: Vec::new(),
    }
}

/// A provisioning attack on tenant `t1` from 00:00 to 02:00 of a day.
pub fn provisioning_attack(id: &str, day: u32) -> Attack {
    attack(
        id,
        AttackKind::Provisioning,
        "t1",
        "acct-1",
        at(day, 0),
        at(day, 2),
    )
}

/// A provisioning finding of tenant `t1` at 01:00 of a day.
pub fn provisioning_finding(id: &str, day: u32) -> Finding {
    finding(
        id,
        Detector::Provisioning,
        Some("t1"),
        None,
        at(day, 1),
        at(day, 1),
    )
}

/// Two tenants (`t1` on AWS, `t2` on Azure) over 60 days: 4 tenant-months.
pub fn labels(attacks: Vec<Attack>) -> Labels {
    let tenant = |name: &str, provider: Provider, account: &str| LabeledTenant {
        tenant: name.into(),
        provider,
        accounts: vec![account.into()],
    };
    Labels {
        seed: 1,
        start: at(1, 0),
        days: 60,
        tenants: vec![
            tenant("t1", Provider::Aws, "acct-1"),
            tenant("t2", Provider::Azure, "sub-2"),
        ],
        attacks,
    }
}

/// An AWS finding.
pub fn finding(
    id: &str,
    detector: Detector,
    tenant: Option<&str>,
    account: Option<&str>,
    first_seen: DateTime<Utc>,
    last_seen: DateTime<Utc>,
) -> Finding {
    Finding {
        id: id.into(),
        detector,
        title: format!("test finding {id}"),
        severity: Severity::High,
        provider: Provider::Aws,
        tenant: tenant.map(str::to_string),
        account: account.map(str::to_string),
        first_seen,
        last_seen,
        mitre: Vec::new(),
        entities: Default::default(),
        baseline: Baseline {
            observed: 1.0,
            expected: 0.0,
            p_value: 0.0,
            threshold: 0.0,
            window_days: 30,
            method: "test".into(),
            signals: Vec::new(),
        },
        evidence: Default::default(),
        escalate: false,
        escalation_reason: String::new(),
        next_steps: Vec::new(),
        related: Vec::new(),
        incident: Default::default(),
    }
}

pub fn report(findings: Vec<Finding>) -> Report {
    Report {
        schema_version: SCHEMA_VERSION.into(),
        generated_at: at(1, 0),
        window: Window {
            start: at(1, 0),
            end: at(31, 0),
        },
        warnings: Vec::new(),
        inputs: serde_json::Value::Null,
        coverage: Coverage::default(),
        findings,
    }
}
