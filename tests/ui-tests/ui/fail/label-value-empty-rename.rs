use metrics_runtime::LabelValue;

#[derive(LabelValue)]
enum Provider {
    #[label(rename = "")]
    Unknown,
    Twilio,
}

fn main() {}
