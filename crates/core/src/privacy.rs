//! Personal data on screen and in exports: masked unless the role may see it (PRODUCT.md).

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
