//! The demo district, modelled on Xihu District, Nanchang: its streets and 桃花镇 (public
//! names), plausible communities, leaders linked to streets, cadres, councils, units of every
//! type and 5,000 in-service party members. Names are generated deterministically from common
//! surnames and given-name characters, so every demo looks the same.

use chrono::NaiveDate;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use roundtable_core::links::LinkKind;
use roundtable_core::org::UnitType;
use roundtable_store::links::LinkFields;
use roundtable_store::orgs::OrgFields;
use roundtable_store::people::PersonFields;
use roundtable_store::units::UnitFields;
use roundtable_store::{Db, Exec, links, orgs, people, units, users};

use crate::auth::hash_password;
use crate::error::AppError;
use crate::services::users::generate_password;

const STREETS: &[(&str, &str)] = &[
    ("南浦街道", "street"),
    ("朝阳洲街道", "street"),
    ("广润门街道", "street"),
    ("系马桩街道", "street"),
    ("绳金塔街道", "street"),
    ("十字街街道", "street"),
    ("西湖街道", "street"),
    ("丁公路街道", "street"),
    ("南站街道", "street"),
    ("桃源街道", "street"),
    ("桃花镇", "town"),
];

const COMMUNITY_STEMS: &[&str] = &[
    "滕王阁",
    "孺子亭",
    "桃花",
    "杏花楼",
    "百花洲",
    "筷子巷",
    "醋巷",
    "洪城",
    "朝阳",
    "绳金塔",
    "系马桩",
    "铁街",
    "里洲",
    "西湖",
    "丁公",
    "南站",
    "金塔",
    "抚河",
    "顺化门",
    "棉花市",
    "前进",
    "象山",
    "子固",
    "渊明",
    "翠林",
    "翘步",
    "万寿宫",
    "隆福",
    "观音亭",
    "蓼洲",
    "船山",
    "洗马池",
    "苏圃",
    "嘉禾",
];

const SURNAMES: &str = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤";
const GIVEN: &str = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀英华慧巧美淑惠珠翠雅芝玉萍红娥玲芬燕彩春菊兰凤洁梅琳素云莲真环雪荣爱妹霞香月莺媛瑞凡佳嘉琼勤珍贞莉桂娣叶璧璐娅琦晶妍茜秋珊莎锦黛青倩婷姣婉娴瑾颖露瑶怡婵雁蓓纨仪荷丹蓉眉君琴蕊薇菁梦岚苑婕馨瑗琰韵融园艺咏卿聪澜纯毓悦昭冰爽琬茗羽希宁欣飘育滢馥筠柔竹霭凝晓欢霄枫芸菲寒伊亚宜可姬舒影荔枝思丽";

/// Logins written by the demo: role label, username, password.
pub struct DemoLogin {
    pub role: &'static str,
    pub username: String,
    pub password: String,
}

/// The generator of names, phone numbers and unit numbers (unique across districts).
struct Names {
    rng: StdRng,
    surnames: Vec<char>,
    given: Vec<char>,
    phone_no: i64,
    unit_no: usize,
}

impl Names {
    fn new(seed: u64) -> Names {
        Names {
            rng: StdRng::seed_from_u64(seed),
            surnames: SURNAMES.chars().collect(),
            given: GIVEN.chars().collect(),
            phone_no: 13_907_910_000,
            unit_no: 0,
        }
    }

    fn phone(&mut self) -> Option<String> {
        self.phone_no += 1;
        Some(self.phone_no.to_string())
    }

    fn name(&mut self) -> String {
        let s = self.surnames[self.rng.gen_range(0..self.surnames.len())];
        let n = if self.rng.gen_bool(0.7) { 2 } else { 1 };
        let g: String = (0..n)
            .map(|_| self.given[self.rng.gen_range(0..self.given.len())])
            .collect();
        format!("{s}{g}")
    }
}

fn person(
    name: String,
    phone: Option<String>,
    org_id: i64,
    kinds: &[&str],
    title: Option<&str>,
) -> PersonFields {
    PersonFields {
        name,
        phone,
        org_id,
        unit_id: None,
        title: title.map(str::to_string),
        deputy_type: None,
        note: None,
        kinds: kinds.iter().map(|k| k.to_string()).collect(),
    }
}

