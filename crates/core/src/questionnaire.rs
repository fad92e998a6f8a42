//! Questionnaires (调查问卷, R-TOP-1: a bottom-up channel): what a questionnaire may hold, when it
//! takes answers, what an answer must look like, and how answers are counted. Pure rules; the
//! service stores what they accept.

use std::collections::BTreeMap;

use chrono::NaiveDate;

use crate::FieldErrors;
use crate::domain_enum;
use crate::validate::required_text;

domain_enum! {
    /// The four kinds of question of the builder.
    QuestionKind {
        Single = ("single", "单选题"),
        Multiple = ("multiple", "多选题"),
        Text = ("text", "填空题"),
        Rating = ("rating", "评分题"),
    }
}

impl QuestionKind {
    pub fn has_options(self) -> bool {
        matches!(self, QuestionKind::Single | QuestionKind::Multiple)
    }
}

domain_enum! {
    /// A questionnaire is built as a draft, published for a period, and closed (or runs out).
    QuestionnaireStatus {
        Draft = ("draft", "草稿"),
        Published = ("published", "已发布"),
        Closed = ("closed", "已结束"),
    }
}

pub const MAX_QUESTIONS: usize = 50;
pub const MAX_OPTIONS: usize = 20;
/// A rating is 1 to 5 stars.
pub const RATING_MAX: u8 = 5;
pub const MAX_TEXT_ANSWER: usize = 1000;
/// A questionnaire runs at most a year.
pub const MAX_PERIOD_DAYS: i64 = 366;

/// One question as the builder keeps it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Question {
    pub kind: QuestionKind,
    pub prompt: String,
    pub required: bool,
    /// The choices of a single or multiple choice question (empty otherwise), in order.
    pub options: Vec<String>,
}

/// A question as typed: the kind as a code or name, options one per line or as a list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QuestionDraft {
    pub kind: String,
    pub prompt: String,
    pub required: bool,
    pub options: Vec<String>,
}

/// Splits a textarea of options (one per line; blank lines dropped).
pub fn options_from_lines(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

/// Checks one question; errors are reported under `{field}.prompt`, `{field}.kind`,
/// `{field}.options`.
pub fn check_question(
    errors: &mut FieldErrors,
    field: &str,
    draft: &QuestionDraft,
) -> Option<Question> {
    let kind = QuestionKind::parse(&draft.kind);
    if kind.is_none() {
        errors.add(
            &format!("{field}.kind"),
            "题型应为单选题、多选题、填空题或评分题",
        );
    }
    let before = errors.0.len();
    let prompt = required_text(
        errors,
        &format!("{field}.prompt"),
        "题目",
        &draft.prompt,
        200,
    );
    let options: Vec<String> = draft
        .options
        .iter()
        .map(|o| o.trim().to_string())
        .filter(|o| !o.is_empty())
        .collect();
    let opt_field = format!("{field}.options");
    if kind.is_some_and(QuestionKind::has_options) {
        if options.len() < 2 {
            errors.add(&opt_field, "选择题至少要有2个选项（每行一个）");
        } else if options.len() > MAX_OPTIONS {
            errors.add(&opt_field, format!("选项不能超过{MAX_OPTIONS}个"));
        } else if let Some(long) = options.iter().find(|o| o.chars().count() > 100) {
            errors.add(
                &opt_field,
                format!(
                    "选项「{}…」超过100个字",
                    long.chars().take(10).collect::<String>()
                ),
            );
        } else if let Some(dup) = options
            .iter()
            .enumerate()
            .find(|(i, o)| options[..*i].contains(o))
        {
            errors.add(&opt_field, format!("选项「{}」重复", dup.1));
        }
    }
    let kind = kind?;
    if errors.0.len() > before {
        return None;
    }
    Some(Question {
        kind,
        prompt,
        required: draft.required,
        options: if kind.has_options() {
            options
        } else {
            Vec::new()
        },
    })
}

/// Checks every question of a questionnaire (fields `questions[1]…`, numbered as shown).
pub fn check_questions(errors: &mut FieldErrors, drafts: &[QuestionDraft]) -> Vec<Question> {
    if drafts.len() > MAX_QUESTIONS {
        errors.add("questions", format!("题目不能超过{MAX_QUESTIONS}道"));
        return Vec::new();
    }
    drafts
        .iter()
        .enumerate()
        .filter_map(|(i, d)| check_question(errors, &format!("questions[{}]", i + 1), d))
        .collect()
}

/// The answering period: both days inclusive, China time.
pub fn check_period(
    errors: &mut FieldErrors,
    opens_on: Option<NaiveDate>,
    closes_on: Option<NaiveDate>,
    today: NaiveDate,
) {
    match (opens_on, closes_on) {
        (None, _) => errors.add("opens_on", "请填写开始日期"),
        (_, None) => errors.add("closes_on", "请填写结束日期"),
        (Some(o), Some(c)) if c < o => errors.add("closes_on", "结束日期不能早于开始日期"),
        (Some(_), Some(c)) if c < today => errors.add("closes_on", "结束日期已过"),
        (Some(o), Some(c)) if (c - o).num_days() >= MAX_PERIOD_DAYS => {
            errors.add("closes_on", "问卷最长开放一年")
        }
        _ => {}
    }
}

/// Why a questionnaire does not take answers now (None: it does).
pub fn closed_reason(
    status: QuestionnaireStatus,
    opens_on: Option<NaiveDate>,
    closes_on: Option<NaiveDate>,
    today: NaiveDate,
) -> Option<&'static str> {
    match status {
        QuestionnaireStatus::Draft => Some("问卷尚未发布"),
        QuestionnaireStatus::Closed => Some("问卷已结束"),
        QuestionnaireStatus::Published => match (opens_on, closes_on) {
            (Some(o), _) if today < o => Some("问卷尚未开始"),
            (_, Some(c)) if today > c => Some("问卷已结束"),
            _ => None,
        },
    }
}

