//! R-ORG-4: the resource list (资源清单) — what units and party members offer: funds, venues,
//! volunteers, skills, materials, with a quantity and a period — matched with the needs list
//! (需求清单) of the cases. A proposal ranks the offers of the case's own community first, then
//! its street's, then the district's; an offer from a unit linked to the community or its street
//! (挂点帮扶, 共建) and one meant for the case's category rank higher. An accepted match takes
//! its quantity from the offer and is recorded on the case's plan (funds as a budget line).

use chrono::NaiveDate;

use crate::FieldErrors;
use crate::cases::RuleError;
use crate::org::path_ids;
use crate::project::{format_fen, parse_yuan};
use crate::topics::Category;
use crate::validate::{optional_date, optional_text, required_text};

crate::domain_enum! {
    /// What is offered or needed (R-ORG-4).
    ResourceType {
        Funds = ("funds", "资金"),
        Venue = ("venue", "场地"),
        Volunteers = ("volunteers", "志愿服务"),
        Skills = ("skills", "专业技能"),
        Materials = ("materials", "物资"),
    }
}

impl ResourceType {
    /// The measure a quantity is counted in when none is given. Funds are always yuan, kept
    /// in whole fen.
    pub fn default_measure(self) -> &'static str {
        match self {
            ResourceType::Funds => "元",
            ResourceType::Venue => "场次",
            ResourceType::Volunteers => "人次",
            ResourceType::Skills => "次",
            ResourceType::Materials => "件",
        }
    }

    /// A quantity as people read it: 12,000.00 元 for funds, 20 人次 otherwise.
    pub fn show(self, quantity: i64, measure: &str) -> String {
        match self {
            ResourceType::Funds => format!("{} 元", format_fen(quantity)),
            _ => format!("{quantity} {measure}"),
        }
    }
}

crate::domain_enum! {
    OfferStatus {
        Open = ("open", "可对接"),
        Withdrawn = ("withdrawn", "已撤回"),
    }
}

/// The largest count of a non-funds quantity (a typo guard, not a policy).
const MAX_COUNT: i64 = 1_000_000;

/// A quantity typed for `kind`: yuan (as fen) for funds, a whole positive count otherwise.
fn quantity(e: &mut FieldErrors, field: &str, kind: Option<ResourceType>, v: &str) -> i64 {
    match kind {
        Some(ResourceType::Funds) => match parse_yuan(v) {
            Ok(0) => {
                e.add(field, "金额应大于0");
                0
            }
            Ok(fen) => fen,
            Err(err) => {
                e.add(field, err.message);
                0
            }
        },
        _ => match v.trim().parse::<i64>() {
            Ok(n) if (1..=MAX_COUNT).contains(&n) => n,
            Ok(_) => {
                e.add(field, format!("数量应在1到{MAX_COUNT}之间"));
                0
            }
            Err(_) if v.trim().is_empty() => {
                e.add(field, "请填写数量");
                0
            }
            Err(_) => {
                e.add(field, format!("数量「{}」应为整数", v.trim()));
                0
            }
        },
    }
}

/// A quantity typed for a match: yuan for funds, a whole count otherwise.
pub fn check_quantity(kind: ResourceType, v: &str) -> Result<i64, FieldErrors> {
    let mut e = FieldErrors::new();
    let q = quantity(&mut e, "quantity", Some(kind), v);
    e.into_result()?;
    Ok(q)
}

fn resource_type(e: &mut FieldErrors, v: &str) -> Option<ResourceType> {
    let t = ResourceType::parse(v);
    if t.is_none() {
        if v.trim().is_empty() {
            e.add("kind", "请选择资源类型");
        } else {
            e.add(
                "kind",
                format!(
                    "未知的资源类型「{}」（资金、场地、志愿服务、专业技能、物资）",
                    v.trim()
                ),
            );
        }
    }
    t
}

fn measure(e: &mut FieldErrors, kind: Option<ResourceType>, v: Option<&str>) -> String {
    let m = optional_text(e, "measure", "计量单位", v, 10);
    match kind {
        Some(ResourceType::Funds) | None => "元".into(),
        Some(k) => m.unwrap_or_else(|| k.default_measure().into()),
    }
}

/// An offer as published, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfferFields {
    pub kind: ResourceType,
    pub title: String,
    pub detail: Option<String>,
    /// Fen for funds; a count of `measure` otherwise.
    pub quantity: i64,
    pub measure: String,
    /// The categories the offer is meant for; none means any.
    pub categories: Vec<Category>,
    pub available_from: Option<NaiveDate>,
    pub available_to: Option<NaiveDate>,
}

