use std::fmt::Debug;

use instrument_metric::instrument_metric;

#[instrument_metric]
fn largest<'a, T>(items: &'a [T]) -> Option<&'a T>
where
    T: PartialOrd,
{
    let mut best = items.first()?;
    for item in items {
        if item > best {
            best = item;
        }
    }
    Some(best)
}

#[instrument_metric]
fn describe(value: impl Debug, times: usize) -> impl Iterator<Item = String> {
    std::iter::repeat_n(format!("{value:?}"), times)
}

#[instrument_metric]
fn boxed<T: Clone + 'static>(value: T) -> Box<dyn Fn() -> T> {
    Box::new(move || value.clone())
}

#[instrument_metric]
fn parse_all<I: IntoIterator<Item = &'static str>>(items: I) -> Result<Vec<u32>, std::num::ParseIntError> {
    items.into_iter().map(str::parse).collect()
}

#[instrument_metric]
async fn first_word<'a>(text: &'a str) -> &'a str {
    text.split(' ').next().unwrap_or_default()
}

fn main() {
    assert_eq!(largest(&[1, 5, 2]), Some(&5));
    assert_eq!(describe('x', 2).count(), 2);
    assert_eq!(boxed(4)(), 4);
    assert_eq!(parse_all(["1", "2"]).unwrap(), vec![1, 2]);
    drop(first_word("a b"));
}
