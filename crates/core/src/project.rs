//! The project of a case after its meeting (R-PROC-5…7, R-SUP-1): the plan (攻坚任务计划书)
//! with its tasks and budget by funding source, amounts in fen; the public notice's versions;
//! the ledger (工作台帐) whose items are ticked off with evidence and confirmed by someone else;
//! the supervision committee, satisfaction.

use chrono::NaiveDate;

use crate::cases::RuleError;
use crate::domain_enum;

domain_enum! {
    /// R-SUP-1: 资金多元.
    FundingSource {
        Fiscal = ("fiscal", "财政资金"),
        Unit = ("unit", "单位出资"),
        Residents = ("residents", "居民自筹"),
        Donation = ("donation", "社会捐赠"),
        Other = ("other", "其他"),
    }
}

domain_enum! {
    /// Who agrees in principle to the plan (R-PROC-5).
    PartyKind {
        Unit = ("unit", "相关单位"),
        Department = ("department", "职能部门"),
        Leader = ("leader", "领导"),
        Stakeholder = ("stakeholder", "利益相关方"),
    }
}

domain_enum! {
    /// R-PROC-7: where a supervision committee member comes from.
    CommitteeSide {
        PartyOrganisation = ("party_organisation", "社区党组织"),
        Stakeholder = ("stakeholder", "利益相关方"),
        Executor = ("executor", "项目实施方"),
    }
}

domain_enum! {
    /// A ledger item's life: ticked off (销号) by its owner with evidence, then confirmed by
    /// someone else. Closed is not done.
    LedgerStatus {
        Open = ("open", "进行中"),
        Closed = ("closed", "已销号待确认"),
        Confirmed = ("confirmed", "已确认完成"),
    }
}

domain_enum! {
    /// The residents' satisfaction vote on the public page.
    Satisfaction {
        Satisfied = ("satisfied", "满意"),
        Basic = ("basic", "基本满意"),
        Dissatisfied = ("dissatisfied", "不满意"),
    }
}

/// R-SUP-1: an amount typed in yuan (`12345.6`, `1,200`, `¥300`) as whole fen; negative
/// amounts and fractions of a fen are refused.
pub fn parse_yuan(s: &str) -> Result<i64, RuleError> {
    let err = |m: &str| RuleError::new("R-SUP-1", "amount", m.to_string());
    let t: String = s
        .trim()
        .trim_start_matches(['¥', '￥'])
        .trim_end_matches('元')
        .chars()
        .filter(|c| *c != ',' && *c != '，' && !c.is_whitespace())
        .collect();
    if t.is_empty() {
        return Err(err("请填写金额（元）"));
    }
    if t.starts_with('-') {
        return Err(err("金额不能为负数"));
    }
    let (whole, frac) = t.split_once('.').unwrap_or((&t, ""));
    if whole.is_empty() && frac.is_empty()
        || !whole.chars().all(|c| c.is_ascii_digit())
        || !frac.chars().all(|c| c.is_ascii_digit())
    {
        return Err(err("金额应为数字，例如 12000 或 3500.50"));
    }
    if frac.len() > 2 {
        return Err(err("金额最小单位为分（小数点后最多两位）"));
    }
    let yuan: i64 = if whole.is_empty() {
        0
    } else {
        whole.parse().map_err(|_| err("金额过大"))?
    };
    let fen: i64 = format!("{frac:0<2}").parse().unwrap_or(0);
    yuan.checked_mul(100)
        .and_then(|v| v.checked_add(fen))
        .filter(|v| *v < 1_000_000_000_000)
        .ok_or_else(|| err("金额过大"))
}

/// Fen as yuan for pages and documents: 1234567 → "12,345.67".
pub fn format_fen(fen: i64) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    let fen = fen.unsigned_abs();
    let whole = (fen / 100).to_string();
    let mut grouped = String::new();
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(c);
    }
    format!("{sign}{grouped}.{:02}", fen % 100)
}

/// A task of the plan: its dates in order (R-PROC-5: timetable and roadmap).
pub fn check_task_dates(starts: NaiveDate, due: NaiveDate) -> Result<(), RuleError> {
    if due < starts {
        return Err(RuleError::new(
            "R-PROC-5",
            "due_on",
            format!("完成时限（{due}）不能早于开始日期（{starts}）"),
        ));
    }
    Ok(())
}

/// R-PROC-6: who may tick an item off, and who may confirm it. The owner ticks off with
/// evidence; someone else confirms.
pub fn check_close(status: LedgerStatus, evidence: &str, photos: usize) -> Result<(), RuleError> {
    if status != LedgerStatus::Open {
        return Err(RuleError::new(
            "R-PROC-6",
            "status",
            format!("该事项为「{}」，不能再销号", status.label()),
        ));
    }
    if evidence.trim().is_empty() && photos == 0 {
        return Err(RuleError::new(
            "R-PROC-6",
            "evidence",
            "销号须提供完成情况说明或照片等佐证",
        ));
    }
    Ok(())
}

pub fn check_confirm(
    status: LedgerStatus,
    closed_by: Option<i64>,
    confirmer: i64,
) -> Result<(), RuleError> {
    if status != LedgerStatus::Closed {
        return Err(RuleError::new(
            "R-PROC-6",
            "status",
            format!(
                "只有「已销号待确认」的事项才能确认（该事项为「{}」）",
                status.label()
            ),
        ));
    }
    if closed_by == Some(confirmer) {
        return Err(RuleError::new(
            "R-PROC-6",
            "confirmed_by",
            "销号人不能确认自己销号的事项，须由社区书记或监督委员会确认",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn r_sup_1_amounts_are_whole_fen_never_negative() {
        assert_eq!(parse_yuan("12000"), Ok(1_200_000));
        assert_eq!(parse_yuan("3,500.5"), Ok(350_050));
        assert_eq!(parse_yuan("¥0.07"), Ok(7));
        assert_eq!(parse_yuan("88元"), Ok(8800));
        assert_eq!(parse_yuan(".5"), Ok(50));
        for bad in ["-1", "1.234", "abc", "", "1.2.3", "."] {
            let e = parse_yuan(bad).unwrap_err();
            assert_eq!(e.rule, "R-SUP-1", "{bad}");
        }
        assert!(parse_yuan("1.234").unwrap_err().message.contains("分"));
        assert_eq!(format_fen(1_234_567), "12,345.67");
        assert_eq!(format_fen(5), "0.05");
        assert_eq!(format_fen(100_000_000), "1,000,000.00");
    }

    #[test]
    fn r_proc_5_task_dates_in_order() {
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();
        assert!(check_task_dates(d("2026-01-01"), d("2026-01-01")).is_ok());
        let e = check_task_dates(d("2026-02-01"), d("2026-01-01")).unwrap_err();
        assert_eq!((e.rule, e.field), ("R-PROC-5", "due_on"));
    }

    #[test]
    fn r_proc_6_ticked_off_with_evidence_confirmed_by_another() {
        use LedgerStatus::*;
        assert!(check_close(Open, "已完成路面修补", 0).is_ok());
        assert!(check_close(Open, "", 1).is_ok());
        assert_eq!(check_close(Open, " ", 0).unwrap_err().field, "evidence");
        assert!(check_close(Closed, "x", 0).is_err());
        assert!(check_confirm(Closed, Some(7), 8).is_ok());
        assert_eq!(
            check_confirm(Closed, Some(7), 7).unwrap_err().field,
            "confirmed_by"
        );
        assert!(check_confirm(Open, Some(7), 8).is_err());
        assert!(check_confirm(Confirmed, Some(7), 8).is_err());
    }
}
