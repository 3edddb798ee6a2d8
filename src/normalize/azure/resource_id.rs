//! Reading Azure resource ids (`/subscriptions/<id>/resourceGroups/<rg>/providers/<ns>/<type>/<name>`).
//!
//! Exports disagree on case (the diagnostic-settings export uppercases whole ids), so parsing is
//! case-insensitive, subscription ids come out lowercased (they are GUIDs), and the resource types
//! detectors look for are given their documented spelling.

/// Resource types that provisioning detectors match on, in Microsoft's spelling.
const CANONICAL_TYPES: &[&str] = &[
    "Microsoft.Compute/virtualMachines",
    "Microsoft.Compute/virtualMachineScaleSets",
    "Microsoft.Compute/cloudServices",
    "Microsoft.ClassicCompute/virtualMachines",
    "Microsoft.ContainerService/managedClusters",
    "Microsoft.ContainerService/managedClusters/agentPools",
    "Microsoft.Batch/batchAccounts/pools",
    "Microsoft.MachineLearningServices/workspaces/computes",
];

pub(super) const VIRTUAL_MACHINES: &str = "Microsoft.Compute/virtualMachines";
pub(super) const SCALE_SETS: &str = "Microsoft.Compute/virtualMachineScaleSets";
pub(super) const AKS_CLUSTERS: &str = "Microsoft.ContainerService/managedClusters";
pub(super) const AKS_AGENT_POOLS: &str = "Microsoft.ContainerService/managedClusters/agentPools";

/// The subscription an id lives in (`/subscriptions/<id>/...`), lowercased.
pub(super) fn subscription(id: &str) -> Option<String> {
    let mut segments = id.split('/').filter(|s| !s.is_empty());
    segments
        .by_ref()
        .find(|s| s.eq_ignore_ascii_case("subscriptions"))?;
    segments.next().map(str::to_ascii_lowercase)
}

/// The resource type an id names: the namespace after the last `providers` segment, then every
/// type segment of the type/name pairs that follow, e.g.
/// `.../providers/Microsoft.ContainerService/managedClusters/aks1/agentPools/pool1` →
/// `Microsoft.ContainerService/managedClusters/agentPools`.
pub(super) fn resource_type(id: &str) -> Option<String> {
    let segments: Vec<&str> = id.split('/').filter(|s| !s.is_empty()).collect();
    let providers = segments
        .iter()
        .rposition(|s| s.eq_ignore_ascii_case("providers"))?;
    let namespace = segments.get(providers + 1)?;
    let types: Vec<&str> = segments[providers + 2..]
        .iter()
        .step_by(2)
        .copied()
        .collect();
    if types.is_empty() {
        return None;
    }
    let written = format!("{namespace}/{}", types.join("/"));
    Some(canonical(&written).map_or(written, str::to_string))
}

/// The documented spelling of a known resource type, however the input cased it.
pub(super) fn canonical(kind: &str) -> Option<&'static str> {
    CANONICAL_TYPES
        .iter()
        .find(|known| known.eq_ignore_ascii_case(kind))
        .copied()
}

/// The resource provider namespace an operation belongs to: `Microsoft.Compute` for
/// `Microsoft.Compute/virtualMachines/write`.
pub(super) fn operation_namespace(operation: &str) -> Option<&str> {
    operation.split('/').next().filter(|ns| !ns.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subscriptions_in_any_case() {
        assert_eq!(
            subscription("/SUBSCRIPTIONS/AAAA-BB/RESOURCEGROUPS/RG").as_deref(),
            Some("aaaa-bb")
        );
        assert_eq!(
            subscription("subscriptions/aaaa-bb/providers/Microsoft.CostManagement/query/x")
                .as_deref(),
            Some("aaaa-bb")
        );
        assert_eq!(subscription("/tenants/t/providers/Microsoft.aadiam"), None);
    }

    #[test]
    fn types_from_ids() {
        assert_eq!(
            resource_type("/SUBSCRIPTIONS/S/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.COMPUTE/VIRTUALMACHINES/VM1")
                .as_deref(),
            Some("Microsoft.Compute/virtualMachines")
        );
        assert_eq!(
            resource_type("/subscriptions/s/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/aks/agentPools/p1")
                .as_deref(),
            Some("Microsoft.ContainerService/managedClusters/agentPools")
        );
        assert_eq!(
            resource_type("/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/networkSecurityGroups/nsg")
                .as_deref(),
            Some("Microsoft.Network/networkSecurityGroups")
        );
        assert_eq!(
            resource_type("/subscriptions/s/providers/Microsoft.domainRegistration"),
            None
        );
        assert_eq!(resource_type("/subscriptions/s/resourceGroups/rg"), None);
    }

    #[test]
    fn namespaces_of_operations() {
        assert_eq!(
            operation_namespace("MICROSOFT.COMPUTE/VIRTUALMACHINES/WRITE"),
            Some("MICROSOFT.COMPUTE")
        );
        assert_eq!(operation_namespace(""), None);
    }
}
