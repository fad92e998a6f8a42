//! The round-table meeting (DOMAIN.md section 4, R-MEET-1…4; step 4 of the case, R-PROC-4):
//! who takes part and who chairs, the warnings a plan gets and their override, the agenda in
//! the order of R-MEET-3, the minutes' life (draft → review → confirmed, corrections as new
//! versions), the vote tally and the filing number.

use crate::cases::RuleError;
use crate::domain_enum;
use crate::topics::Level;

/// R-MEET-1: the default size of a meeting (inclusive).
pub const MIN_PARTICIPANTS: usize = 15;
pub const MAX_PARTICIPANTS: usize = 25;

domain_enum! {
    /// R-MEET-2: who a participant is at the table.
    ParticipantKind {
        DistrictLeader = ("district_leader", "区级领导"),
        StreetLeader = ("street_leader", "街道/镇挂点领导"),
        CommunityCadre = ("community_cadre", "社区两委干部"),
        Department = ("department", "区直相关部门"),
        Deputy = ("deputy", "两代表一委员"),
        CoBuildingUnit = ("co_building_unit", "共建单位"),
        LocalUnit = ("local_unit", "驻地单位"),
        Property = ("property", "物业公司"),
        ResidentRepresentative = ("resident_representative", "居民代表"),
        CouncilMember = ("council_member", "民情理事会成员"),
        Other = ("other", "其他"),
    }
}

impl ParticipantKind {
    /// R-MEET-2: fixed members (固定人员) sit at every meeting; the others are chosen per topic.
    pub fn is_fixed(self) -> bool {
        matches!(
            self,
            ParticipantKind::DistrictLeader
                | ParticipantKind::StreetLeader
                | ParticipantKind::CommunityCadre
        )
    }
}

/// R-MEET-4: who chairs a meeting on a topic of `level`.
pub fn chair_kind(level: Level) -> ParticipantKind {
    match level {
        Level::District => ParticipantKind::DistrictLeader,
        Level::Street => ParticipantKind::StreetLeader,
        Level::Community => ParticipantKind::CommunityCadre,
    }
}

/// What R-MEET-4 asks of the chair, as the page says it.
pub fn chair_label(level: Level) -> &'static str {
    match level {
        Level::District => "挂点区级领导",
        Level::Street => "街道/镇挂点领导",
        Level::Community => "社区党组织书记",
    }
}

/// A warning on a meeting plan: its rule and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Warning {
    pub rule: &'static str,
    pub message: String,
}

/// The plan as far as the warnings need it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlanFacts {
    pub level: Option<Level>,
    /// Kinds of the participants, one per person.
    pub participants: Vec<ParticipantKind>,
    /// The chair's kind, when a chair is named; `chair_is_secretary` for a community cadre
    /// who is the party secretary.
    pub chair: Option<ParticipantKind>,
    pub chair_is_secretary: bool,
}

/// R-MEET-1, R-MEET-2, R-MEET-4: what is unusual about a plan. None of it forbids the meeting
/// ("原则上"): each is accepted with a recorded reason.
pub fn warnings(p: &PlanFacts) -> Vec<Warning> {
    let mut out = Vec::new();
    let n = p.participants.len();
    if !(MIN_PARTICIPANTS..=MAX_PARTICIPANTS).contains(&n) {
        out.push(Warning {
            rule: "R-MEET-1",
            message: format!("参会人数为{n}人，原则上应为{MIN_PARTICIPANTS}至{MAX_PARTICIPANTS}人"),
        });
    }
    if !p.participants.contains(&ParticipantKind::DistrictLeader) {
        out.push(Warning {
            rule: "R-MEET-2",
            message: "固定人员中没有区级领导（至少1名）".into(),
        });
    }
    if let Some(level) = p.level {
        let wanted = chair_kind(level);
        let ok = p.chair == Some(wanted) && (level != Level::Community || p.chair_is_secretary);
        if !ok {
            out.push(Warning {
                rule: "R-MEET-4",
                message: format!("{}议题原则上由{}主持", level.label(), chair_label(level)),
            });
        }
    }
    out
}

/// A plan with warnings needs a reason to go ahead; the error names the first warning's rule.
pub fn check_override(ws: &[Warning], reason: &str) -> Result<(), RuleError> {
    match ws.first() {
        Some(w) if reason.trim().is_empty() => Err(RuleError::new(
            w.rule,
            "override_reason",
            format!(
                "{}。如确需如此安排，请填写理由",
                ws.iter()
                    .map(|w| w.message.as_str())
                    .collect::<Vec<_>>()
                    .join("；")
            ),
        )),
        _ => Ok(()),
    }
}

/// R-MEET-3: the agenda, in order. The minutes are kept per item.
pub const AGENDA: [(&str, &str); 5] = [
    (
        "introduction",
        "主持人介绍议题来源、审核情况、议题内容和议程",
    ),
    ("proposal", "议题提出人说明议题"),
    ("discussion", "参会人员自由发言"),
    ("summary", "主持人总结并表明意见"),
    ("resolution", "现场形成协商决议"),
];

domain_enum! {
    /// The minutes' life: a draft is reviewed by the attendees (who may comment) and then
    /// confirmed; confirmed minutes are frozen, and a correction is a new, linked version.
    MinutesStatus {
        Draft = ("draft", "草稿"),
        Review = ("review", "参会人员审阅中"),
        Confirmed = ("confirmed", "已确认"),
        Superseded = ("superseded", "已被更正"),
    }
}

