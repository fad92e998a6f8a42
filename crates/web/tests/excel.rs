//! Excel import and export through the service, on the backend named by ROUNDTABLE_TEST_DB:
//! all-or-nothing, idempotent by natural keys, every bad cell reported by sheet, row, column.

use roundtable_core::access::{Actor, Grant, Role};
use roundtable_store::{Db, Exec, Sql, testing};
use roundtable_web::error::AppError;
use roundtable_web::services::excel::{self, ImportReport, Sheet};
use rust_xlsxwriter::Workbook;

fn operator() -> Actor {
    Actor::operator()
}

enum Cell<'a> {
    T(&'a str),
    N(f64),
}
use Cell::{N, T};

fn book(sheets: &[(&str, Vec<Vec<Cell>>)]) -> Vec<u8> {
    let mut b = Workbook::new();
    for (name, rows) in sheets {
        let ws = b.add_worksheet();
        ws.set_name(*name).unwrap();
        for (i, r) in rows.iter().enumerate() {
            for (j, c) in r.iter().enumerate() {
                match c {
                    T("") => {}
                    T(s) => {
                        ws.write_string(i as u32, j as u16, *s).unwrap();
                    }
                    N(n) => {
                        ws.write_number(i as u32, j as u16, *n).unwrap();
                    }
                }
            }
        }
    }
    b.save_to_buffer().unwrap()
}

fn row<'a>(cells: &[&'a str]) -> Vec<Cell<'a>> {
    cells.iter().map(|s| T(s)).collect()
}

/// A small district: communities listed before their street (the import orders them), a phone
/// typed as a number, a person without a phone, links of three kinds.
fn district() -> Vec<u8> {
    book(&[
        (
            "组织",
            vec![
                row(&["编码*", "名称*", "类型*", "上级编码", "排序"]),
                row(&["360103001001", "孺子亭社区", "社区", "360103001", "1"]),
                row(&["360103001002", "系马桩社区", "社区", "360103001", "2"]),
                row(&["360103", "西湖区", "区", "", ""]),
                row(&["360103001", "南浦街道", "街道", "360103", "1"]),
            ],
        ),
        (
            "单位",
            vec![
                row(&["单位名称", "单位类型", "所在组织编码", "联系人"]),
                row(&["区民政局", "区直单位", "360103", "王主任"]),
                row(&["孺子亭物业", "物业公司", "360103001001", ""]),
            ],
        ),
        (
            "人员",
            vec![
                row(&[
                    "姓名",
                    "手机号码",
                    "所属组织编码",
                    "所在单位",
                    "人员类别",
                    "代表类别",
                ]),
                vec![
                    T("刘区长"),
                    N(13900000001.0),
                    T("360103"),
                    T("区民政局"),
                    T("区级领导"),
                    T(""),
                ],
                row(&[
                    "陈书记",
                    "13900000002",
                    "360103001001",
                    "",
                    "社区党组织书记、民情理事会成员",
                    "",
                ]),
                row(&["赵党员", "", "360103001002", "", "在职党员", ""]),
                row(&[
                    "钱代表",
                    "13900000004",
                    "360103001",
                    "",
                    "两代表一委员",
                    "人大代表",
                ]),
            ],
        ),
        (
            "关联",
            vec![
                row(&[
                    "关联类型",
                    "人员姓名",
                    "人员手机号码",
                    "人员所属组织编码",
                    "单位名称",
                    "关联组织编码",
                    "小组职务",
                    "开始日期",
                    "结束日期",
                ]),
                row(&[
                    "区级领导挂点街道(镇)",
                    "刘区长",
                    "13900000001",
                    "",
                    "",
                    "360103001",
                    "",
                    "2026-01-01",
                    "",
                ]),
                row(&[
                    "挂点帮扶",
                    "",
                    "",
                    "",
                    "区民政局",
                    "360103001001",
                    "",
                    "2026/1/1",
                    "",
                ]),
                row(&[
                    "民情理事会成员",
                    "陈书记",
                    "",
                    "360103001001",
                    "",
                    "360103001001",
                    "",
                    "2026-01-01",
                    "2026-12-31",
                ]),
            ],
        ),
    ])
}

async fn count(db: &Db, table: &str) -> i64 {
    db.pool()
        .fetch_one(Sql::new(&format!("SELECT COUNT(*) FROM {table}")))
        .await
        .unwrap()
}

