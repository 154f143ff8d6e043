use instrument_metric::ErrorKinds;

#[derive(Debug, ErrorKinds)]
enum ProviderError {
    RateLimited,
}

#[derive(Debug, ErrorKinds)]
enum SmsError {
    RateLimited,
    #[error_kind(transparent)]
    Provider(ProviderError),
}

fn main() {
    let _ = SmsError::Provider(ProviderError::RateLimited);
    let _ = SmsError::RateLimited;
}
