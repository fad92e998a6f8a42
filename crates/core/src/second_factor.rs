//! The second factor of a login (issue 6 point 4; 等保 2.0 asks administrators for two kinds of
//! credential): a time-based one-time code (TOTP, RFC 6238: HMAC-SHA1, 6 digits, 30-second
//! steps, one step of clock drift either way) from an authenticator app. A code is accepted
//! once: the step it matched is kept and a later login must match a later step.

use totp_rs::{Builder, Secret, Totp};

/// Roles whose accounts must have a second factor when the deployment requires it: the
/// administrators and the district leaders.
pub const ROLES_REQUIRING: &[&str] = &[
    "system_admin",
    "district_admin",
    "audit_admin",
    "security_admin",
    "district_leader",
];

/// Whether an account holding `roles` must have a second factor.
pub fn required(configured: bool, roles: &[&str]) -> bool {
    configured && roles.iter().any(|r| ROLES_REQUIRING.contains(r))
}

/// Bytes of a new secret (RFC 4226 recommends 160 bits).
pub const SECRET_BYTES: usize = 20;

fn totp(secret: &[u8]) -> Option<Totp> {
    Builder::new()
        .with_secret(Secret::from(secret))
        .with_digits(6)
        .with_step_duration(30)
        .with_skew(1)
        .build()
        .ok()
}

/// The secret as an authenticator app takes it typed in (base32, no padding).
pub fn secret_text(secret: &[u8]) -> String {
    Secret::from(secret).to_base32()
}

/// Reads back `secret_text`.
pub fn secret_from_text(text: &str) -> Option<Vec<u8>> {
    Secret::try_from_base32(text.trim())
        .ok()
        .map(|s| s.as_ref().to_vec())
}

/// The `otpauth://` address of the enrolment QR code.
pub fn enrolment_uri(secret: &[u8], issuer: &str, account: &str) -> String {
    let enc = |s: &str| {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect::<String>()
    };
    format!(
        "otpauth://totp/{}:{}?secret={}&issuer={}&algorithm=SHA1&digits=6&period=30",
        enc(issuer),
        enc(account),
        secret_text(secret),
        enc(issuer)
    )
}

/// Why a code was not accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodeProblem {
    /// Not six digits.
    Malformed,
    /// Not the code of the current time (or the steps next to it).
    Wrong,
    /// The code of a step already used (a replay).
    Reused,
}

impl CodeProblem {
    pub fn message(&self) -> &'static str {
        match self {
            CodeProblem::Malformed => "动态验证码应为 6 位数字",
            CodeProblem::Wrong => "动态验证码不正确或已过期，请查看验证器中的当前验证码",
            CodeProblem::Reused => "该动态验证码已使用过，请等待验证器显示下一个验证码",
        }
    }
}

/// Checks `code` at `unix_seconds` against `secret`; `last_step` is the step of the last code
/// accepted. On success: the step to keep.
pub fn check(
    secret: &[u8],
    code: &str,
    unix_seconds: i64,
    last_step: Option<i64>,
) -> Result<i64, CodeProblem> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != 6 || !code.chars().all(|c| c.is_ascii_digit()) {
        return Err(CodeProblem::Malformed);
    }
    let totp = totp(secret).ok_or(CodeProblem::Wrong)?;
    let now = u64::try_from(unix_seconds).map_err(|_| CodeProblem::Wrong)?;
    let step = totp.check(&code, now).ok_or(CodeProblem::Wrong)?;
    let step = i64::try_from(step).map_err(|_| CodeProblem::Wrong)?;
    if last_step.is_some_and(|last| step <= last) {
        return Err(CodeProblem::Reused);
    }
    Ok(step)
}

/// The code of `unix_seconds` (tests and the demo's instructions).
pub fn code_at(secret: &[u8], unix_seconds: i64) -> String {
    totp(secret)
        .map(|t| {
            t.generate(u64::try_from(unix_seconds).unwrap_or(0))
                .to_string()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B's SHA-1 key.
    const RFC_KEY: &[u8] = b"12345678901234567890";

    #[test]
    fn codes_of_rfc_6238_appendix_b() {
        // The appendix lists 8 digits; six are their last six.
        for (t, eight) in [
            (59, "94287082"),
            (1111111109, "07081804"),
            (1111111111, "14050471"),
            (1234567890, "89005924"),
            (2000000000, "69279037"),
        ] {
            assert_eq!(code_at(RFC_KEY, t), eight[2..], "t = {t}");
        }
    }

    #[test]
    fn a_code_is_accepted_once_within_one_step_of_drift() {
        let t = 1_700_000_000;
        let code = code_at(RFC_KEY, t);
        let step = check(RFC_KEY, &code, t, None).unwrap();
        assert_eq!(step, t / 30);
        assert_eq!(
            check(RFC_KEY, &code, t, Some(step)),
            Err(CodeProblem::Reused)
        );
        // The phone's clock 30 s behind or ahead still works; two steps off does not.
        assert!(check(RFC_KEY, &code, t + 30, None).is_ok());
        assert!(check(RFC_KEY, &code, t - 30, None).is_ok());
        assert_eq!(check(RFC_KEY, &code, t + 90, None), Err(CodeProblem::Wrong));
        assert_eq!(
            check(RFC_KEY, "12345", t, None),
            Err(CodeProblem::Malformed)
        );
        assert_eq!(
            check(RFC_KEY, "abcdef", t, None),
            Err(CodeProblem::Malformed)
        );
        assert!(check(RFC_KEY, &format!(" {} {}", &code[..3], &code[3..]), t, None).is_ok());
    }

    #[test]
    fn secrets_and_who_must_have_one() {
        let text = secret_text(RFC_KEY);
        assert_eq!(text, "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
        assert_eq!(secret_from_text(&text).unwrap(), RFC_KEY);
        assert!(secret_from_text("not base32!").is_none());
        let uri = enrolment_uri(RFC_KEY, "圆桌", "zhang san");
        assert!(uri.starts_with("otpauth://totp/%E5%9C%86%E6%A1%8C:zhang%20san?secret=GEZD"));
        assert!(required(true, &["community_staff", "district_leader"]));
        assert!(!required(true, &["community_staff"]));
        assert!(!required(false, &["system_admin"]));
    }
}
