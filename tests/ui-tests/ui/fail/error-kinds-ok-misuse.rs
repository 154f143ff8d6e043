use instrument_metric::ErrorKinds;

#[derive(Debug, ErrorKinds)]
enum Inner {
    #[error_kind(ok)]
    NotFound,
}

#[derive(Debug, ErrorKinds)]
enum Outer {
    #[error_kind(transparent, ok)]
    Inner(Inner),
    #[error_kind(ok, ok)]
    Twice,
}

fn main() {}
