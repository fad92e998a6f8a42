//! Personal data at rest (issue 6 point 3: PIPL; 等保 2.0 asks for the national algorithms).
//! Phone numbers and addresses are stored SM4-GCM-encrypted under the deployment's data key,
//! which comes from a key file or the environment and is never in the database. Where a record
//! is found by its phone number, a keyed index (HMAC-SM3 of the number) stands beside the
//! sealed value, so lookups and uniqueness work by equality without the number in the clear.
//!
//! A sealed value is `sm4gcm:<key id>:<hex of nonce ‖ ciphertext ‖ tag>`, with the column's
//! name as associated data (a value copied into another column does not open). The keyring
//! holds the current key, which seals and indexes, and earlier ones, which still open what
//! they sealed (`rotate` re-encrypts everything under the current one). `data_key_check`
//! holds a value sealed under the current key, so a process started with a wrong or missing
//! key stops instead of serving data it cannot read.

use std::sync::{Arc, RwLock};

use aes_gcm::aead::consts::U12;
use aes_gcm::aead::{Aead, KeyInit, Payload};
use hmac::Mac;

use crate::audit::HmacSm3;
use crate::db::{Db, Exec, FromRow, Row, Sql};
use crate::{StoreError, args};

type Sm4Gcm = aes_gcm::AesGcm<sm4::Sm4, U12>;

const PREFIX: &str = "sm4gcm:";
const NONCE_LEN: usize = 12;

/// One key: its id (kept with every value it seals) and the two keys derived from its secret.
#[derive(Clone)]
struct DataKey {
    id: String,
    secret: [u8; 32],
    seal: [u8; 16],
    index: [u8; 32],
}

impl DataKey {
    fn new(id: &str, secret: [u8; 32]) -> Self {
        // Separate keys for encryption and for the index, so one never serves as the other.
        let derive = |label: &[u8]| {
            let mut mac = HmacSm3::new_from_slice(&secret).expect("HMAC takes a key of any length");
            mac.update(label);
            let out = mac.finalize().into_bytes();
            let mut k = [0u8; 32];
            k.copy_from_slice(&out[..32]);
            k
        };
        let seal_full = derive(b"roundtable data key: sm4-gcm");
        let mut seal = [0u8; 16];
        seal.copy_from_slice(&seal_full[..16]);
        DataKey {
            id: id.to_string(),
            secret,
            seal,
            index: derive(b"roundtable data key: phone index"),
        }
    }
}

impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DataKey")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// The data keys of a deployment, the current one first.
#[derive(Clone, Debug)]
pub struct Keyring {
    keys: Vec<DataKey>,
}

