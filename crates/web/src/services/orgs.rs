//! The organisation tree (R-ORG-1).

use roundtable_core::FieldErrors;
use roundtable_core::access::{Action, Actor, ResourceKind, scope};
use roundtable_core::org::OrgKind;
use roundtable_core::validate::required_text;
use roundtable_store::orgs::{self, Org, OrgFields};
use roundtable_store::{Db, Exec, Tx};

use super::{Change, audit_change, require};
use crate::error::AppError;

#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize, utoipa::ToSchema)]
#[serde(default)]
pub struct OrgInput {
    /// Parent node; empty for a district.
    #[serde(deserialize_with = "super::opt_id::deserialize")]
    pub parent_id: Option<i64>,
    /// district / street / town / community / village (or 区/街道/镇/社区/村)
    pub kind: String,
    pub name: String,
    /// Unique code, e.g. the administrative division code.
    pub code: String,
    #[serde(deserialize_with = "super::opt_id::deserialize")]
    pub sort_order: Option<i64>,
}

/// Checks an input against the tree; returns the fields to store and the parent's path.
async fn validate(
    e: &mut impl Exec,
    input: &OrgInput,
    editing: Option<&Org>,
) -> Result<(OrgFields, Option<String>), AppError> {
    let mut errors = FieldErrors::new();
    let name = required_text(&mut errors, "name", "名称", &input.name, 50);
    let code = required_text(&mut errors, "code", "编码", &input.code, 32);
    let kind = OrgKind::parse(&input.kind);
    if kind.is_none() {
        errors.add("kind", "请选择类型：区、街道、镇、社区或村");
    }
    let parent_id = match editing {
        Some(o) => o.parent_id,
        None => input.parent_id,
    };
    let parent = match parent_id {
        Some(id) => match orgs::get(e, id).await? {
            Some(p) => Some(p),
            None => {
                errors.add("parent_id", "上级组织不存在");
                None
            }
        },
        None => None,
    };
    if let Some(k) = kind
        && (parent.is_some() || parent_id.is_none())
        && let Err(msg) = k.check_parent(parent.as_ref().and_then(|p| OrgKind::parse(&p.kind)))
    {
        errors.add(
            if editing.is_some() {
                "kind"
            } else {
                "parent_id"
            },
            msg,
        );
    }
    if !code.is_empty()
        && let Some(other) = orgs::by_code(e, &code).await?
        && editing.is_none_or(|o| o.id != other.id)
    {
        errors.add("code", format!("编码已被「{}」使用", other.name));
    }
    errors.into_result().map_err(AppError::Validation)?;
    let fields = OrgFields {
        parent_id,
        kind: kind.map(|k| k.code().to_string()).unwrap_or_default(),
        name,
        code,
        sort_order: input.sort_order.unwrap_or(0),
    };
    Ok((fields, parent.map(|p| p.path)))
}

pub async fn create(db: &Db, actor: &Actor, input: &OrgInput) -> Result<Org, AppError> {
    let mut tx = db.begin().await?;
    let org = create_in(&mut tx, actor, input).await?;
    tx.commit().await?;
    Ok(org)
}

pub(crate) async fn create_in(
    tx: &mut Tx,
    actor: &Actor,
    input: &OrgInput,
) -> Result<Org, AppError> {
    let (fields, parent_path) = validate(tx, input, None).await?;
    require(
        actor,
        Action::Edit,
        ResourceKind::Org,
        parent_path.as_deref().unwrap_or("/"),
        None,
    )?;
    let id = orgs::insert(tx, &fields, parent_path.as_deref()).await?;
    let org = orgs::get(tx, id).await?.ok_or(AppError::NotFound)?;
    audit_change(tx, actor, "org", id, None, &org).await?;
    Ok(org)
}

pub async fn update(db: &Db, actor: &Actor, id: i64, input: &OrgInput) -> Result<Org, AppError> {
    let mut tx = db.begin().await?;
    let (org, _) = update_in(&mut tx, actor, id, input).await?;
    tx.commit().await?;
    Ok(org)
}

pub(crate) async fn update_in(
    tx: &mut Tx,
    actor: &Actor,
    id: i64,
    input: &OrgInput,
) -> Result<(Org, Change), AppError> {
    let before = orgs::get(tx, id).await?.ok_or(AppError::NotFound)?;
    require(actor, Action::Edit, ResourceKind::Org, &before.path, None)?;
    let (fields, _) = validate(tx, input, Some(&before)).await?;
    if OrgKind::parse(&before.kind).map(OrgKind::level)
        != OrgKind::parse(&fields.kind).map(OrgKind::level)
    {
        return Err(AppError::field(
            "kind",
            "只能在同一级别内更改类型（如街道改为镇）",
        ));
    }
    if fields == before.fields() {
        return Ok((before, Change::Unchanged));
    }
    orgs::update(tx, id, &fields).await?;
    let after = orgs::get(tx, id).await?.ok_or(AppError::NotFound)?;
    audit_change(tx, actor, "org", id, Some(&before), &after).await?;
    Ok((after, Change::Updated))
}

