//! The history generator (issue 4 item 9) writes cases through the same services as the pages,
//! on past days, each group of communities under a clock of its own.

use roundtable_store::{Exec, Sql};

async fn count(db: &roundtable_store::Db, sql: &str) -> i64 {
    db.pool().fetch_one(Sql::new(sql)).await.unwrap()
}

#[tokio::test]
async fn history_runs_cases_through_the_steps_on_past_days() {
    // Opened as `roundtable demo` opens it for the history (on SQLite one connection: a
    // service that read outside its transaction would wait for itself and fail here).
    let db = roundtable_store::testing::fresh_db_for_bulk_writes()
        .await
        .unwrap();
    roundtable_web::demo::seed(&db).await.unwrap().unwrap();

    let calendar = roundtable_web::services::calendar::CalendarCache::default();
    let opts = roundtable_web::history::Options {
        months: 3,
        communities: Some(4),
        seed: 7,
        parallel: 3,
    };
    let calls = std::sync::atomic::AtomicU64::new(0);
    let report = roundtable_web::history::generate(&db, &calendar, &opts, &|done, total| {
        assert!(done <= total && total == 12);
        calls.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    })
    .await
    .unwrap();
    assert_eq!(report.cases, 12);
    assert_eq!(calls.into_inner(), 12);
    assert_eq!(report.done + report.stopped + report.running, 12);
    assert!(report.done >= 4, "{report:?}");
    // The clock is back to today.
    let drift = (roundtable_store::now() - chrono::Utc::now())
        .num_seconds()
        .abs();
    assert!(drift < 5, "{drift}");
    // The records are stamped on their own days, months ago.
    assert_eq!(count(&db, "SELECT COUNT(*) FROM cases").await, 12);
    let old: i64 = db
        .pool()
        .fetch_one(Sql::with(
            "SELECT COUNT(*) FROM cases WHERE created_at < $1",
            roundtable_store::args![{
                use chrono::Datelike;
                let today = (chrono::Utc::now() + chrono::Duration::hours(8)).date_naive();
                let first = today.with_day(1).unwrap().and_hms_opt(0, 0, 0).unwrap();
                first.and_utc() - chrono::Duration::hours(8)
            }],
        ))
        .await
        .unwrap();
    assert_eq!(old, 8, "two months' cases are stamped in their months");
    // A finished case has all of it: filing number, notice, confirmed ledger, acceptance.
    assert_eq!(
        count(&db, "SELECT COUNT(*) FROM cases c WHERE c.step = 'done' AND NOT EXISTS (SELECT 1 FROM meetings m WHERE m.case_id = c.id AND m.filing_number IS NOT NULL)").await,
        0
    );
    assert_eq!(
        count(&db, "SELECT COUNT(*) FROM cases c WHERE c.step = 'done' AND (NOT EXISTS (SELECT 1 FROM notices n WHERE n.case_id = c.id) OR EXISTS (SELECT 1 FROM ledger_items l WHERE l.case_id = c.id AND l.status <> 'confirmed') OR NOT EXISTS (SELECT 1 FROM acceptances a WHERE a.case_id = c.id))").await,
        0
    );
    assert_eq!(
        count(&db, "SELECT COUNT(*) FROM cases WHERE step = 'done'").await,
        report.done as i64
    );
    // Filing numbers run in sequence per community and year.
    assert_eq!(
        count(&db, "SELECT COUNT(*) FROM meetings WHERE filing_seq IS NOT NULL").await,
        count(&db, "SELECT COUNT(DISTINCT org_id || '-' || filing_year || '-' || filing_seq) FROM meetings WHERE filing_seq IS NOT NULL").await
    );
    // Topics from several channels, personal appeals screened out with a referral.
    assert!(count(&db, "SELECT COUNT(*) FROM topics WHERE reject_reason = 'personal' AND referred_to IS NOT NULL").await >= 12);
    assert!(
        count(
            &db,
            "SELECT COUNT(*) FROM audit_log WHERE object_type = 'case'"
        )
        .await
            >= 24
    );
}
