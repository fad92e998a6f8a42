//! Backups (issue 6 point 6): one file, made through the application on either backend and
//! restored into a new, empty database of either backend.
//!
//! The file is a zip: `tables/<name>.jsonl` (one JSON array per row, columns in the order the
//! manifest lists), `files/…` (what was uploaded: the photos under the data directory),
//! `manifest.json` (schema version, each entry's row count or size and SHA-256) and
//! `manifest.sig`, the HMAC-SM3 of the manifest under the audit key. A changed byte anywhere is
//! found: in an entry by its hash, in the manifest by the signature (which only the holder of
//! the audit key can make again).
//!
//! Consistency while serving: every table is read inside one read transaction — SQLite's WAL
//! snapshot, PostgreSQL's REPEATABLE READ — so the copy is the database as of one moment,
//! whatever is written meanwhile. Photos are saved before the transaction that refers to them
//! commits, so listing them after the snapshot began finds every one the copy refers to.
//!
//! Values are written in one form for both backends: integers as numbers, booleans as JSON
//! booleans, dates as `YYYY-MM-DD`, timestamps as RFC 3339 (the text SQLite keeps), JSON
//! columns as their exact text (a fingerprint is over that text).

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read, Seek, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use futures_util::TryStreamExt;
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;
use sha2::{Digest, Sha256};
use sqlx::{AssertSqlSafe, Column as _, Row as _, TypeInfo as _, ValueRef as _};

use crate::db::{Db, Exec, Snapshot, Sql, Tx, Val};
use crate::{StoreError, args};

pub const FORMAT: &str = "roundtable-backup";
pub const FORMAT_VERSION: i64 = 1;

