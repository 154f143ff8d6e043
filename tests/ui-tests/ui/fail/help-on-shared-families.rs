use instrument_metric::instrument_metric;

#[instrument_metric(help = "Sends one SMS.")]
fn send() {}

fn main() {
    send();
}