/// What an offer is typed as, before it is checked.
#[derive(Debug, Clone, Copy, Default)]
pub struct OfferInput<'a> {
    pub kind: &'a str,
    pub title: &'a str,
    pub detail: Option<&'a str>,
    pub quantity: &'a str,
    pub measure: Option<&'a str>,
    pub categories: &'a [String],
    pub available_from: Option<&'a str>,
    pub available_to: Option<&'a str>,
}

pub fn check_offer(i: &OfferInput<'_>) -> Result<OfferFields, FieldErrors> {
    let mut e = FieldErrors::new();
    let kind = resource_type(&mut e, i.kind);
    let title = required_text(&mut e, "title", "资源名称", i.title, 60);
    let detail = optional_text(&mut e, "detail", "说明", i.detail, 500);
    let quantity = quantity(&mut e, "quantity", kind, i.quantity);
    let measure = measure(&mut e, kind, i.measure);
    let mut categories = Vec::new();
    for c in i
        .categories
        .iter()
        .map(|c| c.trim())
        .filter(|c| !c.is_empty())
    {
        match Category::parse(c) {
            Some(c) if !categories.contains(&c) => categories.push(c),
            Some(_) => {}
            None => e.add("categories", format!("未知的议题类别「{c}」")),
        }
    }
    categories.sort();
    let from = optional_date(&mut e, "available_from", "可提供起始日期", i.available_from);
    let to = optional_date(&mut e, "available_to", "可提供截止日期", i.available_to);
    if let (Some(f), Some(t)) = (from, to)
        && t < f
    {
        e.add("available_to", "截止日期不能早于起始日期");
    }
    e.into_result()?;
    Ok(OfferFields {
        kind: kind.unwrap_or(ResourceType::Materials),
        title,
        detail,
        quantity,
        measure,
        categories,
        available_from: from,
        available_to: to,
    })
}

/// A need of a case, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NeedFields {
    pub kind: ResourceType,
    pub description: String,
    pub quantity: i64,
    pub measure: String,
}

pub fn check_need(
    kind: &str,
    description: &str,
    quantity_typed: &str,
    measure_typed: Option<&str>,
) -> Result<NeedFields, FieldErrors> {
    let mut e = FieldErrors::new();
    let kind = resource_type(&mut e, kind);
    let description = required_text(&mut e, "description", "需求说明", description, 200);
    let quantity = quantity(&mut e, "quantity", kind, quantity_typed);
    let measure = measure(&mut e, kind, measure_typed);
    e.into_result()?;
    Ok(NeedFields {
        kind: kind.unwrap_or(ResourceType::Materials),
        description,
        quantity,
        measure,
    })
}

/// Where an offer stands relative to the community of the case that needs it. An offer
/// elsewhere (another community, another street) is not proposed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Nearness {
    District,
    Street,
    Community,
}

impl Nearness {
    /// `offer_path` is the node the offer is published at, `community_path` the case's
    /// community (materialised paths of the tree, the node's own id last).
    pub fn of(offer_path: &str, community_path: &str) -> Option<Nearness> {
        let offer = path_ids(offer_path);
        let community = path_ids(community_path);
        let at = *offer.last()?;
        // The community itself, or a node below it (a grid).
        if community.last() == Some(&at) || offer.starts_with(&community) {
            return Some(Nearness::Community);
        }
        let depth = community.iter().position(|id| *id == at)?;
        // An ancestor: the community's parent is its street, anything above the district.
        Some(if depth + 2 == community.len() {
            Nearness::Street
        } else {
            Nearness::District
        })
    }

    pub fn label(self) -> &'static str {
        match self {
            Nearness::Community => "本社区(村)",
            Nearness::Street => "本街道(镇)",
            Nearness::District => "全区",
        }
    }
}

/// An offer as the matching reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub id: i64,
    pub kind: ResourceType,
    pub status: OfferStatus,
    pub categories: Vec<Category>,
    pub remaining: i64,
    pub available_from: Option<NaiveDate>,
    pub available_to: Option<NaiveDate>,
    pub nearness: Option<Nearness>,
    /// Offered by a unit linked (挂点帮扶, 共建) to the community or its street on the day.
    pub linked: bool,
}

