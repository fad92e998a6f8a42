//! Parser fuzzing (issue 6 point 7) as property tests — the machine's one stable toolchain has
//! no cargo-fuzz — on the backend named by ROUNDTABLE_TEST_DB. Generated and mutated input for
//! the .xlsx import (workbooks in the import layout with arbitrary cells, and damaged files),
//! the holiday-calendar import (arbitrary JSON in and around the shipped layout) and the pages'
//! form decoding (arbitrary url-encoded bodies on every create form). Each must answer — a
//! report, a field error — never panic, never an internal error or a 5xx, and write nothing
//! when it refuses.
//!
//! Cases per property: `PROPTEST_CASES` (64 unless set). A failing input is shrunk and kept in
//! `tests/parsers.proptest-regressions`, which every later run replays first: found cases become
//! tests.

mod common;

use std::io::Cursor;
use std::sync::OnceLock;

use axum::http::{Request, StatusCode, header};
use calamine::Reader;
use proptest::prelude::*;
use roundtable_core::access::Actor;
use roundtable_store::{Exec, Sql};
use roundtable_web::error::AppError;
use roundtable_web::services::{calendar, excel};

/// One runtime and one demo database for all cases (a pool belongs to its runtime).
fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap()
    })
}

fn app() -> &'static common::App {
    static APP: OnceLock<common::App> = OnceLock::new();
    APP.get_or_init(|| runtime().block_on(common::app()))
}

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(64),
        ..ProptestConfig::default()
    }
}

async fn count(sql: &str) -> i64 {
    app().db.pool().fetch_one(Sql::new(sql)).await.unwrap()
}

/// What a refusal may be: the caller's mistake, said as such.
fn refused_cleanly(e: &AppError) -> bool {
    !matches!(e, AppError::Internal(_))
}

/// Each sheet of the import layout with its header row, read from the template.
fn layout() -> &'static Vec<(String, Vec<String>)> {
    static LAYOUT: OnceLock<Vec<(String, Vec<String>)>> = OnceLock::new();
    LAYOUT.get_or_init(|| {
        let bytes = excel::template(&[]).unwrap();
        let mut book: calamine::Xlsx<_> =
            calamine::open_workbook_from_rs(Cursor::new(bytes)).unwrap();
        book.sheet_names()
            .into_iter()
            .filter(|n| n != "说明")
            .map(|name| {
                let range = book.worksheet_range(&name).unwrap();
                let headers = range
                    .rows()
                    .next()
                    .map(|r| r.iter().map(|c| c.to_string()).collect())
                    .unwrap_or_default();
                (name, headers)
            })
            .collect()
    })
}

#[derive(Debug, Clone)]
enum Cell {
    Text(String),
    Number(f64),
    Empty,
}

/// Cell values a sheet typed by hand holds: plausible codes, phones, dates and kinds, and
/// anything at all.
fn cell() -> impl Strategy<Value = Cell> {
    prop_oneof![
        3 => prop::sample::select(vec![
            "360103001001", "360103001", "南浦街道", "社区", "community", "居民代表",
            "民情理事会成员", "13800001111", "138****1234", "2026-01-01", "2026-13-45",
            "挂点帮扶单位", "assistance_unit", "council_member", "是", "否", "  ", "=1+1",
            "安全防护类", "环境整治类", "hotline", "0", "-1", "9999999999999999999999",
        ])
        .prop_map(|s| Cell::Text(s.to_string())),
        3 => any::<String>().prop_map(Cell::Text),
        1 => "\\PC{0,300}".prop_map(Cell::Text),
        1 => any::<f64>().prop_map(Cell::Number),
        1 => (1i64..60000).prop_map(|n| Cell::Number(n as f64)),
        2 => Just(Cell::Empty),
    ]
}

