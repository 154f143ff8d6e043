use instrument_metric::instrument_metric;

#[derive(Debug)]
enum SmsError {
    Failed,
}

#[instrument_metric(name = "sms_send", error_kinds = SmsError)]
fn send() -> Result<(), SmsError> {
    Err(SmsError::Failed)
}

fn main() {
    let _ = send();
}