/// What is still needed, and for what.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NeedFacts {
    pub kind: ResourceType,
    pub category: Option<Category>,
    /// Still to be found: the need's quantity less what accepted matches already cover.
    pub outstanding: i64,
    pub on: NaiveDate,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Proposal {
    pub resource_id: i64,
    pub score: u32,
    /// What taking it would cover: the smaller of what is offered and what is still needed.
    pub quantity: i64,
    pub nearness: Nearness,
    /// Why it is proposed, in the order the ranking weighs them.
    pub reasons: Vec<String>,
}

/// Why a candidate cannot serve the need, or `None` when it can.
fn unfit(need: &NeedFacts, c: &Candidate) -> Option<String> {
    if c.kind != need.kind {
        return Some(format!(
            "资源类型为「{}」，需求为「{}」",
            c.kind.label(),
            need.kind.label()
        ));
    }
    if c.status != OfferStatus::Open {
        return Some("该资源已撤回".into());
    }
    if c.remaining <= 0 {
        return Some("该资源已全部对接完".into());
    }
    if c.available_from.is_some_and(|f| need.on < f) || c.available_to.is_some_and(|t| need.on > t)
    {
        return Some("不在该资源的可提供期限内".into());
    }
    if c.nearness.is_none() {
        return Some("该资源不面向本案例所在社区(村)".into());
    }
    if let Some(cat) = need.category
        && !c.categories.is_empty()
        && !c.categories.contains(&cat)
    {
        return Some(format!("该资源不面向「{}」", cat.label()));
    }
    None
}

/// The offers that can serve `need`, best first: nearness (community 30, street 20, district
/// 10), a linked unit (+15), meant for the case's category (+10), covering all that is still
/// needed (+5); ties by the larger remaining quantity, then the older offer.
pub fn propose(need: &NeedFacts, candidates: &[Candidate]) -> Vec<Proposal> {
    if need.outstanding <= 0 {
        return Vec::new();
    }
    let mut out: Vec<(i64, Proposal)> = candidates
        .iter()
        .filter(|c| unfit(need, c).is_none())
        .map(|c| {
            let nearness = c.nearness.unwrap_or(Nearness::District);
            let mut score = match nearness {
                Nearness::Community => 30,
                Nearness::Street => 20,
                Nearness::District => 10,
            };
            let mut reasons = vec![format!("{}的资源", nearness.label())];
            if c.linked {
                score += 15;
                reasons.push("挂点帮扶(共建)单位".into());
            }
            if let Some(cat) = need.category
                && c.categories.contains(&cat)
            {
                score += 10;
                reasons.push(format!("面向{}", cat.label()));
            }
            if c.remaining >= need.outstanding {
                score += 5;
                reasons.push("可满足全部需求".into());
            } else {
                reasons.push("可满足部分需求".into());
            }
            (
                c.remaining,
                Proposal {
                    resource_id: c.id,
                    score,
                    quantity: c.remaining.min(need.outstanding),
                    nearness,
                    reasons,
                },
            )
        })
        .collect();
    out.sort_by(|(ra, a), (rb, b)| {
        b.score
            .cmp(&a.score)
            .then(rb.cmp(ra))
            .then(a.resource_id.cmp(&b.resource_id))
    });
    out.into_iter().map(|(_, p)| p).collect()
}

/// A bare quantity in a message: yuan for funds, the count otherwise.
fn amount(kind: ResourceType, q: i64) -> String {
    match kind {
        ResourceType::Funds => format!("{} 元", format_fen(q)),
        _ => q.to_string(),
    }
}

/// A match accepted for `quantity` of the offer: it must fit the need, be available, and take
/// no more than the offer has left or the need still lacks.
pub fn check_accept(need: &NeedFacts, c: &Candidate, quantity: i64) -> Result<(), RuleError> {
    let err = |field: &'static str, m: String| RuleError::new("R-ORG-4", field, m);
    if let Some(why) = unfit(need, c) {
        return Err(err("resource_id", why));
    }
    if need.outstanding <= 0 {
        return Err(err("quantity", "该需求已全部落实".into()));
    }
    if quantity <= 0 {
        return Err(err("quantity", "对接数量应大于0".into()));
    }
    if quantity > c.remaining {
        return Err(err(
            "quantity",
            format!(
                "超过该资源的剩余数量（剩余 {}）",
                amount(c.kind, c.remaining)
            ),
        ));
    }
    if quantity > need.outstanding {
        return Err(err(
            "quantity",
            format!(
                "超过该需求尚缺的数量（尚缺 {}）",
                amount(need.kind, need.outstanding)
            ),
        ));
    }
    Ok(())
}

