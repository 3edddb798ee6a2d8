//! When a finding counts as the detection of a labeled attack.
//!
//! A finding matches an attack when all of these hold:
//! - the finding's detector is the one meant for the attack's kind ([`AttackKind::detected_by`]);
//! - the provider is the same;
//! - the tenant is the same, or, when the finding carries no tenant (an AWS account outside an
//!   organization, say), its account is the attack's account;
//! - the finding's `[first_seen, last_seen]` overlaps `[start − tolerance, end + tolerance]`,
//!   both ends inclusive;
//! - when both name principals (the attack its attacker's identities, the finding its
//!   `entities.principals`), they share one, compared without case: another person's launch
//!   the next morning is not evidence of this attack.
//!
//! The tolerance (24 h by default) exists because billing is daily: the cost of an attack that
//! ends at 23:00 lands in the next day's row, and a billing finding then starts after the attack.

use chrono::TimeDelta;

use super::labels::{Attack, AttackKind};
use crate::report::Finding;

/// Whether `finding` is evidence of `attack` under the rule in the module doc.
pub fn finding_matches(finding: &Finding, attack: &Attack, tolerance: TimeDelta) -> bool {
    AttackKind::detected_by(finding.detector) == attack.kind
        && finding.provider == attack.provider
        && same_scope(finding, attack)
        && overlaps(finding, attack, tolerance)
        && same_principal(finding, attack)
}

fn same_principal(finding: &Finding, attack: &Attack) -> bool {
    let named = &finding.entities.principals;
    if named.is_empty() || attack.principals.is_empty() {
        return true;
    }
    attack
        .principals
        .iter()
        .any(|a| named.iter().any(|n| n.eq_ignore_ascii_case(a)))
}

fn same_scope(finding: &Finding, attack: &Attack) -> bool {
    match &finding.tenant {
        Some(tenant) => *tenant == attack.tenant,
        None => finding.account.as_deref() == Some(attack.account.as_str()),
    }
}

