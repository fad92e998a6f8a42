//! Topics (议题): how residents' matters enter and are screened (DOMAIN.md section 2,
//! R-TOP-1…5). Pure rules: the closed sets, the status machine with its required reasons, and
//! the tracking code a resident follows a matter with.

use crate::access::{Actor, Role};
use crate::domain_enum;
use crate::org::path_ids;

domain_enum! {
    /// R-TOP-2: the six categories, exactly.
    Category {
        Safety = ("safety", "安全防护类"),
        Environment = ("environment", "环境整治类"),
        Culture = ("culture", "文化体育娱乐类"),
        LivingCare = ("living_care", "居民生活关爱类"),
        PublicBenefit = ("public_benefit", "普惠型公益类"),
        Other = ("other", "其他类"),
    }
}

impl Category {
    /// 其他类 needs a short reason why none of the five fits.
    pub fn needs_reason(self) -> bool {
        self == Category::Other
    }
}

domain_enum! {
    /// R-TOP-1: the direction of a channel.
    Direction {
        TopDown = ("top_down", "自上而下"),
        BottomUp = ("bottom_up", "自下而上"),
    }
}

domain_enum! {
    /// R-TOP-1: where a matter came from.
    Channel {
        HomeVisit = ("home_visit", "民情家访"),
        Deputies = ("deputies", "两代表一委员进社区"),
        PartyMembers = ("party_members", "在职党员进社区"),
        Questionnaire = ("questionnaire", "调查问卷"),
        Hotline = ("hotline", "诉求电话"),
        Qq = ("qq", "QQ"),
        Wechat = ("wechat", "微信"),
        Portal = ("portal", "网上平台"),
        Other = ("other", "其他"),
    }
}

impl Channel {
    pub fn direction(self) -> Direction {
        match self {
            Channel::HomeVisit | Channel::Deputies | Channel::PartyMembers => Direction::TopDown,
            _ => Direction::BottomUp,
        }
    }

    /// Top-down channels are matters somebody collected: the collector must be recorded.
    pub fn needs_collector(self) -> bool {
        self.direction() == Direction::TopDown
    }
}

domain_enum! {
    /// R-TOP-4: who coordinates (and later who chairs, R-MEET-4).
    Level {
        District = ("district", "区级"),
        Street = ("street", "街道/镇级"),
        Community = ("community", "社区/村级"),
    }
}

domain_enum! {
    /// Where a topic stands. 已合并 and 不予受理 end its own life; 已立项 hands it to a case.
    Status {
        Pending = ("pending", "待筛选"),
        Accepted = ("accepted", "已受理"),
        Rejected = ("rejected", "不予受理"),
        Merged = ("merged", "已合并"),
        Adopted = ("adopted", "已立项"),
        Done = ("done", "已办结"),
    }
}

domain_enum! {
    /// R-TOP-3: why a matter is not taken up as a public affair.
    RejectReason {
        Personal = ("personal", "个人诉求"),
        OtherCommunity = ("other_community", "不属于本社区"),
        Duplicate = ("duplicate", "重复"),
        Unlawful = ("unlawful", "违法违规"),
        Other = ("other", "其他"),
    }
}

/// A requested change of status with what it must carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transition {
    /// Taken up as a public affair.
    Accept,
    /// R-TOP-3: screened out with a reason; personal appeals are referred elsewhere.
    Reject {
        reason: RejectReason,
        note: String,
        referred_to: String,
    },
    /// R-TOP-5: merged into another (surviving) topic.
    Merge { into: i64 },
    /// Chosen as a deliberation case (R-PROC-1).
    Adopt,
    /// The case (or a community's own handling) finished.
    Finish,
    /// A rejected matter looked at again (e.g. after an appeal), back to the queue.
    Reopen { note: String },
    /// Its case was stopped (终止): the matter is an accepted public affair again and may be
    /// chosen later.
    Release { note: String },
}

