//! The operations of Roundtable, shared by the pages and the API: each validates its input
//! (field errors in Chinese), asks the one permission function, and writes the change with its
//! audit record in one transaction.

pub mod audit;
pub mod backup;
pub mod calendar;
pub mod cases;
pub mod dashboard;
pub mod evidence;
pub mod excel;
pub mod exchange;
pub mod feeds;
pub mod inbound;
pub mod links;
pub mod meetings;
pub mod notify;
pub mod obligations;
pub mod orgs;
pub mod outbound;
pub mod people;
pub mod periodic;
pub mod photos;
pub mod privacy;
pub mod projects;
pub mod questionnaires;
pub mod resources;
pub mod second_factor;
pub mod security;
pub mod similar;
pub mod six_ones;
pub mod timeline;
pub mod tokens;
pub mod topics;
pub mod units;
pub mod users;
pub mod verify;
pub mod warnings;
pub mod wishes;

use roundtable_core::access::{Action, Actor, ResourceKind, permit};

use crate::error::AppError;

/// Deserialises a typed quantity from a string or a JSON number (an API client writes
/// `"quantity": 20000`, a form `quantity=20000`); the domain check reads the text.
pub mod quantity_text {
    use serde::{Deserialize, Deserializer};

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        I(i64),
        F(f64),
        S(String),
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
        Ok(match Option::<Raw>::deserialize(d)? {
            None => String::new(),
            Some(Raw::I(n)) => n.to_string(),
            Some(Raw::F(f)) => f.to_string(),
            Some(Raw::S(s)) => s,
        })
    }
}

/// Deserialises an optional id from a number, a numeric string or an empty string (forms send
/// strings; an empty select means "none").
pub mod opt_id {
    use serde::{Deserialize, Deserializer};

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        N(i64),
        S(String),
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
        match Option::<Raw>::deserialize(d)? {
            None => Ok(None),
            Some(Raw::N(n)) => Ok(Some(n)),
            Some(Raw::S(s)) if s.trim().is_empty() => Ok(None),
            Some(Raw::S(s)) => s
                .trim()
                .parse()
                .map(Some)
                .map_err(|_| serde::de::Error::custom(format!("`{s}` 不是有效的编号"))),
        }
    }
}

pub fn require(
    actor: &Actor,
    action: Action,
    kind: ResourceKind,
    org_path: &str,
    person_id: Option<i64>,
) -> Result<(), AppError> {
    if permit(actor, action, kind, org_path, person_id) {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}

/// `require` for what is not held in the tree (the audit record, the accounts' security): the
/// role reaches it somewhere.
pub fn require_somewhere(
    actor: &Actor,
    action: Action,
    kind: ResourceKind,
) -> Result<(), AppError> {
    if roundtable_core::access::permit_somewhere(actor, action, kind) {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}

/// A query field as typed: trimmed, `None` when empty.
pub(crate) fn filled(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// The code of a public link (12 hex characters, 48 random bits): not the id, so that public
/// pages cannot be walked by counting.
pub(crate) fn new_public_code() -> String {
    use rand::RngCore;
    let mut b = [0u8; 6];
    rand::rngs::OsRng.fill_bytes(&mut b);
    hex::encode(b)
}

/// Whether a code can be a public link's (checked before any query).
pub(crate) fn is_public_code(code: &str) -> bool {
    code.len() == 12 && code.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The whole tree: for look-ups the caller has already authorised (a case's own community, its
/// links and council), never for a list shown as such.
pub(crate) fn everywhere() -> roundtable_core::access::Scope {
    roundtable_core::access::Scope {
        everywhere: true,
        ..Default::default()
    }
}

pub fn json<T: serde::Serialize>(v: &T) -> serde_json::Value {
    serde_json::to_value(v).unwrap_or(serde_json::Value::Null)
}

/// The account recorded as the author of a change; the command line (user id 0) is recorded as
/// no account.
pub fn actor_id(actor: &Actor) -> Option<i64> {
    (actor.user_id > 0).then_some(actor.user_id)
}

/// What saving a record did: an import reports these counts, and an edit that changes nothing
/// writes nothing (not even an audit record).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    Created,
    Updated,
    Unchanged,
}

/// Writes the audit record of an event (no "before"): an action on an object, in the caller's
/// transaction.
pub(crate) async fn audit_event(
    e: &mut impl roundtable_store::Exec,
    actor: &Actor,
    action: &str,
    object_type: &str,
    id: i64,
    after: serde_json::Value,
) -> Result<(), AppError> {
    roundtable_store::audit::record(
        e,
        actor_id(actor),
        action,
        object_type,
        Some(id),
        None,
        Some(&after),
    )
    .await?;
    Ok(())
}

/// Writes the audit record of a create (`before` is `None`) or an update, in the caller's
/// transaction.
pub(crate) async fn audit_change<T: serde::Serialize>(
    e: &mut impl roundtable_store::Exec,
    actor: &Actor,
    object_type: &str,
    id: i64,
    before: Option<&T>,
    after: &T,
) -> Result<(), AppError> {
    let action = format!(
        "{object_type}.{}",
        if before.is_some() { "update" } else { "create" }
    );
    roundtable_store::audit::record(
        e,
        actor_id(actor),
        &action,
        object_type,
        Some(id),
        before.map(json).as_ref(),
        Some(&json(after)),
    )
    .await?;
    Ok(())
}
