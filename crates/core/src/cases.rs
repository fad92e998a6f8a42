//! Deliberation cases (议事案例): one accepted topic carried through the seven steps of
//! DOMAIN.md section 3 (R-PROC-1…7). Pure rules: the steps in order, which move is allowed
//! from where, and what each step still lacks before it may close.

use crate::domain_enum;
use crate::topics::Level;

domain_enum! {
    /// The seven steps in order, then 办结; 终止 ends a case from any step.
    Step {
        Topic = ("topic", "确定议题"),
        Opinions = ("opinions", "征求意见"),
        Analysis = ("analysis", "分析研判"),
        Deliberation = ("deliberation", "协商议事"),
        Notice = ("notice", "项目公示"),
        Implementation = ("implementation", "项目实施"),
        Supervision = ("supervision", "监督执行"),
        Done = ("done", "办结"),
        Stopped = ("stopped", "终止"),
    }
}

impl Step {
    /// The seven working steps, in order.
    pub const SEVEN: [Step; 7] = [
        Step::Topic,
        Step::Opinions,
        Step::Analysis,
        Step::Deliberation,
        Step::Notice,
        Step::Implementation,
        Step::Supervision,
    ];

    /// 1…7 for the seven steps.
    pub fn number(self) -> Option<usize> {
        Self::SEVEN.iter().position(|s| *s == self).map(|i| i + 1)
    }

    /// The rule of DOMAIN.md that describes the step.
    pub fn rule(self) -> &'static str {
        match self {
            Step::Topic => "R-PROC-1",
            Step::Opinions => "R-PROC-2",
            Step::Analysis => "R-PROC-3",
            Step::Deliberation => "R-PROC-4",
            Step::Notice => "R-PROC-5",
            Step::Implementation => "R-PROC-6",
            Step::Supervision | Step::Done => "R-PROC-7",
            Step::Stopped => "R-PROC-1",
        }
    }

    /// The step after this one (监督执行 is followed by 办结).
    pub fn next(self) -> Option<Step> {
        match self {
            Step::Supervision => Some(Step::Done),
            s => s.number().map(|n| Self::SEVEN.get(n).copied())?,
        }
    }

    /// The step before this one (none before 确定议题, none after a case ended).
    pub fn previous(self) -> Option<Step> {
        let n = self.number()?;
        (n > 1).then(|| Self::SEVEN[n - 2])
    }

    /// 办结 and 终止 end a case.
    pub fn is_final(self) -> bool {
        matches!(self, Step::Done | Step::Stopped)
    }
}

/// A rule a request breaks: the rule id of DOMAIN.md, the field it concerns and a Chinese
/// message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleError {
    pub rule: &'static str,
    pub field: &'static str,
    pub message: String,
}

impl RuleError {
    pub fn new(rule: &'static str, field: &'static str, message: impl Into<String>) -> Self {
        RuleError {
            rule,
            field,
            message: message.into(),
        }
    }
}

/// A requested change of step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Move {
    /// Close the current step (its records are complete) and enter the next one.
    Advance,
    /// Go back one step, with the reason kept in the history.
    Back { reason: String },
    /// 终止: the case ends here, with the reason.
    Stop { reason: String },
}

impl Move {
    pub fn code(&self) -> &'static str {
        match self {
            Move::Advance => "advance",
            Move::Back { .. } => "back",
            Move::Stop { .. } => "stop",
        }
    }

    pub fn label(&self) -> &'static str {
        match self {
            Move::Advance => "进入下一步",
            Move::Back { .. } => "退回上一步",
            Move::Stop { .. } => "终止",
        }
    }
}

/// Something a step still lacks before it may close, with the rule that asks for it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Missing {
    pub rule: &'static str,
    pub item: String,
}