/// One district of the demo: streets and communities, leaders linked to streets, street
/// leaders, each community's secretary, cadres, council, building head and units, deputies and
/// `party_members` in-service party members.
struct Tree {
    district: i64,
    #[allow(dead_code)]
    streets: Vec<i64>,
    /// (street, community)
    communities: Vec<(i64, i64)>,
    leader_ids: Vec<i64>,
}

async fn district_tree(
    tx: &mut roundtable_store::Tx,
    names: &mut Names,
    name: &str,
    code: &str,
    party_members: usize,
) -> Result<Tree, AppError> {
    let start = NaiveDate::from_ymd_opt(2021, 7, 1).expect("valid date");
    let org = |parent_id, kind: &str, name: &str, code: String, sort_order| OrgFields {
        parent_id,
        kind: kind.into(),
        name: name.into(),
        code,
        sort_order,
    };
    let district = orgs::insert(tx, &org(None, "district", name, code.into(), 0), None).await?;
    let dpath = format!("/{district}/");
    let mut streets = Vec::new();
    let mut communities: Vec<(i64, i64)> = Vec::new(); // (street, community)
    let mut stem = 0;
    for (i, (name, kind)) in STREETS.iter().enumerate() {
        let code = format!("{code}{:03}", i + 1);
        let s = orgs::insert(
            tx,
            &org(Some(district), kind, name, code.clone(), i as i64),
            Some(&dpath),
        )
        .await?;
        let spath = format!("{dpath}{s}/");
        streets.push(s);
        let n = 8 + (i % 4);
        for j in 0..n {
            let base = COMMUNITY_STEMS[stem % COMMUNITY_STEMS.len()];
            let round = stem / COMMUNITY_STEMS.len();
            stem += 1;
            let (cname, ckind) = if *kind == "town" {
                (
                    format!("{base}{}村", if round > 0 { "新" } else { "" }),
                    "village",
                )
            } else {
                (
                    format!("{base}{}社区", if round > 0 { "新村" } else { "" }),
                    "community",
                )
            };
            let c = orgs::insert(
                tx,
                &org(
                    Some(s),
                    ckind,
                    &cname,
                    format!("{code}{:03}", j + 1),
                    j as i64,
                ),
                Some(&spath),
            )
            .await?;
            communities.push((s, c));
        }
    }
    // District leaders (20), two per street roughly, linked from July 2021.
    let mut leader_ids = Vec::new();
    for i in 0..20 {
        let title = if i < 8 { "区委常委" } else { "副区长" };
        let id = people::insert(
            tx,
            &person(
                names.name(),
                names.phone(),
                district,
                &["district_leader"],
                Some(title),
            ),
        )
        .await?;
        leader_ids.push(id);
        let street = streets[i % streets.len()];
        links::insert(
            tx,
            &link(LinkKind::LeaderStreet, Some(id), None, street, None, start),
        )
        .await?;
    }
    // Street leaders: one per street, linked to each of its communities; leading groups.
    let mut street_leaders = Vec::new();
    for &s in &streets {
        let head = people::insert(
            tx,
            &person(
                names.name(),
                names.phone(),
                s,
                &["street_leader"],
                Some("党工委书记"),
            ),
        )
        .await?;
        let deputy = people::insert(
            tx,
            &person(
                names.name(),
                names.phone(),
                s,
                &["street_leader"],
                Some("办事处主任"),
            ),
        )
        .await?;
        street_leaders.push((s, head));
        links::insert(
            tx,
            &link(
                LinkKind::LeadingGroup,
                Some(head),
                None,
                s,
                Some("head"),
                start,
            ),
        )
        .await?;
        links::insert(
            tx,
            &link(
                LinkKind::LeadingGroup,
                Some(deputy),
                None,
                s,
                Some("deputy_head"),
                start,
            ),
        )
        .await?;
    }
    let unit_types = UnitType::ALL;
    for (k, &(s, c)) in communities.iter().enumerate() {
        let head = street_leaders
            .iter()
            .find(|(st, _)| *st == s)
            .map(|(_, h)| *h);
        links::insert(
            tx,
            &link(LinkKind::StreetLeaderCommunity, head, None, c, None, start),
        )
        .await?;
        people::insert(
            tx,
            &person(
                names.name(),
                names.phone(),
                c,
                &["party_secretary", "community_cadre"],
                Some("党组织书记"),
            ),
        )
        .await?;
        for _ in 0..3 {
            people::insert(
                tx,
                &person(
                    names.name(),
                    names.phone(),
                    c,
                    &["community_cadre"],
                    Some("两委委员"),
                ),
            )
            .await?;
        }
        for _ in 0..4 {
            let m = people::insert(
                tx,
                &person(
                    names.name(),
                    names.phone(),
                    c,
                    &["council_member", "resident_representative"],
                    None,
                ),
            )
            .await?;
            links::insert(
                tx,
                &link(LinkKind::CouncilMember, Some(m), None, c, None, start),
            )
            .await?;
        }
        people::insert(
            tx,
            &person(names.name(), names.phone(), c, &["building_head"], None),
        )
        .await?;
        // Two units per community, cycling through every type.
        for _ in 0..2 {
            let t = unit_types[names.unit_no % unit_types.len()];
            names.unit_no += 1;
            let uname = format!(
                "{}{}{}",
                t.label().trim_end_matches("单位"),
                names.unit_no,
                if t == UnitType::PropertyCompany {
                    "号物业服务有限公司"
                } else {
                    "号"
                }
            );
            let org_id = if t == UnitType::DistrictDepartment {
                district
            } else {
                c
            };
            let u = units::insert(
                tx,
                &UnitFields {
                    name: uname,
                    unit_type: t.code().into(),
                    org_id,
                    contact_name: Some(names.name()),
                    contact_phone: names.phone(),
                    note: None,
                },
            )
            .await?;
            if matches!(t, UnitType::AssistanceUnit | UnitType::CoBuildingUnit) {
                let kind = if t == UnitType::AssistanceUnit {
                    LinkKind::UnitAssist
                } else {
                    LinkKind::UnitCoBuild
                };
                links::insert(tx, &link(kind, None, Some(u), c, None, start)).await?;
            }
        }
        if k % 10 == 0 {
            let mut d = person(names.name(), names.phone(), c, &["deputy"], None);
            d.deputy_type = Some(["peoples_congress", "party_congress", "cppcc"][k % 3].into());
            people::insert(tx, &d).await?;
        }
    }
    // 5,000 in-service party members registered with communities.
    for i in 0..party_members {
        let (_, c) = communities[i % communities.len()];
        people::insert(
            tx,
            &person(names.name(), names.phone(), c, &["party_member"], None),
        )
        .await?;
    }
    Ok(Tree {
        district,
        streets,
        communities,
        leader_ids,
    })
}