pub async fn get(db: &Db, actor: &Actor, id: i64) -> Result<Org, AppError> {
    let org = orgs::get(&mut db.pool(), id)
        .await?
        .ok_or(AppError::NotFound)?;
    require(actor, Action::View, ResourceKind::Org, &org.path, None)?;
    Ok(org)
}

/// The nodes the actor may see, parents before children.
pub async fn visible(db: &Db, actor: &Actor) -> Result<Vec<Org>, AppError> {
    Ok(orgs::list_in_scope(
        &mut db.pool(),
        &scope(actor, Action::View, ResourceKind::Org),
    )
    .await?)
}

/// The nodes under which the actor may create or edit `kind` (for select boxes).
pub async fn editable(db: &Db, actor: &Actor, kind: ResourceKind) -> Result<Vec<Org>, AppError> {
    Ok(orgs::list_in_scope(&mut db.pool(), &scope(actor, Action::Edit, kind)).await?)
}

/// The nodes the actor may `action` on `kind`, in tree order (each node followed by its
/// children, siblings by sort order and name), as (id, label indented by depth) for select boxes.
pub async fn outline(
    db: &Db,
    actor: &Actor,
    action: Action,
    kind: ResourceKind,
) -> Result<Vec<(i64, String)>, AppError> {
    let list = orgs::briefs_in_scope(&mut db.pool(), &scope(actor, action, kind)).await?;
    Ok(tree_order(list))
}

/// Orders briefs as a tree; a node whose parent is not in the list starts at depth 0.
fn tree_order(list: Vec<orgs::OrgBrief>) -> Vec<(i64, String)> {
    use roundtable_core::org::path_ids;
    let by_id: std::collections::HashMap<i64, &orgs::OrgBrief> =
        list.iter().map(|o| (o.id, o)).collect();
    // (sort order, name, id) of each ancestor in the list, the node itself last.
    type TreeKey<'a> = Vec<(i64, &'a str, i64)>;
    let mut keyed: Vec<(TreeKey, &orgs::OrgBrief)> = list
        .iter()
        .map(|o| {
            let key = path_ids(&o.path)
                .iter()
                .filter_map(|id| by_id.get(id))
                .map(|a| (a.sort_order, a.name.as_str(), a.id))
                .collect();
            (key, o)
        })
        .collect();
    keyed.sort_by(|a, b| a.0.cmp(&b.0));
    keyed
        .into_iter()
        .map(|(key, o)| {
            let depth = key.len().saturating_sub(1);
            (o.id, format!("{}{}", "　".repeat(depth), o.name))
        })
        .collect()
}

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct OrgNode {
    #[serde(flatten)]
    pub org: Org,
    /// 1 district, 2 street/town, 3 community/village
    pub level: u8,
    #[schema(no_recursion)]
    pub children: Vec<OrgNode>,
}

/// The visible nodes as a tree. A node whose parent is not visible becomes a root.
pub fn as_tree(list: Vec<Org>) -> Vec<OrgNode> {
    fn build(
        parent: Option<i64>,
        all: &[Org],
        ids: &std::collections::HashSet<i64>,
    ) -> Vec<OrgNode> {
        all.iter()
            .filter(|o| match parent {
                Some(p) => o.parent_id == Some(p),
                None => o.parent_id.is_none_or(|p| !ids.contains(&p)),
            })
            .map(|o| OrgNode {
                org: o.clone(),
                level: OrgKind::parse(&o.kind)
                    .map(|k| k.level() as u8)
                    .unwrap_or(0),
                children: build(Some(o.id), all, ids),
            })
            .collect()
    }
    let ids = list.iter().map(|o| o.id).collect();
    build(None, &list, &ids)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn brief(id: i64, name: &str, path: &str, sort_order: i64) -> orgs::OrgBrief {
        orgs::OrgBrief {
            id,
            name: name.into(),
            path: path.into(),
            sort_order,
        }
    }

    #[test]
    fn outline_lists_each_node_before_its_children() {
        let list = vec![
            brief(3, "孺子亭社区", "/1/2/3/", 1),
            brief(5, "桃花镇", "/1/5/", 2),
            brief(1, "西湖区", "/1/", 0),
            brief(4, "系马桩社区", "/1/2/4/", 0),
            brief(2, "南浦街道", "/1/2/", 1),
            brief(6, "桃花村", "/1/5/6/", 0),
        ];
        let labels: Vec<String> = tree_order(list).into_iter().map(|(_, l)| l).collect();
        assert_eq!(
            labels,
            vec![
                "西湖区",
                "　南浦街道",
                "　　系马桩社区",
                "　　孺子亭社区",
                "　桃花镇",
                "　　桃花村"
            ]
        );
        // A secretary sees one community: it is not indented.
        let one = tree_order(vec![brief(3, "孺子亭社区", "/1/2/3/", 1)]);
        assert_eq!(one, vec![(3, "孺子亭社区".to_string())]);
    }
}
