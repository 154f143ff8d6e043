use instrument_metric::LabelValue;

#[derive(LabelValue)]
#[label(name = "le")]
enum Bound {
    Low,
    High,
}

fn main() {}