/// What has been recorded on a case, as far as the step checks need to know. The store
/// gathers it; the checks here decide.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CaseFacts {
    pub level: Option<Level>,
    /// 征求意见: visits to households and the site by 民情理事会 members.
    pub visits: usize,
    /// Opinions gathered (visits, online, questionnaires).
    pub opinions: usize,
    pub preliminary_plan: bool,
    /// 分析研判: the 民情理事会 meeting, the feasibility study, the meeting plan.
    pub council_meeting: bool,
    pub feasibility: bool,
    pub meeting_plan: bool,
    /// A district-level topic: the prior consultation with the linked district leader.
    pub leader_consultation: bool,
    /// 协商议事: the round-table meeting with its sign-in, confirmed minutes, resolution and
    /// filing number.
    pub meeting_signed_in: bool,
    pub minutes_confirmed: bool,
    pub resolution: bool,
    pub filing_number: bool,
    /// 项目公示: the plan's tasks, agreements in principle, the notice.
    pub plan_tasks: usize,
    pub agreements: usize,
    pub notice_published: bool,
    pub notice_ended: bool,
    /// The plan changed after the latest notice was published (it must be published again).
    pub notice_outdated: bool,
    pub objections_open: usize,
    /// 项目实施: ledger items, those ticked off and confirmed; leader supervision remarks.
    pub ledger_items: usize,
    pub ledger_confirmed: usize,
    pub leader_remarks: usize,
    /// 监督执行: the committee, inspections, bulletins, acceptance.
    pub committee_members: usize,
    pub inspections: usize,
    pub bulletins: usize,
    pub accepted: bool,
}

/// What `step` still lacks before it may close (empty: it may close). Each item names its rule.
pub fn missing(step: Step, f: &CaseFacts) -> Vec<Missing> {
    let mut out = Vec::new();
    let mut need = |ok: bool, rule: &'static str, item: &str| {
        if !ok {
            out.push(Missing {
                rule,
                item: item.to_string(),
            });
        }
    };
    match step {
        // The topic was accepted and chosen when the case was created.
        Step::Topic => {}
        Step::Opinions => {
            need(f.visits > 0, "R-PROC-2", "民情理事会成员入户/现场走访记录");
            need(f.opinions > 0, "R-PROC-2", "收集到的意见");
            need(f.preliminary_plan, "R-PROC-2", "初步协商方案");
        }
        Step::Analysis => {
            need(f.council_meeting, "R-PROC-3", "民情理事会研判会议记录");
            need(
                f.feasibility,
                "R-PROC-3",
                "可行性研判（性质、内容、影响、范围）",
            );
            need(f.meeting_plan, "R-PROC-3", "议事方案");
            if f.level == Some(Level::District) {
                need(
                    f.leader_consultation,
                    "R-PROC-3",
                    "与挂点区级领导的事先沟通",
                );
            }
        }
        Step::Deliberation => {
            need(f.meeting_signed_in, "R-MEET-3", "圆桌会签到");
            need(f.minutes_confirmed, "R-MEET-3", "已确认的会议记录");
            need(f.resolution, "R-PROC-4", "协商决议");
            need(f.filing_number, "R-PROC-4", "备案登记号");
        }
        Step::Notice => {
            need(
                f.plan_tasks > 0,
                "R-PROC-5",
                "攻坚任务计划书的任务（责任人、时限）",
            );
            need(
                f.agreements > 0,
                "R-PROC-5",
                "相关单位、部门、领导和利益相关方的原则同意",
            );
            need(f.notice_published, "R-PROC-5", "发布项目公示");
            if f.notice_published {
                need(
                    !f.notice_outdated,
                    "R-PROC-5",
                    "计划书在公示后有修改，须重新发布公示（公示期重新计算）",
                );
                need(f.notice_ended, "R-CAL-1", "公示期满（不少于5个工作日）");
            }
            need(
                f.objections_open == 0,
                "R-PROC-5",
                &format!(
                    "答复公示期间收到的异议（尚有{}条未答复）",
                    f.objections_open
                ),
            );
        }
        Step::Implementation => {
            need(f.ledger_items > 0, "R-PROC-6", "工作台帐事项");
            need(
                f.ledger_items > 0 && f.ledger_confirmed == f.ledger_items,
                "R-PROC-6",
                &format!(
                    "台帐事项全部销号并经他人确认（已确认{}/{}）",
                    f.ledger_confirmed, f.ledger_items
                ),
            );
            if matches!(f.level, Some(Level::District | Level::Street)) {
                need(f.leader_remarks > 0, "R-PROC-6", "挂点领导挂帅督办记录");
            }
        }
        Step::Supervision => {
            need(f.committee_members > 0, "R-PROC-7", "监督委员会成员");
            need(f.inspections > 0, "R-PROC-7", "监督检查记录");
            need(f.bulletins > 0, "R-PROC-7", "进度通报");
            need(f.accepted, "R-PROC-7", "项目验收");
        }
        Step::Done | Step::Stopped => {}
    }
    out
}

