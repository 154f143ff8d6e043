use instrument_metric::ErrorKinds;

#[derive(ErrorKinds)]
struct NotAnEnum;

#[derive(ErrorKinds)]
enum Bad {
    #[error_kind(transparent)]
    Two(u8, u8),
    #[error_kind(rename = "")]
    Empty,
    #[error_kind(flatten)]
    Unknown,
}

fn main() {}