async fn import(db: &Db, bytes: &[u8]) -> ImportReport {
    excel::import(db, &operator(), bytes, false, &|_, _| {})
        .await
        .expect("import runs")
}

fn totals(r: &ImportReport) -> Vec<(String, u32, u32, u32)> {
    r.counts
        .iter()
        .map(|c| (c.sheet.clone(), c.created, c.updated, c.unchanged))
        .collect()
}

#[tokio::test]
async fn import_applies_a_district_and_is_idempotent() {
    let db = testing::fresh_db().await.unwrap();
    let first = import(&db, &district()).await;
    assert!(first.applied, "{:?}", first.errors);
    assert_eq!(
        totals(&first),
        vec![
            ("组织".into(), 4, 0, 0),
            ("单位".into(), 2, 0, 0),
            ("人员".into(), 4, 0, 0),
            ("关联".into(), 3, 0, 0),
        ]
    );
    let with_phone: i64 = db
        .pool()
        .fetch_one(Sql::new(&format!(
            "SELECT COUNT(*) FROM people WHERE name = '刘区长' AND phone_idx = '{}'",
            // Numbers are sealed at rest: found by their keyed index.
            roundtable_store::pii::index(Some("13900000001"))
                .unwrap()
                .unwrap()
        )))
        .await
        .unwrap();
    assert_eq!(with_phone, 1, "a number cell reads as typed");
    let audit_after_first = count(&db, "audit_log").await;

    let again = import(&db, &district()).await;
    assert!(again.applied);
    assert!(
        again
            .counts
            .iter()
            .all(|c| c.created == 0 && c.updated == 0),
        "{:?}",
        totals(&again)
    );
    assert_eq!(count(&db, "people").await, 4);
    assert_eq!(count(&db, "links").await, 3);
    // only the record of the import itself: unchanged rows write nothing
    assert_eq!(count(&db, "audit_log").await, audit_after_first + 1);

    // An export reads back unchanged (round trip), and edits in it are updates.
    let exported = excel::export(&db, &operator(), &[]).await.unwrap();
    let back = import(&db, &exported).await;
    assert!(back.applied, "{:?}", back.errors);
    assert!(back.counts.iter().all(|c| c.created == 0 && c.updated == 0));

    let edit = book(&[(
        "人员",
        vec![
            row(&["姓名", "手机号码", "所属组织编码", "人员类别", "职务"]),
            // matched by name within the node (no phone), now given one
            row(&[
                "赵党员",
                "13900000003",
                "360103001002",
                "在职党员、楼栋长",
                "楼栋长",
            ]),
        ],
    )]);
    let r = import(&db, &edit).await;
    assert!(r.applied, "{:?}", r.errors);
    assert_eq!(totals(&r), vec![("人员".into(), 0, 1, 0)]);
    assert_eq!(count(&db, "people").await, 4);
    let kinds: i64 = db
        .pool()
        .fetch_one(Sql::new(&format!(
            "SELECT COUNT(*) FROM person_kinds k JOIN people p ON p.id = k.person_id WHERE p.phone_idx = '{}'",
            roundtable_store::pii::index(Some("13900000003")).unwrap().unwrap()
        )))
        .await
        .unwrap();
    assert_eq!(kinds, 2);
}

