//! Storage contract tests: run on the backend named by ROUNDTABLE_TEST_DB (see testing.rs).

use chrono::NaiveDate;
use roundtable_core::access::Scope;
use roundtable_store::{Exec, PageReq, Sql, links, orgs, people, testing, units, users};

fn everywhere() -> Scope {
    Scope {
        everywhere: true,
        ..Scope::default()
    }
}

async fn tree(db: &roundtable_store::Db) -> (i64, i64, i64, i64) {
    let mut tx = db.begin().await.unwrap();
    let f = |parent_id, kind: &str, name: &str, code: &str| orgs::OrgFields {
        parent_id,
        kind: kind.into(),
        name: name.into(),
        code: code.into(),
        sort_order: 0,
    };
    let d = orgs::insert(&mut tx, &f(None, "district", "西湖区", "360103"), None)
        .await
        .unwrap();
    let dp = orgs::get(&mut tx, d).await.unwrap().unwrap().path;
    let s = orgs::insert(
        &mut tx,
        &f(Some(d), "street", "南浦街道", "360103001"),
        Some(&dp),
    )
    .await
    .unwrap();
    let sp = orgs::get(&mut tx, s).await.unwrap().unwrap().path;
    let c = orgs::insert(
        &mut tx,
        &f(Some(s), "community", "南浦社区", "360103001001"),
        Some(&sp),
    )
    .await
    .unwrap();
    let s2 = orgs::insert(
        &mut tx,
        &f(Some(d), "town", "桃花镇", "360103002"),
        Some(&dp),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    (d, s, c, s2)
}

#[tokio::test]
async fn r_org_1_paths_and_scope_filter_in_sql() {
    let db = testing::fresh_db().await.unwrap();
    let (d, s, c, s2) = tree(&db).await;
    let mut p = db.pool();
    let community = orgs::get(&mut p, c).await.unwrap().unwrap();
    assert_eq!(community.path, format!("/{d}/{s}/{c}/"));
    let street_scope = Scope {
        org_ids: vec![s],
        ..Scope::default()
    };
    let seen: Vec<i64> = orgs::list_in_scope(&mut p, &street_scope)
        .await
        .unwrap()
        .iter()
        .map(|o| o.id)
        .collect();
    assert_eq!(seen, vec![s, c]);
    let all: Vec<i64> = orgs::list_in_scope(&mut p, &everywhere())
        .await
        .unwrap()
        .iter()
        .map(|o| o.id)
        .collect();
    assert_eq!(all.len(), 4);
    assert!(all.contains(&s2));
    assert!(
        orgs::list_in_scope(&mut p, &Scope::default())
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn people_filter_by_kind_name_phone_and_scope() {
    let db = testing::fresh_db().await.unwrap();
    let (_d, s, c, s2) = tree(&db).await;
    let mut p = db.pool();
    let person = |name: &str, phone: Option<&str>, org_id, kinds: &[&str]| people::PersonFields {
        name: name.into(),
        phone: phone.map(Into::into),
        org_id,
        unit_id: None,
        title: None,
        deputy_type: None,
        note: None,
        kinds: kinds.iter().map(|k| k.to_string()).collect(),
    };
    let a = people::insert(
        &mut p,
        &person(
            "张伟",
            Some("13800001111"),
            c,
            &["party_member", "building_head"],
        ),
    )
    .await
    .unwrap();
    people::insert(
        &mut p,
        &person("李娜", Some("13800002222"), c, &["community_cadre"]),
    )
    .await
    .unwrap();
    people::insert(&mut p, &person("张敏", None, s2, &["party_member"]))
        .await
        .unwrap();
    let page = PageReq::new(None, None);
    let f = people::PersonFilter {
        kind: Some("party_member".into()),
        ..Default::default()
    };
    assert_eq!(
        people::list(&mut p, &everywhere(), &f, page)
            .await
            .unwrap()
            .total,
        2
    );
    let street = Scope {
        org_ids: vec![s],
        ..Scope::default()
    };
    let r = people::list(&mut p, &street, &f, page).await.unwrap();
    assert_eq!(r.total, 1);
    assert_eq!(
        r.items[0].kinds,
        vec!["building_head", "party_member"]
            .into_iter()
            .map(String::from)
            .collect::<Vec<_>>()
            .tap_sort()
    );
    // Numbers are sealed at rest (issue 6, `pii`): found by the whole number through the keyed
    // index, never by a part of it, and the column does not hold the digits.
    let f = people::PersonFilter {
        q: Some("13800002222".into()),
        ..Default::default()
    };
    assert_eq!(
        people::list(&mut p, &everywhere(), &f, page)
            .await
            .unwrap()
            .items[0]
            .name,
        "李娜"
    );
    let f = people::PersonFilter {
        q: Some("138000022".into()),
        ..Default::default()
    };
    assert_eq!(
        people::list(&mut p, &everywhere(), &f, page)
            .await
            .unwrap()
            .total,
        0
    );
    let stored: Vec<String> = p
        .fetch_all(Sql::new("SELECT phone FROM people WHERE phone IS NOT NULL"))
        .await
        .unwrap();
    assert!(!stored.is_empty());
    assert!(
        stored
            .iter()
            .all(|s| s.starts_with("sm4gcm:k1:") && !s.contains("13800002222")),
        "{stored:?}"
    );
    let f = people::PersonFilter {
        q: Some("张".into()),
        ..Default::default()
    };
    assert_eq!(
        people::list(&mut p, &everywhere(), &f, page)
            .await
            .unwrap()
            .total,
        2
    );
    let own = Scope {
        person_ids: vec![a],
        ..Scope::default()
    };
    assert_eq!(
        people::list(&mut p, &own, &people::PersonFilter::default(), page)
            .await
            .unwrap()
            .total,
        1
    );
    // Pages cover everyone once; a page past the end still gives the total.
    let mut seen = Vec::new();
    for n in 1..=2 {
        let r = people::list(
            &mut p,
            &everywhere(),
            &people::PersonFilter::default(),
            PageReq::new(Some(n), Some(2)),
        )
        .await
        .unwrap();
        assert_eq!(r.total, 3);
        seen.extend(r.items.iter().map(|i| i.id));
    }
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 3);
    let past = people::list(
        &mut p,
        &everywhere(),
        &people::PersonFilter::default(),
        PageReq::new(Some(9), Some(2)),
    )
    .await
    .unwrap();
    assert!(past.items.is_empty());
    assert_eq!(past.total, 3);
    // A node's subtree together with a kind, everywhere and within a street's scope.
    let f = people::PersonFilter {
        kind: Some("party_member".into()),
        org_id: Some(s),
        ..Default::default()
    };
    for sc in [everywhere(), street.clone()] {
        let r = people::list(&mut p, &sc, &f, page).await.unwrap();
        assert_eq!((r.total, r.items.len()), (1, 1));
        assert_eq!(r.items[0].id, a);
    }
    // Duplicate phone is refused by the database as well.
    let dup = people::insert(&mut p, &person("王五", Some("13800001111"), c, &[]))
        .await
        .unwrap_err();
    assert!(dup.is_unique_violation());
}

trait TapSort {
    fn tap_sort(self) -> Self;
}
impl TapSort for Vec<String> {
    fn tap_sort(mut self) -> Self {
        self.sort_by_key(|k| roundtable_core::people::PersonKind::parse(k));
        self
    }
}

#[tokio::test]
async fn r_org_2_links_valid_on_a_date() {
    let db = testing::fresh_db().await.unwrap();
    let (d, s, _c, s2) = tree(&db).await;
    let mut p = db.pool();
    let leader = people::insert(
        &mut p,
        &people::PersonFields {
            name: "周建国".into(),
            phone: None,
            org_id: d,
            unit_id: None,
            title: Some("区委常委".into()),
            deputy_type: None,
            note: None,
            kinds: vec!["district_leader".into()],
        },
    )
    .await
    .unwrap();
    let date = |s: &str| s.parse::<NaiveDate>().unwrap();
    let link = |org_id, start: &str, end: Option<&str>| links::LinkFields {
        kind: "leader_street".into(),
        person_id: Some(leader),
        unit_id: None,
        org_id,
        group_role: None,
        start_date: date(start),
        end_date: end.map(date),
        note: None,
    };
    links::insert(&mut p, &link(s, "2023-01-01", Some("2024-06-30")))
        .await
        .unwrap();
    links::insert(&mut p, &link(s2, "2024-07-01", None))
        .await
        .unwrap();
    assert_eq!(
        links::linked_streets(&mut p, leader, date("2024-06-30"))
            .await
            .unwrap(),
        vec![s]
    );
    assert_eq!(
        links::linked_streets(&mut p, leader, date("2024-07-01"))
            .await
            .unwrap(),
        vec![s2]
    );
    assert!(
        links::linked_streets(&mut p, leader, date("2022-12-31"))
            .await
            .unwrap()
            .is_empty()
    );
    let f = links::LinkFilter {
        org_id: Some(s),
        valid_on: Some(date("2024-01-15")),
        ..Default::default()
    };
    let on = links::list(&mut p, &everywhere(), &f, 100).await.unwrap();
    assert_eq!(on.len(), 1);
    assert_eq!(on[0].person_name.as_deref(), Some("周建国"));
    assert_eq!(
        links::spans_at(&mut p, "leader_street", s)
            .await
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn users_roles_sessions_and_failures() {
    let db = testing::fresh_db().await.unwrap();
    let (_d, s, c, _s2) = tree(&db).await;
    let mut p = db.pool();
    let u = users::insert(&mut p, "wang", "hash", "王主任", None, true)
        .await
        .unwrap();
    users::add_role(&mut p, u, "community_staff", Some(c))
        .await
        .unwrap();
    let roles = users::roles(&mut p, u).await.unwrap();
    assert_eq!(roles[0].org_name.as_deref(), Some("南浦社区"));
    let street = Scope {
        org_ids: vec![s],
        ..Scope::default()
    };
    assert_eq!(
        users::list(&mut p, &street, None, PageReq::new(None, None))
            .await
            .unwrap()
            .total,
        1
    );
    let other = Scope {
        org_ids: vec![999],
        ..Scope::default()
    };
    assert_eq!(
        users::list(&mut p, &other, None, PageReq::new(None, None))
            .await
            .unwrap()
            .total,
        0
    );
    users::session_create(&mut p, "h1", u, "csrf")
        .await
        .unwrap();
    assert_eq!(
        users::session_get(&mut p, "h1")
            .await
            .unwrap()
            .unwrap()
            .user_id,
        u
    );
    let later = chrono::Utc::now() + chrono::Duration::minutes(1);
    assert_eq!(users::sessions_delete_idle(&mut p, later).await.unwrap(), 1);
    let since = chrono::Utc::now() - chrono::Duration::minutes(15);
    users::auth_event(&mut p, "login_failed", "wang", Some(u), None, None)
        .await
        .unwrap();
    users::auth_event(&mut p, "login_ok", "wang", Some(u), None, None)
        .await
        .unwrap();
    assert_eq!(
        users::failures_since(&mut p, "wang", since).await.unwrap(),
        1
    );
    let u2 = users::get(&mut p, u).await.unwrap().unwrap();
    assert!(u2.must_change_password && !u2.disabled);
    // units
    let unit = units::insert(
        &mut p,
        &units::UnitFields {
            name: "南浦物业".into(),
            unit_type: "property_company".into(),
            org_id: c,
            contact_name: None,
            contact_phone: None,
            note: None,
        },
    )
    .await
    .unwrap();
    assert_eq!(
        units::get(&mut p, unit).await.unwrap().unwrap().org_name,
        "南浦社区"
    );
    let n: i64 = p
        .fetch_one(Sql::new("SELECT COUNT(*) FROM units"))
        .await
        .unwrap();
    assert_eq!(n, 1);
}

#[tokio::test]
async fn topics_keep_their_history_filter_in_scope_and_merge() {
    use roundtable_store::topics::{self, StatusChange, TopicFields, TopicFilter};
    let db = testing::fresh_db().await.unwrap();
    let (_d, s, c, s2) = tree(&db).await;
    let mut p = db.pool();
    let fields = |org_id, title: &str, channel: &str| TopicFields {
        org_id,
        title: title.into(),
        description: format!("{title}，居民反映多次。"),
        category: "environment".into(),
        category_reason: None,
        channel: channel.into(),
        direction: "bottom_up".into(),
        collector_person_id: None,
        submitter_name: Some("王女士".into()),
        submitter_phone: Some("13900001111".into()),
        contact_consent: true,
        location: Some("3栋楼下".into()),
        collected_on: None,
        level: "community".into(),
        terms: format!("w:{title}"),
    };
    let a = topics::insert(
        &mut p,
        "XH-AAAA-AAAA-AA",
        &fields(c, "楼道堆物清理", "portal"),
        "pending",
        None,
    )
    .await
    .unwrap();
    let b = topics::insert(
        &mut p,
        "XH-CCCC-CCCC-CC",
        &fields(c, "楼道杂物堵塞通道", "hotline"),
        "pending",
        None,
    )
    .await
    .unwrap();
    topics::insert(
        &mut p,
        "XH-DDDD-DDDD-DD",
        &fields(s2, "路灯不亮", "portal"),
        "pending",
        None,
    )
    .await
    .unwrap();
    // The tracking code is unique.
    let dup = topics::insert(
        &mut p,
        "XH-AAAA-AAAA-AA",
        &fields(c, "x", "portal"),
        "pending",
        None,
    )
    .await
    .unwrap_err();
    assert!(dup.is_unique_violation());
    // The intake's form: a taken code stores nothing and says so, and the transaction goes on.
    let mut tx = db.begin().await.unwrap();
    let none = topics::insert_if_code_free(
        &mut tx,
        "XH-AAAA-AAAA-AA",
        &fields(c, "x", "portal"),
        "pending",
        None,
    )
    .await
    .unwrap();
    assert_eq!(none, None);
    let fresh = topics::insert_if_code_free(
        &mut tx,
        "XH-EEEE-EEEE-EE",
        &fields(c, "井盖松动", "portal"),
        "pending",
        None,
    )
    .await
    .unwrap();
    assert_eq!(
        topics::events(&mut tx, fresh.unwrap()).await.unwrap().len(),
        1
    );
    drop(tx); // rolled back: the counts below are the three topics above

    let got = topics::by_tracking_code(&mut p, "XH-AAAA-AAAA-AA")
        .await
        .unwrap()
        .unwrap();
    assert_eq!((got.id, got.org_id, got.status.as_str()), (a, c, "pending"));
    assert!(got.contact_consent);

    // Scope and filters, in SQL.
    let street = Scope {
        org_ids: vec![s],
        ..Scope::default()
    };
    let page = PageReq::new(None, None);
    let all = topics::list(&mut p, &everywhere(), &TopicFilter::default(), page)
        .await
        .unwrap();
    assert_eq!(all.total, 3);
    let mine = topics::list(&mut p, &street, &TopicFilter::default(), page)
        .await
        .unwrap();
    assert_eq!(mine.total, 2);
    assert!(mine.items.iter().all(|t| t.org_id == c));
    let hotline = TopicFilter {
        channel: Some("hotline".into()),
        ..Default::default()
    };
    assert_eq!(
        topics::list(&mut p, &everywhere(), &hotline, page)
            .await
            .unwrap()
            .total,
        1
    );
    let words = TopicFilter {
        words: vec!["楼道".into(), "堆物".into()],
        ..Default::default()
    };
    let r = topics::list(&mut p, &everywhere(), &words, page)
        .await
        .unwrap();
    assert_eq!((r.total, r.items[0].id), (1, a));
    let past = topics::list(
        &mut p,
        &everywhere(),
        &TopicFilter::default(),
        PageReq::new(Some(5), Some(2)),
    )
    .await
    .unwrap();
    assert!(past.items.is_empty());
    assert_eq!(past.total, 3);

    // Accept one, merge the other into it: history is kept, the source points to the survivor.
    let mut tx = db.begin().await.unwrap();
    topics::change_status(
        &mut tx,
        a,
        "pending",
        None,
        &StatusChange {
            to: "accepted",
            public_note: Some("已受理，将提交圆桌会"),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    topics::change_status(
        &mut tx,
        b,
        "pending",
        None,
        &StatusChange {
            to: "merged",
            merged_into: Some(a),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let sources = topics::merged_sources(&mut p, a).await.unwrap();
    assert_eq!(sources.iter().map(|t| t.id).collect::<Vec<_>>(), vec![b]);
    let history = topics::events(&mut p, b).await.unwrap();
    let steps: Vec<(Option<String>, String)> = history
        .iter()
        .map(|e| (e.from_status.clone(), e.to_status.clone()))
        .collect();
    assert_eq!(
        steps,
        vec![
            (None, "pending".into()),
            (Some("pending".into()), "merged".into())
        ]
    );
    assert_eq!(
        topics::events(&mut p, a).await.unwrap()[1]
            .public_note
            .as_deref(),
        Some("已受理，将提交圆桌会")
    );
    let open = topics::open_terms_in(&mut p, &[c, s2], 10).await.unwrap();
    assert_eq!(open.len(), 2, "the merged topic is no longer open");
    assert_eq!(
        topics::count_by_phone_since(
            &mut p,
            "13900001111",
            roundtable_store::now() - chrono::Duration::hours(1)
        )
        .await
        .unwrap(),
        3
    );
}

#[tokio::test]
async fn list_totals_stop_counting_past_the_cap() {
    use roundtable_store::COUNT_CAP;
    use roundtable_store::topics::{self, TopicFilter};
    let db = testing::fresh_db().await.unwrap();
    let (_d, _s, c, _s2) = tree(&db).await;
    let mut tx = db.begin().await.unwrap();
    // COUNT_CAP + 1 matters in one statement (a recursive counter works on both backends).
    tx.execute(Sql::with(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $1) \
         INSERT INTO topics (tracking_code, org_id, title, description, category, channel, direction, contact_consent, level, terms, status, created_at, updated_at) \
         SELECT 'XB-' || CAST(i AS TEXT), $2, '路灯', '路灯不亮', 'environment', 'portal', 'bottom_up', FALSE, 'community', '', 'pending', $3, $3 FROM n",
        roundtable_store::args![COUNT_CAP + 1, c, roundtable_store::now()],
    ))
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let mut p = db.pool();
    let page = topics::list(
        &mut p,
        &everywhere(),
        &TopicFilter::default(),
        PageReq::new(None, None),
    )
    .await
    .unwrap();
    assert_eq!((page.total, page.total_exact), (COUNT_CAP, false));
    assert_eq!(page.items.len(), 20);
    // Past the last page the total still comes (asked separately), capped the same way.
    let far = topics::list(
        &mut p,
        &everywhere(),
        &TopicFilter::default(),
        PageReq::new(Some(100_000), None),
    )
    .await
    .unwrap();
    assert!(far.items.is_empty());
    assert_eq!((far.total, far.total_exact), (COUNT_CAP, false));
    // One fewer: exact.
    p.execute(Sql::new("DELETE FROM topics WHERE tracking_code = 'XB-1'"))
        .await
        .unwrap();
    let page = topics::list(
        &mut p,
        &everywhere(),
        &TopicFilter::default(),
        PageReq::new(None, None),
    )
    .await
    .unwrap();
    assert_eq!((page.total, page.total_exact), (COUNT_CAP, true));
}

#[tokio::test]
async fn r_cal_1_calendar_seeded_from_the_shipped_notices_and_extended() {
    use roundtable_store::calendar;
    let db = testing::fresh_db().await.unwrap();
    let mut pool = db.pool();
    let shipped = calendar::parse(calendar::SHIPPED).unwrap();
    assert_eq!(calendar::load(&mut pool).await.unwrap(), shipped);
    let years = calendar::years(&mut pool).await.unwrap();
    assert_eq!(years.len(), 6);
    let y2025 = years.iter().find(|y| y.year == 2025).unwrap();
    assert!(y2025.holidays > 20 && y2025.workdays > 0, "{y2025:?}");
    // Migrating again seeds nothing twice.
    roundtable_store::migrate::run(&db).await.unwrap();
    assert_eq!(calendar::load(&mut pool).await.unwrap(), shipped);
    // An administrator adds 2027 (a notice with one holiday and one make-up day).
    let d = |s: &str| s.parse::<NaiveDate>().unwrap();
    let notice = roundtable_core::calendar::YearNotice {
        holidays: [d("2027-01-01")].into_iter().collect(),
        workdays: [d("2027-01-02")].into_iter().collect(),
    };
    let mut tx = db.begin().await.unwrap();
    calendar::store_year(&mut tx, 2027, &notice, "国办发明电〔2026〕X号", None)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let c = calendar::load(&mut pool).await.unwrap();
    assert!(c.knows(2027));
    assert!(!c.is_working_day(d("2027-01-01")));
    assert!(
        c.is_working_day(d("2027-01-02")),
        "a Saturday made a working day"
    );
    assert_eq!(calendar::years(&mut pool).await.unwrap().len(), 7);
}

// Several reads sent as one: each gets its own rows, in order, with its own arguments (also
// an empty result, a string literal holding `$1`, and inside a transaction).
#[tokio::test]
async fn reads_sent_together_answer_each_in_turn() {
    use roundtable_store::{Reads, args};
    let db = testing::fresh_db().await.unwrap();
    let (d, s, c, _s2) = tree(&db).await;
    let mut reads = Reads::new();
    let names = reads.add(Sql::with(
        "SELECT name FROM orgs WHERE id IN ($1, $2) ORDER BY id",
        args![d, c],
    ));
    let none = reads.add(Sql::with(
        "SELECT name FROM orgs WHERE id = $1",
        args![-1_i64],
    ));
    let literal = reads.add(Sql::with(
        "SELECT '$1 元' || name FROM orgs WHERE id = $1",
        args![s],
    ));
    let count = reads.add(Sql::new("SELECT COUNT(*) FROM orgs"));
    let mut conn = db.conn().await.unwrap();
    let mut rows = conn.fetch_reads(reads).await.unwrap();
    assert_eq!(
        rows.all::<String>(names).unwrap(),
        vec!["西湖区".to_string(), "南浦社区".to_string()]
    );
    assert!(rows.optional::<String>(none).unwrap().is_none());
    assert_eq!(rows.one::<String>(literal).unwrap(), "$1 元南浦街道");
    assert!(rows.one::<i64>(count).unwrap() >= 4);
    // A read is taken once.
    assert!(rows.all::<String>(names).is_err());
    // In a transaction, seeing its own writes.
    let mut tx = db.begin().await.unwrap();
    tx.execute(Sql::with(
        "UPDATE orgs SET name = $1 WHERE id = $2",
        args!["南浦社区（新）", c],
    ))
    .await
    .unwrap();
    let mut reads = Reads::new();
    let one = reads.add(Sql::with("SELECT name FROM orgs WHERE id = $1", args![c]));
    let two = reads.add(Sql::with("SELECT name FROM orgs WHERE id = $1", args![d]));
    let mut rows = tx.fetch_reads(reads).await.unwrap();
    assert_eq!(rows.one::<String>(one).unwrap(), "南浦社区（新）");
    assert_eq!(rows.one::<String>(two).unwrap(), "西湖区");
    drop(tx);
    // Nothing to read: no statement.
    let rows = db.pool().fetch_reads(Reads::new()).await;
    assert!(rows.is_ok());
}
