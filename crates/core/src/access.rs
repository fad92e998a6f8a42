//! The one permission function: actor (roles with their scope in the organisation tree) × action
//! × resource. Pages, the API and the SQL list filters all ask `scope()`; `permit()` is the same
//! answer for one resource, so a list can never show what a detail page would refuse.

use crate::domain_enum;
use crate::org::path_ids;

domain_enum! {
    Role {
        SystemAdmin = ("system_admin", "系统管理员"),
        DistrictAdmin = ("district_admin", "区级管理员"),
        DistrictLeader = ("district_leader", "区级领导"),
        StreetAdmin = ("street_admin", "街道(镇)管理员"),
        CommunitySecretary = ("community_secretary", "社区(村)书记"),
        CommunityStaff = ("community_staff", "社区工作人员"),
        CouncilMember = ("council_member", "民情理事会成员"),
        PartyMember = ("party_member", "在职党员"),
        /// 三员分立 (等保 2.0): reads and exports the audit record, nothing else; the system
        /// administrator does not read it.
        AuditAdmin = ("audit_admin", "审计管理员"),
        /// 三员分立's third: keeps the accounts secure — resets another account's second factor,
        /// lifts a failed-login lockout, ends an account's sessions, reads the login record —
        /// and nothing else; the system administrator does none of it from the pages.
        SecurityAdmin = ("security_admin", "安全管理员"),
    }
}

domain_enum! {
    Action {
        View = ("view", "查看"),
        /// Create, edit and end-date.
        Edit = ("edit", "编辑"),
        /// See unmasked personal data (phone numbers).
        ViewPersonal = ("view_personal", "查看个人信息"),
        Import = ("import", "导入"),
        Export = ("export", "导出"),
    }
}

domain_enum! {
    ResourceKind {
        Org = ("org", "组织"),
        Unit = ("unit", "单位"),
        Person = ("person", "人员"),
        Link = ("link", "关联"),
        User = ("user", "账号"),
        Topic = ("topic", "议题"),
        /// A deliberation case and its step records (R-PROC-1…7).
        Case = ("case", "议事案例"),
        /// Visit logs and opinions of a case (R-PROC-2), kept by 民情理事会 members too.
        Visit = ("visit", "走访与意见"),
        /// 挂帅督办 (R-PROC-6): a linked leader's supervision remarks on a project.
        Supervision = ("supervision", "挂帅督办"),
        /// The holiday calendar (R-CAL-1): deployment-wide, read by everyone signed in.
        Calendar = ("calendar", "节假日日历"),
        /// Obligation checks, dashboards and bulletins of a part of the tree (DOMAIN.md §5).
        Report = ("report", "履职与统计"),
        /// An in-service party member's "six ones" (R-MEM-1), kept by the member or the
        /// community.
        SixOnes = ("six_ones", "六个一"),
        /// 微心愿: posted by the community, claimed by party members (R-MEM-1).
        Wish = ("wish", "微心愿"),
        /// R-ORG-4: what units and party members offer (资源清单); the needs and matches of a
        /// case are the case's records.
        Resource = ("resource", "资源清单"),
        /// The audit record (issue 6): for the audit administrator only.
        Audit = ("audit", "审计记录"),
        /// The security of accounts (second factors, lockouts, sessions, the login record): for
        /// the security administrator only.
        Security = ("security", "账号安全"),
        /// Delivery to other systems (R-INT-1): targets, batches, dead letters — the
        /// deployment's, set up by its administrators.
        Exchange = ("exchange", "数据对接"),
    }
}

impl Role {
    /// Whether the role is granted for a node of the tree (all but the system administrator).
    pub fn needs_scope(self) -> bool {
        !matches!(
            self,
            Role::SystemAdmin | Role::AuditAdmin | Role::SecurityAdmin
        )
    }

    /// The level of node a grant of this role points at: 1 district, 2 street, 3 community.
    pub fn scope_level(self) -> Option<u8> {
        match self {
            Role::SystemAdmin | Role::AuditAdmin | Role::SecurityAdmin => None,
            Role::DistrictAdmin | Role::DistrictLeader => Some(1),
            Role::StreetAdmin => Some(2),
            Role::CommunitySecretary
            | Role::CommunityStaff
            | Role::CouncilMember
            | Role::PartyMember => Some(3),
        }
    }
}

