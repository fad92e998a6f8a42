//! Dated links between people or units and the organisation (R-ORG-2, R-ORG-3). A link is valid
//! from `start` to `end` inclusive; an open end means "still valid". Reports for a past date use
//! the links valid on that date.

use chrono::NaiveDate;

use crate::domain_enum;
use crate::org::OrgLevel;
use crate::people::PersonKind;

domain_enum! {
    LinkKind {
        /// 区级领导挂点街道/镇 (R-LEAD-1, R-LEAD-2).
        LeaderStreet = ("leader_street", "区级领导挂点街道(镇)"),
        /// 街道/镇领导挂点社区/村.
        StreetLeaderCommunity = ("street_leader_community", "街道(镇)领导挂点社区(村)"),
        /// 挂点帮扶单位 (R-ORG-4).
        UnitAssist = ("unit_assist", "挂点帮扶"),
        /// 共建单位.
        UnitCoBuild = ("unit_co_build", "共建"),
        /// 民情理事会成员 (R-PROC-2, R-PROC-3).
        CouncilMember = ("council_member", "民情理事会成员"),
        /// 街道/镇专项领导小组 (R-ORG-3).
        LeadingGroup = ("leading_group", "专项领导小组"),
    }
}

domain_enum! {
    /// Position in a special leading group (专项领导小组).
    GroupRole {
        Head = ("head", "组长"),
        DeputyHead = ("deputy_head", "副组长"),
        Member = ("member", "成员"),
    }
}

/// Who or what is linked: a person or a unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject {
    Person(i64),
    Unit(i64),
}

impl LinkKind {
    pub fn subject_is_unit(self) -> bool {
        matches!(self, LinkKind::UnitAssist | LinkKind::UnitCoBuild)
    }

    /// The levels of the organisation the link may point at.
    pub fn target_levels(self) -> &'static [OrgLevel] {
        match self {
            LinkKind::LeaderStreet | LinkKind::LeadingGroup => &[OrgLevel::Street],
            LinkKind::StreetLeaderCommunity | LinkKind::CouncilMember => &[OrgLevel::Community],
            LinkKind::UnitAssist | LinkKind::UnitCoBuild => {
                &[OrgLevel::Street, OrgLevel::Community]
            }
        }
    }

    /// The kind a linked person must have, if any.
    pub fn required_person_kind(self) -> Option<PersonKind> {
        match self {
            LinkKind::LeaderStreet => Some(PersonKind::DistrictLeader),
            LinkKind::StreetLeaderCommunity => Some(PersonKind::StreetLeader),
            LinkKind::CouncilMember => Some(PersonKind::CouncilMember),
            _ => None,
        }
    }

    /// Relations held by one subject at a time for a given target: a community has one linked
    /// street leader at a time, a leading group one head.
    pub fn exclusive_per_target(self, role: Option<GroupRole>) -> bool {
        match self {
            LinkKind::StreetLeaderCommunity => true,
            LinkKind::LeadingGroup => role == Some(GroupRole::Head),
            _ => false,
        }
    }
}

/// A link as far as the rules are concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkSpan {
    pub id: Option<i64>,
    pub kind: LinkKind,
    pub subject: Subject,
    pub org_id: i64,
    pub role: Option<GroupRole>,
    pub start: NaiveDate,
    pub end: Option<NaiveDate>,
}

impl LinkSpan {
    /// R-ORG-2: valid on `date` (both ends inclusive).
    pub fn valid_on(&self, date: NaiveDate) -> bool {
        self.start <= date && self.end.is_none_or(|e| date <= e)
    }

    pub fn overlaps(&self, other: &LinkSpan) -> bool {
        let a_end = self.end.unwrap_or(NaiveDate::MAX);
        let b_end = other.end.unwrap_or(NaiveDate::MAX);
        self.start <= b_end && other.start <= a_end
    }
}