/// Checks a move from `from` given what the current step still lacks; answers the step the
/// case enters.
pub fn check_move(from: Step, mv: &Move, facts: &CaseFacts) -> Result<Step, RuleError> {
    if from.is_final() {
        return Err(RuleError::new(
            from.rule(),
            "step",
            format!("案例已{}，不能再变更步骤", from.label()),
        ));
    }
    match mv {
        Move::Advance => {
            let next = from
                .next()
                .ok_or_else(|| RuleError::new(from.rule(), "step", "没有下一步".to_string()))?;
            let lacking = missing(from, facts);
            if let Some(first) = lacking.first() {
                let items: Vec<&str> = lacking.iter().map(|m| m.item.as_str()).collect();
                return Err(RuleError::new(
                    first.rule,
                    "step",
                    format!("「{}」尚不能结束，还缺：{}", from.label(), items.join("；")),
                ));
            }
            Ok(next)
        }
        Move::Back { reason } => {
            let prev = from.previous().ok_or_else(|| {
                RuleError::new(from.rule(), "step", "「确定议题」之前没有步骤可退回")
            })?;
            if reason.trim().is_empty() {
                return Err(RuleError::new(
                    from.rule(),
                    "reason",
                    "退回上一步须写明理由",
                ));
            }
            Ok(prev)
        }
        Move::Stop { reason } => {
            if reason.trim().is_empty() {
                return Err(RuleError::new(from.rule(), "reason", "终止案例须写明理由"));
            }
            Ok(Step::Stopped)
        }
    }
}

/// A target step given by the caller (the API may name the step it means to enter): only the
/// next one may be entered (R-PROC-1…7 in order).
pub fn check_target(from: Step, target: Step) -> Result<(), RuleError> {
    if target == Step::Stopped || from.next() == Some(target) {
        return Ok(());
    }
    if from.previous() == Some(target) {
        return Ok(());
    }
    Err(RuleError::new(
        target.rule(),
        "step",
        format!(
            "步骤须依次进行：当前为「{}」，不能直接进入「{}」",
            from.label(),
            target.label()
        ),
    ))
}

domain_enum! {
    /// The documents of the steps before the meeting. Each save is a new version; the latest
    /// counts. Their fields are described by `DocKind::fields`, so one form and one check serve
    /// them all.
    DocKind {
        PreliminaryPlan = ("preliminary_plan", "初步协商方案"),
        CouncilMeeting = ("council_meeting", "民情理事会研判会议"),
        Feasibility = ("feasibility", "可行性研判"),
        MeetingPlan = ("meeting_plan", "议事方案"),
        LeaderConsultation = ("leader_consultation", "与挂点区级领导事先沟通"),
    }
}

/// How a document field is typed and checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    /// One line of at most so many characters.
    Line(usize),
    /// Several lines of at most so many characters.
    Text(usize),
    /// A civil date, `YYYY-MM-DD`.
    Date,
    /// A time of day, `HH:MM`.
    Time,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DocField {
    pub name: &'static str,
    pub label: &'static str,
    pub kind: FieldKind,
    pub required: bool,
}

use FieldKind::{Date, Line, Text, Time};

const fn field(name: &'static str, label: &'static str, kind: FieldKind) -> DocField {
    DocField {
        name,
        label,
        kind,
        required: true,
    }
}

const fn optional(name: &'static str, label: &'static str, kind: FieldKind) -> DocField {
    DocField {
        name,
        label,
        kind,
        required: false,
    }
}

impl DocKind {
    /// The step whose record the document is.
    pub fn step(self) -> Step {
        match self {
            DocKind::PreliminaryPlan => Step::Opinions,
            _ => Step::Analysis,
        }
    }

    /// The fields, in the order the form shows them.
    pub fn fields(self) -> &'static [DocField] {
        match self {
            DocKind::PreliminaryPlan => PRELIMINARY_PLAN,
            DocKind::CouncilMeeting => COUNCIL_MEETING,
            DocKind::Feasibility => FEASIBILITY,
            DocKind::MeetingPlan => MEETING_PLAN,
            DocKind::LeaderConsultation => LEADER_CONSULTATION,
        }
    }
}