/// One role held by an account, for one node of the tree (`None` for the system administrator).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Grant {
    pub role: Role,
    pub org_id: Option<i64>,
}

/// Who is asking. `linked_streets` are the streets/towns a district leader is linked to today
/// (R-ORG-2), loaded with the session.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Actor {
    pub user_id: i64,
    pub person_id: Option<i64>,
    pub grants: Vec<Grant>,
    pub linked_streets: Vec<i64>,
}

/// How far one role reaches for one action on one kind of resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reach {
    Nothing,
    Everywhere,
    /// The subtree of the grant's node.
    GrantSubtree,
    /// The subtrees of the streets the leader is linked to.
    LinkedStreets,
    /// The actor's own person record only.
    OwnRecord,
}

/// The permission table. Read row by row: what a role may do on a kind of resource.
fn reach(role: Role, action: Action, kind: ResourceKind) -> Reach {
    use Action::*;
    use Reach::*;
    use ResourceKind as K;
    if kind == K::Audit {
        return match (role, action) {
            (Role::AuditAdmin, View | Export) => Everywhere,
            _ => Nothing,
        };
    }
    if kind == K::Security {
        return match (role, action) {
            (Role::SecurityAdmin, View | Edit) => Everywhere,
            _ => Nothing,
        };
    }
    if kind == K::Exchange {
        return match (role, action) {
            (Role::SystemAdmin | Role::DistrictAdmin, View | Edit) => Everywhere,
            _ => Nothing,
        };
    }
    if kind == K::Calendar {
        // National facts: everyone reads them; the district's administrators enter a new year.
        return match (role, action) {
            (_, View) => Everywhere,
            (Role::SystemAdmin | Role::DistrictAdmin, Edit) => Everywhere,
            _ => Nothing,
        };
    }
    match role {
        Role::SystemAdmin => Everywhere,
        Role::AuditAdmin | Role::SecurityAdmin => Nothing,
        Role::DistrictAdmin => GrantSubtree,
        Role::StreetAdmin => match (action, kind) {
            (View | Export, _) => GrantSubtree,
            // Topics: the service lets a street take over only street-level matters (R-TOP-4).
            (
                Edit,
                K::Org
                | K::Unit
                | K::Person
                | K::Link
                | K::Topic
                | K::Case
                | K::Visit
                | K::Supervision
                | K::Report
                | K::SixOnes
                | K::Wish
                | K::Resource,
            ) => GrantSubtree,
            (ViewPersonal, K::Person | K::Topic) => GrantSubtree,
            // Matters collected offline on a sheet (issue 3: bulk intake).
            (Import, K::Topic) => GrantSubtree,
            _ => Nothing,
        },
        Role::CommunitySecretary => match (action, kind) {
            (_, K::User) => Nothing,
            (View | Export, _) => GrantSubtree,
            (
                Edit,
                K::Person
                | K::Link
                | K::Unit
                | K::Topic
                | K::Case
                | K::Visit
                | K::SixOnes
                | K::Wish
                | K::Resource,
            ) => GrantSubtree,
            (ViewPersonal, K::Person | K::Topic) => GrantSubtree,
            (Import, K::Topic) => GrantSubtree,
            _ => Nothing,
        },
        Role::CommunityStaff => match (action, kind) {
            (_, K::User) => Nothing,
            (View, _) => GrantSubtree,
            (Edit | ViewPersonal, K::Person | K::Topic) => GrantSubtree,
            (Edit, K::Case | K::Visit | K::SixOnes | K::Wish | K::Resource) => GrantSubtree,
            (Import, K::Topic) => GrantSubtree,
            _ => Nothing,
        },
        Role::DistrictLeader => match (action, kind) {
            (Edit, K::Supervision) => LinkedStreets,
            (
                View,
                K::Org
                | K::Unit
                | K::Person
                | K::Link
                | K::Topic
                | K::Case
                | K::Visit
                | K::Supervision
                | K::Report
                | K::SixOnes
                | K::Wish
                | K::Resource,
            ) => LinkedStreets,
            _ => Nothing,
        },
        Role::CouncilMember => match (action, kind) {
            (
                View,
                K::Org | K::Unit | K::Link | K::Topic | K::Case | K::Visit | K::Wish | K::Resource,
            ) => GrantSubtree,
            // R-PROC-2: council members log their visits and the opinions they gathered.
            (Edit, K::Visit) => GrantSubtree,
            _ => Nothing,
        },
        Role::PartyMember => match (action, kind) {
            (View, K::Org) => GrantSubtree,
            (View | ViewPersonal, K::Person) => OwnRecord,
            // R-MEM-1: a member records their own six ones and claims their community's wishes.
            (View | Edit, K::SixOnes) => OwnRecord,
            (View, K::Wish | K::Resource) => GrantSubtree,
            // R-ORG-4: a member publishes what they offer themselves.
            (Edit, K::Resource) => OwnRecord,
            _ => Nothing,
        },
    }
}

