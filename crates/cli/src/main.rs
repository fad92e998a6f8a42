//! The `roundtable` binary. Thin: parses the command line and configuration, calls the
//! library crates, prints. Configuration precedence: flags > environment > file > defaults.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use roundtable_core::access::Actor;
use roundtable_core::obligations::HolidaySaturdayRule;
use roundtable_store::pii::{self, Keyring};
use roundtable_store::{Db, PageReq, migrate, users};
use roundtable_web::error::AppError;
use roundtable_web::services::excel::{self, Sheet};
use roundtable_web::{AppState, WebConfig};

#[derive(Parser)]
#[command(
    name = "roundtable",
    version,
    about = "圆桌 — 幸福圆桌会 (Happiness Round Table) for a district"
)]
struct Cli {
    /// Configuration file (TOML). Default: ./roundtable.toml when it exists.
    #[arg(long, env = "ROUNDTABLE_CONFIG", global = true)]
    config: Option<PathBuf>,
    /// Database: sqlite://PATH (default sqlite://data/roundtable.db) or postgres://…
    #[arg(long, env = "DATABASE_URL", global = true)]
    database_url: Option<String>,
    /// Log format: text or json.
    #[arg(long, env = "ROUNDTABLE_LOG_FORMAT", global = true)]
    log_format: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the pages and the API (applies pending migrations first).
    Serve {
        /// Address to listen on.
        #[arg(long, env = "ROUNDTABLE_LISTEN")]
        listen: Option<String>,
    },
    /// Apply pending database migrations.
    Migrate,
    /// Create (or reuse) ./data/demo.db with the demo district and serve it.
    Demo {
        #[arg(long, env = "ROUNDTABLE_LISTEN")]
        listen: Option<String>,
        /// Only create the database and print the logins; do not serve.
        #[arg(long)]
        no_serve: bool,
        /// Do not write the deliberation history into a new demo database (by default a new
        /// demo gets `--months` of it: one case a month per community, through the same
        /// services as the pages).
        #[arg(long)]
        no_history: bool,
        /// Months of history, ending with this month.
        #[arg(long, default_value_t = 12)]
        months: u32,
        /// Grow the demo to a city of at least this many communities first (1500: the
        /// benchmarks' city size).
        #[arg(long)]
        city: Option<usize>,
        /// Write history for the first N communities only.
        #[arg(long)]
        communities: Option<usize>,
        /// Communities whose history is written at once (1–16).
        #[arg(long, default_value_t = 4)]
        parallel: usize,
    },
    /// Manage accounts.
    User {
        #[command(subcommand)]
        action: UserCommand,
    },
    /// Import an .xlsx workbook (sheets 组织, 单位, 人员, 关联): every row or none.
    Import {
        /// The workbook; get a template with `roundtable export --template FILE`.
        file: PathBuf,
        /// Check every row and report, write nothing.
        #[arg(long)]
        dry_run: bool,
        /// Act as this account (its roles and scope); default: the machine's operator, with
        /// the rights of a system administrator.
        #[arg(long = "as")]
        as_user: Option<String>,
    },
    /// Export to an .xlsx workbook in the import layout.
    Export {
        /// Where to write the workbook.
        file: PathBuf,
        /// Only these sheets: orgs, units, people, links (comma-separated); default all.
        #[arg(long, value_delimiter = ',')]
        sheet: Vec<String>,
        /// Write an empty template instead of the data.
        #[arg(long)]
        template: bool,
        /// Export what this account may see (phone numbers masked where it may not see them).
        #[arg(long = "as")]
        as_user: Option<String>,
        /// `excel` (the directory's sheets, default) or `exchange` (issue 7: a .zip of the
        /// exchange format's JSON Lines and the same as .xlsx, docs/exchange-format.md).
        #[arg(long, default_value = "excel")]
        format: String,
        /// With `--format exchange`: only records changed on or after this day (YYYY-MM-DD).
        #[arg(long)]
        since: Option<String>,
    },
    /// The audit chain (issue 6): `verify` walks it and names the first entry altered,
    /// deleted or inserted; exit status 1 when one is found.
    Audit {
        #[command(subcommand)]
        action: AuditCommand,
    },
    /// Back up the database and the uploaded files into one signed file (while serving is
    /// fine: the copy is of one moment). Default: a new file in `backup_dir`, keeping the
    /// newest `backup_keep` there.
    Backup {
        /// Write exactly this file instead (nothing is pruned).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Restore a backup into a new, empty database (DATABASE_URL) and data directory; the
    /// backup's signature and every entry's hash are checked, and the restored audit chain
    /// verified.
    Restore {
        file: PathBuf,
        /// Only check the file (signature and every entry), write nothing.
        #[arg(long)]
        check: bool,
    },
    /// The data key that seals phone numbers and addresses (issue 6): `rotate` makes a new
    /// key current and re-encrypts everything under it (the old key stays in the key file for
    /// older backups); restart a running server afterwards.
    Keys {
        #[command(subcommand)]
        action: KeysCommand,
    },
    /// Show the effective configuration (secrets hidden).
    Config {
        #[command(subcommand)]
        action: ConfigCommand,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create an account; prints a one-time password unless --password is given.
    Create {
        username: String,
        /// Role code: system_admin, district_admin, district_leader, street_admin,
        /// community_secretary, community_staff, council_member, party_member
        #[arg(long, default_value = "system_admin")]
        role: String,
        /// Code of the organisation node the role is held for (not for system_admin).
        #[arg(long)]
        org_code: Option<String>,
        #[arg(long)]
        display_name: Option<String>,
        /// Initial password (must satisfy the password rule); generated when absent.
        #[arg(long, env = "ROUNDTABLE_NEW_PASSWORD")]
        password: Option<String>,
    },
    /// Set a new one-time password; the account must change it at next login.
    Passwd { username: String },
    /// List accounts.
    List,
    /// Disable an account and end its sessions.
    Lock { username: String },
    /// Enable an account and lift a failed-login lockout.
    Unlock { username: String },
    /// Remove an account's second factor (a lost phone); where one is required, the account
    /// sets up a new one at its next login.
    ResetSecondFactor { username: String },
}

#[derive(Subcommand)]
enum AuditCommand {
    Verify,
}

#[derive(Subcommand)]
enum KeysCommand {
    Rotate,
}

#[derive(Subcommand)]
enum ConfigCommand {
    Show,
}

/// The configuration file: every key optional.
#[derive(Debug, Default, serde::Deserialize, serde::Serialize)]
#[serde(default, deny_unknown_fields)]
struct FileConfig {
    database_url: Option<String>,
    listen: Option<String>,
    log_format: Option<String>,
    secure_cookies: Option<bool>,
    template_dir: Option<PathBuf>,
    idle_timeout_minutes: Option<i64>,
    portal_per_hour: Option<usize>,
    questionnaire_per_hour: Option<usize>,
    public_url: Option<String>,
    data_dir: Option<PathBuf>,
    notice_working_days: Option<usize>,
    holiday_saturday_rule: Option<String>,
    webhook_url: Option<String>,
    webhook_secret: Option<String>,
    digest_hour: Option<u32>,
    smtp_host: Option<String>,
    smtp_port: Option<u16>,
    smtp_from: Option<String>,
    audit_key_file: Option<PathBuf>,
    data_key_file: Option<PathBuf>,
    backup_dir: Option<PathBuf>,
    backup_hour: Option<u32>,
    backup_keep: Option<usize>,
    password_max_age_days: Option<u32>,
    second_factor_required: Option<bool>,
    public_per_minute: Option<usize>,
    login_per_hour: Option<usize>,
    contact_retention_days: Option<u32>,
    tls_cert_file: Option<PathBuf>,
    tls_key_file: Option<PathBuf>,
    exchange_first_retry_seconds: Option<i64>,
    exchange_timeout_seconds: Option<u64>,
    exchange_targets: Option<Vec<roundtable_web::services::exchange::ConfigTarget>>,
    exchange_partners: Option<Vec<roundtable_web::services::inbound::ConfigPartner>>,
}

#[derive(Debug, serde::Serialize)]
struct Effective {
    database_url: String,
    listen: String,
    log_format: String,
    secure_cookies: bool,
    template_dir: Option<PathBuf>,
    idle_timeout_minutes: i64,
    /// Resident portal submissions per client address per hour (0: unlimited).
    portal_per_hour: usize,
    /// Questionnaire answers per client address per hour (0: unlimited).
    questionnaire_per_hour: usize,
    /// Where residents reach the server (printed in QR posters).
    public_url: Option<String>,
    /// Where uploaded photos are kept.
    data_dir: PathBuf,
    /// Working days a public notice runs (R-CAL-1; at least 5).
    notice_working_days: usize,
    /// R-LEAD-1 / R-CAL-2: what counts when a month's first Saturday is in a holiday or a
    /// make-up working day (any_saturday, any_day, first_saturday_only).
    holiday_saturday_rule: String,
    /// Reminders' webhook (an SMS gateway or WeChat service): http:// address.
    webhook_url: Option<String>,
    /// Signs the webhook's calls (HMAC-SHA256); hidden by `config show`.
    webhook_secret: Option<String>,
    /// The hour (China time) of the daily digest.
    digest_hour: u32,
    /// Reminders by e-mail: the SMTP relay (plain SMTP inside the network), its port, the sender.
    smtp_host: Option<String>,
    smtp_port: u16,
    smtp_from: Option<String>,
    /// The audit chain's HMAC key (never in the database): ROUNDTABLE_AUDIT_KEY, else this
    /// file, created with a random key on first start (keep it with the backups: without it
    /// the chain cannot be verified).
    audit_key_file: PathBuf,
    /// The data key sealing phone numbers and addresses (SM4-GCM; never in the database):
    /// ROUNDTABLE_DATA_KEY itself, else this file, created on the first start of a new
    /// database. Without it the sealed data cannot be read: keep it apart from the backups.
    data_key_file: PathBuf,
    /// Where backups go (default data_dir/backups).
    backup_dir: PathBuf,
    /// The hour (China time) `serve` makes the daily backup; unset: no scheduled backup.
    backup_hour: Option<u32>,
    /// Backups kept in backup_dir (the newest).
    backup_keep: usize,
    /// Days a password is valid (等保 2.0); 0: no expiry.
    password_max_age_days: u32,
    /// 等保 2.0: administrators and district leaders must sign in with a second factor (TOTP).
    second_factor_required: bool,
    /// Requests per client address per minute to public pages and endpoints (0: unlimited).
    public_per_minute: usize,
    /// Failed login attempts per client address per hour (0: unlimited).
    login_per_hour: usize,
    /// PIPL: days a submitter's contact data is kept after the matter is finished.
    contact_retention_days: u32,
    /// Built-in TLS: the certificate chain and its key (PEM), both or neither.
    tls_cert_file: Option<PathBuf>,
    tls_key_file: Option<PathBuf>,
    /// Delivery to other systems: the first wait after a failed attempt (doubling).
    exchange_first_retry_seconds: i64,
    /// How long a receiver has to answer.
    exchange_timeout_seconds: u64,
    /// The configuration file's delivery targets (written at start-up; secrets not shown).
    exchange_targets: Vec<roundtable_web::services::exchange::ConfigTarget>,
    /// Partner systems that send matters (secrets not shown).
    exchange_partners: Vec<roundtable_web::services::inbound::ConfigPartner>,
    config_file: Option<PathBuf>,
}

/// A number from the environment, if set; anything else set there is an error.
fn env_number(name: &str) -> Result<Option<usize>> {
    match std::env::var(name) {
        Ok(v) => v
            .trim()
            .parse()
            .map(Some)
            .with_context(|| format!("{name} must be a number, got {v}")),
        Err(_) => Ok(None),
    }
}

fn load(cli: &Cli, listen_flag: Option<&String>, default_db: &str) -> Result<Effective> {
    let path = cli
        .config
        .clone()
        .or_else(|| Some(PathBuf::from("roundtable.toml")).filter(|p| p.exists()));
    let file: FileConfig = match &path {
        Some(p) => {
            let text = std::fs::read_to_string(p)
                .with_context(|| format!("cannot read configuration file {}", p.display()))?;
            toml::from_str(&text)
                .with_context(|| format!("invalid configuration file {}", p.display()))?
        }
        None => FileConfig::default(),
    };
    let log_format = cli
        .log_format
        .clone()
        .or(file.log_format)
        .unwrap_or_else(|| "text".into());
    if !matches!(log_format.as_str(), "text" | "json") {
        bail!("log_format must be text or json, got {log_format}");
    }
    Ok(Effective {
        database_url: cli
            .database_url
            .clone()
            .or(file.database_url)
            .unwrap_or_else(|| default_db.into()),
        listen: listen_flag
            .cloned()
            .or(file.listen)
            .unwrap_or_else(|| "127.0.0.1:8080".into()),
        log_format,
        secure_cookies: file.secure_cookies.unwrap_or(false),
        template_dir: file.template_dir,
        idle_timeout_minutes: file.idle_timeout_minutes.unwrap_or(30).clamp(1, 24 * 60),
        portal_per_hour: env_number("ROUNDTABLE_PORTAL_PER_HOUR")?
            .or(file.portal_per_hour)
            .unwrap_or(30),
        // Answers come in bursts (a community event on one Wi-Fi): a higher default.
        questionnaire_per_hour: env_number("ROUNDTABLE_QUESTIONNAIRE_PER_HOUR")?
            .or(file.questionnaire_per_hour)
            .unwrap_or(120),
        public_url: std::env::var("ROUNDTABLE_PUBLIC_URL")
            .ok()
            .or(file.public_url),
        data_dir: std::env::var("ROUNDTABLE_DATA_DIR")
            .ok()
            .map(PathBuf::from)
            .or(file.data_dir)
            .unwrap_or_else(|| PathBuf::from("data")),
        notice_working_days: {
            let n = env_number("ROUNDTABLE_NOTICE_WORKING_DAYS")?
                .or(file.notice_working_days)
                .unwrap_or(5);
            if !(5..=60).contains(&n) {
                anyhow::bail!(
                    "notice_working_days must be between 5 and 60 (R-CAL-1: never fewer than 5), got {n}"
                );
            }
            n
        },
        holiday_saturday_rule: {
            let r = std::env::var("ROUNDTABLE_HOLIDAY_SATURDAY_RULE")
                .ok()
                .or(file.holiday_saturday_rule)
                .unwrap_or_else(|| "any_saturday".into());
            if HolidaySaturdayRule::parse(&r).is_none() {
                anyhow::bail!(
                    "holiday_saturday_rule must be any_saturday, any_day or first_saturday_only, got {r}"
                );
            }
            r
        },
        webhook_url: std::env::var("ROUNDTABLE_WEBHOOK_URL")
            .ok()
            .or(file.webhook_url)
            .filter(|u| !u.trim().is_empty()),
        webhook_secret: std::env::var("ROUNDTABLE_WEBHOOK_SECRET")
            .ok()
            .or(file.webhook_secret),
        digest_hour: {
            let h = env_number("ROUNDTABLE_DIGEST_HOUR")?
                .map(|n| n as u32)
                .or(file.digest_hour)
                .unwrap_or(8);
            if h > 23 {
                anyhow::bail!("digest_hour must be an hour of the day (0–23), got {h}");
            }
            h
        },
        smtp_host: std::env::var("ROUNDTABLE_SMTP_HOST")
            .ok()
            .or(file.smtp_host)
            .filter(|h| !h.trim().is_empty()),
        smtp_port: env_number("ROUNDTABLE_SMTP_PORT")?
            .map(|p| p as u16)
            .or(file.smtp_port)
            .unwrap_or(25),
        smtp_from: std::env::var("ROUNDTABLE_SMTP_FROM")
            .ok()
            .or(file.smtp_from),
        audit_key_file: std::env::var("ROUNDTABLE_AUDIT_KEY_FILE")
            .ok()
            .map(PathBuf::from)
            .or(file.audit_key_file)
            // Beside the data (below) unless configured.
            .unwrap_or_default(),
        data_key_file: std::env::var("ROUNDTABLE_DATA_KEY_FILE")
            .ok()
            .map(PathBuf::from)
            .or(file.data_key_file)
            .unwrap_or_default(),
        backup_dir: std::env::var("ROUNDTABLE_BACKUP_DIR")
            .ok()
            .map(PathBuf::from)
            .or(file.backup_dir)
            .unwrap_or_default(),
        backup_hour: {
            let h = env_number("ROUNDTABLE_BACKUP_HOUR")?
                .map(|n| n as u32)
                .or(file.backup_hour);
            if h.is_some_and(|h| h > 23) {
                anyhow::bail!("backup_hour must be an hour of the day (0–23), got {h:?}");
            }
            h
        },
        backup_keep: {
            let n = env_number("ROUNDTABLE_BACKUP_KEEP")?
                .or(file.backup_keep)
                .unwrap_or(14);
            if n == 0 {
                anyhow::bail!("backup_keep must be at least 1");
            }
            n
        },
        second_factor_required: match std::env::var("ROUNDTABLE_SECOND_FACTOR_REQUIRED") {
            Ok(v) => match v.trim() {
                "1" | "true" | "yes" | "on" => true,
                "0" | "false" | "no" | "off" | "" => false,
                other => bail!(
                    "ROUNDTABLE_SECOND_FACTOR_REQUIRED must be true or false, got {other:?}"
                ),
            },
            Err(_) => file.second_factor_required.unwrap_or(false),
        },
        password_max_age_days: env_number("ROUNDTABLE_PASSWORD_MAX_AGE_DAYS")?
            .map(|n| n as u32)
            .or(file.password_max_age_days)
            .unwrap_or(90),
        public_per_minute: env_number("ROUNDTABLE_PUBLIC_PER_MINUTE")?
            .or(file.public_per_minute)
            .unwrap_or(120),
        login_per_hour: env_number("ROUNDTABLE_LOGIN_PER_HOUR")?
            .or(file.login_per_hour)
            .unwrap_or(100),
        contact_retention_days: {
            let d = env_number("ROUNDTABLE_CONTACT_RETENTION_DAYS")?
                .map(|n| n as u32)
                .or(file.contact_retention_days)
                .unwrap_or(365);
            if d < roundtable_core::privacy::MIN_RETENTION_DAYS {
                bail!(
                    "contact_retention_days must be at least {}, got {d}",
                    roundtable_core::privacy::MIN_RETENTION_DAYS
                );
            }
            d
        },
        tls_cert_file: std::env::var("ROUNDTABLE_TLS_CERT_FILE")
            .ok()
            .map(PathBuf::from)
            .or(file.tls_cert_file)
            .filter(|p| !p.as_os_str().is_empty()),
        tls_key_file: std::env::var("ROUNDTABLE_TLS_KEY_FILE")
            .ok()
            .map(PathBuf::from)
            .or(file.tls_key_file)
            .filter(|p| !p.as_os_str().is_empty()),
        exchange_first_retry_seconds: {
            let n = env_number("ROUNDTABLE_EXCHANGE_FIRST_RETRY_SECONDS")?
                .map(|n| n as i64)
                .or(file.exchange_first_retry_seconds)
                .unwrap_or(roundtable_core::exchange::FIRST_RETRY_SECONDS);
            if !(1..=3600).contains(&n) {
                bail!("exchange_first_retry_seconds must be between 1 and 3600, got {n}");
            }
            n
        },
        exchange_timeout_seconds: {
            let n = env_number("ROUNDTABLE_EXCHANGE_TIMEOUT_SECONDS")?
                .map(|n| n as u64)
                .or(file.exchange_timeout_seconds)
                .unwrap_or(10);
            if !(1..=120).contains(&n) {
                bail!("exchange_timeout_seconds must be between 1 and 120, got {n}");
            }
            n
        },
        exchange_targets: file.exchange_targets.unwrap_or_default(),
        exchange_partners: {
            let list = file.exchange_partners.unwrap_or_default();
            for p in &list {
                p.check().map_err(|e| anyhow::anyhow!(e))?;
            }
            list
        },
        config_file: path,
    })
    .and_then(|mut cfg| {
        if cfg.audit_key_file.as_os_str().is_empty() {
            cfg.audit_key_file = cfg.data_dir.join("keys").join("audit.key");
        }
        if cfg.data_key_file.as_os_str().is_empty() {
            cfg.data_key_file = cfg.data_dir.join("keys").join("data.key");
        }
        if cfg.backup_dir.as_os_str().is_empty() {
            cfg.backup_dir = cfg.data_dir.join("backups");
        }
        if cfg.smtp_host.is_some() && cfg.smtp_from.is_none() {
            bail!("smtp_from (the sender address) must be set when smtp_host is");
        }
        if let Some(u) = &cfg.webhook_url {
            if !u.starts_with("http://") {
                bail!("webhook_url must start with http:// (TLS by a proxy in front of the gateway), got {u}");
            }
            if cfg.webhook_secret.as_deref().is_none_or(|s| s.len() < 16) {
                bail!("webhook_secret must be set (at least 16 characters) when webhook_url is");
            }
        }
        Ok(cfg)
    })
}

/// The database URL with any password replaced, for printing.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}://{user}:***@{}", &url[..s], &url[at + 1..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

fn init_logs(format: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("ROUNDTABLE_LOG")
        .unwrap_or_else(|_| "info,sqlx=warn,tower_http=info".into());
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    if format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}

/// The audit key: ROUNDTABLE_AUDIT_KEY itself, or the key file, written with a random key
/// (readable by its owner only) when there is none yet.
fn audit_key(cfg: &Effective) -> Result<Vec<u8>> {
    if let Ok(k) = std::env::var("ROUNDTABLE_AUDIT_KEY") {
        if k.trim().len() < 32 {
            bail!("ROUNDTABLE_AUDIT_KEY must be at least 32 characters");
        }
        return Ok(k.trim().as_bytes().to_vec());
    }
    let path = &cfg.audit_key_file;
    if !path.exists() {
        write_key_file(path, &roundtable_web::auth::random_token())?;
        tracing::info!(file = %path.display(), "audit key created");
    }
    let key = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the audit key file {}", path.display()))?;
    if key.trim().len() < 32 {
        bail!(
            "the audit key file {} must hold at least 32 characters",
            path.display()
        );
    }
    Ok(key.trim().as_bytes().to_vec())
}

/// The key set for the process, entries written before the chain chained once, and a key that
/// does not verify the chain's last entry refused (it would fork the chain).
async fn prepare_audit(cfg: &Effective, db: &Db) -> Result<()> {
    roundtable_store::audit::set_key(&audit_key(cfg)?);
    let mut tx = db.begin().await?;
    let sealed = roundtable_store::audit::seal_unchained(&mut tx).await?;
    tx.commit().await?;
    if sealed > 0 {
        tracing::info!(
            sealed,
            "audit entries written before the chain were chained"
        );
    }
    if !roundtable_store::audit::key_matches(&mut db.pool()).await? {
        bail!(
            "the audit key ({}) is not the key the audit chain was written with: \
             start with the deployment's key (audit_key_file or ROUNDTABLE_AUDIT_KEY)",
            if std::env::var("ROUNDTABLE_AUDIT_KEY").is_ok() {
                "ROUNDTABLE_AUDIT_KEY".to_string()
            } else {
                cfg.audit_key_file.display().to_string()
            }
        );
    }
    Ok(())
}

/// Where the data key comes from, for messages.
fn data_key_source(cfg: &Effective) -> String {
    if std::env::var("ROUNDTABLE_DATA_KEY").is_ok() {
        "ROUNDTABLE_DATA_KEY".to_string()
    } else {
        cfg.data_key_file.display().to_string()
    }
}

/// The data keyring: ROUNDTABLE_DATA_KEY, else the key file. A missing file is created with
/// a new random key only when `may_create` (the database has nothing sealed yet); otherwise
/// the data could never be read and the start stops.
fn data_keyring(cfg: &Effective, may_create: bool) -> Result<Keyring> {
    if let Ok(k) = std::env::var("ROUNDTABLE_DATA_KEY") {
        return Keyring::parse(&k).map_err(|e| anyhow::anyhow!("ROUNDTABLE_DATA_KEY: {e}"));
    }
    let path = &cfg.data_key_file;
    if !path.exists() {
        if !may_create {
            bail!(
                "the data key file {} is missing, and this database's phone numbers and addresses are sealed with a data key: copy the deployment's key file there (or set data_key_file, or ROUNDTABLE_DATA_KEY)",
                path.display()
            );
        }
        let keyring = Keyring::generate();
        write_key_file(path, &keyring.to_text())?;
        tracing::info!(file = %path.display(), "data key created");
        return Ok(keyring);
    }
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the data key file {}", path.display()))?;
    Keyring::parse(&text).map_err(|e| anyhow::anyhow!("the data key file {}: {e}", path.display()))
}

/// Writes a key file readable by its owner only, through a temporary file renamed into place
/// (a crash leaves the old file or the new one, never half of one).
fn write_key_file(path: &std::path::Path, text: &str) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let tmp = path.with_extension("key.new");
    std::fs::write(&tmp, text)
        .with_context(|| format!("cannot write the key file {}", tmp.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o600))?;
    }
    std::fs::rename(&tmp, path)
        .with_context(|| format!("cannot write the key file {}", path.display()))?;
    Ok(())
}

