use instrument_metric::instrument_metric;

#[instrument_metric(name = "sms_send", labels("quoted" = "v", "sms-provider" = "twilio"))]
fn send() {}

#[instrument_metric(name = "sms_receive", labels(42 = "v"))]
fn receive() {}

fn main() {
    send();
    receive();
}
