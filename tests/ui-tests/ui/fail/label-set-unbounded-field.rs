use instrument_metric::LabelSet;

#[derive(LabelSet)]
struct RequestLabels {
    user_id: String,
}

fn main() {}