/// Tables the migrations fill (the shipped holiday notices, the audit chain's and the exchange
/// queue's heads): their rows are
/// replaced by the backup's, and they do not make a database "not empty".
pub const SEEDED: &[&str] = &[
    "calendar_years",
    "calendar_days",
    "audit_chain_head",
    "exchange_head",
];
/// The migrations' own bookkeeping: the restore migrates the target instead.
const BOOKKEEPING: &[&str] = &["schema_migrations"];
/// The folders of the data directory a backup carries (uploads; never `keys/`).
pub const DATA_FOLDERS: &[&str] = &["photos"];

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Manifest {
    pub format: String,
    pub format_version: i64,
    /// The last migration applied to the database copied.
    pub schema_version: i64,
    pub made_at: DateTime<Utc>,
    pub backend: String,
    pub app_version: String,
    /// The audit chain's length in the copy.
    pub audit_entries: i64,
    pub tables: Vec<TableEntry>,
    pub files: Vec<FileEntry>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TableEntry {
    pub name: String,
    pub columns: Vec<String>,
    pub rows: u64,
    pub sha256: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FileEntry {
    /// Relative to the data directory, with `/`.
    pub path: String,
    pub bytes: u64,
    pub sha256: String,
}

impl Manifest {
    pub fn rows(&self) -> u64 {
        self.tables.iter().map(|t| t.rows).sum()
    }
}

fn bad(msg: impl Into<String>) -> StoreError {
    StoreError::Backup(msg.into())
}

fn io(what: &str) -> impl Fn(std::io::Error) -> StoreError + '_ {
    move |e| bad(format!("{what}: {e}"))
}

fn zip_err(e: zip::result::ZipError) -> StoreError {
    bad(format!(
        "the backup file is not a readable zip archive: {e}"
    ))
}

/// A column as the catalog describes it.
#[derive(Debug, Clone)]
struct ColumnInfo {
    name: String,
    /// Lower-case declared type (SQLite) or `data_type` (PostgreSQL).
    kind: String,
    /// Position in the primary key (1-based), 0 when not part of it.
    pk: i64,
}

async fn tables(e: &mut impl Exec) -> Result<Vec<String>, StoreError> {
    let sql = if e.is_postgres() {
        "SELECT CAST(table_name AS TEXT) FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY 1"
    } else {
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY 1"
    };
    let all: Vec<String> = e.fetch_all(Sql::new(sql)).await?;
    Ok(all
        .into_iter()
        .filter(|t| !BOOKKEEPING.contains(&t.as_str()))
        .collect())
}

#[derive(Debug)]
struct ColumnRow(ColumnInfo);
impl crate::db::FromRow for ColumnRow {
    fn from_row(r: &crate::db::Row<'_>) -> Result<Self, StoreError> {
        Ok(ColumnRow(ColumnInfo {
            name: r.get("name")?,
            kind: r.get::<String>("kind")?.to_lowercase(),
            pk: r.get("pk")?,
        }))
    }
}

async fn columns(e: &mut impl Exec, table: &str) -> Result<Vec<ColumnInfo>, StoreError> {
    let sql = if e.is_postgres() {
        Sql::with(
            "SELECT CAST(c.column_name AS TEXT) AS name, CAST(c.data_type AS TEXT) AS kind, CAST(COALESCE((SELECT k.ordinal_position FROM information_schema.table_constraints t JOIN information_schema.key_column_usage k ON k.constraint_name = t.constraint_name AND k.table_schema = t.table_schema AND k.table_name = t.table_name WHERE t.table_schema = c.table_schema AND t.table_name = c.table_name AND t.constraint_type = 'PRIMARY KEY' AND k.column_name = c.column_name), 0) AS BIGINT) AS pk FROM information_schema.columns c WHERE c.table_schema = current_schema() AND c.table_name = $1 ORDER BY c.ordinal_position",
            args![table],
        )
    } else {
        Sql::with(
            "SELECT name, type AS kind, pk FROM pragma_table_info($1) ORDER BY cid",
            args![table],
        )
    };
    Ok(e.fetch_all::<ColumnRow>(sql)
        .await?
        .into_iter()
        .map(|c| c.0)
        .collect())
}

fn is_json(c: &ColumnInfo) -> bool {
    c.kind == "json" || c.kind == "jsonb"
}

/// `SELECT` of every column in the backup's form, ordered by the primary key (all columns
/// when there is none), so the same database always gives the same file.
fn select_all(table: &str, cols: &[ColumnInfo], postgres: bool) -> String {
    let list: Vec<String> = cols
        .iter()
        .map(|c| {
            if postgres && is_json(c) {
                format!("CAST(\"{0}\" AS TEXT) AS \"{0}\"", c.name)
            } else {
                format!("\"{}\"", c.name)
            }
        })
        .collect();
    let mut key: Vec<&ColumnInfo> = cols.iter().filter(|c| c.pk > 0).collect();
    key.sort_by_key(|c| c.pk);
    let order: Vec<String> = if key.is_empty() {
        (1..=cols.len()).map(|i| i.to_string()).collect()
    } else {
        key.iter().map(|c| format!("\"{}\"", c.name)).collect()
    };
    format!(
        "SELECT {} FROM \"{table}\" ORDER BY {}",
        list.join(", "),
        order.join(", ")
    )
}

fn timestamp_text(t: DateTime<Utc>) -> String {
    // What sqlx writes into SQLite for a timestamp: a backup of either backend loads into
    // either and compares the same.
    t.to_rfc3339_opts(SecondsFormat::AutoSi, false)
}

fn sqlite_value(
    row: &sqlx::sqlite::SqliteRow,
    i: usize,
    col: &ColumnInfo,
) -> Result<Json, StoreError> {
    let raw = row.try_get_raw(i)?;
    if raw.is_null() {
        return Ok(Json::Null);
    }
    let storage = raw.type_info().name().to_string();
    Ok(match storage.as_str() {
        "INTEGER" | "BOOLEAN" | "INT8" => {
            let v: i64 = row.try_get(i)?;
            if col.kind == "boolean" {
                Json::Bool(v != 0)
            } else {
                Json::from(v)
            }
        }
        "TEXT" | "DATE" | "DATETIME" | "TIME" => Json::String(row.try_get::<String, _>(i)?),
        other => {
            return Err(bad(format!(
                "column {} holds a value of type {other}, which backups do not carry",
                col.name
            )));
        }
    })
}

fn pg_value(row: &sqlx::postgres::PgRow, i: usize, col: &ColumnInfo) -> Result<Json, StoreError> {
    let ty = row.column(i).type_info().name().to_string();
    Ok(match ty.as_str() {
        "INT8" => row
            .try_get::<Option<i64>, _>(i)?
            .map_or(Json::Null, Json::from),
        "INT4" => row
            .try_get::<Option<i32>, _>(i)?
            .map_or(Json::Null, Json::from),
        "INT2" => row
            .try_get::<Option<i16>, _>(i)?
            .map_or(Json::Null, Json::from),
        "BOOL" => row
            .try_get::<Option<bool>, _>(i)?
            .map_or(Json::Null, Json::Bool),
        "TEXT" | "VARCHAR" | "BPCHAR" | "NAME" => row
            .try_get::<Option<String>, _>(i)?
            .map_or(Json::Null, Json::String),
        "DATE" => row
            .try_get::<Option<NaiveDate>, _>(i)?
            .map_or(Json::Null, |d| Json::String(d.format("%F").to_string())),
        "TIMESTAMPTZ" => row
            .try_get::<Option<DateTime<Utc>>, _>(i)?
            .map_or(Json::Null, |t| Json::String(timestamp_text(t))),
        other => {
            return Err(bad(format!(
                "column {} is of type {other}, which backups do not carry",
                col.name
            )));
        }
    })
}

/// Writes what it is given and hashes it on the way.
struct Hashing<'w, W: Write> {
    inner: &'w mut W,
    hash: Sha256,
    bytes: u64,
}

