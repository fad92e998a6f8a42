//! Excel in and out (issue 2 §8). One workbook layout serves the templates, the imports and the
//! exports: the sheets 组织, 单位, 人员 and 关联, each with Chinese column headers, plus a 说明
//! sheet that an import skips.
//!
//! An import reads every row of every sheet inside one transaction through the same service
//! functions as the forms (same validation, same permission check, same audit records), and
//! commits only when no cell is wrong; otherwise it rolls back and reports each bad cell by
//! sheet, row and column. Rows are matched to stored records by natural keys — organisation
//! code, unit name, person phone (or name within their node), link kind + subject + node +
//! start date — so importing the same file again changes nothing.

use std::collections::HashMap;
use std::io::Cursor;

use calamine::{Data, DataType, Reader, open_workbook_auto_from_rs};
use roundtable_core::access::{Action, Actor, ResourceKind, permit, permit_somewhere, scope};
use roundtable_core::links::{GroupRole, LinkKind};
use roundtable_core::org::{OrgKind, UnitType};
use roundtable_core::people::{DeputyType, PersonKind};
use roundtable_core::privacy::mask_phone;
use roundtable_store::links::LinkFilter;
use roundtable_store::orgs::Org;
use roundtable_store::people::Person;
use roundtable_store::{Db, Tx, audit, links, orgs, people, units};
use rust_xlsxwriter::{Color, DataValidation, Format, FormatBorder, Workbook, Worksheet};

use super::links::LinkInput;
use super::orgs::OrgInput;
use super::people::PersonInput;
use super::units::UnitInput;

mod topics;
use super::{Change, actor_id, json};
use crate::error::AppError;

/// The importable sheets, in the order an import applies them (parents before what refers to
/// them).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    serde::Serialize,
    serde::Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Sheet {
    Orgs,
    Units,
    People,
    Links,
    Topics,
}

/// The sheet of explanations in templates and exports; imports skip it.
const NOTES_SHEET: &str = "说明";
/// Rows per sheet an import accepts (the demo district has about 5,500 people).
const MAX_ROWS: usize = 20_000;
/// Bad cells listed in one report; the total is always given.
const MAX_REPORTED: usize = 500;

impl Sheet {
    pub const ALL: [Sheet; 5] = [
        Sheet::Orgs,
        Sheet::Units,
        Sheet::People,
        Sheet::Links,
        Sheet::Topics,
    ];

    /// The sheet name in a workbook.
    pub fn name(self) -> &'static str {
        match self {
            Sheet::Orgs => "组织",
            Sheet::Units => "单位",
            Sheet::People => "人员",
            Sheet::Links => "关联",
            Sheet::Topics => "议题",
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Sheet::Orgs => "orgs",
            Sheet::Units => "units",
            Sheet::People => "people",
            Sheet::Links => "links",
            Sheet::Topics => "topics",
        }
    }

    /// Accepts the code (`people`) or the sheet name (`人员`).
    pub fn parse(s: &str) -> Option<Sheet> {
        let s = s.trim();
        Sheet::ALL
            .into_iter()
            .find(|k| k.code() == s || k.name() == s)
    }

    fn resource(self) -> ResourceKind {
        match self {
            Sheet::Orgs => ResourceKind::Org,
            Sheet::Units => ResourceKind::Unit,
            Sheet::People => ResourceKind::Person,
            Sheet::Links => ResourceKind::Link,
            Sheet::Topics => ResourceKind::Topic,
        }
    }

    fn columns(self) -> &'static [Column] {
        match self {
            Sheet::Orgs => ORG_COLUMNS,
            Sheet::Units => UNIT_COLUMNS,
            Sheet::People => PERSON_COLUMNS,
            Sheet::Links => LINK_COLUMNS,
            Sheet::Topics => topics::COLUMNS,
        }
    }

    fn column(self, field: &str) -> Option<&'static Column> {
        self.columns().iter().find(|c| c.field == field)
    }
}

/// One column of a sheet: the field it fills, its header, and what the template says about it.
struct Column {
    field: &'static str,
    header: &'static str,
    required: bool,
    width: f64,
    hint: &'static str,
    /// The allowed values (Chinese names), offered as a drop-down in templates.
    choices: Option<fn() -> Vec<&'static str>>,
}

const fn col(
    field: &'static str,
    header: &'static str,
    required: bool,
    width: f64,
    hint: &'static str,
) -> Column {
    Column {
        field,
        header,
        required,
        width,
        hint,
        choices: None,
    }
}

const fn pick(
    field: &'static str,
    header: &'static str,
    required: bool,
    choices: fn() -> Vec<&'static str>,
    hint: &'static str,
) -> Column {
    Column {
        field,
        header,
        required,
        width: 16.0,
        hint,
        choices: Some(choices),
    }
}

fn org_kinds() -> Vec<&'static str> {
    OrgKind::ALL.iter().map(|k| k.label()).collect()
}
fn unit_types() -> Vec<&'static str> {
    UnitType::ALL.iter().map(|k| k.label()).collect()
}
fn deputy_types() -> Vec<&'static str> {
    DeputyType::ALL.iter().map(|k| k.label()).collect()
}
fn link_kinds() -> Vec<&'static str> {
    LinkKind::ALL.iter().map(|k| k.label()).collect()
}
fn group_roles() -> Vec<&'static str> {
    GroupRole::ALL.iter().map(|k| k.label()).collect()
}

const ORG_COLUMNS: &[Column] = &[
    col("code", "编码", true, 14.0, "唯一，建议用行政区划代码"),
    col("name", "名称", true, 18.0, "如：滕王阁街道、孺子亭社区"),
    pick("kind", "类型", true, org_kinds, "区、街道、镇、社区或村"),
    col(
        "parent_code",
        "上级编码",
        false,
        14.0,
        "区不填；街道/镇填区的编码；社区/村填所属街道/镇的编码",
    ),
    col("sort_order", "排序", false, 8.0, "整数，越小越靠前"),
];

const UNIT_COLUMNS: &[Column] = &[
    col("name", "单位名称", true, 24.0, "全区唯一"),
    pick("unit_type", "单位类型", true, unit_types, "见下拉列表"),
    col(
        "org_code",
        "所在组织编码",
        true,
        14.0,
        "单位所在或服务的街道/社区的编码",
    ),
    col("contact_name", "联系人", false, 10.0, ""),
    col("contact_phone", "联系电话", false, 14.0, "11位手机号码"),
    col("note", "备注", false, 24.0, ""),
];

