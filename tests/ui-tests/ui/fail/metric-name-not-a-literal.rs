const NAME: &str = "sms_messages_total";
const SENT: &str = instrument_metric::metric_name!(NAME);

fn main() {
    println!("{SENT}");
}