impl<W: Write> Write for Hashing<'_, W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hash.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

fn hex(bytes: &[u8]) -> String {
    hex::encode(bytes)
}

/// What a backup wrote.
#[derive(Debug, Clone)]
pub struct Made {
    pub path: PathBuf,
    pub manifest: Manifest,
    pub bytes: u64,
}

/// Copies the database and the uploads under `data_dir` into a new file at `path` (written as
/// `path.part` and renamed when complete: a backup cut short never looks finished).
pub async fn create(db: &Db, data_dir: &Path, path: &Path) -> Result<Made, StoreError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io("cannot create the backup folder"))?;
    }
    let part = path.with_extension("part");
    let file = std::fs::File::create(&part).map_err(io("cannot write the backup file"))?;
    let result = write_archive(db, data_dir, file).await;
    match result {
        Ok(manifest) => {
            std::fs::rename(&part, path).map_err(io("cannot finish the backup file"))?;
            let bytes = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
            Ok(Made {
                path: path.to_path_buf(),
                manifest,
                bytes,
            })
        }
        Err(e) => {
            let _ = std::fs::remove_file(&part);
            Err(e)
        }
    }
}

async fn write_archive(
    db: &Db,
    data_dir: &Path,
    file: std::fs::File,
) -> Result<Manifest, StoreError> {
    let mut zip = zip::ZipWriter::new(std::io::BufWriter::new(file));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .large_file(true);
    let mut snap = db.snapshot().await?;
    // The snapshot begins with this first read.
    let names = tables(&mut snap).await?;
    let schema_version = schema_version(&mut snap).await?;
    let mut entries = Vec::new();
    let mut audit_entries = 0;
    for name in &names {
        let cols = columns(&mut snap, name).await?;
        zip.start_file(format!("tables/{name}.jsonl"), opts)
            .map_err(zip_err)?;
        let mut out = Hashing {
            inner: &mut zip,
            hash: Sha256::new(),
            bytes: 0,
        };
        let rows = read_rows(&mut snap, name, &cols, |line| {
            serde_json::to_writer(&mut out, &Json::Array(line))
                .map_err(|e| bad(format!("cannot write a row: {e}")))?;
            out.write_all(b"\n")
                .map_err(io("cannot write the backup file"))
        })
        .await?;
        if name == "audit_log" {
            audit_entries = rows as i64;
        }
        entries.push(TableEntry {
            name: name.clone(),
            columns: cols.into_iter().map(|c| c.name).collect(),
            rows,
            sha256: hex(&out.hash.finalize()),
        });
    }
    // Listed after the snapshot began: every photo it refers to was on disk before it.
    let mut files = Vec::new();
    for folder in DATA_FOLDERS {
        let root = data_dir.join(folder);
        let mut found = Vec::new();
        walk(&root, &mut found)?;
        found.sort();
        for p in found {
            let rel = p
                .strip_prefix(data_dir)
                .map_err(|_| bad("a file outside the data directory"))?
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join("/");
            let mut src = std::fs::File::open(&p).map_err(io("cannot read an uploaded file"))?;
            zip.start_file(format!("files/{rel}"), opts)
                .map_err(zip_err)?;
            let mut out = Hashing {
                inner: &mut zip,
                hash: Sha256::new(),
                bytes: 0,
            };
            std::io::copy(&mut src, &mut out).map_err(io("cannot copy an uploaded file"))?;
            files.push(FileEntry {
                path: rel,
                bytes: out.bytes,
                sha256: hex(&out.hash.finalize()),
            });
        }
    }
    drop(snap);
    let manifest = Manifest {
        format: FORMAT.into(),
        format_version: FORMAT_VERSION,
        schema_version,
        made_at: crate::now(),
        backend: db.backend().into(),
        app_version: env!("CARGO_PKG_VERSION").into(),
        audit_entries,
        tables: entries,
        files,
    };
    let text = serde_json::to_vec_pretty(&manifest)
        .map_err(|e| bad(format!("cannot write the manifest: {e}")))?;
    zip.start_file("manifest.json", opts).map_err(zip_err)?;
    zip.write_all(&text)
        .map_err(io("cannot write the backup file"))?;
    zip.start_file("manifest.sig", opts).map_err(zip_err)?;
    zip.write_all(crate::audit::sign(&text)?.as_bytes())
        .map_err(io("cannot write the backup file"))?;
    let mut inner = zip.finish().map_err(zip_err)?;
    inner.flush().map_err(io("cannot write the backup file"))?;
    inner
        .get_ref()
        .sync_all()
        .map_err(io("cannot write the backup file"))?;
    Ok(manifest)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), StoreError> {
    let rd = match std::fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(bad(format!("cannot read {}: {e}", dir.display()))),
    };
    for entry in rd {
        let entry = entry.map_err(io("cannot read the data directory"))?;
        let p = entry.path();
        let ty = entry
            .file_type()
            .map_err(io("cannot read the data directory"))?;
        if ty.is_dir() {
            walk(&p, out)?;
        } else if ty.is_file() && p.extension().is_none_or(|x| x != "part") {
            out.push(p);
        }
    }
    Ok(())
}

