//! Password rule for 等保 2.0: at least 8 characters from at least 3 of the 4 classes
//! (lower case, upper case, digits, other symbols).

pub const MIN_LEN: usize = 8;
pub const MAX_LEN: usize = 128;

/// Returns the Chinese reason why `password` is not acceptable, or `None`.
pub fn check_strength(password: &str, username: &str) -> Option<&'static str> {
    let n = password.chars().count();
    if n < MIN_LEN {
        return Some("密码至少8位");
    }
    if n > MAX_LEN {
        return Some("密码不能超过128位");
    }
    let classes = [
        password.chars().any(|c| c.is_ascii_lowercase()),
        password.chars().any(|c| c.is_ascii_uppercase()),
        password.chars().any(|c| c.is_ascii_digit()),
        password.chars().any(|c| !c.is_ascii_alphanumeric()),
    ];
    if classes.iter().filter(|b| **b).count() < 3 {
        return Some("密码须包含大写字母、小写字母、数字、符号中的至少三类");
    }
    if !username.is_empty() && password.to_lowercase().contains(&username.to_lowercase()) {
        return Some("密码不能包含用户名");
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn eight_characters_three_classes() {
        assert_eq!(check_strength("Ab1!", "u"), Some("密码至少8位"));
        assert!(check_strength("abcdefgh1", "u").is_some());
        assert!(check_strength("abcdefG1", "u").is_none());
        assert!(check_strength("abcdef1!", "u").is_none());
        assert!(check_strength("Zhang123!", "zhang").is_some());
    }
}

/// 等保 2.0 asks for passwords to be changed periodically: one set `max_age_days` or more ago
/// has expired and must be changed before anything else (0: passwords never expire).
pub fn expired(
    changed_at: chrono::DateTime<chrono::Utc>,
    now: chrono::DateTime<chrono::Utc>,
    max_age_days: u32,
) -> bool {
    max_age_days > 0 && now - changed_at >= chrono::Duration::days(i64::from(max_age_days))
}

#[cfg(test)]
mod expiry_tests {
    use super::expired;
    use chrono::{Duration, Utc};

    #[test]
    fn a_password_expires_after_its_days_unless_expiry_is_off() {
        let now = Utc::now();
        assert!(!expired(now - Duration::days(89), now, 90));
        assert!(expired(now - Duration::days(90), now, 90));
        assert!(expired(now - Duration::days(400), now, 90));
        assert!(!expired(now - Duration::days(400), now, 0), "0: never");
    }
}