/// Other districts of the city (public names of Nanchang's districts and counties), added by
/// `grow_city` for city-sized histories.
const CITY: &[(&str, &str)] = &[
    ("东湖区", "360102"),
    ("青云谱区", "360104"),
    ("青山湖区", "360111"),
    ("新建区", "360112"),
    ("红谷滩区", "360113"),
    ("南昌县", "360121"),
    ("进贤县", "360124"),
    ("安义县", "360123"),
    ("湾里管理局", "360105"),
    ("经开区", "360191"),
    ("高新区", "360192"),
    ("小蓝经开区", "360193"),
    ("临空经济区", "360194"),
];

/// Adds districts to the demo until it has at least `communities` communities (1,500: the
/// city size of the benchmarks); answers how many it has.
pub async fn grow_city(db: &Db, communities: usize) -> Result<usize, AppError> {
    let count = || async {
        let n: i64 = db
            .pool()
            .fetch_one(roundtable_store::Sql::new(
                "SELECT COUNT(*) FROM orgs WHERE kind IN ('community', 'village')",
            ))
            .await?;
        Ok::<usize, AppError>(n as usize)
    };
    let districts: i64 = db
        .pool()
        .fetch_one(roundtable_store::Sql::new(
            "SELECT COUNT(*) FROM orgs WHERE parent_id IS NULL",
        ))
        .await?;
    let mut next = districts as usize - 1;
    let mut have = count().await?;
    while have < communities {
        let (name, code) = CITY
            .get(next)
            .map(|(n, c)| (n.to_string(), c.to_string()))
            .unwrap_or_else(|| (format!("第{}区", next + 1), format!("3699{:02}", next)));
        // Phone numbers and unit names stay unique: each district starts its own block.
        let mut names = Names::new(20210621 + next as u64 + 1);
        names.phone_no = 13_907_910_000 + (next as i64 + 1) * 100_000;
        names.unit_no = (next + 1) * 10_000;
        let mut tx = db.begin().await?;
        district_tree(&mut tx, &mut names, &name, &code, 500).await?;
        tx.commit().await?;
        next += 1;
        have = count().await?;
    }
    Ok(have)
}

