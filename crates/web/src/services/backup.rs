//! Backups (issue 6 point 6): `roundtable backup`, the daily backup inside `serve` and
//! `roundtable restore` call these; the file format is `roundtable_store::backup`'s. Each
//! backup and restore leaves an entry on the audit chain.

use std::path::{Path, PathBuf};

use chrono::Timelike;
use roundtable_store::backup::{self, Made, Manifest, Restored};
use roundtable_store::{Db, audit};

use crate::error::AppError;

/// Scheduled backups: the folder, the hour (China time) of the daily run, how many are kept.
#[derive(Debug, Clone)]
pub struct BackupConfig {
    pub dir: PathBuf,
    pub hour: u32,
    pub keep: usize,
}

fn failed(e: roundtable_store::StoreError) -> AppError {
    match e {
        roundtable_store::StoreError::Backup(why) => AppError::BadRequest(why),
        e => e.into(),
    }
}

/// Makes a backup of `db` and the uploads under `data_dir` in `dir`, then keeps the newest
/// `keep` backups there.
pub async fn make(db: &Db, data_dir: &Path, dir: &Path, keep: usize) -> Result<Made, AppError> {
    let made = make_at(
        db,
        data_dir,
        &dir.join(backup::file_name(roundtable_store::now())),
    )
    .await?;
    let removed = backup::prune(dir, keep).map_err(failed)?;
    if !removed.is_empty() {
        tracing::info!(removed = removed.len(), keep, "old backups removed");
    }
    Ok(made)
}

/// Makes a backup into exactly `path`, and records it on the audit chain.
pub async fn make_at(db: &Db, data_dir: &Path, path: &Path) -> Result<Made, AppError> {
    let made = backup::create(db, data_dir, path).await.map_err(failed)?;
    let mut tx = db.begin().await?;
    audit::record(
        &mut tx,
        None,
        "system.backup",
        "backup",
        None,
        None,
        Some(&serde_json::json!({
            "file": made.path.file_name().map(|n| n.to_string_lossy().into_owned()),
            "bytes": made.bytes,
            "rows": made.manifest.rows(),
            "files": made.manifest.files.len(),
            "audit_entries": made.manifest.audit_entries,
        })),
    )
    .await?;
    tx.commit().await?;
    Ok(made)
}

/// What a restore did, with the audit chain checked afterwards.
#[derive(Debug)]
pub struct RestoreReport {
    pub manifest: Manifest,
    pub restored: Restored,
    pub chain: audit::Verification,
}

/// Restores the backup at `file` into `db` (new and empty) and its uploads under `data_dir`;
/// the restored audit chain must verify under the configured key.
pub async fn restore(db: &Db, file: &Path, data_dir: &Path) -> Result<RestoreReport, AppError> {
    let mut archive = backup::open(file).map_err(failed)?;
    let restored = backup::restore(db, &mut archive, data_dir)
        .await
        .map_err(failed)?;
    let chain = audit::verify(&mut db.pool()).await?;
    if let Some(p) = &chain.first_problem {
        return Err(AppError::BadRequest(format!(
            "恢复后的审计链校验失败：{}",
            p.message
        )));
    }
    let mut tx = db.begin().await?;
    audit::record(
        &mut tx,
        None,
        "system.restore",
        "backup",
        None,
        None,
        Some(&serde_json::json!({
            "file": file.file_name().map(|n| n.to_string_lossy().into_owned()),
            "made_at": archive.manifest.made_at,
            "rows": restored.rows,
            "files": restored.files,
        })),
    )
    .await?;
    tx.commit().await?;
    Ok(RestoreReport {
        manifest: archive.manifest.clone(),
        restored,
        chain,
    })
}

/// The scheduler's part: once a day after the configured hour, on one instance (the run is
/// claimed in the database). Returns whether it ran here.
pub async fn scheduled(
    db: &Db,
    data_dir: &Path,
    cfg: &BackupConfig,
    instance: &str,
) -> Result<bool, AppError> {
    let now_china = roundtable_store::now().with_timezone(&crate::render::china());
    if now_china.hour() < cfg.hour {
        return Ok(false);
    }
    let key = now_china.date_naive().to_string();
    let Some(run) =
        roundtable_store::notify::claim_run(&mut db.pool(), "backup", &key, instance).await?
    else {
        return Ok(false);
    };
    let r = make(db, data_dir, &cfg.dir, cfg.keep).await;
    let (status, detail) = match &r {
        Ok(m) => ("ok", format!("{}（{} 字节）", m.path.display(), m.bytes)),
        Err(e) => ("error", e.to_string()),
    };
    roundtable_store::notify::finish_run(&mut db.pool(), run, status, &detail).await?;
    if let Err(e) = r {
        tracing::error!(error = %e, "scheduled backup failed");
    }
    Ok(true)
}
