use instrument_metric::LabelValue;

#[derive(Clone, Copy, LabelValue)]
enum Größe {
    Klein,
    Groß,
}

#[derive(Clone, Copy, LabelValue)]
enum _Kind {
    One,
}

fn main() {}
