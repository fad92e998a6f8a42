//! 微心愿 end to end (issue 5, R-MEM-1): posted by the community, claimed once (two members at
//! once: one wins), fulfilled once, confirmed by the household with its phone's last digits on
//! the public page; the claim counts as the member's six-ones wish; the public wall carries no
//! personal data.

mod common;

use roundtable_core::access::{Actor, Grant, Role};
use roundtable_store::{Exec, Sql, args};
use roundtable_web::services::wishes::{self, WishInput};
use serde_json::json;

#[tokio::test]
async fn a_wish_from_posting_to_the_households_confirmation() {
    let app = common::app().await;
    let secretary = app.login("secretary").await;
    let member = app.login("member").await;
    let (_, me, _) = app
        .json("GET", "/api/v1/auth/me", Some(&member), None)
        .await;
    let person = me["user"]["person_id"].as_i64().unwrap();
    let community: i64 = app
        .db
        .pool()
        .fetch_one(Sql::with(
            "SELECT org_id FROM people WHERE id = $1",
            args![person],
        ))
        .await
        .unwrap();

    // Bad input: each field named; nothing stored.
    let (s, body, _) = app
        .json(
            "POST",
            "/api/v1/wishes",
            Some(&secretary),
            Some(json!({"org_id": community, "title": "灯", "household_name": "", "household_phone": "12"})),
        )
        .await;
    assert_eq!(s.as_u16(), 422, "{body}");
    let f = &body["error"]["fields"];
    assert!(
        f["title"].is_string()
            && f["household_name"].is_string()
            && f["household_phone"].is_string()
    );
    // A member cannot post.
    let (s, _, _) = app
        .json(
            "POST",
            "/api/v1/wishes",
            Some(&member),
            Some(json!({"org_id": community, "title": "为独居老人更换厨房灯泡", "household_name": "李奶奶"})),
        )
        .await;
    assert_eq!(s.as_u16(), 403);
    let (s, w, _) = app
        .json(
            "POST",
            "/api/v1/wishes",
            Some(&secretary),
            Some(json!({"org_id": community, "title": "为独居老人更换厨房灯泡", "detail": "灯泡坏了一周", "household_name": "李奶奶", "household_phone": "13912345678"})),
        )
        .await;
    assert_eq!(s.as_u16(), 201, "{w}");
    let id = w["id"].as_i64().unwrap();
    let code = w["public_code"].as_str().unwrap().to_string();

    // The member sees the household masked until they claim it.
    let (_, v, _) = app
        .json("GET", &format!("/api/v1/wishes/{id}"), Some(&member), None)
        .await;
    assert_eq!(v["household_phone"], "139****5678");
    assert_eq!(v["may_claim"], true);
    let (s, v, _) = app
        .json(
            "POST",
            &format!("/api/v1/wishes/{id}/claim"),
            Some(&member),
            None,
        )
        .await;
    assert_eq!(s.as_u16(), 200, "{v}");
    assert_eq!(v["status"], "claimed");
    assert_eq!(
        v["household_phone"], "13912345678",
        "the claiming member may call"
    );
    // Claimed once.
    let (s, e, _) = app
        .json(
            "POST",
            &format!("/api/v1/wishes/{id}/claim"),
            Some(&member),
            None,
        )
        .await;
    assert_eq!(s.as_u16(), 422);
    assert_eq!(e["error"]["rule"], "R-MEM-1", "{e}");
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("已被其他党员认领")
    );

    // The claim is the member's six-ones wish of today.
    let (_, six, _) = app
        .json(
            "GET",
            &format!("/api/v1/people/{person}/six-ones"),
            Some(&member),
            None,
        )
        .await;
    assert!(
        six["records"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["item"] == "wish" && r["note"].as_str().unwrap().contains("更换厨房灯泡")),
        "{six}"
    );

    // Fulfilled once, with what was done.
    let uri = format!("/api/v1/wishes/{id}/fulfil");
    let (s, e, _) = app
        .json("POST", &uri, Some(&member), Some(json!({"note": " "})))
        .await;
    assert_eq!(s.as_u16(), 422);
    assert!(e["error"]["fields"]["note"].is_string());
    let (s, _, _) = app
        .json(
            "POST",
            &uri,
            Some(&member),
            Some(json!({"note": "已上门更换灯泡"})),
        )
        .await;
    assert_eq!(s.as_u16(), 200);
    let (s, e, _) = app
        .json(
            "POST",
            &uri,
            Some(&member),
            Some(json!({"note": "再来一次"})),
        )
        .await;
    assert_eq!(s.as_u16(), 422);
    assert!(e["error"]["message"].as_str().unwrap().contains("不能重复"));

    // The public page and the wall: no personal data.
    let (s, p, _) = app
        .json("GET", &format!("/api/v1/public/wishes/{code}"), None, None)
        .await;
    assert_eq!(s.as_u16(), 200);
    let text = p.to_string();
    assert!(
        !text.contains("李奶奶") && !text.contains("13912345678"),
        "{text}"
    );
    let (s, wall, _) = app
        .json(
            "GET",
            &format!("/api/v1/public/communities/{community}/wishes"),
            None,
            None,
        )
        .await;
    assert_eq!(s.as_u16(), 200);
    let shown = wall["wishes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["code"] == code.as_str())
        .unwrap();
    assert!(
        shown["claimed_by"].as_str().unwrap().ends_with('*'),
        "{shown}"
    );
    assert!(!wall.to_string().contains("李奶奶"));

    // The household confirms with the last four digits of its phone.
    let confirm = format!("/api/v1/public/wishes/{code}/confirm");
    let (s, e, _) = app
        .json("POST", &confirm, None, Some(json!({"phone_last4": "0000"})))
        .await;
    assert_eq!(s.as_u16(), 422);
    assert!(e["error"]["fields"]["phone_last4"].is_string());
    let (s, p, _) = app
        .json(
            "POST",
            &confirm,
            None,
            Some(json!({"phone_last4": "5678", "note": "谢谢党员同志"})),
        )
        .await;
    assert_eq!(s.as_u16(), 200, "{p}");
    assert_eq!(p["status"], "confirmed");
    let (s, _, _) = app
        .json("POST", &confirm, None, Some(json!({"phone_last4": "5678"})))
        .await;
    assert_eq!(s.as_u16(), 422, "confirmed once");
    let (s, _, _) = app
        .json("GET", "/api/v1/public/wishes/zzzzzzzzzzzz", None, None)
        .await;
    assert_eq!(s.as_u16(), 404);

    // The pages.
    let get = |uri: String, cookie: Option<&str>| {
        let mut b = axum::http::Request::get(uri);
        if let Some(c) = cookie {
            b = b.header("cookie", c);
        }
        b.body(axum::body::Body::empty()).unwrap()
    };
    let (s, _, html) = app
        .call(get(format!("/wishes/{id}"), Some(&secretary)))
        .await;
    assert_eq!(s.as_u16(), 200);
    assert!(
        html.contains("群众已确认") && html.contains("谢谢党员同志"),
        "{html}"
    );
    let (s, _, html) = app.call(get(format!("/w/wall/{community}"), None)).await;
    assert_eq!(s.as_u16(), 200);
    assert!(html.contains("微心愿墙") && !html.contains("李奶奶"));
    let (s, _, _) = app.call(get("/wishes".into(), Some(&member))).await;
    assert_eq!(s.as_u16(), 200);
}