#[tokio::test]
async fn one_bad_cell_rejects_the_whole_file_and_names_each_cell() {
    let db = testing::fresh_db().await.unwrap();
    assert!(import(&db, &district()).await.applied);
    let before = (
        count(&db, "orgs").await,
        count(&db, "people").await,
        count(&db, "links").await,
        count(&db, "audit_log").await,
    );
    let bad = book(&[
        (
            "组织",
            vec![
                row(&["编码", "名称", "类型", "上级编码"]),
                row(&["360103001003", "新社区", "社区", "360103001"]), // valid, must not be kept
                row(&["360103001004", "无主社区", "社区", "999"]),
                row(&["360103001003", "重复社区", "社区", "360103001"]),
            ],
        ),
        (
            "人员",
            vec![
                row(&["姓名", "手机号码", "所属组织编码", "人员类别"]),
                row(&["孙新人", "1390000", "360103001001", "在职党员"]),
                row(&["李某", "13900000009", "360103001001", "外星人"]),
                row(&["", "13900000010", "360103001001", "楼栋长"]),
            ],
        ),
        (
            "关联",
            vec![
                row(&[
                    "关联类型",
                    "人员姓名",
                    "人员手机号码",
                    "关联组织编码",
                    "开始日期",
                ]),
                // R-ORG-2: a second leader link overlapping the first for the same street
                row(&[
                    "区级领导挂点街道(镇)",
                    "钱代表",
                    "13900000004",
                    "360103001",
                    "2026-06-01",
                ]),
                row(&[
                    "区级领导挂点街道(镇)",
                    "刘区长",
                    "13900000001",
                    "360103001",
                    "2026-13-01",
                ]),
            ],
        ),
    ]);
    let r = import(&db, &bad).await;
    assert!(!r.applied);
    let at: Vec<String> = r
        .errors
        .iter()
        .map(|e| format!("{}!{} {}", e.sheet, e.cell, e.message))
        .collect();
    let has = |cell: &str, text: &str| {
        assert!(
            at.iter().any(|m| m.starts_with(cell) && m.contains(text)),
            "expected {cell} … {text} in {at:#?}"
        )
    };
    has("组织!D3", "上级编码「999」不存在");
    has("组织!A4", "与第 2 行的编码相同");
    has("人员!B2", "手机号码");
    has("人员!D3", "外星人");
    has("人员!A4", "请填写姓名");
    has("关联!B2", "不是区级领导");
    has("关联!E3", "开始日期");
    assert_eq!(r.error_total, r.errors.len());
    let after = (
        count(&db, "orgs").await,
        count(&db, "people").await,
        count(&db, "links").await,
        count(&db, "audit_log").await,
    );
    assert_eq!(before, after, "nothing of a rejected file is kept");

    // A dry run of a good file reports what would happen and keeps nothing either.
    let good = book(&[(
        "组织",
        vec![
            row(&["编码", "名称", "类型", "上级编码"]),
            row(&["360103001003", "新社区", "社区", "360103001"]),
        ],
    )]);
    let dry = excel::import(&db, &operator(), &good, true, &|_, _| {})
        .await
        .unwrap();
    assert!(dry.dry_run && !dry.applied && dry.error_total == 0);
    assert_eq!(totals(&dry), vec![("组织".into(), 1, 0, 0)]);
    assert_eq!(count(&db, "orgs").await, before.0);
}

#[tokio::test]
async fn overlapping_links_in_the_file_are_refused_r_org_2() {
    let db = testing::fresh_db().await.unwrap();
    assert!(import(&db, &district()).await.applied);
    let bad = book(&[(
        "关联",
        vec![
            row(&[
                "关联类型",
                "单位名称",
                "关联组织编码",
                "开始日期",
                "结束日期",
            ]),
            // 挂点帮扶 allows several units, but one unit's two spans must not overlap
            row(&["挂点帮扶", "区民政局", "360103001001", "2026-06-01", ""]),
        ],
    )]);
    let r = import(&db, &bad).await;
    assert!(!r.applied);
    assert_eq!(r.errors.len(), 1, "{:?}", r.errors);
    assert_eq!(r.errors[0].sheet, "关联");
    assert_eq!(r.errors[0].row, 2);
}

#[tokio::test]
async fn files_that_are_not_workbooks_or_have_bad_layouts_change_nothing() {
    let db = testing::fresh_db().await.unwrap();
    let op = operator();
    let e = excel::import(&db, &op, b"%PDF-1.4 not a workbook", false, &|_, _| {})
        .await
        .unwrap_err();
    assert!(
        matches!(&e, AppError::Validation(f) if f.get("file").is_some_and(|m| m.contains("Excel")))
    );
    let missing = book(&[("人员", vec![row(&["姓名", "手机"])])]);
    let r = excel::import(&db, &op, &missing, false, &|_, _| {})
        .await
        .unwrap();
    assert!(!r.applied);
    assert!(
        r.errors
            .iter()
            .any(|e| e.message.contains("缺少必填列「所属组织编码」"))
    );
    assert!(
        r.errors
            .iter()
            .any(|e| e.cell == "B1" && e.message.contains("无法识别的列「手机」"))
    );
    assert_eq!(count(&db, "people").await, 0);
}

