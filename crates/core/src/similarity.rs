//! R-TOP-5: how alike two short matters are, so that many submissions about the same thing can
//! be merged into one topic. Pure: the words come from a segmenter (jieba, in the web crate);
//! here they are cleaned, joined by the character bigrams of the text (robust where two
//! residents' wordings segment differently: 堆物/杂物, 路灯/灯), weighted by inverse document
//! frequency over the compared set, and compared by cosine.

use std::collections::HashMap;

/// A fast non-cryptographic hash: the terms are hashed hundreds of thousands of times per
/// suggestion, and SipHash was a sixth of the time (perf, intake benchmark).
type FastMap<K, V> = HashMap<K, V, rustc_hash::FxBuildHasher>;

/// Words that say nothing about which matter it is: function words and what every complaint
/// says (居民, 反映, 希望, 解决…).
const STOPWORDS: &[&str] = &[
    "的", "了", "是", "在", "有", "和", "就", "都", "也", "很", "我", "我们", "你", "您", "他",
    "她", "它", "他们", "这", "那", "这个", "那个", "个", "要", "会", "能", "可以", "请", "希望",
    "问题", "反映", "居民", "群众", "小区", "社区", "一下", "一些", "没有", "不", "有人", "几",
    "多", "太", "还", "又", "被", "把", "给", "让", "对", "向", "从", "到", "及", "与", "或", "等",
    "啊", "吧", "呢", "吗", "解决", "处理", "尽快", "帮忙", "相关", "部门", "情况", "现在", "目前",
    "经常", "一直", "非常", "比较", "已经", "因为", "所以", "如果", "但是", "而且", "附近", "这里",
    "那里", "什么", "怎么", "时候", "大家", "建议",
];

/// The terms of a text: its segmented words (cleaned) and its CJK character bigrams.
pub fn terms<'a>(words: impl IntoIterator<Item = &'a str>, text: &str) -> Vec<String> {
    let mut out: Vec<String> = words
        .into_iter()
        .map(str::trim)
        .filter(|w| !w.is_empty() && !STOPWORDS.contains(w))
        .filter(|w| w.chars().any(|c| c.is_alphanumeric()))
        .filter(|w| w.chars().count() > 1 || w.chars().all(|c| c.is_ascii_digit()))
        .map(|w| format!("w:{}", w.to_lowercase()))
        .collect();
    let cjk: Vec<char> = text.chars().filter(|c| is_cjk(*c)).collect();
    for pair in cjk.windows(2) {
        let bigram: String = pair.iter().collect();
        if !STOPWORDS.contains(&bigram.as_str()) {
            out.push(format!("b:{bigram}"));
        }
    }
    out
}

fn is_cjk(c: char) -> bool {
    matches!(c, '\u{4e00}'..='\u{9fff}' | '\u{3400}'..='\u{4dbf}')
}

/// A bag of terms with counts.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Bag(pub FastMap<String, f64>);

/// Terms as stored with a topic: space-separated (a term never holds a space).
pub fn to_stored(terms: &[String]) -> String {
    terms.join(" ")
}

impl Bag {
    /// The bag of terms stored with a topic (`to_stored`).
    pub fn from_stored(stored: &str) -> Bag {
        Bag::count(stored.split_whitespace())
    }

    pub fn new(terms: &[String]) -> Bag {
        Bag::count(terms.iter().map(String::as_str))
    }

    fn count<'a>(terms: impl Iterator<Item = &'a str>) -> Bag {
        let mut m = FastMap::default();
        for t in terms {
            match m.get_mut(t) {
                Some(n) => *n += 1.0,
                None => {
                    m.insert(t.to_string(), 1.0);
                }
            }
        }
        Bag(m)
    }
}

/// Document frequencies over the compared set.
#[derive(Debug, Clone, Default)]
pub struct Idf {
    df: FastMap<String, usize>,
    n: usize,
}