/// The data keyring set for the process once it opens this database's check value (a wrong or
/// missing key stops the start: issue 6), and values not yet sealed under its current key
/// sealed.
async fn prepare_data_key(cfg: &Effective, db: &Db) -> Result<Keyring> {
    let in_use = pii::sealed_with(&mut db.pool()).await?;
    let keyring = data_keyring(cfg, in_use.is_none())?;
    if let pii::KeyCheck::Mismatch(why) = pii::check(&mut db.pool(), &keyring).await? {
        bail!(
            "the data key ({}, keys {}) does not decrypt this database's personal data, sealed with key {}: {why}. Start with the deployment's key (data_key_file or ROUNDTABLE_DATA_KEY)",
            data_key_source(cfg),
            keyring.ids().join(", "),
            in_use.unwrap_or_default()
        );
    }
    let sealed = pii::prepare(db, &keyring).await?;
    if sealed > 0 {
        tracing::info!(
            sealed,
            key = keyring.current_id(),
            "personal data sealed under the current data key"
        );
    }
    pii::set_keyring(keyring.clone());
    Ok(keyring)
}

async fn open(cfg: &Effective) -> Result<Db> {
    let db = Db::connect(&cfg.database_url)
        .await
        .with_context(|| format!("cannot open database {}", redact(&cfg.database_url)))?;
    let applied = migrate::run(&db).await.context("migrations failed")?;
    if applied > 0 {
        tracing::info!(applied, "migrations applied");
    }
    prepare_audit(cfg, &db).await?;
    prepare_data_key(cfg, &db).await?;
    Ok(db)
}