/// Fills an empty database; returns the logins (one per role). Does nothing and returns `None`
/// when the database already holds an organisation.
pub async fn seed(db: &Db) -> Result<Option<Vec<DemoLogin>>, AppError> {
    if orgs::count(&mut db.pool()).await? > 0 {
        return Ok(None);
    }
    let mut names = Names::new(20210621);
    let mut tx = db.begin().await?;
    let tree = district_tree(&mut tx, &mut names, "西湖区", "360103", 5000).await?;
    let Tree {
        district,
        communities,
        leader_ids,
        ..
    } = tree;
    // One account per role.
    let (first_street, first_community) = communities[0];
    let first_leader = leader_ids[0];
    // (label, username, role, node, person)
    type DemoAccount = (
        &'static str,
        &'static str,
        &'static str,
        Option<i64>,
        Option<i64>,
    );
    let roles: Vec<DemoAccount> = vec![
        ("系统管理员", "admin", "system_admin", None, None),
        ("审计管理员", "auditor", "audit_admin", None, None),
        ("安全管理员", "security", "security_admin", None, None),
        ("区级管理员", "zzb", "district_admin", Some(district), None),
        (
            "区级领导",
            "leader",
            "district_leader",
            Some(district),
            Some(first_leader),
        ),
        (
            "街道(镇)管理员",
            "street",
            "street_admin",
            Some(first_street),
            None,
        ),
        (
            "社区(村)书记",
            "secretary",
            "community_secretary",
            Some(first_community),
            None,
        ),
        (
            "社区工作人员",
            "staff",
            "community_staff",
            Some(first_community),
            None,
        ),
        (
            "民情理事会成员",
            "council",
            "council_member",
            Some(first_community),
            None,
        ),
        (
            "在职党员",
            "member",
            "party_member",
            Some(first_community),
            None,
        ),
    ];
    let member_person: Option<i64> = tx
        .fetch_optional(roundtable_store::Sql::with(
            "SELECT p.id FROM people p JOIN person_kinds k ON k.person_id = p.id WHERE k.kind = 'party_member' AND p.org_id = $1 ORDER BY p.id LIMIT 1",
            roundtable_store::args![first_community],
        ))
        .await?;
    // The council account is one of the community's 民情理事会 members (R-PROC-2 visits).
    let council_person: Option<i64> = tx
        .fetch_optional(roundtable_store::Sql::with(
            "SELECT person_id FROM links WHERE kind = 'council_member' AND org_id = $1 ORDER BY id LIMIT 1",
            roundtable_store::args![first_community],
        ))
        .await?;
    let mut logins = Vec::new();
    for (label, username, role, org_id, person_id) in roles {
        let password = generate_password();
        let person_id = match role {
            "party_member" => member_person,
            "council_member" => council_person,
            _ => person_id,
        };
        let id = users::insert(
            &mut tx,
            username,
            &hash_password(&password)?,
            label,
            person_id,
            false,
        )
        .await?;
        users::add_role(&mut tx, id, role, org_id).await?;
        logins.push(DemoLogin {
            role: label,
            username: username.into(),
            password,
        });
    }
    seed_topics(&mut tx, &mut names, &communities).await?;
    seed_questionnaire(&mut tx, &mut names, first_community).await?;
    seed_resources(&mut tx, district, &communities, member_person).await?;
    tx.commit().await?;
    Ok(Some(logins))
}

