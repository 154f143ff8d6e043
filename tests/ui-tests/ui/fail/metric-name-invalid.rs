const SENT: &str = metrics_runtime::metric_name!("sms-messages-total");

fn main() {
    println!("{SENT}");
}
