use instrument_metric::LabelValue;

#[derive(LabelValue)]
enum Provider {
    #[label(alias = "tw")]
    Twilio,
}

fn main() {}
