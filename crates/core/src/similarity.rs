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

/// The `k` candidates most like `query`, best first, above `THRESHOLD`; the same scores as
/// `cosine` with IDF over the query and the candidates. Candidates come as stored terms
/// (`to_stored`), read in place: each term is numbered once and every candidate becomes a short
/// sorted list of (term, count), instead of a map of owned strings per candidate — with 2,000
/// candidates building those maps was most of a suggestion's time.
pub fn most_similar(query: &Bag, candidates: &[(i64, &str)], k: usize) -> Vec<(i64, f64)> {
    let mut index: FastMap<&str, u32> = FastMap::default();
    let mut df: Vec<u32> = Vec::new();
    // Every candidate's distinct terms with their counts, one after another.
    let mut entries: Vec<(u32, f64)> = Vec::new();
    let mut ends: Vec<usize> = Vec::with_capacity(candidates.len());
    let mut scratch: Vec<u32> = Vec::new();
    for (_, stored) in candidates {
        scratch.clear();
        for term in stored.split_whitespace() {
            let next = index.len() as u32;
            let i = *index.entry(term).or_insert(next);
            if i == next {
                df.push(0);
            }
            scratch.push(i);
        }
        scratch.sort_unstable();
        for run in scratch.chunk_by(|a, b| a == b) {
            df[run[0] as usize] += 1;
            entries.push((run[0], run.len() as f64));
        }
        ends.push(entries.len());
    }
    // The query counts as one more document of the set; a term only it has occurs once.
    let query_terms: Vec<(Option<u32>, f64)> = query
        .0
        .iter()
        .map(|(t, tf)| (index.get(t.as_str()).copied(), *tf))
        .collect();
    for (i, _) in &query_terms {
        if let Some(i) = i {
            df[*i as usize] += 1;
        }
    }
    let n = candidates.len() as f64 + 1.0;
    let weight = |df: u32| ((n + 1.0) / (df as f64 + 1.0)).ln() + 1.0;
    let term_weight: Vec<f64> = df.iter().map(|d| weight(*d)).collect();
    let mut query_weight = vec![0.0f64; df.len()];
    let mut query_norm = 0.0;
    for (i, tf) in &query_terms {
        let idf = i.map_or(weight(1), |i| term_weight[i as usize]);
        let w = (1.0 + tf.ln()) * idf;
        if let Some(i) = i {
            query_weight[*i as usize] = w;
        }
        query_norm += w * w;
    }
    let query_norm = query_norm.sqrt();
    if query_norm == 0.0 {
        return Vec::new();
    }
    let mut scored: Vec<(i64, f64)> = Vec::new();
    let mut start = 0;
    for ((id, _), end) in candidates.iter().zip(ends) {
        let (mut dot, mut norm) = (0.0, 0.0);
        for (i, tf) in &entries[start..end] {
            let w = (1.0 + tf.ln()) * term_weight[*i as usize];
            norm += w * w;
            dot += w * query_weight[*i as usize];
        }
        start = end;
        if norm > 0.0 {
            let score = dot / (query_norm * norm.sqrt());
            if score >= THRESHOLD {
                scored.push((*id, score));
            }
        }
    }
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

    fn stored(words: &[&str], text: &str) -> String {
        to_stored(&terms(words.iter().copied(), text))
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
        let b = stored(
            &["楼道", "堆物", "堵塞", "消防", "通道"],
            "楼道堆物堵塞消防通道",
        );
        let c = stored(
            &["路灯", "不亮", "晚上", "出行", "不便"],
            "路灯不亮，晚上出行不便",
        );
        let r = most_similar(&a, &[(2, &b), (3, &c)], 3);
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

    #[test]
    fn r_top_5_scores_are_the_cosine_with_idf_over_query_and_candidates() {
        // Repeated terms, a term only the query has, one only a candidate has, an empty candidate.
        let query = bag(&["楼道", "楼道", "杂物", "消防"], "楼道杂物楼道消防");
        let texts = [
            stored(&["楼道", "杂物", "杂物"], "楼道杂物"),
            stored(&["消防", "通道", "堵塞"], "消防通道堵塞"),
            stored(&["路灯", "楼道"], "路灯楼道"),
            String::new(),
            stored(&["楼道", "杂物", "消防"], "楼道杂物消防"),
        ];
        let candidates: Vec<(i64, &str)> = texts
            .iter()
            .enumerate()
            .map(|(i, t)| (i as i64, t.as_str()))
            .collect();
        let bags: Vec<Bag> = texts.iter().map(|t| Bag::from_stored(t)).collect();
        let idf = Idf::new(std::iter::once(&query).chain(&bags));
        let mut expected: Vec<(i64, f64)> = bags
            .iter()
            .enumerate()
            .map(|(i, b)| (i as i64, cosine(&query, b, &idf)))
            .filter(|(_, s)| *s >= THRESHOLD)
            .collect();
        expected.sort_by(|a, b| b.1.total_cmp(&a.1));
        let got = most_similar(&query, &candidates, 10);
        assert_eq!(got.len(), expected.len(), "{got:?} vs {expected:?}");
        for (g, e) in got.iter().zip(&expected) {
            assert_eq!(g.0, e.0);
            assert!((g.1 - e.1).abs() < 1e-9, "{got:?} vs {expected:?}");
        }
        assert_eq!(got[0].0, 4, "the same words rank first");
        assert!(most_similar(&Bag::default(), &candidates, 3).is_empty());
    }
}
