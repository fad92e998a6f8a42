//! Words of a matter, by jieba segmentation, for the similarity of R-TOP-5
//! (`roundtable_core::similarity`) and for word search. The dictionary is loaded once, on first
//! use (about a tenth of a second), not at start-up.

use std::sync::OnceLock;

use jieba_rs::Jieba;
use roundtable_core::similarity::{self, Bag};

fn jieba() -> &'static Jieba {
    static JIEBA: OnceLock<Jieba> = OnceLock::new();
    JIEBA.get_or_init(Jieba::new)
}

/// The similarity terms of a matter's title and description.
pub fn terms(title: &str, description: &str) -> Vec<String> {
    let text = format!("{title}。{description}");
    let tokens = jieba().cut(&text, true);
    similarity::terms(tokens.iter().map(|t| t.word), &text)
}

pub fn bag(title: &str, description: &str) -> Bag {
    Bag::new(&terms(title, description))
}

/// The words a search box query means: segmented, stop words and punctuation dropped.
pub fn query_words(q: &str) -> Vec<String> {
    let tokens = jieba().cut(q, true);
    let mut words: Vec<String> = similarity::terms(tokens.iter().map(|t| t.word), "")
        .into_iter()
        .filter_map(|t| t.strip_prefix("w:").map(str::to_string))
        .collect();
    if words.is_empty() {
        // A single character or an unusual word: search for what was typed.
        let t = q.trim();
        if !t.is_empty() {
            words.push(t.chars().take(50).collect());
        }
    }
    words.dedup();
    words.truncate(8);
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_words_are_segmented_without_stopwords() {
        assert_eq!(
            query_words("楼道堆放杂物的问题"),
            vec!["楼道", "堆放", "杂物"]
        );
        assert_eq!(query_words("灯"), vec!["灯"]);
        assert!(query_words("  ").is_empty());
    }
}
