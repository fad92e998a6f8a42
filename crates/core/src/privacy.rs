//! Personal data on screen and in exports: masked unless the role may see it (PRODUCT.md).

/// PIPL: a submitter's contact data is kept while the matter it came with is being handled and
/// `days` after it was finished (a closed matter, a finished case, a confirmed or withdrawn
/// wish, a closed questionnaire), then erased. Records last changed before the returned
/// moment are past it.
pub fn retention_cutoff(
    now: chrono::DateTime<chrono::Utc>,
    days: u32,
) -> chrono::DateTime<chrono::Utc> {
    now - chrono::Duration::days(i64::from(days))
}

/// The least a deployment may keep contact data after a matter is finished: long enough to
/// answer a complaint about how it was handled.
pub const MIN_RETENTION_DAYS: u32 = 30;

/// The notice a resident agrees to when they leave a phone number to be contacted; its version
/// is kept with each matter (PIPL: consent is to a known text). Change the text, change the
/// version.
pub const CONSENT_VERSION: &str = "2026-12";
pub const CONSENT_TEXT: &str = "我同意社区工作人员为办理本事项通过所留电话与我联系。电话号码只用于办理本事项，不公开、不转作他用；事项办结后按规定期限自动删除，我也可以随时要求查阅或删除。";

/// What stands in for an erased name that a record cannot do without (a wish's household).
pub const ERASED_NAME: &str = "（已删除）";

/// 13812341234 → 138****1234. Anything that is not 11 characters keeps only its last 2.
pub fn mask_phone(phone: &str) -> String {
    let chars: Vec<char> = phone.chars().collect();
    if chars.len() == 11 {
        format!(
            "{}****{}",
            chars[..3].iter().collect::<String>(),
            chars[7..].iter().collect::<String>()
        )
    } else if chars.len() > 2 {
        format!(
            "{}{}",
            "*".repeat(chars.len() - 2),
            chars[chars.len() - 2..].iter().collect::<String>()
        )
    } else {
        "*".repeat(chars.len())
    }
}

/// A name on a public page: the surname and a star (张三 → 张*; 欧阳修 → 欧**).
pub fn mask_name(name: &str) -> String {
    let mut chars = name.trim().chars();
    match chars.next() {
        Some(first) => format!("{first}{}", "*".repeat(chars.count().max(1))),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_keep_only_the_first_character() {
        assert_eq!(mask_name("张三"), "张*");
        assert_eq!(mask_name("欧阳修"), "欧**");
        assert_eq!(mask_name("李"), "李*");
        assert_eq!(mask_name(""), "");
    }

    #[test]
    fn phone_masks_middle_four() {
        assert_eq!(mask_phone("13812341234"), "138****1234");
        assert_eq!(mask_phone("88"), "**");
        assert_eq!(mask_phone("0791123"), "*****23");
    }
}