/// Matters residents raise (category, title, description), and personal appeals screened out
/// (R-TOP-3). Written for the demo; no real person's words.
const MATTERS: &[(&str, &str, &str)] = &[
    (
        "safety",
        "楼道杂物堆放",
        "楼道里堆满纸箱和旧家具，堵塞消防通道，存在火灾隐患",
    ),
    (
        "safety",
        "电动车飞线充电",
        "电动车在楼道里充电，飞线充电太危险，希望安装集中充电桩",
    ),
    (
        "safety",
        "外墙瓷砖脱落",
        "外墙瓷砖松动脱落，楼下是孩子玩耍的地方，差点砸到人",
    ),
    (
        "environment",
        "垃圾清运不及时",
        "垃圾站在楼栋窗户下，夏天臭味大，垃圾清运不及时",
    ),
    (
        "environment",
        "绿化带被毁种菜",
        "有住户毁绿种菜，还浇粪水，公共绿地变成了菜地",
    ),
    (
        "environment",
        "雨天门口积水",
        "一下大雨小区门口就积水，排水管道堵了，老人孩子出行不便",
    ),
    (
        "environment",
        "路灯不亮",
        "小区北门到楼栋的路灯坏了一个多月，晚上回家不安全",
    ),
    (
        "culture",
        "健身器材损坏",
        "广场上的健身器材年久失修，扭腰器轴断了，孩子玩很危险",
    ),
    (
        "culture",
        "广场舞噪音",
        "晚上九点多还在跳广场舞，音响声音太大，影响休息",
    ),
    (
        "culture",
        "缺少儿童活动场地",
        "小区里没有儿童游乐设施，孩子放学只能在停车场玩",
    ),
    (
        "living_care",
        "老旧小区加装电梯",
        "老楼没有电梯，六楼的老人下楼太难，希望协调加装电梯",
    ),
    (
        "living_care",
        "老年助餐",
        "独居老人做饭不方便，希望社区开设长者助餐点",
    ),
    (
        "living_care",
        "非机动车棚不够",
        "车棚太小，电动车只能停在路边，希望扩建车棚",
    ),
    (
        "public_benefit",
        "文明养犬",
        "遛狗不牵绳，狗粪到处都是，希望开展文明养犬宣传",
    ),
    (
        "public_benefit",
        "邻里纠纷调解",
        "楼上装修噪音和漏水，邻里之间多次争吵，希望有人调解",
    ),
    (
        "public_benefit",
        "便民服务点",
        "小区附近没有修鞋配钥匙的便民服务点，老人办事要跑很远",
    ),
];

const PERSONAL: &[(&str, &str, &str)] = &[
    (
        "other",
        "我家车位被占",
        "我家固定车位经常被别人停，希望社区管一管",
    ),
    ("other", "申请低保", "家里困难，想问问怎么申请低保"),
];

/// About 400 matters across the communities, from every channel: most still to be screened,
/// some accepted, and one personal appeal per community referred elsewhere (R-TOP-3).
async fn seed_topics(
    tx: &mut roundtable_store::Tx,
    names: &mut Names,
    communities: &[(i64, i64)],
) -> Result<(), AppError> {
    use roundtable_core::topics::{Channel, Status, tracking_code};
    use roundtable_store::topics::{self, StatusChange, TopicFields};
    let channels = [
        Channel::Portal,
        Channel::Hotline,
        Channel::Wechat,
        Channel::HomeVisit,
        Channel::PartyMembers,
        Channel::Questionnaire,
    ];
    for &(_, community) in communities {
        let collector: Option<i64> = tx
            .fetch_optional(roundtable_store::Sql::with(
                "SELECT p.id FROM people p JOIN person_kinds k ON k.person_id = p.id WHERE k.kind = 'party_member' AND p.org_id = $1 ORDER BY p.id LIMIT 1",
                roundtable_store::args![community],
            ))
            .await?;
        let n = 2 + names.rng.gen_range(0..3);
        for i in 0..n + 1 {
            let personal = i == n;
            let (category, title, description) = if personal {
                PERSONAL[names.rng.gen_range(0..PERSONAL.len())]
            } else {
                MATTERS[names.rng.gen_range(0..MATTERS.len())]
            };
            let channel = channels[names.rng.gen_range(0..channels.len())];
            let fields = TopicFields {
                org_id: community,
                title: title.into(),
                description: description.into(),
                category: category.into(),
                category_reason: (category == "other").then(|| "个人事项".to_string()),
                channel: channel.code().into(),
                direction: channel.direction().code().into(),
                collector_person_id: collector.filter(|_| channel.needs_collector()),
                submitter_name: Some(format!(
                    "{}{}",
                    names.name().chars().next().unwrap_or('王'),
                    if names.rng.gen_bool(0.5) {
                        "女士"
                    } else {
                        "先生"
                    }
                )),
                submitter_phone: None,
                contact_consent: names.rng.gen_bool(0.6),
                location: None,
                collected_on: None,
                level: "community".into(),
                terms: roundtable_core::similarity::to_stored(&crate::services::similar::terms(
                    title,
                    description,
                )),
            };
            let mut random = [0u8; 9];
            names.rng.fill(&mut random);
            let id = topics::insert(
                tx,
                &tracking_code(random),
                &fields,
                Status::Pending.code(),
                None,
            )
            .await?;
            let change = if personal {
                Some(StatusChange {
                    to: Status::Rejected.code(),
                    reject_reason: Some("personal"),
                    referred_to: Some("12345 热线"),
                    public_note: Some("属于个人诉求，已告知通过 12345 热线反映"),
                    ..Default::default()
                })
            } else if i == 0 && names.rng.gen_bool(0.5) {
                Some(StatusChange {
                    to: Status::Accepted.code(),
                    public_note: Some("已受理，将提交本月幸福圆桌会"),
                    ..Default::default()
                })
            } else {
                None
            };
            if let Some(c) = change {
                topics::change_status(tx, id, Status::Pending.code(), None, &c).await?;
            }
        }
    }
    Ok(())
}