/// Checks a new or edited link against the existing links of the same kind and target. Returns
/// the Chinese reason of the first conflict: the same subject linked twice over overlapping
/// dates, or a one-at-a-time relation (`exclusive_per_target`) already held by someone else.
pub fn check_overlap(new: &LinkSpan, existing: &[LinkSpan]) -> Result<(), String> {
    if let Some(end) = new.end
        && end < new.start
    {
        return Err("结束日期不能早于开始日期".into());
    }
    for other in existing {
        if other.id.is_some() && other.id == new.id {
            continue;
        }
        if other.kind != new.kind || other.org_id != new.org_id || !new.overlaps(other) {
            continue;
        }
        let range = match other.end {
            Some(e) => format!("{} 至 {}", other.start, e),
            None => format!("{} 起", other.start),
        };
        if other.subject == new.subject {
            return Err(format!("与已有的同一关联（{range}）日期重叠"));
        }
        if new.kind.exclusive_per_target(new.role) && new.kind.exclusive_per_target(other.role) {
            return Err(format!(
                "该组织同一时间只能有一个{}（已有 {range}）",
                exclusive_name(new.kind)
            ));
        }
    }
    Ok(())
}

fn exclusive_name(kind: LinkKind) -> &'static str {
    match kind {
        LinkKind::StreetLeaderCommunity => "挂点街道(镇)领导",
        LinkKind::LeadingGroup => "专项领导小组组长",
        _ => "关联",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn span(id: i64, kind: LinkKind, person: i64, start: &str, end: Option<&str>) -> LinkSpan {
        LinkSpan {
            id: Some(id),
            kind,
            subject: Subject::Person(person),
            org_id: 7,
            role: None,
            start: d(start),
            end: end.map(d),
        }
    }

    #[test]
    fn r_org_2_valid_on_inclusive_dates() {
        let l = span(
            1,
            LinkKind::LeaderStreet,
            1,
            "2024-01-01",
            Some("2024-12-31"),
        );
        assert!(l.valid_on(d("2024-01-01")));
        assert!(l.valid_on(d("2024-12-31")));
        assert!(!l.valid_on(d("2025-01-01")));
        assert!(!l.valid_on(d("2023-12-31")));
        assert!(span(2, LinkKind::LeaderStreet, 1, "2024-01-01", None).valid_on(d("2030-01-01")));
    }

    #[test]
    fn r_org_2_same_subject_cannot_overlap_itself() {
        let existing = vec![span(
            1,
            LinkKind::LeaderStreet,
            1,
            "2024-01-01",
            Some("2024-12-31"),
        )];
        let mut new = span(0, LinkKind::LeaderStreet, 1, "2024-06-01", None);
        new.id = None;
        assert!(check_overlap(&new, &existing).is_err());
        new.start = d("2025-01-01");
        assert!(check_overlap(&new, &existing).is_ok());
        // Editing the link itself is not a conflict with itself.
        assert!(check_overlap(&existing[0], &existing).is_ok());
    }

    #[test]
    fn r_org_2_several_leaders_may_share_a_street() {
        let existing = vec![span(1, LinkKind::LeaderStreet, 1, "2024-01-01", None)];
        let new = LinkSpan {
            id: None,
            ..span(0, LinkKind::LeaderStreet, 2, "2024-01-01", None)
        };
        assert!(check_overlap(&new, &existing).is_ok());
    }

    #[test]
    fn r_org_2_one_street_leader_per_community_at_a_time() {
        let existing = vec![span(
            1,
            LinkKind::StreetLeaderCommunity,
            1,
            "2024-01-01",
            Some("2024-06-30"),
        )];
        let mut new = LinkSpan {
            id: None,
            ..span(0, LinkKind::StreetLeaderCommunity, 2, "2024-06-30", None)
        };
        assert!(
            check_overlap(&new, &existing)
                .unwrap_err()
                .contains("只能有一个")
        );
        new.start = d("2024-07-01");
        assert!(check_overlap(&new, &existing).is_ok());
    }

    #[test]
    fn r_org_3_one_head_per_leading_group() {
        let mut head = span(1, LinkKind::LeadingGroup, 1, "2024-01-01", None);
        head.role = Some(GroupRole::Head);
        let mut member = LinkSpan {
            id: None,
            ..span(0, LinkKind::LeadingGroup, 2, "2024-01-01", None)
        };
        member.role = Some(GroupRole::Member);
        assert!(check_overlap(&member, std::slice::from_ref(&head)).is_ok());
        member.role = Some(GroupRole::Head);
        assert!(check_overlap(&member, &[head]).is_err());
    }

    #[test]
    fn end_before_start_is_refused() {
        let l = LinkSpan {
            id: None,
            ..span(
                0,
                LinkKind::CouncilMember,
                1,
                "2024-05-01",
                Some("2024-04-30"),
            )
        };
        assert!(check_overlap(&l, &[]).is_err());
    }
}