/// A workbook in the import layout: for some sheets, up to a dozen rows of generated cells
/// under the right headers (sometimes a header missing or misspelt).
fn workbook() -> impl Strategy<Value = Vec<u8>> {
    let sheets = layout().len();
    (
        prop::collection::vec(
            prop::collection::vec(prop::collection::vec(cell(), 0..12), 0..12),
            sheets,
        ),
        prop::collection::vec(any::<bool>(), sheets),
    )
        .prop_map(|(rows, spoil_header)| {
            let mut book = rust_xlsxwriter::Workbook::new();
            for (i, (name, headers)) in layout().iter().enumerate() {
                let sheet = book.add_worksheet();
                sheet.set_name(name).unwrap();
                for (c, h) in headers.iter().enumerate() {
                    let h = if spoil_header[i] && c == 0 {
                        format!("{h}?")
                    } else {
                        h.clone()
                    };
                    sheet.write_string(0, c as u16, h).unwrap();
                }
                for (r, row) in rows[i].iter().enumerate() {
                    for (c, v) in row.iter().enumerate() {
                        let (r, c) = (r as u32 + 1, c as u16);
                        match v {
                            Cell::Text(s) => {
                                sheet.write_string(r, c, s).unwrap();
                            }
                            Cell::Number(n) if n.is_finite() => {
                                sheet.write_number(r, c, *n).unwrap();
                            }
                            _ => {}
                        }
                    }
                }
            }
            book.save_to_buffer().unwrap()
        })
}

/// A file damaged on its way: bytes changed here and there, or cut short.
fn damaged() -> impl Strategy<Value = Vec<u8>> {
    (
        workbook(),
        prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        prop::option::of(any::<prop::sample::Index>()),
    )
        .prop_map(|(mut bytes, flips, cut)| {
            for (at, b) in flips {
                let i = at.index(bytes.len());
                bytes[i] = b;
            }
            if let Some(c) = cut {
                bytes.truncate(c.index(bytes.len()));
            }
            bytes
        })
}