impl Keyring {
    /// Reads the text of a key file (or of `ROUNDTABLE_DATA_KEY`): one `id:64 hex digits` per
    /// line (or separated by `;`), the current key first; lines starting with `#` are notes.
    pub fn parse(text: &str) -> Result<Keyring, String> {
        let mut keys: Vec<DataKey> = Vec::new();
        for line in text.lines().map(str::trim) {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            for item in line.split(';').map(str::trim).filter(|s| !s.is_empty()) {
                let (id, hex_secret) = item
                    .split_once(':')
                    .ok_or_else(|| format!("a key is written id:hex, found {:?}", shorten(item)))?;
                let id = id.trim();
                if id.is_empty() || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
                    return Err(format!(
                        "key id {:?} must be letters, digits or -",
                        shorten(id)
                    ));
                }
                let bytes = hex::decode(hex_secret.trim())
                    .map_err(|_| format!("key {id}: the secret is not hexadecimal"))?;
                let secret: [u8; 32] = bytes.try_into().map_err(|_| {
                    format!("key {id}: the secret must be 32 bytes (64 hex digits)")
                })?;
                if keys.iter().any(|k| k.id == id) {
                    return Err(format!("key id {id} appears twice"));
                }
                keys.push(DataKey::new(id, secret));
            }
        }
        if keys.is_empty() {
            return Err("no key in it".into());
        }
        Ok(Keyring { keys })
    }

    /// A keyring of one new random key.
    pub fn generate() -> Keyring {
        Keyring {
            keys: vec![random_key("k1")],
        }
    }

    /// This keyring with a new random key made current; the others stay to open what they
    /// sealed (and older backups).
    pub fn rotated(&self) -> Keyring {
        let next = self
            .keys
            .iter()
            .filter_map(|k| k.id.strip_prefix('k').and_then(|n| n.parse::<u64>().ok()))
            .max()
            .unwrap_or(0)
            + 1;
        let mut keys = vec![random_key(&format!("k{next}"))];
        keys.extend(self.keys.iter().cloned());
        Keyring { keys }
    }

    /// The key file's text (`parse` reads it back).
    pub fn to_text(&self) -> String {
        let mut out = String::from(
            "# 圆桌 个人信息加密密钥（SM4-GCM）。第一行为当前密钥，其余为旧密钥（用于解密旧数据和旧备份）。\n\
             # 请与备份分开保管；丢失后加密的手机号码和地址无法恢复。\n",
        );
        for k in &self.keys {
            out.push_str(&format!("{}:{}\n", k.id, hex::encode(k.secret)));
        }
        out
    }

    pub fn current_id(&self) -> &str {
        &self.keys[0].id
    }

    pub fn ids(&self) -> Vec<String> {
        self.keys.iter().map(|k| k.id.clone()).collect()
    }

    fn current(&self) -> &DataKey {
        &self.keys[0]
    }

    fn find(&self, id: &str) -> Option<&DataKey> {
        self.keys.iter().find(|k| k.id == id)
    }

    /// `plain` sealed under the current key, bound to `column`.
    pub fn seal(&self, column: &str, plain: &str) -> String {
        let key = self.current();
        let cipher = Sm4Gcm::new_from_slice(&key.seal).expect("SM4 takes a 16-byte key");
        let mut nonce = [0u8; NONCE_LEN];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut nonce);
        let sealed = cipher
            .encrypt(
                (&nonce).into(),
                Payload {
                    msg: plain.as_bytes(),
                    aad: column.as_bytes(),
                },
            )
            .expect("SM4-GCM encrypts any short message");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        format!("{PREFIX}{}:{}", key.id, hex::encode(out))
    }

    /// What `seal` sealed for `column`; a value without the prefix (written before sealing
    /// began, not yet sealed by `seal_plaintext`) is returned as it is.
    pub fn open(&self, column: &str, stored: &str) -> Result<String, StoreError> {
        let Some(rest) = stored.strip_prefix(PREFIX) else {
            return Ok(stored.to_string());
        };
        let (id, body) = rest
            .split_once(':')
            .ok_or_else(|| undecryptable(column, "the value is damaged"))?;
        let key = self.find(id).ok_or_else(|| {
            undecryptable(
                column,
                &format!("it was sealed with key {id}, which the keyring does not hold"),
            )
        })?;
        let bytes = hex::decode(body).map_err(|_| undecryptable(column, "the value is damaged"))?;
        if bytes.len() < NONCE_LEN + 16 {
            return Err(undecryptable(column, "the value is damaged"));
        }
        let (nonce, sealed) = bytes.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().expect("split at the nonce length");
        let cipher = Sm4Gcm::new_from_slice(&key.seal).expect("SM4 takes a 16-byte key");
        let plain = cipher
            .decrypt(
                (&nonce).into(),
                Payload {
                    msg: sealed,
                    aad: column.as_bytes(),
                },
            )
            .map_err(|_| {
                undecryptable(
                    column,
                    &format!("key {id} does not open it (another key with that id, or the value was altered)"),
                )
            })?;
        String::from_utf8(plain).map_err(|_| undecryptable(column, "the value is damaged"))
    }

    /// The keyed index of `plain` under the current key (HMAC-SM3, hex).
    pub fn index(&self, plain: &str) -> String {
        let mut mac =
            HmacSm3::new_from_slice(&self.current().index).expect("HMAC takes a key of any length");
        mac.update(plain.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }
}

