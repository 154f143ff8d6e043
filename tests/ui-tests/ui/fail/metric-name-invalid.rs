const SENT: &str = instrument_metric::metric_name!("sms-messages-total");

fn main() {
    println!("{SENT}");
}