/// Which change of the minutes' status is allowed.
pub fn check_minutes_move(from: MinutesStatus, to: MinutesStatus) -> Result<(), RuleError> {
    use MinutesStatus::*;
    let ok = matches!(
        (from, to),
        (Draft, Review) | (Review, Draft) | (Review, Confirmed)
    );
    if ok {
        return Ok(());
    }
    let message = if from == Confirmed || from == Superseded {
        "会议记录已确认，不能修改；如需更正，请新建更正版本".to_string()
    } else {
        format!("会议记录不能从「{}」改为「{}」", from.label(), to.label())
    };
    Err(RuleError::new("R-MEET-3", "minutes", message))
}

/// Minutes may be edited only as a draft.
pub fn check_minutes_edit(status: MinutesStatus) -> Result<(), RuleError> {
    if status == MinutesStatus::Draft {
        return Ok(());
    }
    Err(RuleError::new(
        "R-MEET-3",
        "minutes",
        match status {
            MinutesStatus::Review => "会议记录正在审阅中；退回草稿后才能修改".to_string(),
            _ => "会议记录已确认，不能修改；如需更正，请新建更正版本".to_string(),
        },
    ))
}

/// The optional vote on the resolution (协商决议): counts that cannot exceed those present.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Tally {
    pub for_: i64,
    pub against: i64,
    pub abstain: i64,
}

pub fn check_tally(t: &Tally, present: usize) -> Result<(), RuleError> {
    if t.for_ < 0 || t.against < 0 || t.abstain < 0 {
        return Err(RuleError::new("R-PROC-4", "votes", "票数不能为负数"));
    }
    let total = t.for_ + t.against + t.abstain;
    if total > present as i64 {
        return Err(RuleError::new(
            "R-PROC-4",
            "votes",
            format!("表决票数合计{total}，超过签到人数{present}"),
        ));
    }
    Ok(())
}

/// The filing number (备案登记号): in sequence per community and year, e.g.
/// `360103001002-2026-007`.
pub fn filing_number(community_code: &str, year: i32, seq: i64) -> String {
    format!("{community_code}-{year}-{seq:03}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use ParticipantKind as K;

    fn plan(level: Level, n: usize, leader: bool) -> PlanFacts {
        let mut participants = vec![K::CommunityCadre; n];
        if leader {
            participants[0] = K::DistrictLeader;
        }
        PlanFacts {
            level: Some(level),
            participants,
            chair: Some(chair_kind(level)),
            chair_is_secretary: true,
        }
    }

    #[test]
    fn r_meet_1_fifteen_to_twenty_five_by_default() {
        for (n, warned) in [(14, true), (15, false), (25, false), (26, true)] {
            let w = warnings(&plan(Level::District, n, true));
            assert_eq!(w.iter().any(|w| w.rule == "R-MEET-1"), warned, "{n}");
        }
    }

    #[test]
    fn r_meet_2_at_least_one_district_leader() {
        let w = warnings(&plan(Level::Community, 18, false));
        assert_eq!(w.len(), 1);
        assert_eq!(w[0].rule, "R-MEET-2");
        assert!(K::DistrictLeader.is_fixed() && !K::Property.is_fixed());
    }

    #[test]
    fn r_meet_4_chair_by_level() {
        assert_eq!(chair_kind(Level::District), K::DistrictLeader);
        assert_eq!(chair_kind(Level::Street), K::StreetLeader);
        assert_eq!(chair_kind(Level::Community), K::CommunityCadre);
        let mut p = plan(Level::District, 18, true);
        p.chair = Some(K::StreetLeader);
        let w = warnings(&p);
        assert_eq!(w[0].rule, "R-MEET-4");
        // A community cadre who is not the party secretary does not chair by default.
        let mut p = plan(Level::Community, 18, true);
        p.chair_is_secretary = false;
        assert_eq!(warnings(&p)[0].rule, "R-MEET-4");
    }

    #[test]
    fn warnings_are_accepted_only_with_a_reason() {
        let w = warnings(&plan(Level::District, 12, false));
        assert_eq!(w.len(), 2);
        let e = check_override(&w, " ").unwrap_err();
        assert_eq!(e.rule, "R-MEET-1");
        assert!(e.message.contains("区级领导"), "{}", e.message);
        assert!(check_override(&w, "小区规模小，居民代表6人已足够").is_ok());
        assert!(check_override(&[], "").is_ok());
    }

    #[test]
    fn r_meet_3_minutes_are_frozen_once_confirmed() {
        use MinutesStatus::*;
        assert!(check_minutes_move(Draft, Review).is_ok());
        assert!(check_minutes_move(Review, Confirmed).is_ok());
        assert!(check_minutes_move(Review, Draft).is_ok());
        assert!(
            check_minutes_move(Draft, Confirmed).is_err(),
            "reviewed first"
        );
        let e = check_minutes_move(Confirmed, Draft).unwrap_err();
        assert!(e.message.contains("更正"));
        assert!(check_minutes_edit(Draft).is_ok());
        assert!(check_minutes_edit(Review).is_err());
        assert_eq!(check_minutes_edit(Confirmed).unwrap_err().rule, "R-MEET-3");
        assert_eq!(AGENDA.len(), 5);
        assert_eq!(AGENDA[4].0, "resolution");
    }

    #[test]
    fn r_proc_4_tally_and_filing_number() {
        let t = Tally {
            for_: 15,
            against: 2,
            abstain: 1,
        };
        assert!(check_tally(&t, 18).is_ok());
        assert!(check_tally(&t, 17).is_err());
        assert!(check_tally(&Tally { for_: -1, ..t }, 30).is_err());
        assert_eq!(
            filing_number("360103001002", 2026, 7),
            "360103001002-2026-007"
        );
    }
}
