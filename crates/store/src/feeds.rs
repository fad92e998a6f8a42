//! iCalendar feeds (issue 5): the private address of each account (its token stored as a
//! SHA-256) and the meetings a feed lists.

use chrono::NaiveDate;

use crate::db::{Exec, FromRow, Row, Sql};
use crate::{StoreError, args};

/// Replaces the account's feed token.
pub async fn set_token(e: &mut impl Exec, user_id: i64, sha256: &str) -> Result<(), StoreError> {
    e.execute(Sql::with(
        "DELETE FROM calendar_feeds WHERE user_id = $1",
        args![user_id],
    ))
    .await?;
    e.execute(Sql::with(
        "INSERT INTO calendar_feeds (user_id, token_sha256, created_at) VALUES ($1, $2, $3)",
        args![user_id, sha256, crate::now()],
    ))
    .await?;
    Ok(())
}

/// Whether the account has a feed, and since when.
pub async fn issued_at(
    e: &mut impl Exec,
    user_id: i64,
) -> Result<Option<chrono::DateTime<chrono::Utc>>, StoreError> {
    struct At(chrono::DateTime<chrono::Utc>);
    impl FromRow for At {
        fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
            Ok(At(r.get("created_at")?))
        }
    }
    Ok(e.fetch_optional::<At>(Sql::with(
        "SELECT created_at FROM calendar_feeds WHERE user_id = $1",
        args![user_id],
    ))
    .await?
    .map(|a| a.0))
}

/// The account of a token's hash, when it is enabled: (user id, person id).
pub async fn owner(
    e: &mut impl Exec,
    sha256: &str,
) -> Result<Option<(i64, Option<i64>)>, StoreError> {
    struct Owner(i64, Option<i64>);
    impl FromRow for Owner {
        fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
            Ok(Owner(r.get("id")?, r.get("person_id")?))
        }
    }
    Ok(e.fetch_optional::<Owner>(Sql::with(
        "SELECT u.id, u.person_id FROM calendar_feeds f JOIN users u ON u.id = f.user_id WHERE f.token_sha256 = $1 AND u.disabled = FALSE",
        args![sha256],
    ))
    .await?
    .map(|o| (o.0, o.1)))
}

/// A meeting as a feed lists it.
#[derive(Debug, Clone)]
pub struct FeedMeeting {
    pub id: i64,
    pub case_id: i64,
    pub held_on: NaiveDate,
    pub start_time: String,
    pub place: String,
    pub status: String,
    pub title: String,
    pub community: String,
}

impl FromRow for FeedMeeting {
    fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
        Ok(FeedMeeting {
            id: r.get("id")?,
            case_id: r.get("case_id")?,
            held_on: r.get("held_on")?,
            start_time: r.get("start_time")?,
            place: r.get("place")?,
            status: r.get("status")?,
            title: r.get("title")?,
            community: r.get("community")?,
        })
    }
}

const MEETINGS: &str = "SELECT m.id, m.case_id, m.held_on, m.start_time, m.place, m.status, c.title, o.name AS community FROM meetings m JOIN cases c ON c.id = m.case_id JOIN orgs o ON o.id = m.org_id";

/// The meetings a person takes part in between `from` and `to`.
pub async fn person_meetings(
    e: &mut impl Exec,
    person_id: i64,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<FeedMeeting>, StoreError> {
    e.fetch_all(Sql::with(
        &format!("{MEETINGS} WHERE m.id IN (SELECT meeting_id FROM meeting_participants WHERE person_id = $1) AND m.held_on >= $2 AND m.held_on <= $3 ORDER BY m.held_on, m.id"),
        args![person_id, from, to],
    ))
    .await
}

/// A community's meetings between `from` and `to`.
pub async fn community_meetings(
    e: &mut impl Exec,
    org_id: i64,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<FeedMeeting>, StoreError> {
    e.fetch_all(Sql::with(
        &format!("{MEETINGS} WHERE m.org_id = $1 AND m.held_on >= $2 AND m.held_on <= $3 ORDER BY m.held_on, m.id"),
        args![org_id, from, to],
    ))
    .await
}