fn overlaps(finding: &Finding, attack: &Attack, tolerance: TimeDelta) -> bool {
    // Saturate instead of overflowing: a huge tolerance means "any time".
    let window_start = attack
        .start
        .checked_sub_signed(tolerance)
        .unwrap_or(chrono::DateTime::<chrono::Utc>::MIN_UTC);
    let window_end = attack
        .end
        .checked_add_signed(tolerance)
        .unwrap_or(chrono::DateTime::<chrono::Utc>::MAX_UTC);
    finding.first_seen <= window_end && finding.last_seen >= window_start
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::testing::{at, attack, finding};
    use crate::report::Detector;
    use crate::schema::Provider;

    fn day() -> TimeDelta {
        TimeDelta::hours(24)
    }

    #[test]
    fn a_finding_about_another_principal_is_not_evidence() {
        let mut a = attack(
            "a1",
            AttackKind::Provisioning,
            "t1",
            "acct-1",
            at(10, 0),
            at(10, 2),
        );
        a.principals = vec!["arn:aws:iam::1:user/Omar".into()];
        let mut f = finding(
            "f1",
            Detector::Provisioning,
            Some("t1"),
            Some("acct-1"),
            at(10, 1),
            at(10, 1),
        );
        f.entities.principals = vec!["arn:aws:iam::1:user/hiro".into()];
        assert!(!finding_matches(&f, &a, day()));
        f.entities
            .principals
            .push("arn:aws:iam::1:user/omar".into());
        assert!(finding_matches(&f, &a, day()));
        // A billing finding names nobody: scope and time decide.
        f.entities.principals.clear();
        assert!(finding_matches(&f, &a, day()));
    }

    #[test]
    fn exact_match() {
        let a = attack(
            "a1",
            AttackKind::Provisioning,
            "t1",
            "acct-1",
            at(10, 0),
            at(10, 2),
        );
        let f = finding(
            "f1",
            Detector::Provisioning,
            Some("t1"),
            Some("acct-1"),
            at(10, 1),
            at(10, 1),
        );
        assert!(finding_matches(&f, &a, day()));
    }

    #[test]
    fn tolerance_edge_after_the_attack_is_inclusive() {
        let a = attack(
            "a1",
            AttackKind::BillingJump,
            "t1",
            "acct-1",
            at(10, 0),
            at(10, 23),
        );
        // The attack ends on day 10 at 23:00; +24 h is day 11 at 23:00.
        let inside = finding(
            "f1",
            Detector::BillingJump,
            Some("t1"),
            None,
            at(11, 23),
            at(12, 0),
        );
        assert!(finding_matches(&inside, &a, day()));
        let mut outside = inside.clone();
        outside.first_seen += TimeDelta::seconds(1);
        assert!(!finding_matches(&outside, &a, day()));
    }

    #[test]
    fn tolerance_edge_before_the_attack_is_inclusive() {
        let a = attack(
            "a1",
            AttackKind::BillingJump,
            "t1",
            "acct-1",
            at(10, 0),
            at(10, 2),
        );
        let inside = finding(
            "f1",
            Detector::BillingJump,
            Some("t1"),
            None,
            at(8, 0),
            at(9, 0),
        );
        assert!(finding_matches(&inside, &a, day()));
        let mut outside = inside.clone();
        outside.last_seen -= TimeDelta::seconds(1);
        assert!(!finding_matches(&outside, &a, day()));
        // With no tolerance the same finding is too early.
        assert!(!finding_matches(&inside, &a, TimeDelta::zero()));
    }

    #[test]
    fn a_finding_spanning_the_whole_attack_matches() {
        let a = attack(
            "a1",
            AttackKind::Provisioning,
            "t1",
            "acct-1",
            at(10, 5),
            at(10, 6),
        );
        let f = finding(
            "f1",
            Detector::Provisioning,
            Some("t1"),
            None,
            at(3, 0),
            at(20, 0),
        );
        assert!(finding_matches(&f, &a, TimeDelta::zero()));
    }

    #[test]
    fn detector_must_map_to_the_attack_kind() {
        let a = attack(
            "a1",
            AttackKind::CredentialStuffing,
            "t1",
            "acct-1",
            at(10, 0),
            at(10, 2),
        );
        for (detector, expected) in [
            (Detector::CredentialStuffing, true),
            (Detector::Provisioning, false),
            (Detector::BillingJump, false),
        ] {
            let f = finding("f1", detector, Some("t1"), None, at(10, 1), at(10, 1));
            assert_eq!(finding_matches(&f, &a, day()), expected, "{detector:?}");
        }
    }

    #[test]
    fn provider_and_tenant_must_agree() {
        let a = attack(
            "a1",
            AttackKind::Provisioning,
            "t1",
            "acct-1",
            at(10, 0),
            at(10, 2),
        );
        let mut f = finding(
            "f1",
            Detector::Provisioning,
            Some("t2"),
            Some("acct-1"),
            at(10, 1),
            at(10, 1),
        );
        // A named tenant that differs is not rescued by an equal account.
        assert!(!finding_matches(&f, &a, day()));
        f.tenant = Some("t1".into());
        f.provider = Provider::Azure;
        assert!(!finding_matches(&f, &a, day()));
    }

    #[test]
    fn without_a_tenant_the_account_decides() {
        let a = attack(
            "a1",
            AttackKind::Provisioning,
            "t1",
            "acct-1",
            at(10, 0),
            at(10, 2),
        );
        let same = finding(
            "f1",
            Detector::Provisioning,
            None,
            Some("acct-1"),
            at(10, 1),
            at(10, 1),
        );
        assert!(finding_matches(&same, &a, day()));
        let other = finding(
            "f2",
            Detector::Provisioning,
            None,
            Some("acct-9"),
            at(10, 1),
            at(10, 1),
        );
        assert!(!finding_matches(&other, &a, day()));
        let neither = finding(
            "f3",
            Detector::Provisioning,
            None,
            None,
            at(10, 1),
            at(10, 1),
        );
        assert!(!finding_matches(&neither, &a, day()));
    }
}
