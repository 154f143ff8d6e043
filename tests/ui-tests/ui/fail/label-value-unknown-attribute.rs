use metrics_runtime::LabelValue;

#[derive(LabelValue)]
enum Provider {
    #[label(alias = "tw")]
    Twilio,
}

fn main() {}
