const NAME: &str = "sms_messages_total";
const SENT: &str = metrics_runtime::metric_name!(NAME);

fn main() {
    println!("{SENT}");
}
