//! Names, help texts and bucket lists given at run time, kept once per distinct value for the
//! life of the process: the families hold `&'static` text (as declarations made at compile
//! time do), and registering a family again, or in a new scoped registry, finds the text kept
//! the first time instead of keeping another copy (issue 26: a get-or-create registration in a
//! loop grew by 156 MB in 2 M calls). What is kept is bounded by the distinct names the
//! program registers, not by how often it registers them.

use std::collections::HashSet;
use std::sync::{Mutex, PoisonError};

/// Every text kept so far.
static TEXTS: Mutex<Option<HashSet<&'static str>>> = Mutex::new(None);

/// Every non-empty bucket list kept so far.
static BOUNDS: Mutex<Vec<&'static [f64]>> = Mutex::new(Vec::new());

/// Every one-value list of label values kept so far (the label values of an info family).
static SINGLES: Mutex<Vec<&'static [&'static str]>> = Mutex::new(Vec::new());

/// Every list of label values given at run time kept so far.
static LISTS: Mutex<Vec<&'static [&'static str]>> = Mutex::new(Vec::new());

/// `text`, kept for the life of the process (once per distinct text).
pub(crate) fn text(text: &str) -> &'static str {
    let mut texts = TEXTS.lock().unwrap_or_else(PoisonError::into_inner);
    let texts = texts.get_or_insert_with(HashSet::new);
    if let Some(kept) = texts.get(text) {
        return kept;
    }
    let kept: &'static str = Box::leak(text.to_owned().into_boxed_str());
    texts.insert(kept);
    kept
}

/// `bounds`, kept for the life of the process (once per distinct list, compared bit for bit).
pub(crate) fn bounds(bounds: &[f64]) -> &'static [f64] {
    if bounds.is_empty() {
        return &[];
    }
    let same = |kept: &&'static [f64]| {
        kept.len() == bounds.len()
            && kept
                .iter()
                .zip(bounds)
                .all(|(a, b)| a.to_bits() == b.to_bits())
    };
    let mut kept = BOUNDS.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(found) = kept.iter().find(|list| same(list)) {
        return found;
    }
    let list: &'static [f64] = Box::leak(bounds.to_vec().into_boxed_slice());
    kept.push(list);
    list
}

/// The list holding `value` alone, kept for the life of the process (once per distinct value).
pub(crate) fn single(value: &str) -> &'static [&'static str] {
    let value = text(value);
    let mut kept = SINGLES.lock().unwrap_or_else(PoisonError::into_inner);
    // Kept texts are unique, so the same text is the same pointer.
    if let Some(found) = kept.iter().find(|list| std::ptr::eq(list[0], value)) {
        return found;
    }
    let list: &'static [&'static str] = Box::leak(Box::new([value]));
    kept.push(list);
    list
}

/// The list of `values`, each kept with [`text`], kept for the life of the process (once per
/// distinct list): the values of a run-time label.
pub(crate) fn list<'a>(values: impl IntoIterator<Item = &'a str>) -> &'static [&'static str] {
    let values: Vec<&'static str> = values.into_iter().map(text).collect();
    let mut kept = LISTS.lock().unwrap_or_else(PoisonError::into_inner);
    // Kept texts are unique, so the same list holds the same pointers.
    let same = |list: &&&'static [&'static str]| {
        list.len() == values.len() && list.iter().zip(&values).all(|(a, b)| std::ptr::eq(*a, *b))
    };
    if let Some(found) = kept.iter().find(same) {
        return found;
    }
    let list: &'static [&'static str] = Box::leak(values.into_boxed_slice());
    kept.push(list);
    list
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_text_is_kept_once() {
        let first = text("interned_jobs_total");
        let again = text(&String::from("interned_jobs_total"));
        assert!(std::ptr::eq(first, again));
        assert!(!std::ptr::eq(first, text("interned_other_total")));
    }

    #[test]
    fn the_same_bounds_are_kept_once() {
        let first = bounds(&[0.5, 1.0, 2.5]);
        assert!(std::ptr::eq(first, bounds(&[0.5, 1.0, 2.5])));
        assert!(!std::ptr::eq(first, bounds(&[0.5, 1.0])));
        assert!(bounds(&[]).is_empty());
    }

    #[test]
    fn the_same_list_is_kept_once() {
        let first = list(["eu-west", "us-east"]);
        assert_eq!(first, ["eu-west", "us-east"]);
        assert!(std::ptr::eq(first, list(vec!["eu-west", "us-east"])));
        assert!(!std::ptr::eq(first, list(["us-east", "eu-west"])));
    }

    #[test]
    fn the_same_single_value_is_kept_once() {
        let first = single("v1.2.3");
        assert_eq!(first, ["v1.2.3"]);
        assert!(std::ptr::eq(first, single("v1.2.3")));
    }
}
