use instrument_metric::{ErrorKinds, instrument_metric};

#[derive(Debug, ErrorKinds)]
enum SmsError {
    Failed,
}

#[instrument_metric(name = "sms_send", error_kinds = SmsError)]
fn send() -> Result<(), std::io::Error> {
    let _ = SmsError::Failed;
    Ok(())
}

fn main() {
    let _ = send();
}
