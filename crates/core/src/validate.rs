//! Field-level validation errors shared by pages (Chinese message next to the field) and the API
//! (`fields` of the error envelope).

use std::collections::BTreeMap;

#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct FieldErrors(pub BTreeMap<String, String>);

impl FieldErrors {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn add(&mut self, field: &str, message: impl Into<String>) {
        self.0
            .entry(field.to_string())
            .or_insert_with(|| message.into());
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    pub fn get(&self, field: &str) -> Option<&str> {
        self.0.get(field).map(String::as_str)
    }
    pub fn into_result(self) -> Result<(), FieldErrors> {
        if self.is_empty() { Ok(()) } else { Err(self) }
    }
    /// One line listing every problem, for the API message and the CLI.
    pub fn summary(&self) -> String {
        self.0
            .iter()
            .map(|(f, m)| format!("{f}: {m}"))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// A required text: trimmed, not empty, at most `max` characters (not bytes).
pub fn required_text(
    errors: &mut FieldErrors,
    field: &str,
    label: &str,
    value: &str,
    max: usize,
) -> String {
    let v = value.trim();
    if v.is_empty() {
        errors.add(field, format!("请填写{label}"));
    } else if v.chars().count() > max {
        errors.add(field, format!("{label}不能超过{max}个字"));
    }
    v.to_string()
}

/// An optional text: trimmed, empty becomes `None`, at most `max` characters.
pub fn optional_text(
    errors: &mut FieldErrors,
    field: &str,
    label: &str,
    value: Option<&str>,
    max: usize,
) -> Option<String> {
    let v = value.map(str::trim).filter(|v| !v.is_empty())?;
    if v.chars().count() > max {
        errors.add(field, format!("{label}不能超过{max}个字"));
    }
    Some(v.to_string())
}

/// A mainland mobile number: 11 digits starting with 1. Spaces and dashes are removed.
pub fn optional_phone(
    errors: &mut FieldErrors,
    field: &str,
    value: Option<&str>,
) -> Option<String> {
    let raw = value.map(str::trim).filter(|v| !v.is_empty())?;
    let digits: String = raw.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
    if digits.len() != 11 || !digits.starts_with('1') || !digits.chars().all(|c| c.is_ascii_digit())
    {
        errors.add(field, "手机号码应为以1开头的11位数字");
    }
    Some(digits)
}

/// A civil date written `YYYY-MM-DD` (also `2026/3/1`, `2026.3.1` and `2026年3月1日`, as
/// people type them in spreadsheets).
pub fn optional_date(
    errors: &mut FieldErrors,
    field: &str,
    label: &str,
    value: Option<&str>,
) -> Option<chrono::NaiveDate> {
    let v = value.map(str::trim).filter(|v| !v.is_empty())?;
    let parsed = ["%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y年%m月%d日"]
        .iter()
        .find_map(|f| chrono::NaiveDate::parse_from_str(v, f).ok());
    match parsed {
        Some(d) => Some(d),
        None => {
            errors.add(field, format!("{label}格式应为 年-月-日，例如 2026-03-01"));
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn required_text_counts_characters_not_bytes() {
        let mut e = FieldErrors::new();
        assert_eq!(
            required_text(&mut e, "name", "名称", " 滕王阁社区 ", 5),
            "滕王阁社区"
        );
        assert!(e.is_empty());
        required_text(&mut e, "name", "名称", "滕王阁社区居委会", 5);
        assert_eq!(e.get("name"), Some("名称不能超过5个字"));
        let mut e = FieldErrors::new();
        required_text(&mut e, "name", "名称", "   ", 5);
        assert_eq!(e.get("name"), Some("请填写名称"));
    }

    #[test]
    fn phone_is_normalised_and_checked() {
        let mut e = FieldErrors::new();
        assert_eq!(
            optional_phone(&mut e, "phone", Some("138-0000 1234")).as_deref(),
            Some("13800001234")
        );
        assert!(e.is_empty());
        assert_eq!(optional_phone(&mut e, "phone", Some("")), None);
        optional_phone(&mut e, "phone", Some("0791-1234567"));
        assert!(e.get("phone").is_some());
    }

    #[test]
    fn dates_are_iso() {
        let mut e = FieldErrors::new();
        assert!(optional_date(&mut e, "d", "日期", Some("2026-02-30")).is_none());
        assert!(e.get("d").is_some());
        let mut e = FieldErrors::new();
        let want = chrono::NaiveDate::from_ymd_opt(2026, 3, 1);
        for typed in ["2026-03-01", "2026/3/1", "2026.03.01", "2026年3月1日"] {
            assert_eq!(
                optional_date(&mut e, "d", "日期", Some(typed)),
                want,
                "{typed}"
            );
        }
        assert!(e.is_empty());
        assert!(optional_date(&mut e, "d", "日期", Some("3/1/2026")).is_none());
    }
}