fn random_key(id: &str) -> DataKey {
    let mut secret = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut secret);
    DataKey::new(id, secret)
}

fn shorten(s: &str) -> String {
    s.chars().take(12).collect()
}

fn undecryptable(column: &str, why: &str) -> StoreError {
    StoreError::Config(format!("{column} cannot be decrypted: {why}"))
}

static KEYRING: RwLock<Option<Arc<Keyring>>> = RwLock::new(None);

/// The keyring of the process, set at start-up (a test process sets the tests' through
/// `testing`).
pub fn set_keyring(keyring: Keyring) {
    if let Ok(mut k) = KEYRING.write() {
        *k = Some(Arc::new(keyring));
    }
}

pub fn keyring() -> Result<Arc<Keyring>, StoreError> {
    KEYRING
        .read()
        .ok()
        .and_then(|k| k.clone())
        .ok_or_else(|| StoreError::Config("the data key is not set (data_key_file)".into()))
}

/// `plain` sealed for `column` under the process's current key.
pub fn seal(column: &str, plain: Option<&str>) -> Result<Option<String>, StoreError> {
    match plain {
        Some(p) => Ok(Some(keyring()?.seal(column, p))),
        None => Ok(None),
    }
}

/// The stored value of `column` opened.
pub fn open(column: &str, stored: Option<String>) -> Result<Option<String>, StoreError> {
    match stored {
        Some(s) => Ok(Some(keyring()?.open(column, &s)?)),
        None => Ok(None),
    }
}

/// The keyed index of a phone number (the lookups' `*_idx` columns).
pub fn index(plain: Option<&str>) -> Result<Option<String>, StoreError> {
    match plain {
        Some(p) => Ok(Some(keyring()?.index(p))),
        None => Ok(None),
    }
}

/// A sealed column: its table, the table's key column, the column, and its index column
/// when records are looked up by it.
pub struct SealedColumn {
    pub table: &'static str,
    pub key: &'static str,
    pub column: &'static str,
    pub index: Option<&'static str>,
}

impl SealedColumn {
    /// The associated data of its values.
    pub fn label(&self) -> String {
        format!("{}.{}", self.table, self.column)
    }
}

/// Every column holding a phone number or an address, and the accounts' second-factor secrets.
pub const SEALED: &[SealedColumn] = &[
    SealedColumn {
        table: "people",
        key: "id",
        column: "phone",
        index: Some("phone_idx"),
    },
    SealedColumn {
        table: "units",
        key: "id",
        column: "contact_phone",
        index: Some("contact_phone_idx"),
    },
    SealedColumn {
        table: "topics",
        key: "id",
        column: "submitter_phone",
        index: Some("submitter_phone_idx"),
    },
    SealedColumn {
        table: "topics",
        key: "id",
        column: "location",
        index: None,
    },
    SealedColumn {
        table: "objections",
        key: "id",
        column: "submitter_phone",
        index: Some("submitter_phone_idx"),
    },
    SealedColumn {
        table: "wishes",
        key: "id",
        column: "household_phone",
        index: Some("household_phone_idx"),
    },
    SealedColumn {
        table: "questionnaire_responses",
        key: "id",
        column: "phone",
        index: Some("phone_idx"),
    },
    SealedColumn {
        table: "notification_prefs",
        key: "user_id",
        column: "mobile",
        index: None,
    },
    SealedColumn {
        table: "users",
        key: "id",
        column: "totp_secret",
        index: None,
    },
    SealedColumn {
        table: "users",
        key: "id",
        column: "totp_pending",
        index: None,
    },
    // Not personal data, but a secret the server must read back (signing deliveries).
    SealedColumn {
        table: "exchange_targets",
        key: "id",
        column: "secret",
        index: None,
    },
];

struct Stored {
    key: i64,
    value: String,
}

impl FromRow for Stored {
    fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
        Ok(Stored {
            key: r.get("k")?,
            value: r.get("v")?,
        })
    }
}

