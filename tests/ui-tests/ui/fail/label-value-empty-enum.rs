use instrument_metric::LabelValue;

#[derive(LabelValue)]
enum Nothing {}

fn main() {}
