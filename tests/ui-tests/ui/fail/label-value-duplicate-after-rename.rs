use instrument_metric::LabelValue;

#[derive(LabelValue)]
enum Provider {
    Twilio,
    #[label(rename = "twilio")]
    TwilioEu,
}

fn main() {}