async fn schema_version(e: &mut impl Exec) -> Result<i64, StoreError> {
    e.fetch_one(Sql::new(
        "SELECT CAST(COALESCE(MAX(version), 0) AS BIGINT) FROM schema_migrations",
    ))
    .await
}

/// An archive opened and its manifest checked against its signature.
pub struct Archive<R: Read + Seek> {
    zip: zip::ZipArchive<R>,
    pub manifest: Manifest,
}

/// Opens a backup file and checks its signature (the audit key must be set).
pub fn open(path: &Path) -> Result<Archive<std::fs::File>, StoreError> {
    let file = std::fs::File::open(path).map_err(|e| {
        bad(format!(
            "cannot open the backup file {}: {e}",
            path.display()
        ))
    })?;
    open_reader(file)
}

pub fn open_reader<R: Read + Seek>(reader: R) -> Result<Archive<R>, StoreError> {
    let mut zip = zip::ZipArchive::new(reader).map_err(zip_err)?;
    let read = |zip: &mut zip::ZipArchive<R>, name: &str| -> Result<Vec<u8>, StoreError> {
        let mut f = zip.by_name(name).map_err(|_| {
            bad(format!(
                "the backup file has no {name}: it is not a Roundtable backup"
            ))
        })?;
        let mut buf = Vec::new();
        f.by_ref()
            .take(64 << 20)
            .read_to_end(&mut buf)
            .map_err(io("cannot read the backup file"))?;
        Ok(buf)
    };
    let text = read(&mut zip, "manifest.json")?;
    let sig = read(&mut zip, "manifest.sig")?;
    if !crate::audit::verify_signature(&text, &String::from_utf8_lossy(&sig))? {
        return Err(bad(
            "the backup's signature does not match its contents: the file was changed after it was made, or it was made with another audit key (restore with the deployment's audit_key_file or ROUNDTABLE_AUDIT_KEY)",
        ));
    }
    let manifest: Manifest = serde_json::from_slice(&text)
        .map_err(|e| bad(format!("the backup's manifest cannot be read: {e}")))?;
    if manifest.format != FORMAT {
        return Err(bad("the file is not a Roundtable backup"));
    }
    if manifest.format_version != FORMAT_VERSION {
        return Err(bad(format!(
            "the backup is in format version {}, this program reads version {FORMAT_VERSION}",
            manifest.format_version
        )));
    }
    Ok(Archive { zip, manifest })
}

impl<R: Read + Seek> Archive<R> {
    /// Reads every entry and compares it with the manifest, writing nothing.
    pub fn check(&mut self) -> Result<(), StoreError> {
        let tables = self.manifest.tables.clone();
        for t in &tables {
            let mut reader = self.rows(&t.name)?;
            while !reader.next_batch(1000)?.is_empty() {}
            let (rows, hash) = reader.finish();
            if hash != t.sha256 || rows != t.rows {
                return Err(tampered(&t.name));
            }
        }
        for f in self.manifest.files.clone() {
            let mut entry = self
                .zip
                .by_name(&format!("files/{}", f.path))
                .map_err(|_| missing(&f.path))?;
            let mut h = Sha256::new();
            let n = std::io::copy(&mut entry, &mut HashSink(&mut h))
                .map_err(io("cannot read the backup file"))?;
            if n != f.bytes || hex(&h.finalize()) != f.sha256 {
                return Err(tampered(&f.path));
            }
        }
        Ok(())
    }