/// Seals (and indexes) under `keyring`'s current key every value of the sealed columns that
/// `only_stale` selects: those not sealed under it — written before sealing began, or by a
/// process still on the previous key while `rotate` ran (`true`) — or all of them (`false`, a
/// rotation). Returns how many values were written.
async fn reseal(e: &mut impl Exec, keyring: &Keyring, only_stale: bool) -> Result<u64, StoreError> {
    let mut written = 0;
    for c in SEALED {
        // Key ids are letters, digits and '-' (`parse`): nothing LIKE reads as a wildcard.
        let filter = if only_stale {
            format!(
                " AND {} NOT LIKE '{PREFIX}{}:%'",
                c.column,
                keyring.current_id()
            )
        } else {
            String::new()
        };
        let rows: Vec<Stored> = e
            .fetch_all(Sql::new(&format!(
                "SELECT {key} AS k, {col} AS v FROM {table} WHERE {col} IS NOT NULL{filter} ORDER BY {key}",
                key = c.key,
                col = c.column,
                table = c.table
            )))
            .await?;
        let label = c.label();
        for row in rows {
            let plain = keyring.open(&label, &row.value)?;
            let sealed = keyring.seal(&label, &plain);
            let sql = match c.index {
                Some(idx) => Sql::with(
                    &format!(
                        "UPDATE {} SET {} = $1, {idx} = $2 WHERE {} = $3",
                        c.table, c.column, c.key
                    ),
                    args![sealed, keyring.index(&plain), row.key],
                ),
                None => Sql::with(
                    &format!(
                        "UPDATE {} SET {} = $1 WHERE {} = $2",
                        c.table, c.column, c.key
                    ),
                    args![sealed, row.key],
                ),
            };
            written += e.execute(sql).await?;
        }
    }
    Ok(written)
}

const CHECK_LABEL: &str = "data_key_check";
const CHECK_TEXT: &str = "圆桌 data key check";

/// What the database says of a keyring.
#[derive(Debug, PartialEq, Eq)]
pub enum KeyCheck {
    /// Nothing was sealed yet under any key (a new database).
    Unused,
    /// The keyring opens the check value.
    Matches,
    /// It does not: the reason, naming the key the data was sealed with.
    Mismatch(String),
}

/// The key id the database's data is sealed with, if any.
pub async fn sealed_with(e: &mut impl Exec) -> Result<Option<String>, StoreError> {
    e.fetch_optional(Sql::new("SELECT key_id FROM data_key_check WHERE id = 1"))
        .await
}

pub async fn check(e: &mut impl Exec, keyring: &Keyring) -> Result<KeyCheck, StoreError> {
    let stored: Option<String> = e
        .fetch_optional(Sql::new("SELECT sealed FROM data_key_check WHERE id = 1"))
        .await?;
    let Some(stored) = stored else {
        return Ok(KeyCheck::Unused);
    };
    Ok(match keyring.open(CHECK_LABEL, &stored) {
        Ok(text) if text == CHECK_TEXT => KeyCheck::Matches,
        Ok(_) => KeyCheck::Mismatch("the check value does not read as expected".into()),
        Err(StoreError::Config(why)) => KeyCheck::Mismatch(why),
        Err(other) => return Err(other),
    })
}

async fn write_check(e: &mut impl Exec, keyring: &Keyring) -> Result<(), StoreError> {
    e.execute(Sql::new("DELETE FROM data_key_check")).await?;
    e.execute(Sql::with(
        "INSERT INTO data_key_check (id, key_id, sealed, updated_at) VALUES (1, $1, $2, $3)",
        args![
            keyring.current_id(),
            keyring.seal(CHECK_LABEL, CHECK_TEXT),
            crate::now()
        ],
    ))
    .await?;
    Ok(())
}