#[tokio::test]
async fn who_may_import_and_what_an_export_shows() {
    let db = testing::fresh_db().await.unwrap();
    assert!(import(&db, &district()).await.applied);
    let community: i64 = db
        .pool()
        .fetch_one(Sql::new("SELECT id FROM orgs WHERE code = '360103001001'"))
        .await
        .unwrap();
    let secretary = Actor {
        user_id: 7,
        person_id: None,
        grants: vec![Grant {
            role: Role::CommunitySecretary,
            org_id: Some(community),
        }],
        linked_streets: vec![],
    };
    // A secretary imports matters (议题) only: every row of the other sheets is refused.
    let r = excel::import(&db, &secretary, &district(), false, &|_, _| {})
        .await
        .unwrap();
    assert!(!r.applied);
    assert!(r.errors.iter().all(|e| e.message == "无权导入到该组织"));
    let council = Actor {
        grants: vec![Grant {
            role: Role::CouncilMember,
            org_id: Some(community),
        }],
        ..secretary.clone()
    };
    let e = excel::import(&db, &council, &district(), false, &|_, _| {})
        .await
        .unwrap_err();
    assert!(matches!(e, AppError::Forbidden));

    // A secretary's export holds only their community, with the numbers they may see.
    let bytes = excel::export(&db, &secretary, &[Sheet::People])
        .await
        .unwrap();
    use calamine::{Reader, open_workbook_auto_from_rs};
    let mut wb = open_workbook_auto_from_rs(std::io::Cursor::new(bytes)).unwrap();
    assert_eq!(wb.sheet_names(), vec!["人员", "说明"]);
    let range = wb.worksheet_range("人员").unwrap();
    let names: Vec<String> = range.rows().skip(1).map(|r| r[0].to_string()).collect();
    assert_eq!(names, vec!["陈书记"]);
    let exports: i64 = db
        .pool()
        .fetch_one(Sql::new(
            "SELECT COUNT(*) FROM audit_log WHERE action = 'export' AND actor_user_id = 7",
        ))
        .await
        .unwrap();
    assert_eq!(exports, 1, "an export is audited");
}

fn topics_sheet(rows: &[[&str; 14]]) -> Vec<u8> {
    topics_sheet_collected(rows, &[])
}

/// The 议题 sheet with a 收集日期 column: `dates[i]` for row i (none for the others).
fn topics_sheet_collected(rows: &[[&str; 14]], dates: &[&str]) -> Vec<u8> {
    let mut all = vec![row(&[
        "查询码",
        "社区编码*",
        "标题*",
        "内容*",
        "类别*",
        "其他类理由",
        "来源渠道*",
        "收集人手机号码",
        "收集人姓名",
        "反映人",
        "反映人手机",
        "同意联系",
        "地点",
        "层级",
        "收集日期",
    ])];
    all.extend(rows.iter().enumerate().map(|(i, r)| {
        let mut cells = r.to_vec();
        cells.push(dates.get(i).copied().unwrap_or(""));
        row(&cells)
    }));
    book(&[("议题", all)])
}