    /// The rows of a table's entry, read in batches.
    fn rows(&mut self, table: &str) -> Result<RowReader<'_>, StoreError> {
        let entry = self
            .zip
            .by_name(&format!("tables/{table}.jsonl"))
            .map_err(|_| missing(table))?;
        Ok(RowReader {
            table: table.to_string(),
            reader: BufReader::new(Box::new(entry)),
            hash: Sha256::new(),
            rows: 0,
            line: Vec::new(),
        })
    }
}

/// A table's entry, row by row, hashed as it is read.
struct RowReader<'a> {
    table: String,
    reader: BufReader<Box<dyn Read + 'a>>,
    hash: Sha256,
    rows: u64,
    line: Vec<u8>,
}

impl RowReader<'_> {
    /// Up to `n` rows; fewer only at the end.
    fn next_batch(&mut self, n: usize) -> Result<Vec<Vec<Json>>, StoreError> {
        let mut out = Vec::with_capacity(n);
        while out.len() < n {
            self.line.clear();
            let read = self
                .reader
                .read_until(b'\n', &mut self.line)
                .map_err(|_| tampered(&self.table))?;
            if read == 0 {
                break;
            }
            self.hash.update(&self.line);
            out.push(serde_json::from_slice(&self.line).map_err(|_| tampered(&self.table))?);
            self.rows += 1;
        }
        Ok(out)
    }

    /// Rows read and the entry's hash.
    fn finish(self) -> (u64, String) {
        (self.rows, hex(&self.hash.finalize()))
    }
}

struct HashSink<'h>(&'h mut Sha256);
impl Write for HashSink<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn tampered(what: &str) -> StoreError {
    bad(format!(
        "the backup's entry {what} does not match its manifest: the file was changed or damaged"
    ))
}

fn missing(what: &str) -> StoreError {
    bad(format!("the backup lacks {what}, which its manifest lists"))
}

/// What a restore loaded.
#[derive(Debug, Clone)]
pub struct Restored {
    pub tables: usize,
    pub rows: u64,
    pub files: usize,
}

