use instrument_metric::LabelValue;

#[derive(LabelValue)]
struct Provider {
    name: String,
}

fn main() {}