// R-PROC-2
const PRELIMINARY_PLAN: &[DocField] = &[
    field("content", "方案内容", Text(4000)),
    optional("basis", "依据的走访和意见", Text(1000)),
];
// R-PROC-3
const COUNCIL_MEETING: &[DocField] = &[
    field("held_on", "会议日期", Date),
    field("attendees", "参会人员", Text(500)),
    field("conclusions", "研判结论", Text(2000)),
];
const FEASIBILITY: &[DocField] = &[
    field("nature", "性质（是否属公共事务）", Text(1000)),
    field("content", "内容", Text(1000)),
    field("impact", "影响", Text(1000)),
    field("scope", "范围", Text(1000)),
    field("conclusion", "结论", Line(100)),
];
const MEETING_PLAN: &[DocField] = &[
    field("date", "议事日期", Date),
    field("time", "开始时间", Time),
    field("place", "地点", Line(100)),
    field("participants", "拟参会人员", Text(1000)),
    field("agenda", "议程", Text(2000)),
    optional("requirements", "会议要求", Text(1000)),
];
const LEADER_CONSULTATION: &[DocField] = &[
    field("leader", "区级领导", Line(30)),
    field("consulted_on", "沟通日期", Date),
    field("notes", "沟通情况", Text(2000)),
];

/// Checks a document's values (by field name); answers the values kept, trimmed, dates and
/// times in their canonical form. Unknown names are dropped.
pub fn check_document(
    kind: DocKind,
    values: &std::collections::BTreeMap<String, String>,
) -> Result<std::collections::BTreeMap<String, String>, crate::FieldErrors> {
    use crate::validate::{optional_date, optional_text};
    let mut errors = crate::FieldErrors::new();
    let mut out = std::collections::BTreeMap::new();
    for f in kind.fields() {
        let raw = values.get(f.name).map(|v| v.trim()).unwrap_or("");
        if raw.is_empty() {
            if f.required {
                errors.add(f.name, format!("请填写{}", f.label));
            }
            continue;
        }
        let kept = match f.kind {
            FieldKind::Line(max) | FieldKind::Text(max) => {
                if matches!(f.kind, FieldKind::Line(_)) && raw.contains('\n') {
                    errors.add(f.name, format!("{}只能写一行", f.label));
                }
                optional_text(&mut errors, f.name, f.label, Some(raw), max)
            }
            FieldKind::Date => {
                optional_date(&mut errors, f.name, f.label, Some(raw)).map(|d| d.to_string())
            }
            FieldKind::Time => match chrono::NaiveTime::parse_from_str(raw, "%H:%M") {
                Ok(t) => Some(t.format("%H:%M").to_string()),
                Err(_) => {
                    errors.add(f.name, format!("{}格式应为 时:分，例如 09:30", f.label));
                    None
                }
            },
        };
        if let Some(v) = kept {
            out.insert(f.name.to_string(), v);
        }
    }
    errors.into_result().map(|()| out)
}

domain_enum! {
    /// The records that carry photos as evidence: a visit's findings (R-PROC-2), a ledger
    /// item's 销号 (R-PROC-6) and an inspection (R-PROC-7).
    EvidenceOf {
        Visit = ("visit", "走访记录"),
        LedgerItem = ("ledger_item", "台帐事项"),
        Inspection = ("inspection", "督查记录"),
    }
}

/// Photos one record may carry.
pub const MAX_EVIDENCE_PHOTOS: usize = 9;

impl EvidenceOf {
    /// The step during which the record is made, and so its photos are added.
    pub fn step(self) -> Step {
        match self {
            EvidenceOf::Visit => Step::Opinions,
            EvidenceOf::LedgerItem => Step::Implementation,
            EvidenceOf::Inspection => Step::Supervision,
        }
    }