/// At start-up, once the keyring matched (or the database is new): values not sealed under the
/// current key are sealed and indexed anew, and the check value is written if there is none.
pub async fn prepare(db: &Db, keyring: &Keyring) -> Result<u64, StoreError> {
    let mut tx = db.begin().await?;
    let sealed = reseal(&mut tx, keyring, true).await?;
    if check(&mut tx, keyring).await? == KeyCheck::Unused {
        write_check(&mut tx, keyring).await?;
    }
    tx.commit().await?;
    Ok(sealed)
}

/// Re-encrypts every sealed value and recomputes every index under `keyring`'s current key
/// (which must hold the keys the data is sealed with), in one transaction; the check value
/// follows. Returns how many values were written.
pub async fn rotate(db: &Db, keyring: &Keyring) -> Result<u64, StoreError> {
    let mut tx = db.begin().await?;
    let written = reseal(&mut tx, keyring, false).await?;
    write_check(&mut tx, keyring).await?;
    tx.commit().await?;
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring() -> Keyring {
        Keyring::parse(&format!("k1:{}", "ab".repeat(32))).unwrap()
    }

    #[test]
    fn sealed_values_open_with_their_column_only() {
        let k = ring();
        let s = k.seal("people.phone", "13812341234");
        assert!(s.starts_with("sm4gcm:k1:"), "{s}");
        assert!(!s.contains("13812341234"));
        assert_eq!(k.open("people.phone", &s).unwrap(), "13812341234");
        // Each sealing draws a new nonce: equal numbers do not look equal at rest.
        assert_ne!(s, k.seal("people.phone", "13812341234"));
        assert!(k.open("units.contact_phone", &s).is_err());
        // One altered digit of the ciphertext is found by the tag.
        let mut altered = s.clone().into_bytes();
        let last = altered.len() - 1;
        altered[last] = if altered[last] == b'0' { b'1' } else { b'0' };
        assert!(
            k.open("people.phone", &String::from_utf8(altered).unwrap())
                .is_err()
        );
        // A value written before sealing began reads as it is.
        assert_eq!(
            k.open("people.phone", "13812341234").unwrap(),
            "13812341234"
        );
    }

    #[test]
    fn another_key_does_not_open_and_a_rotated_ring_still_does() {
        let k = ring();
        let s = k.seal("topics.location", "青山湖路 1 号");
        let other = Keyring::parse(&format!("k1:{}", "cd".repeat(32))).unwrap();
        assert!(other.open("topics.location", &s).is_err());
        let rotated = k.rotated();
        assert_eq!(rotated.current_id(), "k2");
        assert_eq!(
            rotated.open("topics.location", &s).unwrap(),
            "青山湖路 1 号"
        );
        assert!(
            rotated
                .seal("topics.location", "x")
                .starts_with("sm4gcm:k2:")
        );
        // The index is keyed: it changes with the key and is equal for equal numbers.
        assert_eq!(k.index("13812341234"), k.index("13812341234"));
        assert_ne!(k.index("13812341234"), rotated.index("13812341234"));
        assert_ne!(k.index("13812341234"), other.index("13812341234"));
        let back = Keyring::parse(&rotated.to_text()).unwrap();
        assert_eq!(back.ids(), vec!["k2".to_string(), "k1".to_string()]);
        assert_eq!(back.open("topics.location", &s).unwrap(), "青山湖路 1 号");
    }

    #[test]
    fn bad_key_files_are_named() {
        assert!(Keyring::parse("").unwrap_err().contains("no key"));
        assert!(Keyring::parse("k1:zz").unwrap_err().contains("hexadecimal"));
        assert!(Keyring::parse("k1:abcd").unwrap_err().contains("32 bytes"));
        assert!(Keyring::parse("nocolon").unwrap_err().contains("id:hex"));
        let dup = format!("k1:{0}\nk1:{0}", "ab".repeat(32));
        assert!(Keyring::parse(&dup).unwrap_err().contains("twice"));
        let env = format!("k2:{};k1:{}", "ab".repeat(32), "cd".repeat(32));
        assert_eq!(Keyring::parse(&env).unwrap().current_id(), "k2");
    }
}
