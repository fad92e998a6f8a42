//! The organisation tree district → street/town → community/village (R-ORG-1) and units.

use crate::domain_enum;

domain_enum! {
    /// The kind of a node of the tree. Level follows from the kind.
    OrgKind {
        District = ("district", "区"),
        Street = ("street", "街道"),
        Town = ("town", "镇"),
        Community = ("community", "社区"),
        Village = ("village", "村"),
    }
}

/// Depth in the tree: 1 district, 2 street/town, 3 community/village.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum OrgLevel {
    District = 1,
    Street = 2,
    Community = 3,
}

impl OrgKind {
    pub fn level(self) -> OrgLevel {
        match self {
            OrgKind::District => OrgLevel::District,
            OrgKind::Street | OrgKind::Town => OrgLevel::Street,
            OrgKind::Community | OrgKind::Village => OrgLevel::Community,
        }
    }

    /// R-ORG-1: a district is a root; a street/town hangs under a district; a community/village
    /// under a street/town. Returns the Chinese reason when `parent` is not allowed.
    pub fn check_parent(self, parent: Option<OrgKind>) -> Result<(), String> {
        match (self.level(), parent.map(OrgKind::level)) {
            (OrgLevel::District, None) => Ok(()),
            (OrgLevel::District, Some(_)) => Err("区是最上级，不能有上级组织".into()),
            (OrgLevel::Street, Some(OrgLevel::District)) => Ok(()),
            (OrgLevel::Street, _) => Err(format!("{}的上级应为区", self.label())),
            (OrgLevel::Community, Some(OrgLevel::Street)) => Ok(()),
            (OrgLevel::Community, _) => Err(format!("{}的上级应为街道或镇", self.label())),
        }
    }
}

/// The materialised path of a node: ancestor ids and its own, as `/1/5/23/`. Scope filters in
/// SQL match `path LIKE '%/5/%'` (see `access::Scope`).
pub fn child_path(parent_path: Option<&str>, id: i64) -> String {
    format!("{}{id}/", parent_path.unwrap_or("/"))
}

/// The ids on a materialised path, root first.
pub fn path_ids(path: &str) -> Vec<i64> {
    path.split('/').filter_map(|s| s.parse().ok()).collect()
}

domain_enum! {
    /// Types of units (单位) of DOMAIN.md section 1.
    UnitType {
        DistrictDepartment = ("district_department", "区直单位"),
        AssistanceUnit = ("assistance_unit", "挂点帮扶单位"),
        CoBuildingUnit = ("co_building_unit", "共建单位"),
        LocalUnit = ("local_unit", "驻地单位"),
        PropertyCompany = ("property_company", "物业公司"),
        OwnersCommittee = ("owners_committee", "业委会"),
        ResidentsCouncil = ("residents_council", "居民理事会"),
        BuildingCommittee = ("building_committee", "楼管会"),
        SelfGovernanceCommittee = ("self_governance_committee", "自治委员会"),
        Other = ("other", "其他"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn r_org_1_tree_levels() {
        assert!(OrgKind::District.check_parent(None).is_ok());
        assert!(OrgKind::Town.check_parent(Some(OrgKind::District)).is_ok());
        assert!(OrgKind::Village.check_parent(Some(OrgKind::Town)).is_ok());
        assert!(
            OrgKind::Community
                .check_parent(Some(OrgKind::District))
                .is_err()
        );
        assert!(OrgKind::Street.check_parent(None).is_err());
        assert!(
            OrgKind::District
                .check_parent(Some(OrgKind::District))
                .is_err()
        );
    }

    #[test]
    fn r_org_1_paths() {
        let p = child_path(None, 1);
        let c = child_path(Some(&p), 5);
        assert_eq!(c, "/1/5/");
        assert_eq!(path_ids(&child_path(Some(&c), 23)), vec![1, 5, 23]);
    }

    #[test]
    fn enums_parse_code_or_label() {
        assert_eq!(UnitType::parse("物业公司"), Some(UnitType::PropertyCompany));
        assert_eq!(
            UnitType::parse("property_company"),
            Some(UnitType::PropertyCompany)
        );
        assert_eq!(OrgKind::parse(" 镇 "), Some(OrgKind::Town));
        assert_eq!(OrgKind::parse("县"), None);
    }
}