/// One accepted answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// Chosen options, numbered from 1, ascending, no repeats.
    Choices(Vec<u16>),
    Text(String),
    Rating(u8),
}

/// Checks the answers to every question. `raw` holds, per question number (from 1), the values
/// as a form or the API sent them: option numbers, a rating, or the text. Unanswered optional
/// questions are `None`. Errors are under `q{n}`.
pub fn check_answers(
    questions: &[Question],
    raw: &BTreeMap<usize, Vec<String>>,
) -> Result<Vec<Option<Answer>>, FieldErrors> {
    let mut errors = FieldErrors::new();
    if let Some(n) = raw.keys().find(|n| **n == 0 || **n > questions.len()) {
        errors.add(&format!("q{n}"), "问卷没有这道题");
    }
    let answers = questions
        .iter()
        .enumerate()
        .map(|(i, q)| {
            let n = i + 1;
            let values: Vec<&str> = raw
                .get(&n)
                .map(|v| {
                    v.iter()
                        .map(|s| s.trim())
                        .filter(|s| !s.is_empty())
                        .collect()
                })
                .unwrap_or_default();
            match check_one(q, &values) {
                Ok(None) if q.required => {
                    errors.add(&format!("q{n}"), "此题必答");
                    None
                }
                Ok(a) => a,
                Err(m) => {
                    errors.add(&format!("q{n}"), m);
                    None
                }
            }
        })
        .collect();
    errors.into_result().map(|_| answers)
}

fn check_one(q: &Question, values: &[&str]) -> Result<Option<Answer>, String> {
    if values.is_empty() {
        return Ok(None);
    }
    match q.kind {
        QuestionKind::Single | QuestionKind::Multiple => {
            if q.kind == QuestionKind::Single && values.len() > 1 {
                return Err("单选题只能选一项".into());
            }
            let mut picked = values
                .iter()
                .map(|v| {
                    v.parse::<u16>()
                        .ok()
                        .filter(|n| *n >= 1 && usize::from(*n) <= q.options.len())
                        .ok_or_else(|| format!("没有选项「{v}」"))
                })
                .collect::<Result<Vec<u16>, String>>()?;
            picked.sort_unstable();
            picked.dedup();
            Ok(Some(Answer::Choices(picked)))
        }
        QuestionKind::Rating => {
            let [v] = values else {
                return Err("评分只能选一个".into());
            };
            v.parse::<u8>()
                .ok()
                .filter(|r| (1..=RATING_MAX).contains(r))
                .map(|r| Some(Answer::Rating(r)))
                .ok_or_else(|| format!("评分应为1到{RATING_MAX}"))
        }
        QuestionKind::Text => {
            let text = values.join("\n");
            if text.chars().count() > MAX_TEXT_ANSWER {
                Err(format!("回答不能超过{MAX_TEXT_ANSWER}个字"))
            } else {
                Ok(Some(Answer::Text(text)))
            }
        }
    }
}