/// The part of the tree (and the person records) an actor may act on. `org_ids` match a
/// resource whose path contains one of them; the store turns this into a `WHERE` clause.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope {
    pub everywhere: bool,
    pub org_ids: Vec<i64>,
    pub person_ids: Vec<i64>,
}

impl Scope {
    pub fn is_empty(&self) -> bool {
        !self.everywhere && self.org_ids.is_empty() && self.person_ids.is_empty()
    }

    /// A resource at `org_path` (materialised path), optionally being the record of `person_id`.
    pub fn contains(&self, org_path: &str, person_id: Option<i64>) -> bool {
        self.everywhere
            || path_ids(org_path)
                .iter()
                .any(|id| self.org_ids.contains(id))
            || person_id.is_some_and(|p| self.person_ids.contains(&p))
    }
}

/// Everything `actor` may do with `action` on resources of `kind`.
pub fn scope(actor: &Actor, action: Action, kind: ResourceKind) -> Scope {
    let mut s = Scope::default();
    for g in &actor.grants {
        match reach(g.role, action, kind) {
            Reach::Nothing => {}
            Reach::Everywhere => s.everywhere = true,
            Reach::GrantSubtree => s.org_ids.extend(g.org_id),
            Reach::LinkedStreets => s.org_ids.extend(actor.linked_streets.iter().copied()),
            Reach::OwnRecord => s.person_ids.extend(actor.person_id),
        }
    }
    s.org_ids.sort_unstable();
    s.org_ids.dedup();
    s.person_ids.sort_unstable();
    s.person_ids.dedup();
    s
}

/// May `actor` do `action` on the resource of `kind` at `org_path` (for a person: their own
/// record is `person_id`)? For creation, `org_path` is the path of the node it is created under.
pub fn permit(
    actor: &Actor,
    action: Action,
    kind: ResourceKind,
    org_path: &str,
    person_id: Option<i64>,
) -> bool {
    scope(actor, action, kind).contains(org_path, person_id)
}

/// An API token's reach (issue 6 point 4): the account's grants narrowed to `roles` and, when
/// the token names a subtree `root` (its id and materialised path), to that subtree. A grant
/// whose node holds the root is moved down to it; a grant already inside the root stays; a
/// grant elsewhere, or one held for no node (system or audit administrator) under a token with
/// a subtree, is dropped. A token never reaches further than its account. `grants` come with
/// the path of their node.
pub fn narrow_grants(
    grants: &[(Grant, Option<String>)],
    roles: &[Role],
    root: Option<(i64, &str)>,
) -> Vec<Grant> {
    let mut out = Vec::new();
    for (g, path) in grants {
        if !roles.contains(&g.role) {
            continue;
        }
        let Some((root_id, root_path)) = root else {
            out.push(g.clone());
            continue;
        };
        let (Some(org), Some(path)) = (g.org_id, path) else {
            continue;
        };
        if root_path.contains(&format!("/{org}/")) {
            out.push(Grant {
                role: g.role,
                org_id: Some(root_id),
            });
        } else if path.contains(&format!("/{root_id}/")) {
            out.push(g.clone());
        }
    }
    out.sort_by_key(|g| (g.role.code(), g.org_id));
    out.dedup();
    out
}

/// May the actor do `action` on `kind` anywhere at all (to show a menu entry or a button)?
pub fn permit_somewhere(actor: &Actor, action: Action, kind: ResourceKind) -> bool {
    !scope(actor, action, kind).is_empty()
}

impl Actor {
    /// The operator of the `roundtable` command on the server: a system administrator's rights,
    /// recorded in the audit log as no account (user id 0).
    pub fn operator() -> Actor {
        Actor {
            user_id: 0,
            person_id: None,
            grants: vec![Grant {
                role: Role::SystemAdmin,
                org_id: None,
            }],
            linked_streets: vec![],
        }
    }

