use metrics_runtime::LabelValue;

#[derive(LabelValue)]
enum Provider {
    Twilio,
    Custom(String),
}

fn main() {}