impl Transition {
    pub fn target(&self) -> Status {
        match self {
            Transition::Accept => Status::Accepted,
            Transition::Reject { .. } => Status::Rejected,
            Transition::Merge { .. } => Status::Merged,
            Transition::Adopt => Status::Adopted,
            Transition::Finish => Status::Done,
            Transition::Reopen { .. } => Status::Pending,
            Transition::Release { .. } => Status::Accepted,
        }
    }
}

/// Checks a transition from `from`; on error, the field the problem belongs to and a Chinese
/// message. `self_id` is the topic's own id (a topic is not merged into itself).
pub fn check_transition(
    from: Status,
    t: &Transition,
    self_id: i64,
) -> Result<(), (&'static str, String)> {
    use Status::*;
    let allowed = match t {
        Transition::Accept => matches!(from, Pending),
        Transition::Reject { .. } => matches!(from, Pending | Accepted),
        Transition::Merge { .. } => matches!(from, Pending | Accepted),
        Transition::Adopt => matches!(from, Accepted),
        Transition::Finish => matches!(from, Accepted | Adopted),
        Transition::Reopen { .. } => matches!(from, Rejected),
        Transition::Release { .. } => matches!(from, Adopted),
    };
    if !allowed {
        return Err((
            "status",
            format!(
                "「{}」的议题不能改为「{}」",
                from.label(),
                t.target().label()
            ),
        ));
    }
    match t {
        Transition::Reject {
            reason,
            note,
            referred_to,
        } => {
            if *reason == RejectReason::Other && note.trim().is_empty() {
                return Err(("note", "选择“其他”时请写明不予受理的理由".into()));
            }
            // R-TOP-3: personal appeals are not dropped, they are referred elsewhere.
            if *reason == RejectReason::Personal && referred_to.trim().is_empty() {
                return Err((
                    "referred_to",
                    "个人诉求须注明转交的部门或渠道（如 12345 热线、物业、司法所）".into(),
                ));
            }
        }
        Transition::Merge { into } if *into == self_id => {
            return Err(("into", "不能合并到自身".into()));
        }
        Transition::Reopen { note } if note.trim().is_empty() => {
            return Err(("note", "请写明重新受理的理由".into()));
        }
        Transition::Release { note } if note.trim().is_empty() => {
            return Err(("note", "请写明案例终止的理由".into()));
        }
        _ => {}
    }
    Ok(())
}

/// R-TOP-4: who may screen and decide on a matter of `level` at `org_path`. Community staff
/// receive every matter of their community first and screen all of them; a street (district)
/// administrator sees the subtree and takes over only the matters whose level is theirs.
pub fn may_decide(actor: &Actor, org_path: &str, level: Level) -> bool {
    let ids = path_ids(org_path);
    actor.grants.iter().any(|g| {
        let covers = g.org_id.is_none_or(|id| ids.contains(&id));
        covers
            && match g.role {
                Role::SystemAdmin => true,
                Role::CommunitySecretary | Role::CommunityStaff => true,
                Role::StreetAdmin => level == Level::Street,
                Role::DistrictAdmin => level == Level::District,
                _ => false,
            }
    })
}

/// Topics that can still absorb others or be suggested as similar (R-TOP-5).
pub fn is_open(s: Status) -> bool {
    matches!(s, Status::Pending | Status::Accepted | Status::Adopted)
}

/// The status a submitter is shown: a merged matter follows the topic it was merged into.
pub fn public_status(own: Status, survivor: Option<Status>) -> Status {
    match (own, survivor) {
        (Status::Merged, Some(s)) => s,
        (s, _) => s,
    }
}

/// Letters and digits a resident cannot confuse when reading a code aloud or typing it on a
/// phone: no 0/O, 1/I/L, 2/Z, 5/S, 8/B, U/V.
const ALPHABET: &[u8] = b"34679ACDEFGHJKMNPQRTWXY";
const CODE_BODY: usize = 9;