/// A reason to withdraw an offer.
pub fn check_withdraw(status: OfferStatus, reason: &str) -> Result<String, RuleError> {
    if status == OfferStatus::Withdrawn {
        return Err(RuleError::new("R-ORG-4", "status", "该资源已撤回"));
    }
    let r = reason.trim();
    if r.is_empty() {
        return Err(RuleError::new("R-ORG-4", "reason", "请填写撤回原因"));
    }
    Ok(r.chars().take(200).collect())
}

/// The category codes of an offer as one stored text (`environment,safety`), and back.
pub fn categories_text(c: &[Category]) -> String {
    c.iter().map(|c| c.code()).collect::<Vec<_>>().join(",")
}

pub fn parse_categories(s: &str) -> Vec<Category> {
    s.split(',').filter_map(Category::parse).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn candidate(id: i64, nearness: Option<Nearness>) -> Candidate {
        Candidate {
            id,
            kind: ResourceType::Volunteers,
            status: OfferStatus::Open,
            categories: Vec::new(),
            remaining: 10,
            available_from: None,
            available_to: None,
            nearness,
            linked: false,
        }
    }

    fn need(outstanding: i64) -> NeedFacts {
        NeedFacts {
            kind: ResourceType::Volunteers,
            category: Some(Category::Environment),
            outstanding,
            on: d("2026-06-15"),
        }
    }

    #[test]
    fn nearness_is_read_from_the_tree() {
        let community = "/1/5/12/";
        assert_eq!(
            Nearness::of("/1/5/12/", community),
            Some(Nearness::Community)
        );
        assert_eq!(
            Nearness::of("/1/5/12/40/", community),
            Some(Nearness::Community)
        );
        assert_eq!(Nearness::of("/1/5/", community), Some(Nearness::Street));
        assert_eq!(Nearness::of("/1/", community), Some(Nearness::District));
        // Another community of the same street, another street: not for this case.
        assert_eq!(Nearness::of("/1/5/13/", community), None);
        assert_eq!(Nearness::of("/1/6/", community), None);
        assert_eq!(Nearness::of("", community), None);
    }

    #[test]
    fn r_org_4_proposals_rank_nearness_links_category_and_coverage() {
        let mut district = candidate(1, Some(Nearness::District));
        district.remaining = 50;
        let street = candidate(2, Some(Nearness::Street));
        let community = candidate(3, Some(Nearness::Community));
        let mut linked_street = candidate(4, Some(Nearness::Street));
        linked_street.linked = true;
        let mut for_environment = candidate(5, Some(Nearness::District));
        for_environment.categories = vec![Category::Environment, Category::Safety];
        for_environment.remaining = 12;
        let mut for_culture = candidate(6, Some(Nearness::Community));
        for_culture.categories = vec![Category::Culture];
        let mut funds = candidate(7, Some(Nearness::Community));
        funds.kind = ResourceType::Funds;
        let elsewhere = candidate(8, None);
        let mut expired = candidate(9, Some(Nearness::Community));
        expired.available_to = Some(d("2026-06-14"));
        let mut not_yet = candidate(10, Some(Nearness::Community));
        not_yet.available_from = Some(d("2026-06-16"));
        let mut used_up = candidate(11, Some(Nearness::Community));
        used_up.remaining = 0;
        let mut withdrawn = candidate(12, Some(Nearness::Community));
        withdrawn.status = OfferStatus::Withdrawn;
        let all = [
            district,
            street,
            community,
            linked_street,
            for_environment,
            for_culture,
            funds,
            elsewhere,
            expired,
            not_yet,
            used_up,
            withdrawn,
        ];
        let p = propose(&need(8), &all);
        let order: Vec<(i64, u32)> = p.iter().map(|p| (p.resource_id, p.score)).collect();
        // linked street 20+15+5, community 30+5, street 20+5, district-for-environment
        // 10+10+5, district 10+5 (50 left: coverage, not size, decides).
        assert_eq!(order, vec![(4, 40), (3, 35), (5, 25), (2, 25), (1, 15)]);
        let mut twin = candidate(13, Some(Nearness::Street));
        twin.linked = true;
        let p2 = propose(&need(8), &[twin, all[3].clone()]);
        assert_eq!(p2[0].resource_id, 4, "then the older offer");
        // Equal scores (5 and 2): the larger remaining first.
        assert!(p[0].reasons.iter().any(|r| r.contains("挂点帮扶")));
        assert!(p[2].reasons.iter().any(|r| r == "面向环境整治类"));
        assert_eq!(p[0].quantity, 8);
        // Only part of the need: the quantity proposed is what the offer has.
        let p = propose(&need(25), &all);
        assert_eq!(p[0].quantity, 10);
        assert!(p[0].reasons.iter().any(|r| r == "可满足部分需求"));
        assert_eq!(p.iter().find(|p| p.resource_id == 1).unwrap().quantity, 25);
        // Nothing outstanding: nothing proposed.
        assert!(propose(&need(0), &all).is_empty());
    }

    #[test]
    fn r_org_4_an_accepted_match_fits_the_need_and_the_offer() {
        let c = candidate(1, Some(Nearness::Street));
        assert!(check_accept(&need(8), &c, 8).is_ok());
        let e = check_accept(&need(8), &c, 11).unwrap_err();
        assert_eq!((e.rule, e.field), ("R-ORG-4", "quantity"));
        assert!(e.message.contains("剩余 10"), "{}", e.message);
        let e = check_accept(&need(5), &c, 6).unwrap_err();
        assert!(e.message.contains("尚缺 5"), "{}", e.message);
        assert!(check_accept(&need(5), &c, 0).is_err());
        assert!(
            check_accept(&need(0), &c, 1)
                .unwrap_err()
                .message
                .contains("已全部落实")
        );
        let mut other = candidate(2, None);
        assert_eq!(
            check_accept(&need(5), &other, 1).unwrap_err().field,
            "resource_id"
        );
        other.nearness = Some(Nearness::Community);
        other.categories = vec![Category::Culture];
        assert!(
            check_accept(&need(5), &other, 1)
                .unwrap_err()
                .message
                .contains("环境整治类")
        );
        let mut funds = candidate(3, Some(Nearness::Community));
        funds.kind = ResourceType::Funds;
        funds.remaining = 500_000;
        let funds_need = NeedFacts {
            kind: ResourceType::Funds,
            outstanding: 300_000,
            ..need(0)
        };
        let e = check_accept(&funds_need, &funds, 400_000).unwrap_err();
        assert!(e.message.contains("尚缺 3,000.00 元"), "{}", e.message);
    }

    #[test]
    fn offers_and_needs_are_checked_field_by_field() {
        let e = check_offer(&OfferInput {
            kind: "land",
            title: "",
            quantity: "abc",
            categories: &["food".into()],
            available_from: Some("2026-06-10"),
            available_to: Some("2026-06-01"),
            ..Default::default()
        })
        .unwrap_err();
        for f in ["kind", "title", "categories", "available_to"] {
            assert!(e.get(f).is_some(), "{f}: {e:?}");
        }
        let e = check_offer(&OfferInput {
            kind: "volunteers",
            title: "党员志愿服务队",
            quantity: "2.5",
            ..Default::default()
        })
        .unwrap_err();
        assert!(e.get("quantity").unwrap().contains("整数"));
        let o = check_offer(&OfferInput {
            kind: "资金",
            title: " 社区微更新资金 ",
            quantity: "¥20,000",
            measure: Some("万元"),
            categories: &[
                "environment".into(),
                "安全防护类".into(),
                "environment".into(),
            ],
            ..Default::default()
        })
        .unwrap();
        assert_eq!(o.kind, ResourceType::Funds);
        assert_eq!((o.quantity, o.measure.as_str()), (2_000_000, "元"));
        assert_eq!(o.categories, vec![Category::Safety, Category::Environment]);
        assert_eq!(
            parse_categories(&categories_text(&o.categories)),
            o.categories
        );
        let v = check_offer(&OfferInput {
            kind: "venue",
            title: "单位会议室",
            quantity: "4",
            ..Default::default()
        })
        .unwrap();
        assert_eq!(v.measure, "场次");
        assert_eq!(v.kind.show(v.quantity, &v.measure), "4 场次");
        let e = check_need("funds", "", "0", None).unwrap_err();
        assert!(e.get("description").is_some() && e.get("quantity").is_some());
        let n = check_need("materials", "垃圾分类桶", "12", Some("个")).unwrap();
        assert_eq!((n.quantity, n.measure.as_str()), (12, "个"));
        assert!(check_withdraw(OfferStatus::Open, " ").is_err());
        assert!(check_withdraw(OfferStatus::Withdrawn, "x").is_err());
    }
}