#[tokio::test]
async fn matters_collected_offline_are_imported_all_or_nothing_once() {
    let db = testing::fresh_db().await.unwrap();
    assert!(import(&db, &district()).await.applied);
    let community: i64 = db
        .pool()
        .fetch_one(Sql::new("SELECT id FROM orgs WHERE code = '360103001001'"))
        .await
        .unwrap();
    let staff = Actor {
        user_id: 0,
        person_id: None,
        grants: vec![Grant {
            role: Role::CommunityStaff,
            org_id: Some(community),
        }],
        linked_streets: vec![],
    };
    let c = "360103001001";
    let visit = [
        "",
        c,
        "楼道灯坏了",
        "5栋2单元楼道灯坏了一个月，晚上老人上下楼不安全",
        "安全防护类",
        "",
        "民情家访",
        "",
        "陈书记",
        "王阿姨",
        "13900001111",
        "是",
        "5栋2单元",
        "",
    ];
    let hotline = [
        "",
        c,
        "垃圾站异味",
        "小区东门垃圾站夏天异味大",
        "环境整治类",
        "",
        "诉求电话",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
    ];
    let bad = [
        [
            "",
            c,
            "",
            "没有标题",
            "安全防护类",
            "",
            "诉求电话",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
        ],
        [
            "",
            c,
            "不知归类",
            "说明",
            "其他类",
            "",
            "诉求电话",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
        ],
        [
            "",
            c,
            "无收集人",
            "家访记录",
            "安全防护类",
            "",
            "民情家访",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
        ],
        [
            "",
            "360103001002",
            "别的社区",
            "内容",
            "安全防护类",
            "",
            "诉求电话",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
        ],
        [
            "",
            c,
            "电话不对",
            "内容",
            "安全防护类",
            "",
            "诉求电话",
            "",
            "",
            "",
            "123",
            "",
            "",
            "",
        ],
        [
            "XH-0000-0000-00",
            c,
            "伪造查询码",
            "内容",
            "安全防护类",
            "",
            "诉求电话",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
        ],
    ];
    let mut rows = vec![visit, hotline];
    rows.extend(bad);
    let r = excel::import(&db, &staff, &topics_sheet(&rows), false, &|_, _| {})
        .await
        .unwrap();
    assert!(!r.applied);
    let at = |row: u32| {
        r.errors
            .iter()
            .find(|e| e.row == row)
            .map(|e| (e.column.clone(), e.message.clone()))
            .unwrap_or_else(|| panic!("row {row} reported: {:?}", r.errors))
    };
    assert_eq!(at(4).0, "标题");
    assert_eq!(at(5).0, "其他类理由");
    assert_eq!(at(6).0, "收集人手机号码");
    assert_eq!(at(7).1, "无权导入到该组织");
    assert_eq!(at(8).0, "反映人手机");
    assert_eq!(at(9).0, "查询码");
    assert_eq!(r.error_total, 6);
    assert_eq!(count(&db, "topics").await, 0, "all or nothing");

    // A visit collected on paper keeps its day; a day to come is refused.
    let r = excel::import(
        &db,
        &staff,
        &topics_sheet_collected(&[visit], &["2099-01-01"]),
        false,
        &|_, _| {},
    )
    .await
    .unwrap();
    assert!(!r.applied);
    assert_eq!(r.errors[0].column, "收集日期", "{:?}", r.errors);
    let good = topics_sheet_collected(&[visit, hotline], &["2026-11-18"]);
    let r = excel::import(&db, &staff, &good, false, &|_, _| {})
        .await
        .unwrap();
    assert!(r.applied, "{:?}", r.errors);
    assert_eq!(totals(&r), vec![("议题".to_string(), 2, 0, 0)]);
    let collected: i64 = db
        .pool()
        .fetch_one(Sql::new(
            "SELECT COUNT(*) FROM topics WHERE channel = 'home_visit' AND collector_person_id IS NOT NULL",
        ))
        .await
        .unwrap();
    assert_eq!(collected, 1, "the collector found by name in the community");
    let dated: i64 = db
        .pool()
        .fetch_one(Sql::new(
            "SELECT COUNT(*) FROM topics WHERE channel = 'home_visit' AND collected_on = '2026-11-18'",
        ))
        .await
        .unwrap();
    assert_eq!(dated, 1, "the day it was collected");
    // The same sheet again, and the export imported back: nothing new.
    let r = excel::import(&db, &staff, &good, false, &|_, _| {})
        .await
        .unwrap();
    assert_eq!(totals(&r), vec![("议题".to_string(), 0, 0, 2)]);
    assert!(matches!(
        excel::export(&db, &staff, &[Sheet::Topics]).await,
        Err(AppError::Forbidden)
    ));
    let secretary = Actor {
        grants: vec![Grant {
            role: Role::CommunitySecretary,
            org_id: Some(community),
        }],
        ..staff.clone()
    };
    let exported = excel::export(&db, &secretary, &[Sheet::Topics])
        .await
        .unwrap();
    use calamine::{Reader, open_workbook_auto_from_rs};
    let mut wb = open_workbook_auto_from_rs(std::io::Cursor::new(exported.clone())).unwrap();
    let range = wb.worksheet_range("议题").unwrap();
    let first: Vec<String> = range
        .rows()
        .nth(1)
        .unwrap()
        .iter()
        .map(|c| c.to_string())
        .collect();
    assert!(first[0].starts_with("XH-"));
    assert_eq!(first[15], "待筛选");
    assert_eq!(
        first[13], "2026-11-18",
        "the visit's day goes out and back in"
    );
    let r = excel::import(&db, &staff, &exported, false, &|_, _| {})
        .await
        .unwrap();
    assert!(r.applied, "{:?}", r.errors);
    assert_eq!(totals(&r), vec![("议题".to_string(), 0, 0, 2)]);
    assert_eq!(count(&db, "topics").await, 2);
}