const PERSON_COLUMNS: &[Column] = &[
    col("name", "姓名", true, 10.0, ""),
    col(
        "phone",
        "手机号码",
        false,
        14.0,
        "11位；用于识别同一人，建议填写",
    ),
    col(
        "org_code",
        "所属组织编码",
        true,
        14.0,
        "在职党员填报到的社区/村的编码",
    ),
    col(
        "unit_name",
        "所在单位",
        false,
        24.0,
        "须是「单位」表或系统中已有的单位名称",
    ),
    col("title", "职务", false, 14.0, ""),
    col(
        "kinds",
        "人员类别",
        true,
        24.0,
        "可填多个，用顿号分隔，如：在职党员、楼栋长",
    ),
    pick(
        "deputy_type",
        "代表类别",
        false,
        deputy_types,
        "两代表一委员须填：人大代表、党代表或政协委员",
    ),
    col("note", "备注", false, 24.0, ""),
];

const LINK_COLUMNS: &[Column] = &[
    pick("kind", "关联类型", true, link_kinds, "见下拉列表"),
    col("person_name", "人员姓名", false, 10.0, "人员关联必填"),
    col(
        "person_phone",
        "人员手机号码",
        false,
        14.0,
        "与姓名一起确定人员；不填时须填人员所属组织编码",
    ),
    col(
        "person_org_code",
        "人员所属组织编码",
        false,
        14.0,
        "人员在「人员」表中的所属组织编码",
    ),
    col("unit_name", "单位名称", false, 24.0, "挂点帮扶、共建必填"),
    col(
        "org_code",
        "关联组织编码",
        true,
        14.0,
        "挂点或所属的街道/社区的编码",
    ),
    pick(
        "group_role",
        "小组职务",
        false,
        group_roles,
        "专项领导小组必填：组长、副组长或成员",
    ),
    col("start_date", "开始日期", true, 12.0, "如 2026-03-01"),
    col("end_date", "结束日期", false, 12.0, "仍有效的不填"),
    col("note", "备注", false, 24.0, ""),
];

/// Where a service's field error is shown: its own column, or the column the id came from.
fn error_column(sheet: Sheet, key: &str) -> &'static str {
    let field = match key {
        "parent_id" => "parent_code",
        "org_id" => "org_code",
        "unit_id" => "unit_name",
        "person_id" => "person_name",
        "collector_person_id" => "collector_phone",
        k => k,
    };
    sheet
        .column(field)
        .map(|c| c.field)
        .unwrap_or(sheet.columns()[0].field)
}

/// A bad cell (or a bad sheet, when `row` is the header row and `column` names the problem).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct CellError {
    /// Sheet name, e.g. 人员
    pub sheet: String,
    /// Row number as Excel shows it (1 = the header row)
    pub row: u32,
    /// Column header, e.g. 手机号码
    pub column: String,
    /// Cell reference, e.g. B7 (empty when the column is missing from the sheet)
    pub cell: String,
    pub message: String,
}

#[derive(Debug, Clone, Default, serde::Serialize, utoipa::ToSchema)]
pub struct SheetCount {
    pub sheet: String,
    pub created: u32,
    pub updated: u32,
    pub unchanged: u32,
}

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct ImportReport {
    /// Only checked, nothing written.
    pub dry_run: bool,
    /// Every row was written (false when any cell was bad or on a dry run).
    pub applied: bool,
    pub counts: Vec<SheetCount>,
    /// Number of bad cells in the file.
    pub error_total: usize,
    /// The bad cells (at most 500), in sheet and row order.
    pub errors: Vec<CellError>,
}

/// One data row of a sheet: the text of each cell, keyed by field, with its cell reference.
#[derive(Debug, Clone)]
struct Row {
    sheet: Sheet,
    number: u32,
    cells: HashMap<&'static str, (String, String)>,
}

impl Row {
    fn get(&self, field: &str) -> &str {
        self.cells.get(field).map(|c| c.0.as_str()).unwrap_or("")
    }
    fn opt(&self, field: &str) -> Option<String> {
        Some(self.get(field).to_string()).filter(|s| !s.is_empty())
    }
    /// Whether the sheet has the column at all (a missing optional column keeps stored values).
    fn has(&self, field: &str) -> bool {
        self.cells.contains_key(field)
    }
    fn error(&self, field: &str, message: impl Into<String>) -> CellError {
        let column = self.sheet.column(field).unwrap_or(&self.sheet.columns()[0]);
        CellError {
            sheet: self.sheet.name().into(),
            row: self.number,
            column: column.header.into(),
            cell: self
                .cells
                .get(column.field)
                .map(|c| c.1.clone())
                .unwrap_or_default(),
            message: message.into(),
        }
    }
}

/// Excel's column letters: 0 → A, 25 → Z, 26 → AA.
fn column_letters(mut index: u32) -> String {
    let mut s = Vec::new();
    loop {
        s.push(b'A' + (index % 26) as u8);
        if index < 26 {
            break;
        }
        index = index / 26 - 1;
    }
    s.reverse();
    String::from_utf8(s).unwrap_or_default()
}

/// The text of a cell as a person would read it: whole numbers without ".0" (phone numbers and
/// codes are often stored as numbers), dates as YYYY-MM-DD.
fn cell_text(d: &Data) -> Result<String, String> {
    Ok(match d {
        Data::Empty => String::new(),
        Data::String(s) => s.trim().to_string(),
        Data::Int(i) => i.to_string(),
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        Data::Float(f) => f.to_string(),
        Data::Bool(b) => if *b { "是" } else { "否" }.to_string(),
        Data::DateTime(_) | Data::DateTimeIso(_) => match d.as_date() {
            Some(day) => day.format("%Y-%m-%d").to_string(),
            None => return Err("无法识别的日期".into()),
        },
        Data::DurationIso(s) => s.clone(),
        Data::Error(e) => return Err(format!("单元格是错误值（{e}），请改为正确的内容")),
    })
}

/// A header as typed: the template marks required columns with `*`.
fn header_key(s: &str) -> String {
    s.trim().trim_end_matches(['*', '＊']).trim().to_string()
}

/// What a workbook may hold once unpacked (an .xlsx is a zip; a small file can unpack to
/// gigabytes).
const MAX_UNPACKED: u64 = 200 * 1024 * 1024;

/// The declared unpacked size of a zip, if it is one.
fn unpacked_size(bytes: &[u8]) -> Option<u64> {
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).ok()?;
    let mut total = 0u64;
    for i in 0..zip.len() {
        total = total.saturating_add(zip.by_index_raw(i).ok()?.size());
    }
    Some(total)
}

