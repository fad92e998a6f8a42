//! R-TOP-5 quality on the labelled set `tests/data/similar-matters.tsv`: for every matter, the
//! other matters of the set are the candidates and the top 3 suggestions are checked against the
//! labels. Prints the figures (run with `--nocapture` to read them):
//!
//!     cargo test -p roundtable-web --test similar_quality -- --nocapture

use roundtable_core::similarity::{most_similar, to_stored};
use roundtable_web::services::similar::{bag, terms};

#[test]
fn r_top_5_top_3_suggestions_are_mostly_the_same_matter() {
    let set: Vec<(String, String)> = include_str!("data/similar-matters.tsv")
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| l.split_once('\t'))
        .map(|(g, t)| (g.to_string(), t.to_string()))
        .collect();
    assert!(set.len() >= 35, "the labelled set is there");
    let bags: Vec<_> = set.iter().map(|(_, t)| bag("", t)).collect();
    let stored: Vec<String> = set.iter().map(|(_, t)| to_stored(&terms("", t))).collect();
    let (mut shown, mut right, mut top1, mut with_any, mut reachable) = (0, 0, 0, 0, 0);
    for (i, (group, text)) in set.iter().enumerate() {
        let candidates: Vec<(i64, &str)> = stored
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != i)
            .map(|(j, s)| (j as i64, s.as_str()))
            .collect();
        let top = most_similar(&bags[i], &candidates, 3);
        let same = |j: i64| set[j as usize].0 == *group;
        shown += top.len();
        right += top.iter().filter(|(j, _)| same(*j)).count();
        reachable += set.iter().filter(|(g, _)| g == group).count().min(4) - 1;
        if let Some((j, _)) = top.first() {
            with_any += 1;
            if same(*j) {
                top1 += 1;
            } else {
                println!("miss: {text} → {}", set[*j as usize].1);
            }
        }
    }
    let n = set.len();
    let precision = right as f64 / shown.max(1) as f64;
    let recall = right as f64 / reachable.max(1) as f64;
    println!(
        "R-TOP-5 labelled set: {n} matters in {} groups; top-3 precision {precision:.2} ({right}/{shown} suggestions right), recall within top 3 {recall:.2}, top-1 right {top1}/{with_any}, no suggestion for {}",
        {
            let mut g: Vec<&String> = set.iter().map(|(g, _)| g).collect();
            g.sort();
            g.dedup();
            g.len()
        },
        n - with_any
    );
    assert!(precision >= 0.7, "top-3 precision {precision:.2}");
    assert!(
        top1 as f64 >= 0.7 * with_any as f64,
        "top-1 {top1}/{with_any}"
    );
}