async fn write_history(
    url: &str,
    months: u32,
    communities: Option<usize>,
    parallel: usize,
    city: bool,
) -> Result<()> {
    let bar = indicatif::ProgressBar::new(0);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{elapsed_precise} [{bar:40}] {pos}/{len} 个案例 ({per_sec}, 剩余 {eta})",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    let opts = roundtable_web::history::Options {
        months,
        communities,
        seed: 20210621,
        parallel,
    };
    let calendar = roundtable_web::services::calendar::CalendarCache::default();
    // A city's history grows the file by gigabytes: opened for bulk writes. The demo's year
    // (about 100 MB) is written faster on the ordinary pool (measured: 1,000 cases in 22 s
    // against 31 s; the bulk connection wins only at size, or kept on one core).
    let db = &if city {
        Db::connect_for_bulk_writes(url).await?
    } else {
        Db::connect(url).await?
    };
    let started = std::time::Instant::now();
    let report = roundtable_web::history::generate(db, &calendar, &opts, &|done, total| {
        bar.set_length(total);
        bar.set_position(done);
    })
    .await
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    bar.finish();
    println!(
        "历史数据：{} 个案例（办结 {}，终止 {}，进行中 {}），{} 个议题，{} 条“六个一”记录，用时 {:.0?}",
        report.cases,
        report.done,
        report.stopped,
        report.running,
        report.topics,
        report.six_ones,
        started.elapsed()
    );
    Ok(())
}