fn import_answers(bytes: &[u8]) -> Result<(), TestCaseError> {
    // Made before any block_on: its own would be nested.
    let _ = app();
    let rt = runtime();
    let admin = Actor::operator();
    let before = rt.block_on(count(
        "SELECT (SELECT COUNT(*) FROM orgs) + (SELECT COUNT(*) FROM units) + (SELECT COUNT(*) FROM people) + (SELECT COUNT(*) FROM links) + (SELECT COUNT(*) FROM topics)",
    ));
    let r = rt.block_on(excel::import(&app().db, &admin, bytes, false, &|_, _| {}));
    let after = rt.block_on(count(
        "SELECT (SELECT COUNT(*) FROM orgs) + (SELECT COUNT(*) FROM units) + (SELECT COUNT(*) FROM people) + (SELECT COUNT(*) FROM links) + (SELECT COUNT(*) FROM topics)",
    ));
    match r {
        Ok(report) if report.applied => {}
        Ok(report) => {
            prop_assert!(report.error_total > 0 || report.dry_run, "{report:?}");
            prop_assert_eq!(before, after, "a refused import wrote rows");
        }
        Err(e) => {
            prop_assert!(refused_cleanly(&e), "internal error: {e:?}");
            prop_assert_eq!(before, after, "a refused import wrote rows");
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn xlsx_import_answers_any_workbook(bytes in workbook()) {
        import_answers(&bytes)?;
    }

    #[test]
    fn xlsx_import_answers_a_damaged_file(bytes in damaged()) {
        import_answers(&bytes)?;
    }

    #[test]
    fn xlsx_import_answers_any_bytes(bytes in prop::collection::vec(any::<u8>(), 0..4096)) {
        import_answers(&bytes)?;
    }
}

/// JSON in and around the layout of the shipped holiday file.
fn holiday_json() -> impl Strategy<Value = String> {
    let day = prop_oneof![
        (2020i32..2040, 0u32..14, 0u32..33).prop_map(|(y, m, d)| format!("\"{y}-{m:02}-{d:02}\"")),
        any::<String>().prop_map(|s| serde_json::to_string(&s).unwrap()),
        any::<i64>().prop_map(|n| n.to_string()),
        Just("null".to_string()),
    ];
    let days = prop::collection::vec(day, 0..20).prop_map(|d| format!("[{}]", d.join(",")));
    let year = (
        prop_oneof![(1990i32..2100).prop_map(|y| y.to_string()), any::<String>(),],
        days.clone(),
        days,
        prop::sample::select(vec!["holidays", "workdays", "假日", ""]),
    )
        .prop_map(|(y, h, w, other)| {
            format!(
                "{}: {{\"holidays\": {h}, \"workdays\": {w}, {}: []}}",
                serde_json::to_string(&y).unwrap(),
                serde_json::to_string(other).unwrap()
            )
        });
    prop_oneof![
        4 => prop::collection::vec(year, 0..4).prop_map(|ys| format!("{{{}}}", ys.join(","))),
        1 => any::<String>(),
        1 => Just("[]".to_string()),
        1 => "\\{\"20[0-9]{2}\": \\[\"[0-9-]{0,12}\"\\]\\}",
    ]
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn holiday_import_answers_any_file(json in holiday_json()) {
        let _ = app();
        let rt = runtime();
        let cache = calendar::CalendarCache::default();
        let before = rt.block_on(count("SELECT COUNT(*) FROM calendar_days"));
        let r = rt.block_on(calendar::import_file(
            &cache,
            &app().db,
            &Actor::operator(),
            &json,
            "国办发明电〔2026〕测试号",
        ));
        if let Err(e) = r {
            prop_assert!(refused_cleanly(&e), "internal error: {e:?}");
            let after = rt.block_on(count("SELECT COUNT(*) FROM calendar_days"));
            prop_assert_eq!(before, after, "a refused file wrote days");
        }
    }
}

/// The pages' create forms.
const FORMS: &[&str] = &[
    "/orgs/new",
    "/units/new",
    "/people/new",
    "/links/new",
    "/users/new",
    "/topics/new",
    "/topics/decisions",
    "/cases",
    "/questionnaires",
    "/wishes",
    "/resources",
    "/calendar",
    "/bulletins",
    "/notifications",
];

/// A url-encoded body as a browser — or anything else — might send it: known field names and
/// unknown ones, values of any text, escapes good and bad, repeated keys.
fn form_body() -> impl Strategy<Value = String> {
    let key = prop_oneof![
        3 => prop::sample::select(vec![
            "name", "phone", "org_id", "parent_id", "kind", "kinds", "code", "unit_type",
            "person_id", "unit_id", "title", "description", "category", "channel", "level",
            "collected_on", "start_date", "end_date", "topic_id", "ids", "action", "quantity",
            "available_from", "household_name", "household_phone", "role", "username",
            "password", "year", "holidays", "workdays", "org", "period", "sort_order",
        ])
        .prop_map(str::to_string),
        1 => "[a-z_\\[\\]%]{0,12}",
    ];
    let value = prop_oneof![
        any::<String>().prop_map(|s| form_encode(&s)),
        "[%0-9A-Za-z+&=;]{0,40}",
        any::<i64>().prop_map(|n| n.to_string()),
        Just("99999999999999999999999999".to_string()),
        Just("%E4%BD%A0%E5".to_string()),
    ];
    prop::collection::vec((key, value), 0..16).prop_map(|pairs| {
        pairs
            .into_iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("&")
    })
}

fn form_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The system administrator's session with the CSRF pair, once.
fn admin_cookies() -> &'static (String, String) {
    static C: OnceLock<(String, String)> = OnceLock::new();
    C.get_or_init(|| {
        let _ = app();
        runtime().block_on(async {
            let app = app();
            let session = app.login("admin").await;
            let (csrf, token) = app.csrf().await;
            (format!("{session}; {csrf}"), token)
        })
    })
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn page_forms_decode_any_body(route in prop::sample::select(FORMS), body in form_body()) {
        let _ = app();
        let (cookies, token) = admin_cookies();
        let req = Request::post(route)
            .header(header::COOKIE, cookies)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(axum::body::Body::from(format!("_csrf={token}&{body}")))
            .unwrap();
        let (status, _, _) = runtime().block_on(app().call_raw(req));
        prop_assert!(!status.is_server_error(), "{route} {body}: {status}");
        prop_assert!(status != StatusCode::FORBIDDEN, "{route}: 403 — the CSRF pair was refused");
    }
}
