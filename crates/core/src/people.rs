//! People and their kinds (DOMAIN.md section 1). A person may be of several kinds.

use crate::domain_enum;

domain_enum! {
    PersonKind {
        DistrictLeader = ("district_leader", "区级领导"),
        StreetLeader = ("street_leader", "街道/镇领导"),
        CommunityCadre = ("community_cadre", "社区两委干部"),
        PartySecretary = ("party_secretary", "社区党组织书记"),
        CouncilMember = ("council_member", "民情理事会成员"),
        Deputy = ("deputy", "两代表一委员"),
        PartyMember = ("party_member", "在职党员"),
        BuildingHead = ("building_head", "楼栋长"),
        ResidentRepresentative = ("resident_representative", "居民代表"),
        Other = ("other", "其他"),
    }
}

domain_enum! {
    /// Which of the "two deputies, one member" (两代表一委员) a deputy is.
    DeputyType {
        PeoplesCongress = ("peoples_congress", "人大代表"),
        PartyCongress = ("party_congress", "党代表"),
        Cppcc = ("cppcc", "政协委员"),
    }
}

/// The kinds of a person as stored (comma-separated codes), parsed leniently: unknown codes are
/// dropped, so that a value written by a newer version never breaks an older reader.
pub fn parse_kinds(s: &str) -> Vec<PersonKind> {
    let mut v: Vec<PersonKind> = s
        .split([',', '，', '、', ';', '；'])
        .filter_map(PersonKind::parse)
        .collect();
    v.sort();
    v.dedup();
    v
}

pub fn kinds_to_codes(kinds: &[PersonKind]) -> String {
    let mut v = kinds.to_vec();
    v.sort();
    v.dedup();
    v.iter().map(|k| k.code()).collect::<Vec<_>>().join(",")
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn kinds_round_trip_in_any_spelling() {
        let k = parse_kinds("在职党员、楼栋长,party_member");
        assert_eq!(k, vec![PersonKind::PartyMember, PersonKind::BuildingHead]);
        assert_eq!(kinds_to_codes(&k), "party_member,building_head");
        assert_eq!(parse_kinds(&kinds_to_codes(&k)), k);
    }
}