/// A tracking code from random bytes: `XH` + 9 characters + 1 check character, shown as
/// `XH-4K7M-9QRT-WC`. 23^9 ≈ 1.8·10^12 codes, so guessing one is hopeless even without the rate
/// limit; the check character catches a mistyped character before any lookup.
pub fn tracking_code(random: [u8; CODE_BODY]) -> String {
    let body: Vec<u8> = random
        .iter()
        .map(|b| ALPHABET[*b as usize % ALPHABET.len()])
        .collect();
    let check = check_char(&body);
    let s = String::from_utf8(body).unwrap_or_default();
    format!("XH-{}-{}-{}{}", &s[0..4], &s[4..8], &s[8..9], check as char)
}

fn check_char(body: &[u8]) -> u8 {
    let n = ALPHABET.len();
    let sum: usize = body
        .iter()
        .enumerate()
        .map(|(i, c)| (i + 1) * ALPHABET.iter().position(|a| a == c).unwrap_or(0))
        .sum();
    ALPHABET[sum % n]
}

/// The canonical form of a typed code (case, spaces and dashes ignored), or `None` when it
/// cannot be a code we issued.
pub fn normalise_tracking_code(typed: &str) -> Option<String> {
    let cleaned: Vec<u8> = typed
        .chars()
        .filter(|c| !matches!(c, '-' | ' ' | '—' | '－'))
        .flat_map(|c| c.to_uppercase())
        .map(|c| c as u32)
        .filter_map(|c| u8::try_from(c).ok())
        .collect();
    let rest = cleaned.strip_prefix(b"XH")?;
    if rest.len() != CODE_BODY + 1 || !rest.iter().all(|c| ALPHABET.contains(c)) {
        return None;
    }
    let (body, check) = rest.split_at(CODE_BODY);
    if check_char(body) != check[0] {
        return None;
    }
    let s = String::from_utf8(body.to_vec()).ok()?;
    Some(format!(
        "XH-{}-{}-{}{}",
        &s[0..4],
        &s[4..8],
        &s[8..9],
        check[0] as char
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn r_top_2_exactly_six_categories_and_other_needs_a_reason() {
        assert_eq!(Category::ALL.len(), 6);
        let labels: Vec<&str> = Category::ALL.iter().map(|c| c.label()).collect();
        assert_eq!(
            labels,
            vec![
                "安全防护类",
                "环境整治类",
                "文化体育娱乐类",
                "居民生活关爱类",
                "普惠型公益类",
                "其他类"
            ]
        );
        assert!(Category::Other.needs_reason());
        assert!(!Category::Safety.needs_reason());
    }

    #[test]
    fn r_top_1_every_channel_has_its_direction() {
        use Channel::*;
        for c in [HomeVisit, Deputies, PartyMembers] {
            assert_eq!(c.direction(), Direction::TopDown, "{c}");
            assert!(c.needs_collector());
        }
        for c in [Questionnaire, Hotline, Qq, Wechat, Portal, Other] {
            assert_eq!(c.direction(), Direction::BottomUp, "{c}");
            assert!(!c.needs_collector());
        }
    }

    #[test]
    fn r_top_3_screening_out_needs_a_reason_and_personal_appeals_a_referral() {
        let reject = |reason, note: &str, referred: &str| Transition::Reject {
            reason,
            note: note.into(),
            referred_to: referred.into(),
        };
        assert_eq!(
            check_transition(Status::Pending, &reject(RejectReason::Personal, "", ""), 1)
                .unwrap_err()
                .0,
            "referred_to"
        );
        assert!(
            check_transition(
                Status::Pending,
                &reject(RejectReason::Personal, "", "12345 热线"),
                1
            )
            .is_ok()
        );
        assert_eq!(
            check_transition(Status::Pending, &reject(RejectReason::Other, " ", ""), 1)
                .unwrap_err()
                .0,
            "note"
        );
        assert!(
            check_transition(Status::Accepted, &reject(RejectReason::Unlawful, "", ""), 1).is_ok()
        );
    }

    #[test]
    fn status_moves_only_along_the_allowed_paths() {
        use Status::*;
        let ok = |from, t: Transition| check_transition(from, &t, 1).is_ok();
        assert!(ok(Pending, Transition::Accept));
        assert!(!ok(Accepted, Transition::Accept));
        assert!(
            !ok(Pending, Transition::Adopt),
            "only an accepted matter becomes a case"
        );
        assert!(ok(Accepted, Transition::Adopt));
        assert!(ok(Adopted, Transition::Finish));
        assert!(!ok(Done, Transition::Accept));
        assert!(!ok(Merged, Transition::Accept));
        assert!(!ok(Rejected, Transition::Adopt));
        assert!(ok(
            Rejected,
            Transition::Reopen {
                note: "居民补充了材料".into()
            }
        ));
        assert!(!ok(Rejected, Transition::Reopen { note: "".into() }));
        let release = |note: &str| Transition::Release { note: note.into() };
        assert!(ok(Adopted, release("居民意见分歧，案例终止")));
        assert!(!ok(Adopted, release(" ")));
        assert!(!ok(Accepted, release("x")));
        let msg = check_transition(Done, &Transition::Accept, 1)
            .unwrap_err()
            .1;
        assert_eq!(msg, "「已办结」的议题不能改为「已受理」");
    }

    #[test]
    fn r_top_5_merging_keeps_the_survivor_and_shows_its_status() {
        assert!(check_transition(Status::Pending, &Transition::Merge { into: 7 }, 3).is_ok());
        assert_eq!(
            check_transition(Status::Pending, &Transition::Merge { into: 3 }, 3)
                .unwrap_err()
                .0,
            "into"
        );
        assert!(is_open(Status::Accepted) && !is_open(Status::Merged));
        assert_eq!(
            public_status(Status::Merged, Some(Status::Adopted)),
            Status::Adopted
        );
        assert_eq!(public_status(Status::Pending, None), Status::Pending);
    }

    #[test]
    fn r_top_4_streets_and_the_district_take_over_their_own_level() {
        use crate::access::Grant;
        let who = |role, org_id| Actor {
            user_id: 1,
            grants: vec![Grant { role, org_id }],
            ..Default::default()
        };
        let community = "/1/10/100/";
        let staff = who(Role::CommunityStaff, Some(100));
        let street = who(Role::StreetAdmin, Some(10));
        let district = who(Role::DistrictAdmin, Some(1));
        for level in Level::ALL {
            assert!(
                may_decide(&staff, community, *level),
                "community staff screen all"
            );
        }
        assert!(may_decide(&street, community, Level::Street));
        assert!(!may_decide(&street, community, Level::Community));
        assert!(!may_decide(&street, community, Level::District));
        assert!(may_decide(&district, community, Level::District));
        assert!(!may_decide(&district, community, Level::Street));
        assert!(
            !may_decide(&staff, "/1/20/200/", Level::Community),
            "not another community"
        );
        assert!(!may_decide(
            &who(Role::DistrictLeader, Some(1)),
            community,
            Level::District
        ));
        assert!(may_decide(
            &who(Role::SystemAdmin, None),
            community,
            Level::Community
        ));
    }

    #[test]
    fn tracking_codes_round_trip_and_catch_typos() {
        let code = tracking_code([0, 1, 2, 3, 4, 5, 6, 7, 200]);
        assert!(code.starts_with("XH-"));
        assert_eq!(code.len(), "XH-XXXX-XXXX-XX".len());
        assert_eq!(
            normalise_tracking_code(&code).as_deref(),
            Some(code.as_str())
        );
        let typed = code.to_lowercase().replace('-', " ");
        assert_eq!(
            normalise_tracking_code(&typed).as_deref(),
            Some(code.as_str())
        );
        // One character changed: the check character no longer matches.
        let mut chars: Vec<char> = code.chars().collect();
        chars[4] = if chars[4] == 'A' { 'C' } else { 'A' };
        let typo: String = chars.into_iter().collect();
        assert_eq!(normalise_tracking_code(&typo), None);
        for bad in ["", "XH", "XH-0000-0000-00", "<script>", "XH-4K7M-9QRT-WCX"] {
            assert_eq!(normalise_tracking_code(bad), None, "{bad}");
        }
    }
}
