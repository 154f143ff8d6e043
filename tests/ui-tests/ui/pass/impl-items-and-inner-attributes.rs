//! Bodies are kept as tokens: inner attributes still apply, and an instrumented `impl` block
//! keeps its constants, types, macro items and `const fn`s as written.
#![deny(unused_variables, dead_code)]

use instrument_metric::instrument_metric;

#[derive(Debug, PartialEq)]
struct Point {
    x: i32,
}

macro_rules! getter {
    ($name:ident) => {
        fn $name(&self) -> i32 {
            self.x
        }
    };
}

#[instrument_metric(name = "points")]
impl Point {
    #![allow(clippy::unused_self)]

    const ORIGIN: Point = Point { x: 0 };

    const fn new(x: i32) -> Self {
        Point { x }
    }

    getter!(x);

    fn moved(&self, by: i32) -> Point {
        #![allow(unused_variables)]
        let unused = by;
        Point { x: self.x + by }
    }
}

trait Shape {
    type Unit;
    fn area(&self) -> Self::Unit;
}

#[instrument_metric(name = "shapes")]
impl Shape for Point {
    type Unit = i32;

    fn area(&self) -> i32 {
        self.x * self.x
    }
}

#[instrument_metric]
fn with_inner_attribute(value: i32) -> i32 {
    #![allow(unused_variables)]
    let unused = value;
    value + 1
}

fn main() {
    assert_eq!(Point::ORIGIN.moved(2), Point::new(2));
    assert_eq!(Point::new(3).x(), 3);
    assert_eq!(Point::new(3).area(), 9);
    assert_eq!(with_inner_attribute(1), 2);
    let text = instrument_metric::render();
    let calls = |family: &str, function: &str| {
        let prefix = format!("{family}_total{{function=\"{function}\",");
        text.lines()
            .find(|line| line.starts_with(&prefix) && line.contains(r#"result="ok""#))
            .map(|line| line.rsplit(' ').next().unwrap().to_owned())
    };
    assert_eq!(calls("points", "Point::moved").as_deref(), Some("1"), "{text}");
    assert_eq!(calls("shapes", "<Point as Shape>::area").as_deref(), Some("1"), "{text}");
    assert_eq!(calls("function_calls", "with_inner_attribute").as_deref(), Some("1"), "{text}");
    assert!(!text.contains(r#"function="Point::new""#), "a const fn is left alone");
    assert!(!text.contains(r#"function="Point::x""#), "macro items are left as written");
}