/// Loads a checked archive into `db`, which must be new: migrated to the backup's schema
/// version here, refused when any table outside `SEEDED` holds a row. Every row goes in in one
/// transaction, committed only when every entry matched its hash; uploaded files go under
/// `data_dir` (an existing file of other content is refused). Then the migrations newer than
/// the backup run.
pub async fn restore<R: Read + Seek>(
    db: &Db,
    archive: &mut Archive<R>,
    data_dir: &Path,
) -> Result<Restored, StoreError> {
    let target = crate::migrate::latest();
    if archive.manifest.schema_version > target {
        return Err(bad(format!(
            "the backup was made by a newer Roundtable (schema version {}); this program knows version {target}: restore it with that version",
            archive.manifest.schema_version
        )));
    }
    let mut pool = db.pool();
    let current = crate::migrate::current(db).await?;
    if current > archive.manifest.schema_version {
        return Err(bad(format!(
            "the database is at schema version {current}, newer than the backup's ({}): restore into a new, empty database",
            archive.manifest.schema_version
        )));
    }
    crate::migrate::run_to(db, archive.manifest.schema_version).await?;
    let names = tables(&mut pool).await?;
    for name in &names {
        if SEEDED.contains(&name.as_str()) {
            continue;
        }
        let n: i64 = pool
            .fetch_one(Sql::new(&format!(
                "SELECT CAST(COUNT(*) AS BIGINT) FROM \"{name}\""
            )))
            .await?;
        if n > 0 {
            return Err(bad(format!(
                "the database is not empty (table {name} holds {n} rows): restore only into a new, empty database"
            )));
        }
    }
    let listed: BTreeSet<&str> = archive
        .manifest
        .tables
        .iter()
        .map(|t| t.name.as_str())
        .collect();
    let present: BTreeSet<&str> = names.iter().map(String::as_str).collect();
    if listed != present {
        return Err(bad(format!(
            "the backup's tables differ from the schema of its version: {}",
            listed
                .symmetric_difference(&present)
                .copied()
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }

    let mut tx = db.begin().await?;
    let deferred = defer_foreign_keys(&mut tx).await?;
    let mut rows_total = 0;
    for entry in archive.manifest.tables.clone() {
        let cols = columns(&mut tx, &entry.name).await?;
        let names_now: Vec<&str> = cols.iter().map(|c| c.name.as_str()).collect();
        if names_now != entry.columns.iter().map(String::as_str).collect::<Vec<_>>() {
            return Err(bad(format!(
                "the columns of table {} differ from the backup's",
                entry.name
            )));
        }
        if SEEDED.contains(&entry.name.as_str()) {
            tx.execute(Sql::new(&format!("DELETE FROM \"{}\"", entry.name)))
                .await?;
        }
        let postgres = tx.is_postgres();
        let per_statement = (20_000 / cols.len().max(1)).clamp(1, 500);
        let mut reader = archive.rows(&entry.name)?;
        loop {
            let batch = reader.next_batch(per_statement)?;
            if batch.is_empty() {
                break;
            }
            if batch.iter().any(|r| r.len() != cols.len()) {
                return Err(tampered(&entry.name));
            }
            tx.execute(insert(&entry.name, &cols, batch, postgres)?)
                .await?;
        }
        let (rows, hash) = reader.finish();
        if hash != entry.sha256 || rows != entry.rows {
            return Err(tampered(&entry.name));
        }
        rows_total += rows;
    }
    restore_foreign_keys(&mut tx, &deferred).await?;
    if tx.is_postgres() {
        reset_identities(&mut tx, &names).await?;
    }
    let files = write_files(archive, data_dir)?;
    tx.commit().await?;
    crate::migrate::run(db).await?;
    Ok(Restored {
        tables: archive.manifest.tables.len(),
        rows: rows_total,
        files,
    })
}

fn insert(
    table: &str,
    cols: &[ColumnInfo],
    rows: Vec<Vec<Json>>,
    postgres: bool,
) -> Result<Sql, StoreError> {
    let list: Vec<String> = cols.iter().map(|c| format!("\"{}\"", c.name)).collect();
    let mut sql = Sql::new(&format!(
        "INSERT INTO \"{table}\" ({}) VALUES ",
        list.join(", ")
    ));
    for (r, row) in rows.into_iter().enumerate() {
        sql.push(if r == 0 { "(" } else { ", (" });
        for (i, (v, c)) in row.into_iter().zip(cols).enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            let (val, cast) = bind_value(v, c, postgres).map_err(|why| {
                bad(format!(
                    "the backup's value of {table}.{} cannot be loaded: {why}",
                    c.name
                ))
            })?;
            match cast {
                Some(ty) => sql.push("CAST(").arg(val).push(&format!(" AS {ty})")),
                None => sql.arg(val),
            };
        }
        sql.push(")");
    }
    Ok(sql)
}

/// A value in the backup's form, bound for the target column: PostgreSQL parses text into
/// its types (timestamps are parsed here, so both backends keep the same microseconds).
fn bind_value(
    v: Json,
    c: &ColumnInfo,
    postgres: bool,
) -> Result<(Val, Option<&'static str>), String> {
    if !postgres {
        return Ok((
            match v {
                Json::Null => Val::I64(None),
                Json::Bool(b) => Val::I64(Some(b as i64)),
                Json::Number(n) => Val::I64(Some(n.as_i64().ok_or("not a whole number")?)),
                Json::String(s) => Val::Text(Some(s)),
                _ => return Err("an array or object".into()),
            },
            None,
        ));
    }
    let text = |v: Json| -> Result<Option<String>, String> {
        Ok(match v {
            Json::Null => None,
            Json::Bool(b) => Some(b.to_string()),
            Json::Number(n) => Some(n.to_string()),
            Json::String(s) => Some(s),
            _ => return Err("an array or object".into()),
        })
    };
    Ok(match c.kind.as_str() {
        "bigint" | "integer" | "smallint" => match v {
            Json::Null => (Val::I64(None), None),
            Json::Number(n) => (
                Val::I64(Some(n.as_i64().ok_or("not a whole number")?)),
                None,
            ),
            _ => return Err("not a number".into()),
        },
        "timestamp with time zone" => match v {
            Json::Null => (Val::Time(None), None),
            Json::String(s) => (
                Val::Time(Some(
                    DateTime::parse_from_rfc3339(&s)
                        .map_err(|e| format!("not a timestamp ({e})"))?
                        .with_timezone(&Utc),
                )),
                None,
            ),
            _ => return Err("not a timestamp".into()),
        },
        "boolean" => (Val::Text(text(v)?), Some("BOOLEAN")),
        "date" => (Val::Text(text(v)?), Some("DATE")),
        "json" => (Val::Text(text(v)?), Some("JSON")),
        "jsonb" => (Val::Text(text(v)?), Some("JSONB")),
        _ => (Val::Text(text(v)?), None),
    })
}

/// Rows go in table by table, and a row may point at one loaded later (a merged topic at its
/// survivor): foreign keys are checked at the end of the load instead of at each row.
/// SQLite defers them for the transaction by a pragma; PostgreSQL only defers constraints
/// declared deferrable, so its foreign keys are made deferrable for the load and put back.
async fn defer_foreign_keys(tx: &mut Tx) -> Result<Vec<(String, String)>, StoreError> {
    if !tx.is_postgres() {
        tx.execute(Sql::new("PRAGMA defer_foreign_keys = ON"))
            .await?;
        return Ok(Vec::new());
    }
    let fks: Vec<FkRow> = tx
        .fetch_all(Sql::new(
            "SELECT CAST(c.conrelid::regclass AS TEXT) AS tbl, CAST(c.conname AS TEXT) AS name FROM pg_constraint c WHERE c.contype = 'f' AND NOT c.condeferrable AND c.connamespace = current_schema()::regnamespace ORDER BY 1, 2",
        ))
        .await?;
    for fk in &fks {
        tx.execute(Sql::new(&format!(
            "ALTER TABLE {} ALTER CONSTRAINT \"{}\" DEFERRABLE INITIALLY IMMEDIATE",
            fk.0, fk.1
        )))
        .await?;
    }
    tx.execute(Sql::new("SET CONSTRAINTS ALL DEFERRED")).await?;
    Ok(fks.into_iter().map(|f| (f.0, f.1)).collect())
}

async fn restore_foreign_keys(
    tx: &mut Tx,
    deferred: &[(String, String)],
) -> Result<(), StoreError> {
    if !tx.is_postgres() {
        // SQLite checks the deferred keys at commit; a broken one fails it. Checked here too,
        // to name the table.
        let broken: Vec<String> = tx
            .fetch_all(Sql::new(
                "SELECT \"table\" FROM pragma_foreign_key_check LIMIT 1",
            ))
            .await?;
        if let Some(t) = broken.first() {
            return Err(bad(format!(
                "the backup's rows of table {t} point at rows it does not hold"
            )));
        }
        return Ok(());
    }
    tx.execute(Sql::new("SET CONSTRAINTS ALL IMMEDIATE"))
        .await
        .map_err(|e| {
            bad(format!(
                "the backup's rows point at rows it does not hold: {e}"
            ))
        })?;
    for (table, name) in deferred {
        tx.execute(Sql::new(&format!(
            "ALTER TABLE {table} ALTER CONSTRAINT \"{name}\" NOT DEFERRABLE"
        )))
        .await?;
    }
    Ok(())
}

struct FkRow(String, String);
impl crate::db::FromRow for FkRow {
    fn from_row(r: &crate::db::Row<'_>) -> Result<Self, StoreError> {
        Ok(FkRow(r.get("tbl")?, r.get("name")?))
    }
}

/// PostgreSQL's identity columns continue after the highest id loaded.
async fn reset_identities(tx: &mut Tx, tables: &[String]) -> Result<(), StoreError> {
    for t in tables {
        let ids: Vec<String> = tx
            .fetch_all(Sql::with(
                "SELECT CAST(column_name AS TEXT) FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1 AND is_identity = 'YES'",
                args![t.as_str()],
            ))
            .await?;
        for col in ids {
            let _: Option<i64> = tx
                .fetch_optional(Sql::with(
                    &format!(
                        "SELECT setval(pg_get_serial_sequence($1, $2), COALESCE((SELECT MAX(\"{col}\") FROM \"{t}\"), 0) + 1, false)"
                    ),
                    args![t.as_str(), col.as_str()],
                ))
                .await?;
        }
    }
    Ok(())
}

/// Writes the archive's files under `data_dir`, each checked against its hash before it is
/// given its name. Returns how many there were.
fn write_files<R: Read + Seek>(
    archive: &mut Archive<R>,
    data_dir: &Path,
) -> Result<usize, StoreError> {
    for f in archive.manifest.files.clone() {
        let rel = Path::new(&f.path);
        let safe = rel
            .components()
            .all(|c| matches!(c, std::path::Component::Normal(_)))
            && DATA_FOLDERS
                .iter()
                .any(|d| f.path.starts_with(&format!("{d}/")));
        if !safe {
            return Err(bad(format!(
                "the backup names a file outside the upload folders: {}",
                f.path
            )));
        }
        let target = data_dir.join(rel);
        let mut entry = archive
            .zip
            .by_name(&format!("files/{}", f.path))
            .map_err(|_| missing(&f.path))?;
        if let Some(dir) = target.parent() {
            std::fs::create_dir_all(dir).map_err(io("cannot create the data directory"))?;
        }
        let part = target.with_extension("restore-part");
        let mut out = std::fs::File::create(&part).map_err(io("cannot write an uploaded file"))?;
        let mut h = Sha256::new();
        let mut buf = [0u8; 64 * 1024];
        let mut n_total = 0u64;
        loop {
            let n = entry.read(&mut buf).map_err(|_| tampered(&f.path))?;
            if n == 0 {
                break;
            }
            h.update(&buf[..n]);
            out.write_all(&buf[..n])
                .map_err(io("cannot write an uploaded file"))?;
            n_total += n as u64;
        }
        drop(out);
        if n_total != f.bytes || hex(&h.finalize()) != f.sha256 {
            let _ = std::fs::remove_file(&part);
            return Err(tampered(&f.path));
        }
        if target.exists() {
            let same = std::fs::read(&target)
                .map(|b| hex(&Sha256::digest(&b)) == f.sha256)
                .unwrap_or(false);
            let _ = std::fs::remove_file(&part);
            if !same {
                return Err(bad(format!(
                    "the data directory already holds {} with other content: restore into an empty data directory",
                    f.path
                )));
            }
            continue;
        }
        std::fs::rename(&part, &target).map_err(io("cannot write an uploaded file"))?;
    }
    Ok(archive.manifest.files.len())
}

/// The newest backups in `dir` are kept, `keep` of them; older ones (by name, which starts
/// with the time made) are removed. Returns the removed files.
pub fn prune(dir: &Path, keep: usize) -> Result<Vec<PathBuf>, StoreError> {
    let mut found: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(rd) => rd
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with("roundtable-") && n.ends_with(".backup.zip"))
            })
            .collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(bad(format!("cannot read {}: {e}", dir.display()))),
    };
    found.sort();
    let remove = found.len().saturating_sub(keep.max(1));
    let removed: Vec<PathBuf> = found.into_iter().take(remove).collect();
    for p in &removed {
        std::fs::remove_file(p).map_err(io("cannot remove an old backup"))?;
    }
    Ok(removed)
}

