//! 微心愿 (R-MEM-1): a household's small, concrete need, claimed once by an in-service party
//! member, fulfilled once by them, confirmed by the household. Claiming is the "claim one
//! micro-wish" of the six ones, recorded with it.

use crate::FieldErrors;
use crate::cases::RuleError;
use crate::validate::{optional_phone, optional_text, required_text};

crate::domain_enum! {
    WishStatus {
        Open = ("open", "待认领"),
        Claimed = ("claimed", "已认领"),
        Fulfilled = ("fulfilled", "已完成待确认"),
        Confirmed = ("confirmed", "群众已确认"),
        Cancelled = ("cancelled", "已撤销"),
    }
}

/// A wish as posted, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WishFields {
    pub title: String,
    pub detail: Option<String>,
    pub household_name: String,
    pub household_phone: Option<String>,
}

pub fn check_post(
    title: &str,
    detail: Option<&str>,
    household_name: &str,
    household_phone: Option<&str>,
) -> Result<WishFields, FieldErrors> {
    let mut e = FieldErrors::new();
    let title = required_text(&mut e, "title", "心愿内容", title, 60);
    if e.get("title").is_none() && title.chars().count() < 4 {
        e.add(
            "title",
            "心愿内容请写具体一些（至少4个字），例如“为独居老人更换厨房灯泡”",
        );
    }
    let detail = optional_text(&mut e, "detail", "补充说明", detail, 500);
    let household_name = required_text(
        &mut e,
        "household_name",
        "困难家庭联系人",
        household_name,
        20,
    );
    let household_phone = optional_phone(&mut e, "household_phone", household_phone);
    e.into_result()?;
    Ok(WishFields {
        title,
        detail,
        household_name,
        household_phone,
    })
}

/// A wish is claimed once, while it waits.
pub fn check_claim(status: WishStatus) -> Result<(), RuleError> {
    match status {
        WishStatus::Open => Ok(()),
        WishStatus::Cancelled => Err(RuleError::new("R-MEM-1", "status", "该心愿已撤销")),
        _ => Err(RuleError::new(
            "R-MEM-1",
            "status",
            "该心愿已被其他党员认领，请选择其他心愿",
        )),
    }
}

/// Fulfilled once, by the member who claimed it (or the community for them), with what was done.
pub fn check_fulfil(status: WishStatus, note: &str) -> Result<String, RuleError> {
    match status {
        WishStatus::Claimed => {}
        WishStatus::Open => {
            return Err(RuleError::new("R-MEM-1", "status", "该心愿尚未认领"));
        }
        WishStatus::Cancelled => {
            return Err(RuleError::new("R-MEM-1", "status", "该心愿已撤销"));
        }
        WishStatus::Fulfilled | WishStatus::Confirmed => {
            return Err(RuleError::new(
                "R-MEM-1",
                "status",
                "该心愿已登记完成，不能重复登记",
            ));
        }
    }
    let note = note.trim();
    if note.is_empty() {
        return Err(RuleError::new(
            "R-MEM-1",
            "note",
            "请填写完成情况，例如“已上门更换灯泡”",
        ));
    }
    if note.chars().count() > 200 {
        return Err(RuleError::new("R-MEM-1", "note", "完成情况不能超过200个字"));
    }
    Ok(note.to_string())
}

/// Confirmed once by the household, after it was fulfilled.
pub fn check_confirm(status: WishStatus) -> Result<(), RuleError> {
    match status {
        WishStatus::Fulfilled => Ok(()),
        WishStatus::Confirmed => Err(RuleError::new("R-MEM-1", "status", "该心愿已确认")),
        _ => Err(RuleError::new(
            "R-MEM-1",
            "status",
            "党员登记完成后才能确认",
        )),
    }
}

/// Withdrawn by the community while nobody has fulfilled it yet, with a reason.
pub fn check_cancel(status: WishStatus, reason: &str) -> Result<String, RuleError> {
    if !matches!(status, WishStatus::Open | WishStatus::Claimed) {
        return Err(RuleError::new(
            "R-MEM-1",
            "status",
            "已完成或已撤销的心愿不能撤销",
        ));
    }
    let r = reason.trim();
    if r.is_empty() {
        return Err(RuleError::new("R-MEM-1", "reason", "请填写撤销原因"));
    }
    Ok(r.chars().take(200).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wish_is_claimed_once_fulfilled_once_confirmed_once() {
        use WishStatus::*;
        assert!(check_claim(Open).is_ok());
        let e = check_claim(Claimed).unwrap_err();
        assert!(e.message.contains("已被其他党员认领") && e.rule == "R-MEM-1");
        assert!(check_fulfil(Open, "x").is_err());
        assert_eq!(check_fulfil(Claimed, " 已上门 ").unwrap(), "已上门");
        assert_eq!(check_fulfil(Claimed, " ").unwrap_err().field, "note");
        assert!(
            check_fulfil(Fulfilled, "again")
                .unwrap_err()
                .message
                .contains("不能重复")
        );
        assert!(check_confirm(Claimed).is_err());
        assert!(check_confirm(Fulfilled).is_ok());
        assert!(check_confirm(Confirmed).is_err());
        assert!(check_cancel(Fulfilled, "x").is_err());
        assert_eq!(check_cancel(Open, "").unwrap_err().field, "reason");
    }

    #[test]
    fn a_posted_wish_is_concrete_and_names_the_household() {
        let e = check_post("灯泡", None, "", Some("123")).unwrap_err();
        assert!(e.get("title").is_some() && e.get("household_name").is_some());
        assert!(e.get("household_phone").is_some());
        let w = check_post(" 为独居老人更换厨房灯泡 ", Some(""), "李奶奶", None).unwrap();
        assert_eq!(w.title, "为独居老人更换厨房灯泡");
        assert_eq!(w.detail, None);
    }
}