#[tokio::test]
async fn two_members_claiming_at_once_one_wins() {
    let app = common::app().await;
    let rows: Vec<i64> = app
        .db
        .pool()
        .fetch_all(Sql::new(
            "SELECT p.id FROM people p JOIN person_kinds k ON k.person_id = p.id AND k.kind = 'party_member' WHERE p.org_id = (SELECT org_id FROM people p2 JOIN person_kinds k2 ON k2.person_id = p2.id AND k2.kind = 'party_member' ORDER BY p2.id LIMIT 1) ORDER BY p.id LIMIT 2",
        ))
        .await
        .unwrap();
    let community: i64 = app
        .db
        .pool()
        .fetch_one(Sql::with(
            "SELECT org_id FROM people WHERE id = $1",
            args![rows[0]],
        ))
        .await
        .unwrap();
    let member = |person| Actor {
        user_id: 0,
        person_id: Some(person),
        grants: vec![Grant {
            role: Role::PartyMember,
            org_id: Some(community),
        }],
        linked_streets: vec![],
    };
    let staff = Actor {
        user_id: 0,
        person_id: None,
        grants: vec![Grant {
            role: Role::CommunityStaff,
            org_id: Some(community),
        }],
        linked_streets: vec![],
    };
    let w = wishes::post(
        &app.db,
        &staff,
        &WishInput {
            org_id: Some(community),
            title: "帮困难家庭修理水龙头".into(),
            detail: None,
            household_name: "王大爷".into(),
            household_phone: None,
        },
    )
    .await
    .unwrap();
    let (a, b) = (member(rows[0]), member(rows[1]));
    let (ra, rb) = tokio::join!(
        wishes::claim(&app.db, &a, w.id),
        wishes::claim(&app.db, &b, w.id)
    );
    assert_eq!(
        [ra.is_ok(), rb.is_ok()].iter().filter(|x| **x).count(),
        1,
        "exactly one claim wins: {ra:?} {rb:?}"
    );
    let winner = if ra.is_ok() { rows[0] } else { rows[1] };
    let stored = wishes::view(&app.db, &staff, w.id).await.unwrap();
    assert_eq!(stored.wish.claimed_by, Some(winner));
    // Only the winner's six ones got the wish.
    let n: i64 = app
        .db
        .pool()
        .fetch_one(Sql::with(
            "SELECT COUNT(*) FROM six_one_records WHERE item = 'wish' AND person_id IN ($1, $2)",
            args![rows[0], rows[1]],
        ))
        .await
        .unwrap();
    assert_eq!(n, 1);
}