    /// Whether `more` photos may be added to a record that has `have`, while the case is at
    /// `at` and (for a ledger item) the item is still open: a ticked-off item's evidence is what
    /// its confirmer saw, and does not change afterwards.
    pub fn check_add(
        self,
        at: Step,
        item_open: bool,
        have: usize,
        more: usize,
    ) -> Result<(), RuleError> {
        if at != self.step() {
            return Err(RuleError::new(
                self.step().rule(),
                "photos",
                format!(
                    "{}的照片只能在「{}」步骤添加",
                    self.label(),
                    self.step().label()
                ),
            ));
        }
        if self == EvidenceOf::LedgerItem && !item_open {
            return Err(RuleError::new(
                "R-PROC-6",
                "photos",
                "已销号的事项不能再添加佐证照片（退回后可补充）",
            ));
        }
        if more == 0 {
            return Err(RuleError::new(self.step().rule(), "photos", "请选择照片"));
        }
        if have + more > MAX_EVIDENCE_PHOTOS {
            return Err(RuleError::new(
                self.step().rule(),
                "photos",
                format!(
                    "每条{}最多{MAX_EVIDENCE_PHOTOS}张照片，已有{have}张",
                    self.label()
                ),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn complete() -> CaseFacts {
        CaseFacts {
            level: Some(Level::District),
            visits: 2,
            opinions: 5,
            preliminary_plan: true,
            council_meeting: true,
            feasibility: true,
            meeting_plan: true,
            leader_consultation: true,
            meeting_signed_in: true,
            minutes_confirmed: true,
            resolution: true,
            filing_number: true,
            plan_tasks: 3,
            agreements: 2,
            notice_published: true,
            notice_ended: true,
            notice_outdated: false,
            objections_open: 0,
            ledger_items: 3,
            ledger_confirmed: 3,
            leader_remarks: 1,
            committee_members: 3,
            inspections: 1,
            bulletins: 1,
            accepted: true,
        }
    }

    #[test]
    fn r_proc_1_to_7_steps_run_in_order_to_done() {
        let f = complete();
        let mut step = Step::Topic;
        let mut seen = vec![step];
        while !step.is_final() {
            step = check_move(step, &Move::Advance, &f).unwrap();
            seen.push(step);
        }
        let mut expected = Step::SEVEN.to_vec();
        expected.push(Step::Done);
        assert_eq!(seen, expected);
        assert_eq!(Step::Topic.number(), Some(1));
        assert_eq!(Step::Supervision.number(), Some(7));
        assert_eq!(Step::Done.number(), None);
    }

    #[test]
    fn r_proc_1_only_the_next_step_may_be_entered() {
        assert!(check_target(Step::Topic, Step::Opinions).is_ok());
        let e = check_target(Step::Topic, Step::Notice).unwrap_err();
        assert_eq!(e.rule, "R-PROC-5");
        assert!(e.message.contains("须依次进行"), "{}", e.message);
        assert!(check_target(Step::Analysis, Step::Opinions).is_ok());
        assert!(check_target(Step::Analysis, Step::Topic).is_err());
        assert!(check_target(Step::Notice, Step::Stopped).is_ok());
    }

    #[test]
    fn r_proc_2_opinions_close_only_with_visits_opinions_and_plan() {
        let f = CaseFacts::default();
        let lacking = missing(Step::Opinions, &f);
        assert_eq!(lacking.len(), 3);
        assert!(lacking.iter().all(|m| m.rule == "R-PROC-2"));
        let e = check_move(Step::Opinions, &Move::Advance, &f).unwrap_err();
        assert_eq!(e.rule, "R-PROC-2");
        assert!(e.message.contains("初步协商方案"), "{}", e.message);
    }

    #[test]
    fn r_proc_3_district_level_needs_the_prior_consultation() {
        let mut f = complete();
        f.leader_consultation = false;
        assert_eq!(missing(Step::Analysis, &f).len(), 1);
        f.level = Some(Level::Community);
        assert!(missing(Step::Analysis, &f).is_empty());
    }

    #[test]
    fn r_proc_5_implementation_waits_for_the_notice_and_every_answer() {
        let mut f = complete();
        f.notice_ended = false;
        let e = check_move(Step::Notice, &Move::Advance, &f).unwrap_err();
        assert_eq!(e.rule, "R-CAL-1");
        f.notice_ended = true;
        f.objections_open = 2;
        let e = check_move(Step::Notice, &Move::Advance, &f).unwrap_err();
        assert_eq!(e.rule, "R-PROC-5");
        assert!(e.message.contains("尚有2条未答复"), "{}", e.message);
        f.objections_open = 0;
        assert_eq!(
            check_move(Step::Notice, &Move::Advance, &f),
            Ok(Step::Implementation)
        );
        // A material change after publication: published again, the period restarts.
        f.notice_outdated = true;
        let e = check_move(Step::Notice, &Move::Advance, &f).unwrap_err();
        assert!(e.message.contains("重新发布"), "{}", e.message);
    }

    #[test]
    fn r_proc_6_closed_is_not_done_until_confirmed() {
        let mut f = complete();
        f.ledger_confirmed = 2;
        let lacking = missing(Step::Implementation, &f);
        assert_eq!(lacking.len(), 1);
        assert!(lacking[0].item.contains("2/3"));
        // Street-level and district-level cases need the leader's supervision; community-level
        // ones do not.
        let mut f = complete();
        f.leader_remarks = 0;
        assert_eq!(missing(Step::Implementation, &f).len(), 1);
        f.level = Some(Level::Community);
        assert!(missing(Step::Implementation, &f).is_empty());
    }

    #[test]
    fn r_proc_7_done_needs_committee_inspection_bulletin_acceptance() {
        let lacking = missing(Step::Supervision, &CaseFacts::default());
        assert_eq!(lacking.len(), 4);
        assert_eq!(
            check_move(Step::Supervision, &Move::Advance, &complete()),
            Ok(Step::Done)
        );
    }

    #[test]
    fn going_back_needs_a_reason_and_a_step_to_go_back_to() {
        let e = check_move(
            Step::Analysis,
            &Move::Back { reason: " ".into() },
            &complete(),
        )
        .unwrap_err();
        assert_eq!(e.field, "reason");
        assert_eq!(
            check_move(
                Step::Analysis,
                &Move::Back {
                    reason: "方案需补充走访".into()
                },
                &CaseFacts::default()
            ),
            Ok(Step::Opinions)
        );
        assert!(check_move(Step::Topic, &Move::Back { reason: "x".into() }, &complete()).is_err());
    }

    #[test]
    fn stopping_needs_a_reason_and_ends_the_case() {
        let stop = Move::Stop {
            reason: "居民意见分歧，暂缓实施".into(),
        };
        assert_eq!(
            check_move(Step::Notice, &stop, &CaseFacts::default()),
            Ok(Step::Stopped)
        );
        for s in [Step::Done, Step::Stopped] {
            assert!(check_move(s, &stop, &complete()).is_err());
            assert!(check_move(s, &Move::Advance, &complete()).is_err());
        }
        assert!(
            check_move(
                Step::Topic,
                &Move::Stop {
                    reason: String::new()
                },
                &complete()
            )
            .is_err()
        );
    }

    #[test]
    fn r_proc_3_documents_are_checked_field_by_field() {
        let mut v = std::collections::BTreeMap::new();
        v.insert("date".to_string(), "2026/3/7".to_string());
        v.insert("time".to_string(), "9:30".to_string());
        v.insert("place".to_string(), "社区党群服务中心\n二楼".to_string());
        v.insert("unknown".to_string(), "x".to_string());
        let e = check_document(DocKind::MeetingPlan, &v).unwrap_err();
        assert!(e.get("place").unwrap().contains("一行"));
        assert_eq!(e.get("participants"), Some("请填写拟参会人员"));
        assert!(e.get("date").is_none() && e.get("time").is_none());
        v.insert("place".to_string(), "社区党群服务中心".to_string());
        v.insert(
            "participants".to_string(),
            "区级领导、街道挂点领导、两委".to_string(),
        );
        v.insert(
            "agenda".to_string(),
            "介绍议题；自由发言；形成决议".to_string(),
        );
        let kept = check_document(DocKind::MeetingPlan, &v).unwrap();
        assert_eq!(kept["date"], "2026-03-07");
        assert_eq!(kept["time"], "09:30");
        assert!(!kept.contains_key("unknown") && !kept.contains_key("requirements"));
        v.insert("time".to_string(), "25:00".to_string());
        assert!(check_document(DocKind::MeetingPlan, &v).is_err());
        for k in DocKind::ALL {
            assert!(!k.fields().is_empty());
            assert!(matches!(k.step(), Step::Opinions | Step::Analysis));
        }
    }

    #[test]
    fn r_proc_6_evidence_photos_only_at_their_step_and_while_the_item_is_open() {
        use EvidenceOf::*;
        assert!(Visit.check_add(Step::Opinions, true, 0, 3).is_ok());
        let e = Visit.check_add(Step::Analysis, true, 0, 1).unwrap_err();
        assert_eq!((e.rule, e.field), ("R-PROC-2", "photos"));
        assert!(
            LedgerItem
                .check_add(Step::Implementation, true, 8, 1)
                .is_ok()
        );
        let e = LedgerItem
            .check_add(Step::Implementation, false, 0, 1)
            .unwrap_err();
        assert_eq!(e.rule, "R-PROC-6");
        assert!(
            LedgerItem
                .check_add(Step::Implementation, true, 8, 2)
                .unwrap_err()
                .message
                .contains("最多9张")
        );
        assert!(Inspection.check_add(Step::Supervision, true, 0, 0).is_err());
        assert_eq!(
            Inspection
                .check_add(Step::Done, true, 0, 1)
                .unwrap_err()
                .rule,
            "R-PROC-7"
        );
    }
}