impl Idf {
    pub fn new<'a>(bags: impl IntoIterator<Item = &'a Bag>) -> Idf {
        let mut idf = Idf::default();
        for b in bags {
            idf.n += 1;
            for t in b.0.keys() {
                match idf.df.get_mut(t) {
                    Some(n) => *n += 1,
                    None => {
                        idf.df.insert(t.clone(), 1);
                    }
                }
            }
        }
        idf
    }

    fn weight(&self, term: &str) -> f64 {
        let df = self.df.get(term).copied().unwrap_or(0) as f64;
        ((self.n as f64 + 1.0) / (df + 1.0)).ln() + 1.0
    }
}

/// Cosine of the TF-IDF vectors (sub-linear term frequency); 0 when either is empty.
pub fn cosine(a: &Bag, b: &Bag, idf: &Idf) -> f64 {
    let w = |t: &str, tf: f64| (1.0 + tf.ln()) * idf.weight(t);
    let norm = |bag: &Bag| {
        bag.0
            .iter()
            .map(|(t, tf)| w(t, *tf).powi(2))
            .sum::<f64>()
            .sqrt()
    };
    let (na, nb) = (norm(a), norm(b));
    if na == 0.0 || nb == 0.0 {
        return 0.0;
    }
    let dot: f64 =
        a.0.iter()
            .filter_map(|(t, tfa)| b.0.get(t).map(|tfb| w(t, *tfa) * w(t, *tfb)))
            .sum();
    dot / (na * nb)
}

/// Below this a candidate is not worth showing. Chosen on the labelled set of the web crate's
/// `tests/similar_quality.rs` (0.08: precision of the top 3 ≈ 0.78, half of the same matters found).
pub const THRESHOLD: f64 = 0.08;

/// The `k` candidates most like `query`, best first, above `THRESHOLD`. IDF is taken over the
/// query and the candidates.
pub fn most_similar(query: &Bag, candidates: &[(i64, Bag)], k: usize) -> Vec<(i64, f64)> {
    let idf = Idf::new(std::iter::once(query).chain(candidates.iter().map(|(_, b)| b)));
    let mut scored: Vec<(i64, f64)> = candidates
        .iter()
        .map(|(id, b)| (*id, cosine(query, b, &idf)))
        .filter(|(_, s)| *s >= THRESHOLD)
        .collect();
    scored.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    scored.truncate(k);
    scored
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bag(words: &[&str], text: &str) -> Bag {
        Bag::new(&terms(words.iter().copied(), text))
    }

    #[test]
    fn stopwords_punctuation_and_single_characters_are_dropped() {
        let t = terms(["希望", "尽快", "路灯", "，", "的", "灯", "3"], "路灯");
        assert_eq!(t, vec!["w:路灯", "w:3", "b:路灯"]);
    }

    #[test]
    fn r_top_5_same_matter_in_other_words_scores_above_a_different_matter() {
        let a = bag(
            &["楼道", "堆放", "杂物", "消防", "隐患"],
            "楼道堆放杂物，有消防隐患",
        );
        let b = bag(
            &["楼道", "堆物", "堵塞", "消防", "通道"],
            "楼道堆物堵塞消防通道",
        );
        let c = bag(
            &["路灯", "不亮", "晚上", "出行", "不便"],
            "路灯不亮，晚上出行不便",
        );
        let r = most_similar(&a, &[(2, b), (3, c)], 3);
        assert_eq!(r.first().map(|x| x.0), Some(2), "{r:?}");
        assert!(
            r.iter().all(|x| x.0 != 3),
            "an unrelated matter is not suggested: {r:?}"
        );
    }

    #[test]
    fn stored_terms_read_back_as_the_same_bag() {
        let t = terms(["楼道", "杂物"], "楼道杂物");
        assert!(t.iter().all(|x| !x.contains(' ')));
        assert_eq!(Bag::from_stored(&to_stored(&t)), Bag::new(&t));
    }

    #[test]
    fn identical_texts_score_one_and_empty_texts_zero() {
        let a = bag(&["电梯", "故障"], "电梯故障");
        let idf = Idf::new([&a]);
        assert!((cosine(&a, &a, &idf) - 1.0).abs() < 1e-9);
        assert_eq!(cosine(&a, &Bag::default(), &idf), 0.0);
    }
}