/// Reads the workbook into rows; a file that is not a workbook is a field error on `file`,
/// everything else about its layout is a cell error.
fn read_workbook(bytes: &[u8]) -> Result<(Vec<Row>, Vec<CellError>), AppError> {
    let not_excel = || {
        AppError::field(
            "file",
            "文件不是有效的 Excel 工作簿（.xlsx），请使用从本系统下载的模板",
        )
    };
    if unpacked_size(bytes).is_some_and(|n| n > MAX_UNPACKED) {
        return Err(AppError::field(
            "file",
            "文件解压后超过 200 MB，请分成几个文件导入",
        ));
    }
    let mut book = open_workbook_auto_from_rs(Cursor::new(bytes)).map_err(|_| not_excel())?;
    let mut rows = Vec::new();
    let mut errors = Vec::new();
    let mut known = 0;
    for name in book.sheet_names() {
        let sheet_error = |row: u32, column: &str, cell: String, message: String| CellError {
            sheet: name.clone(),
            row,
            column: column.into(),
            cell,
            message,
        };
        if name.trim() == NOTES_SHEET {
            continue;
        }
        let Some(sheet) = Sheet::parse(&name) else {
            errors.push(sheet_error(
                1,
                "",
                String::new(),
                format!(
                    "无法识别的工作表「{name}」：工作表名称应为 组织、单位、人员、关联、议题 或 说明"
                ),
            ));
            continue;
        };
        known += 1;
        let range = book.worksheet_range(&name).map_err(|_| not_excel())?;
        let Some((row0, col0)) = range.start() else {
            continue;
        };
        let mut lines = range.rows().enumerate().filter(|(_, cells)| {
            cells.iter().any(|c| {
                !matches!(c, Data::Empty) && !matches!(c, Data::String(s) if s.trim().is_empty())
            })
        });
        let Some((header_at, header)) = lines.next() else {
            continue;
        };
        let header_row = row0 + header_at as u32 + 1;
        let mut fields: Vec<Option<(&'static str, u32)>> = Vec::new();
        let mut seen: HashMap<&'static str, u32> = HashMap::new();
        for (j, cell) in header.iter().enumerate() {
            let text = cell_text(cell).unwrap_or_default();
            let key = header_key(&text);
            let at = col0 + j as u32;
            if key.is_empty() {
                fields.push(None);
                continue;
            }
            match sheet.columns().iter().find(|c| c.header == key) {
                Some(c) if seen.contains_key(c.field) => {
                    errors.push(sheet_error(
                        header_row,
                        c.header,
                        format!("{}{header_row}", column_letters(at)),
                        format!("列「{}」出现了两次", c.header),
                    ));
                    fields.push(None);
                }
                Some(c) => {
                    seen.insert(c.field, at);
                    fields.push(Some((c.field, at)));
                }
                None => {
                    errors.push(sheet_error(
                        header_row,
                        &key,
                        format!("{}{header_row}", column_letters(at)),
                        format!(
                            "无法识别的列「{key}」：本表的列为 {}",
                            sheet
                                .columns()
                                .iter()
                                .map(|c| c.header)
                                .collect::<Vec<_>>()
                                .join("、")
                        ),
                    ));
                    fields.push(None);
                }
            }
        }
        let mut layout_ok = true;
        for c in sheet.columns().iter().filter(|c| c.required) {
            if !seen.contains_key(c.field) {
                layout_ok = false;
                errors.push(sheet_error(
                    header_row,
                    c.header,
                    String::new(),
                    format!("缺少必填列「{}」（表头应在第一行）", c.header),
                ));
            }
        }
        if !layout_ok || errors.iter().any(|e| e.sheet == name) {
            continue;
        }
        let mut count = 0;
        for (i, cells) in lines {
            count += 1;
            if count > MAX_ROWS {
                errors.push(sheet_error(
                    header_row,
                    "",
                    String::new(),
                    format!("每张工作表最多导入 {MAX_ROWS} 行，请分批导入"),
                ));
                break;
            }
            let number = row0 + i as u32 + 1;
            let mut row = Row {
                sheet,
                number,
                cells: HashMap::new(),
            };
            for (field, at) in fields.iter().flatten() {
                let cell_ref = format!("{}{number}", column_letters(*at));
                let d = cells.get((*at - col0) as usize).unwrap_or(&Data::Empty);
                match cell_text(d) {
                    Ok(text) => {
                        row.cells.insert(*field, (text, cell_ref));
                    }
                    Err(message) => {
                        row.cells.insert(*field, (String::new(), cell_ref));
                        errors.push(row.error(field, message));
                    }
                }
            }
            rows.push(row);
        }
    }
    if known == 0 && errors.is_empty() {
        return Err(AppError::field(
            "file",
            "工作簿中没有可导入的工作表：工作表名称应为 组织、单位、人员、关联 或 议题",
        ));
    }
    Ok((rows, errors))
}

/// The order rows are applied in: by sheet, and within 组织 higher levels first, so a street
/// listed below its communities still exists when they are read.
fn apply_order(rows: &mut [Row]) {
    rows.sort_by_key(|r| {
        let level = match r.sheet {
            Sheet::Orgs => OrgKind::parse(r.get("kind")).map_or(9, |k| k.level() as u8),
            _ => 0,
        };
        (r.sheet, level, r.number)
    });
}

/// Splits a list typed in one cell: 在职党员、楼栋长 (also commas, semicolons, spaces; not `/`,
/// which is part of 街道/镇领导).
fn split_list(s: &str) -> Vec<String> {
    s.split(['、', ',', '，', ';', '；', ' ', '\n'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// Applies rows inside one transaction, collecting every bad cell.
struct Importer<'a> {
    tx: Tx,
    actor: &'a Actor,
    errors: Vec<CellError>,
    /// Natural key → the row that first used it, per sheet (a key twice in a file is an error).
    seen: HashMap<(Sheet, String), u32>,
}

impl Importer<'_> {
    fn reject(&mut self, row: &Row, field: &str, message: impl Into<String>) {
        self.errors.push(row.error(field, message));
    }

    /// A key used by an earlier row of the same sheet is reported on this row.
    fn first_use(&mut self, row: &Row, key: String, field: &str, what: &str) -> bool {
        match self.seen.get(&(row.sheet, key.clone())) {
            Some(first) => {
                let msg = format!("与第 {first} 行的{what}相同，同一文件中不能重复");
                self.reject(row, field, msg);
                false
            }
            None => {
                self.seen.insert((row.sheet, key), row.number);
                true
            }
        }
    }

    /// Turns a service's answer into a count or cell errors; only storage failures stop the
    /// import.
    fn absorb<T>(
        &mut self,
        row: &Row,
        result: Result<(T, Change), AppError>,
    ) -> Result<Option<Change>, AppError> {
        match result {
            Ok((_, change)) => Ok(Some(change)),
            Err(AppError::Validation(fields)) => {
                for (key, message) in &fields.0 {
                    let column = error_column(row.sheet, key);
                    self.reject(row, column, message.clone());
                }
                Ok(None)
            }
            Err(AppError::Forbidden) => {
                self.reject(
                    row,
                    row.sheet.columns()[0].field,
                    "无权在该组织下导入或修改此记录",
                );
                Ok(None)
            }
            Err(e @ (AppError::BadRequest(_) | AppError::NotFound)) => {
                self.reject(row, row.sheet.columns()[0].field, e.to_string());
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    fn may_import(&mut self, row: &Row, path: &str) -> bool {
        if permit(self.actor, Action::Import, row.sheet.resource(), path, None) {
            true
        } else {
            self.reject(row, row.sheet.columns()[0].field, "无权导入到该组织");
            false
        }
    }

    /// The node named by the code in `field`; reports a missing or unknown code.
    async fn org_ref(
        &mut self,
        row: &Row,
        field: &str,
        required: bool,
    ) -> Result<Option<Org>, AppError> {
        let header = row.sheet.column(field).map_or("", |c| c.header);
        let Some(code) = row.opt(field) else {
            if required {
                self.reject(row, field, format!("请填写{header}"));
            }
            return Ok(None);
        };
        let found = orgs::by_code(&mut self.tx, &code).await?;
        if found.is_none() {
            self.reject(
                row,
                field,
                format!("{header}「{code}」不存在（须是「组织」表或系统中已有的编码）"),
            );
        }
        Ok(found)
    }

    async fn unit_ref(&mut self, row: &Row, field: &str) -> Result<Option<i64>, AppError> {
        let Some(name) = row.opt(field) else {
            return Ok(None);
        };
        match units::by_name(&mut self.tx, &name).await? {
            Some(u) => Ok(Some(u.id)),
            None => {
                self.reject(
                    row,
                    field,
                    format!("单位「{name}」不存在（须是「单位」表或系统中已有的单位名称）"),
                );
                Ok(None)
            }
        }
    }

    async fn row(&mut self, row: &Row) -> Result<Option<Change>, AppError> {
        match row.sheet {
            Sheet::Orgs => self.org_row(row).await,
            Sheet::Units => self.unit_row(row).await,
            Sheet::People => self.person_row(row).await,
            Sheet::Links => self.link_row(row).await,
            Sheet::Topics => self.topic_row(row).await,
        }
    }

    async fn org_row(&mut self, row: &Row) -> Result<Option<Change>, AppError> {
        let code = row.get("code").to_string();
        if !code.is_empty() && !self.first_use(row, code.clone(), "code", "编码") {
            return Ok(None);
        }
        let parent = self.org_ref(row, "parent_code", false).await?;
        if row.opt("parent_code").is_some() && parent.is_none() {
            return Ok(None);
        }
        let sort_order = match row.opt("sort_order") {
            None => None,
            Some(s) => match s.parse::<i64>() {
                Ok(n) => Some(n),
                Err(_) => {
                    self.reject(row, "sort_order", "排序须为整数");
                    return Ok(None);
                }
            },
        };
        let existing = match code.is_empty() {
            true => None,
            false => orgs::by_code(&mut self.tx, &code).await?,
        };
        let mut input = OrgInput {
            parent_id: parent.as_ref().map(|p| p.id),
            kind: row.get("kind").into(),
            name: row.get("name").into(),
            code,
            sort_order,
        };
        match existing {
            Some(o) => {
                if let Some(p) = &parent
                    && o.parent_id != Some(p.id)
                {
                    self.reject(
                        row,
                        "parent_code",
                        format!("「{}」已登记在其他上级之下，导入不移动组织", o.name),
                    );
                    return Ok(None);
                }
                if !self.may_import(row, &o.path) {
                    return Ok(None);
                }
                input.sort_order = input.sort_order.or(Some(o.sort_order));
                let r = super::orgs::update_in(&mut self.tx, self.actor, o.id, &input).await;
                self.absorb(row, r)
            }
            None => {
                let path = parent.as_ref().map_or("/", |p| p.path.as_str()).to_string();
                if !self.may_import(row, &path) {
                    return Ok(None);
                }
                let r = super::orgs::create_in(&mut self.tx, self.actor, &input).await;
                self.absorb(row, r.map(|o| (o, Change::Created)))
            }
        }
    }

    async fn unit_row(&mut self, row: &Row) -> Result<Option<Change>, AppError> {
        let name = row.get("name").to_string();
        if !name.is_empty() && !self.first_use(row, name.clone(), "name", "单位名称") {
            return Ok(None);
        }
        let Some(org) = self.org_ref(row, "org_code", true).await? else {
            return Ok(None);
        };
        if !self.may_import(row, &org.path) {
            return Ok(None);
        }
        let existing = match name.is_empty() {
            true => None,
            false => units::by_name(&mut self.tx, &name).await?,
        };
        let keep = |field: &str, new: Option<String>, old: Option<&String>| {
            if row.has(field) { new } else { old.cloned() }
        };
        let input = UnitInput {
            name,
            unit_type: row.get("unit_type").into(),
            org_id: Some(org.id),
            contact_name: keep(
                "contact_name",
                row.opt("contact_name"),
                existing.as_ref().and_then(|u| u.contact_name.as_ref()),
            ),
            contact_phone: keep(
                "contact_phone",
                row.opt("contact_phone"),
                existing.as_ref().and_then(|u| u.contact_phone.as_ref()),
            ),
            note: keep(
                "note",
                row.opt("note"),
                existing.as_ref().and_then(|u| u.note.as_ref()),
            ),
        };
        match existing {
            Some(u) => {
                if !self.may_import(row, &u.org_path) {
                    return Ok(None);
                }
                let r = super::units::update_in(&mut self.tx, self.actor, u.id, &input).await;
                self.absorb(row, r)
            }
            None => {
                let r = super::units::create_in(&mut self.tx, self.actor, &input).await;
                self.absorb(row, r.map(|u| (u, Change::Created)))
            }
        }
    }

    /// The stored person a row means: by full phone number, else by name within the node (a
    /// person stored without a phone is matched by name when the row brings one).
    async fn find_person(
        &mut self,
        row: &Row,
        name: &str,
        phone: Option<&str>,
        org_id: Option<i64>,
        name_field: &str,
    ) -> Result<Result<Option<Person>, ()>, AppError> {
        if let Some(p) = phone.filter(|p| !p.contains('*'))
            && let Some(found) = people::by_phone(&mut self.tx, &digits(p)).await?
        {
            return Ok(Ok(Some(found)));
        }
        let Some(org_id) = org_id else {
            return Ok(Ok(None));
        };
        let ids = people::by_name_in_org(&mut self.tx, name, org_id).await?;
        let mut candidates = Vec::new();
        for id in ids {
            if let Some(p) = people::get(&mut self.tx, id).await? {
                candidates.push(p);
            }
        }
        if phone.is_some_and(|p| !p.contains('*')) {
            // A full number that matched nobody: only a namesake without a number is the same
            // person (now given one).
            candidates.retain(|p| p.phone.is_none());
        }
        match candidates.len() {
            0 => Ok(Ok(None)),
            1 => Ok(Ok(candidates.pop())),
            n => {
                self.reject(
                    row,
                    name_field,
                    format!("该组织下有 {n} 位名为「{name}」的人员，请填写手机号码以区分"),
                );
                Ok(Err(()))
            }
        }
    }

    async fn person_row(&mut self, row: &Row) -> Result<Option<Change>, AppError> {
        let name = row.get("name").to_string();
        let phone = row.opt("phone");
        let full_phone = phone.as_deref().filter(|p| !p.contains('*')).map(digits);
        let key = match &full_phone {
            Some(p) => p.clone(),
            None => format!("{name}\u{1f}{}", row.get("org_code")),
        };
        let what = if full_phone.is_some() {
            "手机号码"
        } else {
            "姓名和所属组织"
        };
        let field = if full_phone.is_some() {
            "phone"
        } else {
            "name"
        };
        if !name.is_empty() && !self.first_use(row, key, field, what) {
            return Ok(None);
        }
        let Some(org) = self.org_ref(row, "org_code", true).await? else {
            return Ok(None);
        };
        let unit_id = self.unit_ref(row, "unit_name").await?;
        if row.opt("unit_name").is_some() && unit_id.is_none() {
            return Ok(None);
        }
        if !self.may_import(row, &org.path) {
            return Ok(None);
        }
        let Ok(existing) = self
            .find_person(row, &name, phone.as_deref(), Some(org.id), "name")
            .await?
        else {
            return Ok(None);
        };
        if existing.is_none() && phone.as_deref().is_some_and(|p| p.contains('*')) {
            self.reject(
                row,
                "phone",
                "手机号码已遮挡（来自导出文件），无法据此新建人员，请填写完整号码",
            );
            return Ok(None);
        }
        let keep = |field: &str, new: Option<String>, old: Option<&String>| {
            if row.has(field) { new } else { old.cloned() }
        };
        let old = existing.as_ref();
        let input = PersonInput {
            name,
            phone: keep("phone", phone, old.and_then(|p| p.phone.as_ref())),
            org_id: Some(org.id),
            unit_id: if row.has("unit_name") {
                unit_id
            } else {
                old.and_then(|p| p.unit_id)
            },
            title: keep(
                "title",
                row.opt("title"),
                old.and_then(|p| p.title.as_ref()),
            ),
            deputy_type: keep(
                "deputy_type",
                row.opt("deputy_type"),
                old.and_then(|p| p.deputy_type.as_ref()),
            ),
            note: keep("note", row.opt("note"), old.and_then(|p| p.note.as_ref())),
            kinds: split_list(row.get("kinds")),
        };
        match existing {
            Some(p) => {
                if !self.may_import(row, &p.org_path) {
                    return Ok(None);
                }
                let r = super::people::update_in(&mut self.tx, self.actor, p.id, &input).await;
                self.absorb(row, r)
            }
            None => {
                let r = super::people::create_in(&mut self.tx, self.actor, &input).await;
                self.absorb(row, r.map(|p| (p, Change::Created)))
            }
        }
    }

    async fn link_row(&mut self, row: &Row) -> Result<Option<Change>, AppError> {
        let Some(kind) = LinkKind::parse(row.get("kind")) else {
            let msg = match row.opt("kind") {
                Some(k) => format!("无法识别的关联类型「{k}」，请从下拉列表中选择"),
                None => "请填写关联类型".into(),
            };
            self.reject(row, "kind", msg);
            return Ok(None);
        };
        let Some(org) = self.org_ref(row, "org_code", true).await? else {
            return Ok(None);
        };
        let (mut person_id, mut unit_id) = (None, None);
        if kind.subject_is_unit() {
            if row.opt("unit_name").is_none() {
                self.reject(
                    row,
                    "unit_name",
                    format!("「{}」须填写单位名称", kind.label()),
                );
                return Ok(None);
            }
            unit_id = self.unit_ref(row, "unit_name").await?;
            if unit_id.is_none() {
                return Ok(None);
            }
        } else {
            let Some(name) = row.opt("person_name") else {
                self.reject(
                    row,
                    "person_name",
                    format!("「{}」须填写人员姓名", kind.label()),
                );
                return Ok(None);
            };
            let phone = row.opt("person_phone");
            let person_org = if row.opt("person_org_code").is_some() {
                match self.org_ref(row, "person_org_code", false).await? {
                    Some(o) => Some(o.id),
                    None => return Ok(None),
                }
            } else {
                None
            };
            if phone.as_deref().is_none_or(|p| p.contains('*')) && person_org.is_none() {
                self.reject(
                    row,
                    "person_phone",
                    "请填写人员手机号码，或填写人员所属组织编码以确定是哪一位",
                );
                return Ok(None);
            }
            let Ok(found) = self
                .find_person(row, &name, phone.as_deref(), person_org, "person_name")
                .await?
            else {
                return Ok(None);
            };
            match found {
                Some(p) if p.name == name => person_id = Some(p.id),
                Some(p) => {
                    self.reject(
                        row,
                        "person_name",
                        format!("手机号码登记的是「{}」，与姓名「{name}」不符", p.name),
                    );
                    return Ok(None);
                }
                None => {
                    self.reject(
                        row,
                        "person_name",
                        format!("找不到人员「{name}」（须是「人员」表或系统中已有的人员）"),
                    );
                    return Ok(None);
                }
            }
        }
        if !self.may_import(row, &org.path) {
            return Ok(None);
        }
        let start = roundtable_core::validate::optional_date(
            &mut Default::default(),
            "start_date",
            "",
            Some(row.get("start_date")),
        );
        let subject = person_id.map_or_else(|| format!("u{unit_id:?}"), |p| format!("p{p}"));
        let key = format!("{}|{subject}|{}|{start:?}", kind.code(), org.id);
        if start.is_some()
            && !self.first_use(row, key, "start_date", "关联（类型、对象、组织、开始日期）")
        {
            return Ok(None);
        }
        let existing = match start {
            None => None,
            Some(start) => links::list(
                &mut self.tx,
                &roundtable_core::access::Scope {
                    everywhere: true,
                    ..Default::default()
                },
                &LinkFilter {
                    org_id: Some(org.id),
                    kind: Some(kind.code().into()),
                    person_id,
                    unit_id,
                    ..Default::default()
                },
                1000,
            )
            .await?
            .into_iter()
            .find(|l| l.start_date == start),
        };
        let input = LinkInput {
            kind: kind.code().into(),
            person_id,
            unit_id,
            org_id: Some(org.id),
            group_role: row.opt("group_role"),
            start_date: row.get("start_date").into(),
            end_date: row.opt("end_date"),
            note: if row.has("note") {
                row.opt("note")
            } else {
                existing.as_ref().and_then(|l| l.note.clone())
            },
        };
        match existing {
            Some(l) => {
                let r = super::links::update_in(&mut self.tx, self.actor, l.id, &input).await;
                self.absorb(row, r)
            }
            None => {
                let r = super::links::create_in(&mut self.tx, self.actor, &input).await;
                self.absorb(row, r.map(|l| (l, Change::Created)))
            }
        }
    }
}

fn digits(p: &str) -> String {
    p.chars().filter(|c| !matches!(c, ' ' | '-')).collect()
}

/// Whether the actor may import anything at all (to show the page and the menu entry).
/// The watermark line of an export: who exported it and when (China time).
pub(crate) async fn watermark(
    e: &mut impl roundtable_store::Exec,
    actor: &Actor,
) -> Result<String, AppError> {
    let who = match roundtable_store::users::get(e, actor.user_id).await? {
        Some(u) => u.display_name,
        None => "命令行".into(),
    };
    Ok(format!(
        "导出人：{who}，导出时间：{}",
        crate::render::china_time(roundtable_store::now())
    ))
}

pub fn may_import(actor: &Actor) -> bool {
    Sheet::ALL
        .iter()
        .any(|s| permit_somewhere(actor, Action::Import, s.resource()))
}

pub fn may_export(actor: &Actor) -> bool {
    Sheet::ALL
        .iter()
        .any(|s| permit_somewhere(actor, Action::Export, s.resource()))
}

/// Imports a workbook: all rows or none. `progress(done, total)` is called after each row.
/// With `dry_run`, every row is checked the same way and nothing is kept.
pub async fn import(
    db: &Db,
    actor: &Actor,
    bytes: &[u8],
    dry_run: bool,
    progress: &(dyn Fn(usize, usize) + Send + Sync),
) -> Result<ImportReport, AppError> {
    if !may_import(actor) {
        return Err(AppError::Forbidden);
    }
    let (mut rows, errors) = read_workbook(bytes)?;
    apply_order(&mut rows);
    let mut counts: HashMap<Sheet, SheetCount> = HashMap::new();
    let mut im = Importer {
        tx: db.begin().await?,
        actor,
        errors,
        seen: HashMap::new(),
    };
    let total = rows.len();
    for (i, row) in rows.iter().enumerate() {
        let c = counts.entry(row.sheet).or_insert_with(|| SheetCount {
            sheet: row.sheet.name().into(),
            ..Default::default()
        });
        match im.row(row).await? {
            Some(Change::Created) => c.created += 1,
            Some(Change::Updated) => c.updated += 1,
            Some(Change::Unchanged) => c.unchanged += 1,
            None => {}
        }
        progress(i + 1, total);
    }
    let counts: Vec<SheetCount> = Sheet::ALL.iter().filter_map(|s| counts.remove(s)).collect();
    let mut errors = std::mem::take(&mut im.errors);
    let sheet_rank = |name: &str| Sheet::parse(name).map_or(9, |s| s as u8);
    errors.sort_by(|a, b| {
        (sheet_rank(&a.sheet), &a.sheet, a.row).cmp(&(sheet_rank(&b.sheet), &b.sheet, b.row))
    });
    let error_total = errors.len();
    errors.truncate(MAX_REPORTED);
    let applied = error_total == 0 && !dry_run;
    if applied {
        let mut tx = im.tx;
        audit::record(
            &mut tx,
            actor_id(actor),
            "import",
            "workbook",
            None,
            None,
            Some(&json(&counts)),
        )
        .await?;
        tx.commit().await?;
    }
    // Otherwise the transaction is dropped, which rolls every row back.
    Ok(ImportReport {
        dry_run,
        applied,
        counts,
        error_total,
        errors,
    })
}

/// Writes one sheet: bold headers (required ones marked * in red), text-formatted cells so
/// phone numbers and codes stay as typed, drop-downs for closed lists, frozen header row.
fn write_sheet(book: &mut Workbook, sheet: Sheet, rows: &[Vec<String>]) -> Result<(), AppError> {
    let ws: &mut Worksheet = book.add_worksheet();
    let x = |e: rust_xlsxwriter::XlsxError| AppError::Internal(format!("xlsx: {e}"));
    ws.set_name(sheet.name()).map_err(x)?;
    let head = Format::new()
        .set_bold()
        .set_background_color(Color::RGB(0xDDEBF7))
        .set_border(FormatBorder::Thin);
    let head_required = head.clone().set_font_color(Color::RGB(0xC00000));
    let text = Format::new().set_num_format("@");
    let last_row = (rows.len() as u32).max(1000);
    for (j, c) in sheet.columns().iter().enumerate() {
        let j = j as u16;
        let (title, fmt) = if c.required {
            (format!("{}*", c.header), &head_required)
        } else {
            (c.header.to_string(), &head)
        };
        ws.write_string_with_format(0, j, &title, fmt).map_err(x)?;
        ws.set_column_width(j, c.width).map_err(x)?;
        ws.set_column_format(j, &text).map_err(x)?;
        if let Some(choices) = c.choices {
            let v = DataValidation::new()
                .allow_list_strings(&choices())
                .map_err(x)?
                .ignore_blank(true);
            ws.add_data_validation(1, j, last_row, j, &v).map_err(x)?;
        }
        for (i, r) in rows.iter().enumerate() {
            let v = r.get(j as usize).map(String::as_str).unwrap_or("");
            if !v.is_empty() {
                ws.write_string_with_format(i as u32 + 1, j, v, &text)
                    .map_err(x)?;
            }
        }
    }
    ws.set_freeze_panes(1, 0).map_err(x)?;
    Ok(())
}

/// The 说明 sheet: every column of every included sheet, whether it is required, what goes in
/// it and the allowed values.
fn write_notes(book: &mut Workbook, sheets: &[Sheet]) -> Result<(), AppError> {
    let x = |e: rust_xlsxwriter::XlsxError| AppError::Internal(format!("xlsx: {e}"));
    let ws = book.add_worksheet();
    ws.set_name(NOTES_SHEET).map_err(x)?;
    let bold = Format::new().set_bold();
    let lines = [
        "填写说明：表头（第一行）不要修改；带 * 的列必填。导入时先检查整个文件，有任何错误则一行都不导入，并列出每个错误所在的工作表、行和列。",
        "同一文件可重复导入：组织按编码、单位按名称、人员按手机号码（无手机号时按姓名+所属组织）、关联按类型+人员或单位+组织+开始日期识别，已有的记录会被更新，不会重复新建。",
        "工作表按 组织 → 单位 → 人员 → 关联 的顺序导入，后面的表可以引用前面表中新建的记录。",
    ];
    for (i, l) in lines.iter().enumerate() {
        ws.write_string(i as u32, 0, *l).map_err(x)?;
    }
    let mut r = lines.len() as u32 + 1;
    for (j, h) in ["工作表", "列", "必填", "说明", "可选值"]
        .iter()
        .enumerate()
    {
        ws.write_string_with_format(r, j as u16, *h, &bold)
            .map_err(x)?;
    }
    for sheet in sheets {
        for c in sheet.columns() {
            r += 1;
            ws.write_string(r, 0, sheet.name()).map_err(x)?;
            ws.write_string(r, 1, c.header).map_err(x)?;
            ws.write_string(r, 2, if c.required { "是" } else { "" })
                .map_err(x)?;
            ws.write_string(r, 3, c.hint).map_err(x)?;
            let choices = match (c.field, c.choices) {
                (_, Some(f)) => f().join("、"),
                ("kinds", _) => PersonKind::ALL
                    .iter()
                    .map(|k| k.label())
                    .collect::<Vec<_>>()
                    .join("、"),
                _ => String::new(),
            };
            ws.write_string(r, 4, &choices).map_err(x)?;
        }
    }
    for (j, w) in [8.0, 16.0, 6.0, 50.0, 60.0].iter().enumerate() {
        ws.set_column_width(j as u16, *w).map_err(x)?;
    }
    Ok(())
}

fn finish(mut book: Workbook) -> Result<Vec<u8>, AppError> {
    book.save_to_buffer()
        .map_err(|e| AppError::Internal(format!("xlsx: {e}")))
}

/// An empty workbook with the given sheets (all of them when empty) and the 说明 sheet.
pub fn template(sheets: &[Sheet]) -> Result<Vec<u8>, AppError> {
    let sheets = if sheets.is_empty() {
        &Sheet::ALL[..]
    } else {
        sheets
    };
    let mut book = Workbook::new();
    for s in sheets {
        write_sheet(&mut book, *s, &[])?;
    }
    write_notes(&mut book, sheets)?;
    finish(book)
}

/// The records the actor may export, in the import layout (so an export can be edited and
/// imported back). Phone numbers are shown only where the actor may see them; the export is
/// audited.
pub async fn export(db: &Db, actor: &Actor, sheets: &[Sheet]) -> Result<Vec<u8>, AppError> {
    if !may_export(actor) {
        return Err(AppError::Forbidden);
    }
    let sheets: Vec<Sheet> = if sheets.is_empty() {
        Sheet::ALL.to_vec()
    } else {
        sheets.to_vec()
    }
    .into_iter()
    .filter(|s| permit_somewhere(actor, Action::Export, s.resource()))
    .collect();
    let mut e = db.pool();
    let all_orgs = orgs::all(&mut e).await?;
    let code_of: HashMap<i64, &str> = all_orgs.iter().map(|o| (o.id, o.code.as_str())).collect();
    let code = |id: i64| code_of.get(&id).copied().unwrap_or("").to_string();
    let phone_for = |p: &Person| {
        p.phone.as_deref().map(|ph| {
            if permit(
                actor,
                Action::ViewPersonal,
                ResourceKind::Person,
                &p.org_path,
                Some(p.id),
            ) {
                ph.to_string()
            } else {
                mask_phone(ph)
            }
        })
    };
    // People are read once, in pages, for the 人员 sheet and to name people in 关联.
    let mut everyone: Vec<Person> = Vec::new();
    if sheets
        .iter()
        .any(|s| matches!(s, Sheet::People | Sheet::Links))
    {
        loop {
            let after = everyone.last().map_or(0, |p| p.id);
            let page = people::all_page(&mut e, after, 1000).await?;
            if page.is_empty() {
                break;
            }
            everyone.extend(page);
        }
    }
    let mut book = Workbook::new();
    let mut counts = Vec::new();
    for sheet in &sheets {
        let s = scope(actor, Action::Export, sheet.resource());
        let rows: Vec<Vec<String>> = match sheet {
            Sheet::Orgs => all_orgs
                .iter()
                .filter(|o| s.contains(&o.path, None))
                .map(|o| {
                    vec![
                        o.code.clone(),
                        o.name.clone(),
                        OrgKind::parse(&o.kind).map_or(o.kind.clone(), |k| k.label().into()),
                        o.parent_id.map(code).unwrap_or_default(),
                        o.sort_order.to_string(),
                    ]
                })
                .collect(),
            Sheet::Units => units::all(&mut e)
                .await?
                .into_iter()
                .filter(|u| s.contains(&u.org_path, None))
                .map(|u| {
                    vec![
                        u.name,
                        UnitType::parse(&u.unit_type).map_or(u.unit_type, |t| t.label().into()),
                        code(u.org_id),
                        u.contact_name.unwrap_or_default(),
                        u.contact_phone.unwrap_or_default(),
                        u.note.unwrap_or_default(),
                    ]
                })
                .collect(),
            Sheet::People => everyone
                .iter()
                .filter(|p| s.contains(&p.org_path, Some(p.id)))
                .map(|p| {
                    vec![
                        p.name.clone(),
                        phone_for(p).unwrap_or_default(),
                        code(p.org_id),
                        p.unit_name.clone().unwrap_or_default(),
                        p.title.clone().unwrap_or_default(),
                        p.kinds
                            .iter()
                            .map(|k| PersonKind::parse(k).map_or(k.as_str(), |k| k.label()))
                            .collect::<Vec<_>>()
                            .join("、"),
                        p.deputy_type
                            .as_deref()
                            .and_then(DeputyType::parse)
                            .map(|d| d.label().to_string())
                            .unwrap_or_default(),
                        p.note.clone().unwrap_or_default(),
                    ]
                })
                .collect(),
            Sheet::Links => {
                let mut out = Vec::new();
                let by_id: HashMap<i64, &Person> = everyone.iter().map(|p| (p.id, p)).collect();
                for l in links::all(&mut e)
                    .await?
                    .into_iter()
                    .filter(|l| s.contains(&l.org_path, None))
                {
                    // A linked person is named even outside the actor's people scope (a district
                    // leader linked to the actor's street): name and node, the phone as allowed.
                    let person = l.person_id.and_then(|pid| by_id.get(&pid).copied());
                    out.push(vec![
                        LinkKind::parse(&l.kind).map_or(l.kind.clone(), |k| k.label().into()),
                        person.map(|p| p.name.clone()).unwrap_or_default(),
                        person.and_then(&phone_for).unwrap_or_default(),
                        person.map(|p| code(p.org_id)).unwrap_or_default(),
                        l.unit_name.clone().unwrap_or_default(),
                        code(l.org_id),
                        l.group_role
                            .as_deref()
                            .and_then(GroupRole::parse)
                            .map(|r| r.label().to_string())
                            .unwrap_or_default(),
                        l.start_date.to_string(),
                        l.end_date.map(|d| d.to_string()).unwrap_or_default(),
                        l.note.clone().unwrap_or_default(),
                    ]);
                }
                out
            }
            Sheet::Topics => topics::export_rows(&mut e, actor, &s, &code).await?,
        };
        counts.push((sheet.code(), rows.len()));
        write_sheet(&mut book, *sheet, &rows)?;
    }
    write_notes(&mut book, &sheets)?;
    audit::record(
        &mut e,
        actor_id(actor),
        "export",
        "workbook",
        None,
        None,
        Some(&serde_json::json!(
            counts.into_iter().collect::<HashMap<_, _>>()
        )),
    )
    .await?;
    finish(book)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_letters_follow_excel() {
        assert_eq!(column_letters(0), "A");
        assert_eq!(column_letters(25), "Z");
        assert_eq!(column_letters(26), "AA");
        assert_eq!(column_letters(27), "AB");
        assert_eq!(column_letters(701), "ZZ");
        assert_eq!(column_letters(702), "AAA");
    }

    #[test]
    fn numbers_read_as_typed() {
        assert_eq!(
            cell_text(&Data::Float(13800001234.0)).unwrap(),
            "13800001234"
        );
        assert_eq!(cell_text(&Data::Int(360103)).unwrap(), "360103");
        assert_eq!(cell_text(&Data::Float(1.5)).unwrap(), "1.5");
        assert_eq!(
            cell_text(&Data::String("  孺子亭社区 ".into())).unwrap(),
            "孺子亭社区"
        );
        assert!(cell_text(&Data::Error(calamine::CellErrorType::NA)).is_err());
    }

    #[test]
    fn lists_split_on_chinese_and_ascii_separators() {
        assert_eq!(
            split_list("在职党员、楼栋长，居民代表; 其他 街道/镇领导"),
            vec!["在职党员", "楼栋长", "居民代表", "其他", "街道/镇领导"]
        );
        assert!(split_list(" 、 ").is_empty());
    }

    #[test]
    fn headers_ignore_the_required_mark() {
        assert_eq!(header_key(" 编码* "), "编码");
        assert_eq!(header_key("姓名＊"), "姓名");
    }

    #[test]
    fn every_service_error_key_has_a_column() {
        for (sheet, keys) in [
            (
                Sheet::Orgs,
                &["code", "name", "kind", "parent_id", "sort_order"][..],
            ),
            (
                Sheet::Units,
                &[
                    "name",
                    "unit_type",
                    "org_id",
                    "contact_name",
                    "contact_phone",
                    "note",
                ],
            ),
            (
                Sheet::People,
                &[
                    "name",
                    "phone",
                    "org_id",
                    "unit_id",
                    "title",
                    "kinds",
                    "deputy_type",
                    "note",
                ],
            ),
            (
                Sheet::Links,
                &[
                    "kind",
                    "person_id",
                    "unit_id",
                    "org_id",
                    "group_role",
                    "start_date",
                    "end_date",
                    "note",
                ],
            ),
        ] {
            for k in keys {
                let field = error_column(sheet, k);
                assert!(sheet.column(field).is_some(), "{sheet:?}.{k}");
                if sheet.column(k).is_some() {
                    assert_eq!(field, *k);
                } else {
                    // an id field is shown on the column its natural key came from
                    assert_ne!(field, sheet.columns()[0].field, "{sheet:?}.{k}");
                }
            }
        }
    }

    #[test]
    fn a_template_reads_back_as_empty_sheets() {
        let bytes = template(&[]).unwrap();
        let (rows, errors) = read_workbook(&bytes).unwrap();
        assert!(rows.is_empty());
        assert!(errors.is_empty(), "{errors:?}");
    }

    #[test]
    fn a_workbook_that_unpacks_too_large_is_refused_before_reading() {
        use std::io::Write;
        let mut buf = Vec::new();
        {
            let mut w = zip::ZipWriter::new(Cursor::new(&mut buf));
            let opts = zip::write::SimpleFileOptions::default()
                .compression_method(zip::CompressionMethod::Deflated);
            w.start_file("xl/worksheets/sheet1.xml", opts).unwrap();
            let zeros = vec![0u8; 1024 * 1024];
            for _ in 0..210 {
                w.write_all(&zeros).unwrap();
            }
            w.finish().unwrap();
        }
        assert!(buf.len() < 2 * 1024 * 1024, "small on the wire");
        let err = read_workbook(&buf).unwrap_err();
        assert!(
            matches!(err, AppError::Validation(f) if f.get("file").is_some_and(|m| m.contains("200 MB")))
        );
        // A real workbook is far below the limit.
        assert!(unpacked_size(&template(&[]).unwrap()).unwrap() < MAX_UNPACKED);
    }

    #[test]
    fn a_non_excel_file_is_a_field_error() {
        let err = read_workbook(b"name,phone\n").unwrap_err();
        assert!(matches!(err, AppError::Validation(f) if f.get("file").is_some()));
    }

    #[test]
    fn bad_and_missing_columns_are_reported_on_the_header_row() {
        let mut book = Workbook::new();
        let ws = book.add_worksheet();
        ws.set_name("人员").unwrap();
        ws.write_string(0, 0, "姓名").unwrap();
        ws.write_string(0, 1, "电话号").unwrap();
        ws.write_string(1, 0, "张三").unwrap();
        let other = book.add_worksheet();
        other.set_name("Sheet2").unwrap();
        other.write_string(0, 0, "x").unwrap();
        let bytes = book.save_to_buffer().unwrap();
        let (rows, errors) = read_workbook(&bytes).unwrap();
        assert!(rows.is_empty(), "a sheet with a bad layout yields no rows");
        let msgs: Vec<String> = errors
            .iter()
            .map(|e| format!("{}!{}:{}", e.sheet, e.cell, e.message))
            .collect();
        assert!(
            msgs.iter()
                .any(|m| m.starts_with("人员!B1:无法识别的列「电话号」")),
            "{msgs:?}"
        );
        assert!(
            msgs.iter()
                .any(|m| m.contains("缺少必填列「所属组织编码」")),
            "{msgs:?}"
        );
        assert!(
            msgs.iter().any(|m| m.contains("缺少必填列「人员类别」")),
            "{msgs:?}"
        );
        assert!(
            msgs.iter()
                .any(|m| m.starts_with("Sheet2!") && m.contains("无法识别的工作表")),
            "{msgs:?}"
        );
    }

    #[test]
    fn rows_keep_their_excel_numbers_and_cells() {
        let mut book = Workbook::new();
        let ws = book.add_worksheet();
        ws.set_name("组织").unwrap();
        for (j, h) in ["编码*", "名称*", "类型*", "上级编码"].iter().enumerate() {
            ws.write_string(0, j as u16, *h).unwrap();
        }
        ws.write_number(1, 0, 360103.0).unwrap();
        ws.write_string(1, 1, "西湖区").unwrap();
        ws.write_string(1, 2, "区").unwrap();
        // a blank line is skipped, the next row keeps its own number
        ws.write_string(3, 0, "360103001").unwrap();
        ws.write_string(3, 1, "南浦街道").unwrap();
        ws.write_string(3, 2, "街道").unwrap();
        ws.write_number(3, 3, 360103.0).unwrap();
        let bytes = book.save_to_buffer().unwrap();
        let (rows, errors) = read_workbook(&bytes).unwrap();
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].get("code"), "360103");
        assert_eq!(rows[1].number, 4);
        assert_eq!(rows[1].get("parent_code"), "360103");
        assert_eq!(rows[1].error("parent_code", "x").cell, "D4");
        assert!(!rows[1].has("sort_order"));
    }
}