/// The name of a backup made at `at`: sorting names sorts by time.
pub fn file_name(at: DateTime<Utc>) -> String {
    format!("roundtable-{}.backup.zip", at.format("%Y%m%dT%H%M%S%.3fZ"))
}

/// Streams a table's rows in the backup's form, in primary-key order; returns how many.
async fn read_rows(
    snap: &mut Snapshot,
    table: &str,
    cols: &[ColumnInfo],
    mut each: impl FnMut(Vec<Json>) -> Result<(), StoreError>,
) -> Result<u64, StoreError> {
    let select = select_all(table, cols, matches!(snap, Snapshot::Postgres(_)));
    let mut n = 0;
    match snap {
        Snapshot::Sqlite(t) => {
            let mut stream = sqlx::query(AssertSqlSafe(select)).fetch(&mut **t);
            while let Some(row) = stream.try_next().await? {
                let values = (0..cols.len()).map(|i| sqlite_value(&row, i, &cols[i]));
                each(values.collect::<Result<_, _>>()?)?;
                n += 1;
            }
        }
        Snapshot::Postgres(t) => {
            let mut stream = sqlx::query(AssertSqlSafe(select)).fetch(&mut **t);
            while let Some(row) = stream.try_next().await? {
                let values = (0..cols.len()).map(|i| pg_value(&row, i, &cols[i]));
                each(values.collect::<Result<_, _>>()?)?;
                n += 1;
            }
        }
    }
    Ok(n)
}

/// Every table of a database in the backup's form, for comparing two databases (tests, and
/// `roundtable restore`'s own check): table → rows, in primary-key order.
pub async fn contents(
    db: &Db,
) -> Result<std::collections::BTreeMap<String, Vec<Vec<Json>>>, StoreError> {
    let mut snap = db.snapshot().await?;
    let names = tables(&mut snap).await?;
    let mut out = std::collections::BTreeMap::new();
    for name in names {
        let cols = columns(&mut snap, &name).await?;
        let mut rows = Vec::new();
        read_rows(&mut snap, &name, &cols, |row| {
            rows.push(row);
            Ok(())
        })
        .await?;
        out.insert(name, rows);
    }
    Ok(out)
}