    pub fn has_role(&self, role: Role) -> bool {
        self.grants.iter().any(|g| g.role == role)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // District 1; street 10 (with community 100) and street 20 (with community 200).
    const D: &str = "/1/";
    const S10: &str = "/1/10/";
    const C100: &str = "/1/10/100/";
    const S20: &str = "/1/20/";
    const C200: &str = "/1/20/200/";

    fn actor(role: Role) -> Actor {
        let org_id = match role {
            Role::SystemAdmin | Role::AuditAdmin | Role::SecurityAdmin => None,
            Role::DistrictAdmin | Role::DistrictLeader => Some(1),
            Role::StreetAdmin => Some(10),
            _ => Some(100),
        };
        Actor {
            user_id: 1,
            person_id: Some(7),
            grants: vec![Grant { role, org_id }],
            linked_streets: vec![10],
        }
    }

    /// The expected table, written independently of `reach`: for each role, action and kind,
    /// may it act in its own scope (community 100 / street 10 / district), and outside it
    /// (community 200, in the other street)?
    fn expected(role: Role, action: Action, kind: ResourceKind) -> (bool, bool) {
        use Action::*;
        use ResourceKind as K;
        if kind == K::Audit {
            let v = role == Role::AuditAdmin && matches!(action, View | Export);
            return (v, v);
        }
        if kind == K::Security {
            let v = role == Role::SecurityAdmin && matches!(action, View | Edit);
            return (v, v);
        }
        if kind == K::Exchange {
            let v = matches!(role, Role::SystemAdmin | Role::DistrictAdmin)
                && matches!(action, View | Edit);
            return (v, v);
        }
        if kind == K::Calendar {
            let v = action == View
                || (action == Edit && matches!(role, Role::SystemAdmin | Role::DistrictAdmin));
            return (v, v);
        }
        let inside = match role {
            Role::SystemAdmin | Role::DistrictAdmin => true,
            Role::AuditAdmin | Role::SecurityAdmin => false,
            Role::StreetAdmin => match action {
                View | Export => true,
                Edit => kind != K::User,
                ViewPersonal => matches!(kind, K::Person | K::Topic),
                Import => kind == K::Topic,
            },
            Role::CommunitySecretary => match action {
                View | Export => kind != K::User,
                Edit => matches!(
                    kind,
                    K::Person
                        | K::Link
                        | K::Unit
                        | K::Topic
                        | K::Case
                        | K::Visit
                        | K::SixOnes
                        | K::Wish
                        | K::Resource
                ),
                ViewPersonal => matches!(kind, K::Person | K::Topic),
                Import => kind == K::Topic,
            },
            Role::CommunityStaff => match action {
                View => kind != K::User,
                Edit => matches!(
                    kind,
                    K::Person | K::Topic | K::Case | K::Visit | K::SixOnes | K::Wish | K::Resource
                ),
                ViewPersonal => matches!(kind, K::Person | K::Topic),
                Import => kind == K::Topic,
                _ => false,
            },
            Role::DistrictLeader => {
                (action == View && kind != K::User) || (action == Edit && kind == K::Supervision)
            }
            Role::CouncilMember => match action {
                View => matches!(
                    kind,
                    K::Org
                        | K::Unit
                        | K::Link
                        | K::Topic
                        | K::Case
                        | K::Visit
                        | K::Wish
                        | K::Resource
                ),
                Edit => kind == K::Visit,
                _ => false,
            },
            // Their community's node; their own record is checked separately.
            Role::PartyMember => action == View && matches!(kind, K::Org | K::Wish | K::Resource),
        };
        let outside = matches!(role, Role::SystemAdmin | Role::DistrictAdmin);
        (inside, outside)
    }

    #[test]
    fn permission_matrix_every_role_action_kind_in_and_out_of_scope() {
        for &role in Role::ALL {
            let a = actor(role);
            let inside_path = match role {
                Role::DistrictLeader | Role::StreetAdmin => S10,
                _ => C100,
            };
            for &action in Action::ALL {
                for &kind in ResourceKind::ALL {
                    let (inside, outside) = expected(role, action, kind);
                    assert_eq!(
                        permit(&a, action, kind, inside_path, None),
                        inside,
                        "{role:?} {action:?} {kind:?} in scope"
                    );
                    assert_eq!(
                        permit(&a, action, kind, C200, None),
                        outside,
                        "{role:?} {action:?} {kind:?} out of scope"
                    );
                    assert_eq!(
                        permit(&a, action, kind, S20, None),
                        outside,
                        "{role:?} {action:?} {kind:?} other street"
                    );
                }
            }
        }
    }

    #[test]
    fn street_and_community_roles_do_not_reach_up() {
        for role in [
            Role::StreetAdmin,
            Role::CommunitySecretary,
            Role::CommunityStaff,
            Role::DistrictLeader,
        ] {
            assert!(
                !permit(&actor(role), Action::View, ResourceKind::Org, D, None),
                "{role:?} sees the district node"
            );
        }
        assert!(permit(
            &actor(Role::StreetAdmin),
            Action::Edit,
            ResourceKind::Person,
            C100,
            None
        ));
    }

    #[test]
    fn party_member_sees_only_their_own_record() {
        let a = actor(Role::PartyMember);
        assert!(permit(
            &a,
            Action::View,
            ResourceKind::Person,
            C200,
            Some(7)
        ));
        assert!(permit(
            &a,
            Action::ViewPersonal,
            ResourceKind::Person,
            C200,
            Some(7)
        ));
        assert!(!permit(
            &a,
            Action::View,
            ResourceKind::Person,
            C100,
            Some(8)
        ));
        assert!(!permit(
            &a,
            Action::Edit,
            ResourceKind::Person,
            C100,
            Some(7)
        ));
        assert!(permit(&a, Action::View, ResourceKind::Org, C100, None));
    }

    #[test]
    fn r_org_2_leader_reach_follows_links_of_today() {
        let mut a = actor(Role::DistrictLeader);
        a.linked_streets = vec![];
        assert!(!permit(&a, Action::View, ResourceKind::Person, C100, None));
        a.linked_streets = vec![20];
        assert!(permit(&a, Action::View, ResourceKind::Person, C200, None));
    }

    #[test]
    fn several_roles_add_up() {
        let a = Actor {
            user_id: 1,
            person_id: Some(7),
            grants: vec![
                Grant {
                    role: Role::CommunityStaff,
                    org_id: Some(100),
                },
                Grant {
                    role: Role::CommunitySecretary,
                    org_id: Some(200),
                },
            ],
            linked_streets: vec![],
        };
        assert!(permit(&a, Action::Edit, ResourceKind::Link, C200, None));
        assert!(!permit(&a, Action::Edit, ResourceKind::Link, C100, None));
        assert_eq!(
            scope(&a, Action::View, ResourceKind::Person).org_ids,
            vec![100, 200]
        );
        assert!(
            scope(
                &actor(Role::CouncilMember),
                Action::Edit,
                ResourceKind::Person
            )
            .is_empty()
        );
    }

    #[test]
    fn a_token_narrows_its_account_to_roles_and_a_subtree() {
        // District 1 → street 2 → communities 3 and 4.
        let street = Grant {
            role: Role::StreetAdmin,
            org_id: Some(2),
        };
        let staff = Grant {
            role: Role::CommunityStaff,
            org_id: Some(4),
        };
        let admin = Grant {
            role: Role::SystemAdmin,
            org_id: None,
        };
        let grants = vec![
            (street.clone(), Some("/1/2/".to_string())),
            (staff.clone(), Some("/1/2/4/".to_string())),
            (admin.clone(), None),
        ];
        let all = [Role::StreetAdmin, Role::CommunityStaff, Role::SystemAdmin];
        // No subtree: the roles named, as held.
        assert_eq!(
            narrow_grants(&grants, &[Role::StreetAdmin], None),
            vec![street.clone()]
        );
        // Subtree community 3: the street grant moves down to it; the other community's
        // grant and the deployment-wide one are dropped.
        assert_eq!(
            narrow_grants(&grants, &all, Some((3, "/1/2/3/"))),
            vec![Grant {
                role: Role::StreetAdmin,
                org_id: Some(3)
            }]
        );
        // Subtree the district (above every grant): each grant stays as held, never wider.
        assert_eq!(
            narrow_grants(&grants, &all, Some((1, "/1/"))),
            vec![staff.clone(), street.clone()]
        );
        // A role the account does not hold gives nothing.
        assert!(narrow_grants(&grants, &[Role::DistrictAdmin], None).is_empty());
    }
}