/// A questionnaire published in the secretary's community, with answers to read and export.
/// The resource list (R-ORG-4): each community's assistance unit offers volunteers (every
/// third also its meeting room), each street the volunteers of a co-building unit, the
/// district funds for environment and safety projects and materials, the demo member their
/// skill — checked by the same rules as a form.
async fn seed_resources(
    tx: &mut roundtable_store::Tx,
    district: i64,
    communities: &[(i64, i64)],
    member: Option<i64>,
) -> Result<(), AppError> {
    use roundtable_core::resources::{OfferInput, check_offer};
    use roundtable_store::resources::{Offerer, insert};
    let offer = |kind: &'static str, title: &'static str, quantity: String, categories: &[&str]| {
        let categories: Vec<String> = categories.iter().map(|c| c.to_string()).collect();
        check_offer(&OfferInput {
            kind,
            title,
            quantity: &quantity,
            categories: &categories,
            ..Default::default()
        })
        .map_err(AppError::Validation)
    };
    let linked: Vec<(i64, i64, String)> = links::list(
        tx,
        &crate::services::everywhere(),
        &links::LinkFilter::default(),
        100_000,
    )
    .await?
    .into_iter()
    .filter_map(|l| Some((l.unit_id?, l.org_id, l.kind)))
    .filter(|(_, _, kind)| kind == "unit_assist" || kind == "unit_co_build")
    .collect();
    let mut streets_done = Vec::new();
    for (k, (street, community)) in communities.iter().enumerate() {
        let assist = linked
            .iter()
            .find(|(_, org, kind)| org == community && kind == "unit_assist");
        if let Some((unit, _, _)) = assist {
            let n = 10 + (k % 3) as i64 * 10;
            let f = offer("volunteers", "单位党员志愿服务队", n.to_string(), &[])?;
            insert(tx, *community, Offerer::Unit(*unit), &f, None).await?;
            if k % 3 == 0 {
                let f = offer("venue", "单位会议室（可借用议事）", "4".into(), &[])?;
                insert(tx, *community, Offerer::Unit(*unit), &f, None).await?;
            }
        }
        let co_build = linked
            .iter()
            .find(|(_, org, kind)| org == community && kind == "unit_co_build");
        if let Some((unit, _, _)) = co_build
            && !streets_done.contains(street)
        {
            streets_done.push(*street);
            let f = offer(
                "skills",
                "水电维修、法律咨询志愿服务",
                "12".into(),
                &["living_care", "public_benefit"],
            )?;
            insert(tx, *street, Offerer::Unit(*unit), &f, None).await?;
        }
    }
    let department: Option<i64> = tx
        .fetch_optional(roundtable_store::Sql::with(
            "SELECT id FROM units WHERE unit_type = 'district_department' ORDER BY id LIMIT 1",
            vec![],
        ))
        .await?;
    if let Some(unit) = department {
        let f = offer(
            "funds",
            "社区微更新专项资金",
            "50000".into(),
            &["environment", "safety"],
        )?;
        insert(tx, district, Offerer::Unit(unit), &f, None).await?;
        let f = offer(
            "materials",
            "分类垃圾桶、宣传展板",
            "60".into(),
            &["environment"],
        )?;
        insert(tx, district, Offerer::Unit(unit), &f, None).await?;
    }
    if let (Some(p), Some((_, community))) = (member, communities.first()) {
        let f = offer(
            "skills",
            "党员理发、家电维修志愿服务",
            "8".into(),
            &["living_care"],
        )?;
        insert(tx, *community, Offerer::Person(p), &f, None).await?;
    }
    Ok(())
}

