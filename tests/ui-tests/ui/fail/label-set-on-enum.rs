use instrument_metric::LabelSet;

#[derive(LabelSet)]
enum Provider {
    Twilio,
}

fn main() {}