/// `ROUNDTABLE_TODAY=YYYY-MM-DD` moves a demo or training server to another day (the time of
/// day runs on); every record it writes is stamped on that day, and the demo's history ends
/// on it. Never set it in production.
fn apply_today_override() -> Result<()> {
    let Ok(v) = std::env::var("ROUNDTABLE_TODAY") else {
        return Ok(());
    };
    let day: chrono::NaiveDate = v
        .trim()
        .parse()
        .with_context(|| format!("ROUNDTABLE_TODAY must be YYYY-MM-DD, got {v:?}"))?;
    let china = chrono::FixedOffset::east_opt(8 * 3600).expect("UTC+8");
    let today = chrono::Utc::now().with_timezone(&china).date_naive();
    roundtable_store::clock::set_now(
        chrono::Utc::now() + chrono::Duration::days((day - today).num_days()),
    );
    tracing::warn!(%day, "ROUNDTABLE_TODAY is set: the server's clock is shifted (demo/training only)");
    Ok(())
}

async fn serve(cfg: &Effective, db: Db) -> Result<()> {
    apply_today_override()?;
    let web = WebConfig {
        secure_cookies: cfg.secure_cookies,
        template_dir: cfg.template_dir.clone(),
        idle_timeout: chrono::Duration::minutes(cfg.idle_timeout_minutes),
        portal_per_hour: cfg.portal_per_hour,
        questionnaire_per_hour: cfg.questionnaire_per_hour,
        public_url: cfg.public_url.clone(),
        data_dir: cfg.data_dir.clone(),
        notice_working_days: cfg.notice_working_days as u32,
        holiday_saturday_rule: HolidaySaturdayRule::parse(&cfg.holiday_saturday_rule)
            .unwrap_or_default(),
        notify: roundtable_web::services::notify::NotifyConfig {
            webhook: cfg.webhook_url.clone().map(|url| {
                roundtable_web::services::notify::WebhookConfig {
                    url,
                    secret: cfg.webhook_secret.clone().unwrap_or_default(),
                }
            }),
            digest_hour: cfg.digest_hour,
            smtp: cfg
                .smtp_host
                .clone()
                .map(|host| roundtable_web::services::notify::SmtpConfig {
                    host,
                    port: cfg.smtp_port,
                    from: cfg.smtp_from.clone().unwrap_or_default(),
                }),
            ..Default::default()
        },
        password_max_age_days: cfg.password_max_age_days,
        second_factor_required: cfg.second_factor_required,
        public_per_minute: cfg.public_per_minute,
        contact_retention_days: cfg.contact_retention_days,
        login_per_hour: cfg.login_per_hour,
        backup: cfg
            .backup_hour
            .map(|hour| roundtable_web::services::backup::BackupConfig {
                dir: cfg.backup_dir.clone(),
                hour,
                keep: cfg.backup_keep,
            }),
        exchange: roundtable_web::services::exchange::ExchangeConfig {
            first_retry_seconds: cfg.exchange_first_retry_seconds,
            timeout: std::time::Duration::from_secs(cfg.exchange_timeout_seconds),
            targets: cfg.exchange_targets.clone(),
            partners: cfg.exchange_partners.clone(),
            ..Default::default()
        },
        ..WebConfig::default()
    };
    // Read before anything listens: a certificate that cannot be served stops the start.
    let tls = match (&cfg.tls_cert_file, &cfg.tls_key_file) {
        (Some(cert), Some(key)) => Some(roundtable_web::tls::server_config(cert, key)?),
        (None, None) => None,
        _ => bail!("tls_cert_file and tls_key_file go together: set both or neither"),
    };
    let web = WebConfig {
        // Over TLS, cookies are Secure and HSTS is sent.
        secure_cookies: web.secure_cookies || tls.is_some(),
        ..web
    };
    roundtable_web::services::exchange::sync_config_targets(&db, &web.exchange.targets)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let state = AppState::new(db, web).map_err(|e| anyhow::anyhow!("{e}"))?;
    let listener = tokio::net::TcpListener::bind(&cfg.listen)
        .await
        .with_context(|| format!("cannot listen on {}", cfg.listen))?;
    tracing::info!(listen = %cfg.listen, tls = tls.is_some(), "serving");
    let scheme = if tls.is_some() { "https" } else { "http" };
    println!("圆桌 is ready at {scheme}://{}/", cfg.listen);
    // Reminders and the outbox run inside the server (each run claimed once per database).
    roundtable_web::services::notify::spawn(state.clone());
    roundtable_web::services::exchange::spawn(state.clone());
    match tls {
        Some(config) => {
            let listener = roundtable_web::tls::TlsListener::new(listener, config)?;
            roundtable_web::serve_tls(state, listener).await?
        }
        None => roundtable_web::serve(state, listener).await?,
    }
    Ok(())
}