async fn seed_questionnaire(
    tx: &mut roundtable_store::Tx,
    names: &mut Names,
    community: i64,
) -> Result<(), AppError> {
    use roundtable_store::questionnaires::{
        self as q, NewAnswer, NewQuestion, QuestionnaireFields,
    };
    let today = crate::render::today();
    let fields = QuestionnaireFields {
        org_id: community,
        title: "小区停车和加装电梯意见征集".into(),
        intro: Some("本月幸福圆桌会将商量停车和加装电梯的事，请您花一分钟说说想法。".into()),
        category: "living_care".into(),
        opens_on: Some(today - chrono::Duration::days(7)),
        closes_on: Some(today + chrono::Duration::days(14)),
    };
    let id = q::insert(tx, "d3e000000001", &fields, None).await?;
    let options = |xs: &[&str]| xs.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    let floors = options(&["1-3楼", "4-6楼", "7楼以上"]);
    let worries = options(&["停车位不够", "电动车充电", "加装电梯费用分摊", "施工影响"]);
    q::replace_questions(
        tx,
        id,
        &[
            NewQuestion {
                kind: "single",
                prompt: "您家住几楼？",
                required: true,
                options: &floors,
            },
            NewQuestion {
                kind: "multiple",
                prompt: "您最关心哪些事？",
                required: true,
                options: &worries,
            },
            NewQuestion {
                kind: "rating",
                prompt: "加装电梯对您家有多迫切？",
                required: true,
                options: &[],
            },
            NewQuestion {
                kind: "text",
                prompt: "您还有什么建议？",
                required: false,
                options: &[],
            },
        ],
    )
    .await?;
    q::set_status(tx, id, "published").await?;
    let questions = q::questions(tx, id).await?;
    let ideas = [
        "建议把北门空地划成临时停车位",
        "电梯费用按楼层分摊比较公平",
        "希望施工期间保证老人出行",
        "充电桩可以装在车棚里",
    ];
    for n in 0..36 {
        let r = q::insert_response(tx, id, &format!("demo-device-{n}"), None).await?;
        let floor = names.rng.gen_range(1..=3);
        let mut rows = vec![
            NewAnswer {
                question_id: questions[0].id,
                choice: Some(floor),
                ..Default::default()
            },
            NewAnswer {
                question_id: questions[2].id,
                rating: Some(if floor == 3 {
                    names.rng.gen_range(4..=5)
                } else {
                    names.rng.gen_range(1..=4)
                }),
                ..Default::default()
            },
        ];
        for c in 1..=4 {
            if c == 1 || names.rng.gen_bool(0.4) {
                rows.push(NewAnswer {
                    question_id: questions[1].id,
                    choice: Some(c),
                    ..Default::default()
                });
            }
        }
        if n % 6 == 0 {
            rows.push(NewAnswer {
                question_id: questions[3].id,
                text: Some(ideas[n / 6 % ideas.len()].into()),
                ..Default::default()
            });
        }
        for a in &rows {
            q::insert_answer(tx, r, a).await?;
        }
    }
    Ok(())
}

fn link(
    kind: LinkKind,
    person_id: Option<i64>,
    unit_id: Option<i64>,
    org_id: i64,
    role: Option<&str>,
    start: NaiveDate,
) -> LinkFields {
    LinkFields {
        kind: kind.code().into(),
        person_id,
        unit_id,
        org_id,
        group_role: role.map(str::to_string),
        start_date: start,
        end_date: None,
        note: None,
    }
}