/// The counts of one question's answers, for the results page, the API and the export.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Tally {
    /// How many responses answered this question.
    pub answered: i64,
    /// Per option (choice questions) or per star 1…5 (rating): label and count.
    pub counts: Vec<(String, i64)>,
    /// Mean rating, for rating questions answered at least once.
    pub mean: Option<f64>,
}

/// Counts from stored answer rows: `rows` holds (option number or rating, how many) and
/// `answered` the responses that answered the question (a multiple choice counts once per
/// response, though it adds to several options).
pub fn tally(q: &Question, answered: i64, rows: &[(i64, i64)]) -> Tally {
    let count_of = |v: i64| {
        rows.iter()
            .filter(|(value, _)| *value == v)
            .map(|(_, c)| c)
            .sum()
    };
    let counts: Vec<(String, i64)> = match q.kind {
        QuestionKind::Single | QuestionKind::Multiple => q
            .options
            .iter()
            .enumerate()
            .map(|(i, o)| (o.clone(), count_of(i as i64 + 1)))
            .collect(),
        QuestionKind::Rating => (1..=i64::from(RATING_MAX))
            .map(|r| (format!("{r}分"), count_of(r)))
            .collect(),
        QuestionKind::Text => Vec::new(),
    };
    let mean = (q.kind == QuestionKind::Rating && answered > 0).then(|| {
        let sum: i64 = rows.iter().map(|(v, c)| v * c).sum();
        let n: i64 = rows.iter().map(|(_, c)| c).sum();
        (sum as f64 / n.max(1) as f64 * 100.0).round() / 100.0
    });
    Tally {
        answered,
        counts,
        mean,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn draft(kind: &str, prompt: &str, options: &[&str]) -> QuestionDraft {
        QuestionDraft {
            kind: kind.into(),
            prompt: prompt.into(),
            required: true,
            options: options.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn sample() -> Vec<Question> {
        let mut e = FieldErrors::new();
        let qs = check_questions(
            &mut e,
            &[
                draft("单选题", "您家住几栋？", &["1栋", "2栋", "3栋"]),
                draft("multiple", "您最关心哪些事？", &["停车", "路灯", "绿化"]),
                QuestionDraft {
                    required: false,
                    ..draft("text", "还有什么建议？", &[])
                },
                draft("rating", "对小区环境打分", &[]),
            ],
        );
        assert!(e.is_empty(), "{e:?}");
        qs
    }

    #[test]
    fn builder_checks_kinds_prompts_and_options() {
        let mut e = FieldErrors::new();
        let qs = check_questions(
            &mut e,
            &[
                draft("选择题", "x", &[]),
                draft("single", " ", &["a", "b"]),
                draft("single", "只有一个选项", &["a"]),
                draft("multiple", "重复", &["a", "b", "a"]),
                draft("text", "填空题不要选项", &["a"]),
            ],
        );
        assert!(e.get("questions[1].kind").is_some());
        assert_eq!(e.get("questions[2].prompt"), Some("请填写题目"));
        assert!(e.get("questions[3].options").unwrap().contains("至少"));
        assert_eq!(e.get("questions[4].options"), Some("选项「a」重复"));
        assert_eq!(qs.len(), 1, "only the text question passes");
        assert!(qs[0].options.is_empty(), "a text question keeps no options");
        let too_many = vec![draft("text", "x", &[]); MAX_QUESTIONS + 1];
        let mut e = FieldErrors::new();
        check_questions(&mut e, &too_many);
        assert!(e.get("questions").is_some());
    }

    #[test]
    fn options_come_one_per_line() {
        assert_eq!(
            options_from_lines(" 停车 \r\n\n路灯\n"),
            vec!["停车".to_string(), "路灯".to_string()]
        );
    }

    #[test]
    fn period_is_checked() {
        let today = d(2026, 11, 30);
        let mut e = FieldErrors::new();
        check_period(&mut e, Some(d(2026, 12, 5)), Some(d(2026, 12, 1)), today);
        assert!(e.get("closes_on").unwrap().contains("早于"));
        let mut e = FieldErrors::new();
        check_period(&mut e, Some(d(2026, 11, 1)), Some(d(2026, 11, 29)), today);
        assert_eq!(e.get("closes_on"), Some("结束日期已过"));
        let mut e = FieldErrors::new();
        check_period(&mut e, Some(d(2026, 11, 30)), Some(d(2027, 12, 1)), today);
        assert!(e.get("closes_on").is_some());
        let mut e = FieldErrors::new();
        check_period(&mut e, None, None, today);
        assert!(e.get("opens_on").is_some());
        let mut e = FieldErrors::new();
        check_period(&mut e, Some(today), Some(today), today);
        assert!(e.is_empty(), "one day is a period");
    }

    #[test]
    fn answers_only_within_the_published_period() {
        use QuestionnaireStatus::*;
        let (o, c) = (Some(d(2026, 12, 1)), Some(d(2026, 12, 10)));
        assert_eq!(
            closed_reason(Draft, o, c, d(2026, 12, 5)),
            Some("问卷尚未发布")
        );
        assert_eq!(
            closed_reason(Published, o, c, d(2026, 11, 30)),
            Some("问卷尚未开始")
        );
        assert_eq!(closed_reason(Published, o, c, d(2026, 12, 1)), None);
        assert_eq!(closed_reason(Published, o, c, d(2026, 12, 10)), None);
        assert_eq!(
            closed_reason(Published, o, c, d(2026, 12, 11)),
            Some("问卷已结束")
        );
        assert_eq!(
            closed_reason(Closed, o, c, d(2026, 12, 5)),
            Some("问卷已结束")
        );
    }

    fn raw(pairs: &[(usize, &[&str])]) -> BTreeMap<usize, Vec<String>> {
        pairs
            .iter()
            .map(|(n, v)| (*n, v.iter().map(|s| s.to_string()).collect()))
            .collect()
    }

    #[test]
    fn answers_are_checked_against_their_question() {
        let qs = sample();
        let ok = check_answers(
            &qs,
            &raw(&[(1, &["2"]), (2, &["3", "1", "3"]), (4, &["5"])]),
        )
        .unwrap();
        assert_eq!(ok[0], Some(Answer::Choices(vec![2])));
        assert_eq!(
            ok[1],
            Some(Answer::Choices(vec![1, 3])),
            "sorted, no repeats"
        );
        assert_eq!(ok[2], None, "an optional question may be skipped");
        assert_eq!(ok[3], Some(Answer::Rating(5)));

        let e = check_answers(
            &qs,
            &raw(&[(1, &["1", "2"]), (2, &["4"]), (3, &[" "]), (9, &["1"])]),
        )
        .unwrap_err();
        assert_eq!(e.get("q1"), Some("单选题只能选一项"));
        assert_eq!(e.get("q2"), Some("没有选项「4」"));
        assert_eq!(e.get("q4"), Some("此题必答"));
        assert_eq!(e.get("q9"), Some("问卷没有这道题"));
        assert!(e.get("q3").is_none(), "blank optional text is no answer");

        let e = check_answers(
            &qs,
            &raw(&[
                (1, &["0"]),
                (2, &["x"]),
                (3, &[&"字".repeat(1001)]),
                (4, &["6"]),
            ]),
        )
        .unwrap_err();
        assert!(e.get("q1").is_some());
        assert!(e.get("q2").is_some());
        assert!(e.get("q3").unwrap().contains("1000"));
        assert_eq!(e.get("q4"), Some("评分应为1到5"));
    }

    #[test]
    fn tally_counts_every_option_and_the_mean_rating() {
        let qs = sample();
        let t = tally(&qs[1], 3, &[(1, 2), (3, 3)]);
        assert_eq!(
            t.counts,
            vec![
                ("停车".to_string(), 2),
                ("路灯".to_string(), 0),
                ("绿化".to_string(), 3)
            ]
        );
        assert_eq!(t.answered, 3);
        assert_eq!(t.mean, None);
        let r = tally(&qs[3], 3, &[(5, 2), (2, 1)]);
        assert_eq!(r.counts.len(), 5);
        assert_eq!(r.counts[4], ("5分".to_string(), 2));
        assert_eq!(r.mean, Some(4.0));
        assert_eq!(tally(&qs[3], 0, &[]).mean, None);
    }
}
