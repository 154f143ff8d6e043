use metrics_runtime::LabelSet;

#[derive(LabelSet)]
enum Provider {
    Twilio,
}

fn main() {}