#[tokio::main]
async fn main() -> Result<()> {
    let cli = Cli::parse();
    match &cli.command {
        Command::Serve { listen } => {
            let cfg = load(&cli, listen.as_ref(), "sqlite://data/roundtable.db")?;
            init_logs(&cfg.log_format);
            let db = open(&cfg).await?;
            serve(&cfg, db).await
        }
        Command::Migrate => {
            let cfg = load(&cli, None, "sqlite://data/roundtable.db")?;
            init_logs(&cfg.log_format);
            let db = Db::connect(&cfg.database_url).await?;
            let n = migrate::run(&db).await?;
            prepare_audit(&cfg, &db).await?;
            prepare_data_key(&cfg, &db).await?;
            println!("{n} migration(s) applied to {}", redact(&cfg.database_url));
            Ok(())
        }
        Command::Audit {
            action: AuditCommand::Verify,
        } => {
            let cfg = load(&cli, None, "sqlite://data/roundtable.db")?;
            init_logs(&cfg.log_format);
            let db = open(&cfg).await?;
            let v = roundtable_store::audit::verify(&mut db.pool()).await?;
            match &v.first_problem {
                None => {
                    println!(
                        "审计链完整：{} 条记录校验通过（末端 {}）",
                        v.entries, v.head_seq
                    );
                    Ok(())
                }
                Some(p) => {
                    println!(
                        "审计链异常：{}（{}；此前 {} 条校验通过）",
                        p.message,
                        match p.kind {
                            roundtable_store::audit::Tampering::Altered => "altered",
                            roundtable_store::audit::Tampering::Deleted => "deleted",
                            roundtable_store::audit::Tampering::Inserted => "inserted",
                        },
                        v.entries
                    );
                    std::process::exit(1);
                }
            }
        }
        Command::Demo {
            listen,
            no_serve,
            no_history,
            months,
            city,
            communities,
            parallel,
        } => {
            let cfg = load(&cli, listen.as_ref(), "sqlite://data/demo.db")?;
            init_logs(&cfg.log_format);
            // Before the history: it ends on the (possibly shifted) today.
            apply_today_override()?;
            let db = open(&cfg).await?;
            let created = roundtable_web::demo::seed(&db)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            let fresh = created.is_some();
            match created {
                Some(logins) => {
                    std::fs::create_dir_all("data")?;
                    let mut text = String::new();
                    for l in &logins {
                        text.push_str(&format!("{} {} {}\n", l.role, l.username, l.password));
                    }
                    std::fs::write("data/demo-logins.txt", &text)?;
                    println!("演示数据已创建。登录账号（也已写入 data/demo-logins.txt）：\n{text}");
                }
                None => println!("使用已有的演示数据库；登录账号见 data/demo-logins.txt"),
            }
            if let Some(n) = city {
                let have = roundtable_web::demo::grow_city(&db, *n)
                    .await
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
                println!("城市规模：{have} 个社区（村）");
            }
            if fresh && !*no_history {
                write_history(
                    &cfg.database_url,
                    *months,
                    *communities,
                    *parallel,
                    city.is_some(),
                )
                .await?;
            }
            if *no_serve {
                return Ok(());
            }
            serve(&cfg, db).await
        }
        Command::User { action } => {
            let cfg = load(&cli, None, "sqlite://data/roundtable.db")?;
            init_logs(&cfg.log_format);
            let db = open(&cfg).await?;
            user_command(&db, action).await
        }
        Command::Import {
            file,
            dry_run,
            as_user,
        } => {
            let cfg = load(&cli, None, "sqlite://data/roundtable.db")?;
            init_logs(&cfg.log_format);
            let db = open(&cfg).await?;
            import_command(&db, file, *dry_run, as_user.as_deref()).await
        }
        Command::Export {
            file,
            sheet,
            template,
            as_user,
            format,
            since,
        } => {
            let cfg = load(&cli, None, "sqlite://data/roundtable.db")?;
            init_logs(&cfg.log_format);
            match format.as_str() {
                "excel" => {}
                "exchange" => {
                    let db = open(&cfg).await?;
                    let actor = actor(&db, as_user.as_deref()).await?;
                    let since = roundtable_web::services::exchange::ExportQuery {
                        since: since.clone(),
                    }
                    .since()
                    .map_err(|e| anyhow::anyhow!("--since: {e}"))?;
                    let who = as_user.clone().unwrap_or_else(|| "命令行".into());
                    let state = AppState::new(db, WebConfig::default())
                        .map_err(|e| anyhow::anyhow!("{e}"))?;
                    let bytes = roundtable_web::services::exchange::export(
                        &state,
                        &actor,
                        &[],
                        &who,
                        since,
                    )
                    .await
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
                    std::fs::write(file, &bytes)
                        .with_context(|| format!("cannot write {}", file.display()))?;
                    println!("已导出 {}（{} 字节）", file.display(), bytes.len());
                    return Ok(());
                }
                other => bail!("--format must be excel or exchange, got {other}"),
            }
            let sheets = sheet
                .iter()
                .map(|s| {
                    Sheet::parse(s).with_context(|| {
                        format!("unknown sheet {s}: use orgs, units, people or links")
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            let bytes = if *template {
                excel::template(&sheets).map_err(|e| anyhow::anyhow!("{e}"))?
            } else {
                let db = open(&cfg).await?;
                let actor = actor(&db, as_user.as_deref()).await?;
                excel::export(&db, &actor, &sheets)
                    .await
                    .map_err(|e| anyhow::anyhow!("{e}"))?
            };
            std::fs::write(file, bytes).with_context(|| format!("writing {}", file.display()))?;
            println!("written {}", file.display());
            Ok(())
        }
        Command::Backup { out } => {
            let cfg = load(&cli, None, "sqlite://data/roundtable.db")?;
            init_logs(&cfg.log_format);
            let db = open(&cfg).await?;
            let started = std::time::Instant::now();
            let made = match out {
                Some(path) => roundtable_web::services::backup::make_at(&db, &cfg.data_dir, path)
                    .await
                    .map_err(|e| anyhow::anyhow!("{e}"))?,
                None => roundtable_web::services::backup::make(
                    &db,
                    &cfg.data_dir,
                    &cfg.backup_dir,
                    cfg.backup_keep,
                )
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?,
            };
            println!(
                "备份完成：{}（{} 张表 {} 行，{} 个上传文件，审计记录 {} 条，{} 字节，用时 {:.1?}）",
                made.path.display(),
                made.manifest.tables.len(),
                made.manifest.rows(),
                made.manifest.files.len(),
                made.manifest.audit_entries,
                made.bytes,
                started.elapsed()
            );
            Ok(())
        }
        Command::Restore { file, check } => {
            let cfg = load(&cli, None, "sqlite://data/roundtable.db")?;
            init_logs(&cfg.log_format);
            // The key signs the backup: set before the file is opened. A new server gets the
            // deployment's key copied over; a key made up here could never match.
            if std::env::var("ROUNDTABLE_AUDIT_KEY").is_err() && !cfg.audit_key_file.exists() {
                bail!(
                    "restoring needs the audit key the backup was made with: copy the deployment's key file to {} (or set audit_key_file, or ROUNDTABLE_AUDIT_KEY)",
                    cfg.audit_key_file.display()
                );
            }
            roundtable_store::audit::set_key(&audit_key(&cfg)?);
            // The restored phone numbers and addresses are sealed with the deployment's data
            // key: without it they could not be read.
            if std::env::var("ROUNDTABLE_DATA_KEY").is_err() && !cfg.data_key_file.exists() {
                bail!(
                    "restoring needs the data key the backup's personal data is sealed with: copy the deployment's key file to {} (or set data_key_file, or ROUNDTABLE_DATA_KEY)",
                    cfg.data_key_file.display()
                );
            }
            if *check {
                let mut archive =
                    roundtable_store::backup::open(file).map_err(|e| anyhow::anyhow!("{e}"))?;
                archive.check().map_err(|e| anyhow::anyhow!("{e}"))?;
                let m = &archive.manifest;
                println!(
                    "备份文件完好：{}（{} 制作于 {}，结构版本 {}，{} 张表 {} 行，{} 个上传文件）",
                    file.display(),
                    m.backend,
                    m.made_at,
                    m.schema_version,
                    m.tables.len(),
                    m.rows(),
                    m.files.len()
                );
                return Ok(());
            }
            let db = Db::connect(&cfg.database_url)
                .await
                .with_context(|| format!("cannot open database {}", redact(&cfg.database_url)))?;
            let started = std::time::Instant::now();
            let report = roundtable_web::services::backup::restore(&db, file, &cfg.data_dir)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            prepare_audit(&cfg, &db).await?;
            prepare_data_key(&cfg, &db).await?;
            println!(
                "恢复完成：{} 张表 {} 行、{} 个上传文件恢复到 {}；审计链 {} 条校验通过；用时 {:.1?}",
                report.restored.tables,
                report.restored.rows,
                report.restored.files,
                redact(&cfg.database_url),
                report.chain.entries,
                started.elapsed()
            );
            Ok(())
        }
        Command::Keys {
            action: KeysCommand::Rotate,
        } => {
            let cfg = load(&cli, None, "sqlite://data/roundtable.db")?;
            init_logs(&cfg.log_format);
            if std::env::var("ROUNDTABLE_DATA_KEY").is_ok() {
                bail!(
                    "the data key comes from ROUNDTABLE_DATA_KEY, which this command cannot change: move it into a key file (data_key_file) and rotate there"
                );
            }
            let db = open(&cfg).await?;
            let old = pii::keyring()?;
            let new = old.rotated();
            // The new key is on disk before anything is sealed with it; the old ones stay
            // (older backups, and values a running server writes until it restarts).
            write_key_file(&cfg.data_key_file, &new.to_text())?;
            let started = std::time::Instant::now();
            let written = pii::rotate(&db, &new).await?;
            let mut tx = db.begin().await?;
            roundtable_store::audit::record(
                &mut tx,
                None,
                "keys.rotate",
                "data_key",
                None,
                Some(&serde_json::json!({"key": old.current_id()})),
                Some(&serde_json::json!({"key": new.current_id(), "values": written})),
            )
            .await?;
            tx.commit().await?;
            println!(
                "数据密钥已轮换：当前密钥 {}，{} 项个人信息已用新密钥重新加密（用时 {:.1?}）。旧密钥 {} 仍保留在 {} 中，用于恢复轮换前的备份。正在运行的服务请重启。",
                new.current_id(),
                written,
                started.elapsed(),
                old.ids().join(", "),
                cfg.data_key_file.display()
            );
            Ok(())
        }
        Command::Config {
            action: ConfigCommand::Show,
        } => {
            let mut cfg = load(&cli, None, "sqlite://data/roundtable.db")?;
            cfg.database_url = redact(&cfg.database_url);
            if cfg.webhook_secret.is_some() {
                cfg.webhook_secret = Some("(hidden)".into());
            }
            println!("{}", toml::to_string(&cfg)?);
            Ok(())
        }
    }
}

/// The account a command acts as: a named account with its roles, or the machine's operator.
async fn actor(db: &Db, as_user: Option<&str>) -> Result<Actor> {
    let Some(name) = as_user else {
        return Ok(Actor::operator());
    };
    let mut pool = db.pool();
    let user = users::by_username(&mut pool, name)
        .await?
        .with_context(|| format!("no account named {name}"))?;
    if user.disabled {
        bail!("account {name} is locked");
    }
    roundtable_web::auth::actor_for(&mut pool, &user)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))
}

async fn import_command(db: &Db, file: &Path, dry_run: bool, as_user: Option<&str>) -> Result<()> {
    let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let actor = actor(db, as_user).await?;
    let bar = ProgressBar::new(0).with_style(
        ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} 行 ({eta})")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_message(if dry_run { "检查" } else { "导入" });
    let progress = |done: usize, total: usize| {
        bar.set_length(total as u64);
        bar.set_position(done as u64);
    };
    let report = excel::import(db, &actor, &bytes, dry_run, &progress).await;
    bar.finish_and_clear();
    let report = match report {
        Ok(r) => r,
        Err(AppError::Validation(f)) => {
            bail!("{}", f.0.values().cloned().collect::<Vec<_>>().join("；"))
        }
        Err(e) => bail!("{e}"),
    };
    for c in &report.counts {
        println!(
            "{}：新增 {}，更新 {}，未变化 {}",
            c.sheet, c.created, c.updated, c.unchanged
        );
    }
    if report.error_total > 0 {
        for e in &report.errors {
            let at = if e.cell.is_empty() {
                format!("第{}行", e.row)
            } else {
                e.cell.clone()
            };
            eprintln!("{}!{at}（{}）：{}", e.sheet, e.column, e.message);
        }
        if report.error_total > report.errors.len() {
            eprintln!(
                "……共 {} 处错误，只列出前 {} 处",
                report.error_total,
                report.errors.len()
            );
        }
        bail!("文件中有 {} 处错误，没有导入任何数据", report.error_total);
    }
    println!(
        "{}",
        if report.dry_run {
            "检查通过，未写入（--dry-run）"
        } else {
            "导入完成"
        }
    );
    Ok(())
}

async fn user_command(db: &Db, action: &UserCommand) -> Result<()> {
    use roundtable_web::auth::hash_password;
    use roundtable_web::services::users::generate_password;
    let mut pool = db.pool();
    let find = |u: &str| {
        let u = u.to_string();
        let db = db.clone();
        async move {
            users::by_username(&mut db.pool(), &u)
                .await?
                .with_context(|| format!("no account named {u}"))
        }
    };
    match action {
        UserCommand::Create {
            username,
            role,
            org_code,
            display_name,
            password,
        } => {
            let role_v = roundtable_core::access::Role::parse(role)
                .with_context(|| format!("unknown role {role}"))?;
            let org_id = match (role_v.needs_scope(), org_code) {
                (false, _) => None,
                (true, Some(code)) => Some(
                    roundtable_store::orgs::by_code(&mut pool, code)
                        .await?
                        .with_context(|| format!("no organisation with code {code}"))?
                        .id,
                ),
                (true, None) => bail!("role {role} needs --org-code"),
            };
            if users::by_username(&mut pool, username).await?.is_some() {
                bail!("account {username} already exists");
            }
            let (clear, generated) = match password {
                Some(p) => {
                    if let Some(msg) = roundtable_core::password::check_strength(p, username) {
                        bail!("password rejected: {msg}");
                    }
                    (p.clone(), false)
                }
                None => (generate_password(), true),
            };
            let hash = hash_password(&clear).map_err(|e| anyhow::anyhow!("{e}"))?;
            let mut tx = db.begin().await?;
            let id = users::insert(
                &mut tx,
                username,
                &hash,
                display_name.as_deref().unwrap_or(username),
                None,
                true,
            )
            .await?;
            users::add_role(&mut tx, id, role_v.code(), org_id).await?;
            // Permission changes on the command line are on the chain too (no account: user 0).
            roundtable_store::audit::record(
                &mut tx,
                None,
                "user.create",
                "user",
                Some(id),
                None,
                Some(&serde_json::json!({"username": username, "role": role_v.code(), "org_id": org_id, "via": "cli"})),
            )
            .await?;
            users::auth_event(
                &mut tx,
                "account_created",
                username,
                Some(id),
                None,
                Some("cli"),
            )
            .await?;
            tx.commit().await?;
            println!("created {username} ({})", role_v.label());
            if generated {
                println!("one-time password: {clear}\n(it must be changed at first login)");
            }
        }
        UserCommand::Passwd { username } => {
            let u = find(username).await?;
            let clear = generate_password();
            let hash = hash_password(&clear).map_err(|e| anyhow::anyhow!("{e}"))?;
            let mut tx = db.begin().await?;
            users::set_password(&mut tx, u.id, &hash, true).await?;
            users::sessions_delete_for_user(&mut tx, u.id).await?;
            roundtable_store::audit::record(
                &mut tx,
                None,
                "user.password_reset",
                "user",
                Some(u.id),
                None,
                Some(&serde_json::json!({"username": username, "via": "cli"})),
            )
            .await?;
            users::auth_event(
                &mut tx,
                "password_reset",
                username,
                Some(u.id),
                None,
                Some("cli"),
            )
            .await?;
            tx.commit().await?;
            println!(
                "one-time password for {username}: {clear}\n(it must be changed at next login)"
            );
        }
        UserCommand::List => {
            let everywhere = roundtable_core::access::Scope {
                everywhere: true,
                ..Default::default()
            };
            let mut page = 1;
            loop {
                let p = users::list(
                    &mut pool,
                    &everywhere,
                    None,
                    PageReq::new(Some(page), Some(200)),
                )
                .await?;
                for u in &p.items {
                    let roles = users::roles(&mut pool, u.id).await?;
                    let roles: Vec<String> = roles
                        .iter()
                        .map(|r| format!("{}@{}", r.role, r.org_name.as_deref().unwrap_or("*")))
                        .collect();
                    let state = if u.disabled {
                        "locked"
                    } else if u.must_change_password {
                        "must-change-password"
                    } else {
                        "active"
                    };
                    println!(
                        "{}\t{}\t{}\t{}",
                        u.username,
                        u.display_name,
                        state,
                        roles.join(",")
                    );
                }
                if page * p.per_page >= p.total {
                    break;
                }
                page += 1;
            }
        }
        UserCommand::ResetSecondFactor { username } => {
            let u = find(username).await?;
            let mut tx = db.begin().await?;
            users::reset_second_factor(&mut tx, u.id).await?;
            users::auth_event(
                &mut tx,
                "second_factor_reset",
                username,
                Some(u.id),
                None,
                Some("via cli"),
            )
            .await?;
            roundtable_store::audit::record(
                &mut tx,
                None,
                "second_factor.reset",
                "user",
                Some(u.id),
                None,
                Some(&serde_json::json!({"username": username, "via": "cli"})),
            )
            .await?;
            tx.commit().await?;
            println!("已重置 {username} 的双因素认证并结束其会话；该账户下次登录时重新设置。");
        }
        UserCommand::Lock { username } | UserCommand::Unlock { username } => {
            let lock = matches!(action, UserCommand::Lock { .. });
            let u = find(username).await?;
            let mut tx = db.begin().await?;
            users::set_disabled(&mut tx, u.id, lock).await?;
            if lock {
                users::sessions_delete_for_user(&mut tx, u.id).await?;
            }
            roundtable_store::audit::record(
                &mut tx,
                None,
                if lock {
                    "account_locked"
                } else {
                    "account_unlocked"
                },
                "user",
                Some(u.id),
                None,
                Some(&serde_json::json!({"username": username, "disabled": lock, "via": "cli"})),
            )
            .await?;
            users::auth_event(
                &mut tx,
                if lock {
                    "account_locked"
                } else {
                    "account_unlocked"
                },
                username,
                Some(u.id),
                None,
                Some("cli"),
            )
            .await?;
            tx.commit().await?;
            println!("{username} {}", if lock { "locked" } else { "unlocked" });
        }
    }
    Ok(())
}
