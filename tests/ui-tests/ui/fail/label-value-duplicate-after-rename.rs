use metrics_runtime::LabelValue;

#[derive(LabelValue)]
enum Provider {
    Twilio,
    #[label(rename = "twilio")]
    TwilioEu,
}

fn main() {}
